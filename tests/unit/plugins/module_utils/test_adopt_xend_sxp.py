# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The legacy xend-config.sxp corpus: parsing, wrapper scripts, and the topology each one maps to."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.adopt.topology import from_legacy, legacy_bridges
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.xend_sxp import (
    SxpError,
    parse_sxp,
    read_legacy_config,
    script_call,
    wrapper_calls,
)

CORPUS = os.path.join(os.path.dirname(__file__), 'fixtures', 'adopt')
SCRIPTS = os.path.join(CORPUS, 'scripts')


def legacy(name):
    return read_legacy_config(os.path.join(CORPUS, name), SCRIPTS)


# file -> (topology, the bridges its network scripts make as (name, netdev), with eth0 as the default route's device)
EXPECTED = {
    'bridge_netdev.sxp': ('multi_bridge', [('xenbr1', 'eth1')]),
    'bridge_defaults.sxp': ('multi_bridge', [('xenbr0', 'eth0')]),
    'bridge_antispoof.sxp': ('multi_bridge', [('xenbr0', 'eth0')]),
    'quoting.sxp': ('multi_bridge', [('xenbr0', 'eth0')]),
    'multi_bridge.sxp': ('multi_bridge', [('xenbr0', 'eth0'), ('xenbr1', None)]),
    'route.sxp': ('routed', []),
    'nat.sxp': ('brouter', []),
    'no_network.sxp': (None, []),
}


@pytest.mark.parametrize('name', sorted(EXPECTED))
def test_corpus_maps_to_topology(name):
    found = legacy(name)
    answer = from_legacy(found)
    topology, bridges = EXPECTED[name]
    assert (answer.name if answer else None) == topology
    assert legacy_bridges(found['calls'], 'eth0') == bridges
    if answer:
        assert answer.source == 'xend-config' and answer.reason


def test_corpus_is_complete():
    assert sorted(name for name in os.listdir(CORPUS) if name.endswith('.sxp') and not name.startswith('broken')) == sorted(EXPECTED)


def test_network_bridge_arguments_and_vif_script():
    found = legacy('bridge_netdev.sxp')
    assert found['network_script'] == dict(script='network-bridge', args={'bridge': 'xenbr1', 'netdev': 'eth1'}, positional=[], line=16)
    assert found['vif_script']['script'] == 'vif-bridge'
    assert found['wrapper'] is None and found['notes'] == []


def test_commented_settings_are_not_read():
    found = legacy('route.sxp')
    assert [call['script'] for call in found['calls']] == ['network-route']
    assert found['vif_script']['script'] == 'vif-route'


def test_quoted_string_across_settings_with_escaped_quotes():
    found = legacy('quoting.sxp')
    assert found['network_script']['args'] == {'netdev': 'eth0', 'bridge': 'xenbr0'}
    assert found['network_script']['line'] == 2
    assert found['vif_script'] == dict(script='vif-bridge', args={'bridge': 'xenbr0'}, positional=[], line=4)


def test_wrapper_script_is_expanded():
    found = legacy('multi_bridge.sxp')
    assert found['wrapper'] == os.path.join(SCRIPTS, 'my-network-script')
    assert [(call['script'], call['args'], call['positional'], call['line']) for call in found['calls']] == [
        ('network-bridge', {'vifnum': '0', 'netdev': 'eth0', 'bridge': 'xenbr0'}, ['$@'], 4),
        ('network-bridge', {'vifnum': '1', 'netdev': 'dummy0', 'bridge': 'xenbr1'}, ['$@'], 5),
    ]


def test_missing_wrapper_is_a_note(tmp_path):
    path = tmp_path / 'xend-config.sxp'
    path.write_text(u'(network-script my-bridges)\n')
    found = read_legacy_config(str(path), str(tmp_path))
    assert found['calls'] == [] and 'my-bridges' in found['notes'][0] and 'cannot be read' in found['notes'][0]
    assert from_legacy(found) is None


def test_missing_file_is_absent(tmp_path):
    found = read_legacy_config(str(tmp_path / 'none.sxp'))
    assert found['present'] is False and found['calls'] == []


@pytest.mark.parametrize('name, line, column, message', [
    ('broken_unclosed.sxp', 2, 17, 'string is not closed'),
    ('broken_paren.sxp', 1, 32, "')' closes nothing"),
])
def test_broken_files_name_line_and_column(name, line, column, message):
    with pytest.raises(SxpError) as caught:
        legacy(name)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert message in str(caught.value)


@pytest.mark.parametrize('text, line, column', [
    ('(a b', 1, 1),
    ('network-script x', 1, 1),
    ('(("a") b)', 1, 1),
    ('\n  ()', 2, 3),
])
def test_malformed(text, line, column):
    with pytest.raises(SxpError) as caught:
        parse_sxp(text)
    assert (caught.value.line, caught.value.column) == (line, column)


def test_nested_values_and_later_settings_win():
    settings = parse_sxp("(a (b c) 'd e')\n(network-script one)\n(network-script two)\n")
    assert settings[0] == ('a', [['b', 'c'], 'd e'], 1)
    assert read_legacy_config('x', reader=lambda path: "(network-script one)\n(network-script 'network-route')\n")['calls'][0]['line'] == 2


def test_script_call_splits_like_a_shell():
    call = script_call("/etc/xen/scripts/network-bridge 'bridge=xen br' netdev=eth0 start")
    assert call.script == 'network-bridge'
    assert call.args == {'bridge': 'xen br', 'netdev': 'eth0'} and call.positional == ['start']
    assert script_call('   ') is None
    with pytest.raises(SxpError):
        script_call("network-bridge 'open")


def test_wrapper_calls_ignore_comments_and_other_commands():
    text = ('#!/bin/sh\n# network-bridge bridge=old\nlogger starting\n'
            '/etc/xen/scripts/network-route "$@" netdev=eth2  # route too\n'
            'exec network-nat "$@"\n')
    calls = wrapper_calls(text)
    assert [(call.script, call.args, call.line) for call in calls] == [('network-route', {'netdev': 'eth2'}, 4), ('network-nat', {}, 5)]
