# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a xen_nat instance keeps its files, and the record it leaves for the next run and for other instances.

Private to the collection: may change without notice.

    <state_dir>/forwarding.json          which instances need forwarding where (see _forwarding)
    <state_dir>/.lock                    held while an instance is planned and applied
    <state_dir>/<name>/instance.json     the instance record
    <state_dir>/<name>/dnsmasq.leases    dnsmasq's lease database
    <state_dir>/<name>/dnsmasq.pid       dnsmasq's pid file
    <config_dir>/<name>.dnsmasq.conf     dnsmasq's configuration
    <systemd_unit_dir>/xenfleet-nat-<name>.service   on systemd hosts

The record holds what other instances check against (bridge, uplink,
subnet, public address, forwarded ports), the gateway address this module
added to the bridge (so that state=absent takes away only that), and the
fingerprint and nft -j listing of the table as last applied.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import fcntl
import glob
import json
import os

RECORD_FILE = 'instance.json'


class NatPaths:
    def __init__(self, spec):
        self.state_dir = spec.state_dir
        self.instance_dir = os.path.join(spec.state_dir, spec.name)
        self.record = os.path.join(self.instance_dir, RECORD_FILE)
        self.leases = os.path.join(self.instance_dir, 'dnsmasq.leases')
        self.pid = os.path.join(self.instance_dir, 'dnsmasq.pid')
        self.ledger = os.path.join(spec.state_dir, 'forwarding.json')
        self.lock = os.path.join(spec.state_dir, '.lock')
        self.config = os.path.join(spec.config_dir, '%s.dnsmasq.conf' % spec.name)
        self.unit = os.path.join(spec.systemd_unit_dir, 'xenfleet-nat-%s.service' % spec.name)

    def as_dict(self):
        return dict(config=self.config, leases=self.leases, pid_file=self.pid, record=self.record)


def load_record(data):
    """A record from file content (bytes or None); {} when there is none."""
    if not data:
        return {}
    return json.loads(data.decode('utf-8'))


def dump_record(record):
    return (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8')


def other_records(state_dir, name):
    """The records of every other instance under state_dir."""
    found = []
    for path in sorted(glob.glob(os.path.join(state_dir, '*', RECORD_FILE))):
        if os.path.basename(os.path.dirname(path)) == name:
            continue
        with open(path, 'rb') as handle:
            record = load_record(handle.read())
        if record.get('summary'):
            found.append(record['summary'])
    return found


@contextlib.contextmanager
def locked(path, create=True):
    """Hold an exclusive lock on path, so two instances never plan against each other's half-written state.

    With create false (check mode, removal) a missing directory is not made and nothing is locked.
    """
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        if not create:
            yield
            return
        os.makedirs(directory, 0o755)
    with open(path, 'a') as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
