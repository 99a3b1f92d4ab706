# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Forwarding flags claimed in the one record of kernel settings (common/sysctls.py), shared by xen_nat and xen_route."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import SysctlError, SysctlRecord, Sysctls, load
from ansible_collections.xenfleet.network.plugins.module_utils.nat.forwarding import (
    concerned, forwarding_ifname, forwarding_key, load_ledger, plan_forwarding, read_forwarding, take_over_ledger, write_forwarding)

ETH0 = 'net/ipv4/conf/eth0/forwarding'


class Flags(dict):
    def write(self, ifname, value):
        self[ifname] = value


def run(path, name, needed, flags):
    """One run of instance name: read the record, plan, apply; returns the step names."""
    plan = Plan()
    plan_forwarding(plan, SysctlRecord.read((path, None)), name, needed, flags.get, flags.write)
    plan.apply()
    return plan.names()


def test_first_claim_records_the_original_and_switches_on(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(xenbr1='0', eth0='0')
    assert run(path, 'guests', ['xenbr1', 'eth0'], flags) == ['write %s' % path,  # the record ahead of the kernel
                                                              'set net.ipv4.conf.eth0.forwarding to 1',
                                                              'set net.ipv4.conf.xenbr1.forwarding to 1']
    assert flags == dict(xenbr1='1', eth0='1')
    assert load(open(path, 'rb').read(), path)[ETH0] == {'original': '0', 'users': {'xen_nat guests': '1'}}
    assert run(path, 'guests', ['xenbr1', 'eth0'], flags) == []


def test_a_flag_already_on_that_nobody_holds_needs_no_record_and_is_left_on(tmp_path):
    # its original is the value itself: a record would change nothing but make the first run after a reboot that
    # lost /run (a lab's or a container's namespace) report a change
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='1')
    assert run(path, 'guests', ['eth0'], flags) == []
    assert run(path, 'guests', [], flags) == []
    assert flags == dict(eth0='1')


def test_a_flag_already_on_that_another_user_holds_is_held_by_both(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='0')
    run(path, 'one', ['eth0'], flags)
    assert run(path, 'two', ['eth0'], flags) == ['write %s' % path]
    assert run(path, 'one', [], flags) == ['write %s' % path]
    assert flags == dict(eth0='1')
    assert run(path, 'two', [], flags) == ['write %s' % path, 'set net.ipv4.conf.eth0.forwarding to 0', 'remove %s' % path]


def test_the_flag_goes_back_only_when_the_last_user_of_any_module_lets_go(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='0')
    run(path, 'one', ['eth0'], flags)
    plan = Plan()  # xen_route claims the same flag
    record = SysctlRecord.read((path, None))
    record.plan(plan, 'xen_route', {ETH0: '1', 'net/ipv4/conf/eth0/proxy_arp': '1'}, lambda key: flags.get(forwarding_ifname(key)) or '0',
                lambda key, value: None).finish(plan)
    plan.apply()
    assert run(path, 'one', [], flags) == ['write %s' % path]
    assert flags == dict(eth0='1')
    plan = Plan()
    SysctlRecord.read((path, None)).plan(plan, 'xen_route', {}, lambda key: flags.get(forwarding_ifname(key)) or '1',
                                         lambda key, value: flags.write(forwarding_ifname(key), value)).finish(plan)
    # The record keeps the originals until the values are back: a run killed in between is finished by the next.
    assert plan.names() == ['write %s' % path, 'set net.ipv4.conf.eth0.forwarding to 0', 'set net.ipv4.conf.eth0.proxy_arp to 0',
                            'remove %s' % path]


def test_a_put_back_a_killed_run_left_undone_is_finished_by_the_next(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='0')
    run(path, 'guests', ['eth0'], flags)
    plan = Plan()
    plan_forwarding(plan, SysctlRecord.read((path, None)), 'guests', [], flags.get, flags.write)
    plan.steps[0].action()  # killed right after the record was written ahead
    assert load(open(path, 'rb').read(), path) == {ETH0: {'original': '0', 'users': {}}}
    assert run(path, 'other', [], flags) == ['set net.ipv4.conf.eth0.forwarding to 0', 'remove %s' % path]
    assert flags == dict(eth0='0')


def test_an_instance_finishes_a_put_back_xen_route_left_undone(tmp_path):
    path, flags, proc = str(tmp_path / 'r.json'), Flags(eth0='1'), tmp_path / 'proc'
    (proc / 'net' / 'ipv4' / 'conf' / 'eth0').mkdir(parents=True)
    (proc / 'net' / 'ipv4' / 'conf' / 'eth0' / 'proxy_arp').write_text('1\n')
    record = SysctlRecord(path, entries={'net/ipv4/conf/eth0/proxy_arp': {'original': '0', 'users': {}}})
    plan = Plan()
    plan_forwarding(plan, record, 'guests', [], flags.get, flags.write, {'net/ipv4/conf/eth0/proxy_arp': '1'}, Sysctls(str(proc)))
    assert plan.names() == ['set net.ipv4.conf.eth0.proxy_arp to 0', 'remove %s' % path]
    plan.apply()
    assert (proc / 'net' / 'ipv4' / 'conf' / 'eth0' / 'proxy_arp').read_text() == '0\n'
    assert concerned(record, 'guests') == ([], ['net/ipv4/conf/eth0/proxy_arp'])


