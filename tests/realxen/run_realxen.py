"""The real-Xen lane: site.yml against a real Xen 4.17 dom0 under QEMU, proved with real PV guests.

    python tests/realxen/run_realxen.py RUN_DIR

RUN_DIR holds what tests/realxen/image.sh laid out (hypervisor, dom0 kernel,
disk image, SSH key). This boots it, converges site.yml over SSH with the
inventory it writes there, starts three PV guests (web and rogue on xenbr0,
db behind NAT on xenbr1), and proves with real netback devices and real
packets what the collection claims, one PASS or FAIL line per claim. It ends
with "N passed, N failed"; the serial log, the Ansible output and dom0's Xen
logs stay in RUN_DIR.

Inside dom0, the namespace "upstream" stands for the network beyond the
uplink: its veth up0 is a port of xenbr0 (the real uplink, eth0, leads to
QEMU's user network, which lets nothing out), with 10.0.2.100 on the
segment and 198.51.100.2, the "internet" server, behind it.
"""

import json
import os
import re
import subprocess
import sys
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from lane_common import changed_tasks, diff_of_changed, upstream_setup
from brouter import BrouterLane
from machine import Machine, StageFailed
from routed import RoutedLane

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.dirname(os.path.abspath(__file__))
COLLECTIONS = os.path.join(REPO, '.venv', 'collections')
sys.path.insert(0, COLLECTIONS)

# pylint: disable-next=wrong-import-position
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import mac_from_ip  # noqa: E402

DOM0_ADDRESS = '10.0.2.15'
UPSTREAM = '10.0.2.100'
INTERNET = '198.51.100.2'
FORGED_ADDRESS = '10.0.2.99'
FORGED_MAC = '02:00:de:ad:be:ef'
# name: (bridge, address); db's address comes by DHCP, the others' from the kernel command line (xf_ip=)
GUESTS = {
    'web': ('xenbr0', '10.0.2.21'),
    'rogue': ('xenbr0', '10.0.2.22'),
    'db': ('xenbr1', '10.0.1.5'),
}
LIVE_VIF = ('web', 1, 'xenbr1', '10.0.1.21')

# Limits are generous: QEMU without KVM is slow, and slower on a shared machine.
LIMITS = {'ssh': 900, 'xl': 300, 'guest': 300, 'playbook': 1800}

# The network beyond the uplink comes from the image's unit xenfleet-realxen-upstream.service at every boot (up0, the
# namespace "upstream" with 10.0.2.100 on dom0's segment, the internet's server); the static route to the internet is
# the administrator's, added by hand before site.yml (xen_bridge moves it onto xenbr0 and keeps it in the stanza).
ADMIN_ROUTE = 'ip route add 198.51.100.0/24 via %s dev eth0' % UPSTREAM

# What the roles' package step installs on a fresh dom0 (the image has none of it, its local repository all of it),
# and python3-apt, which Ansible's apt module installs first.
PREREQUISITES = ['python3-pyroute2', 'python3-netaddr', 'dnsmasq-base', 'bridge-utils', 'python3-apt']


def connection_vars(machine):
    """How Ansible reaches this dom0: the forwarded SSH port, through the lane's master connection."""
    return {
        'ansible_host': '127.0.0.1',
        'ansible_port': machine.port,
        'ansible_user': 'root',
        'ansible_ssh_private_key_file': machine.path('id_ed25519'),
        'ansible_ssh_args': ' '.join(machine.ssh_options()),
        'ansible_python_interpreter': '/usr/bin/python3',
    }


def host_vars(machine):
    """The multi_bridge dom0's site.yml variables (docs/inventory.md), and how to reach it."""
    return dict(connection_vars(machine), **{
        'xenfleet_topology': 'multi_bridge',
        'xenfleet_uplink': 'eth0',
        # Defaults from here on: xenfleet_install_packages (on: the package step installs from the image's local
        # repository) and xenfleet_persist (auto: ifupdown, which manages this dom0's eth0).
        # Explicit, not derived: xenbr0 also takes the upstream namespace's veth, xenbr1 has dom0's NAT address.
        'xenfleet_bridges': [
            {'name': 'xenbr0', 'uplink': 'eth0', 'ports': ['up0']},
            {'name': 'xenbr1', 'addresses': ['10.0.1.1/24']},
        ],
        'xenfleet_bridge_subnets': {'xenbr0': '10.0.2.0/24', 'xenbr1': '10.0.1.0/24'},
        # no devid: a vif takes its position in the list
        'xenfleet_guests': [{'name': name, 'vifs': [{'bridge': bridge, 'ip': [address]}]}
                            for name, (bridge, address) in GUESTS.items()],
        'xenfleet_nat': [{
            'name': 'guests', 'bridge': 'xenbr1', 'subnet': '10.0.1.0/24', 'uplink': 'xenbr0',
            'dhcp': {'range_start': '10.0.1.100', 'range_end': '10.0.1.199', 'dns_servers': [INTERNET]},
        }],
        'xenfleet_antispoof': {'backend': 'nftables'},
    })


class Report:
    def __init__(self):
        self.proofs = []
        # 'after the reboot: ' while the proofs of a rebooted dom0 run
        self.prefix = ''

    def prove(self, claim, ok, detail=''):
        claim = self.prefix + claim
        self.proofs.append((claim, bool(ok)))
        print('  [%s] %s' % ('PASS' if ok else 'FAIL', claim), flush=True)
        if detail and not ok:
            print('         ' + detail.strip().replace('\n', '\n         '), flush=True)
        return bool(ok)

    @property
    def failed(self):
        return sum(1 for _claim, ok in self.proofs if not ok)


