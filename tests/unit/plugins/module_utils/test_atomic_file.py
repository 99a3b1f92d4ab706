# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""write_atomic: symlinks written through, owner, group and mode kept, file and directory made durable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common import atomic_file
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import write_atomic


def test_a_symlinked_config_stays_a_symlink_and_its_target_gets_the_content(tmp_path):
    (tmp_path / 'auto').mkdir()
    (tmp_path / 'web.cfg').write_text('name = "web"\n')
    link = tmp_path / 'auto' / 'web.cfg'
    link.symlink_to('../web.cfg')
    write_atomic(str(link), b'name = "web"\nvif = []\n')
    assert link.is_symlink() and os.readlink(str(link)) == '../web.cfg'
    assert (tmp_path / 'web.cfg').read_text() == 'name = "web"\nvif = []\n'
    assert sorted(os.listdir(str(tmp_path / 'auto'))) == ['web.cfg']


def test_mode_is_kept_unless_given(tmp_path):
    path = tmp_path / 'x.cfg'
    path.write_text('old\n')
    os.chmod(str(path), 0o640)
    write_atomic(str(path), b'new\n')
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o640
    write_atomic(str(path), b'newer\n', mode=0o600)
    assert stat.S_IMODE(os.stat(str(path)).st_mode) == 0o600
    fresh = tmp_path / 'fresh.cfg'
    write_atomic(str(fresh), b'x\n')
    assert stat.S_IMODE(os.stat(str(fresh)).st_mode) == 0o644


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to give the file to another user')
def test_owner_and_group_are_kept(tmp_path):
    path = tmp_path / 'x.cfg'
    path.write_text('old\n')
    os.chown(str(path), 65534, 65534)
    write_atomic(str(path), b'new\n')
    info = os.stat(str(path))
    assert (info.st_uid, info.st_gid) == (65534, 65534) and path.read_text() == 'new\n'


def test_the_file_and_its_directory_are_fsynced(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync

    def recording_fsync(descriptor):
        synced.append(stat.S_ISDIR(os.fstat(descriptor).st_mode))
        real_fsync(descriptor)
    monkeypatch.setattr(atomic_file.os, 'fsync', recording_fsync)
    write_atomic(str(tmp_path / 'x.cfg'), b'x\n')
    assert synced == [False, True]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / 'x.cfg'
    path.write_text('old\n')

    def refuse(*args):
        raise OSError(28, 'No space left on device')
    monkeypatch.setattr(atomic_file.os, 'rename', refuse)
    with pytest.raises(OSError, match='No space left'):
        write_atomic(str(path), b'new\n')
    assert path.read_text() == 'old\n' and os.listdir(str(tmp_path)) == ['x.cfg']


def test_a_writer_killed_mid_write_leaves_a_temporary_the_next_write_removes(tmp_path):
    """SIGKILL between the temporary file and the rename (what xen_crash does to every module): the target keeps its
    old content, and the next write of it leaves no temporary file behind."""
    path = tmp_path / 'x.cfg'
    path.write_text('old\n')
    writer = subprocess.Popen([sys.executable, '-c', (
        'import os, sys, time\n'
        'from ansible_collections.xenfleet.network.plugins.module_utils.common import atomic_file\n'
        'atomic_file.os.fsync = lambda descriptor: time.sleep(60)\n'
        'atomic_file.write_atomic(sys.argv[1], b"new\\n")\n'), str(path)], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    try:
        deadline = time.monotonic() + 20
        while len(os.listdir(str(tmp_path))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        writer.kill()
        writer.wait()
    assert len(os.listdir(str(tmp_path))) == 2 and path.read_text() == 'old\n'
    (tmp_path / '.x.cfg.keep').write_text('not a temporary file of ours\n')
    write_atomic(str(path), b'newer\n')
    assert sorted(os.listdir(str(tmp_path))) == ['.x.cfg.keep', 'x.cfg'] and path.read_text() == 'newer\n'
