# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import BridgeSpec, InvalidSpec
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


def spec(**params):
    params.setdefault('name', 'xenbr0')
    return BridgeSpec(params)


def problems_of(**params):
    with pytest.raises(InvalidSpec) as raised:
        spec(**params)
    return raised.value.problems


def test_seventeen_character_name_is_refused_with_its_length():
    assert problems_of(name='xenbr-seventeen17') == ["name 'xenbr-seventeen17' is 17 characters; Linux allows 15"]


def test_fifteen_character_name_is_accepted():
    assert spec(name='a' * 15).name == 'a' * 15


@pytest.mark.parametrize('name', ['br/0', 'br 0', 'br:0', '.', '..', ''])
def test_names_the_kernel_refuses_are_refused(name):
    assert len(problems_of(name=name)) == 1


def test_address_without_prefix_names_the_field_and_value():
    assert problems_of(addresses=['10.0.0.1']) == [
        "addresses '10.0.0.1' has no prefix length; write it as a CIDR such as 192.0.2.1/24"]


def test_every_problem_is_reported_together():
    found = problems_of(name='x' * 16, uplink='eth0', ports=['eth0'], addresses=['nonsense/24'], mtu=20,
                        connectivity_check=['gateway'])
    assert len(found) == 5
    assert any(problem.startswith("ports 'eth0'") for problem in found)
    assert any(problem.startswith("connectivity_check 'gateway'") for problem in found)


def test_stp_needs_a_forward_delay_the_kernel_accepts():
    assert problems_of(stp=True, forward_delay=0) == ['forward_delay 0 must be between 2 and 30 seconds when stp is on']
    assert spec(stp=True, forward_delay=2).bridge_options()['forward_delay'] == 200


def test_uplink_cannot_be_the_bridge():
    assert problems_of(uplink='xenbr0') == ["uplink 'xenbr0' is the bridge itself"]


def test_nf_call_option_sets_all_three_families():
    options = spec(nf_call_iptables=False).bridge_options()
    assert options['nf_call_iptables'] == options['nf_call_ip6tables'] == options['nf_call_arptables'] == 0
    assert 'nf_call_iptables' not in spec(nf_call_iptables=None).bridge_options()


def test_default_persist_path_is_under_interfaces_d():
    assert spec().persist_path == '/etc/network/interfaces.d/xenbr0'


def test_bridge_options_map_to_pyroute2_attribute_names():
    from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import bridge_kwargs
    assert bridge_kwargs(spec(stp=True, forward_delay=2, nf_call_iptables=False).bridge_options()) == {
        'br_stp_state': 1, 'br_forward_delay': 200, 'br_nf_call_iptables': 0, 'br_nf_call_ip6tables': 0,
        'br_nf_call_arptables': 0}


@pytest.mark.parametrize('mac, reason', [('01:00:5e:00:00:01', 'is a multicast address'),
                                         ('00:00:00:00:00:00', 'is all zeros'),
                                         ('02:00:00:00:00', 'is not six octets of two hex digits')])
def test_bad_bridge_macs_are_refused(mac, reason):
    found = problems_of(mac=mac)
    assert len(found) == 1 and found[0].startswith("mac '%s' %s" % (mac, reason))


@pytest.mark.parametrize('field', ['name', 'uplink', 'ports'])
@pytest.mark.parametrize('value', HOSTILE_NAMES)
def test_every_device_name_option_refuses_hostile_names(field, value):
    params = {field: [value] if field == 'ports' else value}
    found = problems_of(**params)
    assert any(problem.startswith("%s '%s' " % (field, value)) for problem in found), found


def test_the_issue_example_is_refused_before_it_reaches_an_ifupdown_line():
    assert problems_of(name='Nx;reboot', persist='ifupdown') == [
        "name 'Nx;reboot' holds ';'; an interface name may hold only letters, digits, '.', '-' and '_'"]
