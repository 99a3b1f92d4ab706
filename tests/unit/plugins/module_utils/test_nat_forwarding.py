# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.nat.forwarding import (
    dump_ledger, load_ledger, plan_forwarding, read_forwarding, write_forwarding)


def flags(**values):
    return lambda ifname: values.get(ifname.replace('.', '_'))


def test_first_claim_records_the_original_and_switches_on():
    ledger, writes = plan_forwarding({}, 'guests', ['xenbr1', 'eth0'], flags(xenbr1='0', eth0='0'))
    assert writes == [('xenbr1', '0', '1'), ('eth0', '0', '1')]
    assert ledger == {'xenbr1': {'original': '0', 'instances': ['guests']}, 'eth0': {'original': '0', 'instances': ['guests']}}


def test_interfaces_already_forwarding_are_not_written():
    ledger, writes = plan_forwarding({}, 'guests', ['eth0'], flags(eth0='1'))
    assert writes == []
    assert ledger == {'eth0': {'original': '1', 'instances': ['guests']}}


def test_a_claimed_interface_that_lost_its_flag_is_switched_on_again():
    ledger = {'xenbr1': {'original': '0', 'instances': ['guests']}}
    assert plan_forwarding(ledger, 'guests', ['xenbr1'], flags(xenbr1='0'))[1] == [('xenbr1', '0', '1')]


def test_converged_claims_change_nothing():
    ledger = {'eth0': {'original': '0', 'instances': ['guests']}}
    assert plan_forwarding(ledger, 'guests', ['eth0'], flags(eth0='1')) == (ledger, [])


def test_a_shared_uplink_is_put_back_only_when_the_last_instance_leaves():
    ledger, dummy = plan_forwarding({}, 'one', ['eth0'], flags(eth0='0'))
    ledger, writes = plan_forwarding(ledger, 'two', ['eth0'], flags(eth0='1'))
    assert writes == [] and ledger['eth0'] == {'original': '0', 'instances': ['one', 'two']}
    ledger, writes = plan_forwarding(ledger, 'one', [], flags(eth0='1'))
    assert writes == [] and ledger['eth0']['instances'] == ['two']
    ledger, writes = plan_forwarding(ledger, 'two', [], flags(eth0='1'))
    assert writes == [('eth0', '1', '0')] and ledger == {}


def test_an_original_value_of_one_is_left_on():
    ledger = {'eth0': {'original': '1', 'instances': ['guests']}}
    assert plan_forwarding(ledger, 'guests', [], flags(eth0='1')) == ({}, [])


def test_a_vanished_interface_is_forgotten_without_a_write():
    ledger = {'xenbr9': {'original': '0', 'instances': ['guests']}}
    assert plan_forwarding(ledger, 'guests', [], flags()) == ({}, [])


def test_an_interface_no_longer_needed_is_released_while_others_are_kept():
    ledger = {'eth0': {'original': '0', 'instances': ['guests']}, 'eth1': {'original': '0', 'instances': ['guests']}}
    ledger, writes = plan_forwarding(ledger, 'guests', ['eth1'], flags(eth0='1', eth1='1'))
    assert writes == [('eth0', '1', '0')]
    assert list(ledger) == ['eth1']


def test_the_caller_ledger_is_not_modified():
    ledger = {'eth0': {'original': '0', 'instances': ['one']}}
    plan_forwarding(ledger, 'two', ['eth0'], flags(eth0='1'))
    assert ledger == {'eth0': {'original': '0', 'instances': ['one']}}


def test_ledger_file_round_trip():
    ledger = {'vif1.0': {'original': '0', 'instances': ['guests']}}
    assert load_ledger(dump_ledger(ledger)) == ledger
    assert load_ledger(None) == {}


def test_flags_are_read_and_written_by_path_so_dotted_names_work(tmp_path):
    (tmp_path / 'vif1.0').mkdir()
    (tmp_path / 'vif1.0' / 'forwarding').write_text('0\n')
    assert read_forwarding('vif1.0', str(tmp_path)) == '0'
    write_forwarding('vif1.0', '1', str(tmp_path))
    assert read_forwarding('vif1.0', str(tmp_path)) == '1'
    assert read_forwarding('missing', str(tmp_path)) is None
