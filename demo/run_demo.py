"""The main job: a demo fleet of lab dom0s, converged by site.yml, then proved.

Each dom0 is a network namespace built by tests/lab, with an upstream gateway
behind its "NIC", an "internet" namespace beyond that, and guests on veth
pairs named like Xen vifs. A fleet with a conflict is refused first; then
site.yml converges the fleet (bridges, xl vif entries, NAT with DHCP,
anti-spoofing), the guests "boot" (their vifs are plugged in as Xen's
vif-bridge does, private guests ask for a lease with a real DHCP client),
real packets prove the result, and a second run of site.yml changes nothing.
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

DHCP_FILES = os.path.join(REPO, 'tests', 'integration', 'targets', 'setup_xen_nat', 'files')
INTERNET = '198.51.100.2'
# name, bridge, address; public guests share dom0's segment, private ones sit behind NAT on xenbr1.
FLEET = {
    'dom0-a': [('web', 'xenbr0', '192.0.2.21'), ('db', 'xenbr1', '10.0.1.5')],
    'dom0-b': [('mail', 'xenbr0', '192.0.2.22'), ('cache', 'xenbr1', '10.0.1.6')],
}


def mac_from_ip(address):
    """The MAC that xen_vif's mac: auto gives an address: the collection's own derivation, so the lab's guests
    carry what the module writes (Fleet makes the collection importable first)."""
    from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import mac_from_ip as derive  # pylint: disable=import-outside-toplevel
    return derive(address)


def lab_spec(guests):
    spec_guests = []
    for name, bridge, address in guests:
        guest = {'name': name, 'vif': '%s-0' % name, 'mac': mac_from_ip(address)}
        if bridge == 'xenbr0':
            guest.update(ipv4=[address + '/24'], gateway4='192.0.2.1')
        spec_guests.append(guest)  # private guests start with no address: DHCP gives it
    return {'uplink': 'eth0', 'ssh': False, 'internet': True, 'guests': spec_guests}


def host_vars(lab, guests):
    workdir = lab.state['workdir']
    return {
        'ansible_connection': 'local',
        'ansible_python_interpreter': os.path.join(workdir, 'dom0-python'),
        'xenfleet_topology': 'multi_bridge',
        # The lab dom0 is a namespace of this machine: apt and /etc/xen/xl.conf are the machine's own.
        'xenfleet_install_packages': False,
        'xenfleet_xl_conf_path': os.path.join(workdir, 'xen', 'xl.conf'),
        'xenfleet_bridges': [
            {'name': 'xenbr0', 'uplink': 'eth0', 'persist': 'ifupdown',
             'persist_path': os.path.join(workdir, 'interfaces.d', 'xenbr0')},
            {'name': 'xenbr1', 'addresses': ['10.0.1.1/24'], 'persist': 'ifupdown',
             'persist_path': os.path.join(workdir, 'interfaces.d', 'xenbr1')},
        ],
        'xenfleet_xl_config_dir': os.path.join(workdir, 'xen'),
        'xenfleet_bridge_subnets': {'xenbr0': '192.0.2.0/24', 'xenbr1': '10.0.1.0/24'},
        'xenfleet_guests': [{'name': name,
                        'vifs': [{'devid': 0, 'bridge': bridge, 'ip': [address], 'mac': 'auto', 'vifname': '%s-0' % name}]}
                       for name, bridge, address in guests],
        'xenfleet_nat': [{
            'name': 'guests', 'bridge': 'xenbr1', 'subnet': '10.0.1.0/24', 'uplink': 'xenbr0',
            'dhcp': {'range_start': '10.0.1.100', 'range_end': '10.0.1.199', 'dns_servers': [INTERNET],
                     'domain': 'guests.demo'},
            'service_manager': 'pidfile',
            'state_dir': os.path.join(workdir, 'nat', 'state'), 'config_dir': os.path.join(workdir, 'nat', 'etc'),
        }],
        'xenfleet_antispoof': {'persist_path': os.path.join(workdir, 'nftables.d', 'xenfleet.nft')},
    }


class Report:
    def __init__(self):
        self.proofs = []

    def prove(self, claim, ok):
        self.proofs.append((claim, bool(ok)))
        print('  [%s] %s' % ('PASS' if ok else 'FAIL', claim), flush=True)

    @property
    def failures(self):
        return [claim for claim, ok in self.proofs if not ok]


class Fleet:
    """The labs, their inventory, and ansible-playbook runs against them."""

    def __init__(self, stack, directory):
        self.directory = directory
        self.collections = link_collection(directory)
        sys.path.insert(0, self.collections)
        self.labs = dict((host, stack.enter_context(Lab(lab_spec(guests)))) for host, guests in FLEET.items())
        self.log_path = os.path.join(directory, 'ansible.log')
        self.inventory = os.path.join(directory, 'inventory.json')
        self.write_guest_configs()
        hosts = dict((host, host_vars(lab, FLEET[host])) for host, lab in self.labs.items())
        with open(self.inventory, 'w') as stream:
            json.dump({'xen_dom0': {'hosts': hosts}}, stream, indent=2)

    def write_guest_configs(self):
        """The guests' xl configs as an administrator left them: no vif entries yet."""
        for host, lab in self.labs.items():
            directory = os.path.join(lab.state['workdir'], 'xen')
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, 'xl.conf'), 'w') as stream:
                stream.write('# xl.conf of this dom0\nautoballoon="off"\n')
            for name, _bridge, _address in FLEET[host]:
                with open(os.path.join(directory, '%s.cfg' % name), 'w') as stream:
                    stream.write('# %s, a PV guest\nname = "%s"\ntype = "pvh"\nmemory = 1024\nvcpus = 2\n'
                                 'kernel = "/usr/lib/xen/boot/pv-grub2.gz"\ndisk = [ "phy:/dev/vg0/%s,xvda,w" ]\n'
                                 % (name, name, name))

    def converge(self, *extra, playbook='site.yml'):
        # An absolute async dir: async_status must find the job files where the job wrote them,
        # whatever HOME the caller (ansible-test, CI) runs with.
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_ASYNC_DIR=os.path.join(self.directory, 'async'))
        started = time.monotonic()
        completed = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
                                    '-i', self.inventory, os.path.join(REPO, playbook)] + list(extra),
                                   env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        with open(self.log_path, 'a') as log:
            log.write(completed.stdout)
        recap = dict((host, dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts)))
                     for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', completed.stdout, re.M))
        return completed, recap, time.monotonic() - started


