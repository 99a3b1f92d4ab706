"""The main job: a demo fleet of lab dom0s, converged by site.yml, then proved.

Each dom0 is a network namespace built by tests/lab, with an upstream gateway
behind its "NIC" and guests on veth pairs named like Xen vifs. site.yml runs
against the fleet twice (the second run must change nothing), the guests are
plugged in as Xen's vif-bridge would, and real packets prove the result.
Everything lives in namespaces this script creates and removes.
"""

import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))

from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position

FLEET = {
    'dom0-a': [
        {'name': 'web', 'vif': 'vif1.0', 'mac': '02:00:c0:00:02:15', 'ipv4': ['192.0.2.21/24'],
         'ipv6': ['2001:db8:1::21/64'], 'bridge': 'xenbr0'},
        {'name': 'db', 'vif': 'db-eth0', 'mac': '02:00:0a:00:01:05', 'ipv4': ['10.0.1.5/24'],
         'gateway4': '10.0.1.1', 'bridge': 'xenbr1'},
    ],
    'dom0-b': [
        {'name': 'mail', 'vif': 'vif7.0', 'mac': '02:00:c0:00:02:16', 'ipv4': ['192.0.2.22/24'],
         'ipv6': ['2001:db8:1::22/64'], 'bridge': 'xenbr0'},
        {'name': 'cache', 'vif': 'cache-eth0', 'mac': '02:00:0a:00:01:06', 'ipv4': ['10.0.1.6/24'],
         'gateway4': '10.0.1.1', 'bridge': 'xenbr1'},
    ],
}


def bridges_for(lab):
    return [
        {'name': 'xenbr0', 'uplink': 'eth0', 'persist': 'ifupdown',
         'persist_path': os.path.join(lab.state['workdir'], 'interfaces.d', 'xenbr0')},
        {'name': 'xenbr1', 'addresses': ['10.0.1.1/24'], 'persist': 'ifupdown',
         'persist_path': os.path.join(lab.state['workdir'], 'interfaces.d', 'xenbr1')},
    ]


class Report:
    def __init__(self):
        self.proofs = []

    def prove(self, claim, ok):
        self.proofs.append((claim, bool(ok)))
        print('  [%s] %s' % ('PASS' if ok else 'FAIL', claim), flush=True)

    @property
    def failures(self):
        return [claim for claim, ok in self.proofs if not ok]


def write_inventory(labs, directory):
    hosts = {}
    for host, lab in labs.items():
        hosts[host] = {
            'ansible_connection': 'local',
            'ansible_python_interpreter': os.path.join(lab.state['workdir'], 'dom0-python'),
            'xenfleet_bridges': bridges_for(lab),
        }
    path = os.path.join(directory, 'inventory.json')
    with open(path, 'w') as stream:
        json.dump({'xen_dom0': {'hosts': hosts}}, stream, indent=2)
    return path


def converge(inventory, collections, log_path):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections, ANSIBLE_HOST_KEY_CHECKING='False',
               ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0')
    started = time.monotonic()
    with open(log_path, 'a') as log:
        completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                                    '-i', inventory, os.path.join(REPO, 'site.yml')],
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        log.write(completed.stdout)
    recap = dict((host, dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts)))
                 for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', completed.stdout, re.M))
    return completed.returncode, recap, time.monotonic() - started


def kernel_bridges(lab):
    links = json.loads(lab.run('dom0', ['ip', '-j', '-d', 'addr', 'show']).stdout)
    bridges = []
    for link in links:
        if link.get('linkinfo', {}).get('info_kind') != 'bridge':
            continue
        data = link['linkinfo'].get('info_data', {})
        ports = sorted(other['ifname'] for other in links if other.get('master') == link['ifname'])
        addresses = ['%s/%s' % (info['local'], info['prefixlen']) for info in link.get('addr_info', [])
                     if info.get('scope') == 'global']
        bridges.append((link['ifname'], link['address'], ports, addresses, data))
    return bridges


