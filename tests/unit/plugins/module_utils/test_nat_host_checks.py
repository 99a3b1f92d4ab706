# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.xenfleet.network.plugins.module_utils.nat.host_checks import host_problems
from ansible_collections.xenfleet.network.plugins.module_utils.nat.view import NatView
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import nat_spec as spec


def view(bridge=('10.0.1.1/24',), uplink=('192.0.2.10/24',), others=()):
    found = NatView()
    found.bridge = object() if bridge is not None else None
    found.bridge_addresses = [ipaddress.IPv4Interface(cidr) for cidr in bridge or ()]
    found.uplink = object() if uplink is not None else None
    found.uplink_addresses = [ipaddress.IPv4Interface(cidr) for cidr in uplink or ()]
    found.others = list(others)
    return found


def other(**summary):
    summary.setdefault('name', 'other')
    summary.setdefault('bridge', 'xenbr2')
    summary.setdefault('uplink', 'eth0')
    summary.setdefault('subnet', '10.0.2.0/24')
    summary.setdefault('snat_to', None)
    summary.setdefault('port_forwards', [])
    return summary


def test_the_gateway_is_the_bridge_address_in_the_subnet():
    assert host_problems(spec(), view(bridge=('172.16.0.1/24', '10.0.1.1/24'))) == ([], ipaddress.IPv4Address('10.0.1.1'))


def test_a_given_gateway_wins_over_the_bridge():
    assert host_problems(spec(gateway='10.0.1.254'), view())[1] == ipaddress.IPv4Address('10.0.1.254')


def test_no_gateway_anywhere_says_what_to_do():
    problems, gateway = host_problems(spec(), view(bridge=()))
    assert gateway is None
    assert problems == ["bridge 'xenbr1' has no IPv4 address in subnet 10.0.1.0/24; set gateway, or give the bridge one with "
                        "xenfleet.network.xen_bridge addresses"]


def test_a_gateway_read_from_the_bridge_is_checked_against_ranges_and_leases():
    problems, dummy = host_problems(spec(dhcp=dict(range_start='10.0.1.1', range_end='10.0.1.9')), view())
    assert problems == ["dhcp range '10.0.1.1-10.0.1.9' contains the gateway 10.0.1.1"]


def test_missing_interfaces():
    assert host_problems(spec(), view(bridge=None, uplink=None))[0] == [
        "bridge 'xenbr1' does not exist on this host; create it first with xenfleet.network.xen_bridge",
        "uplink 'eth0' does not exist on this host"]


def test_subnet_overlapping_the_uplink_network():
    assert host_problems(spec(subnet='192.0.2.0/25', gateway='192.0.2.1'), view(bridge=()))[0] == [
        "subnet '192.0.2.0/25' overlaps 192.0.2.10/24 on uplink eth0"]


def test_overlapping_subnets_between_instances():
    assert host_problems(spec(), view(others=[other(name='wide', subnet='10.0.0.0/16')]))[0] == [
        "subnet '10.0.1.0/24' overlaps subnet 10.0.0.0/16 of xen_nat instance 'wide'"]


def test_one_bridge_one_instance():
    assert host_problems(spec(), view(others=[other(bridge='xenbr1')]))[0] == ["bridge 'xenbr1' already carries xen_nat instance 'other'"]


def test_a_port_already_forwarded_by_another_instance_on_the_same_public_address():
    forwards = [dict(port=8080, to_ip='10.0.1.5')]
    taken = other(port_forwards=['tcp/8080'])
    assert host_problems(spec(port_forwards=forwards), view(others=[taken]))[0] == [
        "port_forwards[0] 'tcp/8080' is already forwarded by xen_nat instance 'other' on uplink eth0"]
    assert host_problems(spec(port_forwards=forwards, snat_to='192.0.2.20'), view(others=[taken]))[0] != []


def test_the_same_port_on_different_public_addresses_or_uplinks_is_fine():
    forwards = [dict(port=8080, to_ip='10.0.1.5')]
    assert host_problems(spec(port_forwards=forwards, snat_to='192.0.2.20'),
                         view(others=[other(port_forwards=['tcp/8080'], snat_to='192.0.2.21')]))[0] == []
    assert host_problems(spec(port_forwards=forwards), view(others=[other(port_forwards=['tcp/8080'], uplink='eth1')]))[0] == []
