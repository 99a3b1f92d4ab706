"""The real-Xen lane's second configuration: a fresh dom0 with the routed topology.

No bridge: every guest vif is routed by Xen's stock vif-route (script=vif-route
in the vif line site.yml writes). Inside dom0 the namespace "upstream" stands
for the router beyond the uplink: dom0's uplink is the veth up0 (192.0.2.10/24),
whose peer in the namespace is the router 192.0.2.1/24. The guests have
addresses of that same /24; the router finds them through proxy ARP on up0.
SSH keeps riding eth0, which the routed topology does not touch.

IPv6 the same way on 2001:db8:1::/64 (dom0 ::10, the router ::1): r6 has an IPv6 address too. Its vif line
carries only the IPv4 one (vif-route would fail on the other); the hook xen_route writes in vif-post.d, which
vif-route sources, routes the IPv6 one at each start of the guest, at boot too.

After the converge and the proofs with guests started by hand, the guests go to /etc/xen/auto and dom0 reboots:
the same proofs again before any play, then site.yml changes nothing.
"""

import json
import os
import re
import time

from lane_common import changed_tasks, forge_source, upstream_setup

UPLINK = 'up0'
DOM0_ADDRESS = '192.0.2.10'
ROUTER = '192.0.2.1'
DOM0_ADDRESS6 = '2001:db8:1::10'
ROUTER6 = '2001:db8:1::1'
# netback's vif MAC fe:ff:ff:ff:ff:ff as a link-local address: the guests' IPv6 gateway
VIF_LINK_LOCAL = 'fe80::fcff:ffff:feff:ffff'
FORGED_ADDRESS = '192.0.2.99'
# name: (address the guest configures on eth0, the vif's ip=)
GUESTS = {
    'r1': ('192.0.2.50/24', ['192.0.2.50']),
    'r2': ('192.0.2.51/24', ['192.0.2.51']),
    'r6': ('192.0.2.52/24', ['192.0.2.52', '2001:db8:1::52']),
}
IPV6_GUEST = 'r6'
HOOK = 'xen_route\'s vif-post.d hook, sourced by vif-route at the guest\'s start,'
# What the routed dom0's package steps install: dom0_base's (no bridge, no NAT) and the routed role's own.
BASE_PREREQUISITES = ['python3-pyroute2', 'python3-netaddr', 'python3-apt']
ROUTED_PREREQUISITES = ['net-tools']

# As its administrator wrote it: site.yml adds the vif entry.
CONFIG = '''# {name}: a routed PV guest of the real-Xen lane
name = "{name}"
type = "pv"
kernel = "/var/lib/xenfleet-realxen/guest-vmlinuz"
ramdisk = "/var/lib/xenfleet-realxen/guest-initrd.gz"
extra = "console=hvc0 quiet xf_ip={address}"
memory = 128
vcpus = 1
on_crash = "destroy"
'''


def routed_vars():
    return {
        'xenfleet_topology': 'routed',
        'xenfleet_uplink': UPLINK,
        'xenfleet_guests': [{'name': name, 'vifs': [{'ip': ips}]} for name, (_address, ips) in GUESTS.items()],
        # eth0 carries SSH and is no part of the model (the topology leaves it alone): dom0's own, declared as a
        # user declares a management NIC, or the closed policy would drop it (xen_antispoof refuses to, naming it)
        'xenfleet_antispoof': {'backend': 'nftables', 'host_interfaces': ['eth0']},
    }


