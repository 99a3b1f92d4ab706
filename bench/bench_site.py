"""How does site.yml's cost grow with the number of guests on one dom0?

For each N (default 2, 20, 200, 1000) it builds a lab dom0 (tests/lab/xenlab.py:
namespaces, the lab's sshd in the dom0 namespace, two guests that are real
namespaces) and writes N xl configs without vifs into a config directory of
the lab's own. The inventory (docs/inventory.md) gives the dom0 the
multi_bridge topology, N guests with 2 vifs each (a public one on xenbr0, a
private one on the guest-only xenbr1), NAT with DHCP fixed leases for the
private vifs and anti-spoofing for all of them. The controller runs
playbooks/site.yml from the lab's upstream namespace over SSH (pipelining,
ControlPersist), as a fleet's controller would, and the bench measures:
  - first: the first converge (bridges, 2N vif entries, NAT, DHCP, anti-spoofing);
  - rerun: the same again (must report changed=0; the least of --reruns runs);
  - one_change: one guest's private address changed (rewrites its config, its
    DHCP lease and its anti-spoofing elements);
and, per run, the wall time of each task (a callback of the bench's own).
Needs root (namespaces). Prints a table and, with --json, the raw numbers.
    .venv/bin/python bench/bench_site.py [--guests 2 20 200 1000] [--tasks]
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position

NAMESPACE_GUESTS = 2
# A callback that writes every task's wall time (first start to last result over the hosts) as JSON lines.
TIMING_CALLBACK = r'''
import json, os, time
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_timing'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self.path = os.environ['BENCH_TIMING_FILE']
        self.current = None

    def _close(self):
        if self.current is not None:
            name, started = self.current
            with open(self.path, 'a') as stream:
                stream.write(json.dumps({'task': name, 'seconds': time.monotonic() - started}) + '\n')
        self.current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        self.current = (task.get_name(), time.monotonic())

    v2_playbook_on_handler_task_start = v2_playbook_on_task_start

    def v2_playbook_on_stats(self, stats):
        self._close()
'''


def guest_vifs(number):
    """The two vifs of guest number (1-based): public on xenbr0, private on xenbr1."""
    if number <= NAMESPACE_GUESTS:
        public = dict(bridge='xenbr0', ip=['192.0.2.%d' % (20 + number)], vifname='g%d-0' % number)
    else:
        public = dict(bridge='xenbr0', ip=['10.128.%d.%d' % (number // 250, number % 250 + 1)])
    private = dict(bridge='xenbr1', ip=['10.0.%d.%d' % (number // 200, number % 200 + 10)])
    return [public, private]


def inventory_vars(workdir, count):
    return {
        'xenfleet_topology': 'multi_bridge',
        'xenfleet_uplink': 'eth0',
        'xenfleet_install_packages': False,
        'xenfleet_xl_config_dir': os.path.join(workdir, 'xen'),
        'xenfleet_xl_conf_path': os.path.join(workdir, 'xen', 'xl.conf'),
        'xenfleet_bridge_subnets': {'xenbr0': ['192.0.2.0/24', '10.128.0.0/16'], 'xenbr1': '10.0.0.0/16'},
        'xenfleet_nat': [{
            'name': 'priv', 'bridge': 'xenbr1', 'subnet': '10.0.0.0/16', 'gateway': '10.0.0.1', 'uplink': 'xenbr0',
            'service_manager': 'pidfile', 'state_dir': os.path.join(workdir, 'nat', 'state'),
            'systemd_unit_dir': os.path.join(workdir, 'systemd'),
            'config_dir': os.path.join(workdir, 'nat', 'etc'), 'dhcp': {'dns_servers': ['198.51.100.2']},
        }],
        'xenfleet_antispoof': {'persist_path': os.path.join(workdir, 'nftables.d', 'xenfleet-antispoof.nft')},
        'xenfleet_guests': [dict(name='g%d' % number, vifs=guest_vifs(number)) for number in range(1, count + 1)],
    }


def lab_spec():
    return {'uplink': 'eth0', 'ssh': True, 'internet': False, 'guests': [
        {'name': 'g%d' % number, 'vif': 'g%d-0' % number, 'ipv4': ['192.0.2.%d/24' % (20 + number)], 'gateway4': '192.0.2.1'}
        for number in range(1, NAMESPACE_GUESTS + 1)]}


def prepare(workdir, count):
    """The guests' xl configs (no vifs yet), an administrator's xl.conf, and the group site.yml runs on."""
    xen = os.path.join(workdir, 'xen')
    os.makedirs(xen, exist_ok=True)
    for number in range(1, count + 1):
        with open(os.path.join(xen, 'g%d.cfg' % number), 'w') as stream:
            stream.write('# g%d, written by the administrator\nname = "g%d"\ntype = "pvh"\nmemory = 512\n' % (number, number))
    with open(os.path.join(xen, 'xl.conf'), 'w') as stream:
        stream.write('# xl.conf of this dom0\nautoballoon="off"\n')
    with open(os.path.join(workdir, 'fleet.ini'), 'w') as stream:
        stream.write('[xen_dom0:children]\nlab_ssh\n')


def play(lab, collections, callbacks, variables, name):
    """Run site.yml from upstream over SSH; (seconds, changed count, per-task seconds, log path)."""
    workdir = lab.workdir
    vars_file = os.path.join(workdir, '%s.vars.json' % name)
    with open(vars_file, 'w') as stream:
        json.dump(variables, stream)
    timing = os.path.join(workdir, '%s.timing.jsonl' % name)
    log = os.path.join(workdir, '%s.log' % name)
    env = ['env', 'ANSIBLE_NOCOLOR=1', 'ANSIBLE_COLLECTIONS_PATH=%s' % collections, 'ANSIBLE_PIPELINING=1',
           'ANSIBLE_SSH_ARGS=-C -o ControlMaster=auto -o ControlPersist=60s', 'ANSIBLE_CALLBACK_PLUGINS=%s' % callbacks,
           'ANSIBLE_CALLBACKS_ENABLED=bench_timing', 'BENCH_TIMING_FILE=%s' % timing, 'ANSIBLE_DEPRECATION_WARNINGS=0']
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    argv = lab.controller_prefix() + env + [ansible_playbook, '-i', os.path.join(workdir, 'inventory.ini'), '-i',
                                            os.path.join(workdir, 'fleet.ini'), os.path.join(REPO, 'playbooks', 'site.yml'),
                                            '-e', '@' + vars_file]
    started = time.perf_counter()
    with open(log, 'w') as stream:
        completed = subprocess.run(argv, stdout=stream, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    with open(log) as stream:
        text = stream.read()
    if completed.returncode != 0:
        raise RuntimeError('%s failed (rc %d); the end of %s:\n%s' % (name, completed.returncode, log, text[-4000:]))
    match = re.search(r'^dom0_ssh\s*:.*changed=(\d+)', text, re.M)
    tasks = {}
    if os.path.exists(timing):
        with open(timing) as stream:
            for line in stream:
                entry = json.loads(line)
                tasks[entry['task']] = tasks.get(entry['task'], 0) + entry['seconds']
    return seconds, int(match.group(1)) if match else None, tasks, log


def stop_strays(lab):
    """Stop what the runs started inside the lab (dnsmasq in dom0, SSH control masters upstream), by PID, so that
    the lab's namespaces can go."""
    own = set(record['pid'] for record in lab._processes)  # pylint: disable=protected-access
    for role in ('dom0', 'upstream'):
        listed = subprocess.run(['ip', 'netns', 'pids', lab.ns(role)], stdout=subprocess.PIPE, text=True, check=False)
        for pid in (int(text) for text in listed.stdout.split()):
            if pid not in own:
                try:
                    os.kill(pid, signal.SIGTERM)
                except OSError:
                    pass
    time.sleep(0.5)


