"""How long does xen_guest_vifs take for a dom0 with 300 guests of 2 vifs each?

Measures, in a temporary directory standing in for /etc/xen (300 listed
guests with 2 vifs each, plus 50 other guests' configs in the directory),
the least CPU time and the median wall time of several runs of:
  - core_first: what the module does without Ansible on configs without vifs:
    read every config, scan the others, plan all guests (parse, settle, check,
    edit, verify) and write the 300 files atomically;
  - core_noop: the same on configs that already say it all (nothing written);
  - core_one_change: one guest's address changed (one file written);
  - module_noop: the module as a process (python xen_guest_vifs.py args.json):
    interpreter start, imports, AnsibleModule's option checks and the core.
Needs no root and no Xen: .venv/bin/python bench/bench_guest_vifs.py [--runs N] [--guests N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from benchlib import median_ms  # noqa: E402 pylint: disable=wrong-import-position
from xenlab import link_collection  # noqa: E402 pylint: disable=wrong-import-position

OTHER_GUESTS = 50

CORE_PROGRAM = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.vif.bulk import plan_guests
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import decode_config, encode_config
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import guest_claims, scan_config_dir

config_dir, runs = sys.argv[2], int(sys.argv[3])
guests = json.load(open(sys.argv[4]))
paths = dict((guest['name'], os.path.join(config_dir, guest['name'] + '.cfg')) for guest in guests)
empty = dict((name, read_bytes(path)) for name, path in paths.items())

def once(guests):
    cpu, wall = time.process_time(), time.perf_counter()
    texts = dict((name, decode_config(read_bytes(path))) for name, path in paths.items())
    claims = [one for guest in scan_config_dir(config_dir, skip=list(paths.values())) for one in guest_claims(guest)]
    plans = plan_guests(guests, texts, claims)
    written = 0
    for plan in plans:
        if plan.changed:
            write_atomic(paths[plan.name], encode_config(plan.new_text))
            written += 1
    return time.process_time() - cpu, time.perf_counter() - wall, written

changed = json.loads(json.dumps(guests))
changed[7]['vifs'][0]['ip'] = ['10.0.250.250']
found = {'first': [], 'noop': [], 'one_change': []}
for _run in range(runs):
    for name, data in empty.items():
        write_atomic(paths[name], data)
    found['first'].append(once(guests))
    found['noop'].append(once(guests))
    found['one_change'].append(once(changed))
    once(guests)
print(json.dumps(found))
'''


def desired(count):
    return [dict(name='g%d' % number, vifs=[
        dict(bridge='xenbr0', ip=['10.0.%d.%d' % (number // 200, number % 200 + 10)], mac='auto', vifname='auto'),
        dict(bridge='xenbr1', ip=['192.168.%d.%d' % (number // 200, number % 200 + 10)], mac='auto', vifname='auto'),
    ]) for number in range(count)]


def write_configs(config_dir, count):
    for number in range(count):
        with open(os.path.join(config_dir, 'g%d.cfg' % number), 'w') as stream:
            stream.write('# guest %d\nname = "g%d"\ntype = "pvh"\nmemory = 512\ndisk = [ "phy:/dev/vg0/g%d,xvda,w" ]\n' % (number, number, number))
    for number in range(OTHER_GUESTS):
        with open(os.path.join(config_dir, 'other-%d.cfg' % number), 'w') as stream:
            stream.write("name = 'other-%d'\nvif = [ 'mac=02:00:0a:63:00:%02x,ip=10.99.0.%d,vifname=other-%d-0' ]\n"
                         % (number, number, number, number))


def core_timings(collections, config_dir, guests_file, runs):
    completed = subprocess.run([sys.executable, '-c', CORE_PROGRAM, collections, config_dir, str(runs), guests_file],
                               stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def module_timings(collections, config_dir, guests, directory, runs):
    """The module as a process, the way AnsiballZ runs it on the dom0 (without the zip); nothing changes."""
    module = os.path.join(collections, 'ansible_collections', 'xenfleet', 'network', 'plugins', 'modules', 'xen_guest_vifs.py')
    env = dict(os.environ, PYTHONPATH=collections)
    arguments = os.path.join(directory, 'args.json')
    with open(arguments, 'w') as stream:
        json.dump({'ANSIBLE_MODULE_ARGS': {'guests': guests, 'config_dir': config_dir}}, stream)
    cpu, wall = [], []
    for _index in range(runs):
        before = os.times()
        completed = subprocess.run([sys.executable, module, arguments], env=env, stdout=subprocess.PIPE, text=True, check=True)
        after = os.times()
        cpu.append(after.children_user - before.children_user + after.children_system - before.children_system)
        wall.append(after.elapsed - before.elapsed)
        result = json.loads(completed.stdout)
        assert not result['changed'], result
    return cpu, wall


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--guests', type=int, default=300)
    args = parser.parse_args()
    guests = desired(args.guests)
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-guest-vifs-') as directory:
        collections = link_collection(directory)
        config_dir = os.path.join(directory, 'xen')
        os.makedirs(config_dir)
        write_configs(config_dir, args.guests)
        guests_file = os.path.join(directory, 'guests.json')
        with open(guests_file, 'w') as stream:
            json.dump(guests, stream)
        core = core_timings(collections, config_dir, guests_file, args.runs)
        module_cpu, module_wall = module_timings(collections, config_dir, guests, directory, args.runs)
    results = {'runs': args.runs, 'guests': args.guests, 'vifs': 2 * args.guests, 'other_guests_in_config_dir': OTHER_GUESTS}
    for kind, timings in sorted(core.items()):
        assert {written for _cpu, _wall, written in timings} == {dict(first=args.guests, noop=0, one_change=1)[kind]}
        results['core_%s_cpu_ms' % kind] = round(min(cpu for cpu, _wall, _written in timings) * 1000, 1)
        results['core_%s_wall_ms' % kind] = median_ms([wall for _cpu, wall, _written in timings])
    results['module_noop_cpu_ms'] = round(min(module_cpu) * 1000, 1)
    results['module_noop_wall_ms'] = median_ms(module_wall)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