class RoutedLane:
    """Runs on a Lane (run_realxen.py) booted from its own fresh disk."""

    def __init__(self, lane):
        self.lane = lane
        self.report = lane.report
        self.started = []

    def boot(self, host_vars):
        lane = self.lane
        lane.boot_machine()
        # up0 with dom0's 192.0.2.10/24 and 2001:db8:1::10/64, the router beyond it: made again at every boot
        lane.dom0(upstream_setup('routed'), check=True)
        for name, (address, _ips) in GUESTS.items():
            lane.dom0('cat > /etc/xen/%s.cfg <<"EOF"\n%sEOF' % (name, CONFIG.format(name=name, address=address)),
                      check=True)
        variables = host_vars(lane.machine)
        variables.update(routed_vars())
        with open(lane.inventory, 'w') as stream:
            json.dump({'xen_dom0': {'hosts': {'dom0': variables}}}, stream, indent=2)

    def converge(self):
        lane = self.lane
        print('\nrouted: site.yml, first run (no bridge, vif lines with script=vif-route, proxy ARP on %s):' % UPLINK,
              flush=True)
        absent = lane.packages_absent(BASE_PREREQUISITES + ROUTED_PREREQUISITES)
        completed, recap, seconds = lane.playbook(os.path.join(lane.repo, 'site.yml'), label='routed: site.yml, first run')
        lane.timed('routed site.yml first run', seconds)
        bridges = lane.dom0_json('ip -j link show type bridge')
        ok = self.report.prove(
            'routed: site.yml converged dom0 (exit %d, %s) and made no bridge (bridges: %s)' % (
                completed.returncode, recap, ', '.join(link['ifname'] for link in bridges) or 'none'),
            completed.returncode == 0 and recap.get('failed', 1) == 0 and not bridges, completed.stdout[-4000:])
        for names, task in ((BASE_PREREQUISITES, 'dom0_base : Install'), (ROUTED_PREREQUISITES, 'routed : Install')):
            lane.prove_packages_installed(completed, names, [name for name in absent if name in names], task)
        return ok

    def start_guests(self):
        lane = self.lane
        print('\nrouted: guests started with xl create (vif-route sets up each vif):', flush=True)
        started = time.monotonic()
        all_created = lane.create_guests(list(GUESTS))
        self.started = [name for name in GUESTS if all_created[name].returncode == 0]
        for name in GUESTS:
            created = all_created[name]
            vif_line = lane.dom0('grep ^vif /etc/xen/%s.cfg' % name).stdout.strip()
            ipv4 = [ip for ip in GUESTS[name][1] if ':' not in ip]
            written = re.search(r'ip=([^,\'"]*)', vif_line)
            if not self.report.prove('routed: xl create accepted %s.cfg as site.yml wrote it (%s), ip= holding its IPv4 '
                                     'addresses only (of %s)' % (name, vif_line, ' '.join(GUESTS[name][1])),
                                     created.returncode == 0 and 'script=vif-route' in vif_line and written
                                     and written.group(1).split() == ipv4, created.stdout):
                return False
        lane.wait_for_guests(GUESTS, started)
        for name in GUESTS:
            self.prove_vif(name)
        return True

    def prove_vif(self, name):
        lane = self.lane
        vifname = '%s-0' % name
        ips = [ip for ip in GUESTS[name][1] if ':' not in ip]
        link = lane.link(vifname) or {}
        own = lane.dom0_json('ip -j addr show dev %s' % vifname)
        own_addresses = ['%s/%s' % (info['local'], info['prefixlen']) for entry in own for info in entry.get('addr_info', [])
                         if info.get('family') == 'inet']
        proxy_arp = lane.dom0('cat /proc/sys/net/ipv4/conf/%s/proxy_arp' % vifname).stdout.strip()
        routes = lane.dom0_json('ip -d -j route show dev %s' % vifname)
        routed = sorted(route['dst'] for route in routes)
        self.report.prove(
            'routed: %s is in dom0 with no master, %s/32 on it, proxy_arp=%s, host routes %s (vif-route\'s: %s)' % (
                vifname, DOM0_ADDRESS, proxy_arp, ', '.join(routed) or 'none',
                ', '.join(sorted(set(str(route.get('protocol')) for route in routes))) or 'none'),
            link and not link.get('master') and '%s/32' % DOM0_ADDRESS in own_addresses and proxy_arp == '1'
            and routed == sorted(ips) and all(route.get('protocol') == 'boot' for route in routes),
            json.dumps(routes))

    def prove_traffic(self):
        lane = self.lane
        print('\nrouted: traffic through dom0 (proxy ARP on %s and on the vifs):' % UPLINK, flush=True)
        for name, (address, _ips) in GUESTS.items():
            target = address.split('/', maxsplit=1)[0]
            completed = lane.dom0('ip netns exec upstream ping -c 3 -W 3 %s' % target, timeout=60)
            neighbour = lane.dom0('ip -n upstream neigh show %s' % target).stdout.strip()
            up0_mac = (lane.link(UPLINK) or {}).get('address')
            self.report.prove(
                'routed: the upstream router reaches %s (%s) through proxy ARP: it holds dom0\'s %s MAC for it (%s)' % (
                    name, target, UPLINK, neighbour),
                completed.returncode == 0 and up0_mac and up0_mac in neighbour, completed.stdout + neighbour)
        status, output = lane.guest('r1', 'ping -c 3 -W 3 %s' % ROUTER, timeout=60)
        self.report.prove('routed: r1 reaches the upstream router %s' % ROUTER, status == 0, output)
        status, output = lane.guest('r1', 'ping -c 3 -W 3 %s' % GUESTS['r2'][0].split('/', maxsplit=1)[0], timeout=60)
        self.report.prove('routed: r1 reaches r2, routed by dom0', status == 0, output)

    def prove_forged_source(self):
        lane = self.lane
        counts = forge_source(lane, 'r1', 'r1-0', ROUTER, FORGED_ADDRESS)
        before, legit, after = counts['before'], counts['legit'], counts['forged']
        self.report.prove(
            'routed: r1 forging the source %s: its packets left r1 (r1-0 received %d) and none reached the router '
            '(echo requests counted upstream: %s -> %s legitimate, then %s -> %s forged)' % (
                FORGED_ADDRESS, counts['sent'], before, legit, legit, after),
            None not in (before, legit, after) and legit - before >= 2 and counts['sent'] >= 5 and after == legit)

    def prove_ipv6_routed(self, how):
        """r6's IPv6 address routed through its vif (proto 212) with a proxy NDP entry on the uplink; vif-route's IPv4
        routes the only IPv4 ones on the vif."""
        lane = self.lane
        vifname = '%s-0' % IPV6_GUEST
        address6 = [ip for ip in GUESTS[IPV6_GUEST][1] if ':' in ip][0]
        routes6 = lane.dom0('ip -d -6 route show %s' % address6).stdout.strip()
        routes4 = lane.dom0('ip -d route show dev %s' % vifname).stdout.strip()
        proxy = lane.dom0('ip -6 neigh show proxy').stdout
        return self.report.prove(
            'routed: %s routed %s through %s (%s), proxy NDP for it on %s, and left vif-route\'s IPv4 routes as '
            'the only ones (%s)' % (how, address6, vifname, routes6 or 'no route', UPLINK, routes4.replace('\n', '; ')),
            'dev %s' % vifname in routes6 and 'proto 212' in routes6 and '%s dev %s' % (address6, UPLINK) in proxy
            and 'proto 212' not in routes4 and 'proto boot' in routes4, routes6 + '\n' + proxy)

    def prove_ipv6_traffic(self):
        """The router and r6 reach each other over IPv6 (r6's own address set in the guest, its gateway dom0's
        link-local address on the vif)."""
        lane = self.lane
        vifname = '%s-0' % IPV6_GUEST
        address6 = [ip for ip in GUESTS[IPV6_GUEST][1] if ':' in ip][0]
        status, output = lane.guest(IPV6_GUEST, 'test -e /proc/net/if_inet6 && ping -6 -c 1 -W 1 ::1')
        if status != 0:
            print('  [NOTE] routed: the guest %s cannot do IPv6 (no IPv6 in its kernel or busybox ping -6): %s' % (
                IPV6_GUEST, output.strip()), flush=True)
            return
        lane.guest(IPV6_GUEST, 'echo 0 > /proc/sys/net/ipv6/conf/eth0/accept_dad; ip -6 addr add %s/128 dev eth0; '
                   'ip -6 route add default via %s dev eth0' % (address6, VIF_LINK_LOCAL))
        completed = lane.dom0('ip netns exec upstream ping -6 -c 3 -W 3 %s' % address6, timeout=60)
        self.report.prove('routed: the upstream router reaches %s at %s over IPv6 (proxy NDP on %s, xen_route\'s route)'
                          % (IPV6_GUEST, address6, UPLINK), completed.returncode == 0, completed.stdout)
        status, output = lane.guest(IPV6_GUEST, 'ping -6 -c 3 -W 3 %s' % ROUTER6, timeout=60)
        self.report.prove('routed: %s reaches the upstream router %s over IPv6 through dom0\'s link-local address on '
                          '%s' % (IPV6_GUEST, ROUTER6, vifname), status == 0, output)

    def prove_rerun(self):
        lane = self.lane
        print('\nrouted: site.yml, second run, with the guests running:', flush=True)
        completed, recap, seconds = lane.playbook(os.path.join(lane.repo, 'site.yml'), '--diff',
                                                  label='routed: site.yml, second run')
        lane.timed('routed site.yml second run', seconds)
        self.report.prove('routed: a second run of site.yml, guests running, changed nothing (%s)' % recap,
                          completed.returncode == 0 and recap.get('changed', 1) == 0 and recap.get('failed', 1) == 0,
                          '; '.join(changed_tasks(completed.stdout)) + '\n' + completed.stdout[-3000:])

    def prove_destroyed(self):
        lane = self.lane
        print('\nrouted: guests destroyed:', flush=True)
        for name in self.started:
            lane.dom0('xl destroy %s' % name, timeout=120)
        left = lane.dom0('xl list').stdout
        vifnames = ['%s-0' % name for name in self.started]
        links = [name for name in vifnames if lane.link(name) is not None]
        routes = [route for route in lane.dom0_json('ip -j route show') if route.get('dev') in vifnames]
        self.report.prove(
            'routed: xl destroy: no guest left, their vifs %s and host routes are gone from dom0' % ', '.join(vifnames),
            not any(re.search(r'^%s\s' % name, left, re.M) for name in self.started) and not links and not routes,
            left + json.dumps(routes))

    def prove_boot_network(self):
        lane = self.lane
        bridges = lane.dom0_json('ip -j link show type bridge')
        up0 = lane.dom0_json('ip -j addr show dev %s' % UPLINK)
        on_up0 = ['%s/%s' % (info['local'], info['prefixlen']) for link in up0 for info in link.get('addr_info', [])]
        sysctls = lane.dom0('sysctl -n net.ipv4.conf.%s.forwarding net.ipv4.conf.%s.proxy_arp' % (UPLINK, UPLINK)).stdout.split()
        self.report.prove(
            'routed: no bridge (bridges: %s); %s has %s, forwarding and proxy ARP on it back from sysctl.d (%s)' % (
                ', '.join(link['ifname'] for link in bridges) or 'none', UPLINK, ', '.join(on_up0),
                ' '.join(sysctls)),
            not bridges and '%s/24' % DOM0_ADDRESS in on_up0 and sysctls == ['1', '1'],
            lane.dom0('cat /etc/sysctl.d/60-xenfleet-route.conf').stdout)

    def after_reboot(self):
        """The routed dom0 after `systemctl reboot`, its guests started by xendomains, before any play runs."""
        lane = self.lane
        lane.reboot_with_autostart(list(GUESTS))
        lane.report.prefix = 'after the reboot: '
        try:
            lane.prove_ssh_on('eth0')
            self.prove_boot_network()
            if lane.prove_started_at_boot(list(GUESTS)):
                self.started = list(GUESTS)
                for name in GUESTS:
                    self.prove_vif(name)
                self.prove_traffic()
                self.prove_forged_source()
                self.prove_ipv6_routed(HOOK)
                self.prove_ipv6_traffic()
            lane.prove_boot_rerun()
        finally:
            lane.report.prefix = ''

    def run(self, host_vars):
        self.boot(host_vars)
        if not self.converge():
            return
        if self.start_guests():
            self.prove_traffic()
            self.prove_forged_source()
            self.prove_ipv6_routed(HOOK)
            self.prove_ipv6_traffic()
            self.prove_rerun()
            self.prove_destroyed()
        self.after_reboot()