def measure(count, collections, callbacks, reruns=1):
    with Lab(lab_spec(), python=sys.executable) as lab:
        try:
            return _measure(lab, count, collections, callbacks, reruns)
        finally:
            stop_strays(lab)


def _measure(lab, count, collections, callbacks, reruns):
    prepare(lab.workdir, count)
    variables = dict(inventory_vars(lab.workdir, count), **lab.boot_file_vars())
    found = {}
    found['first'] = play(lab, collections, callbacks, variables, 'first')
    # The machine is shared: the least of a few reruns is the steadiest figure of what a rerun costs.
    found['rerun'] = min((play(lab, collections, callbacks, variables, 'rerun%d' % number) for number in range(reruns)),
                         key=lambda run: run[0])
    changed = json.loads(json.dumps(variables))
    guest = changed['xenfleet_guests'][count // 2]
    guest['vifs'][1]['ip'] = ['10.0.250.%d' % (count % 200 + 10)]
    found['one_change'] = play(lab, collections, callbacks, changed, 'one_change')
    found['one_change_rerun'] = play(lab, collections, callbacks, changed, 'one_change_rerun')
    if found['rerun'][1] != 0 or found['one_change_rerun'][1] != 0:
        raise RuntimeError('a rerun reported changes: %s, %s' % (found['rerun'][3], found['one_change_rerun'][3]))
    if not found['one_change'][1]:
        raise RuntimeError('changing an address changed nothing: %s' % found['one_change'][3])
    return dict((kind, dict(seconds=round(seconds, 2), changed=changed, tasks=dict((task, round(value, 2)) for task, value in tasks.items())))
                for kind, (seconds, changed, tasks, _log) in found.items())


def table(results):
    lines = ['| guests | vifs | first converge | rerun (no change) | one address changed | rerun / first | rerun / rerun at %d |'
             % min(results), '|---:|---:|---:|---:|---:|---:|---:|']
    base = results[min(results)]['rerun']['seconds']
    for count in sorted(results):
        runs = results[count]
        lines.append('| %d | %d | %.1f s | %.1f s | %.1f s | %d %% | %.2f |' % (
            count, 2 * count, runs['first']['seconds'], runs['rerun']['seconds'], runs['one_change']['seconds'],
            round(100 * runs['rerun']['seconds'] / runs['first']['seconds']), runs['rerun']['seconds'] / base))
    return '\n'.join(lines)


def slowest_tasks(results, kind='rerun', top=6):
    lines = []
    for count in sorted(results):
        tasks = sorted(results[count][kind]['tasks'].items(), key=lambda item: -item[1])[:top]
        lines.append('%d guests, %s: %s' % (count, kind, '; '.join('%s %.2f s' % item for item in tasks)))
    return '\n'.join(lines)


def variant_collection(directory):
    """A copy of the collection whose dom0_base runs xen_bridge without async: what the bridges' async polling costs."""
    root = os.path.join(directory, 'variant')
    target = os.path.join(root, 'ansible_collections', 'xenfleet', 'network')
    shutil.copytree(REPO, target, ignore=shutil.ignore_patterns('.venv', '.git', 'tests', '__pycache__', '.pytest_cache'))
    tasks = os.path.join(target, 'roles', 'dom0_base', 'tasks', 'bridges.yml')
    with open(tasks) as stream:
        text = stream.read()
    with open(tasks, 'w') as stream:
        stream.write(re.sub(r'(?m)^  (async|poll): .*\n', '', text))
    return root


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--guests', type=int, nargs='+', default=[2, 20, 200, 1000])
    parser.add_argument('--reruns', type=int, default=3, help='reruns without change per N; the least counts (default 3)')
    parser.add_argument('--sync-bridges', action='store_true',
                        help="run a copy of the collection whose dom0_base calls xen_bridge without async (what the polling costs)")
    parser.add_argument('--tasks', action='store_true', help='also print the slowest tasks of each run')
    parser.add_argument('--json', help='write the raw results to this file')
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-site-') as directory:
        collections = variant_collection(directory) if args.sync_bridges else link_collection(directory)
        callbacks = os.path.join(directory, 'callbacks')
        os.makedirs(callbacks)
        with open(os.path.join(callbacks, 'bench_timing.py'), 'w') as stream:
            stream.write(TIMING_CALLBACK)
        for count in args.guests:
            results[count] = measure(count, collections, callbacks, args.reruns)
            print('%d guests: first %.1f s, rerun %.1f s, one change %.1f s' % (
                count, results[count]['first']['seconds'], results[count]['rerun']['seconds'],
                results[count]['one_change']['seconds']), flush=True)
    print(table(results))
    if args.tasks:
        for kind in ('first', 'rerun', 'one_change'):
            print(slowest_tasks(results, kind))
    if args.json:
        with open(args.json, 'w') as stream:
            json.dump(results, stream, indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(main())
