# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import ipaddress
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import (
    _link_local_block, _plain_ipv4_block, _plain_ipv6_block, link_local_from_mac)

from antispoof_testing import problems, spec, vif
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


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
    ('03:00:00:00:00:01', "vifs[0].mac '03:00:00:00:00:01' is a multicast address (odd first octet); a guest needs a unicast one"),
    ('02:00:00:00:01', "vifs[0].mac '02:00:00:00:01' is not six octets of two hex digits, such as 02:00:0a:00:00:05"),
    ('00:00:00:00:00:00', "vifs[0].mac '00:00:00:00:00:00' is all zeros"),
])
def test_macs_must_be_unicast(mac, rule):
    assert problems([vif(mac=[mac])]) == [rule]


def test_a_vif_needs_a_mac():
    assert problems([vif(mac=[])]) == ['vifs[0].mac is empty; a guest needs at least the MAC of its vif']


@pytest.mark.parametrize('name, rule', [
    ('a-vif-name-too-long', "vifs[0].name 'a-vif-name-too-long' is 19 characters; Linux allows 15"),
    ('vif+1', "vifs[0].name 'vif+1' holds '+'; an interface name may hold only letters, digits, '.', '-' and '_'"),
    ('vif"1', "vifs[0].name 'vif\"1' holds '\"'; an interface name may hold only letters, digits, '.', '-' and '_'"),
    ('vif@1', "vifs[0].name 'vif@1' holds '@'; an interface name may hold only letters, digits, '.', '-' and '_'"),
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


def test_the_collector_runs_again_after_validation():
    """Building the vifs pauses the cycle collector; success, problems and a crash all turn it back on."""
    spec([vif()])
    problems([vif(mac=[])])
    with pytest.raises(KeyError):
        spec([{'mac': ['02:00:c0:00:02:15']}])
    assert gc.isenabled()


def test_an_ipv6_scope_id_stays_in_the_text_and_the_messages():
    assert spec([vif(ipv6=['2001:db8::1%eth0'])]).vifs[0].hosts(6) == ['2001:db8::1%eth0', 'fe80::c0ff:fe00:215']
    assert problems([vif(ipv6=['2001:db8::1%eth0']), vif('vif2.0', mac=['02:00:c0:00:02:16'], ipv4=[], ipv6=['2001:db8::1'])]) == [
        "vifs[1].ipv6 '2001:db8::1/128' overlaps '2001:db8::1%eth0/128' of vif vif1.0; each guest needs addresses of its own"]


# The fast paths against ipaddress, which the module used for every entry before: for any text,
# the fast path either leaves it to ipaddress (None) or gives exactly what ipaddress makes of it.

def ipaddress_block(text, version):
    """What ipaddress makes of an entry a guest may own: (first, last, prefix length, text), or None."""
    try:
        network = ipaddress.ip_network(text)
    except ValueError:
        return None
    address = network.network_address
    if network.version != version or address.is_multicast or address.is_loopback or address.is_unspecified or (
            address == ipaddress.IPv4Address('255.255.255.255')):
        return None
    single = network.prefixlen == network.max_prefixlen
    return int(address), int(network.broadcast_address), network.prefixlen, str(address) if single else str(network)


def _canonical(network_class, bits):
    """str() of random networks and addresses, the usual spellings."""
    return st.tuples(st.integers(0, 2 ** bits - 1), st.integers(0, bits)).map(
        lambda pair: network_class(pair, strict=False)).map(lambda network: str(network.network_address) if network.prefixlen == bits else str(network))


def _sparse_ipv6_numbers():
    """Addresses with zero groups in runs of every length, the cases '::' has to choose between."""
    return st.lists(st.sampled_from([0, 0, 0, 1, 0xff, 0xffff, 0x2001, 0xdb8, 0xfe80]), min_size=8, max_size=8).map(
        lambda groups: sum(group << (16 * (7 - index)) for index, group in enumerate(groups)))


EDGE_CASES = ['', '/0', '::', '::/0', '::1', '::ffff:1.2.3.4', '::ffff:102:304', '::1.2.3.4', '::102:304', '64:ff9b::1.2.3.4', '2001:db8::',
              '2001:db8::/32', '2001:db8::/032', '2001:DB8::1', '2001:0db8::1', '2001:db8::1%eth0', '2001:db8::0:1', '2001:db8:0:0:1::1',
              '1:0:2:3:4:5:6:7', '1::2:3:4:5:6:7', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8::', '1::2::3',
              ':1::2', '1::2:', 'ff02::1', 'fe80::1', '2001:db8::1/128', '2001:db8::1/64', '2001:db8::/129', '2001:db8::/-1', '2001:db8::/+64',
              '10.0.0.1', '010.0.0.1', '10.0.0.01', ' 10.0.0.1', '10.0.0.1 ', '10.0.0.1\n', '10.0.0.1/32', '10.0.0.0/8', '10.0.0.0/08',
              '10.0.0.0/255.0.0.0', '10.0.0.0/', '10.0.0.0/24/24', '10.0.0.1/24', '1.2.3', '1.2.3.4.5', '256.0.0.1', '0x0a.0.0.1', '0.0.0.0',
              '0.0.0.0/0', '127.0.0.1', '224.0.0.1', '239.255.255.255/32', '255.255.255.255', '\uff11.2.3.4', '1.2.3.4/\u0663\u0662', '1.2.3.4\x00']
TEXTS = st.one_of(st.sampled_from(EDGE_CASES), _canonical(ipaddress.IPv4Network, 32), _canonical(ipaddress.IPv6Network, 128),
                  _sparse_ipv6_numbers().map(lambda number: str(ipaddress.IPv6Address(number))),
                  _sparse_ipv6_numbers().map(lambda number: ipaddress.IPv6Address(number).exploded),
                  _canonical(ipaddress.IPv6Network, 128).map(str.upper),
                  st.text(alphabet='0123456789abcdefABCDEF:./% \n', max_size=45))


@settings(max_examples=3000, deadline=None)
@given(TEXTS)
@example('2001:db8::1')
def test_the_fast_paths_give_what_ipaddress_gives_or_leave_the_text_to_it(text):
    for version, plain_block in ((4, _plain_ipv4_block), (6, _plain_ipv6_block)):
        block = plain_block(text)
        assert block is None or block == ipaddress_block(text, version)


@settings(max_examples=1000, deadline=None)
@given(_canonical(ipaddress.IPv4Network, 32))
def test_every_usual_ipv4_spelling_takes_the_fast_path(text):
    assert _plain_ipv4_block(text) == ipaddress_block(text, 4)


@pytest.mark.parametrize('text', ['::ffff:102:304', '::102:304', '2001:db8::0:1', '2001:DB8::1', '2001:db8::1%eth0', '1::2:3:4:5:6:7'])
def test_ipv4_mapped_and_unusual_ipv6_spellings_are_left_to_ipaddress(text):
    """Newer Pythons print IPv4-mapped addresses dotted, so ipaddress alone knows their text."""
    assert _plain_ipv6_block(text) is None


@pytest.mark.parametrize('text', ['2001:db8::1', '2001:db8:a:1f3::1', '2001:db8:5::/64', '1:2:3:4:5:6:7:8', '2001:db8::', '1::', 'fe80::c0ff:fe00:215',
                                  '2001:db8:1:2:3:4::/96', '2a00:1450:4001:82b::200e'])
def test_usual_ipv6_spellings_take_the_fast_path(text):
    assert _plain_ipv6_block(text) is not None


@settings(max_examples=1000, deadline=None)
@given(st.integers(0, 2 ** 48 - 1))
@example(0x020000000000)
def test_the_link_local_address_is_what_ipaddress_reads_from_its_eui64_spelling(value):
    octets = [value >> shift & 0xff for shift in range(40, -8, -8)]
    mac = ':'.join('%02x' % octet for octet in octets)
    expected = ipaddress.IPv6Address('fe80::%02x%02x:%02xff:fe%02x:%02x%02x' % tuple([octets[0] ^ 2] + octets[1:]))
    assert _link_local_block(mac) == (int(expected), int(expected), 128, str(expected))


def _reference_forms(params, version):
    """hosts, nets and numbers of one vif as the module computed them with ipaddress alone."""
    networks = [ipaddress.ip_network(text) for text in params['ipv%d' % version]]
    if version == 6 and params['ipv6_link_local']:
        networks += [ipaddress.IPv6Network(link_local_from_mac(mac)) for mac in params['mac']]
    ordered = sorted(networks)
    if any(int(current.network_address) <= int(previous.broadcast_address) for previous, current in zip(ordered, ordered[1:])):
        ordered = sorted(ipaddress.collapse_addresses(networks))
    hosts = [str(net.network_address) for net in ordered if net.prefixlen == net.max_prefixlen]
    nets = [str(net) for net in ordered if net.prefixlen < net.max_prefixlen]
    numbers = [int(net.network_address) if net.prefixlen == net.max_prefixlen else (int(net.network_address), int(net.broadcast_address))
               for net in ordered]
    return hosts, nets, numbers, ordered


def _small_networks(network_class, base, bits, lengths):
    """Networks and addresses close together, so that they often overlap; one address written with and without /32 or /128."""
    return st.tuples(st.integers(0, 63), st.sampled_from(lengths), st.booleans()).map(
        lambda entry: (network_class((base + entry[0], entry[1]), strict=False), entry[2])).map(
        lambda entry: str(entry[0].network_address) if entry[0].prefixlen == bits and entry[1] else str(entry[0]))


SMALL_IPV4 = _small_networks(ipaddress.IPv4Network, 10 << 24, 32, [32, 32, 31, 30, 28])
SMALL_IPV6 = _small_networks(ipaddress.IPv6Network, 0x20010db8 << 96, 128, [128, 128, 127, 126, 124])


@settings(max_examples=500, deadline=None)
@given(st.lists(SMALL_IPV4, max_size=5), st.lists(SMALL_IPV6, max_size=5), st.booleans(),
       st.lists(st.sampled_from(['02:00:00:00:00:01', '02:00:00:00:00:02', '00:16:3e:12:34:56']), min_size=1, max_size=3, unique=True))
def test_hosts_nets_and_numbers_are_what_ipaddress_made_of_them(ipv4, ipv6, link_local, macs):
    params = vif(ipv4=ipv4, ipv6=ipv6, ipv6_link_local=link_local, mac=macs)
    policy = spec([params]).vifs[0]
    params['mac'] = sorted(macs)
    for version in (4, 6):
        hosts, nets, numbers, networks = _reference_forms(params, version)
        assert (policy.hosts(version), policy.nets(version), policy.numbers(version)) == (hosts, nets, numbers)
        assert [network for network in policy.networks if network.version == version] == networks


def test_a_vif_with_state_absent_needs_only_its_name_and_is_named_by_the_task():
    removed = spec([vif(), dict(name='vif7.0', state='absent')])
    assert removed.vif_names() == ['vif1.0', 'vif7.0']
    assert [policy.name for policy in removed.vifs] == ['vif1.0']


def test_a_vif_cannot_be_both_absent_and_present_and_messages_keep_the_tasks_indexes():
    found = problems([dict(name='vif1.0', state='absent'), vif(), vif('vif2.0', ipv4=['192.0.2.21'], mac=['02:00:c0:00:02:16'])])
    assert "vifs[1].name 'vif1.0' is also listed with state absent; a vif either has a policy or not" in found
    assert any(problem.startswith("vifs[2].ipv4 '192.0.2.21/32' overlaps") for problem in found), found
    assert problems([dict(name='a-vif-name-too-long', state='absent')]) == ["vifs[0].name 'a-vif-name-too-long' is 19 characters; Linux allows 15"]


@pytest.mark.parametrize('value', HOSTILE_NAMES)
def test_every_vif_name_option_refuses_hostile_names(value):
    assert problems([vif(name=value)])[0].startswith("vifs[0].name '%s' " % value)
    assert problems([dict(name=value, state='absent')])[0].startswith("vifs[0].name '%s' " % value)


@pytest.mark.parametrize('field', ['trusted_ports', 'vif_patterns'])
@pytest.mark.parametrize('value', [name for name in HOSTILE_NAMES if name != 'vif*'])
def test_every_port_pattern_option_refuses_hostile_names(field, value):
    found = problems([vif()], **{field: [value]})
    assert any(problem.startswith("%s '%s' " % (field, value)) for problem in found), found