class Lane:
    def __init__(self, run_dir, report):
        self.run_dir = run_dir
        self.report = report
        self.machine = Machine(run_dir)
        self.inventory = os.path.join(run_dir, 'inventory.json')
        self.ansible_log = os.path.join(run_dir, 'ansible.log')
        self.timings = []
        self.master_pid = None
        self.repo = REPO
        self.limits = LIMITS

    def timed(self, what, seconds):
        self.timings.append((what, seconds))
        print('  (%s: %.0f s)' % (what, seconds), flush=True)

    # ------------------------------------------------------------- helpers

    def dom0(self, command, **kwargs):
        return self.machine.ssh(command, **kwargs)

    def dom0_json(self, command):
        completed = self.dom0(command)
        return json.loads(completed.stdout) if completed.returncode == 0 and completed.stdout.strip() else []

    def link(self, name):
        found = self.dom0_json('ip -j -d link show dev %s 2>/dev/null' % name)
        return found[0] if found else None

    def vif_rx_packets(self, vifname):
        return int(self.dom0('cat /sys/class/net/%s/statistics/rx_packets' % vifname).stdout.strip() or 0)

    def guest(self, name, command, timeout=60):
        return self.machine.guest(name, command, timeout)

    def echo_requests_received(self, name):
        """The guest kernel's count of ICMP echo requests received (Icmp: InEchos in /proc/net/snmp)."""
        _status, output = self.guest(name, 'cat /proc/net/snmp')
        rows = [line.split() for line in output.splitlines() if line.startswith('Icmp:')]
        if len(rows) < 2:
            return None
        return int(dict(zip(rows[0][1:], rows[1][1:]))['InEchos'])

    def guest_neighbour(self, name, address):
        _status, output = self.guest(name, 'cat /proc/net/arp')
        for line in output.splitlines():
            fields = line.split()
            if fields and fields[0] == address:
                return fields[3]
        return None

    def snapshot_network(self, label):
        """dom0's addresses, routes and bridge ports at this point, kept in dom0-network.txt for whoever debugs."""
        completed = self.dom0('ip addr; ip route; ip -6 route; bridge link')
        with open(os.path.join(self.run_dir, 'dom0-network.txt'), 'a') as stream:
            stream.write('######## %s\n%s\n' % (label, completed.stdout))

    def playbook(self, playbook, *extra, label):
        """ansible-playbook against dom0; (completed, recap of this host, seconds). Output appended to ansible.log."""
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR='1', ANSIBLE_FORCE_COLOR='0',
                   ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_PIPELINING='1', ANSIBLE_TIMEOUT='60')
        started = time.monotonic()
        completed = subprocess.run([os.path.join(REPO, '.venv', 'bin', 'ansible-playbook'), '-i', self.inventory,
                                    playbook] + list(extra), env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, check=False, timeout=LIMITS['playbook'])
        seconds = time.monotonic() - started
        with open(self.ansible_log, 'a') as log:
            log.write('\n######## %s (%.0f s, exit %d)\n' % (label, seconds, completed.returncode))
            log.write(completed.stdout)
        recap = {}
        for _host, counts in re.findall(r'^(\S+)\s+:\s+(ok=.*)$', completed.stdout, re.M):
            recap = dict((key, int(value)) for key, value in re.findall(r'(\w+)=(\d+)', counts))
        return completed, recap, seconds

    # ---------------------------------------------------------------- stages

    def boot(self):
        self.boot_machine()
        self.dom0(upstream_setup('bridged', ADMIN_ROUTE), check=True)
        with open(self.inventory, 'w') as stream:
            json.dump({'xen_dom0': {'hosts': {'dom0': host_vars(self.machine)}}}, stream, indent=2)

    def boot_machine(self):
        self.machine.start()
        print('QEMU started (pid %d, SSH on 127.0.0.1:%d, serial log %s)' % (
            self.machine.process.pid, self.machine.port, self.machine.serial_log), flush=True)
        self.timed('boot to SSH', self.machine.wait('boot: SSH on dom0', LIMITS['ssh'], self.machine.ssh_answers, 1))
        self.master_pid = self.machine.open_master()
        self.timed('Xen toolstack up', self.machine.wait(
            'boot: xl info and xenconsoled', LIMITS['xl'],
            lambda: self.dom0('xl info >/dev/null && pgrep -x xenconsoled >/dev/null', timeout=60).returncode == 0))

    def converge(self):
        print('\nsite.yml, first run (packages, the uplink move, vifs, NAT, anti-spoofing):', flush=True)
        before = self.dom0_json('ip -j addr show dev eth0')
        absent = self.packages_absent(PREREQUISITES)
        self.snapshot_network('before site.yml')
        completed, recap, seconds = self.playbook(os.path.join(REPO, 'site.yml'), label='site.yml, first run')
        self.snapshot_network('after the first run of site.yml')
        self.timed('site.yml first run', seconds)
        ok = self.report.prove('site.yml converged dom0 (exit %d, %s)' % (completed.returncode, recap),
                               completed.returncode == 0 and recap.get('failed', 1) == 0,
                               completed.stdout[-4000:])
        self.prove_uplink_move(before, completed, recap)
        self.prove_packages_installed(completed, PREREQUISITES, absent, 'dom0_base : Install')
        return ok

    def packages_absent(self, names):
        """Of names, those dpkg does not have installed on dom0 now."""
        status = self.dom0("dpkg-query -W -f='${Package} ${db:Status-Status}\\n' %s 2>/dev/null" % ' '.join(names)).stdout
        installed = {line.split()[0] for line in status.splitlines() if line.split()[1:] == ['installed']}
        return [name for name in names if name not in installed]

    def prove_packages_installed(self, completed, names, absent_before, task_name):
        """The fresh dom0 lacked the prerequisites; the roles' package step (ansible.builtin.package, apt) installed
        them from the image's local repository, its only apt source."""
        # the task whose heading is followed by its result (not the include_tasks of the same name)
        task = re.search(r'^TASK \[[^]\n]*%s[^]\n]*\][^\n]*\n(ok|changed|skipping|failed|fatal)[:!]'
                         % re.escape(task_name), completed.stdout, re.M)
        absent_after = self.packages_absent(names)
        origin = self.dom0('apt-cache policy %s' % ' '.join(names)).stdout
        from_repo = all(re.search(r'^%s:\n(?:  .*\n)*?.*\*\*\* .*\n\s+\d+ file:/srv/xenfleet-repo' % re.escape(name),
                                  origin, re.M) for name in names)
        self.report.prove(
            'the package step (%s, xenfleet_install_packages on by default) %s; %s were absent from the fresh dom0 and '
            'are installed now (%s), from the local repository file:/srv/xenfleet-repo' % (
                task_name, task.group(1) if task else 'did not run', ', '.join(absent_before) or 'none',
                'all' if not absent_after else 'missing: ' + ', '.join(absent_after)),
            task is not None and task.group(1) == 'changed' and absent_before == list(names) and not absent_after
            and from_repo,
            (task.group(0)[-1500:] if task else '') + '\n' + origin[-2500:])

    def prove_uplink_move(self, before, completed, recap):
        had_address = any(info.get('local') == DOM0_ADDRESS for link in before for info in link.get('addr_info', []))
        eth0 = self.link('eth0') or {}
        bridge = self.dom0_json('ip -j addr show dev xenbr0')
        on_bridge = any(info.get('local') == DOM0_ADDRESS for link in bridge for info in link.get('addr_info', []))
        left_on_eth0 = any(info.get('family') == 'inet' for info in (self.dom0_json('ip -j addr show dev eth0') or [{}])[0]
                           .get('addr_info', []))
        default = self.dom0_json('ip -j route show default')
        upstream_route = self.dom0_json('ip -j route show 198.51.100.0/24')
        self.report.prove(
            'xen_bridge moved eth0 onto xenbr0: %s/24 went from eth0 to xenbr0, eth0 is a port of xenbr0, the default '
            'route and the static route to 198.51.100.0/24 go through xenbr0' % DOM0_ADDRESS,
            had_address and on_bridge and not left_on_eth0 and eth0.get('master') == 'xenbr0'
            and default and default[0].get('dev') == 'xenbr0' and upstream_route
            and upstream_route[0].get('dev') == 'xenbr0',
            'eth0: %s\ndefault: %s\n198.51.100.0/24: %s' % (eth0.get('master'), default, upstream_route))
        master_after = self.machine.master_pid()
        went_on = re.search(r'^TASK \[(?:[\w.]+ : )?Anti-spoofing', completed.stdout, re.M) is not None
        self.report.prove(
            'the play went on after the move on the SSH connection that was open before it (master pid %s, after the '
            'play %s), nothing unreachable, the anti-spoofing task ran' % (self.master_pid, master_after),
            self.master_pid and master_after == self.master_pid and recap.get('unreachable', 1) == 0 and went_on)

    def create_guests(self, names):
        """xl create of every guest side by side (each over its own session of the master connection); name ->
        completed. dom0's two vCPUs build them and run their hotplug scripts together, in about half the time."""
        started = time.monotonic()
        with ThreadPoolExecutor(len(names)) as pool:
            created = dict(zip(names, pool.map(
                lambda name: self.dom0('xl create /etc/xen/%s.cfg' % name, timeout=LIMITS['guest']), names)))
        self.timed('xl create of %s' % ', '.join(names), time.monotonic() - started)
        return created

    def start_guests(self):
        print('\nGuests started with xl create, from the configs site.yml wrote:', flush=True)
        started = time.monotonic()
        created = self.create_guests(list(GUESTS))
        for name in GUESTS:
            if not self.report.prove('xl create accepted %s.cfg as xen_vif wrote it' % name, created[name].returncode == 0,
                                     created[name].stdout + self.dom0('grep ^vif /etc/xen/%s.cfg' % name).stdout):
                return False
        self.wait_for_guests(GUESTS, started)
        for name in GUESTS:
            self.prove_vif(name)
        return True

    def wait_for_guests(self, names, started):
        """The guests boot side by side; each wait is bounded on its own."""
        for name in names:
            self.machine.wait('guest %s: its console shell answers' % name, LIMITS['guest'],
                              lambda guest=name: self.guest(guest, 'true', timeout=15)[0] == 0, 1)
            self.timed('%s answers' % name, time.monotonic() - started)

    def prove_vif(self, name):
        bridge, address = GUESTS[name]
        vifname = '%s-0' % name
        config = self.dom0('cat /etc/xen/%s.cfg' % name).stdout
        vif_line = re.search(r'^vif\s*=.*$', config, re.M)
        written = re.search(r'mac=([0-9a-f:]+)', vif_line.group(0)) if vif_line else None
        written_mac = written.group(1) if written else None
        link = self.link(vifname) or {}
        listed = self.dom0('xl network-list %s' % name).stdout
        running = re.search(r'^0\s+\d+\s+([0-9a-f:]{17})\s+\d+\s+4\b', listed, re.M)
        _status, guest_mac = self.guest(name, 'cat /sys/class/net/eth0/address')
        self.report.prove(
            '%s: vif %s is up on %s; xen_vif wrote mac %s (derived from %s), xl network-list and the guest\'s eth0 '
            'carry it' % (name, vifname, bridge, written_mac, address),
            link.get('master') == bridge and written_mac == mac_from_ip(address)
            and running and running.group(1) == written_mac and guest_mac.strip() == written_mac
            and 'vifname=%s' % vifname in vif_line.group(0),
            'config: %s\nlink: master %s\nxl network-list:\n%s\nguest eth0: %s' % (
                vif_line.group(0) if vif_line else 'no vif line', link.get('master'), listed, guest_mac))

    # ------------------------------------------------------ anti-spoofing

    def ping_counted(self, source, target_name, command):
        """Run a ping (or a forgery) in the source guest; (status, echo requests the target received, frames the
        source's vif passed to dom0)."""
        before_echos = self.echo_requests_received(target_name)
        before_rx = self.vif_rx_packets('%s-0' % source)
        status, output = self.guest(source, command, timeout=60)
        received = self.echo_requests_received(target_name) - before_echos
        sent = self.vif_rx_packets('%s-0' % source) - before_rx
        return status, received, sent, output

    def prove_antispoofing(self):
        print('\nAnti-spoofing against real netback vifs (rogue attacks web):', flush=True)
        web = GUESTS['web'][1]
        status, received, sent, output = self.ping_counted('rogue', 'web', 'ping -c 3 -W 2 %s' % web)
        self.report.prove('legitimate: rogue pings web from its own address and MAC (web received %d echo requests)'
                          % received, status == 0 and received >= 3, output)

        status, received, sent, output = self.ping_counted('rogue', 'web', (
            'ip addr add {forged}/32 dev eth0; ping -c 3 -W 2 -I {forged} {web}; rc=$?; '
            'ip addr del {forged}/32 dev eth0; (exit $rc)').format(forged=FORGED_ADDRESS, web=web))
        self.report.prove('forged IPv4 source %s: rogue\'s vif passed %d frames to dom0, web received %d echo '
                          'requests' % (FORGED_ADDRESS, sent, received),
                          status != 0 and sent >= 3 and received == 0, output)

        _status, rogue_mac = self.guest('rogue', 'cat /sys/class/net/eth0/address')
        status, received, sent, output = self.ping_counted('rogue', 'web', (
            'ip link set eth0 down; ip link set eth0 address {forged}; ip link set eth0 up; '
            'ping -c 3 -W 2 {web}; rc=$?; ip link set eth0 down; ip link set eth0 address {mac}; ip link set eth0 up; '
            '(exit $rc)').format(forged=FORGED_MAC, web=web, mac=rogue_mac.strip()))
        self.report.prove('forged MAC %s: rogue\'s vif passed %d frames to dom0, web received %d echo requests' % (
            FORGED_MAC, sent, received), status != 0 and sent >= 1 and received == 0, output)

        self.guest('web', 'ping -c 1 -W 3 %s' % UPSTREAM)
        upstream_mac = self.guest_neighbour('web', UPSTREAM)
        before_rx = self.vif_rx_packets('rogue-0')
        _status, output = self.guest('rogue', (
            'ip addr add {upstream}/32 dev eth0; arping -c 3 -U -s {upstream} -I eth0 {web}; '
            'ip addr del {upstream}/32 dev eth0').format(upstream=UPSTREAM, web=web))
        sent = self.vif_rx_packets('rogue-0') - before_rx
        after = self.guest_neighbour('web', UPSTREAM)
        self.report.prove('forged ARP: rogue claimed %s (the upstream) to web in %d frames; web still maps it to %s '
                          '(now %s)' % (UPSTREAM, sent, upstream_mac, after),
                          upstream_mac and sent >= 3 and after == upstream_mac, output)

        status, received, _sent, output = self.ping_counted('rogue', 'web', 'ping -c 3 -W 2 %s' % web)
        self.report.prove('legitimate traffic still flows after the attacks (web received %d echo requests)' % received,
                          status == 0 and received >= 3, output)

    # ----------------------------------------------------------------- NAT

    def prove_nat(self):
        print('\nNAT guest db on xenbr1 (busybox udhcpc, then the internet beyond the uplink):', flush=True)
        address = GUESTS['db'][1]
        status, output = self.guest('db', 'udhcpc -i eth0 -n -q -t 10 -T 3 -A 3; ip -4 -o addr show dev eth0',
                                    timeout=120)
        leased = re.findall(r'inet (\d+\.\d+\.\d+\.\d+)/', output)
        self.report.prove('db got its fixed address %s from dnsmasq by DHCP (got %s)' % (
            address, ', '.join(leased) or 'nothing'), status == 0 and leased == [address], output)
        # nc, not wget: the static busybox's wget looks the port "http" up through glibc's NSS and crashes
        status, output = self.guest('db', r'printf "GET /hello.txt HTTP/1.0\r\n\r\n" | nc -w 10 %s 8080' % INTERNET,
                                    timeout=60)
        served = self.dom0('journalctl -u xf-internet --no-pager -o cat').stdout
        seen_from = re.findall(r'^(\d+\.\d+\.\d+\.\d+) - - .*GET /hello.txt', served, re.M)
        self.report.prove('db fetched a page from the internet server %s through NAT (the server saw %s)' % (
            INTERNET, ', '.join(sorted(set(seen_from))) or 'nobody'),
            status == 0 and 'hello from the internet' in output and seen_from and set(seen_from) == {DOM0_ADDRESS},
            output + served[-2000:])

    # -------------------------------------------------------------- reruns

    def prove_rerun(self):
        print('\nsite.yml, second run, with the guests running:', flush=True)
        # --diff: should anything change, the log shows what
        completed, recap, seconds = self.playbook(os.path.join(REPO, 'site.yml'), '--diff', label='site.yml, second run')
        self.timed('site.yml second run', seconds)
        self.snapshot_network('after the second run of site.yml')
        changed = re.findall(r'^changed: \[.*$', completed.stdout, re.M)
        self.report.prove('a second run of site.yml changed nothing (%s)' % recap,
                          completed.returncode == 0 and recap.get('changed', 1) == 0 and recap.get('failed', 1) == 0,
                          '\n'.join(changed) + completed.stdout[-3000:])

    def live(self, state, run, **changes):
        """One xen_vif run on LIVE_VIF; changes (bridge, ip, mac, live) replace the vif's values for this run."""
        result_file = os.path.join(self.run_dir, 'live-%s-%s.json' % (state, run))
        guest, devid, bridge, address = LIVE_VIF
        vif = {'state': state, 'domain': guest, 'devid': devid, 'bridge': bridge, 'ip': [address]}
        vif.update(changes)
        completed, _recap, seconds = self.playbook(
            os.path.join(HERE, 'live_vif.yml'), '-e', json.dumps({'realxen_live': vif, 'realxen_result': result_file}),
            label='xen_vif live, %s, run %s' % (state, run))
        result = {}
        if os.path.exists(result_file):
            with open(result_file) as stream:
                result = json.load(stream)
        return completed, result, seconds

    def prove_live(self):
        print('\nxen_vif live: true on the running guest web:', flush=True)
        guest, devid, bridge, address = LIVE_VIF
        completed, result, seconds = self.live('present', 1)
        mac, vifname = result.get('mac'), result.get('vifname')
        listed = self.dom0('xl network-list %s' % guest).stdout
        running = re.search(r'^%d\s+\d+\s+([0-9a-f:]{17})\s+\d+\s+4\b' % devid, listed, re.M)
        link = (self.link(vifname) if vifname else None) or {}
        status, guest_mac = self.guest(guest, 'cat /sys/class/net/eth1/address')
        self.report.prove(
            'attach (%.0f s): xen_vif reported changed, vif %s mac %s; xl network-list shows devid %d connected with it, '
            'dom0 has %s on %s, the guest has eth1 with that MAC' % (seconds, vifname, mac, devid, vifname, bridge),
            completed.returncode == 0 and result.get('changed') and mac == mac_from_ip(address)
            and running and running.group(1) == mac and link.get('master') == bridge
            and status == 0 and guest_mac.strip() == mac,
            'result: %s\nxl network-list:\n%s\nlink master: %s\nguest eth1: %s\n%s' % (
                json.dumps(result)[:1500], listed, link.get('master'), guest_mac, completed.stdout[-2000:]))
        completed, result, _seconds = self.live('present', 2)
        self.report.prove('attach again: no change', completed.returncode == 0 and result.get('changed') is False,
                          completed.stdout[-2000:])
        if mac and vifname:
            self.prove_stale_live_vif(mac, vifname)

        completed, result, seconds = self.live('absent', 1)
        listed = self.dom0('xl network-list %s' % guest).stdout
        still = re.search(r'^%d\s' % devid, listed, re.M)
        gone_from_dom0 = vifname and self.link(vifname) is None
        status, _output = self.guest(guest, 'test -e /sys/class/net/eth1')
        config = self.dom0('grep ^vif /etc/xen/%s.cfg' % guest).stdout
        self.report.prove(
            'detach (%.0f s): xen_vif reported changed; devid %d left xl network-list, %s left dom0, eth1 left the '
            'guest, and the config lost the entry' % (seconds, devid, vifname),
            completed.returncode == 0 and result.get('changed') and not still and gone_from_dom0 and status != 0
            and (vifname or '?') not in config,
            'xl network-list:\n%s\nconfig: %s\n%s' % (listed, config, completed.stdout[-2000:]))
        completed, result, _seconds = self.live('absent', 2)
        self.report.prove('detach again: no change', completed.returncode == 0 and result.get('changed') is False,
                          completed.stdout[-2000:])

    def prove_stale_live_vif(self, mac, vifname):
        """A run killed between the config write and xl leaves the config moved and the running vif where it was:
        the next live run must see it in the backend's xenstore entries (same MAC and devid) and re-plug it."""
        guest, devid, _bridge, _address = LIVE_VIF
        moved = {'bridge': 'xenbr0', 'ip': ['10.0.2.23'], 'mac': mac}
        completed, result, _seconds = self.live('present', 'config-only', live=False, **moved)
        left = (self.link(vifname) or {}).get('master')
        self.report.prove('a config-only write moved the vif to xenbr0 in the file while %s stays on %s' % (vifname, left),
                          completed.returncode == 0 and result.get('changed') and left == 'xenbr1', completed.stdout[-2000:])
        completed, result, seconds = self.live('present', 'repair', **moved)
        backend = self.dom0('xenstore-read /local/domain/0/backend/vif/$(xl domid %s)/%d/bridge' % (guest, devid)).stdout.strip()
        master = (self.link(vifname) or {}).get('master')
        self.report.prove(
            'the next live run (%.0f s) found the running vif on its old bridge and re-plugged it: reported changed, '
            '%s is now a port of %s, the backend says %s' % (seconds, vifname, master, backend),
            completed.returncode == 0 and result.get('changed') and master == 'xenbr0' and backend == 'xenbr0',
            'result: %s\n%s' % (json.dumps(result)[:1500], completed.stdout[-2000:]))
        completed, result, _seconds = self.live('present', 'after-repair', **moved)
        self.report.prove('re-plugged: a third run changes nothing', completed.returncode == 0 and result.get('changed') is False,
                          completed.stdout[-2000:])

    # ------------------------------------------------------------ teardown

    def prove_destroyed(self):
        print('\nGuests destroyed:', flush=True)
        for name in GUESTS:
            self.dom0('xl destroy %s' % name, timeout=120)
        left = self.dom0('xl list').stdout
        vifnames = ['%s-0' % name for name in GUESTS]
        links = [name for name in vifnames if self.link(name) is not None]
        ports = self.dom0_json('ip -j link show master xenbr0') + self.dom0_json('ip -j link show master xenbr1')
        ruleset = self.dom0('nft list table bridge xenfleet_antispoof').stdout
        kept = [name for name in vifnames if '"%s"' % name in ruleset]
        self.report.prove(
            'xl destroy: no guest left, their vifs %s are gone from dom0 and its bridges (ports left: %s); anti-spoof '
            'elements for %s stay keyed by names no device has, so they match nothing' % (
                ', '.join(vifnames), ', '.join(sorted(port['ifname'] for port in ports)), ', '.join(kept) or 'none'),
            not any(name in left for name in GUESTS) and not links
            and sorted(port['ifname'] for port in ports) == ['eth0', 'up0'],
            left)

    # -------------------------------------------------------------- reboot

    def keep_boot_files(self, label):
        """What dom0 will boot from, as the roles left it, kept in RUN/dom0-boot-files.txt for whoever debugs."""
        completed = self.dom0(
            'for f in /etc/network/interfaces /etc/network/interfaces.d/* /etc/sysctl.d/60-xenfleet-* '
            '/etc/systemd/system/xenfleet-*.service /etc/nftables.d/* /etc/xenfleet/*/* /etc/xen/xl.conf /etc/xen/auto/* '
            '/etc/xen/scripts/vif-post.d/*; do '
            '[ -e "$f" ] || continue; echo "==== $(ls -ld "$f")"; cat "$f"; done; '
            'echo "==== enabled units"; ls -l /etc/systemd/system/*.wants/ 2>&1; '
            'echo "==== nft list ruleset"; nft list ruleset', timeout=120)
        with open(os.path.join(self.run_dir, 'dom0-boot-files.txt'), 'a') as stream:
            stream.write('######## %s\n%s\n' % (label, completed.stdout))

    def reboot_with_autostart(self, names):
        """The guests linked into /etc/xen/auto and xendomains enabled (the image disables it; /etc/default/xendomains
        there has XENDOMAINS_SAVE= and XENDOMAINS_RESTORE=false, so a shutdown shuts guests down and a boot starts
        them from their configs); then `systemctl reboot` inside the same QEMU, and SSH from the new boot."""
        print('\nReboot: %s linked into /etc/xen/auto, xendomains enabled, systemctl reboot in the same QEMU:'
              % ', '.join(names), flush=True)
        self.dom0('mkdir -p /etc/xen/auto && ' + ' && '.join(
            'ln -sfn /etc/xen/%s.cfg /etc/xen/auto/%s.cfg' % (name, name) for name in names) +
            ' && systemctl enable xendomains.service', check=True)
        self.keep_boot_files('before the reboot')
        self.snapshot_network('before the reboot')
        old, new, seconds = self.machine.reboot(LIMITS['ssh'])
        self.timed('reboot to SSH', seconds)
        print('  (boot id %s -> %s)' % (old, new), flush=True)
        self.master_pid = self.machine.master_pid()
        self.timed('Xen toolstack up again', self.machine.wait(
            'after the reboot: xl info and xenconsoled', LIMITS['xl'],
            lambda: self.dom0('xl info >/dev/null && pgrep -x xenconsoled >/dev/null', timeout=60).returncode == 0))
        self.snapshot_network('after the reboot, before any play')

    def prove_started_at_boot(self, names):
        """xendomains started the guests of /etc/xen/auto at boot (the lane ran no xl create in this boot)."""
        started = time.monotonic()

        def all_listed():
            listed = self.dom0('systemctl is-active xendomains.service; xl list', timeout=60).stdout
            return listed.startswith('active') and all(re.search(r'^%s\s' % name, listed, re.M) for name in names)
        try:
            self.machine.wait('after the reboot: xendomains started %s' % ', '.join(names),
                              LIMITS['guest'] * len(names), all_listed, 2)
        except StageFailed as error:
            status = self.dom0('systemctl status --no-pager -l xendomains.service; xl list; '
                               'journalctl -b --no-pager -u xendomains.service | tail -n 40').stdout
            self.report.prove('xendomains started %s at boot' % ', '.join(names), False, str(error) + '\n' + status)
            return False
        self.timed('xendomains started the guests', time.monotonic() - started)
        journal = self.dom0('journalctl -b --no-pager -o cat -u xendomains.service').stdout
        listed = self.dom0('xl list').stdout
        self.wait_for_guests(names, started)
        self.report.prove('xendomains started %s at boot from /etc/xen/auto (active; xl list: %s)' % (
            ', '.join(names), ', '.join(line.split()[0] for line in listed.splitlines()[1:])),
            all(re.search(r'^%s\s' % name, listed, re.M) for name in names), journal + listed)
        self.boot_order()
        return True

    def boot_order(self):
        """When each unit of the boot became active (monotonic µs), printed for the record."""
        units = self.dom0("systemctl list-units --all --plain --no-legend 'xenfleet-*' networking.service "
                          "'ifup@*' nftables.service xendomains.service xen-init-dom0.service xenfleet-realxen-upstream.service "
                          "| awk '{print $1}'").stdout.split()
        shown = self.dom0('systemctl show -p Id -p ActiveState -p ActiveEnterTimestampMonotonic %s' % ' '.join(units)).stdout
        rows = []
        for block in shown.strip().split('\n\n'):
            fields = dict(line.split('=', 1) for line in block.splitlines() if '=' in line)
            rows.append((int(fields.get('ActiveEnterTimestampMonotonic') or 0), fields.get('Id'),
                         fields.get('ActiveState')))
        print('  boot order: ' + ', '.join('%s %s at %.1f s' % (unit, state, when / 1e6)
                                           for when, unit, state in sorted(rows)), flush=True)

    def prove_ssh_on(self, device):
        """The SSH connection reached dom0's own address (QEMU forwards to 10.0.2.15), which sits on device."""
        connection = self.dom0('echo $SSH_CONNECTION').stdout.split()
        addresses = self.dom0_json('ip -j addr show dev %s' % device)
        on_device = any(info.get('local') == DOM0_ADDRESS and info.get('prefixlen') == 24
                        for link in addresses for info in link.get('addr_info', []))
        self.report.prove('SSH answers on dom0\'s address %s (SSH_CONNECTION %s), which is on %s' % (
            DOM0_ADDRESS, ' '.join(connection), device),
            len(connection) == 4 and connection[2] == DOM0_ADDRESS and on_device, json.dumps(addresses))

    def prove_boot_rerun(self, label='site.yml after the reboot'):
        print('\n%s, guests running:' % label, flush=True)
        completed, recap, seconds = self.playbook(os.path.join(REPO, 'site.yml'), '--diff', label=label)
        self.timed(label, seconds)
        self.snapshot_network('after %s' % label)
        changed = changed_tasks(completed.stdout)
        self.report.prove('%s changed nothing (%s%s)' % (
            label, recap, '; changed: ' + '; '.join(changed) if changed else ''),
            completed.returncode == 0 and recap.get('changed', 1) == 0 and recap.get('failed', 1) == 0,
            diff_of_changed(completed.stdout) or completed.stdout[-3000:])

    def prove_multi_bridge_boot(self):
        """dom0's network as ifupdown rebuilt it at boot from what xen_bridge persisted, before any play."""
        eth0 = self.link('eth0') or {}
        eth0_v4 = [info for link in self.dom0_json('ip -j addr show dev eth0') for info in link.get('addr_info', [])
                   if info.get('family') == 'inet']
        ports = sorted(link['ifname'] for link in self.dom0_json('ip -j link show master xenbr0'))
        default = self.dom0_json('ip -j route show default')
        upstream_route = self.dom0_json('ip -j route show 198.51.100.0/24')
        eth0_v6 = ['%s/%s (%s)' % (info['local'], info['prefixlen'], 'dynamic' if info.get('dynamic') else 'static')
                   for link in self.dom0_json('ip -j addr show dev eth0 scope global') for info in link.get('addr_info', [])
                   if info.get('family') == 'inet6']
        if eth0_v6:
            print('  [NOTE] eth0, a port of xenbr0, has IPv6 addresses of its own after the boot: %s' % ', '.join(eth0_v6),
                  flush=True)
        self.report.prove(
            'eth0 is a port of xenbr0 with no IPv4 address of its own (xenbr0\'s ports: %s); the default route and the '
            'static route to 198.51.100.0/24 go through xenbr0' % ', '.join(ports),
            eth0.get('master') == 'xenbr0' and not eth0_v4 and 'eth0' in ports and 'up0' in ports
            and default and default[0].get('dev') == 'xenbr0' and upstream_route
            and upstream_route[0].get('dev') == 'xenbr0',
            'eth0: %s %s\ndefault: %s\n198.51.100.0/24: %s' % (eth0.get('master'), eth0_v4, default, upstream_route))
        xenbr1 = self.dom0_json('ip -j -d addr show dev xenbr1')
        self.report.prove(
            'every bridge exists: xenbr0 and xenbr1 (bridges: %s), xenbr1 with 10.0.1.1/24' % ', '.join(
                link['ifname'] for link in self.dom0_json('ip -j link show type bridge')),
            xenbr1 and any(info.get('local') == '10.0.1.1' and info.get('prefixlen') == 24
                           for info in xenbr1[0].get('addr_info', [])) and (self.link('xenbr0') or {}).get('linkinfo', {})
            .get('info_kind') == 'bridge', json.dumps(xenbr1))

    def keep_logs(self):
        """dom0's Xen logs (guest consoles, xl and hotplug), its journal of this boot, apt's and dpkg's logs (what the
        package step installed, and when), beside the serial log."""
        try:
            with open(os.path.join(self.run_dir, 'dom0-logs.tar.gz'), 'wb') as archive:
                subprocess.run(self.machine.ssh_base() + ['root@127.0.0.1',
                                                          'journalctl -b --no-pager >/var/log/journal.txt 2>&1; '
                                                          'tar -C /var/log -czf - xen journal.txt apt dpkg.log'],
                               stdout=archive, stderr=subprocess.DEVNULL, timeout=120, check=False)
        except (OSError, subprocess.SubprocessError) as error:
            print('could not fetch dom0 logs: %s' % error)


