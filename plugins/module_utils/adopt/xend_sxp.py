# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the legacy xend toolstack's /etc/xen/xend-config.sxp and the network scripts it names.

Private to the collection: may change without notice.

xend read one S-expression per setting, `(name value ...)`, where a value
is a bare word, a quoted string or a nested list, and `#` starts a comment
running to the end of the line. The network script and the vif script are
each one string holding a command line: the script's name and its
`key=value` arguments, e.g. `(network-script 'network-bridge bridge=xenbr1
netdev=eth1')`. The book's multi-bridge setup named a wrapper script
instead, which calls network-bridge once per bridge: such a wrapper is read
too, line by line, so what it calls can be told apart.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import os
import re
import shlex

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError

# The scripts Xen shipped; a call of any of them (by path or by name) is recognised.
NETWORK_SCRIPTS = ('network-bridge', 'network-route', 'network-nat', 'network-virtual')
DEFAULT_SCRIPTS_DIR = '/etc/xen/scripts'

# One script invocation: `script` the basename, `args` the key=value arguments in order
# (a dict), `positional` everything else (like "$@" in a wrapper), `line` where it was read.
ScriptCall = collections.namedtuple('ScriptCall', 'script args positional line')

_TOKEN_RE = re.compile(r'''
    (?P<space>[ \t\r\f\v]+)
  | (?P<newline>\n)
  | (?P<comment>\#[^\n]*)
  | (?P<open>\()
  | (?P<close>\))
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<atom>[^\s()'"\#]+)
''', re.VERBOSE | re.DOTALL)


class SxpError(XlConfigError):
    """The text is no valid xend-config.sxp; names the line and column as xl config errors do."""


def _line_column(text, offset):
    line = text.count('\n', 0, offset) + 1
    return line, offset - (text.rfind('\n', 0, offset) + 1) + 1


def _error(text, message, offset):
    line, column = _line_column(text, offset)
    return SxpError(message, line, column)


def _unquote(raw):
    body = raw[1:-1]
    return re.sub(r'\\(.)', lambda match: match.group(1), body)


def _tokens(text):
    offset = 0
    while offset < len(text):
        match = _TOKEN_RE.match(text, offset)
        if match is None:
            if text[offset] in '\'"':
                raise _error(text, 'string is not closed', offset)
            raise _error(text, 'unexpected character %r' % text[offset], offset)
        kind = match.lastgroup
        if kind not in ('space', 'newline', 'comment'):
            yield kind, match.group(), offset
        offset = match.end()


def parse_sxp(text):
    """The top-level settings of text in file order: a list of (name, values, line).

    values are str or nested lists of them; raises SxpError for unbalanced
    parentheses, unclosed strings and anything outside a parenthesis.
    """
    settings = []
    stack = []
    for kind, raw, offset in _tokens(text):
        if kind == 'open':
            stack.append(([], offset))
        elif kind == 'close':
            if not stack:
                raise _error(text, "')' closes nothing", offset)
            items, start = stack.pop()
            if stack:
                stack[-1][0].append(items)
            elif not items or not isinstance(items[0], str):
                raise _error(text, 'a setting must start with its name', start)
            else:
                settings.append((items[0], items[1:], _line_column(text, start)[0]))
        elif not stack:
            raise _error(text, '%r outside of a (name value) setting' % raw, offset)
        else:
            stack[-1][0].append(_unquote(raw) if kind == 'string' else raw)
    if stack:
        raise _error(text, "'(' is never closed", stack[-1][1])
    return settings


def script_call(command, line=None):
    """A ScriptCall from one command line (shell quoting as xend's own split applied), or None when empty."""
    try:
        words = shlex.split(command, comments=False)
    except ValueError as error:
        raise SxpError('cannot split %r: %s' % (command, error), line or 0, 1)
    if not words:
        return None
    args = collections.OrderedDict()
    positional = []
    for word in words[1:]:
        key, equals, value = word.partition('=')
        if equals and re.match(r'^[A-Za-z_][A-Za-z0-9_]*$', key):
            args[key] = value
        else:
            positional.append(word)
    return ScriptCall(os.path.basename(words[0]), dict(args), positional, line)


def setting_value(settings, name):
    """The last value of a single-valued setting as one string, or None."""
    found = None
    for key, values, line in settings:
        if key == name and values:
            found = (' '.join(value for value in values if isinstance(value, str)), line)
    return found


_SHELL_CALL_RE = re.compile(r'(?:^|[\s;&|(])(?:"[^"]*/|\S*/)?(%s)\b' % '|'.join(re.escape(name) for name in NETWORK_SCRIPTS))


def wrapper_calls(text):
    """The network scripts a wrapper shell script calls, one ScriptCall per calling line.

    Only lines that run one of Xen's network scripts count; the wrapper's
    own logic (conditions, loops) is not evaluated, which the caller reports.
    """
    calls = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split('#', 1)[0] if not raw.lstrip().startswith('#!') else ''
        match = _SHELL_CALL_RE.search(line)
        if match is None:
            continue
        rest = line[match.end():]
        rest = rest.lstrip('"')
        try:
            call = script_call(match.group(1) + ' ' + rest, number)
        except SxpError:
            call = ScriptCall(match.group(1), {}, [rest.strip()], number)
        calls.append(call)
    return calls


def _call_dict(call):
    return dict(script=call.script, args=call.args, positional=call.positional, line=call.line)


def read_legacy_config(path, scripts_dir=DEFAULT_SCRIPTS_DIR, reader=None):
    """What a xend-config.sxp says about the network, as plain data.

    reader(path) returns the file's text or None when it is missing.
    The answer: path, present, network_script and vif_script (each a call
    dict or None), calls (the network script calls, a wrapper expanded),
    wrapper (the wrapper's path, when the network script is one), and notes.
    Raises SxpError for a file that is not valid S-expressions.
    """
    reader = reader or read_text
    text = reader(path)
    result = dict(path=path, present=text is not None, network_script=None, vif_script=None, calls=[], wrapper=None, notes=[])
    if text is None:
        return result
    settings = parse_sxp(text)
    for key, name in (('network_script', 'network-script'), ('vif_script', 'vif-script')):
        found = setting_value(settings, name)
        if found is not None:
            call = script_call(found[0], found[1])
            result[key] = _call_dict(call) if call else None
    network = result['network_script']
    if network is None:
        return result
    if network['script'] in NETWORK_SCRIPTS:
        result['calls'] = [network]
        return result
    if network['script'] in ('/bin/true', 'true'):
        return result
    wrapper = os.path.join(scripts_dir, network['script'])
    result['wrapper'] = wrapper
    wrapper_text = reader(wrapper)
    if wrapper_text is None:
        result['notes'].append('network-script %s is not one of Xen\'s (%s) and %s cannot be read'
                               % (network['script'], ', '.join(NETWORK_SCRIPTS), wrapper))
        return result
    result['calls'] = [_call_dict(call) for call in wrapper_calls(wrapper_text)]
    if not result['calls']:
        result['notes'].append('wrapper %s calls none of %s' % (wrapper, ', '.join(NETWORK_SCRIPTS)))
    return result


def read_text(path):
    data = read_bytes(path)
    return None if data is None else data.decode('utf-8', 'replace')
