# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import (
    first_ipv4,
    mac_auto,
    mac_from_ip,
    mac_from_name,
    vifname_auto,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import mac_rules, vifname_rules


def test_mac_from_ip_is_the_prefix_and_the_address_in_hex():
    assert mac_from_ip('10.0.0.5') == '02:00:0a:00:00:05'
    assert mac_from_ip('192.0.2.7/24', '06:1a') == '06:1a:c0:00:02:07'


def test_mac_from_ip_takes_the_first_ipv4_of_a_list_or_spaced_string():
    assert mac_from_ip(['2001:db8::1', '10.1.2.3']) == '02:00:0a:01:02:03'
    assert mac_from_ip('2001:db8::1 10.1.2.3 10.9.9.9') == '02:00:0a:01:02:03'


def test_mac_from_ip_needs_an_ipv4_address():
    with pytest.raises(ValueError, match="ip '2001:db8::1' holds no IPv4 address"):
        mac_from_ip('2001:db8::1')


@pytest.mark.parametrize('prefix', ['00:16', '03:00', '02', '02:00:00', 'zz:00'])
def test_mac_prefix_must_be_two_locally_administered_unicast_octets(prefix):
    with pytest.raises(ValueError, match="mac prefix '%s'" % prefix):
        mac_from_ip('10.0.0.5', prefix)


def test_mac_from_name_is_stable_and_under_xens_oui():
    mac = mac_from_name('web', 0)
    assert mac == mac_from_name('web', 0)
    assert mac.startswith('00:16:3e:')
    assert mac_rules(mac) == []
    assert mac != mac_from_name('web', 1)
    assert mac != mac_from_name('web0', 0)


def test_mac_auto_prefers_the_ip_and_falls_back_to_the_name():
    assert mac_auto('web', 0, '10.0.0.5') == '02:00:0a:00:00:05'
    assert mac_auto('web', 0, None) == mac_from_name('web', 0)
    assert mac_auto('web', 0, ['2001:db8::5']) == mac_from_name('web', 0)


def test_first_ipv4_skips_garbage():
    assert str(first_ipv4('junk 10.0.0.1')) == '10.0.0.1'
    assert first_ipv4([]) is None


def test_vifname_auto_is_guest_and_devid_when_it_fits():
    assert vifname_auto('web', 0) == 'web-0'
    assert vifname_auto('web', 3) == 'web-3'


def test_vifname_auto_shortens_long_names_with_a_hash():
    name = vifname_auto('wiki.xen.prgmr.com', 0)
    assert len(name) <= 15
    assert name.startswith('wiki.xen')
    assert name.endswith('-0')
    assert name == vifname_auto('wiki.xen.prgmr.com', 0)


def test_vifname_auto_keeps_long_names_of_different_guests_apart():
    assert vifname_auto('customer-alpha-01', 0) != vifname_auto('customer-alpha-02', 0)


def test_vifname_auto_leaves_room_for_the_emu_suffix():
    name = vifname_auto('windows-2019', 0, emulated=True)
    assert len(name) <= 11
    assert vifname_rules(name, emulated=True) == []


def test_vifname_auto_hashes_names_with_characters_an_interface_should_not_hold():
    name = vifname_auto('my guest', 0)
    assert ' ' not in name
    assert vifname_auto('my guest', 0) != vifname_auto('my_guest', 0)


def test_vifname_auto_never_returns_a_taken_name():
    first = vifname_auto('web', 0)
    second = vifname_auto('web', 0, taken=[first])
    third = vifname_auto('web', 0, taken=[first, second])
    assert len({first, second, third}) == 3


def test_vifname_auto_avoids_a_taken_emu_name_for_emulated_vifs():
    assert vifname_auto('web', 0, taken=['web-0-emu'], emulated=True) != 'web-0'


def test_vifname_auto_refuses_a_length_with_no_room():
    with pytest.raises(ValueError, match='leaves no room'):
        vifname_auto('web', 0, max_len=5)


IPV4 = st.integers(0, 2 ** 32 - 1).map(lambda number: str(ipaddress.IPv4Address(number)))
GUESTS = st.text(min_size=1, max_size=40, alphabet=st.characters(blacklist_categories=('Cs',), blacklist_characters='\0'))


@settings(max_examples=300, deadline=None)
@given(IPV4, IPV4)
def test_distinct_addresses_give_distinct_valid_macs(first, second):
    assert mac_rules(mac_from_ip(first)) == []
    assert (mac_from_ip(first) == mac_from_ip(second)) == (first == second)


@settings(max_examples=300, deadline=None)
@given(GUESTS, st.integers(0, 64), st.booleans(), st.lists(st.text(max_size=15), max_size=5))
def test_vifname_auto_is_always_a_valid_free_name(guest, devid, emulated, taken):
    name = vifname_auto(guest, devid, taken=taken, emulated=emulated)
    assert vifname_rules(name, emulated) == []
    assert name not in taken
    assert name == vifname_auto(guest, devid, taken=taken, emulated=emulated)
