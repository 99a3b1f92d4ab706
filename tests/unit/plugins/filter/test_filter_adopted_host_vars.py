# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The adopted host_vars file: the variables through a YAML dumper, the header's comments escaped."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import AnsibleUnsafeText

from ansible_collections.xenfleet.network.plugins.filter.adopted_host_vars import adopted_host_vars_file, comment_text

HOST_VARS = {
    'xenfleet_topology': 'multi_bridge',
    'xenfleet_uplink': 'eth0',
    'xenfleet_bridges': [{'name': 'xenbr0', 'uplink': 'eth0', 'forward_delay': 15.0}],
    'xenfleet_guests': [{'name': 'g1', 'type': 'pv', 'config': '/etc/xen/g1.cfg',
                         'vifs': [{'mac': '02:00:c0:00:02:15', 'bridge': 'xenbr0', 'ip': ['192.0.2.21'], 'vifname': 'g1-0', 'mtu': 9000}]}],
    'xenfleet_xl_config_dir': '/etc/xen',
    'xenfleet_bridge_subnets': {'xenbr0': '192.0.2.0/24'},
    'xenfleet_antispoof': False,
}
# Every way a YAML reader ends a comment or a scalar, and what it would read next.
INJECTIONS = ['x\nansible_connection: local', 'x\ransible_connection: local', 'x\x85ansible_connection: local',
              'x\u2028ansible_connection: local', 'x\u2029ansible_connection: local', 'x\r\nansible_connection: local',
              'x: y', '{a: 1}', '!!python/object/apply:os.system ["id"]', '&anchor', '*anchor', '- item', '---', '...',
              '# x', '%YAML 1.1', 'x\x00y', 'x\x1by', 'x\u200ey', 'x\ufeffy', 'b' * 5000]


def adopted(**changes):
    result = dict(host_vars=HOST_VARS, topology=dict(name='multi_bridge', reason='xenbr0 holds the uplink eth0 as a port'),
                  uplink=dict(name='eth0', reason='the device of the default route'),
                  unexpressed=[dict(what='guest g2 vif 0: no vifname', why='the model\'s vifname defaults to auto')],
                  xl_conf=dict(path='/etc/xen/xl.conf', present=True), xend_config=dict(path='/etc/xen/xend-config.sxp', present=False))
    result.update(changes)
    return result


def test_the_file_reads_back_as_exactly_the_host_vars_after_its_header():
    text = adopted_host_vars_file(adopted(), 'dom0a')
    assert yaml.safe_load(text) == HOST_VARS
    lines = text.splitlines()
    assert lines[:7] == [
        '---',
        '# Adopted by xenfleet.network.adopt from dom0 dom0a (xenfleet.network.xen_dom0_info).',
        '# Guests from /etc/xen; xl.conf: /etc/xen/xl.conf; xend-config.sxp: none.',
        '# Topology: multi_bridge: xenbr0 holds the uplink eth0 as a port',
        '# Uplink: eth0: the device of the default route',
        '# Not expressed by the inventory model (1): site.yml changes these or leaves them alone.',
        "#   - guest g2 vif 0: no vifname: the model's vifname defaults to auto",
    ]
    assert lines[7] == 'xenfleet_topology: multi_bridge'


def test_the_file_is_stable():
    assert adopted_host_vars_file(adopted(), 'dom0a') == adopted_host_vars_file(adopted(), 'dom0a')


def test_nothing_unexpressed_says_so():
    assert '# Everything found is expressed below.\n' in adopted_host_vars_file(adopted(unexpressed=[]), 'dom0a')


@pytest.mark.parametrize('value', INJECTIONS)
def test_a_value_in_any_comment_adds_no_key(value):
    result = adopted(topology=dict(name=None, reason=value), uplink=dict(name=value, reason=value),
                     unexpressed=[dict(what=value, why=value)], xl_conf=dict(path=value), xend_config=dict(path=value, present=True))
    text = adopted_host_vars_file(result, value)
    assert yaml.safe_load(text) == HOST_VARS
    header = text.split('\nxenfleet_topology:')[0].split('\n')
    assert header[0] == '---' and all(line.startswith('# ') and line.isprintable() for line in header[1:])


@pytest.mark.parametrize('value', INJECTIONS)
def test_a_value_in_any_variable_reads_back_as_itself(value):
    host_vars = dict(HOST_VARS, xenfleet_uplink=value, xenfleet_guests=[{'name': value, 'config': value, 'vifs': [{value: [value]}]}])
    text = adopted_host_vars_file(adopted(host_vars=host_vars), 'dom0a')
    assert yaml.safe_load(text) == host_vars
    assert set(yaml.safe_load(text)) == set(HOST_VARS)


def test_ansibles_own_strings_are_written_as_plain_strings():
    host_vars = dict(HOST_VARS, xenfleet_uplink=AnsibleUnsafeText('eth0'))
    text = adopted_host_vars_file(adopted(host_vars=host_vars), AnsibleUnsafeText('dom0a'))
    assert 'xenfleet_uplink: eth0\n' in text and '!!' not in text and '!unsafe' not in text


def test_what_a_host_vars_file_cannot_hold_is_an_error():
    with pytest.raises(AnsibleFilterError, match=r'host_vars.xenfleet_uplink is a set'):
        adopted_host_vars_file(adopted(host_vars=dict(HOST_VARS, xenfleet_uplink={'eth0'})), 'dom0a')
    with pytest.raises(AnsibleFilterError, match='expects the result of xenfleet.network.xen_dom0_info'):
        adopted_host_vars_file({'host_vars': 'x'}, 'dom0a')


@pytest.mark.parametrize('text, escaped', [
    ('a\nb', 'a\\u000ab'), ('a\u2028b', 'a\\u2028b'), ('a\x85b', 'a\\u0085b'), ('caf\u00e9 ok', 'caf\u00e9 ok'),
    ('a\U000e0001b', 'a\\U000e0001b'), ('tab\there', 'tab\\u0009here'),
])
def test_comment_text_escapes_what_would_end_or_hide_a_line(text, escaped):
    assert comment_text(text) == escaped
