# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError, parse_config, vif_entries, vif_list
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_edit import (
    append_vif_entry,
    remove_vif_entry,
    replace_vif_entry,
)


@pytest.mark.parametrize('before, after', [
    ("vif = ['a']\n", "vif = ['a', 'new']\n"),
    ("vif = [ 'a', 'b' ]\n", "vif = [ 'a', 'b', 'new' ]\n"),
    ("vif = ['a','b']\n", "vif = ['a','b','new']\n"),
    ('vif = [ "a", "b", ]\n', 'vif = [ "a", "b", "new", ]\n'),
    ("vif = []\n", "vif = ['new']\n"),
    ("vif = [ ]\n", "vif = [ 'new' ]\n"),
    ("vif = [\n]\n", "vif = [\n    'new'\n]\n"),
    ("vif = [\n  # none yet\n]\n", "vif = [\n  # none yet\n  'new'\n]\n"),
    ("vif = [\n    'a',\n    'b',\n]\n", "vif = [\n    'a',\n    'b',\n    'new',\n]\n"),
    ("vif = [\n    'a', # one\n    'b' # two\n]\n", "vif = [\n    'a', # one\n    'b', # two\n    'new'\n]\n"),
    ("vif = [ 'a',\n        'b' ]\n", "vif = [ 'a',\n        'b',\n        'new' ]\n"),
    ("name = 'x'\n", "name = 'x'\nvif = [ 'new' ]\n"),
    ("name = 'x'", "name = 'x'\nvif = [ 'new' ]\n"),
    ("", "vif = [ 'new' ]\n"),
])
def test_append_follows_the_layout_of_the_list(before, after):
    assert append_vif_entry(before, 'new') == after


@pytest.mark.parametrize('before, index, after', [
    ("vif = ['a']\n", 0, "vif = []\n"),
    ("vif = [ 'a', 'b' ]\n", 0, "vif = [ 'b' ]\n"),
    ("vif = [ 'a', 'b' ]\n", 1, "vif = [ 'a' ]\n"),
    ("vif = [ 'a', 'b', ]\n", 1, "vif = [ 'a', ]\n"),
    ("vif = [ 'a', 'b', 'c' ]\n", 1, "vif = [ 'a', 'c' ]\n"),
    ("vif = [\n    'a',\n    'b',\n]\n", 0, "vif = [\n    'b',\n]\n"),
    ("vif = [\n    'a',\n    'b',\n]\n", 1, "vif = [\n    'a',\n]\n"),
    ("vif = [\n    'a'\n]\n", 0, "vif = [\n]\n"),
    # A comment after an entry on its line is about that entry and goes with it.
    ("vif = [\n    'a', # one\n    'b' # two\n]\n", 1, "vif = [\n    'a', # one\n]\n"),
    # Comments elsewhere always stay.
    ("vif = [\n    # lan\n    'a',\n    'b'\n]\n", 1, "vif = [\n    # lan\n    'a',\n]\n"),
    ("vif = [ 'a', # one\n        'b' ]\n", 1, "vif = [ 'a' # one\n         ]\n"),
    ("vif = [ 'a',\n        'b' ]\n", 1, "vif = [ 'a' ]\n"),
    ("vif = [ 'a',\n        'b' ]\n", 0, "vif = [\n        'b' ]\n"),
    ("vif = [ 'a'\n      , 'b'\n      ]\n", 1, "vif = [ 'a'\n      ]\n"),
])
def test_remove_takes_the_entry_and_one_comma(before, index, after):
    assert remove_vif_entry(before, index) == after


def test_replace_keeps_the_entry_quote_style_and_escapes():
    assert replace_vif_entry('vif = [ "a", \'b\' ]\n', 0, "it's") == 'vif = [ "it\'s", \'b\' ]\n'
    assert replace_vif_entry('vif = [ "a", \'b\' ]\n', 1, "it's") == 'vif = [ "a", \'it\\\'s\' ]\n'


