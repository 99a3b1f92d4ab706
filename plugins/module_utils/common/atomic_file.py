# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file replacement: readers see the old file or the new one, never half of either."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import re
import shutil
import tempfile
import time


def read_bytes(path):
    """The file's content, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as error:
        if getattr(error, 'errno', None) == 2:
            return None
        raise


def write_atomic(path, data, mode=None, backup=False):
    """Write data to path through a temporary file in the same directory and rename it.

    The temporary file lives beside the target so the rename stays on one
    filesystem and is atomic. A path that is a symlink (/etc/xen/auto/web.cfg
    -> ../web.cfg) is written through: its target is replaced and the link
    stays. A file that exists keeps its owner and group, and its mode unless
    mode is given. The file and then its directory are fsynced, so after a
    crash the name holds the old content or the new one, never an empty file.
    The temporary file's name carries the writer's PID: a writer killed between
    the two (SIGKILL, an async timeout) leaves it behind, and the next write of
    the same file removes it once that PID is gone.
    Returns the backup path when one was made.
    """
    target = os.path.realpath(path) if os.path.islink(path) else path
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    existing = os.stat(target) if os.path.exists(target) else None
    backup_path = None
    if backup and existing is not None:
        backup_path = '%s.%s~' % (target, time.strftime('%Y%m%d%H%M%S'))
        shutil.copy2(target, backup_path)
    if mode is None:
        mode = existing.st_mode & 0o7777 if existing is not None else 0o644
    _remove_dead_writers_temporaries(directory, os.path.basename(target))
    handle, temporary = tempfile.mkstemp(prefix='.%s.%d.' % (os.path.basename(target), os.getpid()), dir=directory)
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
            stream.flush()
            if existing is not None and (existing.st_uid, existing.st_gid) != (os.geteuid(), os.getegid()):
                os.fchown(stream.fileno(), existing.st_uid, existing.st_gid)
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.rename(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    fsync_directory(directory)
    return backup_path


def _remove_dead_writers_temporaries(directory, name):
    """Remove the temporary files of name in directory whose writer (the PID in their name) no longer runs."""
    pattern = re.compile(r'\.%s\.(\d+)\.[A-Za-z0-9_]+$' % re.escape(name))
    for entry in os.listdir(directory):
        match = pattern.match(entry)
        if match and not _running(int(match.group(1))):
            remove_file(os.path.join(directory, entry))


def _running(pid):
    try:
        os.kill(pid, 0)
    except OSError as error:
        return error.errno != errno.ESRCH
    return True


def fsync_directory(directory):
    """Make a rename or unlink in directory durable."""
    descriptor = os.open(directory, os.O_RDONLY | getattr(os, 'O_DIRECTORY', 0))
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_file(path):
    """Remove path if present; True when something was removed."""
    try:
        os.unlink(path)
        return True
    except OSError as error:
        if error.errno == 2:
            return False
        raise
