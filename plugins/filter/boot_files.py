# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that render the roles' boot-time files from the inventory's data.

Documentation: one <filter>.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import interface_name_problems

FORWARDING_HEADER = ('# Written by xenfleet.network: dom0 forwards IPv4 between these interfaces only.\n'
                     '# systemd-udevd applies each line when its interface appears at boot.\n')


def forwarding_sysctl(networks):
    """The sysctl.d text turning IPv4 forwarding on for each present network's bridge and uplink ('' for none).

    Keys are written with '/' separators: an interface name may hold dots (vif1.0), which the dotted form would
    read as separators.
    """
    if not isinstance(networks, list):
        raise AnsibleFilterError('forwarding_sysctl: expects a list of xen_nat networks, got %s' % type(networks).__name__)
    interfaces = []
    for index, network in enumerate(networks):
        if not isinstance(network, dict):
            raise AnsibleFilterError('forwarding_sysctl: network %d is a %s, not a mapping' % (index, type(network).__name__))
        if network.get('state', 'present') != 'present' or network.get('ip_forward', True) is False:
            continue
        for field in ('bridge', 'uplink'):
            name = network.get(field)
            if name is None:
                continue
            problems = interface_name_problems('networks[%d].%s' % (index, field), name)
            if problems:
                raise AnsibleFilterError('forwarding_sysctl: %s' % '; '.join(problems))
            if name not in interfaces:
                interfaces.append(name)
    if not interfaces:
        return ''
    return FORWARDING_HEADER + ''.join('net/ipv4/conf/%s/forwarding = 1\n' % name for name in interfaces)


def with_nat_gateways(bridges, networks):
    """The bridges, each guest bridge without its own addresses given the gateway of the NAT network on it.

    xen_nat adds a gateway the bridge lacks at run time only; given to xen_bridge instead, the address is in the
    bridge's boot stanza from the first run on (else it arrives in the stanza one run late, and is gone at a
    reboot in between).
    """
    if not isinstance(bridges, list) or not isinstance(networks, list):
        raise AnsibleFilterError('with_nat_gateways: expects the list of bridges and the list of NAT networks')
    gateways = {}
    for index, network in enumerate(networks):
        if not isinstance(network, dict) or network.get('state', 'present') != 'present' or not network.get('gateway'):
            continue
        try:
            subnet = ipaddress.ip_network(str(network.get('subnet')), strict=False)
            gateway = ipaddress.ip_address(str(network['gateway']))
        except ValueError as error:
            raise AnsibleFilterError('with_nat_gateways: networks[%d]: %s' % (index, error))
        gateways.setdefault(network.get('bridge'), '%s/%d' % (gateway, subnet.prefixlen))
    result = []
    for bridge in bridges:
        if isinstance(bridge, dict) and 'addresses' not in bridge and 'uplink' not in bridge and bridge.get('name') in gateways:
            bridge = dict(bridge, addresses=[gateways[bridge['name']]])
        result.append(bridge)
    return result


class FilterModule(object):

    def filters(self):
        return {'forwarding_sysctl': forwarding_sysctl, 'with_nat_gateways': with_nat_gateways}
