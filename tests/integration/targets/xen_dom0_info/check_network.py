"""After adoption and site.yml: the hand-built bridge is intact and guests reach and are reached with real packets."""

import filecmp
import json
import os
import sys

from xenlab import Lab

workdir, xen, before = sys.argv[1:4]
lab = Lab.attach(workdir)
links = json.loads(lab.run('dom0', ['ip', '-j', 'addr', 'show']).stdout)
by_name = dict((link['ifname'], link) for link in links)
problems = []
if by_name['eth0'].get('master') != 'xenbr0':
    problems.append('eth0 is no longer in xenbr0: %s' % by_name['eth0'])
bridge_addresses = ['%s/%s' % (info['local'], info['prefixlen']) for info in by_name['xenbr0']['addr_info'] if info.get('scope') == 'global']
if bridge_addresses != ['192.0.2.10/24', '2001:db8:1::10/64']:
    problems.append('xenbr0 has %s' % bridge_addresses)
if [port for port in ('g1-0', 'vif2.0', 'vif3.0') if by_name[port].get('master') != 'xenbr0']:
    problems.append('a guest vif left xenbr0')
for source, target in (('upstream', '192.0.2.10'), ('upstream', '192.0.2.21'), ('upstream', '192.0.2.22'), ('upstream', '192.0.2.23'),
                       ('g1', '192.0.2.1'), ('g3', '192.0.2.22')):
    if not lab.ping(source, target, count=1, timeout=2):
        problems.append('%s cannot reach %s' % (source, target))
# g1 was fully expressed: its config is byte for byte what the administrator wrote.
if not filecmp.cmp(os.path.join(xen, 'g1.cfg'), os.path.join(before, 'g1.cfg'), shallow=False):
    problems.append('g1.cfg changed')
for name in ('g2', 'g3'):
    text = open(os.path.join(xen, name + '.cfg')).read()
    if 'vifname=' not in text or 'mac=' not in text:
        problems.append('%s.cfg did not get the mac and vifname the adoption said site.yml would give: %r' % (name, text))
if problems:
    sys.exit('\n'.join(problems))
print('check_network: xenbr0 holds eth0 and dom0\'s addresses, 6 pings answered, g1.cfg untouched, g2/g3 got mac and vifname')
