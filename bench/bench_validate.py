"""How long does validation take: xen_antispoof's spec of 5000 vifs, and xen_vif's checks on a crowded dom0?

Measures, in this process (no host, no root), the median of several runs of:
  - antispoof_5000_vifs: AntispoofSpec of 5000 vifs, each with a name, a MAC,
    an IPv4 address, an IPv6 address and the link-local address derived from
    its MAC (what xen_antispoof validates before it plans);
  - vif_plan_2000_claims: plan_vif_change of one vif of a guest with 8 vifs,
    checked against the claims of 2000 other vifs on the dom0 (names, MACs,
    addresses: what xen_vif checks before it writes);
  - what the fast paths of the antispoof spec save: for 5000 values, the
    library call (netaddr EUI, ipaddress) beside the hand-written check the
    spec keeps instead. The figures in the comments beside each fast path
    come from here.
--repo PATH benches another checkout (for example a worktree of an older
commit), so a change can be measured before and after.
Usage: .venv/bin/python bench/bench_validate.py [--runs N] [--repo PATH] [--cpu]
"""

import argparse
import gc
import ipaddress
import json
import os
import re
import socket
import sys
import tempfile
import time

from benchlib import median_ms

VIFS = 5000
CLAIMS = 2000
CPU = False  # set by --cpu
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=9, help='how many times each measurement runs (default 9)')
    parser.add_argument('--repo', default=HERE, help='the checkout to bench (default: this one)')
    parser.add_argument('--cpu', action='store_true', help='report the least CPU time of the runs instead of the median wall time')
    return parser.parse_args()


def importable(repo, directory):
    """Make repo importable as ansible_collections.xenfleet.network (each checkout under its own tree)."""
    root = os.path.join(directory, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'xenfleet'))
    os.symlink(os.path.abspath(repo), os.path.join(root, 'ansible_collections', 'xenfleet', 'network'))
    sys.path.insert(0, root)


def timed(function, runs):
    """The median wall time in ms; with --cpu, the least CPU time instead (steadier on a busy machine)."""
    timings = []
    clock = time.process_time if CPU else time.perf_counter
    for _index in range(runs):
        started = clock()
        function()
        timings.append(clock() - started)
    return round(min(timings) * 1000, 1) if CPU else median_ms(timings)


def antispoof_vifs(count):
    return [{'name': 'vif%d.0' % index, 'mac': ['02:00:0a:%02x:%02x:01' % (index >> 8, index & 0xff)],
             'ipv4': ['10.%d.%d.1' % (index >> 8, index & 0xff)], 'ipv6': ['2001:db8:a:%x::1' % index]}
            for index in range(count)]


def antispoof_timing(runs):
    from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import AntispoofSpec  # pylint: disable=import-outside-toplevel
    params = {'state': 'present', 'backend': 'nftables', 'vifs': antispoof_vifs(VIFS)}
    return timed(lambda: AntispoofSpec(params), runs)


def vif_plan_timing(runs):
    from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change  # pylint: disable=import-outside-toplevel
    vifs = ', '.join("'mac=02:00:0a:00:01:%02x,bridge=xenbr0,ip=10.0.1.%d,vifname=web-%d'" % (devid, devid, devid) for devid in range(8))
    config = "name = 'web'\nmemory = 512\nvif = [ %s ]\n" % vifs
    claims = [{'guest': 'g%d' % (index // 2), 'devid': index % 2, 'vifname': 'g%d-%d' % (index // 2, index % 2),
               'mac': '02:00:0a:02:%02x:%02x' % (index >> 8, index & 0xff), 'ip': ['10.2.%d.%d' % (index >> 8, index & 0xff)]}
              for index in range(CLAIMS)]
    desired = {'mac': 'auto', 'vifname': 'auto', 'bridge': 'xenbr0', 'ip': ['10.0.1.7'], 'rate': '10Mb/s'}
    return timed(lambda: plan_vif_change(config, guest='web', devid=7, desired=desired, dom0_claims=claims,
                                         bridge_subnets={'xenbr0': '10.0.0.0/16'}), runs)


def fast_path_timings(runs):
    """Library calls beside the hand-written checks, for 5000 values each (both take the same values)."""
    import netaddr  # pylint: disable=import-outside-toplevel
    macs = ['02:00:0a:%02x:%02x:01' % (index >> 8, index & 0xff) for index in range(VIFS)]
    ipv4 = ['10.%d.%d.1' % (index >> 8, index & 0xff) for index in range(VIFS)]
    ipv6 = ['2001:db8:a:%x::1' % index for index in range(VIFS)]
    names = ['vif%d.0' % index for index in range(VIFS)]
    mac_pattern = re.compile(r'[0-9a-f]{2}(?::[0-9a-f]{2}){5}')
    name_pattern = re.compile(r'[A-Za-z0-9_.-]{1,15}')

    def eui64(mac):
        return str(netaddr.EUI(mac).ipv6_link_local())

    def eui64_by_hand(mac):
        value = int(mac.replace(':', ''), 16)
        head = (value >> 24) ^ 0x020000
        return 'fe80::%x:%x:%x:%x' % (head >> 8, (head & 0xff) << 8 | 0xff, 0xfe00 | (value >> 16 & 0xff), value & 0xffff)

    def inet_pton(family, text):
        return int.from_bytes(socket.inet_pton(family, text), 'big')

    pairs = {
        'mac_netaddr_eui': lambda: [netaddr.EUI(mac) for mac in macs],
        'mac_regex': lambda: [mac_pattern.fullmatch(mac) for mac in macs],
        'link_local_netaddr': lambda: [eui64(mac) for mac in macs],
        'link_local_by_hand': lambda: [eui64_by_hand(mac) for mac in macs],
        'ipv4_ipaddress_network': lambda: [ipaddress.ip_network(text) for text in ipv4],
        'ipv4_netaddr_network': lambda: [netaddr.IPNetwork(text) for text in ipv4],
        'ipv4_inet_pton': lambda: [inet_pton(socket.AF_INET, text) for text in ipv4],
        'ipv6_ipaddress_network': lambda: [ipaddress.ip_network(text) for text in ipv6],
        'ipv6_inet_pton': lambda: [inet_pton(socket.AF_INET6, text) for text in ipv6],
        'ifname_per_character': lambda: [all(character.isalnum() or character in '._-' for character in name) for name in names],
        'ifname_regex': lambda: [name_pattern.fullmatch(name) for name in names],
    }
    return dict(('%d_%s_ms' % (VIFS, label), timed(function, runs)) for label, function in pairs.items())


def main():
    global CPU  # pylint: disable=global-statement
    args = parse_arguments()
    CPU = args.cpu
    gc.collect()
    with tempfile.TemporaryDirectory(prefix='xenfleet-bench-validate-') as directory:
        importable(args.repo, directory)
        results = {
            'runs': args.runs,
            'clock': 'least CPU time' if CPU else 'median wall time',
            'repo': os.path.abspath(args.repo),
            'antispoof_%d_vifs_ms' % VIFS: antispoof_timing(args.runs),
            'vif_plan_%d_claims_ms' % CLAIMS: vif_plan_timing(args.runs),
        }
        results.update(fast_path_timings(args.runs))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == '__main__':
    sys.exit(main())
