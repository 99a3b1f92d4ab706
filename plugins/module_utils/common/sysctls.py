# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One owner per kernel setting: which module (instance) needs which /proc/sys value, under one lock and one record.

Private to the collection: may change without notice.

xen_nat and xen_route both switch forwarding (and proxy ARP/NDP) on, often on the same uplink. Each keeping its own
ledger let one put back a value the other still needed (xen_nat state=absent switched forwarding off under a
routed guest). So every module that sets a setting claims it here: the record holds, per setting, the value it had
before the first claim and every user with the value it needs; a setting is written when a user needs a value it
does not have, and put back only when its last user lets go. Users needing different values are refused.

The record lives as long as the kernel values it describes: for the network namespace the machine boots with
(PID 1's) in RECORD_PATH, so a value from before the first claim survives a reboot (the boot files set the claimed
values again, and would otherwise be taken for the original ones); for any other namespace (a container's network,
a test lab) under /run, named by the namespace's inode, with the namespace's cookie inside: a record left by a
namespace that is gone is not taken for that of a new one that got its inode.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import functools
import json
import os
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import namespace_lock_path
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft_snapshot import (
    current_namespace_inode, namespace_cookie, remove_files_of_gone_namespaces)
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import interface_name_problems

PROC_SYS = '/proc/sys'
RECORD_PATH = '/var/lib/xenfleet/sysctls.json'
RUN_RECORD_DIR = '/run/xenfleet/sysctls'
SETTING = re.compile(r'^[a-z][a-z0-9_]*$')
VALUE = re.compile(r'^-?[0-9]+$')


class SysctlError(Exception):
    """A setting cannot be read, written or claimed, or the record is not what this module wrote; names which."""


class Sysctls:
    """Kernel settings under /proc/sys, named in the '/' form (net/ipv4/conf/vif1.0/proxy_arp): names hold dots."""

    def __init__(self, root=PROC_SYS):
        self.root = root

    def path(self, key):
        return os.path.join(self.root, key)

    def read(self, key):
        """The value as text, or None when the setting does not exist (its interface is gone)."""
        try:
            with open(self.path(key)) as handle:
                return handle.read().strip()
        except (IOError, OSError):
            return None

    def write(self, key, value):
        try:
            with open(self.path(key), 'w') as handle:
                handle.write('%s\n' % value)
        except (IOError, OSError) as error:
            raise SysctlError('set %s to %s: %s' % (dotted(key), value, error.strerror or error))


def dotted(key):
    """The setting as sysctl(8) names it, for messages and step names."""
    return key.replace('/', '.')


def plan_write(plan, write_value, key, old, new):
    """The step setting key from old to new (its undo sets old again)."""
    plan.add('set %s to %s' % (dotted(key), new), functools.partial(write_value, key, new), functools.partial(write_value, key, old))


def lock():
    """The (target, path) lock every claimer holds from reading the record to writing it."""
    return ('kernel settings of this network namespace', namespace_lock_path('sysctls'))


def _is_boot_namespace():
    try:
        return os.stat('/proc/1/ns/net').st_ino == os.stat('/proc/self/ns/net').st_ino
    except OSError:
        return False


def record_location():
    """(path, cookie): where this namespace's record is, and the cookie it must carry (None: any)."""
    if _is_boot_namespace():
        return RECORD_PATH, None
    return os.path.join(RUN_RECORD_DIR, 'netns-%s.json' % current_namespace_inode()), namespace_cookie()


