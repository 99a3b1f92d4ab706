# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fcntl
import json
import os
import subprocess
import sys
import time

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common import locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LockError, hold, lock_path, module_locks

from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.module_testing import Failed, FakeModule


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    directory = str(tmp_path / 'lock' / 'xenfleet')
    monkeypatch.setattr(locks, 'LOCK_DIR', directory)
    return directory


def test_lock_files_are_readable_and_one_per_key(lock_dir):
    path = lock_path('xl', '/etc/xen')
    assert os.path.dirname(path) == lock_dir
    assert os.path.basename(path).startswith('xl-etc-xen-') and path.endswith('.lock')
    assert lock_path('xl', '/etc/xen') == path
    assert lock_path('xl', '/etc/xen2') != path
    assert lock_path('xl', '/etc//xen') != path  # callers pass real paths; the hash keeps spellings apart


def test_the_holder_is_written_while_held_and_cleared_after(lock_dir):
    path = lock_path('xl', '/etc/xen')
    with hold(path, 'xen_vif', '/etc/xen', 1) as record:
        with open(path) as handle:
            written = json.load(handle)
        assert written == record
        assert written['pid'] == os.getpid() and written['module'] == 'xen_vif' and written['target'] == '/etc/xen'
        assert oct(os.stat(lock_dir).st_mode & 0o777) == '0o700'
        assert oct(os.stat(path).st_mode & 0o777) == '0o600'
    assert os.path.getsize(path) == 0


def test_a_held_lock_times_out_naming_the_lock_the_target_and_the_holder():
    path = lock_path('xl', '/etc/xen')
    with hold(path, 'xen_vif', '/etc/xen', 0):
        started = time.monotonic()
        with pytest.raises(LockError) as caught:
            with hold(path, 'xen_vif', '/etc/xen', 1):
                pytest.fail('a second holder got the lock')
        assert 1 <= time.monotonic() - started < 2
    assert str(caught.value).startswith('xen_vif waited 1 s for the lock on /etc/xen (%s), held by PID %d (xen_vif, since '
                                        % (path, os.getpid()))
    assert caught.value.holder['pid'] == os.getpid()


