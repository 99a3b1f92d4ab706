# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One xl vif spec ('mac=...,bridge=...,ip=...') as data, and back.

Private to the collection: may change without notice.

Syntax, as xl(1) reads it (xl-network-configuration(5), Xen 4.17): the
string is split at every comma, empty pieces are skipped, leading spaces
of each piece are dropped, and a piece is either `key=value` (the key is
everything before the first '=') or a bare flag (`trusted`, `untrusted`).
A key given twice keeps its last value. `netdev` is the old name of
`gatewaydev`. `ip` holds a space-separated list of addresses or CIDRs.

A VifSpec is always canonical (MAC in lower case, numbers without leading
zeros, ip as a tuple), so parse_vif(render_vif(spec)) == spec for every
spec, and render_vif(parse_vif(text)) means what text meant to xl.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import parse_mac

# The order render_vif writes keys in. The identity of the interface comes
# first (as in the usual `mac=...,bridge=...,ip=...,vifname=...`), then
# device model details, then the rarely used tuning keys.
VALUED_KEYS = (
    'mac', 'bridge', 'ip', 'vifname', 'type', 'model', 'gatewaydev', 'script',
    'backend', 'rate', 'mtu', 'vlan', 'devid',
)
# Old spellings xl still accepts, mapped to the key they set.
KEY_ALIASES = {'netdev': 'gatewaydev'}
# Bare words that set the `trusted` field.
FLAGS = {'trusted': True, 'untrusted': False}
# xl reads these with strtoul(..., 10); leading zeros carry no meaning.
DECIMAL_KEYS = ('mtu', 'devid')

# \Z, not $: '$' also matches before a final newline, and '0\n' would pass as 0 with the newline dropped unseen.
_DECIMAL_RE = re.compile(r'[0-9]+\Z')


def canonical_mac(text):
    """'0:16:3E:a:0:5 ' -> '00:16:3e:0a:00:05', as xl reads it; text unchanged when it is no MAC (validation reports it)."""
    return parse_mac(text, xl_spelling=True) or text


def _canonical_decimal(text):
    if _DECIMAL_RE.match(text):
        return str(int(text))
    return text


def _as_ip_tuple(value):
    """Accept 'a b' (as xl writes it) or ['a', 'b'], ('a',): the ip key is a whitespace-separated list.

    A list entry is one address, and an address never holds white space: 'a b' there is refused whole,
    not taken as two addresses the task never wrote apart (nor 'a\\nb' with its line break dropped).
    """
    if isinstance(value, str):
        return tuple(value.split())
    entries = tuple(str(entry) for entry in value)
    for entry in entries:
        if ''.join(entry.split()) != entry:
            raise ValueError("vif field 'ip' value %r holds white space; an address never does, so give each address "
                             "as its own list entry" % entry)
    return tuple(entry for entry in entries if entry)


def _known_key(token):
    """The key a token sets, when xl knows it, else None."""
    if token in FLAGS:
        return 'trusted'
    if '=' not in token:
        return None
    key = token.split('=', 1)[0]
    key = KEY_ALIASES.get(key, key)
    return key if key in VALUED_KEYS else None


@dataclasses.dataclass(frozen=True)
class VifSpec:
    """The keys of one vif; None means the key is absent (xl's default applies).

    `trusted` is True for the `trusted` flag, False for `untrusted`.
    `extra` holds every piece xl does not document (for example
    `accel=...` or the COLO keys), in their original order, untouched.
    """

    mac: object = None
    bridge: object = None
    ip: object = None
    vifname: object = None
    type: object = None
    model: object = None
    gatewaydev: object = None
    script: object = None
    backend: object = None
    rate: object = None
    mtu: object = None
    vlan: object = None
    devid: object = None
    trusted: object = None
    extra: object = ()

    def __post_init__(self):
        # A frozen dataclass: normalise through object.__setattr__ so that
        # every instance is canonical and equality means "same meaning".
        for key in VALUED_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if isinstance(value, bool):
                raise ValueError("vif field '%s' must be a string, not the boolean %r" % (key, value))
            if key == 'ip':
                value = _as_ip_tuple(value)
                for entry in value:
                    _require_no_comma(key, entry)
            else:
                value = str(value)
                _require_no_comma(key, value)
                if key == 'mac':
                    value = canonical_mac(value)
                elif key in DECIMAL_KEYS:
                    value = _canonical_decimal(value)
            object.__setattr__(self, key, value)
        if self.trusted is not None and not isinstance(self.trusted, bool):
            raise ValueError("vif field 'trusted' must be true, false or absent, not %r" % (self.trusted,))
        object.__setattr__(self, 'extra', _canonical_extra(self.extra))

    def to_dict(self):
        """The keys that are set, for Ansible: ip as a list, mtu/devid as numbers when they are numbers."""
        result = {}
        for key in VALUED_KEYS:
            value = getattr(self, key)
            if value is None:
                continue
            if key == 'ip':
                value = list(value)
            elif key in DECIMAL_KEYS and _DECIMAL_RE.match(value):
                value = int(value)
            result[key] = value
        if self.trusted is not None:
            result['trusted'] = self.trusted
        if self.extra:
            result['extra'] = list(self.extra)
        return result

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def _require_no_comma(key, value):
    if ',' in value:
        raise ValueError("vif field '%s' value '%s' holds ','; xl splits a vif spec at every comma" % (key, value))


