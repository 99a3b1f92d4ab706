# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The paths around the filter (issue 18, items 1 and 2), for the packet matrix of antispoof_matrix.py.

  emulated NIC   an HVM guest's second device: xl plugs the tap QEMU makes for
                 its emulated NIC into the vif's bridge as <vif>-emu. A veth
                 named vif1.0-emu, whose other end is g1's eth1 (same MAC),
                 stands in for it; g1 forges MAC, ARP, IPv4 and IPv6 through
                 it, and sends its own frames.
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
import socket
import time

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

EMU_VIF = 'vif1.0-emu'  # xl's name for the emulated NIC of vif1.0 (libxl: vif<domid>.<devid>-emu)
EMU_GUEST_IF = 'eth1'
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
    """g1's emulated NIC for the length of one check: plugged into the bridge, then deleted with its FDB entries."""

    def __init__(self, matrix):
        self.lab = matrix.lab
        self.bridge = matrix.bridge
        self.mac = matrix.g1['mac']

    def __enter__(self):
        lab = self.lab
        lab.run('dom0', ['ip', 'link', 'add', EMU_VIF, 'type', 'veth', 'peer', 'name', EMU_GUEST_IF, 'netns', lab.ns('g1')])
        # No IPv6 of their own and no ARP answers from eth1: only the frames the checks send cross the twin.
        lab.run('dom0', ['sysctl', '-q', '-w', 'net/ipv6/conf/%s/disable_ipv6=1' % EMU_VIF])
        lab.run('g1', ['sysctl', '-q', '-w', 'net/ipv6/conf/%s/disable_ipv6=1' % EMU_GUEST_IF, 'net/ipv4/conf/%s/arp_ignore=8' % EMU_GUEST_IF])
        lab.run('g1', ['ip', 'link', 'set', EMU_GUEST_IF, 'address', self.mac, 'up'])
        lab.run('dom0', ['ip', 'link', 'set', EMU_VIF, 'master', self.bridge, 'up'])
        _wait_up(lab, 'dom0', EMU_VIF)
        return self

    def __exit__(self, *exc):
        self.lab.run('dom0', ['ip', 'link', 'del', EMU_VIF], check=False)
        return False


def _send(matrix, role, ifname, frames):
    from antispoof_matrix import packet_socket  # pylint: disable=import-outside-toplevel
    sock = packet_socket(matrix.lab.ns(role), ifname)
    try:
        for frame in frames:
            sock.send(frame)
    finally:
        sock.close()


def emulated_nic(matrix, protected):
    """g1's emulated NIC carries g1's own frames and none of its forgeries (without protection, all of them)."""
    mac1, mac2 = matrix.g1['mac'], matrix.g2['mac']
    forged = {
        'forged IPv4 source': lambda nonce: Ether(src=mac1, dst=BROADCAST) / IP(src='192.0.2.99', dst='255.255.255.255')
        / UDP(sport=40000, dport=9) / Raw(nonce),
        'forged source MAC': lambda nonce: Ether(src=FORGED_MAC, dst=BROADCAST) / IP(src='192.0.2.21', dst='255.255.255.255')
        / UDP(sport=40000, dport=9) / Raw(nonce),
        "another guest's MAC and IP": lambda nonce: Ether(src=mac2, dst=BROADCAST) / IP(src='192.0.2.22', dst='255.255.255.255')
        / UDP(sport=40000, dport=9) / Raw(nonce),
        "ARP reply claiming another guest's IP": lambda nonce: Ether(src=mac1, dst=BROADCAST)
        / ARP(op=2, hwsrc=mac1, psrc='192.0.2.22', hwdst=BROADCAST, pdst='192.0.2.1') / Raw(nonce),
        'forged IPv6 source': lambda nonce: Ether(src=mac1, dst='33:33:00:00:00:01') / IPv6(src='2001:db8:1::99', dst='ff02::1')
        / UDP(sport=40000, dport=9) / Raw(nonce),
    }
    own = {
        'own UDP to g2': (lambda nonce: Ether(src=mac1, dst=mac2) / IP(src='192.0.2.21', dst='192.0.2.22') / UDP(sport=40000, dport=9)
                          / Raw(nonce), ('g2',)),
        'own ARP request': (lambda nonce: Ether(src=mac1, dst=BROADCAST) / ARP(op=1, hwsrc=mac1, psrc='192.0.2.21', pdst='192.0.2.22')
                            / Raw(nonce), ('g2', 'upstream', 'dom0')),
        'own IPv6 to all nodes': (lambda nonce: Ether(src=mac1, dst='33:33:00:00:00:01') / IPv6(src='2001:db8:1::21', dst='ff02::1')
                                  / UDP(sport=40000, dport=9) / Raw(nonce), ('g2', 'upstream', 'dom0')),
    }
    nonces = dict((name, secrets.token_bytes(16)) for name in list(forged) + list(own))
    with EmulatedNic(matrix):
        # Its own frames first: the forged ones teach an unprotected bridge g2's MAC on the twin's port.
        frames = [bytes(own[name][0](nonces[name])) for name in own] + [bytes(build(nonces[name])) for name, build in forged.items()]
        _send(matrix, 'g1', EMU_GUEST_IF, frames)
        time.sleep(0.3)
    for name in forged:
        seen = sorted(key for key, receiver in matrix.receivers.items() if receiver.saw(nonces[name]))
        if protected:
            matrix.expect(not seen, '%s through the emulated NIC %s arrives nowhere%s' % (name, EMU_VIF, ': seen by %s' % ', '.join(seen) if seen else ''))
        else:
            matrix.expect(seen == ['dom0', 'g2', 'upstream'], 'without protection, %s through the emulated NIC %s reaches g2, upstream and '
                          'dom0 (seen by %s)' % (name, EMU_VIF, ', '.join(seen) or 'none'))
    for name, (_build, receivers) in own.items():
        for receiver in receivers:
            matrix.expect(matrix.receivers[receiver].saw(nonces[name]), "g1's %s through the emulated NIC %s reaches %s" % (name, EMU_VIF, receiver))