def test_a_lock_frees_when_its_holder_dies_and_another_process_is_named_while_it_lives(tmp_path):
    path = lock_path('nat', '/var/lib/xenfleet/nat')
    os.makedirs(os.path.dirname(path))  # the child's LOCK_DIR is the real one: it only opens path
    ready = tmp_path / 'ready'
    code = ('import sys, time\nfrom ansible_collections.xenfleet.network.plugins.module_utils.common.locks import hold\n'
            'with hold(sys.argv[1], "xen_nat", "/var/lib/xenfleet/nat", 0):\n'
            '    open(sys.argv[2], "w").close()\n    time.sleep(60)\n')
    child = subprocess.Popen([sys.executable, '-c', code, path, str(ready)], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        for dummy in range(200):
            if ready.exists():
                break
            time.sleep(0.05)
        with pytest.raises(LockError, match=r'held by PID %d \(xen_nat, since ' % child.pid):
            with hold(path, 'xen_nat', '/var/lib/xenfleet/nat', 0):
                pass
    finally:
        child.kill()
        child.wait()
    with hold(path, 'xen_nat', '/var/lib/xenfleet/nat', 0):
        pass


def test_a_holder_that_wrote_nothing_is_found_in_proc_locks(lock_dir):
    path = lock_path('xl', '/etc/xen')
    os.makedirs(lock_dir)
    with open(path, 'w') as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with pytest.raises(LockError, match=r'held by PID %d$' % os.getpid()):
            with hold(path, 'xen_vif', '/etc/xen', 0):
                pass


def test_module_locks_fail_the_module_and_release_what_they_took():
    first, second = lock_path('xl', '/a'), lock_path('xl', '/b')
    module = FakeModule({'lock_timeout': 0})
    with hold(second, 'xen_vif', '/b', 0):
        with pytest.raises(Failed) as caught:
            with module_locks(module, 'xen_vif', [('/a', first), ('/b', second)]):
                pytest.fail('ran without the lock')
    result = caught.value.result
    assert result['msg'].startswith('xen_vif waited 0 s for the lock on /b (%s), held by PID %d' % (second, os.getpid()))
    assert result['msg'].endswith('. Nothing was changed.')
    assert result['lock'] == second and result['lock_holder']['pid'] == os.getpid()
    with hold(first, 'xen_vif', '/a', 0):  # released when the module failed
        pass


def test_an_unusable_lock_directory_fails_with_its_reason(tmp_path, monkeypatch):
    blocker = tmp_path / 'file'
    blocker.write_text('')
    monkeypatch.setattr(locks, 'LOCK_DIR', str(blocker / 'xenfleet'))
    with pytest.raises(Failed, match=r'xen_vif could not open its lock file .* for /etc/xen: '):
        with module_locks(FakeModule({}), 'xen_vif', [('/etc/xen', lock_path('xl', '/etc/xen'))]):
            pass


def _planted_elsewhere(tmp_path):
    victim = tmp_path / 'victim'
    victim.write_text('precious\n')
    return victim


def test_a_symlink_planted_at_a_lock_name_is_refused_and_its_target_left_alone(tmp_path, lock_dir):
    victim = _planted_elsewhere(tmp_path)
    os.makedirs(lock_dir, 0o700)
    path = lock_path('xl', '/etc/xen')
    os.symlink(str(victim), path)
    with pytest.raises(LockError, match=r'could not use its lock file for /etc/xen: the lock file %s is a symlink' % path):
        with hold(path, 'xen_vif', '/etc/xen', 0):
            pytest.fail('took a planted symlink as its lock')
    assert victim.read_text() == 'precious\n'


def test_a_hard_link_planted_at_a_lock_name_is_refused_and_not_truncated(tmp_path, lock_dir):
    victim = _planted_elsewhere(tmp_path)
    os.makedirs(lock_dir, 0o700)
    path = lock_path('xl', '/etc/xen')
    os.link(str(victim), path)
    with pytest.raises(LockError, match='has 2 names'):
        with hold(path, 'xen_vif', '/etc/xen', 0):
            pytest.fail('took a planted hard link as its lock')
    assert victim.read_text() == 'precious\n'


def test_a_lock_directory_that_is_a_symlink_is_refused(tmp_path, lock_dir):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir(mode=0o700)
    os.makedirs(os.path.dirname(lock_dir))
    os.symlink(str(elsewhere), lock_dir)
    with pytest.raises(LockError, match=r'the lock directory %s is a symlink, not a directory' % lock_dir):
        with hold(lock_path('xl', '/etc/xen'), 'xen_vif', '/etc/xen', 0):
            pass
    assert os.listdir(str(elsewhere)) == []


def test_a_lock_directory_others_may_write_in_is_refused(lock_dir):
    os.makedirs(lock_dir)
    os.chmod(lock_dir, 0o1777)
    with pytest.raises(LockError, match=r'is writable by others \(mode 1777\); it must be 0700'):
        with hold(lock_path('xl', '/etc/xen'), 'xen_vif', '/etc/xen', 0):
            pass


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the directory to another user')
def test_a_lock_directory_of_another_user_is_refused(lock_dir):
    os.makedirs(lock_dir, 0o700)
    os.chown(lock_dir, 65534, 65534)
    with pytest.raises(LockError, match=r'belongs to uid 65534, not to this run'):
        with hold(lock_path('xl', '/etc/xen'), 'xen_vif', '/etc/xen', 0):
            pass


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to make a file of another user')
def test_a_lock_file_of_another_user_is_refused(lock_dir):
    os.makedirs(lock_dir, 0o700)
    path = lock_path('xl', '/etc/xen')
    with open(path, 'w'):
        pass
    os.chown(path, 65534, 65534)
    with pytest.raises(LockError, match=r'the lock file %s belongs to uid 65534' % path):
        with hold(path, 'xen_vif', '/etc/xen', 0):
            pass
