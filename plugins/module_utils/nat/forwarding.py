# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IPv4 forwarding per interface, switched on only where a NAT network needs it and put back after.

Private to the collection: may change without notice.

The kernel decides whether to forward an IPv4 packet by the `forwarding`
flag of the interface it came in on, so a NAT network needs the flag on its
bridge (guests going out) and on its uplink (replies and port forwards
coming in), and the global net.ipv4.ip_forward can stay off.

Several networks may share an uplink. A ledger (a JSON file beside the
instances' state) records, per interface, the value it had before the first
network claimed it and which networks need it now; the value is put back
only when the last of them is gone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
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


def load_ledger(data):
    """The ledger from its file content (bytes or None): {ifname: {'original': '0', 'instances': [...]}}."""
    if not data:
        return {}
    return json.loads(data.decode('utf-8')).get('interfaces', {})


def dump_ledger(entries):
    return (json.dumps({'interfaces': entries}, indent=2, sort_keys=True) + '\n').encode('utf-8')


def plan_forwarding(ledger, instance, needed, read_value):
    """The ledger after `instance` needs forwarding on exactly `needed` (empty: on nothing), and the writes that takes.

    Returns (new ledger, [(ifname, current value, new value)]).
    """
    entries = copy.deepcopy(ledger)
    writes = []
    for ifname in needed:
        current = read_value(ifname)
        entry = entries.setdefault(ifname, {'original': current, 'instances': []})
        if instance not in entry['instances']:
            entry['instances'] = sorted(entry['instances'] + [instance])
        if current is not None and current != '1':
            writes.append((ifname, current, '1'))
    for ifname in sorted(entries):
        entry = entries[ifname]
        if ifname in needed or instance not in entry['instances']:
            continue
        entry['instances'] = [name for name in entry['instances'] if name != instance]
        if entry['instances']:
            continue
        del entries[ifname]
        current = read_value(ifname)
        if current is not None and entry['original'] is not None and current != entry['original']:
            writes.append((ifname, current, entry['original']))
    return entries, writes