def _canonical_extra(extra):
    if isinstance(extra, str):
        extra = [extra]
    tokens = []
    for token in extra:
        token = str(token).lstrip(' ')
        if not token:
            continue
        _require_no_comma('extra', token)
        if _known_key(token) is not None:
            raise ValueError("vif extra entry '%s' sets the documented key '%s'; give it as that field" % (token, _known_key(token)))
        tokens.append(token)
    return tuple(tokens)


def spec_from_dict(data):
    """A VifSpec from a mapping of xl keys (as the module options or a filter give them).

    `netdev` is accepted as `gatewaydev`; `extra` may be a list of raw
    pieces or a mapping of unknown key to value (None for a bare flag).
    """
    fields = {}
    for key, value in data.items():
        if value is None:
            continue
        field = KEY_ALIASES.get(key, key)
        if field in fields:
            raise ValueError("vif keys '%s' and '%s' both set %s" % (key, field, field))
        if field == 'extra' and isinstance(value, dict):
            value = [name if raw is None else '%s=%s' % (name, raw) for name, raw in value.items()]
        if field not in VALUED_KEYS and field not in ('trusted', 'extra'):
            raise ValueError("'%s' is not a vif key xl documents; put it under 'extra' to keep it as it is" % key)
        fields[field] = value
    return VifSpec(**fields)


def parse_vif(text):
    """Read one vif spec string as xl does. Never fails: odd values are kept for validation to report."""
    values = {}
    extra = []
    for token in text.split(','):
        token = token.lstrip(' ')
        if not token:
            continue
        key = _known_key(token)
        if key == 'trusted':
            values['trusted'] = FLAGS[token]
        elif key is not None:
            values[key] = token.split('=', 1)[1]
        else:
            extra.append(token)
    return VifSpec(extra=tuple(extra), **values)


# What a value written into a vif spec may not hold. ',' is refused when a VifSpec is built; here:
# control characters (a newline in the config file would be escaped, but xl hands the decoded
# value to libxl, xenstore and the hotplug scripts, which are shell), quotes and backslashes (no
# xl key takes one, and they would reach those scripts as well). '=' stays: xl takes everything
# after the first '=' of a piece as the value, so it breaks nothing.
UNWRITABLE = re.compile(r'["\'\\\x00-\x1f\x7f]')


def _writable(key, value):
    bad = UNWRITABLE.search(value)
    if bad is not None:
        raise ValueError("vif field '%s' value %r holds %r, which xenfleet.network does not write into a vif spec"
                         % (key, value, bad.group()))
    return value


def render_vif(spec):
    """The vif spec string for spec, keys in canonical order, unknown pieces last and in their order.

    ValueError for a value that UNWRITABLE refuses; parse_vif still reads any text (validation reports it).
    """
    tokens = []
    for key in VALUED_KEYS:
        value = getattr(spec, key)
        if value is None:
            continue
        if key == 'ip':
            value = ' '.join(value)
        tokens.append('%s=%s' % (key, _writable(key, value)))
    if spec.trusted is not None:
        tokens.append('trusted' if spec.trusted else 'untrusted')
    tokens.extend(_writable('extra', token) for token in spec.extra)
    return ','.join(tokens)