def summary(recap):
    return ', '.join('%s changed=%d' % (host, counts.get('changed', 0)) for host, counts in sorted(recap.items()))


def kernel_links(lab):
    return json.loads(lab.run('dom0', ['ip', '-j', '-d', 'addr', 'show']).stdout)


def dhcp_lease(lab, guest):
    """Run ISC dhclient once in the guest with the lab's own script and files; the leased address."""
    workdir = lab.state['workdir']
    script = os.path.join(workdir, 'dhclient-script')
    if not os.path.exists(script):
        with open(os.path.join(DHCP_FILES, 'dhclient-script.sh')) as source, open(script, 'w') as target:
            target.write(source.read())
        os.chmod(script, 0o755)
    pid_file = os.path.join(workdir, '%s.dhclient.pid' % guest)
    lab.run(guest, ['dhclient', '-1', '-4', '-sf', script, '-cf', os.path.join(DHCP_FILES, 'dhclient.conf'),
                    '-lf', os.path.join(workdir, '%s.leases' % guest), '-pf', pid_file, 'eth0'], check=False, timeout=40)
    lab.run(guest, ['dhclient', '-x', '-pf', pid_file], check=False)
    info = json.loads(lab.run(guest, ['ip', '-j', '-4', 'addr', 'show', 'dev', 'eth0']).stdout)
    return [address['local'] for address in info[0].get('addr_info', [])]


def forged_source_is_dropped(lab, guest, forged):
    """The guest takes an address that is not its own and pings the gateway from it."""
    lab.run(guest, ['ip', 'addr', 'add', forged + '/32', 'dev', 'eth0'])
    try:
        return not lab.run(guest, ['ping', '-c', '2', '-W', '1', '-I', forged, '192.0.2.1'], check=False).returncode == 0
    finally:
        lab.run(guest, ['ip', 'addr', 'del', forged + '/32', 'dev', 'eth0'])


def forged_mac_is_dropped(lab, guest, mac):
    original = json.loads(lab.run(guest, ['ip', '-j', 'link', 'show', 'eth0']).stdout)[0]['address']
    lab.run(guest, ['ip', 'link', 'set', 'eth0', 'address', mac])
    try:
        lab.run(guest, ['ip', 'neigh', 'flush', 'dev', 'eth0'])
        return not lab.ping(guest, '192.0.2.1')
    finally:
        lab.run(guest, ['ip', 'link', 'set', 'eth0', 'address', original])


def prove_conflicts_refused(fleet, report):
    duplicate = json.dumps({'xenfleet_guests': [{'name': 'twin', 'vifs': [{'devid': 0, 'bridge': 'xenbr0', 'ip': ['192.0.2.99'],
                                                                     'mac': '02:00:c0:00:02:63', 'vifname': 'twin-0'}]}]})
    completed, _recap, _seconds = fleet.converge('-e', duplicate)
    untouched = all(not any(link['ifname'] == 'xenbr0' for link in kernel_links(lab)) for lab in fleet.labs.values())
    report.prove('a fleet where two dom0s claim the same MAC and address is refused before anything changes',
                 completed.returncode != 0 and 'twin' in completed.stdout and untouched)


def prove_dom0(host, lab, report):
    report.prove('%s: dom0 reaches its gateway through xenbr0, over IPv4 and IPv6' % host,
                 lab.ping('dom0', '192.0.2.1') and lab.ping('dom0', '2001:db8:1::1'))
    default = json.loads(lab.run('dom0', ['ip', '-j', 'route', 'show', 'default']).stdout)
    report.prove('%s: the default route moved from eth0 to xenbr0' % host, default and default[0].get('dev') == 'xenbr0')


