"""How long does xen_vif take on a guest config with 8 vifs?

Measures, in a temporary directory standing in for /etc/xen (a guest with
8 vifs beside 7 other guests with 2 vifs each), the median of several runs of:
  - core: what the module does without Ansible: read the config, scan the
    other configs for their claims, plan (parse, check, edit, verify) and
    write the file atomically;
  - module: the module as a process on the dom0 (python xen_vif.py args.json):
    interpreter start, imports and the core;
  - playbook: the wall time of ansible-playbook running the one xen_vif task,
    and, for comparison, of the same playbook with ansible.builtin.ping.
Every measured run changes the file (it toggles the rate of vif 7); a
repeated run that changes nothing is measured too.
Needs no root and no Xen: .venv/bin/python bench/bench_vif.py [--runs N]
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
from xenlab import link_collection  # noqa: E402 pylint: disable=wrong-import-position

GUEST = 'bench-web'
VIFS = 8
OTHER_GUESTS = 7
RATES = ('10Mb/s', '20Mb/s')

CORE_PROGRAM = r'''
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import decode_config, encode_config
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import guest_claims, scan_config_dir

config_dir, path, runs = sys.argv[2], sys.argv[3], int(sys.argv[4])
rates = ('10Mb/s', '20Mb/s')

def once(rate):
    started = time.perf_counter()
    text = decode_config(read_bytes(path))
    claims = [one for guest in scan_config_dir(config_dir, skip=path) for one in guest_claims(guest)]
    plan = plan_vif_change(text, guest='bench-web', devid=7, desired={'rate': rate, 'mac': 'auto', 'vifname': 'auto'},
                           dom0_claims=claims)
    if plan.changed:
        write_atomic(path, encode_config(plan.new_text))
    return time.perf_counter() - started, plan.changed

changed, unchanged = [], []
for index in range(runs):
    seconds, did_change = once(rates[index % 2])
    assert did_change
    changed.append(seconds)
    seconds, did_change = once(rates[index % 2])
    assert not did_change
    unchanged.append(seconds)
print(json.dumps({'changed': changed, 'unchanged': unchanged}))
'''

PLAYBOOK = '''
- hosts: localhost
  gather_facts: false
  tasks:
    - name: The measured task
      xenfleet.network.xen_vif:
        domain: bench-web
        config_dir: "{{ config_dir }}"
        devid: 7
        rate: "{{ rate }}"
        mac: auto
        vifname: auto
      when: not ping | bool
    - name: The baseline task
      ansible.builtin.ping:
      when: ping | bool
'''


def write_configs(config_dir):
    """The 8-vif guest and its neighbours; returns the 8-vif guest's config path."""
    vifs = ',\n'.join("    'mac=02:00:0a:00:%02x:05,bridge=xenbr%d,ip=10.0.%d.5,vifname=%s-%d'" % (index, index, index, GUEST, index)
                      for index in range(VIFS))
    path = os.path.join(config_dir, '%s.cfg' % GUEST)
    with open(path, 'w') as stream:
        stream.write('# %s: %d vifs\nname = "%s"\ntype = "pvh"\nmemory = 2048\nvif = [\n%s,\n]\n' % (GUEST, VIFS, GUEST, vifs))
    for number in range(OTHER_GUESTS):
        name = 'bench-%d' % number
        with open(os.path.join(config_dir, '%s.cfg' % name), 'w') as stream:
            stream.write("name = '%s'\nvif = [ 'mac=02:00:0a:00:00:%02x,ip=10.0.0.%d,vifname=%s-0', 'bridge=xenbr1,vifname=%s-1' ]\n"
                         % (name, 100 + number, 100 + number, name, name))
    return path


def next_rate(path):
    """The rate vif 7 does not have now, so the next run changes the file."""
    with open(path) as stream:
        return RATES[1] if 'rate=%s' % RATES[0] in stream.read() else RATES[0]


def core_timings(collections, config_dir, path, runs):
    completed = subprocess.run([sys.executable, '-c', CORE_PROGRAM, collections, config_dir, path, str(runs)],
                               stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def module_timings(collections, config_dir, path, directory, runs):
    """The module as a process, the way AnsiballZ runs it on the dom0 (without the zip)."""
    module = os.path.join(collections, 'ansible_collections', 'xenfleet', 'network', 'plugins', 'modules', 'xen_vif.py')
    env = dict(os.environ, PYTHONPATH=collections)
    timings = []
    for _index in range(runs):
        arguments = os.path.join(directory, 'args.json')
        with open(arguments, 'w') as stream:
            json.dump({'ANSIBLE_MODULE_ARGS': {'domain': GUEST, 'config_dir': config_dir, 'devid': 7, 'rate': next_rate(path),
                                               'mac': 'auto', 'vifname': 'auto'}}, stream)
        started = time.perf_counter()
        completed = subprocess.run([sys.executable, module, arguments], env=env, stdout=subprocess.PIPE, text=True, check=True)
        timings.append(time.perf_counter() - started)
        result = json.loads(completed.stdout)
        assert result['changed'], result
    return timings


def playbook_timings(collections, config_dir, path, directory, runs):
    playbook = os.path.join(directory, 'vif.yml')
    with open(playbook, 'w') as stream:
        stream.write(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_NOCOLOR='1')
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
    walls = {'changed': [], 'unchanged': [], 'ping': []}
    for _index in range(runs):
        rate = next_rate(path)
        for kind, ping in (('changed', False), ('unchanged', False), ('ping', True)):
            started = time.perf_counter()
            completed = subprocess.run([ansible_playbook, '-i', 'localhost,', '-c', 'local', playbook,
                                        '-e', 'ansible_python_interpreter=%s' % sys.executable, '-e', 'config_dir=%s' % config_dir,
                                        '-e', 'rate=%s' % rate, '-e', 'ping=%s' % ping],
                                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True)
            walls[kind].append(time.perf_counter() - started)
            expected = 'changed=1' if kind == 'changed' else 'changed=0'
            assert expected in completed.stdout, completed.stdout
    return walls


def main():
    args = parse_arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-vif-') as directory:
        collections = link_collection(directory)
        config_dir = os.path.join(directory, 'xen')
        os.makedirs(config_dir)
        path = write_configs(config_dir)
        core = core_timings(collections, config_dir, path, args.runs)
        module = module_timings(collections, config_dir, path, directory, args.runs)
        walls = playbook_timings(collections, config_dir, path, directory, args.runs)
    results = {
        'runs': args.runs,
        'vifs_in_config': VIFS,
        'other_guests_in_config_dir': OTHER_GUESTS,
        'core_changed_ms': median_ms(core['changed']),
        'core_unchanged_ms': median_ms(core['unchanged']),
        'module_process_changed_ms': median_ms(module),
        'ansible_playbook_changed_ms': median_ms(walls['changed']),
        'ansible_playbook_unchanged_ms': median_ms(walls['unchanged']),
        'ansible_playbook_ping_baseline_ms': median_ms(walls['ping']),
    }
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
