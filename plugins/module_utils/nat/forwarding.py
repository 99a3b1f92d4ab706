# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 forwarding per interface, switched on only where a NAT network needs it and put back after.

Private to the collection: may change without notice.

The kernel decides whether to forward an IPv4 packet by the `forwarding`
flag of the interface it came in on, so a NAT network needs the flag on its
bridge (guests going out) and on its uplink (replies and port forwards
coming in), and the global net.ipv4.ip_forward can stay off.

Several networks may share an uplink, and xen_route needs the uplink's flag
too: each instance claims the flags it needs in the one record of kernel
settings (common/sysctls.py), and a flag is put back only when its last user,
of any module, is gone. The ledger xen_nat kept before (<state_dir>/forwarding.json,
{ifname: {'original', 'instances'}}) is taken over by that record at the next run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

PROC_CONF = '/proc/sys/net/ipv4/conf'


def forwarding_path(ifname, proc_conf=PROC_CONF):
    # A path, not a sysctl name: interface names may hold dots (vif1.0).
    return os.path.join(proc_conf, ifname, 'forwarding')


def read_forwarding(ifname, proc_conf=PROC_CONF):
    """'0' or '1', or None when the interface does not exist."""
    try:
        with open(forwarding_path(ifname, proc_conf)) as handle:
            return handle.read().strip()
    except (IOError, OSError):
        return None


def write_forwarding(ifname, value, proc_conf=PROC_CONF):
    with open(forwarding_path(ifname, proc_conf), 'w') as handle:
        handle.write('%s\n' % value)


def forwarding_key(ifname):
    """The interface's flag as the record of kernel settings names it."""
    return 'net/ipv4/conf/%s/forwarding' % ifname


def forwarding_ifname(key):
    """The interface of a forwarding key, or None for another setting."""
    parts = key.split('/')
    return parts[3] if len(parts) == 5 and parts[:3] == ['net', 'ipv4', 'conf'] and parts[4] == 'forwarding' else None


def nat_user(name):
    """An instance as a user in the record of kernel settings."""
    return 'xen_nat %s' % name


def concerned(record, name):
    """What a run of the instance must read: the interfaces whose flag it claims or whose put-back a killed run left
    undone, and the other settings left so (xen_route's), which it finishes too. Returns (ifnames, [key])."""
    keys = record.concerns(nat_user(name))
    return [forwarding_ifname(key) for key in keys if forwarding_ifname(key)], [key for key in keys if not forwarding_ifname(key)]


def load_ledger(data):
    """xen_nat's former ledger from its file content (bytes or None): {ifname: {'original': '0', 'instances': [...]}}."""
    if not data:
        return {}
    return json.loads(data.decode('utf-8')).get('interfaces', {})


def take_over_ledger(record, ledger):
    """Put the former ledger's claims into the record (not yet written): a flag the record knows keeps its entry."""
    for ifname, entry in sorted(ledger.items()):
        key = forwarding_key(ifname)
        if key not in record.entries:
            record.entries[key] = {'original': entry['original'], 'users': {}}
        for instance in entry['instances']:
            record.entries[key]['users'].setdefault(nat_user(instance), '1')


def plan_forwarding(plan, record, name, needed, read_value, write_value, others=None, sysctls=None):
    """Add the steps giving instance `name` forwarding on exactly the interfaces `needed` (empty: on none), flags
    another user still needs left on. others: {key: value} of the other settings concerned (see concerned()), read
    and written through sysctls. Returns {ifname: value written}."""
    others = others or {}

    def read(key):
        ifname = forwarding_ifname(key)
        return read_value(ifname) if ifname else others.get(key)

    def write(key, value):
        ifname = forwarding_ifname(key)
        if ifname:
            write_value(ifname, value)
        else:
            sysctls.write(key, value)
    change = record.plan(plan, nat_user(name), dict((forwarding_key(ifname), '1') for ifname in needed), read, write)
    return dict((forwarding_ifname(key), value) for key, value in change.finish(plan).items() if forwarding_ifname(key))
