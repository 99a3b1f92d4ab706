# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_route's options: hostile names, networks for hosts, duplicates and bad sysctl paths are refused by name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import InvalidSpec
from ansible_collections.xenfleet.network.plugins.module_utils.route.spec import RouteSpec
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


def params(**overrides):
    values = dict(uplink='eth0', routes=[{'vif': 'vif1.0', 'addresses': ['192.0.2.50', '2001:db8:1::50/128']}],
                  purge=True, persist=True, sysctl_path='/etc/sysctl.d/60-xenfleet-route.conf')
    values.update(overrides)
    return values


def problems(**overrides):
    with pytest.raises(InvalidSpec) as caught:
        RouteSpec(params(**overrides))
    return caught.value.problems


def test_a_plain_spec_is_taken():
    spec = RouteSpec(params())
    assert [entry.vif for entry in spec.routes] == ['vif1.0']
    assert [str(address) for address in spec.routes[0].addresses] == ['192.0.2.50', '2001:db8:1::50']
    assert spec.families() == {4, 6}


@pytest.mark.parametrize('name', HOSTILE_NAMES)
def test_hostile_uplink_is_refused_naming_it(name):
    assert any(problem.startswith("uplink '%s' " % name) for problem in problems(uplink=name))


@pytest.mark.parametrize('name', HOSTILE_NAMES)
def test_hostile_vif_is_refused_naming_it(name):
    found = problems(routes=[{'vif': name, 'addresses': ['192.0.2.50']}])
    assert any(problem.startswith("routes[0].vif '%s' " % name) for problem in found)


@pytest.mark.parametrize('text, rule', [
    ('192.0.2.0/24', 'is a network'),
    ('2001:db8::/64', 'is a network'),
    ('192.0.2.50; reboot', 'is not an IPv4 or IPv6 address'),
    ('$(reboot)', 'is not an IPv4 or IPv6 address'),
    ('fe80::1%eth0', 'is not an IPv4 or IPv6 address'),
    ('fe80::1', 'is not a unicast address a guest can own'),
    ('224.0.0.1', 'is not a unicast address a guest can own'),
    ('0.0.0.0', 'is not a unicast address a guest can own'),
    ('127.0.0.1', 'is not a unicast address a guest can own'),
    ('', 'is not an IPv4 or IPv6 address'),
])
def test_an_address_a_guest_cannot_own_is_refused(text, rule):
    found = problems(routes=[{'vif': 'vif1.0', 'addresses': [text]}])
    assert found == ["routes[0].addresses[0] '%s' %s" % (text, rule)] or found[0].startswith(
        "routes[0].addresses[0] '%s' %s" % (text, rule))


def test_no_addresses_is_the_classic_vif_route_trap():
    assert 'routes[0].addresses is empty' in problems(routes=[{'vif': 'vif1.0', 'addresses': []}])[0]


def test_the_uplink_is_not_a_vif():
    assert "routes[0].vif 'eth0' is the uplink" in problems(routes=[{'vif': 'eth0', 'addresses': ['192.0.2.50']}])[0]


def test_an_address_routed_to_two_vifs_is_refused():
    found = problems(routes=[{'vif': 'vif1.0', 'addresses': ['192.0.2.50']},
                             {'vif': 'vif2.0', 'addresses': ['192.0.2.50/32']}])
    assert found == ['address 192.0.2.50 is given 2 times: routes[0].addresses[0], routes[1].addresses[0]']


def test_a_vif_listed_twice_is_refused():
    found = problems(routes=[{'vif': 'vif1.0', 'addresses': ['192.0.2.50']},
                             {'vif': 'vif1.0', 'addresses': ['192.0.2.51']}])
    assert found == ['vif vif1.0 is given 2 times: routes[0].vif, routes[1].vif']


@pytest.mark.parametrize('path, rule', [
    ('/etc/sysctl.d/x\n.conf', 'holds the control character'),
    ('/etc/sysctl.d/x\0.conf', 'holds the control character'),
    ('relative.conf', 'is not an absolute path'),
    ('/etc/sysctl.d/../x.conf', 'is not an absolute path'),
    ('/etc/sysctl.d/60-route', 'is not an absolute path'),
])
def test_a_bad_sysctl_path_is_refused(path, rule):
    found = problems(sysctl_path=path)
    assert len(found) == 1 and found[0].startswith("sysctl_path '%s' %s" % (path, rule))


def test_every_problem_is_reported_at_once():
    found = problems(uplink='eth0;x', routes=[{'vif': 'a b', 'addresses': ['10.0.0.0/8']}])
    assert len(found) == 3
