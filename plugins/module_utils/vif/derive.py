# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deterministic MAC addresses and vif names: the same inputs give the same answer on every run.

Private to the collection: may change without notice.

Random MACs change at every boot (udev in the guest then renames eth0 to
eth1) and collide by the birthday bound; names longer than 15 characters
are cut short by Linux without a word. Everything here is a pure function
of its arguments, so a playbook filter and a module on the dom0 agree.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import EMU_SUFFIX, IFNAME_FORBIDDEN, IFNAME_MAX, XEN_OUI, parse_interface

DEFAULT_MAC_PREFIX = '02:00'
# An emulated NIC's device is `<vifname>-emu`, which must fit too.
EMULATED_IFNAME_MAX = IFNAME_MAX - len(EMU_SUFFIX)
_HASH_LENGTH = 4


def _digest(*parts):
    """A stable hash of the parts; NUL cannot occur in a guest name, so it separates them unambiguously."""
    joined = '\0'.join(str(part) for part in parts)
    return hashlib.sha256(joined.encode('utf-8', 'surrogateescape')).hexdigest()


def mac_prefix_rules(prefix):
    """Why prefix cannot start derived MACs: two octets, unicast and locally administered (empty list when it can)."""
    octets = str(prefix).lower().replace('-', ':').split(':')
    if len(octets) != 2 or not all(re.fullmatch('[0-9a-f]{2}', octet) for octet in octets):
        return ['must be two octets such as 02:00']
    first = int(octets[0], 16)
    if first & 0x01 or not first & 0x02:
        return ['must be unicast and locally administered (second hex digit 2, 6, a or e)']
    return []


def _prefix_octets(prefix):
    for rule in mac_prefix_rules(prefix):
        raise ValueError("mac prefix '%s' %s" % (prefix, rule))
    return prefix.lower().replace('-', ':').split(':')


def first_ipv4(ip):
    """The first IPv4 address in ip (a string, space-separated string or list; CIDRs allowed), or None."""
    entries = ip.split() if isinstance(ip, str) else list(ip or ())
    for entry in entries:
        interface = parse_interface(entry)
        if interface is not None and interface.version == 4:
            return interface.ip
    return None


def mac_from_ip(ip, prefix=DEFAULT_MAC_PREFIX):
    """prefix (2 octets, locally administered) followed by the first IPv4 address in hex.

    '10.0.0.5' -> '02:00:0a:00:00:05'. Unique wherever the IPv4 addresses
    are unique, and readable back into the address.
    """
    octets = _prefix_octets(prefix)
    address = first_ipv4(ip)
    if address is None:
        raise ValueError("ip '%s' holds no IPv4 address to derive a MAC from" % (ip,))
    return ':'.join(octets + ['%02x' % byte for byte in address.packed])


def mac_from_name(guest, devid):
    """A MAC under Xen's 00:16:3e from a hash of guest name and device index.

    For vifs without an IPv4 address. Three hashed octets can collide
    (as random ones can); the fleet conflict check reports it when they do.
    """
    if not guest:
        raise ValueError('a guest name is needed to derive a MAC')
    digest = _digest('mac', guest, int(devid))
    return XEN_OUI + ':' + ':'.join(digest[index:index + 2] for index in (0, 2, 4))


def mac_auto(guest, devid, ip=None, prefix=DEFAULT_MAC_PREFIX):
    """The default scheme: from the first IPv4 address when there is one, else from the name."""
    if ip and first_ipv4(ip) is not None:
        return mac_from_ip(ip, prefix)
    return mac_from_name(guest, devid)


def vifname_auto(guest, devid, max_len=None, taken=(), emulated=False):
    """A vif name from guest name and device index: `web-0`, or `wiki.xen_3fa2-0` when that is too long.

    max_len defaults to 15, or 11 for a vif with an emulated NIC (its tap
    device adds `-emu`). The short hash keeps shortened names of different
    guests apart; a name in `taken` (the dom0's other vif names) is passed
    over for the next hash, so the result never collides there.
    """
    devid = int(devid)
    if max_len is None:
        max_len = EMULATED_IFNAME_MAX if emulated else IFNAME_MAX
    taken = set(taken)
    suffix = '-%d' % devid
    if not guest:
        raise ValueError('a guest name is needed to derive a vifname')
    if max_len < len(suffix) + _HASH_LENGTH + 2:
        raise ValueError('vifname length %d leaves no room for a name; use at least %d' % (max_len, len(suffix) + _HASH_LENGTH + 2))

    def free(name):
        return name not in taken and not (emulated and name + EMU_SUFFIX in taken)

    plain = guest + suffix
    # A guest name holding a character an interface name may not hold forces the hash form.
    if not IFNAME_FORBIDDEN.search(guest) and len(plain) <= max_len and free(plain):
        return plain
    stem = IFNAME_FORBIDDEN.sub('', guest)[:max_len - len(suffix) - _HASH_LENGTH - 1]
    attempt = 0
    while True:
        candidate = '%s_%s%s' % (stem, _digest('vifname', guest, devid, attempt)[:_HASH_LENGTH], suffix)
        if free(candidate):
            return candidate
        attempt += 1
