"""What does anti-spoofing cost per packet, and how long does applying it take, for 1 to 5000 vifs?

In a throw-away lab (tests/lab), two guests g1 and g2 talk across a dom0
bridge while N vifs are protected (g1's and g2's among them; the others are
policies for vif names that carry no traffic, which is all nftables sets need).
For N = 1, 100, 1000 and 5000 it measures, as medians of --runs runs:
  - TCP throughput g1 -> g2 (iperf3, 4 streams, both ends pinned to CPU 0
    with taskset: veth pairs whose ends run on different CPUs reorder TCP
    segments);
  - the 64-byte frame rate g1 -> g2 (iperf3 UDP with 18-byte payloads; frames
    received per second);
for: no filtering; Xen-style linear iptables (vif-common.sh's rules, FORWARD
policy DROP, built here, the two measured guests started first so their rules
sit at the bottom as Xen's -I leaves them); xen_antispoof's nftables backend;
xen_antispoof's iptables backend. The nftables figures are the median of
the ratios of runs with and without the tables, alternating. It also times
the module's core (validate, read the kernel or the snapshot, plan, apply,
keep the snapshot; and the kernel transaction alone) applying the whole
policy from nothing, adding one vif among N, removing it with a per-vif
state absent, and removing one by purge with the other N listed; and the
wall time of the Ansible task doing the same at the largest N.
Run as root: .venv/bin/python bench/bench_antispoof.py [--runs 4] [--seconds 2] [--pairs 10] [--sizes 1,100,1000,5000]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position

G1 = {'name': 'g1', 'vif': 'vif1.0', 'mac': '02:00:c0:00:02:15', 'ipv4': ['192.0.2.21/24']}
G2 = {'name': 'g2', 'vif': 'vif2.0', 'mac': '02:00:c0:00:02:16', 'ipv4': ['192.0.2.22/24']}
SYSCTLS = {'none': '0', 'xen': '1', 'nftables': '0', 'iptables': '1'}
CONFIGS = ('none', 'xen', 'nftables', 'iptables')

# Runs inside dom0's namespace: the module's core, without Ansible, timed step by step.
CORE_PROGRAM = r'''
import json, shutil, subprocess, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import AntispoofSpec
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import NftBackend
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_backend import IptablesBackend
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft_snapshot import ruleset_generation

def run(argv, data=None, binary_data=False):
    done = subprocess.run(argv, input=data, capture_output=True, text=True)
    return done.returncode, done.stdout, done.stderr

backend_name, action, runs = sys.argv[2], sys.argv[3], int(sys.argv[4])
vifs = json.loads(sys.stdin.read())
EXTRA = {'name': 'vifx.0', 'mac': ['02:00:0b:00:00:01'], 'ipv4': ['10.250.0.1']}
COMMON = {'trusted_ports': ['eth0'], 'unlisted_vifs': 'accept'}
CACHE = tempfile.mkdtemp(prefix='xenfleet-bench-cache-')
started = time.perf_counter()
ruleset_generation()  # imports pyroute2 once, as a module process does before its one run
first_generation_read = time.perf_counter() - started

def backend():
    if backend_name == 'nftables':
        return NftBackend(run, cache_dir=CACHE)
    tools = dict((tool, ('%s-nft-save' % name, '%s-nft-restore' % name)) for tool, name in (('eb', 'ebtables'), ('v4', 'iptables'), ('v6', 'ip6tables')))
    return IptablesBackend(run, tools)

def converge(params, absent=False):
    # (end-to-end seconds, seconds of the kernel transaction alone): validate, read, plan, apply, remember
    started = time.perf_counter()
    spec = AntispoofSpec(dict(COMMON, state='absent' if absent else 'present', **params))
    engine = backend().read()
    change = engine.plan_absent() if absent else engine.plan_present(spec)
    applied = time.perf_counter()
    change.apply()
    transaction = time.perf_counter() - applied
    engine.remember(applied=bool(change))
    return time.perf_counter() - started, transaction

timings = {}
if action == 'apply':
    timings['from_nothing'] = [converge({'vifs': vifs})]
    for name in ('add_one', 'remove_one', 'purge_one'):
        timings[name] = []
    for _ in range(runs):
        timings['add_one'].append(converge({'vifs': [EXTRA]}))
        timings['remove_one'].append(converge({'vifs': [{'name': EXTRA['name'], 'state': 'absent'}]}))
        converge({'vifs': [EXTRA]})
        timings['purge_one'].append(converge({'vifs': vifs, 'purge': True}))
else:
    timings['absent'] = [converge({}, absent=True)]
timings['first_generation_read'] = first_generation_read
shutil.rmtree(CACHE)
print(json.dumps(timings))
'''

ADD_ONE_PLAYBOOK = '''
- hosts: dom0
  gather_facts: false
  tasks:
    - ansible.builtin.set_fact: {started: "{{ now().timestamp() }}"}
    - xenfleet.network.xen_antispoof:
        trusted_ports: [eth0]
        unlisted_vifs: accept
        vifs: "{{ antispoof_vifs }}"
        purge: "{{ antispoof_purge }}"
        persist_path: "{{ persist_path }}"
        boot_unit_dir: "{{ boot_unit_dir }}"
        cache_dir: "{{ cache_dir }}"
    - ansible.builtin.debug: {msg: "ELAPSED {{ now().timestamp() - started | float }}"}
'''


def synthetic_vifs(count):
    """count policies: g1's and g2's first (as many as fit), then names that carry no traffic."""
    real = [{'name': guest['vif'], 'mac': [guest['mac']], 'ipv4': [guest['ipv4'][0].split('/', maxsplit=1)[0]]} for guest in (G1, G2)][:count]
    # Named to sort before vif1.0 and vif2.0: in the iptables backend's dispatch chains (sorted by name) the measured
    # guests then come last, the worst case, as in the Xen-style rules.
    others = [{'name': 'vif0%04d.1' % index, 'mac': ['02:00:0a:%02x:%02x:01' % (index >> 8, index & 0xff)],
               'ipv4': ['10.%d.%d.1' % (index >> 8, index & 0xff)], 'ipv6': ['2001:db8:a:%x::1' % index]}
              for index in range(3, 3 + count - len(real))]
    return real + others


def xen_style_rules(vifs):
    """Xen's vif-common.sh frob_iptable for every vif, as its -I inserts leave them (newest guest on top)."""
    rules = []
    for vif in vifs:  # started in this order; each insert goes on top
        for match in ['-s %s' % vif['ipv4'][0], '-p udp -m udp --sport 68 --dport 67']:
            rules.insert(0, '-A FORWARD -m physdev --physdev-in %s --physdev-is-bridged %s -j ACCEPT' % (vif['name'], match))
            rules.insert(0, '-A FORWARD -m state --state RELATED,ESTABLISHED -m physdev --physdev-out %s --physdev-is-bridged -j ACCEPT'
                         % vif['name'])
    return '*filter\n:FORWARD DROP [0:0]\n%s\nCOMMIT\n' % '\n'.join(rules)


