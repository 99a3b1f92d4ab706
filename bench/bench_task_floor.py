"""What does one Ansible task cost over SSH, before a module does any work of its own?

site.yml's rerun on a dom0 (bench_site.py) is a handful of module tasks, one
per kind of state. This bench sets the floor under that figure: in a lab dom0
reached over real SSH from the lab's upstream namespace (pipelining,
ControlPersist, as bench_site.py runs), it times a playbook of --tasks copies
of one task and a playbook of one copy, and reports the difference per task
(so interpreter start, inventory and playbook parsing drop out), for
ansible.builtin.ping (the floor itself) and for collection modules in a state
where they change nothing (what each adds to the floor: imports, reading
state). The least of --runs runs counts.
Needs root (namespaces): .venv/bin/python bench/bench_task_floor.py [--tasks 10] [--runs 3]
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position
from bench_site import stop_strays  # noqa: E402 pylint: disable=wrong-import-position


def tasks_under_test(workdir):
    """(label, task line): each changes nothing after its first run."""
    return [
        ('ansible.builtin.ping', 'ansible.builtin.ping:'),
        ('xen_xl_defaults', 'xenfleet.network.xen_xl_defaults: {path: %s/xl.conf, vif_script: vif-bridge}' % workdir),
        ('xen_vif_info', 'xenfleet.network.xen_vif_info: {config_dir: %s, live: false}' % workdir),
        ('xen_bridge (absent)', 'xenfleet.network.xen_bridge: {name: xenbr7, state: absent}'),
    ]


def write_playbook(path, task, copies):
    with open(path, 'w') as stream:
        stream.write('- hosts: all\n  gather_facts: false\n  tasks:\n' + '    - %s\n' % task * copies)


def timed_run(lab, collections, playbook):
    env = ['env', 'ANSIBLE_COLLECTIONS_PATH=%s' % collections, 'ANSIBLE_PIPELINING=1',
           'ANSIBLE_SSH_ARGS=-C -o ControlMaster=auto -o ControlPersist=60s']
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    argv = lab.controller_prefix() + env + [ansible_playbook, '-i', os.path.join(lab.workdir, 'inventory.ini'), playbook]
    started = time.perf_counter()
    completed = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError('%s failed (rc %d):\n%s' % (playbook, completed.returncode, completed.stdout[-3000:]))
    return seconds


def measure(lab, collections, copies, runs):
    with open(os.path.join(lab.workdir, 'xl.conf'), 'w') as stream:
        stream.write('# xl.conf of the lab\n')
    playbook = os.path.join(lab.workdir, 'floor.yml')
    rows = []
    for label, task in tasks_under_test(lab.workdir):
        timings = {}
        for count in (1, copies):
            write_playbook(playbook, task, count)
            timed_run(lab, collections, playbook)  # the first run converges and warms the SSH master
            timings[count] = min(timed_run(lab, collections, playbook) for _run in range(runs))
        rows.append((label, timings[1], timings[copies], (timings[copies] - timings[1]) / (copies - 1)))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--tasks', type=int, default=10, help='copies of the task in the long playbook (default 10)')
    parser.add_argument('--runs', type=int, default=3, help='runs of each playbook; the least counts (default 3)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-floor-') as directory:
        collections = link_collection(directory)
        with Lab({'uplink': 'eth0', 'ssh': True, 'internet': False, 'guests': []}, python=sys.executable) as lab:
            try:
                rows = measure(lab, collections, args.tasks, args.runs)
            finally:
                stop_strays(lab)
    print('| task | playbook of 1 | playbook of %d | per task |' % args.tasks)
    print('|---|---:|---:|---:|')
    for label, one, many, per_task in rows:
        print('| %s | %.2f s | %.2f s | %.3f s |' % (label, one, many, per_task))
    return 0


if __name__ == '__main__':
    sys.exit(main())
