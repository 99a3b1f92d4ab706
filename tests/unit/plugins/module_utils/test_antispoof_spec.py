# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils._antispoof_spec import link_local_from_mac

from antispoof_testing import problems, spec, vif


def test_link_local_address_is_the_modified_eui64_of_the_mac():
    assert link_local_from_mac('02:00:c0:00:02:15') == 'fe80::c0ff:fe00:215'
    assert link_local_from_mac('00:16:3e:12:34:56') == 'fe80::216:3eff:fe12:3456'


def test_addresses_split_into_hosts_and_networks_with_the_link_local_address_added():
    policy = spec([vif(ipv4=['192.0.2.21', '10.1.0.0/24'], ipv6=['2001:db8:5::/64'])]).vifs[0]
    assert policy.hosts(4) == ['192.0.2.21']
    assert policy.nets(4) == ['10.1.0.0/24']
    assert policy.hosts(6) == ['fe80::c0ff:fe00:215']
    assert policy.nets(6) == ['2001:db8:5::/64']


def test_link_local_address_can_be_turned_off():
    assert spec([vif(ipv6_link_local=False)]).vifs[0].hosts(6) == ['2001:db8:1::21']


def test_an_address_inside_a_network_of_the_same_vif_is_folded_into_it():
    assert spec([vif(ipv4=['10.1.0.7', '10.1.0.0/24'])]).vifs[0].nets(4) == ['10.1.0.0/24']
    assert spec([vif(ipv4=['10.1.0.7', '10.1.0.0/24'])]).vifs[0].hosts(4) == []


def test_ethertypes_are_numbers_and_names_have_aliases():
    assert spec([vif(ethertypes=['ip', 'ARP', 'ip6', '0x88B5', '8021q'])]).vifs[0].ethertypes == [0x0800, 0x0806, 0x8100, 0x86dd, 0x88b5]


def test_a_network_with_host_bits_names_both_readings():
    assert problems([vif(ipv4=['192.0.2.21/24'])]) == [
        "vifs[0].ipv4 '192.0.2.21/24' has host bits set; write 192.0.2.21 for one address or 192.0.2.0/24 for the network"]


@pytest.mark.parametrize('field, value, rule', [
    ('ipv4', 'ten.0.0.1', "vifs[0].ipv4 'ten.0.0.1' is not an IPv4 address or network"),
    ('ipv4', '2001:db8::1', "vifs[0].ipv4 '2001:db8::1' is an IPv6 address; this list takes IPv4"),
    ('ipv6', '192.0.2.1', "vifs[0].ipv6 '192.0.2.1' is an IPv4 address; this list takes IPv6"),
    ('ipv4', '224.0.0.1', "vifs[0].ipv4 '224.0.0.1' is a multicast, loopback, broadcast or unspecified address; a guest cannot own it"),
    ('ipv4', '0.0.0.0', "vifs[0].ipv4 '0.0.0.0' is a multicast, loopback, broadcast or unspecified address; a guest cannot own it"),
    ('ipv6', 'ff02::1', "vifs[0].ipv6 'ff02::1' is a multicast, loopback, broadcast or unspecified address; a guest cannot own it"),
])
def test_addresses_a_guest_cannot_own_are_refused(field, value, rule):
    assert problems([vif(**{field: [value]})]) == [rule]


@pytest.mark.parametrize('mac, rule', [
    ('03:00:00:00:00:01', "vifs[0].mac '03:00:00:00:00:01' is a multicast address; a guest sends from a unicast MAC"),
    ('02:00:00:00:01', "vifs[0].mac '02:00:00:00:01' is not six colon-separated hex octets"),
    ('00:00:00:00:00:00', "vifs[0].mac '00:00:00:00:00:00' is all zeros"),
])
def test_macs_must_be_unicast(mac, rule):
    assert problems([vif(mac=[mac])]) == [rule]


def test_a_vif_needs_a_mac():
    assert problems([vif(mac=[])]) == ['vifs[0].mac is empty; a guest needs at least the MAC of its vif']


@pytest.mark.parametrize('name, rule', [
    ('a-vif-name-too-long', "vifs[0].name 'a-vif-name-too-long' is 19 characters; Linux allows 15"),
    ('vif+1', "vifs[0].name 'vif+1' contains '+'; xen_antispoof allows letters, digits, '.', '_', '-' and '@'"),
    ('vif"1', "vifs[0].name 'vif\"1' contains '\"'; xen_antispoof allows letters, digits, '.', '_', '-' and '@'"),
])
def test_vif_names_must_be_safe_in_both_backends(name, rule):
    assert problems([vif(name=name)]) == [rule]


@pytest.mark.parametrize('ethertype', ['appletalk', '0x0600', '0x10000', '0xzz'])
def test_unknown_or_length_ethertypes_are_refused(ethertype):
    assert problems([vif(ethertypes=[ethertype])]) == [
        "vifs[0].ethertypes '%s' is not an ethertype: use one of 8021ad, arp, ipv4, ipv6, lldp, vlan or a hex number from 0x0601 to 0xffff"
        % ethertype]


def test_two_vifs_may_not_share_a_name():
    assert problems([vif(), vif(mac=['02:00:c0:00:02:16'], ipv4=['192.0.2.99'], ipv6=[])]) == [
        "vifs[1].name 'vif1.0' is already the name of vif vif1.0"]


def test_a_mac_of_another_vif_is_refused():
    assert problems([vif(), vif('vif2.0', ipv4=['192.0.2.22'], ipv6=[], ipv6_link_local=False)]) == [
        "vifs[1].mac '02:00:c0:00:02:15' is already a MAC of vif vif1.0"]


def test_an_address_inside_a_neighbours_range_is_refused():
    assert problems([vif(ipv4=['192.0.2.48/28']), vif('vif2.0', mac=['02:00:c0:00:02:16'], ipv4=['192.0.2.50'], ipv6=[])]) == [
        "vifs[1].ipv4 '192.0.2.50/32' overlaps '192.0.2.48/28' of vif vif1.0; each guest needs addresses of its own"]


def test_a_trusted_port_cannot_also_be_filtered():
    assert problems(trusted_ports=['vif1.0']) == ["vifs[0].name 'vif1.0' is also in trusted_ports; a port is either trusted or filtered"]


def test_a_lone_wildcard_would_match_every_port():
    assert problems(vif_patterns=['*']) == ["vif_patterns '*' would match every port; name at least one leading character"]


def test_every_problem_is_reported_together():
    found = problems([vif(name='x' * 16, mac=['03:00:00:00:00:01'], ipv4=['1.2.3.4/8'], ethertypes=['nope'])], trusted_ports=['bad/name'])
    assert len(found) == 5


def test_a_thousand_vifs_validate_quickly():
    vifs = [vif('vif%d.0' % index, mac=['02:00:0a:%02x:%02x:05' % (index >> 8, index & 0xff)], ipv4=['10.%d.%d.5' % (index >> 8, index & 0xff)],
                ipv6=['2001:db8:%x::5' % index]) for index in range(5000)]
    started = time.monotonic()
    assert len(spec(vifs).vifs) == 5000
    assert time.monotonic() - started < 5
