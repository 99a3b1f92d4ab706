# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The addressing scheme of Xen's vif-nat hotplug script, for users migrating from it.

Private to the collection: may change without notice.

vif-nat gives the vif with device index DEVID of domain DOMID the address
10.<DOMID/256>.<DOMID%256>.<DEVID+1> (netmask /16), its router the same
address plus 127 in the last octet, and the host name `dom<DOMID>`, or
`dom<DOMID>-<DEVID+1>` for every vif but the first.

xen_nat keeps the addresses and names; the router is the network's gateway,
since its guests share one bridge instead of one routed vif each.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

# Xen's DOMID_FIRST_RESERVED is 0x7FF0; domain 0 is dom0 itself.
DOMID_RANGE = (1, 0x7FEF)
# vif-nat's router sits 127 above the vif's address in the same octet.
DEVID_RANGE = (0, 127)
ROUTER_OFFSET = 127


def domid_problem(field, domid):
    """Why domid cannot be a guest's domain id, or None."""
    low, high = DOMID_RANGE
    if domid == 0:
        return "%s '0' is dom0's; guests have domids %d to %d" % (field, low, high)
    if not low <= domid <= high:
        return "%s '%s' is not a guest domid; Xen uses %d to %d" % (field, domid, low, high)
    return None


def devid_problem(field, devid):
    low, high = DEVID_RANGE
    if not low <= devid <= high:
        return "%s '%s' must be between %d and %d (vif-nat puts the router %d above the address)" % (
            field, devid, low, high, ROUTER_OFFSET)
    return None


def vif_nat_address(domid, devid=0):
    """The guest's address under vif-nat: 10.<domid/256>.<domid%256>.<devid+1>."""
    return ipaddress.IPv4Address('10.%d.%d.%d' % (domid // 256, domid % 256, devid + 1))


def vif_nat_hostname(domid, devid=0):
    """`dom5` for a domain's first vif, `dom5-2` for its second, as vif-nat names them."""
    if devid == 0:
        return 'dom%d' % domid
    return 'dom%d-%d' % (domid, devid + 1)
