"""The host_vars file adopt.yml wrote for the hand-built lab dom0: content and header."""

import sys

from adopted_file import read_adopted, variable_problems

path, xen = sys.argv[1], sys.argv[2]
text, host_vars = read_adopted(path)

EXPECTED = {
    'xenfleet_topology': 'multi_bridge',
    'xenfleet_uplink': 'eth0',
    # A bridge made with `ip link add ... type bridge` keeps the kernel's forward delay of 15 s.
    'xenfleet_bridges': [{'name': 'xenbr0', 'uplink': 'eth0', 'forward_delay': 15.0}],
    'xenfleet_guests': [
        {'name': 'g1', 'type': 'pv', 'config': xen + '/g1.cfg',
         'vifs': [{'mac': '02:00:c0:00:02:15', 'bridge': 'xenbr0', 'ip': ['192.0.2.21'], 'vifname': 'g1-0'}]},
        {'name': 'g2', 'config': xen + '/g2.cfg', 'vifs': [{'mac': '02:00:c0:00:02:16', 'ip': ['192.0.2.22']}]},
        {'name': 'g3', 'type': 'hvm', 'config': xen + '/g3.cfg', 'vifs': [{'bridge': 'xenbr0', 'ip': ['192.0.2.23']}]},
    ],
    'xenfleet_xl_config_dir': xen,
    'xenfleet_bridge_subnets': {'xenbr0': '192.0.2.0/24'},
    'xenfleet_antispoof': False,
}
problems = variable_problems(EXPECTED, host_vars)

header = [line for line in text.splitlines() if line.startswith('#')]
wanted = [
    '# Adopted by xenfleet.network.adopt from dom0 dom0_ssh',
    '# Topology: multi_bridge: xenbr0 holds the uplink eth0 as a port',
    '# Uplink: eth0: the physical port of xenbr0, which holds the default route',
    '# Not expressed by the inventory model (6)',
    '#   - guest g2 vif 0: no vifname: ',
    '#   - guest g3 vif 0: no mac: ',
    '#   - guest g3 vif 0: no vifname: ',
    '#   - %s/xl.conf: vif.default.bridge = "xenbr0": ' % xen,
    '#   - %s/xl.conf: vif.default.script = "vif-bridge": ' % xen,
    '#   - %s/xend-config.sxp: (vif-script vif-bridge): ' % xen,
]
for line in wanted:
    if not any(found.startswith(line) for found in header):
        problems.append('header lacks a line starting with %r' % line)
if not any('vifs that rely on it: g2/0' in line and 'vif.default.bridge' in line for line in header):
    problems.append('the xl.conf bridge default does not name g2/0 as relying on it')
if problems:
    sys.exit('adopted host_vars are wrong:\n  ' + '\n  '.join(problems))
print('check_adopted: host_vars and header as expected (%d header lines)' % len(header))
