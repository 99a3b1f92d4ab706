# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_xl_defaults: set or remove the dom0-wide vif defaults of /etc/xen/xl.conf, byte for byte.

Private to the collection: may change without notice.

xl.conf has the syntax of a domain config (xl.conf(5)), so xl/config.py
reads it and gives the span of every statement. An edit splices text: the
value of the key's statement is replaced, a missing key gets one new line
(after its commented-out example when the file has one, as Debian's does),
a removed key loses its statement; every other character stays as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import lock_path, module_locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    checked_options, interface_name_problems, script_problems)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    Atom,
    XlConfigError,
    decode_config,
    encode_config,
    parse_config,
    quote_string,
)

# Module option -> the xl.conf key it sets, in the order xl.conf(5) lists them.
KEYS = (
    ('vif_script', 'vif.default.script'),
    ('vif_bridge', 'vif.default.bridge'),
    ('vif_gatewaydev', 'vif.default.gatewaydev'),
)
OPTIONS = tuple(option for option, _key in KEYS)
# What Debian's xl.conf writes in its commented-out examples.
QUOTE = '"'


class DefaultsError(ValueError):
    """The options cannot be applied; str() names the option and the value."""


def option_problems(params):
    """Every rule the vif options break, one message per rule, naming the option and its value (path is
    checked with every path option, by checked_options)."""
    problems = []
    absent = params.get('absent') or []
    for option in OPTIONS:
        value = params.get(option)
        if value is None:
            continue
        if option in absent:
            problems.append("%s '%s' is also listed in absent; set a key or remove it, not both" % (option, value))
        elif option == 'vif_script':
            problems.extend(script_problems(option, value))
        else:
            problems.extend(interface_name_problems(option, value))
    return problems


def current_defaults(config):
    """{option: value} as xl reads the file now (None when the key is unset or not a single string)."""
    return dict((option, config.string(key)) for option, key in KEYS)


def _line_bounds(text, start, end):
    line_start = text.rfind('\n', 0, start) + 1
    line_end = text.find('\n', end)
    return line_start, len(text) if line_end < 0 else line_end + 1


_REST_OF_LINE = re.compile(r'[ \t;]*(?:#[^\n]*)?\n?\Z')
_AFTER_STATEMENT = re.compile(r'[ \t]*;?[ \t]*')


def _removal_span(text, setting):
    """The span that removing setting takes out: its whole line when nothing else is on it (a comment after it
    belongs to it), else the statement and the ';' that ends it."""
    line_start, line_end = _line_bounds(text, setting.start, setting.end)
    if not text[line_start:setting.start].strip(' \t;') and _REST_OF_LINE.match(text[setting.end:line_end]):
        return line_start, line_end
    return setting.start, _AFTER_STATEMENT.match(text, setting.end).end()


def _statement(key, value):
    return '%s=%s' % (key, quote_string(value, QUOTE))


def _insertion_point(config, key):
    """Where a new statement for key goes: the line after its last commented-out example, else the end."""
    example = re.compile(r'#\s*%s\s*\+?=' % re.escape(key))
    spans = [(setting.start, setting.end) for setting in config.settings]
    point = None
    for token in config.tokens:
        inside = any(start <= token.start < end for start, end in spans)
        if token.kind == 'comment' and example.match(token.value) and not inside:
            point = _line_bounds(config.text, token.start, token.end)[1]
    return point


def _splices(config, key, value):
    """(start, end, replacement) edits that make key read value (None: remove every statement of it)."""
    settings = config.find(key)
    keep = settings[-1] if settings and value is not None else None
    edits = [_removal_span(config.text, setting) + ('',) for setting in settings if setting is not keep]
    if keep is not None and keep.op == '=' and isinstance(keep.value, Atom):
        quote = keep.value.quote or QUOTE
        edits.append((keep.value.start, keep.value.end, quote_string(value, quote)))
    elif keep is not None:
        edits.append((keep.start, keep.end, _statement(key, value)))
    elif value is not None:
        point = _insertion_point(config, key)
        text = config.text
        if point is None or (point == len(text) and not text.endswith('\n')):
            point = len(text)
            lead = '\n' if text and not text.endswith('\n') else ''
        else:
            lead = ''
        edits.append((point, point, lead + _statement(key, value) + '\n'))
    return edits


def plan_defaults(text, desired, absent):
    """The new text for desired ({option: value or None}) and absent (options to remove); raises XlConfigError."""
    config = parse_config(text)
    before = current_defaults(config)
    edits = []
    for option, key in KEYS:
        if option in absent and config.find(key):
            edits.extend(_splices(config, key, None))
        elif desired.get(option) is not None and before[option] != desired[option]:
            edits.extend(_splices(config, key, desired[option]))
    new_text = text
    # Spans never overlap (each is one statement or a point between lines): apply from the end backwards,
    # and two insertions at one point in reverse too, so that the keys land in KEYS order.
    ordered = sorted(enumerate(edits), key=lambda item: (item[1][0], item[1][1], item[0]), reverse=True)
    for _index, (start, end, replacement) in ordered:
        new_text = new_text[:start] + replacement + new_text[end:]
    after = current_defaults(parse_config(new_text)) if new_text != text else before
    return before, after, new_text


# ---------------------------------------------------------------- the module's one call

def _readable(text):
    """Text for the diff: bytes that are not UTF-8 shown as U+FFFD instead of failing the JSON."""
    return encode_config(text).decode('utf-8', 'replace')


def _converge(module, path):
    params = module.params
    try:
        data = read_bytes(path)
    except (IOError, OSError) as error:
        module.fail_json(msg='reading %s: %s; nothing was changed' % (path, error.strerror or error), config=path)
    text = '' if data is None else decode_config(data)
    desired = dict((option, params[option]) for option in OPTIONS)
    absent = params['absent'] or []
    try:
        before, after, new_text = plan_defaults(text, desired, absent)
    except XlConfigError as error:
        module.fail_json(msg='%s cannot be parsed, so it was not changed: %s' % (path, error), config=path,
                         line=error.line, column=error.column)
    changed = new_text != text
    result = dict(changed=changed, config=path, before=before, defaults=after)
    if module._diff:
        result['diff'] = dict(before_header=path, after_header=path,
                              before='' if data is None else _readable(text), after=_readable(new_text))
    if changed and not module.check_mode:
        try:
            backup = write_atomic(path, encode_config(new_text), backup=params['backup'])
        except (IOError, OSError) as error:
            module.fail_json(msg='writing %s: %s; it was not changed' % (path, error.strerror or error),
                             **dict(result, changed=False))
        if backup:
            result['backup_file'] = backup
    return result


def run_xl_defaults_module(module):
    params = module.params
    checked_options(module, problems=option_problems(params))
    path = params['path']
    if os.path.isdir(path):
        module.fail_json(msg="path '%s' is a directory; name the xl.conf file" % path, config=path)
    # One lock per file, by its real path, so that two spellings of it wait for each other.
    real = os.path.realpath(path)
    with module_locks(module, 'xen_xl_defaults', [(real, lock_path('xlconf', real))]):
        result = _converge(module, path)
    module.exit_json(**result)
