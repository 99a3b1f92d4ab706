# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the host has now for one bridge: the bridge, its uplink and ports.

A HostView is read once over netlink, then only compared: the planner and
the diff work on it without touching the kernel again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET6, address_cidr, route_label


class HostView:
    """A snapshot; links are None when absent."""

    def __init__(self, bridge=None, bridge_ports=None, bridge_addresses=None, bridge_routes=None,
                 uplink=None, uplink_addresses=None, uplink_routes=None, port_links=None, persisted=None,
                 unplaced_nexthop_routes=None):
        self.bridge = bridge
        self.bridge_ports = bridge_ports or []
        self.bridge_addresses = bridge_addresses or []
        self.bridge_routes = bridge_routes or []
        self.uplink = uplink
        self.uplink_addresses = uplink_addresses or []
        self.uplink_routes = uplink_routes or []
        self.port_links = port_links or {}
        self.persisted = persisted
        # routes through a nexthop object on a link the kernel does not name (labels)
        self.unplaced_nexthop_routes = unplaced_nexthop_routes or []


def read_host_view(net, spec, read_file):
    """Read everything the planner needs for spec from the kernel and the disk."""
    view = HostView()
    view.bridge = net.link(spec.name)
    if view.bridge is not None:
        view.bridge_ports = net.ports(view.bridge.index)
        view.bridge_addresses = net.addresses(view.bridge.index)
        view.bridge_routes = net.routes(view.bridge.index)
    if spec.uplink:
        view.uplink = net.link(spec.uplink)
        if view.uplink is not None:
            view.uplink_addresses = net.addresses(view.uplink.index)
            view.uplink_routes = net.routes(view.uplink.index)
            view.unplaced_nexthop_routes = net.unplaced_nexthop_routes()
    view.port_links = dict((port, net.link(port)) for port in spec.ports)
    if spec.persist != 'none' or spec.state == 'absent':
        view.persisted = read_file(spec.persist_path)
    return view


def autoconfigured(address):
    """An IPv6 address with a lifetime (SLAAC from a router advertisement, or DHCPv6): the kernel's, not ours.

    Moved by hand it would come back permanent (added without a lifetime), and
    the next run would persist it as static. The bridge learns its own from the
    next advertisement, as it relearns the advertised routes.
    """
    return address.family == AF_INET6 and not address.permanent


def same_address(first, second):
    return (first.family, first.address, first.prefixlen) == (second.family, second.address, second.prefixlen)


def contains_address(addresses, wanted):
    return any(same_address(address, wanted) for address in addresses)


def describe_bridge(name, present, options=None, mac=None, mtu=None, ports=None, addresses=None, routes=None):
    """The user-facing picture of a bridge, as shown in diffs and results."""
    if not present:
        return {'name': name, 'present': False}
    options = options or {}
    return {
        'name': name,
        'present': True,
        'stp': bool(options.get('stp')),
        'forward_delay': (options.get('forward_delay') or 0) / 100.0,
        'nf_call_iptables': bool(options.get('nf_call_iptables')),
        'mac': mac,
        'mtu': mtu,
        'ports': sorted(ports or []),
        'addresses': [address_cidr(address) for address in addresses or []],
        'routes': [route_label(route, name) for route in routes or []],
    }


def describe_uplink(name, link, addresses, routes, master_name):
    if name is None:
        return None
    if link is None:
        return {'name': name, 'present': False}
    return {
        'name': name,
        'present': True,
        'mac': link.mac,
        'master': master_name,
        'addresses': [address_cidr(address) for address in addresses],
        'routes': [route_label(route, name) for route in routes],
    }
