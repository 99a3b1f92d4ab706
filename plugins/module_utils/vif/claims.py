# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every vif of a dom0 claims (device names, MAC, addresses), with `auto` values settled.

Private to the collection: may change without notice.

Guests are described in the inventory as
    {'name': 'web', 'type': 'hvm', 'vifs': ['mac=auto,bridge=xenbr0,ip=10.0.0.5', {...}]}
where a vif is an xl vif string or a mapping of xl keys, and `mac` or
`vifname` may be `auto`. Settling is deterministic: explicit names are
reserved first, then `auto` names are derived in (guest, devid) order, so
a filter on the controller and a module on the dom0 get the same result.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import guest_name_problems
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import (
    DEFAULT_MAC_PREFIX,
    mac_auto,
    vifname_auto,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import (
    parse_vif,
    spec_from_dict,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import (
    has_emulated_nic,
    occupied_names,
)

AUTO = 'auto'

# One vif as the rest of its dom0 sees it.
VifClaim = collections.namedtuple('VifClaim', 'dom0 guest devid vifname names mac ips emulated')


def to_spec(vif):
    """A VifSpec from an xl vif string or a mapping of xl keys."""
    if isinstance(vif, str):
        return parse_vif(vif)
    if isinstance(vif, dict) or hasattr(vif, 'items'):
        return spec_from_dict(dict(vif.items()))
    raise ValueError('a vif must be an xl vif string or a mapping of xl keys, not %s' % type(vif).__name__)


def guest_is_hvm(guest):
    """True for an inventory guest of type hvm (or the older builder: hvm)."""
    if guest.get('type') is not None:
        return guest.get('type') == 'hvm'
    return guest.get('builder') == 'hvm'


def effective_devid(spec, index):
    """xl numbers vifs by list position unless a vif gives devid= itself."""
    if spec.devid is not None and spec.devid.isdigit():
        return int(spec.devid)
    return index


def settle_spec(guest, devid, spec, hvm, taken, mac_prefix=DEFAULT_MAC_PREFIX):
    """spec with `mac=auto` and `vifname=auto` replaced by their derived values.

    taken: device names already held on the dom0; the derived vifname
    avoids them (the caller adds the result to its own set).
    """
    changes = {}
    if spec.mac == AUTO:
        changes['mac'] = mac_auto(guest, devid, spec.ip, mac_prefix)
    if spec.vifname == AUTO:
        changes['vifname'] = vifname_auto(guest, devid, taken=taken, emulated=has_emulated_nic(spec, hvm))
    return spec.replace(**changes) if changes else spec


def claim(dom0, guest, devid, spec, hvm):
    emulated = has_emulated_nic(spec, hvm)
    return VifClaim(dom0, guest, devid, spec.vifname, occupied_names(spec.vifname, emulated), spec.mac, tuple(spec.ip or ()), emulated)


def _guest_vifs(guest):
    """(devid, spec) of each vif of one inventory guest, in list order."""
    if not guest.get('name'):
        raise ValueError('a guest needs a name: %r' % (dict(guest),))
    problems = guest_name_problems('guest', guest['name'])
    if problems:
        raise ValueError('; '.join(problems))
    vifs = guest.get('vifs') or []
    if isinstance(vifs, str) or not hasattr(vifs, '__iter__'):
        raise ValueError("guest '%s': vifs must be a list" % guest['name'])
    result = []
    for index, vif in enumerate(vifs):
        try:
            spec = to_spec(vif)
        except ValueError as error:
            raise ValueError("guest '%s' vif %d: %s" % (guest['name'], index, error))
        result.append((effective_devid(spec, index), spec))
    return result


def settle_dom0(guests, dom0=None, mac_prefix=DEFAULT_MAC_PREFIX):
    """The claim of every vif of a dom0's guests, `auto` values settled; in (guest, devid) order."""
    pending = []
    taken = set()
    for guest in guests:
        hvm = guest_is_hvm(guest)
        for devid, spec in _guest_vifs(guest):
            pending.append((guest['name'], devid, spec, hvm))
            if spec.vifname not in (None, AUTO):
                taken.update(occupied_names(spec.vifname, has_emulated_nic(spec, hvm)))
    claims = []
    for name, devid, spec, hvm in sorted(pending, key=lambda entry: (entry[0], entry[1])):
        spec = settle_spec(name, devid, spec, hvm, taken, mac_prefix)
        claims.append(claim(dom0, name, devid, spec, hvm))
        taken.update(claims[-1].names)
    return claims
