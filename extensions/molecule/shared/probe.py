# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real packets between a lab's namespaces, checked against what a scenario expects.

Usage: probe.py LAB_WORKDIR PROBES_JSON

Each probe: {"from": ROLE, "to": ADDRESS, "reach": true|false} pings from a
lab namespace; "source" pings from a chosen own address (the control of a
forgery); "forge" adds a foreign /32 to the guest's eth0 for the ping and
removes it after; "dropped_on": VIF also requires xen_antispoof's drop
counter of that vif to grow during the probe. Prints one line per probe and
exits 1 when any probe's outcome is not the expected one.
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..',
                                'tests', 'integration', 'targets', 'setup_xenfleet_roles'))
from dropped import dropped  # noqa: E402  (the role targets' reading of the drop counters)


def in_ns(namespace, argv, check=False):
    return subprocess.run(['ip', 'netns', 'exec', namespace] + argv, check=check,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def drops(namespaces, vif):
    ruleset = in_ns(namespaces['dom0'], ['nft', '-j', 'list', 'ruleset'], check=True).stdout
    return dropped(json.loads(ruleset), vif)


def ping(namespace, target, source=None):
    # IPv6 neighbour discovery through proxy NDP may take a few seconds on the first packet
    argv = ['ping', '-c', '3', '-W', '3', '-i', '0.3']
    if source:
        argv += ['-I', source]
    return in_ns(namespace, argv + [target]).returncode == 0


def probe(namespaces, item):
    namespace = namespaces[item['from']]
    before = drops(namespaces, item['dropped_on']) if item.get('dropped_on') else None
    if item.get('forge'):
        in_ns(namespace, ['ip', 'addr', 'add', item['forge'] + '/32', 'dev', 'eth0'], check=True)
        try:
            reached = ping(namespace, item['to'], item['forge'])
        finally:
            in_ns(namespace, ['ip', 'addr', 'del', item['forge'] + '/32', 'dev', 'eth0'], check=True)
    else:
        reached = ping(namespace, item['to'], item.get('source'))
    ok = reached == item['reach']
    detail = ''
    if before is not None:
        after = drops(namespaces, item['dropped_on'])
        ok = ok and after > before
        detail = ', dropped on %s %d -> %d' % (item['dropped_on'], before, after)
    claim = '%s%s -> %s %s' % (item['from'], ' forging ' + item['forge'] if item.get('forge') else
                               (' from ' + item['source'] if item.get('source') else ''),
                               item['to'], 'reaches' if item['reach'] else 'does not reach')
    print('[%s] %s (measured: %s%s)' % ('PASS' if ok else 'FAIL', claim, 'reached' if reached else 'no reply', detail))
    return ok


def main(workdir, probes_path):
    with open(os.path.join(workdir, 'state.json')) as handle:
        namespaces = json.load(handle)['namespaces']
    with open(probes_path) as handle:
        probes = json.load(handle)
    results = [probe(namespaces, item) for item in probes]
    print('%d of %d probes as expected' % (sum(results), len(results)))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv[1], sys.argv[2]))
