# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace, add or remove one entry of an xl config's `vif` list, text in, text out.

Private to the collection: may change without notice.

Each edit splices the text at the spans the parser recorded. Replacing
an entry touches nothing but that entry's string. Adding or removing one
also touches the comma that separates it from its neighbour and, when an
entry had a line of its own, that line; new entries follow the layout the
list already has (one line, or one entry per line with its indentation,
trailing comma or not). Every result is parsed again and compared with
what was meant before it is returned, so a layout this module did not
foresee fails loudly instead of producing a broken file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    parse_config,
    quote_string,
    vif_entries,
    vif_list,
)

DEFAULT_QUOTE = "'"
DEFAULT_SEPARATOR = ', '
DEFAULT_INDENT = '    '


class XlEditError(RuntimeError):
    """An edit produced something other than what was meant; nothing should be written."""


def replace_vif_entry(text, index, spec_text):
    """text with vif entry `index` (0-based) replaced by spec_text, in that entry's own quotes."""
    config = parse_config(text)
    values = _require_list(config)
    item = _item(values, index)
    quoted = quote_string(spec_text, item.quote or _list_quote(values))
    new_text = text[:item.start] + quoted + text[item.end:]
    expected = vif_entries(config)
    expected[index] = spec_text
    return _verified(config, new_text, expected)


def append_vif_entry(text, spec_text):
    """text with spec_text added as the last vif entry; a file without vif gets a `vif = [...]` line."""
    config = parse_config(text)
    values = vif_list(config)
    if values is None:
        separator = '' if not text or text.endswith('\n') else '\n'
        new_text = text + separator + 'vif = [ %s ]\n' % quote_string(spec_text, DEFAULT_QUOTE)
    else:
        quoted = quote_string(spec_text, _list_quote(values))
        new_text = _splice(text, _append_edits(config, values, quoted))
    return _verified(config, new_text, vif_entries(config) + [spec_text])


def remove_vif_entry(text, index):
    """text without vif entry `index` (0-based); the list itself stays, empty if need be."""
    config = parse_config(text)
    values = _require_list(config)
    _item(values, index)
    new_text = _splice(text, [(start, end, '') for start, end in _removal_ranges(config, values, index)])
    expected = vif_entries(config)
    del expected[index]
    return _verified(config, new_text, expected)


# ---------------------------------------------------------------- helpers

def _require_list(config):
    values = vif_list(config)
    if values is None:
        raise IndexError('the config has no vif list')
    return values


def _item(values, index):
    if not 0 <= index < len(values.items):
        raise IndexError('vif entry %d does not exist; the list has %d' % (index, len(values.items)))
    return values.items[index]


def _list_quote(values):
    """The quote character the list already uses, so that new entries look like their neighbours."""
    for item in values.items:
        if item.quote:
            return item.quote
    return DEFAULT_QUOTE