class Bench:
    def __init__(self, lab, collections, runs, seconds, pairs):
        self.lab = lab
        self.collections = collections
        self.runs = runs
        self.seconds = seconds
        self.pairs = pairs

    def dom0(self, argv, data=None, timeout=600):
        return self.lab.run('dom0', argv, input=data, timeout=timeout)

    def build_bridge(self):
        self.dom0('ip link add xenbr0 type bridge stp_state 0 forward_delay 0 nf_call_iptables 0 nf_call_ip6tables 0 nf_call_arptables 0 '
                  '&& ip link set xenbr0 up')
        for guest in ('g1', 'g2'):
            self.lab.plug(guest, 'xenbr0')
        for guest, peer in (('g1', '192.0.2.22'), ('g2', '192.0.2.21')):
            self.lab.ping(guest, peer)

    def sysctl(self, value):
        self.dom0(['sysctl', '-q', '-w'] + ['net.bridge.bridge-nf-call-%s=%s' % (table, value) for table in ('iptables', 'ip6tables', 'arptables')])

    def core(self, backend, action, vifs):
        # The iptables backend takes seconds per change at a thousand vifs and more: one run there keeps the whole under 10 minutes.
        runs = 1 if backend == 'iptables' and len(vifs) >= 1000 else self.runs
        completed = self.dom0([sys.executable, '-c', CORE_PROGRAM, self.collections, backend, action, str(runs)], data=json.dumps(vifs))
        return json.loads(completed.stdout.strip().splitlines()[-1])

    def traffic(self):
        """TCP Gbit/s and 64-byte frames per second received, g1 -> g2, of each run."""
        tcp, pps = [], []
        client = ['taskset', '-c', '0', 'iperf3', '-c', '192.0.2.22', '-t', str(self.seconds), '-J']
        for _run in range(self.runs):
            # Four streams: a TCP connection keeps one speed for its whole life (13.7 or 16.5 Gbit/s here, with or
            # without filtering), so one stream per run measures that lottery more than the filter.
            result = json.loads(self.lab.run('g1', client + ['-P', '4'], timeout=self.seconds + 60).stdout)
            tcp.append(result['end']['sum_received']['bits_per_second'] / 1e9)
            result = json.loads(self.lab.run('g1', client + ['-u', '-b', '0', '-l', '18'], timeout=self.seconds + 60).stdout)
            summary = result['end']['sum']
            pps.append((summary['packets'] - summary['lost_packets']) / summary['seconds'])
        return tcp, pps

    def measure(self, config, vifs):
        """Set one configuration up for N vifs, measure traffic, take it down; returns the row."""
        self.sysctl(SYSCTLS[config])
        row = {}
        if config == 'xen':
            started = time.perf_counter()
            self.dom0(['iptables-nft-restore', '--noflush'], data=xen_style_rules(vifs))
            row['load_s'] = time.perf_counter() - started
        elif config in ('nftables', 'iptables'):
            row.update(self.core(config, 'apply', vifs))
        if not self.lab.ping('g1', '192.0.2.22'):
            raise RuntimeError('g1 cannot reach g2 with %s and %d vifs' % (config, len(vifs)))
        if config == 'nftables':
            row.update(self.paired_traffic())
        else:
            row['tcp_gbps_runs'], row['pps_runs'] = self.traffic()
        if config == 'xen':
            self.dom0(['nft', 'delete', 'table', 'ip', 'filter'])
        elif config in ('nftables', 'iptables'):
            self.core(config, 'absent', vifs)
        return row

    def paired_traffic(self):
        """Runs with the nftables tables and without them, alternately: the host's slow spells (a shared VM) then
        weigh on both alike. The tables are taken out and put back whole from nft's own listing."""
        saved = self.dom0('for family in bridge inet; do nft list table $family xenfleet_antispoof 2>/dev/null; done; true').stdout
        reload = 'table bridge xenfleet_antispoof\ndelete table bridge xenfleet_antispoof\n' + saved
        runs = {'tcp_gbps_runs': [], 'pps_runs': [], 'paired_none_tcp_gbps_runs': [], 'paired_none_pps_runs': [], 'tcp_ratio_runs': [], 'pps_ratio_runs': []}
        runs_wanted, self.runs = self.runs, 1
        try:
            for _pair in range(self.pairs):
                tcp, pps = self.traffic()
                runs['tcp_gbps_runs'] += tcp
                runs['pps_runs'] += pps
                self.dom0('for family in bridge inet; do nft delete table $family xenfleet_antispoof 2>/dev/null; done; true')
                tcp_none, pps_none = self.traffic()
                runs['paired_none_tcp_gbps_runs'] += tcp_none
                runs['paired_none_pps_runs'] += pps_none
                # Each pair's own ratio: a slow spell of the host moves both halves of a pair, not the ratio.
                runs['tcp_ratio_runs'].append(tcp[0] / tcp_none[0])
                runs['pps_ratio_runs'].append(pps[0] / pps_none[0])
                self.dom0(['nft', '-f', '-'], data=reload)
        finally:
            self.runs = runs_wanted
        return runs

    def task(self, vifs, directory):
        """Wall time of the Ansible task applying the policy from nothing, adding one vif and removing it (by state absent,
        and by purge with the others listed), with the nftables backend."""
        playbook = os.path.join(directory, 'antispoof.yml')
        with open(playbook, 'w') as stream:
            stream.write(ADD_ONE_PLAYBOOK)
        extra = {'name': 'vifx.0', 'mac': ['02:00:0b:00:00:01'], 'ipv4': ['10.250.0.1']}
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR='1')
        ansible_playbook = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
        timings = {'from_nothing': [], 'add_one': [], 'remove_one': [], 'purge_one': []}
        self.sysctl('0')
        for index in range(min(self.runs, 3)):  # each run is seconds of Ansible; three keep the whole under 10 minutes
            steps = [('add_one', [extra], False), ('remove_one', [{'name': extra['name'], 'state': 'absent'}], False),
                     ('add_one', [extra], False), ('purge_one', vifs, True)]
            if index == 0:
                steps.insert(0, ('from_nothing', vifs, True))
            for name, listed, purge in steps:
                variables = os.path.join(directory, 'vars.json')
                with open(variables, 'w') as stream:
                    # The lab's dom0 shares this machine's /etc: the boot unit goes to the work dir too.
                    json.dump({'antispoof_vifs': listed, 'antispoof_purge': purge, 'persist_path': os.path.join(directory, 'antispoof.nft'),
                               'boot_unit_dir': os.path.join(directory, 'systemd'), 'cache_dir': os.path.join(directory, 'cache')}, stream)
                completed = subprocess.run([ansible_playbook, '-i', self.lab.write_inventory(), '-l', 'dom0', playbook, '-e', '@' + variables],
                                           env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=True)
                timings[name].append(float(completed.stdout.split("ELAPSED ")[1].split('"')[0]))
        self.core('nftables', 'absent', vifs)
        return dict((name, statistics.median(values)) for name, values in timings.items())