def print_fleet(labs):
    print('\nWhat was built (read back from each dom0 kernel over netlink):')
    for host, lab in labs.items():
        print('  %s  (network namespace %s)' % (host, lab.ns('dom0')))
        for name, mac, ports, addresses, data in kernel_bridges(lab):
            print('    %-7s mac %s  stp %s  forward_delay %ss  nf_call_iptables %s' % (
                name, mac, 'on' if data.get('stp_state') else 'off', data.get('forward_delay', 0) // 100,
                data.get('nf_call_iptables')))
            print('            ports: %s' % (', '.join(ports) or '(none)'))
            print('            addresses: %s' % (', '.join(addresses) or '(none)'))
        route = json.loads(lab.run('dom0', ['ip', '-j', 'route', 'show', 'default']).stdout)
        print('    default route: via %s dev %s' % (route[0].get('gateway'), route[0].get('dev')) if route else '    no default route')


def prove_fleet(labs, report):
    for host, lab in labs.items():
        guests = FLEET[host]
        report.prove('%s: dom0 reaches its gateway 192.0.2.1 through xenbr0' % host, lab.ping('dom0', '192.0.2.1'))
        report.prove('%s: dom0 reaches its gateway over IPv6' % host, lab.ping('dom0', '2001:db8:1::1'))
        default = json.loads(lab.run('dom0', ['ip', '-j', 'route', 'show', 'default']).stdout)
        report.prove('%s: the default route moved to xenbr0' % host, default and default[0].get('dev') == 'xenbr0')
        public, private = guests
        report.prove('%s: guest %s on xenbr0 reaches the upstream gateway' % (host, public['name']),
                     lab.ping(public['name'], '192.0.2.1'))
        report.prove('%s: the upstream reaches guest %s' % (host, public['name']),
                     lab.ping('upstream', public['ipv4'][0].split('/')[0]))
        report.prove('%s: guest %s reaches its gateway 10.0.1.1 on the guest-only xenbr1' % (host, private['name']),
                     lab.ping(private['name'], '10.0.1.1'))
        report.prove('%s: guest %s on the guest-only network cannot reach the upstream' % (host, private['name']),
                     not lab.ping(private['name'], '192.0.2.1'))
        stanza = os.path.join(lab.state['workdir'], 'interfaces.d', 'xenbr0')
        report.prove('%s: the boot-time stanza %s was written' % (host, stanza), os.path.exists(stanza))


def build_fleet(stack):
    labs = {}
    for host, guests in FLEET.items():
        spec = {'uplink': 'eth0', 'ssh': False,
                'guests': [dict((key, value) for key, value in guest.items() if key != 'bridge') for guest in guests]}
        labs[host] = stack.enter_context(Lab(spec))
    return labs


def main():
    report = Report()
    print('xenfleet.network demo: a fleet of %d lab dom0s converged by site.yml\n' % len(FLEET), flush=True)
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix='xenfleet-demo-'))
        started = time.monotonic()
        labs = build_fleet(stack)
        print('Built %d dom0 namespaces with %d guests in %.1f s' % (
            len(labs), sum(len(guests) for guests in FLEET.values()), time.monotonic() - started))
        inventory = write_inventory(labs, directory)
        collections = link_collection(directory)
        log_path = os.path.join(directory, 'ansible.log')
        print('\nConverging with: ansible-playbook -i inventory site.yml')
        rc, recap, seconds = converge(inventory, collections, log_path)
        report.prove('first site.yml run succeeded on every dom0 (%.1f s; changed: %s)' % (
            seconds, ', '.join('%s=%d' % (host, counts.get('changed', 0)) for host, counts in sorted(recap.items()))),
            rc == 0 and len(recap) == len(FLEET) and all(counts.get('failed', 1) == 0 for counts in recap.values()))
        for host, lab in labs.items():
            for guest in FLEET[host]:
                lab.plug(guest['name'], guest['bridge'])
        print('Plugged every guest vif into its bridge, as Xen\'s vif-bridge does when a guest starts.\n')
        print('Proofs with real packets:')
        prove_fleet(labs, report)
        rc, recap, seconds = converge(inventory, collections, log_path)
        report.prove('second site.yml run changed nothing (%.1f s; changed: %s)' % (
            seconds, ', '.join('%s=%d' % (host, counts.get('changed', 0)) for host, counts in sorted(recap.items()))),
            rc == 0 and recap and all(counts.get('changed', 1) == 0 for counts in recap.values()))
        print_fleet(labs)
        if report.failures:
            print('\nansible-playbook output:\n' + open(log_path).read())
    print('\n%d proofs, %d passed, %d failed. All namespaces removed.' % (
        len(report.proofs), len(report.proofs) - len(report.failures), len(report.failures)))
    return 1 if report.failures else 0


if __name__ == '__main__':
    sys.exit(main())
