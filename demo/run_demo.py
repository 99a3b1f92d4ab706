"""The main job: a fleet of three lab dom0s, one per topology, converged by site.yml over SSH, then proved.

Each dom0 is a network namespace built by tests/lab, with its own sshd, an
upstream gateway behind its "NIC", an "internet" beyond that, and guests on
veth pairs named like Xen vifs (demo/fleet.py). A fleet with a conflict is
refused first; then one ansible-playbook run of site.yml converges the three
dom0s (each by the role of its topology), the guests "boot", real packets
fill a reachability matrix per dom0 and try forged sources and MACs, and a
second run changes nothing. The report is printed and written, with a graphviz
diagram, to an output folder named at the end. Every namespace this script
creates is removed unless --keep is given.
"""

import argparse
import concurrent.futures
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, 'tests', 'lab'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration', 'targets', 'setup_xenfleet_roles'))
sys.path.insert(0, HERE)

from dropped import dropped  # noqa: E402 pylint: disable=wrong-import-position
from xenlab import Lab, link_collection  # noqa: E402 pylint: disable=wrong-import-position
import fleet as fleet_spec  # noqa: E402 pylint: disable=wrong-import-position
import report as report_out  # noqa: E402 pylint: disable=wrong-import-position

DHCP_FILES = os.path.join(REPO, 'tests', 'integration', 'targets', 'setup_xen_nat', 'files')
PROBES = 16  # pings in flight at once: a matrix cell that should fail costs its whole timeout


def mac_from_ip(address):
    """The MAC xen_vif's mac: auto gives an address: the collection's own derivation, so the lab's guests
    carry what the module writes (Fleet makes the collection importable first)."""
    from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import mac_from_ip as derive  # pylint: disable=import-outside-toplevel
    return derive(address)


class Proofs:
    def __init__(self):
        self.items = []

    def prove(self, claim, ok):
        self.items.append({'claim': claim, 'ok': bool(ok)})
        print('  [%s] %s' % ('PASS' if ok else 'FAIL', claim), flush=True)
        return ok

    @property
    def failures(self):
        return [item['claim'] for item in self.items if not item['ok']]


class Fleet:
    """The labs, their inventory, and ansible-playbook runs against them over SSH."""

    def __init__(self, directory, keep, output):
        self.directory = directory
        self.collections = link_collection(directory)
        sys.path.insert(0, self.collections)
        self.labs = {}
        self.keep = keep
        self.log_path = os.path.join(output, 'ansible.log')
        self.inventory = os.path.join(directory, 'inventory.json')
        self.runs = []

    def build(self, stack):
        for host in fleet_spec.FLEET:
            lab = Lab(fleet_spec.lab_spec(host, mac_from_ip))
            if not self.keep:
                stack.callback(lab.down)
            self.labs[host] = lab.up()
        self.write_guest_configs()
        proxy = os.path.join(HERE, 'ssh_proxy.py')
        hosts = dict((host, fleet_spec.host_vars(host, lab, proxy)) for host, lab in self.labs.items())
        with open(self.inventory, 'w') as stream:
            json.dump({'xen_dom0': {'hosts': hosts}}, stream, indent=2)

    def write_guest_configs(self):
        """The guests' xl configs as an administrator left them (no vif entries yet), and an xl.conf of theirs."""
        for host, lab in self.labs.items():
            directory = os.path.join(lab.state['workdir'], 'xen')
            os.makedirs(directory, exist_ok=True)
            os.makedirs(os.path.join(lab.state['workdir'], 'sysctl.d'), exist_ok=True)  # as on a real dom0
            with open(os.path.join(directory, 'xl.conf'), 'w') as stream:
                stream.write('# xl.conf of this dom0\nautoballoon="off"\n')
            for guest in fleet_spec.guests(host):
                with open(os.path.join(directory, '%s.cfg' % guest['name']), 'w') as stream:
                    stream.write('# %s, a PVH guest\nname = "%s"\ntype = "pvh"\nmemory = 1024\nvcpus = 2\n'
                                 'disk = [ "phy:/dev/vg0/%s,xvda,w" ]\n' % ((guest['name'],) * 3))

    def converge(self, name, *extra, playbook='site.yml'):
        """ansible-playbook from the first lab's upstream namespace; each host is reached through its own lab."""
        # An absolute async dir: async_status must find the job files where the job wrote them,
        # whatever HOME the caller (ansible-test, CI) runs with.
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_ASYNC_DIR=os.path.join(self.directory, 'async'), ANSIBLE_HOST_KEY_CHECKING='False')
        controller = next(iter(self.labs.values())).controller_prefix()
        argv = controller + [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', self.inventory,
                             os.path.join(REPO, playbook)] + list(extra)
        started = time.monotonic()
        completed = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        seconds = time.monotonic() - started
        with open(self.log_path, 'a') as log:
            log.write('==== %s\n%s' % (name, completed.stdout))
        recap = dict((host, dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts)))
                     for host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', completed.stdout, re.M))
        self.runs.append({'name': name, 'seconds': round(seconds, 1), 'rc': completed.returncode,
                          'changed': dict((host, counts.get('changed', 0)) for host, counts in recap.items())})
        return completed, recap, seconds


