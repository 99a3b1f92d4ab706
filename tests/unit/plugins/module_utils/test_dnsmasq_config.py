# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_config import render_config
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import GATEWAY, nat_spec


def config_lines(**dhcp):
    return render_config(nat_spec(dhcp=dhcp), GATEWAY, '/state/guests/dnsmasq.leases', '/state/guests/dnsmasq.pid').splitlines()


def test_bound_only_to_its_bridge_with_its_own_files():
    lines = config_lines()
    assert lines[0].startswith('# dnsmasq for the xen_nat network guests')
    for line in ('interface=xenbr1', 'except-interface=lo', 'bind-dynamic', 'no-hosts',
                 'dhcp-leasefile=/state/guests/dnsmasq.leases', 'pid-file=/state/guests/dnsmasq.pid'):
        assert line in lines


def test_without_dns_servers_the_gateway_serves_dns():
    lines = config_lines()
    assert 'dhcp-option=option:dns-server,10.0.1.1' in lines
    assert 'port=0' not in lines


def test_given_dns_servers_turn_dnsmasq_dns_off():
    lines = config_lines(dns_servers=['198.51.100.2', '198.51.100.3'])
    assert 'dhcp-option=option:dns-server,198.51.100.2,198.51.100.3' in lines
    assert 'port=0' in lines and 'no-resolv' in lines


def test_the_gateway_among_the_dns_servers_keeps_dns_on():
    assert 'port=0' not in config_lines(dns_servers=['10.0.1.1', '198.51.100.2'])


def test_dynamic_range_with_netmask_and_lease_time():
    lines = config_lines(range_start='10.0.1.100', range_end='10.0.1.150', lease_time=600)
    assert 'dhcp-range=10.0.1.100,10.0.1.150,255.255.255.0,600' in lines


def test_without_range_only_fixed_leases_are_served():
    assert 'dhcp-range=10.0.1.0,static,255.255.255.0,3600' in config_lines()


def test_router_domain_fixed_leases_and_extra_options():
    lines = config_lines(domain='lab.internal', extra_options=['log-dhcp'],
                         hosts=[dict(mac='02:00:0A:00:01:0A', ip='10.0.1.10', hostname='web'), dict(ip='10.0.1.11')])
    assert 'dhcp-option=option:router,10.0.1.1' in lines
    assert 'domain=lab.internal' in lines
    assert 'dhcp-host=02:00:0a:00:01:0a,10.0.1.10,web,3600' in lines
    assert 'dhcp-host=02:00:0a:00:01:0b,10.0.1.11,3600' in lines
    assert lines[-1] == 'log-dhcp'
