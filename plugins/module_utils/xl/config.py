# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read xl domain config files, and edit their `vif` list byte for byte.

Private to the collection: may change without notice.

The syntax is xl.cfg(5) as libxlu's lexer and grammar read it:
- a file is statements `KEY = VALUE` or `KEY += VALUE`, each ended by a
  newline or ';' (the last one may end at the end of the file);
- a VALUE is a string in single or double quotes (backslash escapes,
  no raw newline), a number, or a list `[ VALUE, ... ]` which may span
  lines, hold comments and end with a trailing comma;
- `#` starts a comment that runs to the end of the line;
- spaces and tabs separate tokens; anything else (a carriage return, a
  Python `+`) is an error, which xl reports only when the guest starts.

Parsing keeps the character span of every token, so an edit replaces,
adds or removes one vif entry by splicing text: every character outside
the entry concerned stays as it was. Text is str; read files with
decode_config() and write them with encode_config() so that bytes which
are not UTF-8 survive unchanged (surrogateescape).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import collections
import re

ENCODING = 'utf-8'
ENCODING_ERRORS = 'surrogateescape'

Token = collections.namedtuple('Token', 'kind start end value')
# A string or number: `kind` is 'string' or 'number', `value` the decoded text.
Atom = collections.namedtuple('Atom', 'kind value start end quote')
# A [ ... ] list: `items` are Atom or ListValue; `open_index`/`close_index`
# are the positions of its brackets in XlConfig.tokens.
ListValue = collections.namedtuple('ListValue', 'items start end open_index close_index')
# One statement: `op` is '=' or '+='; `start`/`end` span KEY to the end of VALUE.
Setting = collections.namedtuple('Setting', 'name op value start end')