def dhcp_lease(lab, guest):
    """Run ISC dhclient once in the guest with the lab's own script and files; the leased addresses."""
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


def drops(lab, vif):
    return dropped(json.loads(lab.run('dom0', ['nft', '-j', 'list', 'ruleset']).stdout), vif)


def _ping(lab, role, address, source=None):
    # Up to 3 s: a routed dom0's proxy ARP answers after up to 0.8 s, and a first packet may need two answers.
    argv = ['ping', '-4', '-n', '-q', '-c', '2', '-i', '0.3', '-W', '3'] + (['-I', source] if source else []) + [address]
    return lab.run(role, argv, check=False, timeout=20).returncode == 0


def reachability(host, lab, pool):
    """Every cell of the dom0's matrix, measured at once with real pings."""
    guests = fleet_spec.guests(host)
    cells = []
    for source in guests:
        for target in guests:
            if target is not source:
                cells.append((source, target, target['ip']))
        cells.append((source, 'upstream', fleet_spec.UPSTREAM))
        cells.append((source, 'internet', fleet_spec.INTERNET))
    cells += [('upstream', target, target['ip']) for target in guests]

    def name(end):
        return end['name'] if isinstance(end, dict) else end
    futures = [pool.submit(_ping, lab, name(source), address) for source, _target, address in cells]
    return [{'from': name(source), 'to': name(target), 'address': address,
             'expected': fleet_spec.expected(host, source, target), 'measured': future.result()}
            for (source, target, address), future in zip(cells, futures)]


def forge(host, lab, guest, index):
    """The guest forges a source address, then (on a bridge) its MAC; each attempt with the vif's drop counter."""
    target = fleet_spec.probe_target(host, guest)
    attempts = []
    forged = fleet_spec.forged_address(guest, index)
    control = _ping(lab, guest['name'], target, guest['ip'])
    before = drops(lab, guest['vif'])
    lab.run(guest['name'], ['ip', 'addr', 'add', forged + '/32', 'dev', 'eth0'])
    try:
        reply = _ping(lab, guest['name'], target, forged)
    finally:
        lab.run(guest['name'], ['ip', 'addr', 'del', forged + '/32', 'dev', 'eth0'])
    attempts.append({'guest': guest['name'], 'vif': guest['vif'], 'forged': 'source ' + forged, 'target': target,
                     'control_reply': control, 'reply': reply, 'dropped_before': before, 'dropped_after': drops(lab, guest['vif'])})
    if guest['bridge']:
        mac = '02:00:de:ad:%02x:%02x' % (len(host), index)
        original = json.loads(lab.run(guest['name'], ['ip', '-j', 'link', 'show', 'eth0']).stdout)[0]['address']
        before = drops(lab, guest['vif'])
        lab.run(guest['name'], ['ip', 'link', 'set', 'eth0', 'address', mac])
        try:
            lab.run(guest['name'], ['ip', 'neigh', 'flush', 'dev', 'eth0'])
            reply = _ping(lab, guest['name'], target)
        finally:
            lab.run(guest['name'], ['ip', 'link', 'set', 'eth0', 'address', original])
        attempts.append({'guest': guest['name'], 'vif': guest['vif'], 'forged': 'MAC ' + mac, 'target': target,
                         'control_reply': control, 'reply': reply, 'dropped_before': before,
                         'dropped_after': drops(lab, guest['vif'])})
    return attempts


