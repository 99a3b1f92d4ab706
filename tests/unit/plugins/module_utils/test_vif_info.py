# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A dom0's guests and their vifs, from config files (_xl_guests) and from xl (_vif_info)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.info import gather
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import VifValidationError
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import (
    config_paths,
    guest_claims,
    read_guest_config,
    scan_config_dir,
)

XL = '/usr/sbin/xl'
CONFIGS = {
    'web.cfg': "name = 'web'\ntype = 'pvh'\nvif = [ 'mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5/24,vifname=web-0', 'bridge=xenbr1' ]\n",
    'db.cfg': "name = 'db'\nbuilder = 'hvm'\nvif = [ 'mac=02:00:0a:00:00:06,ip=10.0.0.6,vifname=db-0' ]\n",
    'clash.cfg': "name = 'clash'\nvif = [ 'mac=02:00:0a:00:00:05,ip=10.0.0.5' ]\n",
    'broken.cfg': "name = 'broken'\nvif = [ 'a' 'b' ]\n",
    'notes.txt': "name = 'not a config'\n",
}


@pytest.fixture
def config_dir(tmp_path):
    for name, text in CONFIGS.items():
        (tmp_path / name).write_text(text)
    os.symlink('web.cfg', str(tmp_path / 'web-link.cfg'))
    return str(tmp_path)


XL_LIST = ('Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
           'Domain-0                                     0  2048     4     r-----     811.6\n'
           'web                                          7  1024     2     -b----      33.1\n'
           'orphan                                       9   512     1     -b----       2.0\n')
HEADER = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path\n'
WEB_VIFS = HEADER + ('0   0  02:00:0a:00:00:05     0     4     17   768/769         /local/domain/0/backend/vif/7/0\n'
                     '1   0  00:16:3e:12:34:56     1     4     18   770/771         /local/domain/0/backend/vif/7/1\n')
ORPHAN_VIFS = HEADER + '0   0  00:16:3e:99:88:77     0     4     19   772/773         /local/domain/0/backend/vif/9/0\n'


def test_the_config_dir_is_read_once_per_file_and_only_matching_names(config_dir):
    assert [os.path.basename(path) for path in config_paths(config_dir)] == ['broken.cfg', 'clash.cfg', 'db.cfg', 'web.cfg']


def test_a_config_is_read_with_its_type_and_vifs(config_dir):
    db = read_guest_config(os.path.join(config_dir, 'db.cfg'))
    assert (db.name, db.type, db.hvm, db.error) == ('db', 'hvm', True, None)
    assert [claim.names for claim in guest_claims(db)] == [('db-0', 'db-0-emu')]


def test_a_broken_config_keeps_its_error_and_stops_nothing(config_dir):
    guests = scan_config_dir(config_dir, skip=os.path.join(config_dir, 'web.cfg'))
    assert [os.path.basename(guest.path) for guest in guests] == ['broken.cfg', 'clash.cfg', 'db.cfg']
    assert guests[0].error == "line 2, column 13: expected ',' or ']' in the list of 'vif', found 'b'"


def test_a_missing_config_is_an_error_not_an_exception(tmp_path):
    assert read_guest_config(str(tmp_path / 'gone.cfg')).error == 'no such file'


def test_files_only(config_dir):
    info = gather(config_dir, '*.cfg')
    assert [guest['name'] for guest in info['guests']] == [None, 'clash', 'db', 'web']
    web = info['guests'][3]
    assert web['vifs'] == [{'mac': '02:00:0a:00:00:05', 'bridge': 'xenbr0', 'ip': ['10.0.0.5/24'], 'vifname': 'web-0', 'devid': 0},
                           {'bridge': 'xenbr1', 'devid': 1}]
    assert web['running'] is None
    assert info['macs'] == ['02:00:0a:00:00:05', '02:00:0a:00:00:06']
    assert info['ips'] == ['10.0.0.5', '10.0.0.6']
    assert info['vifnames'] == ['db-0', 'db-0-emu', 'web-0']
    assert info['notes'] == ["%s: line 2, column 13: expected ',' or ']' in the list of 'vif', found 'b'" % os.path.join(config_dir, 'broken.cfg')]
    assert info['xl'] is None


def test_conflicts_name_every_vif_involved(config_dir):
    assert gather(config_dir, '*.cfg')['conflicts'] == [
        {'kind': 'ip', 'value': '10.0.0.5', 'holders': [{'guest': 'clash', 'devid': 0}, {'guest': 'web', 'devid': 0}]},
        {'kind': 'mac', 'value': '02:00:0a:00:00:05', 'holders': [{'guest': 'clash', 'devid': 0}, {'guest': 'web', 'devid': 0}]},
    ]


def test_claims_feed_xen_vifs_duplicate_check(config_dir):
    claims = gather(config_dir, '*.cfg')['claims']
    assert claims[1] == {'guest': 'db', 'devid': 0, 'mac': '02:00:0a:00:00:06', 'ip': ['10.0.0.6'], 'vifname': 'db-0', 'emulated': True}
    with pytest.raises(VifValidationError, match="vifname 'db-0-emu' is taken: guest 'db' vif 0 already uses db-0-emu"):
        plan_vif_change("name = 'new'\n", devid=0, desired={'vifname': 'db-0-emu'}, dom0_claims=claims)


def test_running_guests_and_their_vifs_come_from_xl(config_dir, fake_xl):
    xl = fake_xl({('list',): (0, XL_LIST, ''), ('network-list', 'orphan'): (0, ORPHAN_VIFS, ''),
                 ('network-list', 'web'): (0, WEB_VIFS, '')})
    info = gather(config_dir, '*.cfg', xl, XL)
    assert xl.calls == [[XL, 'list'], [XL, 'network-list', 'orphan'], [XL, 'network-list', 'web']]
    by_name = dict((guest['name'], guest) for guest in info['guests'])
    assert (by_name['web']['running'], by_name['web']['domid'], by_name['db']['running']) == (True, 7, False)
    assert [vif['mac'] for vif in by_name['web']['live_vifs']] == ['02:00:0a:00:00:05', '00:16:3e:12:34:56']
    assert by_name['orphan']['config'] is None and by_name['orphan']['live_vifs'][0]['state_name'] == 'connected'
    assert info['macs'] == ['00:16:3e:12:34:56', '00:16:3e:99:88:77', '02:00:0a:00:00:05', '02:00:0a:00:00:06']
    # Running vifs without vifname take xl's default names.
    assert info['vifnames'] == ['db-0', 'db-0-emu', 'vif7.1', 'vif9.0', 'web-0']


def test_when_xl_cannot_list_the_files_still_answer(config_dir, fake_xl):
    xl = fake_xl({('list',): (1, '', 'ERROR: need root')})
    info = gather(config_dir, '*.cfg', xl, XL)
    assert info['guests'][3]['running'] is None
    assert info['notes'][-1] == '/usr/sbin/xl list failed (rc 1): ERROR: need root'


def test_a_missing_config_dir_is_an_empty_dom0(tmp_path):
    assert gather(str(tmp_path / 'none'), '*.cfg')['guests'] == []
