# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import netaddr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    IFNAME_MAX,
    Claims,
    address_key,
    ethertype_problems,
    link_local,
    mac_problems,
    mac_rules,
    parse_ethertype,
    parse_interface,
    parse_mac,
    guest_name_problems,
    guest_name_rules,
    interface_name_problems,
    interface_name_rules,
    interface_pattern_problems,
    is_interface_name,
    is_unicast_mac,
)
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


@pytest.mark.parametrize('name', ['xenbr0', 'eth0.100', 'vif1.0', 'web_0-emu', 'a', 'b' * IFNAME_MAX, 'A.B-c_9'])
def test_usual_device_names_are_accepted(name):
    assert is_interface_name(name)
    assert interface_name_rules(name) == []
    assert interface_name_problems('name', name) == []


@pytest.mark.parametrize('name', HOSTILE_NAMES)
def test_hostile_device_names_are_refused_naming_field_and_value(name):
    assert not is_interface_name(name)
    problems = interface_name_problems('uplink', name)
    assert problems
    assert all(problem.startswith("uplink '%s' " % name) for problem in problems)


@pytest.mark.parametrize('name, rules', [
    ('b' * 16, ['is 16 characters; Linux allows 15']),
    ('é' * 8, ["is 16 bytes; Linux allows 15",
               "holds 'é'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('brücke', ["holds 'ü'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('Nx;reboot', ["holds ';'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('br$(id)', ["holds '$', '(', ')'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('x\0y', ["holds '\\x00'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('x\ny', ["holds '\\n'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('.', ['is reserved by Linux']),
    ('..', ['is reserved by Linux']),
    ('', ['is empty; an interface name needs 1 to 15 characters']),
    (None, ['is not a string']),
])
def test_each_broken_rule_is_worded(name, rules):
    assert interface_name_rules(name) == rules


def test_a_caller_with_a_tighter_limit_words_the_length_itself():
    assert interface_name_rules('b' * 16, check_length=False) == []


def test_a_pattern_may_end_in_one_wildcard():
    assert interface_pattern_problems('vif_patterns', 'vif*') == []
    assert interface_pattern_problems('vif_patterns', 'vif1.0') == []
    assert interface_pattern_problems('vif_patterns', '*') == [
        "vif_patterns '*' would match every port; name at least one leading character"]
    assert interface_pattern_problems('trusted_ports', 'x;y*') == [
        "trusted_ports 'x;y*' holds ';'; an interface name may hold only letters, digits, '.', '-' and '_'"]
    assert interface_pattern_problems('trusted_ports', 'v*f*')


@pytest.mark.parametrize('name', ['web', 'wiki.xen.prgmr.com', 'db-01', 'Win_2019', '7days', 'x' * 64])
def test_usual_guest_names_are_accepted(name):
    assert guest_name_rules(name) == []


@pytest.mark.parametrize('name', ['../../etc/x', '/', 'a/b', '.hidden', '..', '-rf', '42', 'x' * 65, 'web;id', 'web\n', 'gäst', ''])
def test_guest_names_that_leave_the_config_dir_or_confuse_xl_are_refused(name):
    problems = guest_name_problems('domain', name)
    assert problems
    assert all(problem.startswith("domain '%s' " % name) for problem in problems)


def test_guest_name_rules_are_worded():
    assert guest_name_rules('../../etc/x') == [
        "holds '/'; a guest name may hold only letters, digits, '.', '-' and '_'",
        "starts with '.'; a guest name starts with a letter or digit"]
    assert guest_name_rules('42') == ['is only digits, which xl reads as a domain id']


# ---------------------------------------------------------------- MAC

@pytest.mark.parametrize('text, canonical', [
    ('02:00:0a:00:00:05', '02:00:0a:00:00:05'),
    ('00:16:3E:0A:00:05', '00:16:3e:0a:00:05'),
])
def test_options_take_six_two_digit_octets_in_either_case(text, canonical):
    assert parse_mac(text) == canonical


@pytest.mark.parametrize('text', ['0:16:3e:a:0:5', '00-16-3e-0a-00-05', ' 00:16:3e:0a:00:05', '02:00:0a:00:00:05\n',
                                  '0200.0a00.0005', '02000a000005', '02:00:0a:00:00', '02:00:0a:00:00:05:06', 'zz:00:0a:00:00:05', '', None])
def test_options_refuse_other_spellings(text):
    assert parse_mac(text) is None
    assert mac_rules(text) == ['is not six octets of two hex digits, such as 02:00:0a:00:00:05']


@pytest.mark.parametrize('text, canonical', [
    ('0:16:3E:a:0:5 ', '00:16:3e:0a:00:05'),
    ('00-16-3e-0a-00-05', '00:16:3e:0a:00:05'),
    ('0-16:3e-a:0-5', '00:16:3e:0a:00:05'),
])
def test_config_files_are_read_as_xl_reads_them(text, canonical):
    assert parse_mac(text, xl_spelling=True) == canonical


@pytest.mark.parametrize('text', ['0200.0a00.0005', '02000a000005', '000:16:3e:0a:00:05', '02:00:0a:00:00'])
def test_xl_spelling_is_no_wider_than_xl(text):
    assert parse_mac(text, xl_spelling=True) is None


OCTETS = st.lists(st.integers(0, 255), min_size=6, max_size=6)


@given(OCTETS, st.sampled_from(['%02x', '%02X', '%x', '%X']), st.sampled_from([':', '-']))
def test_every_spelling_taken_means_what_netaddr_eui_reads(octets, octet_format, separator):
    text = separator.join(octet_format % octet for octet in octets)
    mac = parse_mac(text, xl_spelling=True)
    assert mac is not None
    assert int(netaddr.EUI(mac)) == int(netaddr.EUI(':'.join('%02x' % octet for octet in octets)))
    if octet_format == '%02x' and separator == ':':
        assert parse_mac(text) == text == str(netaddr.EUI(text, dialect=netaddr.mac_unix_expanded))


@pytest.mark.parametrize('mac, holder, xen_or_local, rules', [
    ('03:00:00:00:00:01', 'a guest', False, ['is a multicast address (odd first octet); a guest needs a unicast one']),
    ('ff:ff:ff:ff:ff:ff', 'a bridge', False, ['is a multicast address (odd first octet); a bridge needs a unicast one']),
    ('00:00:00:00:00:00', 'a vif', False, ['is all zeros']),
    ('00:11:22:33:44:55', 'a vif', False, []),
    ('00:11:22:33:44:55', 'a vif', True, ["is neither in Xen's 00:16:3e block nor locally administered (second hex digit 2, 6, a or e)"]),
    ('00:16:3e:33:44:55', 'a vif', True, []),
    ('06:11:22:33:44:55', 'a vif', True, []),
])
def test_mac_rules(mac, holder, xen_or_local, rules):
    assert mac_rules(mac, holder, xen_or_local) == rules
    assert mac_problems('mac', mac, holder, xen_or_local) == ["mac '%s' %s" % (mac, rule) for rule in rules]


@given(OCTETS)
def test_the_link_local_address_is_netaddrs_eui64_and_spelled_as_ipaddress_spells_it(octets):
    mac = ':'.join('%02x' % octet for octet in octets)
    number, text = link_local(mac)
    assert number == int(netaddr.EUI(mac).ipv6_link_local())
    assert text == str(ipaddress.IPv6Address(number))


# ---------------------------------------------------------------- ethertypes and addresses

def test_ethertypes_by_name_alias_or_number():
    assert [parse_ethertype(text) for text in ('ipv4', 'IP', 'ip6', '8021q', 'vlan', '0x88B5', '0x0601')] == [
        0x0800, 0x0800, 0x86dd, 0x8100, 0x8100, 0x88b5, 0x0601]
    assert [parse_ethertype(text) for text in ('appletalk', '0x0600', '0x10000', '0xzz', '2048')] == [None] * 5
    assert ethertype_problems('ethertypes', 'appletalk') == [
        "ethertypes 'appletalk' is not an ethertype: use one of 8021ad, arp, ipv4, ipv6, lldp, vlan or a hex number from 0x0601 to 0xffff"]


def test_an_address_entry_claims_its_address_with_or_without_prefix():
    assert address_key('10.0.0.5/24') == address_key('10.0.0.5') == address_key('10.0.0.5/255.255.255.0') == '10.0.0.5'
    assert address_key('2001:DB8:0::1/64') == '2001:db8::1'
    assert address_key('10.0.0.5/33') == '10.0.0.5/33'
    assert address_key('fe80::1%eth0') == 'fe80::1%eth0'
    assert address_key('web') == 'web'
    assert parse_interface('fe80::1%eth0') is None


# ---------------------------------------------------------------- duplicates

def test_claims_name_every_earlier_holder_and_keep_kinds_apart():
    held = Claims()
    assert held.claim('web', 'mac', '02:00:0a:00:00:05') == []
    assert held.claim('db', 'ip', '02:00:0a:00:00:05') == []
    assert held.claim('db', 'mac', '02:00:0a:00:00:05') == ['web']
    assert held.claim('mail', 'mac', '02:00:0a:00:00:05') == ['web', 'db']
    assert held.duplicates() == [('mac', '02:00:0a:00:00:05', ['web', 'db', 'mail'])]
    assert held.duplicates('ip') == []


@given(st.one_of(OCTETS.map(lambda octets: ':'.join('%02x' % octet for octet in octets)),
                 st.text(alphabet='0123456789abcdefABCDEF:-x ', max_size=20)))
def test_the_quick_mac_check_agrees_with_the_rules(text):
    assert is_unicast_mac(text) == (mac_rules(text) == [])
