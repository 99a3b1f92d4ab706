# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The paths around the filter (issue 18, items 1 and 2), for the packet matrix of antispoof_matrix.py.

  emulated NIC   an HVM guest's second device: xl plugs the tap QEMU makes for
                 its emulated NIC into the vif's bridge as <vif>-emu, under
                 both naming schemes: vif1.0-emu (g1, xl's own vif name) and
                 app-0-emu (g7, a vifname no pattern matches). A veth of that
                 name, whose other end is the guest's eth1 (same MAC), stands
                 in for the tap; the guest forges MAC, ARP, IPv4 and IPv6
                 through it, and sends its own frames.
  unlisted port  g5's vif web-0 (an auto-style name no pattern matches) on
                 xenbr0, with no policy.
  unlisted routed vif
                 g6's vif db-1, routed to 10.0.3.6 like vif-route would, with
                 no policy.
  dom0's own     upstream and dom0 reach each other over the uplink, and dom0
                 reaches itself over lo, with every unlisted path closed.

Each check runs without protection first (baseline: every frame arrives, so
the check can fail) and then with it.
"""

from __future__ import annotations

import json
import secrets
import time

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

EMU_SUFFIX = '-emu'  # libxl's TAP_DEVICE_SUFFIX: vif<domid>.<devid>-emu, or <vifname>-emu once vif-common.sh renamed it
EMU_GUEST_IF = 'eth1'
TWINS = {'g1': '192.0.2.21', 'g7': '192.0.2.25'}  # the guests whose emulated NIC is tried, and their IPv4 address
BROADCAST = 'ff:ff:ff:ff:ff:ff'
FORGED_MAC = '02:de:ad:00:00:02'


def _wait_up(lab, role, ifname, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        link = json.loads(lab.run(role, ['ip', '-j', 'link', 'show', 'dev', ifname]).stdout)[0]
        if link.get('operstate') == 'UP':
            return
        time.sleep(0.05)
    raise AssertionError('%s of %s is not up after %.0f s' % (ifname, role, timeout))


class EmulatedNic:
    """A guest's emulated NIC for the length of one check: plugged into the bridge, then deleted with its FDB entries."""

    def __init__(self, matrix, guest):
        self.lab = matrix.lab
        self.bridge = matrix.bridge
        self.guest = guest
        self.mac = matrix.lab.guest(guest)['mac']
        self.name = matrix.lab.guest(guest)['vif'] + EMU_SUFFIX

    def __enter__(self):
        lab = self.lab
        lab.run('dom0', ['ip', 'link', 'add', self.name, 'type', 'veth', 'peer', 'name', EMU_GUEST_IF, 'netns', lab.ns(self.guest)])
        # No IPv6 of their own and no ARP answers from eth1: only the frames the checks send cross the twin.
        lab.run('dom0', ['sysctl', '-q', '-w', 'net/ipv6/conf/%s/disable_ipv6=1' % self.name])
        lab.run(self.guest, ['sysctl', '-q', '-w', 'net/ipv6/conf/%s/disable_ipv6=1' % EMU_GUEST_IF,
                             'net/ipv4/conf/%s/arp_ignore=8' % EMU_GUEST_IF])
        lab.run(self.guest, ['ip', 'link', 'set', EMU_GUEST_IF, 'address', self.mac, 'up'])
        lab.run('dom0', ['ip', 'link', 'set', self.name, 'master', self.bridge, 'up'])
        _wait_up(lab, 'dom0', self.name)
        return self

    def __exit__(self, *exc):
        self.lab.run('dom0', ['ip', 'link', 'del', self.name], check=False)
        return False


def emulated_nic(matrix, protected, guest):
    """A guest's emulated NIC carries its own frames and none of its forgeries (without protection, all of them)."""
    mac, mac2, own4 = matrix.lab.guest(guest)['mac'], matrix.g2['mac'], TWINS[guest]
    link_local = 'fe80::' + matrix._eui64_suffix(mac)  # pylint: disable=protected-access

    def udp(src_mac, dst_mac, src, dst, nonce):
        return Ether(src=src_mac, dst=dst_mac) / (IPv6 if ':' in src else IP)(src=src, dst=dst) / UDP(sport=40000, dport=9) / Raw(nonce)
    forged = {
        'forged IPv4 source': lambda nonce: udp(mac, BROADCAST, '192.0.2.99', '255.255.255.255', nonce),
        'forged source MAC': lambda nonce: udp(FORGED_MAC, BROADCAST, own4, '255.255.255.255', nonce),
        "another guest's MAC and IP": lambda nonce: udp(mac2, BROADCAST, '192.0.2.22', '255.255.255.255', nonce),
        "ARP reply claiming another guest's IP": lambda nonce: Ether(src=mac, dst=BROADCAST)
        / ARP(op=2, hwsrc=mac, psrc='192.0.2.22', hwdst=BROADCAST, pdst='192.0.2.1') / Raw(nonce),
        'forged IPv6 source': lambda nonce: udp(mac, '33:33:00:00:00:01', '2001:db8:1::99', 'ff02::1', nonce),
    }
    everywhere = ('g2', 'upstream', 'dom0')
    own = {
        'UDP to g2': (lambda nonce: udp(mac, mac2, own4, '192.0.2.22', nonce), ('g2',)),
        'ARP request': (lambda nonce: Ether(src=mac, dst=BROADCAST) / ARP(op=1, hwsrc=mac, psrc=own4, pdst='192.0.2.22') / Raw(nonce),
                        everywhere),
        'IPv6 to all nodes': (lambda nonce: udp(mac, '33:33:00:00:00:01', link_local, 'ff02::1', nonce), everywhere),
    }
    nonces = dict((name, secrets.token_bytes(16)) for name in list(forged) + list(own))
    with EmulatedNic(matrix, guest) as twin:
        # Its own frames first: the forged ones teach an unprotected bridge g2's MAC on the twin's port.
        frames = [bytes(own[name][0](nonces[name])) for name in own] + [bytes(build(nonces[name])) for name, build in forged.items()]
        matrix.send(guest, frames, EMU_GUEST_IF)
        time.sleep(0.3)
    for name in forged:
        seen = sorted(key for key, receiver in matrix.receivers.items() if receiver.saw(nonces[name]))
        if protected:
            matrix.expect(not seen, '%s through the emulated NIC %s arrives nowhere%s' % (name, twin.name, ': seen by %s' % ', '.join(seen) if seen else ''))
        else:
            matrix.expect(seen == ['dom0', 'g2', 'upstream'], 'without protection, %s through the emulated NIC %s reaches g2, upstream and '
                          'dom0 (seen by %s)' % (name, twin.name, ', '.join(seen) or 'none'))
    for name, (_build, receivers) in own.items():
        for receiver in receivers:
            matrix.expect(matrix.receivers[receiver].saw(nonces[name]), "%s's own %s through the emulated NIC %s reaches %s"
                          % (guest, name, twin.name, receiver))


def unlisted_routed(matrix, protected):
    """g6's vif db-1 is routed like vif-route's, with no policy: nothing it sends reaches dom0."""
    guest = matrix.lab.guest('g6')
    payload = secrets.token_hex(8).encode()
    reached = payload in matrix.received_by_dom0('g6', {('10.0.3.6', guest['mac']): payload})
    if protected:
        matrix.expect(not reached, 'g6 behind the routed vif db-1, which has no policy, does not reach dom0')
    else:
        matrix.expect(reached, 'without protection, g6 behind the routed vif db-1 (no policy) reaches dom0')


def dom0_own(matrix):
    """With every unlisted path closed, dom0's own traffic still flows: over the uplink both ways, and over lo."""
    for source, target in (('upstream', '192.0.2.10'), ('upstream', '2001:db8:1::10'), ('dom0', '192.0.2.1'), ('dom0', '2001:db8:1::1'),
                           ('dom0', '127.0.0.1'), ('dom0', '::1')):
        matrix.expect(matrix.lab.ping(source, target), "dom0's own traffic: ping %s -> %s" % (source, target))


def check(matrix, protected):
    """Every path of this file, in an order that leaves the bridge as the other checks expect it."""
    if protected:
        dom0_own(matrix)
    matrix.unlisted(protected, 'g5')  # web-0: a port no pattern matches
    unlisted_routed(matrix, protected)
    for guest in sorted(TWINS):  # last: the guest's MAC is learned on the twin until it is deleted
        emulated_nic(matrix, protected, guest)
