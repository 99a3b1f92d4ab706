# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import NatSpec
import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import (
    NatPaths, NatStateError, dump_record, load_record, other_records)


def test_paths_of_an_instance(tmp_path):
    nat = NatSpec(dict(name='guests', state='absent', state_dir=str(tmp_path / 'state'), config_dir='/etc/xf',
                       systemd_unit_dir='/units'))
    paths = NatPaths(nat)
    assert paths.instance_dir == str(tmp_path / 'state' / 'guests')
    assert paths.leases == str(tmp_path / 'state' / 'guests' / 'dnsmasq.leases')
    assert paths.ledger == str(tmp_path / 'state' / 'forwarding.json')
    assert paths.config == '/etc/xf/guests.dnsmasq.conf'
    assert paths.unit == '/units/xenfleet-nat-guests.service'


def test_other_records_skip_this_instance_and_records_without_summary(tmp_path):
    for name, record in (('guests', {'summary': {'name': 'guests'}}), ('lab', {'summary': {'name': 'lab'}}), ('half', {})):
        (tmp_path / name).mkdir()
        (tmp_path / name / 'instance.json').write_text(json.dumps(record))
    assert other_records(str(tmp_path), 'guests') == [{'name': 'lab'}]


def test_record_round_trip():
    assert load_record(dump_record({'gateway_added': '10.0.1.1/24'})) == {'gateway_added': '10.0.1.1/24'}
    assert load_record(None) == {}


def test_a_record_that_is_not_json_names_its_file():
    with pytest.raises(NatStateError, match=r"reading /s/guests/instance.json: not JSON: "):
        load_record(b'{"summary": ', '/s/guests/instance.json')


def test_a_record_that_is_no_object_names_its_file():
    with pytest.raises(NatStateError, match=r"reading /s/guests/instance.json: a JSON list where xen_nat keeps an object"):
        load_record(b'[]', '/s/guests/instance.json')


def test_another_instance_s_corrupt_record_names_its_file(tmp_path):
    (tmp_path / 'lab').mkdir()
    (tmp_path / 'lab' / 'instance.json').write_bytes(b'\xff\xfe')
    with pytest.raises(NatStateError, match=r"reading %s: not JSON" % (tmp_path / 'lab' / 'instance.json')):
        other_records(str(tmp_path), 'guests')
