# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import state
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import NftBackend

from antispoof_testing import fixture_text, spec


def kernel_tables():
    return dict((family, state.parse_table(family, json.loads(fixture_text('nft-%s.json' % family))['nftables']))
                for family in render.FAMILIES)


class FakeNft:
    """run_command answering `nft -j list table` from the fixtures and recording scripts."""

    def __init__(self, tables=('bridge', 'inet')):
        self.tables = tables
        self.scripts = []

    def __call__(self, argv, data=None, binary_data=False):
        if argv[1:3] == ['-j', 'list'] and argv[4] in self.tables:
            return 0, fixture_text('nft-%s.json' % argv[4]), ''
        if argv[1:3] == ['-j', 'list']:
            return 1, '', 'Error: No such file or directory'
        self.scripts.append(data)
        return 0, '', ''


def test_the_kernels_tables_read_back_as_the_policy_that_made_them():
    tables = kernel_tables()
    current = state.policy_of(tables)
    desired = render.desired_policy(spec(), {})
    assert dict((key, value) for key, value in current.items()) == desired
    for family in render.FAMILIES:
        assert tables[family].layout() == render.expected_layout(family)
        assert tables[family].hooks == {'prerouting': ('prerouting', -350)}


def test_counters_come_from_the_dispatch_map_the_dropped_set_and_the_named_counter():
    counters = state.counters_of(kernel_tables())
    result = state.vif_counters(counters, ['vif1.0', 'vif2.0', 'vif3.0'])
    assert result['vif1.0']['accepted']['packets'] > 0
    assert set(result) == {'vif1.0', 'vif2.0', 'vif3.0'}
    assert state.unlisted_counter(counters) == {'packets': 0, 'bytes': 0}
    counters[('bridge', 'unlisted', '"vif*"')] = (2, 120)
    counters[('bridge', 'unlisted', '"tap*"')] = (1, 60)
    assert state.unlisted_counter(counters) == {'packets': 3, 'bytes': 180}


def test_a_rerun_against_the_kernels_tables_plans_nothing():
    backend = NftBackend(FakeNft()).read()
    change = backend.plan_present(spec())
    assert not change
    assert change.after_text == change.before_text()


def test_one_more_vif_is_one_transaction_of_elements():
    fake = FakeNft()
    backend = NftBackend(fake).read()
    change = backend.plan_present(spec([dict(name='vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'])]))
    assert change.summary == 'update nftables sets (+14 -0 elements; vifs vif9.0)'
    change.apply()
    assert len(fake.scripts) == 1 and fake.scripts[0].count('add element') == 7
    assert 'table' not in fake.scripts[0].replace('add element bridge xenfleet_antispoof', '')


def test_a_missing_table_means_replacing_whole_tables():
    backend = NftBackend(FakeNft(tables=('bridge',))).read()
    change = backend.plan_present(spec())
    assert change.summary.startswith('replace nftables tables inet xenfleet_antispoof')


def test_absent_deletes_only_the_collections_tables():
    fake = FakeNft()
    change = NftBackend(fake).read().plan_absent()
    change.apply()
    assert fake.scripts[-1] == 'delete table bridge xenfleet_antispoof\ndelete table inet xenfleet_antispoof\n'


def test_ranges_that_are_not_one_network_stay_ranges():
    definition = render.SETS_BY_NAME['net4']
    element, counter = state.parse_element(definition, {'concat': ['vif1.0', {'range': ['10.0.0.1', '10.0.0.6']}]})
    assert element == '"vif1.0" . 10.0.0.1-10.0.0.6' and counter is None
    element, _counter = state.parse_element(definition, {'concat': ['vif1.0', {'range': ['10.0.0.0', '10.0.0.255']}]})
    assert element == '"vif1.0" . 10.0.0.0/24'
