"""How long does moving dom0's uplink onto a bridge take?

Measures, in a throw-away lab dom0 (tests/lab), the median of several runs of:
  - core: reading the host, planning and applying the migration through the
    collection's module_utils, without Ansible (and the way back);
  - module: the apply time that xen_bridge reports (connectivity check included);
  - task: the wall time of an ansible-playbook run with the one xen_bridge task.
Run as root: .venv/bin/python bench/bench_bridge.py [--runs N]
"""

import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from benchlib import median_ms, parse_arguments  # noqa: E402 pylint: disable=wrong-import-position
from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position

CORE_PROGRAM = r'''
import json, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import BridgeSpec
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import read_host_view
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.plan import BridgePlanner
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import Netlink

def once(state):
    started = time.perf_counter()
    net = Netlink()
    spec = BridgeSpec({'name': 'xenbr0', 'uplink': 'eth0', 'state': state, 'nf_call_iptables': False,
                       'connectivity_check': []})
    planner = BridgePlanner(spec, read_host_view(net, spec, lambda path: None), net, None)
    planner.plan_present() if state == 'present' else planner.plan_absent()
    planner.plan.apply()
    net.close()
    return time.perf_counter() - started

runs = int(sys.argv[2])
timings = {'migrate': [], 'revert': []}
for _ in range(runs):
    timings['migrate'].append(once('present'))
    timings['revert'].append(once('absent'))
print(json.dumps(timings))
'''

PLAYBOOK = '''
- hosts: dom0
  gather_facts: false
  tasks:
    - xenfleet.network.xen_bridge: {name: xenbr0, uplink: eth0, state: "{{ state }}"}
      register: result
    - ansible.builtin.debug: {msg: "APPLY {{ result.apply_seconds | default(0) }}"}
'''


def core_timings(lab, collections, runs):
    completed = lab.run('dom0', [sys.executable, '-c', CORE_PROGRAM, collections, str(runs)], timeout=600)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def task_timings(lab, collections, directory, runs):
    playbook = os.path.join(directory, 'migrate.yml')
    with open(playbook, 'w') as stream:
        stream.write(PLAYBOOK)
    inventory = lab.write_inventory()
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    walls, applies = [], []
    for index in range(2 * runs):
        state = 'present' if index % 2 == 0 else 'absent'
        started = time.perf_counter()
        completed = subprocess.run([ansible_playbook, '-i', inventory, '-l', 'dom0', playbook, '-e', 'state=%s' % state],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True)
        if state == 'present':
            walls.append(time.perf_counter() - started)
            applies.append(float(completed.stdout.split('APPLY ')[1].split('"')[0]))
    return walls, applies


def main():
    args = parse_arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-') as directory, \
            Lab({'uplink': 'eth0', 'ssh': False, 'guests': []}, python=sys.executable) as lab:
        collections = link_collection(directory)
        core = core_timings(lab, collections, args.runs)
        walls, applies = task_timings(lab, collections, directory, args.runs)
    results = {
        'runs': args.runs,
        'core_migrate_ms': median_ms(core['migrate']),
        'core_revert_ms': median_ms(core['revert']),
        'module_apply_ms_with_connectivity_check': median_ms(applies),
        'ansible_playbook_wall_ms': median_ms(walls),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
