# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.filter.guest_network import antispoof_vifs, dhcp_hosts

GUESTS = [
    {'name': 'web', 'vifs': [
        {'devid': 0, 'mac': '02:00:c0:00:02:15', 'bridge': 'xenbr0', 'ip': ['192.0.2.21', '2001:db8:1::21'], 'vifname': 'web-0'},
        {'devid': 1, 'mac': '02:00:0a:00:01:05', 'bridge': 'xenbr1', 'ip': ['10.0.1.5/32'], 'vifname': 'web-1'}]},
    {'name': 'db', 'vifs': [{'devid': 0, 'mac': '02:00:0a:00:01:06', 'bridge': 'xenbr1', 'ip': ['10.0.1.6']}]},
]


def test_every_named_vif_gets_its_own_mac_and_addresses():
    assert antispoof_vifs(GUESTS) == [
        {'name': 'web-0', 'mac': ['02:00:c0:00:02:15'], 'ipv4': ['192.0.2.21'], 'ipv6': ['2001:db8:1::21']},
        {'name': 'web-1', 'mac': ['02:00:0a:00:01:05'], 'ipv4': ['10.0.1.5'], 'ipv6': []},
    ]


def test_a_vif_without_a_stable_name_gets_no_policy():
    assert 'db' not in [policy['name'] for policy in antispoof_vifs(GUESTS)]


def test_policies_can_be_limited_to_some_bridges():
    assert [policy['name'] for policy in antispoof_vifs(GUESTS, bridges=['xenbr1'])] == ['web-1']


def test_leases_are_the_vifs_on_the_bridge_with_devid_in_the_hostname():
    assert dhcp_hosts(GUESTS, 'xenbr1') == [
        {'mac': '02:00:0a:00:01:05', 'ip': '10.0.1.5', 'hostname': 'web-1'},
        {'mac': '02:00:0a:00:01:06', 'ip': '10.0.1.6', 'hostname': 'db'},
    ]


def test_wrong_input_names_the_filter():
    with pytest.raises(AnsibleFilterError, match='antispoof_vifs: expects the list of guests'):
        antispoof_vifs({'guests': []})
