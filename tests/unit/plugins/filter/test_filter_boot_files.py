# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.filter.boot_files import forwarding_sysctl, with_nat_gateways


def keys(text):
    return [line for line in text.splitlines() if not line.startswith('#')]


def test_each_present_networks_bridge_and_uplink_once():
    text = forwarding_sysctl([{'bridge': 'xenbr1', 'uplink': 'eth0'}, {'bridge': 'xenbr2', 'uplink': 'eth0'},
                              {'bridge': 'xenbr3', 'uplink': 'eth0', 'state': 'absent'},
                              {'bridge': 'xenbr4', 'uplink': 'eth1', 'ip_forward': False}])
    assert keys(text) == ['net/ipv4/conf/xenbr1/forwarding = 1', 'net/ipv4/conf/eth0/forwarding = 1',
                          'net/ipv4/conf/xenbr2/forwarding = 1']


def test_a_dotted_name_keeps_its_dots():
    assert keys(forwarding_sysctl([{'bridge': 'br.10', 'uplink': 'eth0.10'}])) == [
        'net/ipv4/conf/br.10/forwarding = 1', 'net/ipv4/conf/eth0.10/forwarding = 1']


def test_nothing_to_forward_is_an_empty_file():
    assert forwarding_sysctl([]) == ''


@pytest.mark.parametrize('name', ['eth0\nkernel.sysrq = 1', 'a/b', '../x', 'x' * 16, ''])
def test_a_hostile_name_is_refused_naming_the_field(name):
    with pytest.raises(AnsibleFilterError, match=r'networks\[0\]\.bridge'):
        forwarding_sysctl([{'bridge': name, 'uplink': 'eth0'}])


def test_not_a_list_is_refused():
    with pytest.raises(AnsibleFilterError, match='expects a list'):
        forwarding_sysctl({'bridge': 'xenbr1'})


NETWORKS = [{'name': 'priv', 'bridge': 'xenbr1', 'subnet': '10.0.0.0/16', 'gateway': '10.0.0.1'},
            {'name': 'gone', 'bridge': 'xenbr2', 'subnet': '10.2.0.0/24', 'gateway': '10.2.0.1', 'state': 'absent'}]


def test_a_guest_bridge_of_a_nat_network_gets_its_gateway():
    bridges = [{'name': 'xenbr0', 'uplink': 'eth0'}, {'name': 'xenbr1'}, {'name': 'xenbr2'}]
    assert with_nat_gateways(bridges, NETWORKS) == [{'name': 'xenbr0', 'uplink': 'eth0'},
                                                    {'name': 'xenbr1', 'addresses': ['10.0.0.1/16']}, {'name': 'xenbr2'}]


def test_a_bridge_with_addresses_of_its_own_or_an_uplink_is_left_alone():
    bridges = [{'name': 'xenbr1', 'addresses': ['10.0.0.254/16']}]
    assert with_nat_gateways(bridges, NETWORKS) == bridges
    assert with_nat_gateways([{'name': 'xenbr1', 'uplink': 'eth1'}], NETWORKS) == [{'name': 'xenbr1', 'uplink': 'eth1'}]
    assert with_nat_gateways([{'name': 'xenbr1'}], [{'bridge': 'xenbr1', 'subnet': '10.0.0.0/16'}]) == [{'name': 'xenbr1'}]


def test_a_bad_gateway_names_the_network():
    with pytest.raises(AnsibleFilterError, match=r'networks\[0\]'):
        with_nat_gateways([{'name': 'xenbr1'}], [{'bridge': 'xenbr1', 'subnet': '10.0.0.0/16', 'gateway': '10.0.0.x'}])
