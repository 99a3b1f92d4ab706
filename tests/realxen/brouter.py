"""The real-Xen lane's third configuration: a fresh dom0 with the brouter topology, proved after a reboot.

The guests' bridge xenbr0 has no port and carries dom0's 10.0.1.1/24; dom0 routes between it and its uplink up0
(192.0.2.10/24, a veth whose peer in the namespace "upstream" is the router 192.0.2.1, with the internet server
198.51.100.2 behind it), masquerading the guests, and xen_nat's dnsmasq gives each guest its fixed address. The router
has a route to 10.0.1.0/24 through dom0, as one that knows the guests' network would: so a guest's packet that left
without masquerade would reach the internet under its own address, and the router's packets would reach the guests if
xen_nat's guard (its forward chain: into the bridge only replies and port forwards) were not in place. At boot,
forwarding comes back from sysctl.d as soon as the interfaces appear: this is where a missing or late NAT table would
leak. The guest b1 is never started by hand: xendomains starts it at the first boot after site.yml.
"""

import json
import os
import re

from lane_common import forge_source, upstream_setup

BRIDGE = 'xenbr0'
UPLINK = 'up0'
GATEWAY = '10.0.1.1'
SUBNET = '10.0.1.0/24'
DOM0_UPLINK_ADDRESS = '192.0.2.10'
ROUTER = '192.0.2.1'
INTERNET = '198.51.100.2'
FORGED_ADDRESS = '192.0.2.99'
# name: its fixed address, which it gets by DHCP
GUESTS = {'b1': '10.0.1.5'}
NAT_NAME = 'brouter'
# What the brouter dom0's package step installs: dom0_base's with NAT (dnsmasq) and an ifupdown-persisted bridge.
PREREQUISITES = ['python3-pyroute2', 'python3-netaddr', 'dnsmasq-base', 'bridge-utils', 'python3-apt']

# As its administrator wrote it: site.yml adds the vif entry. No xf_ip: the guest runs udhcpc.
CONFIG = '''# {name}: a PV guest of the real-Xen lane's brouter dom0
name = "{name}"
type = "pv"
kernel = "/var/lib/xenfleet-realxen/guest-vmlinuz"
ramdisk = "/var/lib/xenfleet-realxen/guest-initrd.gz"
extra = "console=hvc0 quiet"
memory = 128
vcpus = 1
on_crash = "destroy"
'''


def brouter_vars():
    return {
        'xenfleet_topology': 'brouter',
        'xenfleet_uplink': UPLINK,
        # the role's defaults: xenbr0, 10.0.1.0/24, gateway 10.0.1.1, NAT on, sysctl.d/60-xenfleet-brouter.conf
        'xenfleet_brouter_dhcp': {'dns_servers': [INTERNET]},
        'xenfleet_guests': [{'name': name, 'vifs': [{'bridge': BRIDGE, 'ip': [address]}]}
                            for name, address in GUESTS.items()],
        # eth0 carries SSH and is no part of the model (the topology leaves it alone): dom0's own, declared as a
        # user declares a management NIC, or the closed policy would drop it (xen_antispoof refuses to, naming it)
        'xenfleet_antispoof': {'backend': 'nftables', 'host_interfaces': ['eth0']},
    }