class SysctlRecord:
    """The record of one network namespace: {key: {'original': value or None, 'users': {user: value}}}."""

    def __init__(self, path, cookie=None, entries=None, data=None):
        self.path = path
        self.cookie = cookie
        self.entries = entries or {}
        self.saved = copy.deepcopy(self.entries)  # as the file holds them: written again only when they differ
        self.data = data  # the file's bytes as read, for the undo

    @classmethod
    def read(cls, location=None):
        path, cookie = location or record_location()
        try:
            data = read_bytes(path)
        except (IOError, OSError) as error:
            raise SysctlError('reading %s: %s' % (path, error.strerror or error))
        return cls(path, cookie, load(data, path, cookie), data)

    def users(self, user):
        """The keys user claims now."""
        return sorted(key for key, entry in self.entries.items() if user in entry['users'])

    def concerns(self, user):
        """The keys a run of user must read: those it claims, and those nobody claims any more, whose put-back a killed
        run left undone (any claimer finishes it)."""
        return sorted(key for key, entry in self.entries.items() if user in entry['users'] or not entry['users'])

    def claim(self, user, wanted, read_value):
        """The entries after user needs exactly wanted ({key: value}) and the writes that takes, [(key, now, new)].

        read_value(key) gives the kernel's value (None: the setting does not exist). SysctlError names a setting
        another user needs at another value.
        """
        entries = copy.deepcopy(self.entries)
        writes = []
        for key, value in sorted(wanted.items()):
            current = read_value(key)
            if key not in entries and current == value:
                # Nobody holds it and it is already so: its original would be this very value, which no put-back
                # changes; a record would only make a first run after a reboot that lost /run report a change.
                continue
            entry = entries.setdefault(key, {'original': current, 'users': {}})
            others = dict((other, needed) for other, needed in entry['users'].items() if other != user and needed != value)
            if others:
                raise SysctlError('%s needs %s = %s, but %s' % (user, dotted(key), value, ', '.join(
                    '%s needs %s' % pair for pair in sorted(others.items()))))
            entry['users'][user] = value
            if current is not None and current != value:
                writes.append((key, current, value))
        for key in sorted(entries):
            entry = entries[key]
            if key in wanted:
                continue
            entry['users'].pop(user, None)
            if entry['users']:
                continue  # still needed; one without users is a put-back a killed run left undone
            del entries[key]
            current = read_value(key)
            if current is not None and entry['original'] is not None and current != entry['original']:
                writes.append((key, current, entry['original']))
        return entries, writes

    def plan(self, plan, user, wanted, read_value, write_value):
        """Add to plan the steps that give user the values it needs now; returns the SysctlChange whose finish()
        adds the rest (values put back, then the record) where the caller's plan has stopped using them.

        The record is written ahead of the kernel: first with the new claims and every setting still to be put back
        (no users, its original kept), then the values are set; at finish() the values are put back, then the record
        loses those entries. A run killed anywhere in between leaves a record from which the next run finishes the job,
        never a kernel value whose original is lost.
        """
        entries, writes = self.claim(user, wanted, read_value)
        reverts = [(key, old, new) for key, old, new in writes if wanted.get(key) != new]
        ahead = copy.deepcopy(entries)
        for key, dummy, dummy in reverts:
            ahead[key] = {'original': self.entries[key]['original'], 'users': {}}
        change = SysctlChange(self, entries, ahead, reverts, write_value)
        change.write_record(plan, self.saved, ahead)
        for key, old, new in writes:
            if wanted.get(key) == new:
                change.add(plan, key, old, new)
        return change


class SysctlChange:
    """The steps of one claim: the record and the values set now, the values put back and the record at finish()."""

    def __init__(self, record, entries, ahead, reverts, write_value):
        self.record = record
        self.entries = entries
        self.ahead = ahead
        self.reverts = reverts
        self.write_value = write_value
        self.after = {}  # {key: value} of every key written

    def add(self, plan, key, old, new):
        plan_write(plan, self.write_value, key, old, new)
        self.after[key] = new

    def write_record(self, plan, before, after):
        if after == before:
            return
        path, cookie = self.record.path, self.record.cookie
        old = self.record.data if before is self.record.saved else dump(before, cookie)
        new = dump(after, cookie) if after else None
        plan.add(('write %s' if new else 'remove %s') % path, functools.partial(_put, path, new), functools.partial(_put, path, old))

    def finish(self, plan):
        for key, old, new in self.reverts:
            self.add(plan, key, old, new)
        self.write_record(plan, self.ahead, self.entries)
        return self.after


def load(data, path, cookie=None):
    """The entries from the record's bytes (None: no record); {} for a record another namespace left."""
    if not data:
        return {}
    try:
        record = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError) as error:
        raise SysctlError('reading %s: not JSON: %s' % (path, error))
    entries = record.get('sysctls') if isinstance(record, dict) else None
    if not isinstance(entries, dict) or not all(_entry_problem(key, entry) is None for key, entry in entries.items()):
        raise SysctlError('reading %s: not a record of kernel settings ({"sysctls": {"net/ipv4/conf/<interface>/<setting>": '
                          '{"original", "users"}}}); xen_nat and xen_route did not write this' % path)
    if cookie is not None and record.get('netns_cookie') != cookie:
        return {}
    return entries


def _entry_problem(key, entry):
    """Why one entry is not what claim() writes; its key becomes a path under /proc/sys, its values are written there."""
    parts = key.split('/') if isinstance(key, str) else []
    if len(parts) != 5 or parts[:2] not in (['net', 'ipv4'], ['net', 'ipv6']) or parts[2] != 'conf' \
            or interface_name_problems('interface', parts[3]) or not SETTING.match(parts[4]):
        return 'key'
    if not isinstance(entry, dict) or not isinstance(entry.get('users'), dict) or 'original' not in entry:
        return 'entry'
    values = [entry['original']] + list(entry['users'].values())
    if not all(value is None or (isinstance(value, str) and VALUE.match(value)) for value in values):
        return 'value'
    return None


def dump(entries, cookie=None):
    record = {'sysctls': entries}
    if cookie is not None:
        record['netns_cookie'] = cookie
    return (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8')


def _put(path, data):
    """Write the record (0600; its directory made 0755 when missing: /var/lib/xenfleet also holds xen_nat's state,
    which dnsmasq reads as its own user), or remove it when data is None."""
    if data is None:
        remove_file(path)
        return
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    write_atomic(path, data, mode=0o600)
    if directory == RUN_RECORD_DIR:
        remove_files_of_gone_namespaces(RUN_RECORD_DIR, 'netns-')