def prove_guests(host, lab, report):
    (public, _bridge, public_ip), (private, _private_bridge, private_ip) = FLEET[host]
    config = open(os.path.join(lab.state['workdir'], 'xen', '%s.cfg' % public)).read()
    vif_line = re.search(r"vif = \[ *'([^']*)'", config)
    report.prove('%s: %s.cfg holds %r' % (host, public, vif_line.group(1) if vif_line else 'no vif entry'),
                 mac_from_ip(public_ip) in config and 'vifname=%s-0' % public in config)
    report.prove('%s: public guest %s reaches the upstream gateway and is reached from it' % (host, public),
                 lab.ping(public, '192.0.2.1') and lab.ping('upstream', public_ip))
    leased = dhcp_lease(lab, private)
    report.prove('%s: private guest %s got its configured address %s from dnsmasq (got %s)' % (
        host, private, private_ip, ', '.join(leased) or 'nothing'), leased == [private_ip])
    report.prove('%s: private guest %s reaches the internet (%s) through NAT' % (host, private, INTERNET),
                 lab.ping(private, INTERNET))
    report.prove('%s: the upstream cannot reach private guest %s directly' % (host, private),
                 not lab.ping('upstream', private_ip))
    report.prove('%s: guest %s forging source address 192.0.2.99 is dropped' % (host, public),
                 forged_source_is_dropped(lab, public, '192.0.2.99'))
    report.prove('%s: guest %s forging its MAC is dropped' % (host, public),
                 forged_mac_is_dropped(lab, public, '02:00:de:ad:be:ef'))
    report.prove('%s: guest %s still works after the forgery attempts' % (host, public), lab.ping(public, '192.0.2.1'))


def print_fleet(fleet):
    print('\nWhat was built (read back from each dom0 kernel):')
    for host, lab in fleet.labs.items():
        print('  %s  (network namespace %s)' % (host, lab.ns('dom0')))
        links = kernel_links(lab)
        for link in links:
            if link.get('linkinfo', {}).get('info_kind') != 'bridge':
                continue
            data = link['linkinfo'].get('info_data', {})
            ports = sorted(other['ifname'] for other in links if other.get('master') == link['ifname'])
            addresses = ['%s/%s' % (info['local'], info['prefixlen']) for info in link.get('addr_info', [])
                         if info.get('scope') == 'global']
            print('    %-7s mac %s  stp %s  nf_call_iptables %s  ports: %s  addresses: %s' % (
                link['ifname'], link['address'], 'on' if data.get('stp_state') else 'off', data.get('nf_call_iptables'),
                ', '.join(ports) or '-', ', '.join(addresses) or '-'))
        tables = lab.run('dom0', ['nft', 'list', 'tables']).stdout.split('\n')
        print('    nftables tables: %s' % ', '.join(line.replace('table ', '') for line in tables if line))


def main():
    report = Report()
    print('xenfleet.network demo: a fleet of %d lab dom0s converged by site.yml\n' % len(FLEET), flush=True)
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory(prefix='xenfleet-demo-'))
        started = time.monotonic()
        fleet = Fleet(stack, directory)
        stack.callback(fleet.converge, playbook=os.path.join('demo', 'teardown.yml'))
        print('Built %d dom0 namespaces, each with an upstream, an internet and %d guests, in %.1f s\n' % (
            len(fleet.labs), len(FLEET['dom0-a']), time.monotonic() - started))
        print('Fleet-wide checks:')
        prove_conflicts_refused(fleet, report)
        completed, recap, seconds = fleet.converge()
        report.prove('ansible-playbook -i inventory site.yml converged every dom0 in %.1f s (%s)' % (seconds, summary(recap)),
                     completed.returncode == 0 and len(recap) == len(FLEET))
        if completed.returncode != 0:
            print(completed.stdout[-6000:])
        for host, lab in fleet.labs.items():
            for name, bridge, _address in FLEET[host]:
                lab.plug(name, bridge)
        print('\nGuests booted: each vif plugged into its bridge, as Xen\'s vif-bridge does.\n')
        for host, lab in fleet.labs.items():
            print('Proofs on %s, with real packets:' % host)
            prove_dom0(host, lab, report)
            prove_guests(host, lab, report)
        print('\nFleet-wide checks:')
        completed, recap, seconds = fleet.converge()
        report.prove('a second site.yml run changed nothing (%.1f s; %s)' % (seconds, summary(recap)),
                     completed.returncode == 0 and recap and all(counts.get('changed', 1) == 0 for counts in recap.values()))
        print_fleet(fleet)
        if report.failures:
            print('\nansible-playbook output:\n' + open(fleet.log_path).read()[-20000:])
    print('\n%d proofs, %d passed, %d failed. All namespaces removed.' % (
        len(report.proofs), len(report.proofs) - len(report.failures), len(report.failures)))
    return 1 if report.failures else 0


if __name__ == '__main__':
    sys.exit(main())