def test_a_claim_a_killed_run_wrote_ahead_keeps_the_original(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='0')
    plan = Plan()
    plan_forwarding(plan, SysctlRecord.read((path, None)), 'guests', ['eth0'], flags.get, flags.write)
    plan.steps[0].action()  # killed before the flag was set
    assert run(path, 'guests', ['eth0'], flags) == ['set net.ipv4.conf.eth0.forwarding to 1']
    run(path, 'guests', [], flags)
    assert flags == dict(eth0='0')


def test_an_interface_that_is_gone_is_dropped_without_a_write(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(xenbr9='0')
    run(path, 'guests', ['xenbr9'], flags)
    del flags['xenbr9']
    assert run(path, 'guests', [], flags) == ['remove %s' % path]


def test_users_needing_different_values_are_refused_naming_both(tmp_path):
    record = SysctlRecord(str(tmp_path / 'r.json'), entries={ETH0: {'original': '0', 'users': {'xen_route': '1'}}})
    with pytest.raises(SysctlError, match=r'xen_nat x needs net.ipv4.conf.eth0.forwarding = 0, but xen_route needs 1'):
        record.claim('xen_nat x', {ETH0: '0'}, lambda key: '1')


def test_a_failed_step_puts_record_and_flags_back(tmp_path):
    path, flags = str(tmp_path / 'r.json'), Flags(eth0='0')
    plan = Plan()
    plan_forwarding(plan, SysctlRecord.read((path, None)), 'guests', ['eth0'], flags.get, flags.write)
    plan.add('fail', lambda: 1 / 0)
    with pytest.raises(Exception):
        plan.apply()
    assert flags == dict(eth0='0') and not (tmp_path / 'r.json').exists()


def test_the_former_ledger_is_taken_over_with_its_originals(tmp_path):
    ledger = load_ledger(json.dumps({'interfaces': {'eth0': {'original': '0', 'instances': ['one', 'two']}}}).encode())
    record = SysctlRecord(str(tmp_path / 'r.json'))
    take_over_ledger(record, ledger)
    assert record.entries == {ETH0: {'original': '0', 'users': {'xen_nat one': '1', 'xen_nat two': '1'}}}
    assert load_ledger(None) == {}


@pytest.mark.parametrize('content', [b'[]', b'{"sysctls": []}', b'{"sysctls": {"net/ipv4/conf/eth0/forwarding": {"users": {}}}}',
                                     b'{"sysctls": {"../../etc/passwd": {"original": "0", "users": {}}}}', b'{'])
def test_a_record_this_module_did_not_write_fails_naming_it(tmp_path, content):
    with pytest.raises(SysctlError, match='reading %s' % (tmp_path / 'r.json')):
        load(content, str(tmp_path / 'r.json'))


def test_a_record_left_by_a_namespace_that_is_gone_is_not_used():
    data = json.dumps({'sysctls': {ETH0: {'original': '0', 'users': {'xen_route': '1'}}}, 'netns_cookie': 5}).encode()
    assert load(data, 'r.json', cookie=6) == {}
    assert list(load(data, 'r.json', cookie=5)) == [ETH0]


def test_keys_name_the_interface_flag():
    assert forwarding_key('vif1.0') == 'net/ipv4/conf/vif1.0/forwarding'
    assert forwarding_ifname('net/ipv4/conf/vif1.0/forwarding') == 'vif1.0'
    assert forwarding_ifname('net/ipv4/conf/vif1.0/proxy_arp') is None


def test_flags_are_read_and_written_by_path_so_dotted_names_work(tmp_path):
    (tmp_path / 'vif1.0').mkdir()
    (tmp_path / 'vif1.0' / 'forwarding').write_text('0\n')
    assert read_forwarding('vif1.0', str(tmp_path)) == '0'
    write_forwarding('vif1.0', '1', str(tmp_path))
    assert read_forwarding('vif1.0', str(tmp_path)) == '1'
    assert read_forwarding('missing', str(tmp_path)) is None


def test_records_of_namespaces_that_are_gone_are_removed_with_the_next_write(tmp_path, monkeypatch):
    from ansible_collections.xenfleet.network.plugins.module_utils.common import nft_snapshot, sysctls
    monkeypatch.setattr(sysctls, 'RUN_RECORD_DIR', str(tmp_path))
    monkeypatch.setattr(nft_snapshot, 'live_namespace_inodes', lambda: set([11, 12]))
    for inode in (11, 12, 13):
        (tmp_path / ('netns-%d.json' % inode)).write_text('{}')
    (tmp_path / 'other.json').write_text('{}')
    path, flags = str(tmp_path / 'netns-12.json'), Flags(eth0='0')
    plan = Plan()
    plan_forwarding(plan, SysctlRecord(path), 'guests', ['eth0'], flags.get, flags.write)
    plan.apply()
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ['netns-11.json', 'netns-12.json', 'other.json']
