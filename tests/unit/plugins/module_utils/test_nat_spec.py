# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import NatSpec
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import nat_problems as problems_of
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import nat_spec as spec
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


def test_masquerade_is_the_default():
    assert spec().source_nat == 'masquerade'


def test_snat_to_replaces_masquerade():
    nat = spec(snat_to='192.0.2.20')
    assert nat.source_nat == 'snat'
    assert nat.snat_to == ipaddress.IPv4Address('192.0.2.20')


def test_masquerade_false_without_snat_to_is_a_routed_network():
    assert spec(masquerade=False).source_nat is None


def test_snat_to_and_masquerade_true_exclude_each_other():
    assert problems_of(snat_to='192.0.2.20', masquerade=True) == [
        "snat_to '192.0.2.20' and masquerade true exclude each other; leave masquerade unset"]


def test_snat_to_inside_the_subnet_is_refused():
    assert problems_of(snat_to='10.0.1.7') == ["snat_to '10.0.1.7' is inside subnet 10.0.1.0/24; it must be dom0's public address"]


@pytest.mark.parametrize('name', ['', 'with space', 'a/b', '-leading', 'x' * 33])
def test_instance_names_that_cannot_name_a_table_or_a_file_are_refused(name):
    assert problems_of(name=name)[0].startswith("name '%s' must be 1 to 32" % name)


def test_subnet_with_host_bits_names_the_network():
    assert problems_of(subnet='10.0.1.5/24') == ["subnet '10.0.1.5/24' has host bits set; the network is 10.0.1.0/24"]


def test_subnet_without_prefix_is_refused():
    assert problems_of(subnet='10.0.1.0') == ["subnet '10.0.1.0' has no prefix length; write it as a CIDR such as 10.0.1.0/24"]


def test_subnet_too_small_for_a_gateway_and_guests_is_refused():
    assert problems_of(subnet='10.0.1.0/31')[0].startswith("subnet '10.0.1.0/31' leaves no room")


def test_ipv6_subnet_is_refused():
    assert problems_of(subnet='2001:db8::/64')[0].startswith("subnet '2001:db8::/64' is not an IPv4 network")


def test_gateway_outside_the_subnet():
    assert problems_of(gateway='10.0.2.1') == ["gateway '10.0.2.1' is outside subnet 10.0.1.0/24"]


@pytest.mark.parametrize('gateway, what', [('10.0.1.0', 'network'), ('10.0.1.255', 'broadcast')])
def test_gateway_cannot_be_the_network_or_broadcast_address(gateway, what):
    assert problems_of(gateway=gateway) == ["gateway '%s' is the %s address of subnet 10.0.1.0/24" % (gateway, what)]


def test_bridge_and_uplink_are_checked_as_interface_names():
    assert problems_of(bridge='a-bridge-name-too-long', uplink='xenbr1 ') == [
        "bridge 'a-bridge-name-too-long' is 22 characters; Linux allows 15",
        "uplink 'xenbr1 ' holds ' '; an interface name may hold only letters, digits, '.', '-' and '_'"]


def test_uplink_cannot_be_the_bridge():
    assert problems_of(uplink='xenbr1') == ["uplink 'xenbr1' is the bridge itself; NAT needs a separate outgoing interface"]


def test_present_needs_bridge_subnet_and_uplink():
    assert problems_of(bridge=None, subnet=None, uplink=None) == [
        'bridge is required when state is present', 'uplink is required when state is present',
        'subnet is required when state is present']


def test_absent_needs_only_the_name():
    nat = NatSpec(dict(name='guests', state='absent'))
    assert nat.state == 'absent'


def test_port_forward_to_an_address_outside_the_subnet():
    assert problems_of(port_forwards=[dict(port=8080, to_ip='10.9.9.9')]) == [
        "port_forwards[0].to_ip '10.9.9.9' is outside subnet 10.0.1.0/24"]


def test_port_forward_to_the_gateway_is_refused():
    assert problems_of(gateway='10.0.1.1', port_forwards=[dict(port=8080, to_ip='10.0.1.1')]) == [
        "port_forwards[0].to_ip '10.0.1.1' is the gateway; forward to a guest"]


