# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What xen_route needs to know about the host, read once before planning.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, NetlinkError
from ansible_collections.xenfleet.network.plugins.module_utils.route.kernel import ROUTE_PROTOCOL, RT_TABLE_MAIN


class RouteView:
    """The uplink and its main addresses, the listed vifs that exist, this module's routes, proxy entries, sysctls."""

    def __init__(self):
        self.uplink = None
        self.main_ip = None
        self.main_ip6 = None
        self.uplink_addresses = set()
        self.vifs = {}           # vif name -> Link, for the listed vifs that exist
        self.vif_addresses = {}  # vif name -> ['192.0.2.10/32', ...] (IPv4, as the kernel lists them)
        self.vif_routes = {}     # vif name -> other IPv4 routes through it (common.netlink Route)
        self.others = {}         # (family, destination, vif name) -> a main-table route through it someone else made
        self.own_routes = []
        self.proxies = set()     # IPv6 addresses the uplink answers for, of those asked about
        self.sysctls = {}
        self.sysctl_file = None
        self.hook_file = None
        self.hook_executable = False
        self.ipv6_data_file = None


def read_view(spec, net, sysctls, sysctl_keys, proxy_candidates):
    """The host as it is now. sysctl_keys(view) and proxy_candidates(view) say what else to read once the links are known."""
    view = RouteView()
    view.uplink = net.link(spec.uplink)
    if view.uplink is not None:
        addresses = net.addresses(view.uplink.index)
        view.uplink_addresses = set(address.address for address in addresses)
        view.main_ip = next((address.address for address in addresses if address.family == AF_INET), None)
        view.main_ip6 = next((address.address for address in addresses if address.family == AF_INET6), None)
    for entry in spec.routes:
        link = net.link(entry.vif)
        if link is not None:
            view.vifs[entry.vif] = link
            view.vif_addresses[entry.vif] = ['%s/%d' % (address.address, address.prefixlen)
                                             for address in net.addresses(link.index) if address.family == AF_INET]
            others = [route for route in net.routes(link.index) if route.proto != ROUTE_PROTOCOL]
            view.vif_routes[entry.vif] = [route for route in others if route.family == AF_INET]
            for route in others:
                if route.table == RT_TABLE_MAIN:
                    view.others.setdefault((route.family, route.dst, entry.vif), route)
    view.own_routes = net.own_routes()
    if view.uplink is not None:
        view.proxies = set(address for address in proxy_candidates(view) if net.has_proxy(address, spec.uplink))
    view.sysctls = dict((key, sysctls.read(key)) for key in sysctl_keys(view))
    if spec.persist:
        view.sysctl_file = read_sysctl_file(spec.sysctl_path)
        view.hook_file = read_sysctl_file(spec.hook_path, 'hook_path')
        view.hook_executable = view.hook_file is not None and os.access(spec.hook_path, os.X_OK)
        view.ipv6_data_file = read_sysctl_file(spec.ipv6_data_path, 'ipv6_data_path')
    return view


def read_sysctl_file(path, option='sysctl_path'):
    """The file's bytes, or None when there is none (also when a parent is not a directory: then the write fails)."""
    try:
        return read_bytes(path)
    except (IOError, OSError) as error:
        if error.errno == errno.ENOTDIR:
            return None
        raise NetlinkError('%s %s cannot be read: %s' % (option, path, error.strerror or error))
