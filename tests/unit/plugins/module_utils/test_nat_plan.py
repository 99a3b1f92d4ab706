# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The xen_nat planner against fakes of netlink, nft and dnsmasq, with real files in a temporary directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_service import ServiceError
from ansible_collections.xenfleet.network.plugins.module_utils.nat.host_checks import host_problems
from ansible_collections.xenfleet.network.plugins.module_utils.nat.plan import Actors, NatPlanner
from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import NatSpec
from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import NatPaths
from ansible_collections.xenfleet.network.plugins.module_utils.nat.view import read_view
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, Address, Link
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import PlanFailed
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import nat_spec


class FakeNet:
    def __init__(self, addresses):
        self.addresses_of = addresses  # {ifname: [cidr]}
        self.calls = []

    def link(self, name):
        if name not in self.addresses_of:
            return None
        return Link(sorted(self.addresses_of).index(name) + 1, name, 'bridge', None, 1500, True, None, None)

    def addresses(self, index):
        name = sorted(self.addresses_of)[index - 1]
        return [Address(AF_INET, cidr.split('/')[0], int(cidr.split('/')[1]), True) for cidr in self.addresses_of[name]]

    def add_address(self, name, address, moving=True):
        self.calls.append(('add', name, address.address, address.prefixlen))
        self.addresses_of[name].append('%s/%d' % (address.address, address.prefixlen))

    def delete_address(self, name, address):
        self.calls.append(('delete', name, address.address, address.prefixlen))
        self.addresses_of[name].remove('%s/%d' % (address.address, address.prefixlen))


class FakeNft:
    """Keeps one table as the script text that made it; lists it as one JSON object per line."""

    nft_path = '/usr/sbin/nft'

    def __init__(self):
        self.table = None
        self.applied = []
        self.refuse = False

    @staticmethod
    def run_command(argv):
        raise AssertionError('no command expected: %r' % (argv,))

    def table_json(self, family, name):
        if self.table is None:
            return None
        return [{'metainfo': {}}] + [{'line': {'text': line, 'handle': number}} for number, line in enumerate(self.table.splitlines())]

    def table_text(self, family, name):
        return self.table or ''

    def check(self, script):
        pass

    def apply(self, script):
        if self.refuse:
            raise RuntimeError('nft -f failed')
        self.applied.append(script)
        body = script.split('delete table ip %s\n' % script.split()[2], 1)[1]
        self.table = body or None


class FakeService:
    manager = 'pidfile'

    def __init__(self):
        self.pid = None
        self.next_pid = 100
        self.fail_start = False
        self.events = []

    def files(self):
        return []

    def running_pid(self):
        return self.pid

    def start(self):
        self.events.append('start')
        if self.fail_start:
            raise ServiceError('dnsmasq did not start')
        self.next_pid += 1
        self.pid = self.next_pid

    def stop(self):
        self.events.append('stop')
        self.pid = None

    def reload_units(self):
        self.events.append('reload')


