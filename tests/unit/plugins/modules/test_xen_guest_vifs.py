# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_guest_vifs' runner with a stand-in AnsibleModule: writes, rollback, the lock it shares with xen_vif."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common import locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.vif import bulk_runner
from ansible_collections.xenfleet.network.plugins.module_utils.vif.runner import locked_directories
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.module_testing import Exited, Failed, FakeModule

CONFIGS = {'web': b'name = "web"\n# web\n', 'db': b"name = 'db'\nvif = [ 'bridge=xenbr9' ]\n",
           'other': b"name = 'other'\nvif = [ 'mac=02:00:0a:00:00:63,ip=10.0.0.99,vifname=other-0' ]\n"}


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, 'LOCK_DIR', str(tmp_path / 'run-lock'))


@pytest.fixture
def xen_dir(tmp_path):
    directory = tmp_path / 'xen'
    directory.mkdir()
    for name, data in CONFIGS.items():
        (directory / ('%s.cfg' % name)).write_bytes(data)
    return directory


def params(directory, **extra):
    guests = [dict(name='web', vifs=[dict(bridge='xenbr0', ip=['10.0.0.5'], mac='auto', vifname='auto')]),
              dict(name='db', vifs=[dict(bridge='xenbr0', ip=['10.0.0.6'], mac='auto', vifname='auto')])]
    result = dict(guests=guests, config_dir=str(directory), exclusive=True, bridge_subnets=None, mac_prefix='02:00',
                  live=False, backup=False, read_back=False)
    result.update(extra)
    return result


def run(module):
    with pytest.raises((Exited, Failed)) as caught:
        bulk_runner.run_guest_vifs_module(module)
    return caught.value


def contents(directory):
    return dict((name, (directory / ('%s.cfg' % name)).read_bytes()) for name in CONFIGS)


def test_converge_writes_the_changed_files_and_the_rerun_nothing(xen_dir):
    first = run(FakeModule(params(xen_dir), diff=True))
    assert isinstance(first, Exited) and first.result['changed']
    assert [diff['before_header'] for diff in first.result['diff']] == [str(xen_dir / 'web.cfg'), str(xen_dir / 'db.cfg')]
    assert contents(xen_dir)['db'] == b"name = 'db'\nvif = [ 'mac=02:00:0a:00:00:06,bridge=xenbr0,ip=10.0.0.6,vifname=db-0' ]\n"
    again = run(FakeModule(params(xen_dir)))
    assert not again.result['changed'] and again.result['plan'] == []


def test_check_mode_plans_and_writes_nothing(xen_dir):
    result = run(FakeModule(params(xen_dir), check_mode=True)).result
    assert result['changed'] and result['plan'] == ['write %s (web: add vif 0)' % (xen_dir / 'web.cfg'),
                                                    'write %s (db: change vif 0)' % (xen_dir / 'db.cfg')]
    assert contents(xen_dir) == CONFIGS


def test_a_failed_write_restores_the_files_already_written(xen_dir, monkeypatch):
    def failing(path, data, mode=None, backup=False):
        if path.endswith('db.cfg') and b'xenbr9' not in data:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return write_atomic(path, data, mode, backup)
    monkeypatch.setattr(bulk_runner, 'write_atomic', failing)
    failed = run(FakeModule(params(xen_dir)))
    assert isinstance(failed, Failed)
    assert failed.result['failed_step'].startswith('write %s' % (xen_dir / 'db.cfg'))
    assert failed.result['rolled_back'] == ['write %s (web: add vif 0)' % (xen_dir / 'web.cfg')]
    assert 'No space left on device' in failed.result['msg'] and 'was left as it was before this task' in failed.result['msg']
    assert contents(xen_dir) == CONFIGS


def test_a_value_another_config_holds_fails_before_any_write(xen_dir):
    wanted = params(xen_dir)
    wanted['guests'][1]['vifs'][0]['ip'] = ['10.0.0.99']
    failed = run(FakeModule(wanted))
    assert [problem['message'] for problem in failed.result['problems']] == [
        "guest 'db' vif 0: mac '02:00:0a:00:00:63' is taken: guest 'other' vif 0 already uses it",
        "guest 'db' vif 0: ip '10.0.0.99' is taken: guest 'other' vif 0 already uses it"]
    assert contents(xen_dir) == CONFIGS


def test_every_missing_config_is_named(xen_dir):
    wanted = params(xen_dir)
    wanted['guests'] += [dict(name='gone', vifs=[]), dict(name='lost', vifs=[])]
    failed = run(FakeModule(wanted))
    assert failed.result['missing'] == [str(xen_dir / 'gone.cfg'), str(xen_dir / 'lost.cfg')]
    assert contents(xen_dir) == CONFIGS


def test_it_takes_xen_vifs_lock_so_the_two_exclude_each_other(xen_dir):
    ours = locked_directories(str(xen_dir), [str(xen_dir / 'web.cfg'), str(xen_dir / 'db.cfg')])
    assert ours == locked_directories(str(xen_dir) + '/', [str(xen_dir / 'web.cfg')])
    with locks.hold(ours[0][1], 'xen_vif', str(xen_dir), 0):
        failed = run(FakeModule(params(xen_dir)))
    assert isinstance(failed, Failed) and 'xen_vif' in failed.result['msg'] and failed.result['lock'] == ours[0][1]
    assert contents(xen_dir) == CONFIGS


def test_an_unreadable_config_dir_fails_instead_of_checking_nothing(xen_dir, monkeypatch):
    listdir = os.listdir

    def guarded(path):
        if str(path) == str(xen_dir):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
        return listdir(path)
    monkeypatch.setattr(os, 'listdir', guarded)
    failed = run(FakeModule(params(xen_dir)))
    assert isinstance(failed, Failed) and 'Permission denied' in failed.result['msg'] and 'no config was changed' in failed.result['msg']
    assert contents(xen_dir) == CONFIGS


def test_an_other_config_that_cannot_be_parsed_is_skipped_with_a_warning(xen_dir):
    (xen_dir / 'broken.cfg').write_bytes(b'name = "broken"\nvif = [ "a" \n')
    module = FakeModule(params(xen_dir))
    assert isinstance(run(module), Exited)
    assert [warning for warning in module.warnings if 'broken.cfg was not checked for duplicate' in warning]
