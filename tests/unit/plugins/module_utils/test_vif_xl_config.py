# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    XlConfigError,
    decode_config,
    encode_config,
    guest_name,
    is_hvm,
    parse_config,
    quote_string,
    tokenize,
    vif_entries,
    vif_list,
)


def test_settings_values_and_spans():
    text = 'name = "web"\nmemory = 512\nvif = [ \'bridge=xenbr0\' ]\n'
    config = parse_config(text)
    assert [setting.name for setting in config.settings] == ['name', 'memory', 'vif']
    assert config.value('name') == 'web'
    assert config.value('memory') == '512'
    assert config.value('vif') == ['bridge=xenbr0']
    item = vif_list(config).items[0]
    assert text[item.start:item.end] == "'bridge=xenbr0'"


def test_both_quote_styles_and_their_escapes():
    config = parse_config('a = "it\'s \\"x\\""\nb = \'say \\\'hi\\\' \\\\ \\t\'\n')
    assert config.value('a') == 'it\'s "x"'
    assert config.value('b') == "say 'hi' \\ \t"


def test_a_list_may_span_lines_hold_comments_and_end_with_a_comma():
    text = "vif = [ # first\n  'a', # one\n\n  'b',\n]\n"
    assert vif_entries(parse_config(text)) == ['a', 'b']


def test_statements_may_be_separated_by_semicolons_and_the_last_needs_no_newline():
    config = parse_config("name = 'x'; memory = 1;; vif = ['a']")
    assert config.value('name') == 'x'
    assert vif_entries(config) == ['a']


def test_a_hash_inside_quotes_is_no_comment():
    assert parse_config("extra = 'a # b' # real comment\n").value('extra') == 'a # b'


def test_nested_lists_are_values():
    config = parse_config('vnuma = [ [ "pnode=0", "size=512" ], [ "pnode=1" ] ]\n')
    assert config.value('vnuma') == [['pnode=0', 'size=512'], ['pnode=1']]


def test_plus_equals_appends_to_strings_and_lists():
    config = parse_config('extra = "a"\nextra += " b"\ndisk = [ "x" ]\ndisk += [ "y" ]\n')
    assert config.value('extra') == 'a b'
    assert config.value('disk') == ['x', 'y']


def test_the_last_assignment_wins():
    assert parse_config('name = "a"\nname = "b"\n').value('name') == 'b'


def test_empty_file_and_only_comments_parse():
    assert parse_config('').settings == []
    assert parse_config('# nothing\n\n# here').settings == []


@pytest.mark.parametrize('text, line, column, message', [
    ("vif = ['a'] + ['b']\n", 1, 13, 'not Python'),
    ("name = 'web\n", 1, 8, 'string is not closed'),
    ("name = 'web'\r\nmemory = 1\r\n", 1, 13, 'carriage return'),
    ("vif = [ 'a' 'b' ]\n", 1, 13, "expected ',' or ']'"),
    ("vif =\n[ 'a' ]\n", 1, 6, "expected a value for 'vif'"),
    ("memory = 512\nvif = [ 'a',\n", 3, 1, "expected a value for 'vif'"),
    ("memory 512\n", 1, 8, "expected '=' after 'memory'"),
    ("name = 'a' memory = 2\n", 1, 12, "expected the end of the line or ';'"),
    ("= 'a'\n", 1, 1, 'expected a key name'),
    ("vif = [ ,'a' ]\n", 1, 9, "expected a value for 'vif'"),
    ("vif = [ 'a',, 'b' ]\n", 1, 13, "expected a value for 'vif'"),
    ("name = 'caf\\x65'\n", 1, 12, 'numeric escape'),
    ("name = 'x'\n\tmemory = {1}\n", 2, 11, 'not Python'),
])
def test_a_file_xl_cannot_read_is_refused_with_line_and_column(text, line, column, message):
    with pytest.raises(XlConfigError) as raised:
        parse_config(text)
    assert (raised.value.line, raised.value.column) == (line, column)
    assert message in raised.value.message
    assert str(raised.value).startswith('line %d, column %d: ' % (line, column))


@pytest.mark.parametrize('text, message', [
    ("vif = ['a']\nvif = ['b']\n", 'vif is set 2 times (lines 1, 2)'),
    ("vif += ['a']\n", "'vif +=' with no 'vif ='"),
    ("vif = 'bridge=xenbr0'\n", 'vif must be a list'),
    ("vif = [ ['bridge=xenbr0'] ]\n", 'a vif entry must be a string'),
])
def test_a_vif_setting_that_cannot_be_edited_is_refused(text, message):
    with pytest.raises(XlConfigError) as raised:
        vif_list(parse_config(text))
    assert message in str(raised.value)


def test_no_vif_means_no_list():
    assert vif_list(parse_config('name = "x"\n')) is None
    assert vif_entries(parse_config('name = "x"\n')) == []


def test_guest_name_and_type():
    assert guest_name(parse_config('name = "web"\n')) == 'web'
    assert guest_name(parse_config('memory = 1\n')) is None
    assert is_hvm(parse_config('type = "hvm"\n'))
    assert is_hvm(parse_config('builder = "hvm"\n'))
    assert not is_hvm(parse_config('type = "pvh"\nbuilder = "hvm"\n'))
    assert not is_hvm(parse_config('name = "pv"\n'))


def test_undecodable_bytes_survive_decoding_and_encoding():
    data = b'# r\xe9seau\nname = "x"\n'
    assert encode_config(decode_config(data)) == data
    assert parse_config(decode_config(data)).value('name') == 'x'


def test_tokens_keep_comments_and_newlines():
    kinds = [token.kind for token in tokenize("a = 1 # c\n")]
    assert kinds == ['ident', '=', 'number', 'comment', 'newline']


def test_quote_string_refuses_nul():
    with pytest.raises(ValueError, match='NUL'):
        quote_string('a\0b')


# Every character but those without an xl escape (NUL and the other control characters but \a..\r), which quote_string refuses.
UNESCAPABLE = ''.join(map(chr, list(range(0, 7)) + list(range(14, 32)) + [127]))
STRING_VALUES = st.text(alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters=UNESCAPABLE), max_size=30)


@settings(max_examples=300, deadline=None)
@given(STRING_VALUES, st.sampled_from(["'", '"']))
def test_quote_string_reads_back_as_the_same_value(value, quote):
    literal = quote_string(value, quote)
    assert '\n' not in literal
    assert parse_config('x = %s\n' % literal).value('x') == value


@pytest.mark.parametrize('character', ['\x01', '\x1b', '\x7f', '\x0e'])
def test_quote_string_refuses_control_characters_it_has_no_escape_for(character):
    with pytest.raises(ValueError, match='an xl string cannot hold the control character'):
        quote_string('a%sb' % character)