def prove_conflicts_refused(fleet, proofs):
    """Every dom0 handed the same guest: site.yml must stop before any host changes."""
    twin = json.dumps({'xenfleet_guests': [{'name': 'twin', 'vifs': [{'bridge': 'xenbr0', 'ip': ['192.0.2.99'],
                                                                      'mac': '02:00:c0:00:02:63', 'vifname': 'twin-0'}]}]})
    completed, _recap, _seconds = fleet.converge('refused (a conflicting fleet)', '-e', twin)
    untouched = all(lab.run('dom0', ['ip', 'link', 'show', 'xenbr0'], check=False).returncode != 0
                    and not lab.run('dom0', ['ip', 'route', 'show', 'proto', '212']).stdout.strip()
                    for lab in fleet.labs.values())
    proofs.prove('a fleet where every dom0 claims the same MAC, address and vifname is refused before anything changes',
                 completed.returncode != 0 and "'192.0.2.99' is used 3 times" in completed.stdout and untouched)


def boot_guests(fleet):
    """Xen's vif-bridge puts each bridged vif on its bridge; vif-route's work was done by the routed role."""
    for host, lab in fleet.labs.items():
        for guest in fleet_spec.guests(host):
            if guest['bridge']:
                lab.plug(guest['name'], guest['bridge'])
        if fleet_spec.FLEET[host]['topology'] == 'brouter':
            # A route to the guests, so that it is NAT, not a missing route, that keeps upstream out.
            lab.run('upstream', ['ip', 'route', 'replace', '10.0.2.0/24', 'via', '192.0.2.10'])


def prove_dhcp(fleet, proofs):
    for host, lab in fleet.labs.items():
        for guest in fleet_spec.guests(host):
            if guest['dhcp']:
                leased = dhcp_lease(lab, guest['name'])
                proofs.prove('%s: %s got its fixed lease %s from the brouter\'s dnsmasq (got %s)' % (
                    host, guest['name'], guest['ip'], ', '.join(leased) or 'nothing'), leased == [guest['ip']])
                lab.run(guest['name'], ['ip', 'route', 'replace', 'default', 'via', '10.0.2.1'])


def measure(fleet, proofs):
    report = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=PROBES) as pool:
        matrices = dict((host, reachability(host, lab, pool)) for host, lab in fleet.labs.items())
        forgeries = dict((host, [pool.submit(forge, host, lab, guest, index)
                                 for index, guest in enumerate(fleet_spec.guests(host))])
                         for host, lab in fleet.labs.items())
        forgeries = dict((host, [attempt for future in futures for attempt in future.result()])
                         for host, futures in forgeries.items())
    for host, lab in fleet.labs.items():
        dom0 = report_out.read_dom0(host, lab)
        masters = dom0.pop('masters')
        dom0['guests'] = [report_out.read_guest(lab, guest, masters) for guest in fleet_spec.guests(host)]
        dom0['reachability'] = matrices[host]
        dom0['forged'] = forgeries[host]
        wrong = ['%s->%s' % (cell['from'], cell['to']) for cell in matrices[host] if cell['expected'] != cell['measured']]
        proofs.prove('%s: %d reachability cells measured as expected%s' % (
            host, len(matrices[host]) - len(wrong), (' (not: %s)' % ', '.join(wrong)) if wrong else ''), not wrong)
        bad = ['%s %s' % (attempt['guest'], attempt['forged']) for attempt in forgeries[host]
               if attempt['reply'] or not attempt['control_reply'] or attempt['dropped_after'] <= attempt['dropped_before']]
        proofs.prove('%s: %d forged packets got no reply and raised the vif\'s drop counter%s' % (
            host, len(forgeries[host]) - len(bad), (' (not: %s)' % ', '.join(bad)) if bad else ''), not bad)
        report.append(dom0)
    return report


