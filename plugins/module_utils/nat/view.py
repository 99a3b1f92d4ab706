# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything xen_nat needs to know about the host, read once before planning.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import SysctlError, SysctlRecord, Sysctls
from ansible_collections.xenfleet.network.plugins.module_utils.nat.forwarding import (
    concerned, load_ledger, read_forwarding, take_over_ledger)
from ansible_collections.xenfleet.network.plugins.module_utils.nat.nft import FAMILY, normalize_listing, table_name
from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import (
    NatStateError, json_text, load_json_state, load_record, other_records, read_state_file, strings)
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import interface_name_problems

FORWARDING_VALUES = ('0', '1', None)  # what /proc/sys/net/ipv4/conf/<if>/forwarding holds, None: no such interface


class NatView:
    """The host as it is: links and addresses, our table, our files, forwarding flags, dnsmasq's pid."""

    def __init__(self):
        self.bridge_name = None
        self.uplink_name = None
        self.bridge = None
        self.bridge_addresses = []
        self.uplink = None
        self.uplink_addresses = []
        self.record = {}
        self.others = []
        self.ledger = {}
        self.sysctl_record = None
        self.other_sysctls = {}  # settings of xen_route's whose put-back a killed run left undone
        self.forwarding = {}
        self.nft_listing = None
        self.nft_text = ''
        self.files = {}
        self.dnsmasq_pid = None

    def has_address(self, interface):
        return any(known == interface for known in self.bridge_addresses)


def ipv4_interfaces(net, link):
    if link is None:
        return []
    return [ipaddress.IPv4Interface('%s/%d' % (address.address, address.prefixlen))
            for address in net.addresses(link.index) if address.family == AF_INET]


def read_ledger(data, path):
    """The forwarding ledger, checked for the shape the planner relies on: its keys become /proc paths, its
    "original" values are written back there."""
    load_json_state(data, path, {})
    ledger = load_ledger(data)
    if not isinstance(ledger, dict) or not all(isinstance(entry, dict) and strings(entry.get('instances'))
                                               and entry.get('original') in FORWARDING_VALUES for entry in ledger.values()):
        raise NatStateError('reading %s: "interfaces" is not a map of interfaces to {"original": "0", "1" or null, '
                            '"instances": [names]}: %s; xen_nat did not write this' % (path, json_text(ledger)))
    problems = [problem for ifname in ledger for problem in interface_name_problems('interface', ifname)]
    if problems:
        raise NatStateError('reading %s: %s; xen_nat did not write this' % (path, '; '.join(problems)))
    return ledger


def read_view(spec, paths, net, nft, service, read_value=read_forwarding):
    """The host as it is now; for state=absent the bridge and uplink default to those the record names."""
    view = NatView()
    view.files = dict((path, read_state_file(path)) for path in [paths.config, paths.leases, paths.pid, paths.record, paths.ledger, paths.boot_table]
                      + [path for path, dummy in service.files()])
    view.record = load_record(view.files[paths.record], paths.record)
    recorded = view.record.get('summary') or {}
    view.bridge_name = spec.bridge or recorded.get('bridge')
    view.uplink_name = spec.uplink or recorded.get('uplink')
    if view.bridge_name:
        view.bridge = net.link(view.bridge_name)
        view.bridge_addresses = ipv4_interfaces(net, view.bridge)
    if view.uplink_name:
        view.uplink = net.link(view.uplink_name)
        view.uplink_addresses = ipv4_interfaces(net, view.uplink)
    view.others = other_records(spec.state_dir, spec.name)
    view.ledger = read_ledger(view.files[paths.ledger], paths.ledger)
    try:
        view.sysctl_record = SysctlRecord.read()
    except SysctlError as error:
        raise NatStateError(str(error))
    take_over_ledger(view.sysctl_record, view.ledger)
    claimed, others = concerned(view.sysctl_record, spec.name)
    view.other_sysctls = dict((key, Sysctls().read(key)) for key in others)
    for ifname in set([view.bridge_name, view.uplink_name] + claimed):
        if ifname:
            view.forwarding[ifname] = read_value(ifname)
    table = table_name(spec.name)
    view.nft_listing = normalize_listing(nft.table_json(FAMILY, table), 'nft -j list table %s %s' % (FAMILY, table))
    view.nft_text = nft.table_text(FAMILY, table) if view.nft_listing is not None else ''
    view.dnsmasq_pid = service.running_pid()
    return view
