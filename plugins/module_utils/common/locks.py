# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Locks that keep two runs from planning against each other's half-made change.

Private to the collection: may change without notice.

A module that reads shared state, decides and writes holds a lock for that
whole span, or two concurrent runs each read the old state and the second
write silently undoes the first (measured: 8 parallel xen_vif runs on one
config lost a vif in 5 rounds of 8). The locks are fcntl flock()s, which the
kernel drops when the holder dies, so a killed run never leaves a lock
behind. Lock files live in LOCK_DIR (tmpfs, emptied at boot, 0700 and this
run's own: anything else there is refused), one per thing locked, opened
without following symlinks. Whoever holds one writes its PID, module, target and start time
into it, so that a run that gives up after lock_timeout can say who it
waited for.

    with module_locks(module, 'xen_vif', [('/etc/xen', lock_path('xl', '/etc/xen'))]):
        read, plan, write
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import stat
import time

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft_snapshot import current_namespace_inode

LOCK_DIR = '/run/lock/xenfleet'
POLL_SECONDS = 0.05
# The option every module that writes shared state takes (documented in the doc fragment
# xenfleet.network.lock); modules merge it into their argument_spec.
LOCK_OPTIONS = dict(lock_timeout=dict(type='int', default=60))
_UNSAFE = re.compile(r'[^A-Za-z0-9._-]+')


class LockError(Exception):
    """The lock could not be taken: the wait timed out, or its file could not be opened. holder is a dict or None."""

    def __init__(self, message, holder=None):
        super(LockError, self).__init__(message)
        self.holder = holder


def lock_path(kind, key):
    """The lock file in LOCK_DIR for one thing: readable (kind and a slug of key) and unique (a hash of key)."""
    slug = _UNSAFE.sub('-', key).strip('-.')[:48]
    digest = hashlib.sha1(key.encode('utf-8', 'surrogateescape')).hexdigest()[:10]
    return os.path.join(LOCK_DIR, '%s-%s%s.lock' % (kind, slug + '-' if slug else '', digest))


def namespace_label():
    """This network namespace as the kernel names it (readlink /proc/self/ns/net)."""
    return 'net:[%s]' % current_namespace_inode()


def namespace_lock_path(kind, name=''):
    """The lock file for name (or for the whole namespace) in this network namespace: test labs and
    containers in other namespaces do not wait for each other."""
    return lock_path(kind, 'netns%s%s' % (current_namespace_inode(), '-' + name if name else ''))


def _holder_from_proc_locks(descriptor):
    """The PID the kernel lists for the flock on the file, when the file records no holder (an older run)."""
    stat = os.fstat(descriptor)
    device = '%02x:%02x:%d' % (os.major(stat.st_dev), os.minor(stat.st_dev), stat.st_ino)
    try:
        with open('/proc/locks') as locks:
            for line in locks:
                fields = line.split()
                if len(fields) > 5 and fields[1] == 'FLOCK' and fields[5] == device and fields[4].isdigit():
                    return {'pid': int(fields[4])}
    except (IOError, OSError):
        pass
    return None


def read_holder(descriptor):
    """What the holder wrote into the lock file ({pid, module, target, since}), else what /proc/locks tells."""
    try:
        holder = json.loads(os.pread(descriptor, 4096, 0).decode('utf-8'))
        if isinstance(holder, dict) and 'pid' in holder:
            return holder
    except (ValueError, OSError):
        pass
    return _holder_from_proc_locks(descriptor)


def describe_holder(holder):
    if not holder:
        return 'another process (it left no record of itself)'
    details = ', '.join(part for part in (holder.get('module'), holder.get('since') and 'since %s' % holder['since']) if part)
    return 'PID %s%s' % (holder['pid'], ' (%s)' % details if details else '')


def _secure_lock_dir(directory):
    """Make LOCK_DIR (0700) or check the one there: /run/lock is world-writable, so anyone could have made it first
    and planted symlinks or files at the predictable lock names. A symlink, a non-directory, one owned by another
    user or one others may write in is refused, never used."""
    parent = os.path.dirname(directory)
    if not os.path.isdir(parent):
        os.makedirs(parent, 0o755)
    try:
        os.mkdir(directory, 0o700)
    except OSError as error:
        if error.errno != errno.EEXIST:
            raise
    info = os.lstat(directory)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        return 'the lock directory %s is %s, not a directory' % (directory, 'a symlink' if stat.S_ISLNK(info.st_mode) else 'a file')
    if info.st_uid != os.geteuid():
        return 'the lock directory %s belongs to uid %d, not to this run (uid %d); remove it' % (directory, info.st_uid, os.geteuid())
    if info.st_mode & 0o022:
        return 'the lock directory %s is writable by others (mode %04o); it must be 0700' % (directory, info.st_mode & 0o7777)
    return None


def _open(path):
    """The lock file's descriptor, or LockError naming what is wrong with it. The file is opened without following a
    symlink, and must then be a regular file of this run's user with one name, or it is refused (truncating
    a planted file is what an attacker wants)."""
    directory = os.path.dirname(path)
    if directory == LOCK_DIR:
        problem = _secure_lock_dir(directory)
        if problem:
            raise LockError(problem)
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, 'O_CLOEXEC', 0), 0o600)
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise LockError('the lock file %s is a symlink; refusing to follow it' % path)
        raise
    info = os.fstat(descriptor)
    problem = None
    if not stat.S_ISREG(info.st_mode):
        problem = 'the lock file %s is not a regular file' % path
    elif info.st_uid != os.geteuid():
        problem = 'the lock file %s belongs to uid %d, not to this run (uid %d)' % (path, info.st_uid, os.geteuid())
    elif info.st_nlink != 1:
        problem = 'the lock file %s has %d names (a hard link to another file?)' % (path, info.st_nlink)
    if problem:
        os.close(descriptor)
        raise LockError(problem + '; remove it')
    return descriptor