_ESCAPES = {'"': '"', "'": "'", '\\': '\\', 'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v'}
_QUOTE_ESCAPES = {'\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\a': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v'}
_UNESCAPABLE = re.compile(r'[\x00-\x06\x0e-\x1f\x7f]')  # the control characters _QUOTE_ESCAPES has no escape for (\a..\r it has)

_TOKEN_RE = re.compile(r'''
    (?P<space>[ \t]+)
  | (?P<newline>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<number>[0-9][0-9a-fx]*)
  | (?P<string>'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*")
  | (?P<punct>\+=|[\[\],=;])
''', re.VERBOSE)


class XlConfigError(ValueError):
    """The text is no valid xl config, or cannot be edited safely; names the line and column."""

    def __init__(self, message, line, column):
        self.message = message
        self.line = line
        self.column = column
        super(XlConfigError, self).__init__('line %d, column %d: %s' % (line, column, message))


class _Positions:
    """Turns character offsets into 1-based line and column numbers."""

    def __init__(self, text):
        self._line_starts = [0] + [match.end() for match in re.finditer('\n', text)]

    def line_column(self, offset):
        line = bisect.bisect_right(self._line_starts, offset)
        return line, offset - self._line_starts[line - 1] + 1

    def error(self, message, offset):
        line, column = self.line_column(offset)
        return XlConfigError(message, line, column)


def decode_config(data):
    """File bytes to text; undecodable bytes survive the round trip through encode_config."""
    return data.decode(ENCODING, ENCODING_ERRORS)


def encode_config(text):
    return text.encode(ENCODING, ENCODING_ERRORS)


# ---------------------------------------------------------------- lexing

def _unquote(raw, offset, positions):
    """The value of a quoted string token, with xl's backslash escapes applied."""
    result = []
    index = 1
    while index < len(raw) - 1:
        character = raw[index]
        if character != '\\':
            result.append(character)
            index += 1
            continue
        escaped = raw[index + 1]
        if escaped == 'x' or escaped.isdigit():
            # libxlu parses numeric escapes but never stores the character;
            # refuse them rather than guess what the author wanted.
            raise positions.error("numeric escape '\\%s' in a string: xl cannot read it; write the character itself" % escaped, offset + index)
        # An unknown escape such as '\q' yields nothing in xl.
        result.append(_ESCAPES.get(escaped, ''))
        index += 2
    return ''.join(result)


def _lex_error(text, offset, positions):
    character = text[offset]
    if character == '\r':
        return positions.error('carriage return: xl reads only LF line endings (was the file saved with CRLF?)', offset)
    if character in '\'"':
        return positions.error('string is not closed on this line', offset)
    if character in '+-.():{}':
        return positions.error("unexpected %r: an xl config is not Python; values are strings, numbers or [lists]" % character, offset)
    return positions.error('unexpected character %r' % character, offset)


def tokenize(text):
    """Every token of text with its span; spaces are skipped, comments and newlines kept."""
    positions = _Positions(text)
    tokens = []
    offset = 0
    while offset < len(text):
        match = _TOKEN_RE.match(text, offset)
        if match is None:
            raise _lex_error(text, offset, positions)
        kind = match.lastgroup
        raw = match.group()
        if kind == 'string':
            tokens.append(Token('string', offset, match.end(), _unquote(raw, offset, positions)))
        elif kind == 'punct':
            tokens.append(Token(raw, offset, match.end(), raw))
        elif kind != 'space':
            tokens.append(Token(kind, offset, match.end(), raw))
        offset = match.end()
    return tokens


# ---------------------------------------------------------------- parsing

def _describe(token):
    if token is None:
        return 'the end of the file'
    if token.kind == 'newline':
        return 'the end of the line'
    if token.kind == 'comment':
        return 'a comment'
    return repr(token.value)


class _Parser:
    """Recursive descent over the token list, following libxlu's grammar."""

    def __init__(self, text):
        self.text = text
        self.positions = _Positions(text)
        # Comments end a line exactly as a newline does, so the grammar sees neither.
        self.all_tokens = tokenize(text)
        self.index = 0

    def _peek(self):
        """The next token the grammar sees, skipping comments."""
        while self.index < len(self.all_tokens) and self.all_tokens[self.index].kind == 'comment':
            self.index += 1
        if self.index < len(self.all_tokens):
            return self.all_tokens[self.index]
        return None

    def _take(self):
        token = self._peek()
        self.index += 1
        return token

    def _error(self, message, token):
        offset = token.start if token is not None else len(self.text)
        return self.positions.error(message, offset)

    def _skip_newlines(self):
        while self._peek() is not None and self._peek().kind == 'newline':
            self._take()

    def parse(self):
        settings = []
        while True:
            token = self._peek()
            if token is None:
                return settings
            if token.kind in ('newline', ';'):
                self._take()
                continue
            settings.append(self._setting())

    def _setting(self):
        name = self._take()
        if name.kind != 'ident':
            raise self._error('expected a key name at the start of a statement, found %s' % _describe(name), name)
        operator = self._take()
        if operator is None or operator.kind not in ('=', '+='):
            raise self._error("expected '=' after '%s', found %s" % (name.value, _describe(operator)), operator)
        value = self._value(name.value)
        end = self._peek()
        if end is not None and end.kind not in ('newline', ';'):
            raise self._error("expected the end of the line or ';' after the value of '%s', found %s" % (name.value, _describe(end)), end)
        return Setting(name.value, operator.kind, value, name.start, value.end)

    def _value(self, key):
        token = self._take()
        if token is not None and token.kind in ('string', 'number'):
            quote = self.text[token.start] if token.kind == 'string' else None
            return Atom(token.kind, token.value, token.start, token.end, quote)
        if token is not None and token.kind == '[':
            return self._list(key, token)
        raise self._error("expected a value for '%s' (a quoted string, a number or a [list]), found %s" % (key, _describe(token)), token)

    def _list(self, key, opening):
        open_index = self.index - 1
        items = []
        self._skip_newlines()
        while True:
            token = self._peek()
            if token is not None and token.kind == ']':
                self._take()
                return ListValue(tuple(items), opening.start, token.end, open_index, self.index - 1)
            items.append(self._value(key))
            self._skip_newlines()
            token = self._peek()
            if token is not None and token.kind == ',':
                self._take()
                self._skip_newlines()
            elif token is None or token.kind != ']':
                raise self._error("expected ',' or ']' in the list of '%s', found %s" % (key, _describe(token)), token)


class XlConfig:
    """A parsed xl config: its text, its statements in file order, and every token."""

    def __init__(self, text, settings, tokens):
        self.text = text
        self.settings = settings
        self.tokens = tokens
        self.positions = _Positions(text)

    def find(self, name):
        return [setting for setting in self.settings if setting.name == name]

    def value(self, name):
        """What xl sees for name: the last '=' and the '+=' after it, or None when unset."""
        current = None
        for setting in self.find(name):
            if setting.op == '=' or current is None:
                current = _plain(setting.value)
            elif isinstance(current, list) and isinstance(setting.value, ListValue):
                current = current + _plain(setting.value)
            elif isinstance(current, str) and isinstance(setting.value, Atom):
                current = current + setting.value.value
            else:
                raise self.positions.error("'%s +=' mixes a list and a single value" % name, setting.start)
        return current

    def string(self, name):
        """A single-valued key as text, or None when unset or a list."""
        value = self.value(name)
        return value if isinstance(value, str) else None


def _plain(value):
    if isinstance(value, Atom):
        return value.value
    return [_plain(item) for item in value.items]


def parse_config(text):
    """Parse the text of an xl domain config; raises XlConfigError with line and column."""
    parser = _Parser(text)
    settings = parser.parse()
    return XlConfig(text, settings, parser.all_tokens)


# ---------------------------------------------------------------- domain facts

def guest_name(config):
    return config.string('name')


def is_hvm(config):
    """True for an HVM guest: type="hvm", or the deprecated builder="hvm" when type is unset."""
    guest_type = config.string('type')
    if guest_type is not None:
        return guest_type == 'hvm'
    return config.string('builder') == 'hvm'


def vif_list(config):
    """The ListValue of the file's only `vif = [...]`, or None when the file has no vif.

    Refuses what xl would ignore or what one entry cannot be edited in:
    more than one vif statement, `vif +=`, a vif that is no list, and
    entries that are lists themselves.
    """
    settings = config.find('vif')
    if not settings:
        return None
    if len(settings) > 1:
        lines = ', '.join(str(config.positions.line_column(setting.start)[0]) for setting in settings)
        raise config.positions.error('vif is set %d times (lines %s); merge them into one list' % (len(settings), lines), settings[1].start)
    setting = settings[0]
    if setting.op != '=':
        raise config.positions.error("'vif +=' with no 'vif =' before it; write 'vif = [...]'", setting.start)
    if not isinstance(setting.value, ListValue):
        raise config.positions.error("vif must be a list such as vif = [ 'bridge=xenbr0' ]; xl ignores a single string", setting.value.start)
    for item in setting.value.items:
        if isinstance(item, ListValue):
            raise config.positions.error('a vif entry must be a string, not a list', item.start)
    return setting.value


def vif_entries(config):
    """The vif spec strings in list order (a number entry counts as its text)."""
    values = vif_list(config)
    return [] if values is None else [item.value for item in values.items]


# ---------------------------------------------------------------- quoting

def quote_string(value, quote="'"):
    """value as an xl string literal in the given quote character.

    libxlu reads a raw control character inside a string, but a NUL ends the C string and
    the others would sit unseen in the file, so only those with an escape are written.
    """
    bad = _UNESCAPABLE.search(value)
    if bad is not None:
        what = 'a NUL character' if bad.group() == '\0' else 'the control character %r' % bad.group()
        raise ValueError('an xl string cannot hold %s: %r' % (what, value))
    escapes = dict(_QUOTE_ESCAPES)
    escapes[quote] = '\\' + quote
    return quote + ''.join(escapes.get(character, character) for character in value) + quote