def test_a_port_forwarded_twice_names_both():
    assert problems_of(port_forwards=[dict(port=8080, to_ip='10.0.1.5'), dict(port=8080, to_ip='10.0.1.6')]) == [
        "port_forwards[1] 'tcp/8080' is already forwarded by port_forwards[0]"]


def test_the_same_port_over_tcp_and_udp_is_two_forwards():
    nat = spec(port_forwards=[dict(port=53, to_ip='10.0.1.5'), dict(proto='udp', port=53, to_ip='10.0.1.5')])
    assert [forward.key for forward in nat.port_forwards] == ['tcp/53', 'udp/53']


def test_port_numbers_out_of_range():
    assert problems_of(port_forwards=[dict(port=0, to_ip='10.0.1.5', to_port=70000)]) == [
        "port_forwards[0].port '0' must be between 1 and 65535", "port_forwards[0].to_port '70000' must be between 1 and 65535"]


def test_to_port_defaults_to_port():
    assert spec(port_forwards=[dict(port=8080, to_ip='10.0.1.5')]).port_forwards[0].to_port == 8080


def test_dhcp_range_outside_the_subnet():
    assert problems_of(dhcp=dict(range_start='10.0.1.100', range_end='10.0.2.20')) == [
        "dhcp.range_end '10.0.2.20' is outside subnet 10.0.1.0/24"]


def test_dhcp_range_backwards():
    assert problems_of(dhcp=dict(range_start='10.0.1.200', range_end='10.0.1.100')) == [
        "dhcp.range_start '10.0.1.200' comes after dhcp.range_end '10.0.1.100'"]


def test_dhcp_range_needs_both_ends():
    assert problems_of(dhcp=dict(range_start='10.0.1.100')) == ["dhcp.range_start '10.0.1.100' needs dhcp.range_end too"]


def test_dhcp_range_holding_the_gateway():
    assert problems_of(gateway='10.0.1.1', dhcp=dict(range_start='10.0.1.1', range_end='10.0.1.50')) == [
        "dhcp range '10.0.1.1-10.0.1.50' contains the gateway 10.0.1.1"]


def test_fixed_lease_outside_the_subnet():
    assert problems_of(dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05', ip='10.0.2.5')])) == [
        "dhcp.hosts[0].ip '10.0.2.5' is outside subnet 10.0.1.0/24"]


def test_duplicated_fixed_leases_name_the_first_holder():
    found = problems_of(dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05', ip='10.0.1.5', hostname='web'),
                                         dict(mac='02:00:00:00:00:05', ip='10.0.1.5', hostname='web')]))
    assert found == ["dhcp.hosts[1].mac '02:00:00:00:00:05' is already used by dhcp.hosts[0]",
                     "dhcp.hosts[1].ip '10.0.1.5' is already used by dhcp.hosts[0]",
                     "dhcp.hosts[1].hostname 'web' is already used by dhcp.hosts[0]"]


def test_mac_duplicates_are_found_whatever_their_case():
    found = problems_of(dhcp=dict(hosts=[dict(mac='02:00:00:00:00:0A', ip='10.0.1.5'), dict(mac='02:00:00:00:00:0a', ip='10.0.1.6')]))
    assert found == ["dhcp.hosts[1].mac '02:00:00:00:00:0a' is already used by dhcp.hosts[0]"]


def test_fixed_lease_on_the_gateway_is_refused():
    assert problems_of(gateway='10.0.1.1', dhcp=dict(hosts=[dict(ip='10.0.1.1')])) == ["dhcp.hosts[0].ip '10.0.1.1' is the gateway"]


def test_fixed_lease_mac_defaults_to_the_collection_scheme():
    assert spec(dhcp=dict(hosts=[dict(ip='10.0.1.10')])).dhcp.hosts[0].mac == '02:00:0a:00:01:0a'


def test_fixed_lease_with_a_multicast_mac_is_refused():
    assert problems_of(dhcp=dict(hosts=[dict(mac='01:00:5e:00:00:01', ip='10.0.1.5')])) == [
        "dhcp.hosts[0].mac '01:00:5e:00:00:01' is a multicast address (odd first octet); a guest needs a unicast one"]