def _splice(text, edits):
    """Apply (start, end, replacement) edits, which must not overlap."""
    for start, end, replacement in sorted(edits, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _line_start(text, offset):
    return text.rfind('\n', 0, offset) + 1


def _line_end(text, offset):
    end = text.find('\n', offset)
    return len(text) if end < 0 else end


def _indent_of(text, offset):
    """Whitespace that puts a new line's first character in the same column as offset."""
    prefix = text[_line_start(text, offset):offset]
    return ''.join(character if character == '\t' else ' ' for character in prefix)


def _token_index(config, offset):
    for index, token in enumerate(config.tokens):
        if token.start == offset:
            return index
    raise XlEditError('no token starts at offset %d' % offset)


def _inner_tokens(config, values):
    return config.tokens[values.open_index + 1:values.close_index]


def _is_blank(text):
    return text.strip(' \t') == ''


# ---------------------------------------------------------------- adding

def _append_edits(config, values, quoted):
    if not values.items:
        return _append_to_empty_edits(config, values, quoted)
    last = values.items[-1]
    after_last = config.tokens[_token_index(config, last.start) + 1:values.close_index]
    comma = next((token for token in after_last if token.kind == ','), None)
    if not any(token.kind == 'newline' for token in _inner_tokens(config, values)):
        return _append_inline_edits(config.text, values, comma, quoted)
    return _append_on_new_line_edits(config, values, comma, quoted)


def _append_inline_edits(text, values, comma, quoted):
    """A list on one line: copy the separator it uses between its entries."""
    last = values.items[-1]
    separator = text[values.items[-2].end:last.start] if len(values.items) > 1 else DEFAULT_SEPARATOR
    if comma is not None:
        return [(comma.end, comma.end, separator[separator.index(',') + 1:] + quoted + ',')]
    return [(last.end, last.end, separator + quoted)]


def _append_on_new_line_edits(config, values, comma, quoted):
    """A list over several lines: the new entry gets a line of its own, indented like the last."""
    last = values.items[-1]
    indent = _indent_of(config.text, _first_on_line(config, values, last.start))
    anchor = comma if comma is not None else last
    end_of_line = next((token for token in config.tokens[_token_index(config, anchor.start):values.close_index] if token.kind == 'newline'), None)
    if end_of_line is None:
        # `'a',\n  'b' ]`: the ']' follows the last entry, so the new line ends before it.
        if comma is not None:
            return [(comma.end, comma.end, '\n' + indent + quoted + ',')]
        return [(last.end, last.end, ',\n' + indent + quoted)]
    # One entry per line and ']' further down: keep the trailing comma style.
    edits = [(end_of_line.end, end_of_line.end, indent + quoted + (',' if comma is not None else '') + '\n')]
    if comma is None:
        edits.append((last.end, last.end, ','))
    return edits


def _first_on_line(config, values, offset):
    """Where the first token of the list on offset's line starts: new lines get its indentation."""
    line = _line_start(config.text, offset)
    for token in _inner_tokens(config, values):
        if token.start >= line and token.kind != 'newline':
            return token.start
    return offset


def _append_to_empty_edits(config, values, quoted):
    text = config.text
    inner_start, inner_end = values.start + 1, values.end - 1
    if not _inner_tokens(config, values):
        # `[]` or `[ ]`: keep the spacing symmetric around the entry.
        inner = text[inner_start:inner_end]
        return [(inner_start, inner_end, inner + quoted + inner)]
    # The list spans lines, so its ']' starts a line: the entry goes just above it,
    # indented like a comment already in the list, or one step more than the ']'.
    close_line = _line_start(text, inner_end)
    comments = [token for token in _inner_tokens(config, values) if token.kind == 'comment']
    indent = _indent_of(text, comments[-1].start) if comments else text[close_line:inner_end] + DEFAULT_INDENT
    return [(close_line, close_line, indent + quoted + '\n')]


# ---------------------------------------------------------------- removing

def _removal_ranges(config, values, index):
    """The (start, end) spans to delete so that entry `index` and one separating comma go."""
    text = config.text
    item = values.items[index]
    item_token = _token_index(config, item.start)
    if len(values.items) == 1 and not any(token.kind == 'newline' for token in _inner_tokens(config, values)):
        return [(values.start + 1, values.end - 1)]
    comma_after = _neighbour_comma(config.tokens[item_token + 1:values.close_index])
    own_line = _own_line(text, item, comma_after)
    if own_line is not None:
        if comma_after is None or comma_after.start < own_line[1]:
            return [own_line]
        # The comma after the entry sits on a later line (`'a'\n  , 'b'`): it goes too.
        return _with_emptied_lines(text, [own_line, (comma_after.start, _after_spaces(text, comma_after.end))])
    comma_before = _neighbour_comma(reversed(config.tokens[values.open_index + 1:item_token]))
    # Taking either neighbouring comma leaves a valid list. Prefer the one
    # that sits next to the entry; else the one after it, except for the last
    # entry, whose trailing comma (or lack of one) should stay as it was.
    candidates = [(comma_after, True), (comma_before, False)]
    if index == len(values.items) - 1:
        candidates.reverse()
    candidates = [(comma, after) for comma, after in candidates if comma is not None]
    adjacent = [(comma, after) for comma, after in candidates if _adjacent(text, item, comma, after)]
    comma, after = (adjacent or candidates or [(None, True)])[0]
    return _with_emptied_lines(text, _joined(text, item.start, item.end, comma, after))


def _adjacent(text, item, comma, after):
    if after:
        return _is_blank(text[item.end:comma.start])
    return text[comma.end:item.start].strip() == ''


def _own_line(text, item, comma_after):
    """The whole line of an entry that has it to itself (with its comma and comment), else None."""
    line, line_end = _line_start(text, item.start), _line_end(text, item.start)
    end = item.end
    if comma_after is not None and comma_after.start < line_end and _is_blank(text[item.end:comma_after.start]):
        end = comma_after.end
    rest = (text[line:item.start] + text[end:line_end]).strip(' \t')
    # A comment after the entry on its line is about that entry, so it goes too.
    if rest == '' or rest.startswith('#'):
        return (line, min(line_end + 1, len(text)))
    return None


def _neighbour_comma(tokens):
    """The first ',' among tokens before the next (or previous) value, or None."""
    for token in tokens:
        if token.kind == ',':
            return token
        if token.kind not in ('newline', 'comment'):
            return None
    return None


def _after_spaces(text, offset):
    """offset moved past the spaces that follow it, when another token follows on the line."""
    following = text[offset:_line_end(text, offset)]
    stripped = following.lstrip(' \t')
    if stripped and not stripped.startswith('#'):
        return offset + len(following) - len(stripped)
    return offset


def _joined(text, start, end, comma, after):
    """One range for entry and comma when only white space parts them, else one range each."""
    if comma is None:
        return [(start, end)]
    if after and _is_blank(text[end:comma.start]):
        return [(start, _after_spaces(text, comma.end))]
    if not after and text[comma.end:start].strip() == '':
        # `'a',\n  'b' ]` loses `,\n  'b'`: newlines may go, comments never.
        return [(comma.start, end)]
    return [(start, end), (comma.start, comma.end)]


def _with_emptied_lines(text, ranges):
    """ranges, plus every whole line they leave blank, minus spaces they leave at a line's end."""
    result = list(ranges)
    for line in sorted(set(_line_start(text, start) for start, _end in ranges)):
        line_end = _line_end(text, line)
        if _is_blank(_without(text, line, line_end, ranges)):
            result.append((line, min(line_end + 1, len(text))))
        else:
            result.extend(_trailing_space(text, line, line_end, ranges))
    return _merged(result)


def _without(text, start, end, ranges):
    """text[start:end] with the ranges cut out."""
    kept = []
    position = start
    for range_start, range_end in sorted(ranges):
        if range_end <= start or range_start >= end:
            continue
        kept.append(text[position:max(position, range_start)])
        position = max(position, range_end)
    kept.append(text[position:end])
    return ''.join(kept)


def _trailing_space(text, line, line_end, ranges):
    """The spaces a removal leaves at the end of a line that keeps other tokens."""
    last_range_end = max(end for start, end in ranges if line <= start < line_end)
    if not _is_blank(text[last_range_end:line_end]):
        return []
    start = max(start for start, end in ranges if line <= start < line_end)
    while start > line and text[start - 1] in ' \t':
        start -= 1
    return [(start, line_end)]


def _merged(ranges):
    merged = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


# ---------------------------------------------------------------- checking

def _verified(config, new_text, expected_entries):
    """new_text, once it parses to the expected vif entries and every other statement is unchanged."""
    new_config = parse_config(new_text)
    if vif_entries(new_config) != expected_entries:
        raise XlEditError('editing the vif list gave entries %r, not %r; the file was left alone' % (vif_entries(new_config), expected_entries))
    if _other_statements(config) != _other_statements(new_config):
        raise XlEditError('editing the vif list changed another statement; the file was left alone')
    return new_text


def _other_statements(config):
    return [(setting.name, setting.op, config.text[setting.start:setting.end]) for setting in config.settings if setting.name != 'vif']
