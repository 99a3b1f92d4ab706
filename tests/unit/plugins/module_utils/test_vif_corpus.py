# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real-world style xl configs (tests/unit/fixtures/xl_configs) edited without damage.

Each file is edited every way xen_vif edits: each entry replaced, each
removed, one appended. The bytes outside what was edited must not change.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import effective_devid
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import parse_vif, render_vif
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    decode_config,
    encode_config,
    parse_config,
    vif_entries,
    vif_list,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_edit import (
    append_vif_entry,
    remove_vif_entry,
    replace_vif_entry,
)

CORPUS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'xl_configs')
CORPUS = sorted(glob.glob(os.path.join(CORPUS_DIR, '*.cfg')))


def _read(path):
    with open(path, 'rb') as handle:
        data = handle.read()
    return data, decode_config(data)


def _literals(text):
    """The source text of each vif entry, quotes included."""
    values = vif_list(parse_config(text))
    return [] if values is None else [text[item.start:item.end] for item in values.items]


def _outside_list(data, text):
    """The bytes before and after the vif list (the whole file when it has none)."""
    values = vif_list(parse_config(text))
    if values is None:
        return data, b''
    return encode_config(text[:values.start]), encode_config(text[values.end:])


def test_the_corpus_has_at_least_30_configs():
    assert len(CORPUS) >= 30


@pytest.fixture(params=CORPUS, ids=os.path.basename)
def corpus_file(request):
    return _read(request.param)


def test_every_config_parses(corpus_file):
    _data, text = corpus_file
    config = parse_config(text)
    assert config.value('name')


def test_every_entry_reads_back_with_the_same_meaning(corpus_file):
    _data, text = corpus_file
    for entry in vif_entries(parse_config(text)):
        spec = parse_vif(entry)
        assert parse_vif(render_vif(spec)) == spec


def test_replacing_an_entry_keeps_every_byte_outside_it(corpus_file):
    data, text = corpus_file
    values = vif_list(parse_config(text))
    for index, item in enumerate(values.items if values is not None else ()):
        rendered = render_vif(parse_vif(item.value).replace(bridge='xenbr9', vifname='edited'))
        new_data = encode_config(replace_vif_entry(text, index, rendered))
        before, after = encode_config(text[:item.start]), encode_config(text[item.end:])
        assert new_data.startswith(before)
        assert new_data.endswith(after)
        assert parse_vif(vif_entries(parse_config(decode_config(new_data)))[index]).bridge == 'xenbr9'


def test_removing_an_entry_keeps_every_byte_outside_the_list_and_the_other_entries(corpus_file):
    data, text = corpus_file
    literals = _literals(text)
    for index in range(len(literals)):
        new_text = remove_vif_entry(text, index)
        assert _outside_list(encode_config(new_text), new_text) == _outside_list(data, text)
        assert _literals(new_text) == literals[:index] + literals[index + 1:]


def test_appending_an_entry_keeps_every_byte_outside_the_list_and_the_other_entries(corpus_file):
    data, text = corpus_file
    literals = _literals(text)
    new_text = append_vif_entry(text, 'mac=02:00:0a:63:00:01,bridge=xenbr9')
    new_data = encode_config(new_text)
    if vif_list(parse_config(text)) is None:
        assert new_data.startswith(data)
    else:
        assert _outside_list(new_data, new_text) == _outside_list(data, text)
    assert _literals(new_text)[:len(literals)] == literals
    assert vif_entries(parse_config(new_text))[-1] == 'mac=02:00:0a:63:00:01,bridge=xenbr9'


def test_bytes_that_are_not_utf8_survive_an_edit():
    # Kept out of the corpus folder: ansible-test sanity reads fixtures as UTF-8.
    data = b"# commentaire \xe9crit en latin-1 : r\xe9seau priv\xe9\nname = 'latin'\nvif = [ 'bridge=xenbr0' ]\n"
    text = decode_config(data)
    new_data = encode_config(append_vif_entry(text, 'bridge=xenbr1'))
    assert new_data == data.replace(b"'bridge=xenbr0' ]", b"'bridge=xenbr0', 'bridge=xenbr1' ]")


def test_planning_no_change_leaves_the_file_identical(corpus_file):
    _data, text = corpus_file
    for index, entry in enumerate(vif_entries(parse_config(text))):
        plan = plan_vif_change(text, devid=effective_devid(parse_vif(entry), index), desired={})
        assert not plan.changed
        assert plan.new_text is text