def test_fixed_lease_hostname_must_be_a_host_name():
    assert problems_of(dhcp=dict(hosts=[dict(ip='10.0.1.5', hostname='web_1')])) == [
        "dhcp.hosts[0].hostname 'web_1' is not a host name (letters, digits and inner '-', at most 63)"]


def test_fixed_lease_needs_ip_or_domid_but_not_both():
    assert problems_of(dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05')])) == ['dhcp.hosts[0] needs ip or domid']
    assert problems_of(subnet='10.0.0.0/16', dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05', ip='10.0.5.1', domid=5)])) == [
        "dhcp.hosts[0] gives both ip '10.0.5.1' and domid '5'; give one"]


def test_domid_gives_vif_nat_address_hostname_and_default_mac():
    host = spec(subnet='10.0.0.0/16', dhcp=dict(hosts=[dict(domid=5, devid=1)])).dhcp.hosts[0]
    assert (str(host.ip), host.hostname, host.mac) == ('10.0.5.2', 'dom5-2', '02:00:0a:00:05:02')


def test_domid_address_outside_the_subnet_names_the_address():
    assert problems_of(dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05', domid=300)])) == [
        "dhcp.hosts[0].domid '300' gives 10.1.44.1 (vif-nat's scheme), which is outside subnet 10.0.1.0/24 or not a host address"]


def test_dom0_has_no_vif_nat_address():
    assert problems_of(subnet='10.0.0.0/16', dhcp=dict(hosts=[dict(mac='02:00:00:00:00:05', domid=0)])) == [
        "dhcp.hosts[0].domid '0' is dom0's; guests have domids 1 to 32751"]


def test_lease_time_below_dnsmasq_minimum():
    assert problems_of(dhcp=dict(lease_time=60)) == ["dhcp.lease_time '60' is too short; dnsmasq needs at least 120 seconds"]


def test_dns_servers_and_domain_are_checked():
    assert problems_of(dhcp=dict(dns_servers=['10.0.1.1', 'resolver'], domain='bad domain')) == [
        "dhcp.dns_servers[1] 'resolver' is not an IPv4 address", "dhcp.domain 'bad domain' is not a DNS domain name"]


def test_extra_option_with_a_line_break_is_refused():
    assert problems_of(dhcp=dict(extra_options=['log-dhcp\nconf-file=/etc/x'])) == [
        "dhcp.extra_options[0] 'log-dhcp\nconf-file=/etc/x' holds a line break; give one option per item"]


def test_dhcp_disabled_skips_its_checks():
    assert spec(dhcp=dict(enabled=False, lease_time=1)).dhcp.enabled is False


def test_every_problem_is_reported_together():
    found = problems_of(name='bad name', subnet='10.0.1.0/24', gateway='10.9.9.9', snat_to='nowhere',
                        port_forwards=[dict(port=8080, to_ip='10.9.9.9')], dhcp=dict(hosts=[dict(ip='10.9.9.8')]))
    assert len(found) == 5


def test_summary_is_what_other_instances_check_against():
    nat = spec(snat_to='192.0.2.20', port_forwards=[dict(proto='udp', port=53, to_ip='10.0.1.5')])
    assert nat.summary() == dict(name='guests', bridge='xenbr1', uplink='eth0', subnet='10.0.1.0/24', snat_to='192.0.2.20',
                                 port_forwards=['udp/53'])


@pytest.mark.parametrize('field', ['bridge', 'uplink'])
@pytest.mark.parametrize('value', [name for name in HOSTILE_NAMES if name])
def test_every_device_name_option_refuses_hostile_names(field, value):
    found = problems_of(**{field: value})
    assert any(problem.startswith("%s '%s' " % (field, value)) for problem in found), found


@pytest.mark.parametrize('name', ['guests\n', 'a;b', 'x' * 33])
def test_the_instance_name_is_matched_whole(name):
    assert problems_of(name=name)[0].startswith("name '%s' must be 1 to 32" % name)


def test_a_hostname_with_a_trailing_newline_is_refused():
    assert "dhcp.hosts[0].hostname 'web\n' is not a host name (letters, digits and inner '-', at most 63)" in problems_of(
        dhcp={'hosts': [{'ip': '10.0.1.5', 'hostname': 'web\n'}]})