def unlisted_port(matrix, protected):
    """g5's vif web-0 is a port of xenbr0 with no policy and a name no pattern matches."""
    reached = matrix.lab.ping('g5', '192.0.2.22', timeout=1)
    if protected:
        matrix.expect(not reached, 'g5, whose port web-0 has no policy (and matches no vif pattern), cannot reach g2')
    else:
        matrix.expect(reached, 'without protection, g5 (port web-0, no policy) reaches g2')


def unlisted_routed(matrix, protected):
    """g6's vif db-1 is routed like vif-route's, with no policy: nothing it sends reaches dom0."""
    def listen():
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(('192.0.2.10', 0))
        sock.settimeout(0.5)
        return sock
    from antispoof_matrix import in_namespace  # pylint: disable=import-outside-toplevel
    listener = in_namespace(matrix.lab.ns('dom0'), listen)
    guest = matrix.lab.guest('g6')
    vif_mac = json.loads(matrix.lab.run('dom0', ['ip', '-j', 'link', 'show', 'dev', guest['vif']]).stdout)[0]['address']
    payload = secrets.token_hex(8).encode()
    frame = Ether(src=guest['mac'], dst=vif_mac) / IP(src='10.0.3.6', dst='192.0.2.10') / UDP(sport=40002, dport=listener.getsockname()[1]) / Raw(payload)
    _send(matrix, 'g6', 'eth0', [bytes(frame)])
    received = set()
    try:
        while True:
            received.add(listener.recv(100))
    except socket.timeout:
        pass
    finally:
        listener.close()
    if protected:
        matrix.expect(payload not in received, 'g6 behind the routed vif db-1, which has no policy, does not reach dom0')
    else:
        matrix.expect(payload in received, 'without protection, g6 behind the routed vif db-1 (no policy) reaches dom0')


def dom0_own(matrix):
    """With every unlisted path closed, dom0's own traffic still flows: over the uplink both ways, and over lo."""
    for source, target in (('upstream', '192.0.2.10'), ('upstream', '2001:db8:1::10'), ('dom0', '192.0.2.1'), ('dom0', '2001:db8:1::1'),
                           ('dom0', '127.0.0.1'), ('dom0', '::1')):
        matrix.expect(matrix.lab.ping(source, target), "dom0's own traffic: ping %s -> %s" % (source, target))


def check(matrix, protected):
    """Every path of this file, in an order that leaves the bridge as the other checks expect it."""
    if protected:
        dom0_own(matrix)
    unlisted_port(matrix, protected)
    unlisted_routed(matrix, protected)
    emulated_nic(matrix, protected)  # last: g1's MAC is learned on the twin until it is deleted