def run(args, output, stack, proofs):
    directory = tempfile.mkdtemp(prefix='xenfleet-demo-')
    if not args.keep:
        stack.callback(shutil.rmtree, directory, ignore_errors=True)
    started = time.monotonic()
    fleet = Fleet(directory, args.keep, output)
    fleet.build(stack)
    if not args.keep:
        # Registered after the labs' down(): runs first, while the dom0s still answer (dnsmasq goes by its pid file).
        stack.callback(fleet.converge, 'teardown', playbook=os.path.join('demo', 'teardown.yml'))
    print('Built %d lab dom0s (%s), each with its own sshd, upstream, internet and guests, in %.1f s\n' % (
        len(fleet.labs), ', '.join('%s: %s' % (host, spec['topology']) for host, spec in fleet_spec.FLEET.items()),
        time.monotonic() - started), flush=True)
    print('Conflict refusal:')
    prove_conflicts_refused(fleet, proofs)
    print('\nConverge:')
    completed, recap, seconds = fleet.converge('site.yml, first run')
    proofs.prove('one ansible-playbook site.yml run over SSH converged every dom0 in %.1f s (%s)' % (
        seconds, ', '.join('%s changed=%d' % (host, counts.get('changed', 0)) for host, counts in sorted(recap.items()))),
        completed.returncode == 0 and len(recap) == len(fleet_spec.FLEET))
    if completed.returncode != 0:
        return fleet, None
    boot_guests(fleet)
    completed, recap, seconds = fleet.converge('site.yml, second run')
    proofs.prove('a second run changed nothing (%.1f s; %s)' % (
        seconds, ', '.join('%s changed=%d' % (host, counts.get('changed', 0)) for host, counts in sorted(recap.items()))),
        completed.returncode == 0 and len(recap) == len(fleet_spec.FLEET)
        and all(counts.get('changed', 1) == 0 for counts in recap.values()))
    print('\nPackets:')
    prove_dhcp(fleet, proofs)
    return fleet, measure(fleet, proofs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--keep', action='store_true', help='leave the lab namespaces (and their workdirs) in place')
    parser.add_argument('--output', help='the folder for report.txt, report.json, fleet.dot and fleet.svg '
                                         '(default: a new xenfleet-demo-report-* folder in the temporary directory)')
    args = parser.parse_args(argv)
    proofs = Proofs()
    started = time.monotonic()
    output = os.path.abspath(args.output or tempfile.mkdtemp(prefix='xenfleet-demo-report-'))
    os.makedirs(output, exist_ok=True)
    print('xenfleet.network demo: three lab dom0s, one per topology, converged by site.yml over SSH\n', flush=True)
    with contextlib.ExitStack() as stack:
        fleet, measured = run(args, output, stack, proofs)
        if measured is not None:
            report = {'fleet': measured, 'runs': fleet.runs, 'proofs': proofs.items}
        if proofs.failures:
            print('\nansible-playbook output (last 20000 characters):\n' + open(fleet.log_path).read()[-20000:])
        kept = ''
        if args.keep:
            # dnsmasq was started by xen_nat, not by the lab: the teardown playbook stops it before the labs go.
            kept = 'Namespaces kept (--keep); to remove them:\n  %s\n  %s' % (
                ' '.join(next(iter(fleet.labs.values())).controller_prefix() + [
                    'env', 'ANSIBLE_COLLECTIONS_PATH=%s' % fleet.collections, 'ansible-playbook', '-i', fleet.inventory,
                    os.path.join(REPO, 'demo', 'teardown.yml')]),
                '; '.join('%s %s down --workdir %s' % (sys.executable, os.path.join(REPO, 'tests', 'lab', 'xenlab.py'),
                                                       lab.state['workdir']) for lab in fleet.labs.values()))
    if measured is not None:
        report['total_seconds'] = round(time.monotonic() - started, 1)
        report['runs'] = fleet.runs
        print(report_out.text(report))
        paths = report_out.write(report, output)
        print('\nReport written to %s: %s' % (output, ', '.join(sorted(os.path.basename(path) for path in paths.values()))))
    print('\nDemo wall time %.1f s; %d proofs, %d failed. %s' % (
        time.monotonic() - started, len(proofs.items), len(proofs.failures), kept or 'All namespaces removed.'))
    return 1 if proofs.failures or measured is None else 0


if __name__ == '__main__':
    sys.exit(main())