def test_a_number_entry_is_replaced_by_a_quoted_string():
    assert replace_vif_entry("vif = [ 1 ]\n", 0, 'bridge=x') == "vif = [ 'bridge=x' ]\n"


def test_edits_refuse_missing_entries_and_broken_files():
    with pytest.raises(IndexError):
        replace_vif_entry("vif = ['a']\n", 1, 'x')
    with pytest.raises(IndexError):
        remove_vif_entry("name = 'x'\n", 0)
    with pytest.raises(XlConfigError):
        append_vif_entry("vif = ['a'] + ['b']\n", 'x')


# ---------------------------------------------------------------- properties

ENTRY = st.text(alphabet=st.characters(whitelist_categories=('Ll', 'Nd'), whitelist_characters="=:., '\"#\\"), max_size=12)
QUOTE = st.sampled_from(["'", '"'])
SPACE = st.sampled_from(['', ' ', '  ', '\t'])
# What may stand between two tokens of a list: spaces, or line breaks with comments.
GAP = st.one_of(SPACE, st.lists(st.sampled_from(['\n', '  \n', ' # note\n', '\n    ', '\n\t', '# ] x\n']), min_size=1, max_size=3).map(''.join))


def _literal(value, quote):
    escaped = value.replace('\\', '\\\\').replace(quote, '\\' + quote)
    return quote + escaped + quote


@st.composite
def configs(draw):
    """A config text with a vif list in a random (valid) layout, and its entries."""
    entries = draw(st.lists(ENTRY, max_size=5))
    parts = ['[', draw(GAP)]
    for number, entry in enumerate(entries):
        parts.append(_literal(entry, draw(QUOTE)))
        # Usually the comma follows the entry; sometimes it starts the next line.
        parts.append(draw(st.one_of(SPACE, SPACE, GAP)))
        if number < len(entries) - 1 or draw(st.booleans()):
            parts.append(',')
        parts.append(draw(GAP))
    parts.append(']')
    head = draw(st.sampled_from(['', '# guest\nname = "g"\n', 'name = "g"; memory = 1\n']))
    tail = draw(st.sampled_from(['', '\n', ' # end\ndisk = [ "phy:x,xvda,w" ]\n']))
    return head + 'vif = ' + ''.join(parts) + tail, entries


def _outside_list(text):
    values = vif_list(parse_config(text))
    return text[:values.start], text[values.end:]


def _comments(text):
    return [token.value for token in parse_config(text).tokens if token.kind == 'comment']


@settings(max_examples=300, deadline=None)
@given(configs(), st.data())
def test_replace_changes_only_the_entry(config, data):
    text, entries = config
    if not entries:
        return
    index = data.draw(st.integers(0, len(entries) - 1))
    item = vif_list(parse_config(text)).items[index]
    new_text = replace_vif_entry(text, index, 'bridge=new')
    assert new_text[:item.start] == text[:item.start]
    assert new_text[len(new_text) - (len(text) - item.end):] == text[item.end:]
    assert vif_entries(parse_config(new_text)) == entries[:index] + ['bridge=new'] + entries[index + 1:]


@settings(max_examples=300, deadline=None)
@given(configs(), st.data())
def test_remove_changes_only_the_list_and_keeps_other_comments(config, data):
    text, entries = config
    if not entries:
        return
    index = data.draw(st.integers(0, len(entries) - 1))
    new_text = remove_vif_entry(text, index)
    assert _outside_list(new_text) == _outside_list(text)
    assert vif_entries(parse_config(new_text)) == entries[:index] + entries[index + 1:]
    kept = _comments(new_text)
    assert len(kept) >= len(_comments(text)) - 1
    assert all(comment in _comments(text) for comment in kept)


@settings(max_examples=300, deadline=None)
@given(configs())
def test_append_changes_only_the_list_and_keeps_every_comment(config):
    text, entries = config
    new_text = append_vif_entry(text, "bridge=it's")
    assert _outside_list(new_text) == _outside_list(text)
    assert vif_entries(parse_config(new_text)) == entries + ["bridge=it's"]
    assert _comments(new_text) == _comments(text)