def multi_bridge(lane):
    lane.boot()
    if not lane.converge():
        return
    if lane.start_guests():
        lane.prove_antispoofing()
        lane.prove_nat()
        lane.prove_rerun()
        lane.prove_live()
        lane.prove_destroyed()
    lane.reboot_with_autostart(list(GUESTS))
    lane.report.prefix = 'after the reboot: '
    try:
        lane.prove_ssh_on('xenbr0')
        lane.prove_multi_bridge_boot()
        if lane.prove_started_at_boot(list(GUESTS)):
            for name in GUESTS:
                lane.prove_vif(name)
            lane.prove_antispoofing()
            lane.prove_nat()
        lane.prove_boot_rerun()
    finally:
        lane.report.prefix = ''


def routed(lane):
    """The second configuration boots its own fresh disk, which image.sh copied there before the first boot."""
    if not os.path.exists(lane.machine.path('disk.img')):
        raise StageFailed('routed: no disk image in %s (image.sh RUN_DIR RUN_DIR/routed lays it out)' % lane.run_dir)
    RoutedLane(lane).run(connection_vars)


def brouter(lane):
    """The third configuration, on its own fresh disk too: converged, rebooted, proved before any play."""
    if not os.path.exists(lane.machine.path('disk.img')):
        raise StageFailed('brouter: no disk image in %s (image.sh RUN_DIR ... RUN_DIR/brouter lays it out)' % lane.run_dir)
    BrouterLane(lane, mac_from_ip).run(connection_vars)