class Host:
    """One fake dom0: links, table, dnsmasq, forwarding flags and config checks, plus real files under tmp_path."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.net = FakeNet({'xenbr1': ['10.0.1.1/24'], 'eth0': ['192.0.2.10/24']})
        self.nft = FakeNft()
        self.service = FakeService()
        self.flags = {'xenbr1': '0', 'eth0': '0'}
        self.checked = []

    def check_config(self, text, path):
        self.checked.append(path)
        if 'bad-option' in text:
            raise ServiceError('dnsmasq --test refused the configuration for %s: bad option' % path, 'bad-option')

    def write_flag(self, ifname, value):
        self.flags[ifname] = value

    def spec(self, **params):
        params.update(state_dir=str(self.tmp_path / 'state'), config_dir=str(self.tmp_path / 'etc'),
                      systemd_unit_dir=str(self.tmp_path / 'systemd'))
        if params.get('state') == 'absent':
            return NatSpec(dict(params, name='guests'))
        params.setdefault('dhcp', dict(hosts=[dict(ip='10.0.1.10', hostname='web')], dns_servers=['198.51.100.2']))
        return nat_spec(**params)

    def planner(self, **params):
        nat = self.spec(**params)
        paths = NatPaths(nat)
        view = read_view(nat, paths, self.net, self.nft, self.service, self.flags.get)
        planner = NatPlanner(nat, paths, view, Actors(self.net, self.nft, self.service, self.write_flag, self.check_config))
        if nat.state == 'present':
            problems, gateway = host_problems(nat, view)
            assert problems == []
            planner.plan_present(gateway)
        else:
            planner.plan_absent()
        return planner

    def converge(self, **params):
        planner = self.planner(**params)
        planner.plan.apply()
        return planner


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def test_a_new_network_in_order(host, tmp_path, sysctl_record_in_tmp):
    planner = host.planner()
    assert planner.plan.names() == [
        'write %s' % sysctl_record_in_tmp,  # the record of kernel settings shared with xen_route, ahead of the kernel
        'set net.ipv4.conf.eth0.forwarding to 1',
        'set net.ipv4.conf.xenbr1.forwarding to 1',
        'create nftables table ip xenfleet_nat_guests',
        'write %s' % (tmp_path / 'etc' / 'guests.nft'),
        'write %s' % (tmp_path / 'systemd' / 'xenfleet-nat-guests-firewall.service'),
        'enable xenfleet-nat-guests-firewall.service at boot (sysinit.target)',
        'write %s' % (tmp_path / 'etc' / 'guests.dnsmasq.conf'),
        'start dnsmasq for xenbr1',
        'write %s' % (tmp_path / 'state' / 'guests' / 'instance.json')]


def test_planning_changes_nothing(host, tmp_path):
    host.planner()
    assert host.nft.applied == [] and host.service.events == [] and host.flags == {'xenbr1': '0', 'eth0': '0'}
    assert not (tmp_path / 'state').exists() and not (tmp_path / 'etc').exists() and not (tmp_path / 'systemd').exists()


def test_a_converged_network_plans_nothing_and_keeps_dnsmasq(host):
    host.converge()
    pid = host.service.pid
    planner = host.planner()
    assert planner.plan.names() == []
    assert host.service.pid == pid
    assert planner.after(ipaddress.IPv4Address('10.0.1.1'))['dnsmasq']['running']


def test_a_new_fixed_lease_restarts_dnsmasq_and_leaves_the_table(host):
    host.converge()
    planner = host.planner(dhcp=dict(hosts=[dict(ip='10.0.1.12', hostname='web')], dns_servers=['198.51.100.2']))
    assert [name.split(' /')[0] for name in planner.plan.names()] == ['stop dnsmasq (pid 101)', 'write', 'start dnsmasq for xenbr1', 'write']
    planner.plan.apply()
    assert host.service.pid == 102


def test_a_dead_dnsmasq_is_started_again(host):
    host.converge()
    host.service.pid = None
    assert host.planner().plan.names()[0] == 'start dnsmasq for xenbr1'


def test_a_table_edited_by_hand_is_replaced(host):
    host.converge()
    host.nft.table += '\tchain extra {\n\t}\n'
    assert host.planner().plan.names()[0] == 'replace nftables table ip xenfleet_nat_guests'


def test_a_refused_configuration_stops_the_plan_before_any_step(host):
    host.converge()
    with pytest.raises(ServiceError) as raised:
        # allow_unsafe_options lets an unknown option through to dnsmasq --test, which judges it.
        host.planner(dhcp=dict(extra_options=['log-dhcp', 'bad-option'], allow_unsafe_options=True))
    assert str(raised.value).startswith("dhcp.extra_options[1] 'bad-option' was refused: dnsmasq --test refused the configuration")
    assert host.service.events == ['start']


def test_dnsmasq_that_will_not_start_gets_its_old_configuration_back_and_runs_again(host, tmp_path):
    host.converge()
    config = tmp_path / 'etc' / 'guests.dnsmasq.conf'
    old = config.read_text()
    planner = host.planner(dhcp=dict(hosts=[dict(ip='10.0.1.12')]))
    host.service.fail_start = True
    with pytest.raises(PlanFailed) as raised:
        planner.plan.apply()
    assert raised.value.step == 'start dnsmasq for xenbr1'
    assert config.read_text() == old
    assert host.service.events == ['start', 'stop', 'start', 'start']  # the last one: the rollback's


def test_a_failed_table_rolls_back_forwarding(host):
    planner = host.planner()
    host.nft.refuse = True
    with pytest.raises(PlanFailed):
        planner.plan.apply()
    assert host.flags == {'xenbr1': '0', 'eth0': '0'}


def test_a_given_gateway_is_added_to_the_bridge_and_removed_with_the_network(host):
    host.net.addresses_of['xenbr1'] = []
    created = host.converge(gateway='10.0.1.254')
    assert created.plan.names()[0] == 'add address 10.0.1.254/24 to xenbr1'
    assert host.net.addresses_of['xenbr1'] == ['10.0.1.254/24']
    removed = host.converge(state='absent')
    assert 'delete address 10.0.1.254/24 from xenbr1' in removed.plan.names()
    assert host.net.addresses_of['xenbr1'] == []


def test_a_gateway_the_bridge_already_had_is_never_removed(host):
    host.converge(gateway='10.0.1.1')
    removed = host.converge(state='absent')
    assert not any(name.startswith('delete address') for name in removed.plan.names())
    assert host.net.addresses_of['xenbr1'] == ['10.0.1.1/24']


def test_removal_stops_dnsmasq_deletes_everything_and_puts_forwarding_back(host, tmp_path):
    host.converge()
    (tmp_path / 'state' / 'guests' / 'dnsmasq.leases').write_text('lease\n')
    removed = host.converge(state='absent')
    assert [name.split(' /')[0] for name in removed.plan.names()] == [
        'disable xenfleet-nat-guests-firewall.service at boot', 'remove', 'remove',
        'stop dnsmasq (pid 101)', 'remove', 'remove', 'delete nftables table ip xenfleet_nat_guests',
        # the record of kernel settings keeps the originals until the flags are back, then goes
        'write', 'set net.ipv4.conf.eth0.forwarding to 0', 'set net.ipv4.conf.xenbr1.forwarding to 0', 'remove',
        'remove', 'remove']
    assert host.nft.table is None and host.service.pid is None
    assert host.flags == {'xenbr1': '0', 'eth0': '0'}
    assert os.listdir(str(tmp_path / 'state')) == [] and os.listdir(str(tmp_path / 'etc')) == []
    assert os.listdir(str(tmp_path / 'systemd')) == ['sysinit.target.wants'] and os.listdir(str(tmp_path / 'systemd' / 'sysinit.target.wants')) == []
    assert host.planner(state='absent').plan.names() == []


def test_dhcp_disabled_stops_and_removes_dnsmasq_only(host, tmp_path):
    host.converge()
    planner = host.converge(dhcp=dict(enabled=False))
    assert [name.split(' /')[0] for name in planner.plan.names()] == ['stop dnsmasq (pid 101)', 'remove', 'write']
    assert not (tmp_path / 'etc' / 'guests.dnsmasq.conf').exists()


def test_ip_forward_false_gives_the_flags_back(host):
    host.converge()
    planner = host.converge(ip_forward=False)
    assert planner.plan.names()[1:3] == ['set net.ipv4.conf.eth0.forwarding to 0', 'set net.ipv4.conf.xenbr1.forwarding to 0']
    assert host.flags == {'xenbr1': '0', 'eth0': '0'}


def test_diff_shows_table_config_and_state(host):
    planner = host.planner()
    table, config, boot_table, link, unit, state = planner.diffs()
    assert table['before'] == '' and 'masquerade' in table['after']
    assert boot_table['before'] == '' and 'masquerade' in boot_table['after'] and boot_table['after'].startswith('#!/usr/sbin/nft -f')
    assert unit['before'] == '' and 'ExecStart=/usr/sbin/nft -f %s' % boot_table['after_header'] in unit['after']
    assert link['before'] == '' and link['after'] == '-> %s\n' % unit['after_header']
    assert config['before'] == '' and 'dhcp-host=02:00:0a:00:01:0a,10.0.1.10,web,3600' in config['after']
    assert state['before'] == dict(forwarding={'eth0': '0', 'xenbr1': '0'}, gateway_added=None, dnsmasq_running=False)
    assert state['after'] == dict(forwarding={'eth0': '1', 'xenbr1': '1'}, gateway_added=None, dnsmasq_running=True)


def test_only_this_instance_interfaces_are_read_and_reported(host, tmp_path, sysctl_record_in_tmp):
    (tmp_path / 'state').mkdir()
    (tmp_path / 'state' / 'forwarding.json').write_text('{"interfaces": {"xenbr7": {"original": "0", "instances": ["other"]}}}')
    host.flags['xenbr7'] = '1'
    planner = host.converge()
    assert planner.after(None)['forwarding'] == {'eth0': '1', 'xenbr1': '1'}
    # The former ledger is taken over by the shared record of kernel settings, the other instance's claim with it.
    assert not (tmp_path / 'state' / 'forwarding.json').exists()
    assert '"xen_nat other": "1"' in open(sysctl_record_in_tmp).read()
