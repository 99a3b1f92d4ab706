# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a valid xen_nat spec still cannot do on this host: missing interfaces, no gateway, clashes.

Private to the collection: may change without notice.

Checked before anything changes, and reported together like the spec's own
problems: the bridge and uplink must exist, the gateway is the bridge's
address in the subnet unless `gateway` is given, the subnet must not overlap
the uplink's networks or another instance's subnet, a bridge carries one
instance, and a port is forwarded once per public address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress


def resolve_gateway(spec, bridge_addresses):
    """(gateway, problem): the given gateway, else the bridge's first host address in the subnet."""
    if spec.gateway is not None:
        return spec.gateway, None
    for interface in bridge_addresses:
        if interface.ip in spec.subnet and interface.ip not in (spec.subnet.network_address, spec.subnet.broadcast_address):
            return interface.ip, None
    return None, ("bridge '%s' has no IPv4 address in subnet %s; set gateway, or give the bridge one with "
                  "xenfleet.network.xen_bridge addresses" % (spec.bridge, spec.subnet))


def shares_public_address(spec, other):
    """Two instances on one uplink clash on a port unless each forwards from its own snat_to address."""
    if spec.uplink != other.get('uplink'):
        return False
    mine = str(spec.snat_to) if spec.snat_to is not None else None
    theirs = other.get('snat_to')
    return mine is None or theirs is None or mine == theirs


def instance_conflicts(spec, others):
    found = []
    for other in others:
        name = other.get('name')
        subnet = ipaddress.IPv4Network(other['subnet']) if other.get('subnet') else None
        if subnet is not None and subnet.overlaps(spec.subnet):
            found.append("subnet '%s' overlaps subnet %s of xen_nat instance '%s'" % (spec.subnet, subnet, name))
        if other.get('bridge') == spec.bridge:
            found.append("bridge '%s' already carries xen_nat instance '%s'" % (spec.bridge, name))
        if not shares_public_address(spec, other):
            continue
        taken = set(other.get('port_forwards') or [])
        for index, forward in enumerate(spec.port_forwards):
            if forward.key in taken:
                found.append("port_forwards[%d] '%s' is already forwarded by xen_nat instance '%s' on uplink %s"
                             % (index, forward.key, name, spec.uplink))
    return found


def host_problems(spec, view):
    """(problems, gateway) for state=present; gateway is None when it cannot be known."""
    found = []
    gateway = None
    if view.bridge is None:
        found.append("bridge '%s' does not exist on this host; create it first with xenfleet.network.xen_bridge" % spec.bridge)
    else:
        gateway, problem = resolve_gateway(spec, view.bridge_addresses)
        found.append(problem)
        if gateway is not None and spec.gateway is None:
            found.extend(spec.gateway_problems(gateway))
    if view.uplink is None:
        found.append("uplink '%s' does not exist on this host" % spec.uplink)
    for interface in view.uplink_addresses:
        if interface.network.overlaps(spec.subnet):
            found.append("subnet '%s' overlaps %s on uplink %s" % (spec.subnet, interface, spec.uplink))
    found.extend(instance_conflicts(spec, view.others))
    return [problem for problem in found if problem], gateway