class BrouterLane:
    """Runs on a Lane (run_realxen.py) booted from its own fresh disk."""

    def __init__(self, lane, mac_from_ip):
        self.lane = lane
        self.report = lane.report
        self.mac_from_ip = mac_from_ip

    def boot(self, host_vars):
        lane = self.lane
        lane.boot_machine()
        lane.dom0(upstream_setup('routed', route_back=SUBNET), check=True)
        for name in GUESTS:
            lane.dom0('cat > /etc/xen/%s.cfg <<"EOF"\n%sEOF' % (name, CONFIG.format(name=name)), check=True)
        variables = host_vars(lane.machine)
        variables.update(brouter_vars())
        with open(lane.inventory, 'w') as stream:
            json.dump({'xen_dom0': {'hosts': {'dom0': variables}}}, stream, indent=2)

    def bridge_state(self):
        """(xenbr0's IPv4 addresses, its ports), or (None, None) when there is no bridge xenbr0."""
        link = self.lane.link(BRIDGE)
        if not link or link.get('linkinfo', {}).get('info_kind') != 'bridge':
            return None, None
        addresses = ['%s/%s' % (info['local'], info['prefixlen']) for entry in self.lane.dom0_json(
            'ip -j addr show dev %s' % BRIDGE) for info in entry.get('addr_info', []) if info.get('family') == 'inet']
        ports = [port['ifname'] for port in self.lane.dom0_json('ip -j link show master %s' % BRIDGE)]
        return addresses, ports

    def converge(self):
        lane = self.lane
        print('\nbrouter: site.yml, first run (xenbr0 with no port, NAT and dnsmasq to %s, anti-spoofing):' % UPLINK,
              flush=True)
        absent = lane.packages_absent(PREREQUISITES)
        completed, recap, seconds = lane.playbook(os.path.join(lane.repo, 'site.yml'), label='brouter: site.yml, first run')
        lane.timed('brouter site.yml first run', seconds)
        addresses, ports = self.bridge_state()
        ok = self.report.prove(
            'brouter: site.yml converged dom0 (exit %d, %s); %s has %s and no port' % (
                completed.returncode, recap, BRIDGE, ', '.join(addresses or []) or 'no address'),
            completed.returncode == 0 and recap.get('failed', 1) == 0 and addresses == ['%s/24' % GATEWAY]
            and ports == [], completed.stdout[-4000:])
        lane.prove_packages_installed(completed, PREREQUISITES, absent, 'dom0_base : Install')
        return ok

    def prove_boot_network(self):
        lane = self.lane
        addresses, ports = self.bridge_state()
        sysctls = lane.dom0('sysctl -n net.ipv4.conf.%s.forwarding net.ipv4.conf.%s.forwarding' % (
            BRIDGE, UPLINK)).stdout.split()
        tables = lane.dom0('nft list tables').stdout
        self.report.prove(
            'brouter: every bridge exists: %s with %s and no port but the guests\' (%s); forwarding on %s and %s back '
            'from sysctl.d (%s); xen_nat\'s table loaded (%s)' % (
                BRIDGE, ', '.join(addresses or []) or 'no address', ', '.join(ports or []) or 'none', BRIDGE, UPLINK,
                ' '.join(sysctls), ', '.join(line.split()[-1] for line in tables.splitlines())),
            addresses == ['%s/24' % GATEWAY] and ports is not None and all(port.endswith('-0') for port in ports)
            and sysctls == ['1', '1'] and 'table ip xenfleet_nat_%s' % NAT_NAME in tables,
            lane.dom0('cat /etc/sysctl.d/60-xenfleet-brouter.conf; systemctl status --no-pager "xenfleet-nat-*"').stdout)

    def prove_vif(self, name):
        lane = self.lane
        vifname = '%s-0' % name
        config = lane.dom0('cat /etc/xen/%s.cfg' % name).stdout
        vif_line = re.search(r'^vif\s*=.*$', config, re.M)
        written = re.search(r'mac=([0-9a-f:]+)', vif_line.group(0)) if vif_line else None
        link = lane.link(vifname) or {}
        _status, guest_mac = lane.guest(name, 'cat /sys/class/net/eth0/address')
        expected = self.mac_from_ip(GUESTS[name])
        self.report.prove(
            'brouter: %s\'s vif %s sits on %s, with the mac xen_vif wrote (%s), which the guest\'s eth0 carries' % (
                name, vifname, BRIDGE, written.group(1) if written else None),
            link.get('master') == BRIDGE and written and written.group(1) == expected
            and guest_mac.strip() == expected,
            'config: %s\nlink master: %s\nguest eth0: %s' % (vif_line.group(0) if vif_line else 'no vif line',
                                                             link.get('master'), guest_mac))

    def prove_nat_at_boot(self):
        lane = self.lane
        print('\nbrouter: the guest started at boot, its lease, the masquerade and xen_nat\'s guard:', flush=True)
        address = GUESTS['b1']
        status, output = lane.guest('b1', 'udhcpc -i eth0 -n -q -t 10 -T 3 -A 3; ip -4 -o addr show dev eth0',
                                    timeout=120)
        leased = re.findall(r'inet (\d+\.\d+\.\d+\.\d+)/', output)
        if not self.report.prove('brouter: b1 got its fixed address %s from dnsmasq by DHCP (got %s)' % (
                address, ', '.join(leased) or 'nothing'), status == 0 and leased == [address], output):
            return

        status, output = lane.guest('b1', r'printf "GET /hello.txt HTTP/1.0\r\n\r\n" | nc -w 10 %s 8080' % INTERNET,
                                    timeout=60)
        served = lane.dom0('journalctl -u xf-internet --no-pager -o cat').stdout
        seen_from = re.findall(r'^(\d+\.\d+\.\d+\.\d+) - - .*GET /hello.txt', served, re.M)
        self.report.prove(
            'brouter: b1 fetched a page from the internet server %s; the server saw %s (masqueraded to dom0\'s uplink '
            'address %s, though the router has a route back to %s)' % (
                INTERNET, ', '.join(sorted(set(seen_from))) or 'nobody', DOM0_UPLINK_ADDRESS, SUBNET),
            status == 0 and 'hello from the internet' in output and seen_from
            and set(seen_from) == {DOM0_UPLINK_ADDRESS}, output + served[-2000:])

        # the guard, with its control: the router reaches dom0's gateway address on the bridge through its route
        # back, but its pings to b1 (forwarded into the bridge, neither replies nor port forwards) never arrive
        gateway = lane.dom0('ip netns exec upstream ping -c 2 -W 3 %s' % GATEWAY, timeout=60)
        before = lane.echo_requests_received('b1')
        inbound = lane.dom0('ip netns exec upstream ping -c 3 -W 2 %s' % address, timeout=60)
        after = lane.echo_requests_received('b1')
        self.report.prove(
            'brouter: xen_nat\'s guard holds at boot: the router reaches %s on dom0 (its route back to %s works) but '
            'none of its 3 pings to b1 at %s reached b1 (echo requests b1 counted: %s -> %s)' % (
                GATEWAY, SUBNET, address, before, after),
            gateway.returncode == 0 and inbound.returncode != 0 and None not in (before, after) and after == before,
            gateway.stdout + inbound.stdout)

        counts = forge_source(lane, 'b1', 'b1-0', ROUTER, FORGED_ADDRESS)
        self.report.prove(
            'brouter: b1 reaches the router %s (echo requests counted there %s -> %s), and its pings from the forged '
            'source %s left b1 (b1-0 received %d) but none reached the router (%s -> %s)' % (
                ROUTER, counts['before'], counts['legit'], FORGED_ADDRESS, counts['sent'], counts['legit'], counts['forged']),
            counts['status'] == 0 and None not in (counts['before'], counts['legit'], counts['forged'])
            and counts['legit'] - counts['before'] >= 2 and counts['sent'] >= 5 and counts['forged'] == counts['legit'],
            counts['output'])

    def prove_guard_control(self):
        """The control of the guard's proof, after the rerun (so it cannot disturb it): with xen_nat's table taken
        away for a moment, the router's pings do reach b1; then the table is put back exactly as it was."""
        lane = self.lane
        table = 'ip xenfleet_nat_%s' % NAT_NAME
        saved = lane.dom0('nft list table %s > /run/xf-nat-saved.nft && cat /run/xf-nat-saved.nft' % table).stdout
        lane.dom0('nft delete table %s' % table)
        before = lane.echo_requests_received('b1')
        inbound = lane.dom0('ip netns exec upstream ping -c 3 -W 2 %s' % GUESTS['b1'], timeout=60)
        after = lane.echo_requests_received('b1')
        lane.dom0('nft -f /run/xf-nat-saved.nft')
        restored = lane.dom0('nft list table %s' % table).stdout
        self.report.prove(
            'brouter: control of the guard: with xen_nat\'s table taken away for a moment the router\'s pings do reach '
            'b1 (b1 counted %s -> %s echo requests); the table put back as it was' % (before, after),
            inbound.returncode == 0 and None not in (before, after) and after - before >= 3 and saved.strip()
            and restored == saved, inbound.stdout + '\nsaved:\n%s\nrestored:\n%s' % (saved, restored))

    def run(self, host_vars):
        lane = self.lane
        self.boot(host_vars)
        if not self.converge():
            return
        lane.reboot_with_autostart(list(GUESTS))
        lane.report.prefix = 'after the reboot: '
        try:
            lane.prove_ssh_on('eth0')
            self.prove_boot_network()
            if lane.prove_started_at_boot(list(GUESTS)):
                for name in GUESTS:
                    self.prove_vif(name)
                self.prove_nat_at_boot()
            lane.prove_boot_rerun()
            if lane.machine.process.poll() is None and lane.link('b1-0'):
                self.prove_guard_control()
        finally:
            lane.report.prefix = ''
