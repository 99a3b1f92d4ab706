# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a xen_nat instance keeps its files, and the record it leaves for the next run and for other instances.

Private to the collection: may change without notice.

    <state_dir>/forwarding.json          which instances need forwarding where (see _forwarding)
    <state_dir>/.lock                    held while an instance is planned and applied (common/locks.py)
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

import glob
import ipaddress
import json
import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import interface_name_problems

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
        # What the boot unit loads: the table as the running host has it, for nft -f.
        self.boot_table = os.path.join(spec.config_dir, '%s.nft' % spec.name)
        self.boot_unit_dir = spec.systemd_unit_dir
        self.boot_unit = 'xenfleet-nat-%s-firewall.service' % spec.name

    def as_dict(self):
        return dict(config=self.config, leases=self.leases, pid_file=self.pid, record=self.record)

    def boot_dict(self):
        return dict(table=self.boot_table, unit=os.path.join(self.boot_unit_dir, self.boot_unit))


class NatStateError(Exception):
    """A state file cannot be read or is not what this module wrote; the message names the file."""


def load_json_state(data, path, default):
    """A JSON object from the content of a state file (bytes or None): default when there is none."""
    if not data:
        return default
    try:
        state = json.loads(data.decode('utf-8'))
    except ValueError as error:
        raise NatStateError('reading %s: not JSON: %s' % (path, error))
    if not isinstance(state, dict):
        raise NatStateError('reading %s: a JSON %s where xen_nat keeps an object' % (path, type(state).__name__))
    return state


def load_record(data, path=RECORD_FILE):
    """A record from file content (bytes or None); {} when there is none; NatStateError naming the file and
    the field when it is not what this module writes (every field is used as an address, a name or a listing)."""
    record = load_json_state(data, path, {})
    problems = record_problems(record)
    if problems:
        raise NatStateError('reading %s: %s; xen_nat did not write this' % (path, '; '.join(problems)))
    return record


def json_text(value):
    return json.dumps(value)[:80]


def _value_problems(field, value, parse, what):
    """'<field> <value> is not <what>' unless value is None or text parse takes."""
    if value is None:
        return []
    try:
        if isinstance(value, str):
            parse(value)
            return []
    except ValueError:
        pass
    return ['%s %s is not %s' % (field, json_text(value), what)]


def strings(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def record_problems(record):
    """Each field of an instance record that is not what _plan_record writes, as '<field> <value> is not ...'."""
    found = []
    summary = record.get('summary')
    if summary is not None and not isinstance(summary, dict):
        found.append('summary %s is not an object' % json_text(summary))
    elif summary is not None:
        found.extend(_value_problems('summary.name', summary.get('name'), str, 'text'))
        for field in ('bridge', 'uplink'):
            if summary.get(field) is not None:
                found.extend(interface_name_problems('summary.' + field, summary[field]))
        found.extend(_value_problems('summary.subnet', summary.get('subnet'), ipaddress.IPv4Network, 'an IPv4 network'))
        found.extend(_value_problems('summary.snat_to', summary.get('snat_to'), ipaddress.IPv4Address, 'an IPv4 address'))
        if summary.get('port_forwards') is not None and not strings(summary['port_forwards']):
            found.append('summary.port_forwards %s is not a list of texts' % json_text(summary['port_forwards']))
    found.extend(_value_problems('gateway', record.get('gateway'), ipaddress.IPv4Address, 'an IPv4 address'))
    found.extend(_value_problems('gateway_added', record.get('gateway_added'), ipaddress.IPv4Interface, 'an IPv4 address/prefix'))
    nft = record.get('nft')
    if nft is not None and not (isinstance(nft, dict) and isinstance(nft.get('fingerprint'), (str, type(None)))
                                and isinstance(nft.get('listing'), (list, type(None)))):
        found.append('nft %s is not {"fingerprint": text, "listing": [...]}' % json_text(nft))
    return found


def read_state_file(path):
    """The file's bytes, None when it does not exist; NatStateError naming it when it cannot be read."""
    try:
        return read_bytes(path)
    except (IOError, OSError) as error:
        raise NatStateError('reading %s: %s' % (path, error.strerror or error))


def dump_record(record):
    return (json.dumps(record, indent=2, sort_keys=True) + '\n').encode('utf-8')


def other_records(state_dir, name):
    """The records of every other instance under state_dir."""
    found = []
    for path in sorted(glob.glob(os.path.join(state_dir, '*', RECORD_FILE))):
        if os.path.basename(os.path.dirname(path)) == name:
            continue
        record = load_record(read_state_file(path), path)
        if record.get('summary'):
            found.append(record['summary'])
    return found
