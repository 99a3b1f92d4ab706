# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_nat's state that is not what it wrote (issue 18 item 12): an error naming the file or command, never a traceback.

Every case goes the way the module does (read the view, check the host, plan), so an exception other
than the one the runner turns into a failed result, from any of those steps, fails the test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError
from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import NatStateError
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.test_nat_plan import Host

RECORDS = [
    (b'{"summary": {"name": "guests", "bri', 'not JSON'),
    (b'[]', 'a JSON list where xen_nat keeps an object'),
    (json.dumps({'summary': ['xenbr1']}), 'summary ["xenbr1"] is not an object'),
    (json.dumps({'summary': {'bridge': 'xenbr1/../..'}}), "summary.bridge 'xenbr1/../..' holds '/'"),
    (json.dumps({'summary': {'bridge': 7}}), "summary.bridge '7' is not a string"),
    (json.dumps({'summary': {'subnet': '10.0.1.0/33'}}), 'summary.subnet "10.0.1.0/33" is not an IPv4 network'),
    (json.dumps({'summary': {'snat_to': '2001:db8::1'}}), 'summary.snat_to "2001:db8::1" is not an IPv4 address'),
    (json.dumps({'summary': {'port_forwards': 'tcp/80'}}), 'summary.port_forwards "tcp/80" is not a list of texts'),
    (json.dumps({'gateway_added': 'banana'}), 'gateway_added "banana" is not an IPv4 address/prefix'),
    (json.dumps({'gateway_added': ['10.0.1.1/24']}), 'gateway_added ["10.0.1.1/24"] is not an IPv4 address/prefix'),
    (json.dumps({'nft': ['fingerprint']}), 'nft ["fingerprint"] is not {"fingerprint": text, "listing": [...]}'),
    (json.dumps({'nft': {'fingerprint': 1, 'listing': None}}), 'nft {"fingerprint": 1, "listing": null} is not'),
]

LEDGERS = [
    ({'interfaces': []}, '"interfaces" is not a map of interfaces'),
    ({'interfaces': {'eth0': {'original': '0', 'instances': 'guests'}}}, '"interfaces" is not a map of interfaces'),
    ({'interfaces': {'eth0': {'original': '0', 'instances': [1, 'guests']}}}, '"interfaces" is not a map of interfaces'),
    ({'interfaces': {'eth0': {'original': 5, 'instances': ['lab']}}}, '"interfaces" is not a map of interfaces'),
    ({'interfaces': {'../../../../tmp/x': {'original': '0', 'instances': ['lab']}}}, "interface '../../../../tmp/x' holds '/'"),
]


@pytest.fixture
def host(tmp_path):
    return Host(tmp_path)


def write(path, data):
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    with open(path, 'wb') as handle:
        handle.write(data if isinstance(data, bytes) else data.encode('utf-8'))


def plan(host, **params):
    """What the runner does before anything changes; returns the planner."""
    return host.planner(**params)


@pytest.mark.parametrize('state', ['present', 'absent'])
@pytest.mark.parametrize('content, message', RECORDS)
def test_a_record_not_written_by_xen_nat_names_the_file_and_the_field(host, content, message, state):
    path = str(host.tmp_path / 'state' / 'guests' / 'instance.json')
    write(path, content)
    with pytest.raises(NatStateError) as raised:
        plan(host, state=state)
    assert 'reading %s: ' % path in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize('content, message', RECORDS[2:])
def test_another_instance_s_record_not_written_by_xen_nat_names_its_file(host, content, message):
    path = str(host.tmp_path / 'state' / 'lab' / 'instance.json')
    write(path, content)
    with pytest.raises(NatStateError) as raised:
        plan(host)
    assert 'reading %s: ' % path in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize('state', ['present', 'absent'])
@pytest.mark.parametrize('ledger, message', LEDGERS)
def test_a_forwarding_ledger_not_written_by_xen_nat_names_the_file(host, ledger, message, state):
    """Its keys become /proc paths that the module writes to, its "original" values what it writes there."""
    path = str(host.tmp_path / 'state' / 'forwarding.json')
    write(path, json.dumps(ledger))
    with pytest.raises(NatStateError) as raised:
        plan(host, state=state)
    assert 'reading %s: ' % path in str(raised.value)
    assert message in str(raised.value)


@pytest.mark.parametrize('objects', [[1, 2], ['table'], [{'metainfo': {}}, None], [[{'table': {}}]]])
def test_odd_nft_json_objects_name_the_command(host, objects):
    host.converge()
    host.nft.table_json = lambda family, name: objects
    with pytest.raises(NftError) as raised:
        plan(host)
    assert 'nft -j list table ip xenfleet_nat_guests printed ' in str(raised.value)


def test_a_record_as_xen_nat_writes_it_is_read_back(host):
    host.converge()
    assert plan(host).plan.names() == []
