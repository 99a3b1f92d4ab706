# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dom0's network as it is now: bridges, their ports and addresses, the default route's device.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import describe_bridge
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, Netlink, address_cidr
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import EMU_SUFFIX

# How Xen names a vif's dom0 device when the vif line gives no vifname (and the emulated NIC's tap).
XEN_DEVICE_RE = re.compile(r'^(vif|tap)[0-9]+\.[0-9]+(-emu)?$')


class Dom0Netlink(Netlink):
    """Netlink with the two whole-host questions adoption asks."""

    def links(self):
        return [self._link_from_message(message) for message in self._request('list links', self.ipr.get_links)]

    def default_route_devices(self):
        """Index of the device of each default route in the main table, IPv4 first."""
        found = []
        for family in (AF_INET, AF_INET6):
            for message in self._request('list the routes', self.ipr.get_routes, family=family):
                table = message.get_attr('RTA_TABLE') or message['table']
                if message['dst_len'] == 0 and table == 254 and message.get_attr('RTA_OIF'):
                    found.append(message.get_attr('RTA_OIF'))
        return found


def is_vif_device(name, vifnames):
    return name in vifnames or bool(XEN_DEVICE_RE.match(name)) or (name.endswith(EMU_SUFFIX) and name[:-len(EMU_SUFFIX)] in vifnames)


def read_network(net, vifnames):
    """Bridges (as xen_bridge describes them, plus their physical ports and vifs) and the default route's device.

    vifnames: the device names the guests' configs give their vifs; a bridge
    port that is none of them and not named like Xen's devices is physical.
    """
    links = net.links()
    by_index = dict((link.index, link) for link in links)
    bridges = []
    for link in sorted((link for link in links if link.kind == 'bridge'), key=lambda link: link.name):
        ports = net.ports(link.index)
        entry = describe_bridge(link.name, True, link.bridge, link.mac, link.mtu, ports, net.addresses(link.index),
                                net.routes(link.index))
        entry['up'] = link.up
        entry['vifs'] = [port for port in ports if is_vif_device(port, vifnames)]
        entry['physical_ports'] = [port for port in ports if port not in entry['vifs']]
        bridges.append(entry)
    default_devices = []
    for index in net.default_route_devices():
        if index in by_index and by_index[index].name not in default_devices:
            default_devices.append(by_index[index].name)
    masters = dict((link.name, by_index[link.master].name) for link in links if link.master in by_index)
    by_name = dict((link.name, link) for link in links)
    addresses = dict((name, [address_cidr(address) for address in net.addresses(by_name[name].index)]) for name in default_devices)
    return dict(bridges=bridges, default_route_devices=default_devices, masters=masters, addresses=addresses,
                links=sorted(link.name for link in links))


def read_forwarding(read_text):
    """Whether dom0 forwards IPv4 (and IPv6), from /proc/sys of its network namespace; None when unknown."""
    result = {}
    for family, path in (('ipv4', '/proc/sys/net/ipv4/ip_forward'), ('ipv6', '/proc/sys/net/ipv6/conf/all/forwarding')):
        text = read_text(path)
        result[family] = None if text is None else text.strip() == '1'
    return result