def table(results, task):
    """The markdown table for docs/xen_antispoof.md."""
    lines = ['| vifs | filter | TCP Gbit/s | % of none | 64 B kpps | % of none | core: apply from nothing | add one vif '
             '| remove one vif (state: absent) | remove one vif (purge, the others listed) |',
             '| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |']
    for count, rows in results.items():
        for config in CONFIGS:
            row = rows[config]
            # nftables is compared with the runs without filtering that alternated with its own
            # nftables: the median of the ratios of runs with and without it, which alternated
            tcp_ratio = row.get('tcp_ratio', row['tcp_gbps'] / rows['none']['tcp_gbps'])
            pps_ratio = row.get('pps_ratio', row['pps'] / rows['none']['pps'])
            cells = [str(count), config, '%.2f' % row['tcp_gbps'], '%.0f %%' % (100 * tcp_ratio), '%.0f' % (row['pps'] / 1000), '%.0f %%' % (100 * pps_ratio)]
            if 'from_nothing' in row:
                cells += ['%s (kernel %s)' % (_ms(row[name], 0), _ms(row[name], 1)) for name in ('from_nothing', 'add_one', 'remove_one', 'purge_one')]
            elif 'load_s' in row:
                cells += ['%.0f ms (restore)' % (row['load_s'] * 1000), '', '', '']
            else:
                cells += ['', '', '', '']
            lines.append('| %s |' % ' | '.join(cells))
    first_reads = [rows['nftables'].get('first_generation_read') for rows in results.values()]
    if first_reads and first_reads[-1] is not None:
        lines.append('')
        lines.append('Not in the core figures: the first ruleset generation read of a process, which imports pyroute2: %.0f ms.'
                     % (statistics.median(first_reads) * 1000))
    if task:
        lines.append('')
        lines.append('Ansible task (nftables backend, %d vifs): apply from nothing %.2f s, add one vif %.2f s, remove one vif (state: absent) %.2f s, '
                     'remove one vif (purge, the others listed) %.2f s.'
                     % (task['vifs'], task['from_nothing'], task['add_one'], task['remove_one'], task['purge_one']))
    return '\n'.join(lines)


