# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shutil
import subprocess

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_config import (
    SAFE_OPTIONS, UNSAFE_OPTIONS, DnsmasqValueError, extra_option_problems, render_config)
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import GATEWAY, nat_problems, nat_spec


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


# ---------------------------------------------------------------- hostile values

@pytest.mark.parametrize('field, value', [
    ('bridge', 'xenbr1\ndhcp-script=/tmp/x'), ('bridge', 'eth*'), ('bridge', 'a,b'), ('bridge', 'b' * 16), ('bridge', 'x y'),
    ('name', 'guests\nconf-file=/tmp/x'),
])
def test_a_spec_value_the_config_cannot_carry_is_refused(field, value):
    spec = nat_spec()
    setattr(spec, field, value)  # as if validation had been bypassed
    with pytest.raises(DnsmasqValueError, match=r'^dnsmasq configuration: %s %s ' % (field, re.escape(repr(value)))):
        render_config(spec, GATEWAY, '/state/guests/dnsmasq.leases', '/state/guests/dnsmasq.pid')


@pytest.mark.parametrize('path', ['/state/x\ndhcp-script=/tmp/x/dnsmasq.leases', '/state dir/x', '/state/#x', '/state/"x"', 'relative',
                                  '/a\\b', '/a\0b', '/a\rb'])
def test_a_lease_path_the_config_cannot_carry_is_refused(path):
    with pytest.raises(DnsmasqValueError, match=r'lease file under state_dir %s is not an absolute path' % re.escape(repr(path))):
        render_config(nat_spec(), GATEWAY, path, '/state/guests/dnsmasq.pid')


def test_hostnames_and_domain_are_checked_again_when_written():
    spec = nat_spec(dhcp=dict(domain='lab.internal', hosts=[dict(ip='10.0.1.10', hostname='web')]))
    spec.dhcp.hosts[0].hostname = 'web,infinite\ndhcp-script=/x'
    with pytest.raises(DnsmasqValueError, match=r"dhcp.hosts\[0\].hostname 'web,infinite\\ndhcp-script=/x' is not a host name"):
        render_config(spec, GATEWAY, '/l', '/p')
    spec.dhcp.hosts[0].hostname = 'web'
    spec.dhcp.domain = 'lab internal'
    with pytest.raises(DnsmasqValueError, match="dhcp.domain 'lab internal' is not a DNS domain name"):
        render_config(spec, GATEWAY, '/l', '/p')


# ---------------------------------------------------------------- dhcp.extra_options

@pytest.mark.parametrize('option, reason', [
    ('dhcp-script=/tmp/x', 'makes dnsmasq run a program'),
    ('dhcp-luascript=/tmp/x.lua', 'makes dnsmasq run a program'),
    ('conf-script=/tmp/x', 'makes dnsmasq run a program'),
    ('conf-file=/etc/shadow', 'makes dnsmasq read another file'),
    ('conf-dir=/tmp', 'makes dnsmasq read another file'),
    ('addn-hosts=/tmp/hosts', 'makes dnsmasq read another file'),
    ('read-ethers', 'makes dnsmasq read another file'),
    ('pid-file=/etc/passwd', 'makes dnsmasq write a file'),
    ('log-facility=/etc/cron.d/x', 'makes dnsmasq write a file'),
    ('dumpfile=/root/x', 'makes dnsmasq write a file'),
    ('enable-tftp', "serves the host's files by TFTP"),
    ('tftp-root=/', "serves the host's files by TFTP"),
    ('user=root', 'changes the user dnsmasq runs as'),
    ('interface=eth0', 'changes the interfaces, addresses or ports dnsmasq answers on'),
    ('nftset=/example.com/4#inet#filter#allow', "changes the host's firewall sets or talks on a system bus"),
    (' dhcp-script = /tmp/x', 'makes dnsmasq run a program'),
])
def test_an_option_that_runs_reads_writes_or_escapes_is_refused_with_its_reason(option, reason):
    assert extra_option_problems(['log-dhcp', option]) == [
        "dhcp.extra_options[1] '%s' %s; set dhcp.allow_unsafe_options: true to allow it" % (option, reason)]


@pytest.mark.parametrize('option', ['"dhcp-script"=/tmp/x', 'DHCP-SCRIPT=/tmp/x', '--dhcp-script=/tmp/x', 'dhcp-scrip=/x', 'no-such-option=1',
                                    'log-dhcp extra'])
def test_an_option_not_on_the_allow_list_is_refused_even_in_disguise(option):
    assert extra_option_problems([option]) == [
        "dhcp.extra_options[0] '%s' is not a dnsmasq option xen_nat knows to be safe; set dhcp.allow_unsafe_options: true to allow it"
        % option]


def test_safe_options_comments_and_blank_lines_pass():
    assert extra_option_problems(['dhcp-option=option:ntp-server,10.0.1.1', 'log-dhcp', '# a comment', '', 'domain=lab,10.0.1.0/24',
                                  'dhcp-host=02:00:0a:00:01:0c,set:known', 'server=/corp/192.0.2.53']) == []


def test_allow_unsafe_options_lets_them_through_but_never_a_line_break():
    assert extra_option_problems(['dhcp-script=/usr/local/bin/hook', 'no-such-option'], allow_unsafe=True) == []
    assert extra_option_problems(['log-dhcp\nconf-file=/etc/x'], allow_unsafe=True) == [
        "dhcp.extra_options[0] 'log-dhcp\nconf-file=/etc/x' holds a line break; give one option per item"]
    assert extra_option_problems(['log-dhcp\0x'], allow_unsafe=True) == [
        "dhcp.extra_options[0] 'log-dhcp\\x00x' holds a control character, which a dnsmasq configuration line cannot carry"]


def test_the_spec_refuses_them_and_the_renderer_again():
    assert nat_problems(dhcp=dict(extra_options=['log-dhcp', 'dhcp-script=/tmp/x'])) == [
        "dhcp.extra_options[1] 'dhcp-script=/tmp/x' makes dnsmasq run a program; set dhcp.allow_unsafe_options: true to allow it"]
    spec = nat_spec(dhcp=dict(extra_options=['log-dhcp']))
    spec.dhcp.extra_options.append('conf-file=/etc/x')
    with pytest.raises(DnsmasqValueError, match="'conf-file=/etc/x' makes dnsmasq read another file"):
        render_config(spec, GATEWAY, '/l', '/p')
    assert config_lines(extra_options=['dhcp-script=/usr/local/bin/hook'], allow_unsafe_options=True)[-1] == 'dhcp-script=/usr/local/bin/hook'


@pytest.mark.skipif(not shutil.which('dnsmasq'), reason='needs dnsmasq')
def test_every_option_the_installed_dnsmasq_knows_is_judged_deliberately():
    # A dnsmasq release with a new option fails this test until the option is put on one list or the other.
    known = set(re.findall(r'--([A-Za-z0-9-]+)', subprocess.run(['dnsmasq', '--help'], capture_output=True, text=True, check=True).stdout))
    judged = SAFE_OPTIONS | set(UNSAFE_OPTIONS)
    assert known - judged == set()
    assert SAFE_OPTIONS & set(UNSAFE_OPTIONS) == set()