@contextlib.contextmanager
def hold(path, owner, target, timeout, poll=POLL_SECONDS):
    """Hold the exclusive lock at path; wait up to timeout seconds, then raise LockError naming the holder.

    owner (the module) and target (what is locked, for people) are written into the lock file while it is held.
    """
    try:
        descriptor = _open(path)
    except LockError as error:
        raise LockError('%s could not use its lock file for %s: %s' % (owner, target, error))
    except (IOError, OSError) as error:
        raise LockError('%s could not open its lock file %s for %s: %s' % (owner, path, target, error.strerror or error))
    try:
        deadline = time.monotonic() + max(timeout, 0)
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as error:
                if error.errno not in (errno.EAGAIN, errno.EACCES):
                    raise LockError('%s could not lock %s for %s: %s' % (owner, path, target, error.strerror))
            if time.monotonic() >= deadline:
                holder = read_holder(descriptor)
                raise LockError('%s waited %s s for the lock on %s (%s), held by %s' % (
                    owner, timeout, target, path, describe_holder(holder)), holder)
            time.sleep(poll)
        record = dict(pid=os.getpid(), module=owner, target=target, since=time.strftime('%H:%M:%S'))
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, (json.dumps(record) + '\n').encode('utf-8'), 0)
        try:
            yield record
        finally:
            # Emptied before unlocking: a lock file that names someone names its current holder.
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


@contextlib.contextmanager
def module_locks(module, owner, locks):
    """Hold every (target, path) lock for the with-block, taken in path order so two runs never deadlock.

    A lock not had within module.params['lock_timeout'] seconds fails the module, naming both sides; nothing was
    read or changed by then.
    """
    with contextlib.ExitStack() as stack:
        for target, path in sorted(set(locks), key=lambda lock: lock[1]):
            try:
                stack.enter_context(hold(path, owner, target, module.params['lock_timeout']))
            except LockError as error:
                module.fail_json(msg='%s. Nothing was changed.' % error, lock=path, lock_holder=error.holder)
        yield