def _ms(pairs, index):
    return '%.0f ms' % (statistics.median(pair[index] for pair in pairs) * 1000)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=4)
    parser.add_argument('--seconds', type=int, default=2, help='length of each iperf3 run')
    parser.add_argument('--pairs', type=int, default=10, help='alternating runs with and without the nftables tables')
    parser.add_argument('--sizes', default='1,100,1000,5000')
    parser.add_argument('--json', help='also write the results to this file')
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(',')]
    started = time.monotonic()
    results = {}
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-') as directory, \
            Lab({'uplink': 'eth0', 'ssh': False, 'guests': [G1, G2]}, python=sys.executable) as lab:
        bench = Bench(lab, link_collection(directory), args.runs, args.seconds, args.pairs)
        bench.build_bridge()
        server = lab.spawn('g2', ['taskset', '-c', '0', 'iperf3', '-s', '-B', '192.0.2.22'])
        time.sleep(0.5)
        for count in sizes:
            vifs = synthetic_vifs(count)
            results[count] = {}
            for config in ('none', 'xen', 'iptables', 'nftables'):
                results[count][config] = row = bench.measure(config, vifs)
                print('%5d vifs %-9s %s' % (count, config, json.dumps(row)), file=sys.stderr)
                for key in [key for key in row if key.endswith('_runs')]:
                    row[key[:-len('_runs')]] = statistics.median(row[key])
        task = dict(bench.task(synthetic_vifs(max(sizes)), directory), vifs=max(sizes))
        lab.stop(server)
    print(table(results, task))
    print('\n(medians of %d runs of %d s each; nftables: %d runs alternating with as many without filtering; whole benchmark %.0f s)'
          % (args.runs, args.seconds, args.pairs, time.monotonic() - started))
    if args.json:
        with open(args.json, 'w') as stream:
            json.dump({'results': results, 'task': task}, stream, indent=2)
    return 0


if __name__ == '__main__':
    sys.exit(main())
