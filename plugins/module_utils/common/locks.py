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
behind. Lock files live in LOCK_DIR (tmpfs, emptied at boot), one per thing
locked. Whoever holds one writes its PID, module, target and start time
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


def _open(path):
    directory = os.path.dirname(path)
    if directory == LOCK_DIR and not os.path.isdir(directory):
        try:
            os.makedirs(directory, 0o700)
        except OSError as error:
            if error.errno != errno.EEXIST:
                raise
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


@contextlib.contextmanager
def hold(path, owner, target, timeout, poll=POLL_SECONDS):
    """Hold the exclusive lock at path; wait up to timeout seconds, then raise LockError naming the holder.

    owner (the module) and target (what is locked, for people) are written into the lock file while it is held.
    """
    try:
        descriptor = _open(path)
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
