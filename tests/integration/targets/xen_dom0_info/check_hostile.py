"""The host_vars adopt.yml wrote for a dom0 full of hostile values: exactly the valid part, every comment one line."""

import sys

from adopted_file import read_adopted, variable_problems

path, xen = sys.argv[1], sys.argv[2]
text, host_vars = read_adopted(path)

EXPECTED = {
    'xenfleet_topology': 'multi_bridge',
    'xenfleet_uplink': 'eth0',
    'xenfleet_bridges': [{'name': 'xenbr0', 'uplink': 'eth0', 'forward_delay': 15.0}, {'name': 'xenbr9', 'uplink': 'eth1'}],
    'xenfleet_guests': [
        {'name': 'g1', 'type': 'pv', 'config': xen + '/g1.cfg',
         'vifs': [{'mac': '02:00:c0:00:02:15', 'bridge': 'xenbr0', 'ip': ['192.0.2.21'], 'vifname': 'g1-0'}]},
        {'name': 'g6', 'config': xen + '/g6.cfg', 'vifs': [{'mac': '02:00:c0:00:02:19', 'ip': ['192.0.2.26']}]},
    ],
    'xenfleet_xl_config_dir': xen,
    'xenfleet_bridge_subnets': {'xenbr0': '192.0.2.0/24'},
    'xenfleet_antispoof': False,
}
problems = variable_problems(EXPECTED, host_vars)
# A YAML reader ends a line at \r, \n, NEL, U+2028 and U+2029: each line must be the header's comment or the dump's.
lines = text.split('\n')
if any(character in line for line in lines for character in '\r\x85\u2028\u2029'):
    problems.append('a line of the file holds a line break YAML reads')
header = [line for line in lines if line.startswith('#')]
if lines[0] != '---' or lines[1:len(header) + 1] != header:
    problems.append('the header is not one block of comments right after ---')
for refused in ('evil1', 'evil2', 'evil3', 'evil4', 'evil5', 'evil6', '{{ 6 * 7 }}.cfg', 'vif.default.bridge', 'evil=x\\u2028y:'):
    if not any(refused in line for line in header):
        problems.append('no header line names %r' % refused)
if problems:
    sys.exit('hostile adoption is wrong:\n  ' + '\n  '.join(problems))
print('check_hostile: %d variables as expected, %d header lines, nothing injected' % (len(host_vars), len(header)))