def run_configuration(name, configure, run_dir, report):
    lane = Lane(run_dir, report)
    started = time.monotonic()
    try:
        configure(lane)
    except StageFailed as error:
        report.prove(str(error).split('\n', 1)[0], False, str(error).split('\n', 1)[-1])
    except (subprocess.TimeoutExpired, KeyboardInterrupt) as error:
        report.prove('interrupted: %s' % error, False)
    except Exception:  # pylint: disable=broad-except  # a bug in the lane still ends in counts, QEMU stopped
        report.prove('%s: the lane itself failed' % name, False, traceback.format_exc())
    finally:
        if lane.machine.process and lane.machine.process.poll() is None:
            lane.keep_logs()
        lane.machine.stop()
    print('\n%s timings: ' % name + ', '.join('%s %.0f s' % timing for timing in lane.timings) +
          '; total %.0f s' % (time.monotonic() - started))
    logs = (lane.machine.serial_log, lane.ansible_log, os.path.join(run_dir, 'dom0-logs.tar.gz'),
            os.path.join(run_dir, 'dom0-network.txt'), os.path.join(run_dir, 'dom0-boot-files.txt'))
    print('%s logs: %s (serial, both boots), %s (Ansible), %s (dom0: guest consoles, xl, journal of the last boot), %s '
          '(dom0 addresses and routes before and after each site.yml run and the reboot), %s (the files dom0 booted '
          'from)' % ((name,) + logs))


def main():
    run_dir = os.path.abspath(sys.argv[1])
    report = Report()
    started = time.monotonic()
    # One after the other, not side by side: two emulated machines on two cores took 157-181 s to SSH (33-52 s
    # alone) and 251 s for the first site.yml run (109 s alone), slower than in turn.
    if os.environ.get('XENFLEET_REALXEN_MULTI_BRIDGE', '1') == '1':
        run_configuration('multi_bridge', multi_bridge, run_dir, report)
    if os.environ.get('XENFLEET_REALXEN_ROUTED', '1') == '1':
        run_configuration('routed', routed, os.path.join(run_dir, 'routed'), report)
    if os.environ.get('XENFLEET_REALXEN_BROUTER', '1') == '1':
        run_configuration('brouter', brouter, os.path.join(run_dir, 'brouter'), report)
    print('Lane total %.0f s' % (time.monotonic() - started))
    print('%d passed, %d failed' % (len(report.proofs) - report.failed, report.failed))
    return 1 if report.failed or not report.proofs else 0


if __name__ == '__main__':
    sys.exit(main())
