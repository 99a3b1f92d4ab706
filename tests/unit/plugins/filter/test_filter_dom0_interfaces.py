# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.filter.dom0_interfaces import dom0_interfaces


def test_bridge_ports_are_dom0s_own():
    # the real-Xen lane's upstream veth: without it the replies to NAT and to dom0 were dropped
    bridges = [{'name': 'xenbr0', 'uplink': 'eth0', 'ports': ['up0']}, {'name': 'xenbr1', 'addresses': ['10.0.1.1/24']}]
    assert dom0_interfaces(bridges) == ['xenbr0', 'eth0', 'up0', 'xenbr1']


def test_nat_networks_uplink_and_extra_each_once_extra_first():
    bridges = [{'name': 'xenbr0', 'uplink': 'eth0'}]
    networks = [{'name': 'guests', 'bridge': 'xenbr1', 'uplink': 'xenbr0'}]
    assert dom0_interfaces(bridges, networks, 'eth0', ['wg0', 'eth0']) == ['wg0', 'eth0', 'xenbr0', 'xenbr1']


def test_nothing_declared_is_nothing():
    assert dom0_interfaces([], None, None, None) == []


@pytest.mark.parametrize('bridges, networks, field', [
    ('xenbr0', [], 'bridges'),
    (['xenbr0'], [], r'bridges\[0\]'),
    ([], {'bridge': 'xenbr1'}, 'networks'),
])
def test_malformed_input_names_the_field(bridges, networks, field):
    with pytest.raises(AnsibleFilterError, match=field):
        dom0_interfaces(bridges, networks)
