# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The anti-spoofing packet matrix, with real frames, in a lab built by tests/lab/xenlab.py.

Guest g1 sends each forged frame of issue 5 (crafted with scapy, sent on a
raw socket from g1's namespace) as a broadcast and as a unicast to each
receiver: guest g2, the upstream gateway and dom0 itself (its bridge). Raw
sockets opened in the receivers' namespaces look for the frame's nonce.

  baseline   before any policy: every forged broadcast must arrive, the
             bridge must learn g2's MAC on g1's port from the forgery, and
             conntrack must see bridged traffic. This proves that each check
             below fails when the protection is missing.
  protected  with the policy: no forged frame arrives anywhere, legitimate
             traffic (ICMP, TCP, DHCP discovery, ARP and neighbour
             advertisements for itself, IPv6) passes both ways, the bridge's
             FDB maps every MAC to its own port, conntrack has no entry for
             bridged guest traffic, the routed guest g3 cannot forge its
             source, g1 restarted (vif deleted and recreated) is
             protected at once, and g4, whose vif has no policy, is cut off
             (it reaches g2 in the baseline).

Sockets are opened in a lab namespace by a thread that joined it with
setns(2); a socket stays in the namespace it was made in, so one process
talks in all of them. Nothing is sent outside the lab's namespaces.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import secrets
import socket
import sys
import threading
import time

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import DHCP6_Advertise
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr,
                                ICMPv6NDOptUnknown, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrFragment, HBHOptUnknown, PadN)
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'lab'))
from xenlab import Lab  # noqa: E402 pylint: disable=wrong-import-position
import paths  # noqa: E402 pylint: disable=wrong-import-position

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
LIBC = ctypes.CDLL(None, use_errno=True)
BROADCAST = 'ff:ff:ff:ff:ff:ff'
FORGED_MAC = '02:de:ad:00:00:01'
NEIGHBOUR_RANGE_ADDRESS = '192.0.2.50'  # inside g2's 192.0.2.48/28
SETTLE = 0.3  # seconds for frames in flight to land


class MatrixFailure(AssertionError):
    pass


def in_namespace(namespace, function):
    """Run function in a thread that joined a network namespace; sockets it makes stay there."""
    outcome = {}

    def target():
        handle = os.open('/run/netns/' + namespace, os.O_RDONLY)
        try:
            if LIBC.setns(handle, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), 'setns into %s failed' % namespace)
            outcome['value'] = function()
        except BaseException as error:  # pylint: disable=broad-except
            outcome['error'] = error
        finally:
            os.close(handle)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if 'error' in outcome:
        raise outcome['error']
    return outcome['value']


def packet_socket(namespace, ifname):
    def make():
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        sock.bind((ifname, 0))
        return sock
    return in_namespace(namespace, make)


class Receiver:
    """Collects every frame seen on one interface of one namespace until stopped."""

    def __init__(self, name, namespace, ifname):
        self.name = name
        self.sock = packet_socket(namespace, ifname)
        self.sock.settimeout(0.05)
        self.frames = []
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while self.running:
            try:
                self.frames.append(self.sock.recv(65535))
            except socket.timeout:
                continue
            except OSError:
                return

    def saw(self, nonce):
        return any(nonce in frame for frame in list(self.frames))

    def stop(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class Matrix:
    def __init__(self, lab, bridge):
        self.lab = lab
        self.bridge = bridge
        self.g1, self.g2, self.g3 = (lab.guest(name) for name in ('g1', 'g2', 'g3'))
        state = lab.state
        self.upstream_mac = state['upstream']['mac']
        self.dom0_mac = self._link(self.bridge)['address']
        self.receivers = {}
        self.failures = []

    # ------------------------------------------------------------ plumbing

    def _link(self, ifname):
        return json.loads(self.lab.run('dom0', ['ip', '-j', 'link', 'show', 'dev', ifname]).stdout)[0]

    def start(self):
        self.receivers = {'g2': Receiver('g2', self.lab.ns('g2'), 'eth0'),
                          'upstream': Receiver('upstream', self.lab.ns('upstream'), 'eth0'),
                          'dom0': Receiver('dom0', self.lab.ns('dom0'), self.bridge)}

    def stop(self):
        for receiver in self.receivers.values():
            receiver.stop()

    def expect(self, condition, message):
        if not condition:
            self.failures.append(message)
        print('%s %s' % ('ok  ' if condition else 'FAIL', message))

    def send(self, guest, frames, ifname='eth0'):
        sock = packet_socket(self.lab.ns(guest), ifname)
        try:
            for frame in frames:
                sock.send(frame)
        finally:
            sock.close()

    # ------------------------------------------------------------ frames

    def destinations(self):
        """(receiver that must see it when unprotected, dst MAC, IPv4 dst, IPv6 dst) of each copy."""
        return [(None, BROADCAST, '255.255.255.255', 'ff02::1'),
                ('g2', self.g2['mac'], '192.0.2.22', '2001:db8:1::22'),
                ('upstream', self.upstream_mac, '192.0.2.1', '2001:db8:1::1'),
                ('dom0', self.dom0_mac, '192.0.2.10', '2001:db8:1::10')]

    def forged_cases(self):
        """name -> builder(dst_mac, ip4, ip6, nonce) -> bytes, one per forgery in the issue."""
        mac1, mac2 = self.g1['mac'], self.g2['mac']
        own_ll = 'fe80::' + self._eui64_suffix(mac1)

        def udp4(src_mac, src_ip):
            return lambda dst, ip4, ip6, nonce: bytes(Ether(src=src_mac, dst=dst) / IP(src=src_ip, dst=ip4) / UDP(sport=40000, dport=9) / Raw(nonce))

        def nonce_option(nonce):
            return ICMPv6NDOptUnknown(type=250, len=3, data=nonce + b'\0' * 6)

        def pushed_out(upper):
            """IPv6 frames whose upper-layer header (upper, built from an IPv6 header) is pushed out of the first fragment by a
            destination options header; the first fragment carries the nonce, in an option a receiver skips."""
            def build(dst, ip4, ip6, nonce):
                outer = Ether(src=mac1, dst=dst) / IPv6(src=upper.src, dst=ip6, hlim=255)
                inner = outer / IPv6ExtHdrDestOpt(options=[HBHOptUnknown(otype=0x1e, optdata=nonce), PadN(optdata=b'\0' * 2)]) / upper.payload
                chain = bytes(Ether(bytes(inner))[IPv6].payload)  # checksums over the whole, as the receiver reassembles it
                frames = [outer / IPv6ExtHdrFragment(nh=60, offset=0, m=1, id=0x5e7) / Raw(chain[:24]),
                          outer / IPv6ExtHdrFragment(nh=60, offset=3, m=0, id=0x5e7) / Raw(chain[24:])]
                return [bytes(frame) for frame in frames]
            return build

        def marked(frame):
            """Neighbour discovery in exactly the shape under test, with no room for a nonce: a flow label and MAC drawn from
            the nonce make the IPv6 packet itself the marker the receivers look for."""
            def build(dst, ip4, ip6, nonce):
                raw = bytes(frame(dst, ip6, int.from_bytes(nonce[:3], 'big') & 0xfffff, '02:' + nonce[3:8].hex(':')))
                return raw, raw[14:]
            return build

        return {
            'forged IPv4 source': udp4(mac1, '192.0.2.99'),
            "forged IPv4 source inside a neighbour's range": udp4(mac1, NEIGHBOUR_RANGE_ADDRESS),
            'forged source MAC': udp4(FORGED_MAC, '192.0.2.21'),
            "another guest's MAC and IP together": udp4(mac2, '192.0.2.22'),
            'forged frame addressed to dom0 itself': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IP(src='192.0.2.98', dst='192.0.2.10') / UDP(sport=40000, dport=9) / Raw(nonce)),
            "ARP reply claiming another guest's IP": lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / ARP(op=2, hwsrc=mac1, psrc='192.0.2.22', hwdst=dst, pdst=ip4)) + nonce,
            'gratuitous ARP for the gateway': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / ARP(op=1, hwsrc=mac1, psrc='192.0.2.1', hwdst='00:00:00:00:00:00', pdst='192.0.2.1')) + nonce,
            'forged IPv6 source': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IPv6(src='2001:db8:1::99', dst=ip6) / UDP(sport=40000, dport=9) / Raw(nonce)),
            "neighbour advertisement for another guest's address": lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IPv6(src='2001:db8:1::21', dst=ip6, hlim=255) / ICMPv6ND_NA(tgt='2001:db8:1::22', R=0, S=0, O=1)
                / ICMPv6NDOptDstLLAddr(lladdr=mac1) / nonce_option(nonce)),
            'router advertisement': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IPv6(src=own_ll, dst=ip6, hlim=255) / ICMPv6ND_RA(routerlifetime=0)
                / ICMPv6NDOptPrefixInfo(prefix='2001:db8:bad::', prefixlen=64, L=0, A=0) / nonce_option(nonce)),
            'DHCP offer from a guest': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IP(src='192.0.2.21', dst=ip4) / UDP(sport=67, dport=68)
                / BOOTP(op=2, yiaddr='192.0.2.77', siaddr='192.0.2.21', chaddr=bytes.fromhex(mac2.replace(':', '')))
                / DHCP(options=[('message-type', 'offer'), ('server_id', '192.0.2.21'), 'end']) / Raw(nonce)),
            'DHCPv6 advertise from a guest': lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IPv6(src=own_ll, dst=ip6) / UDP(sport=547, dport=546) / DHCP6_Advertise(trid=7) / Raw(nonce)),
            'non-IP ethertype (0x88b5)': lambda dst, ip4, ip6, nonce: bytes(Ether(src=mac1, dst=dst, type=0x88b5) / Raw(nonce)),
            'router advertisement pushed out of the first fragment': pushed_out(
                IPv6(src=own_ll) / ICMPv6ND_RA(routerlifetime=1800) / ICMPv6NDOptPrefixInfo(prefix='2001:db8:bad::', prefixlen=64)),
            "neighbour advertisement for another guest's address pushed out of the first fragment": pushed_out(
                IPv6(src='2001:db8:1::21') / ICMPv6ND_NA(tgt='2001:db8:1::22', R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac1)),
            'DHCPv6 advertise pushed out of the first fragment': pushed_out(
                IPv6(src=own_ll) / UDP(sport=547, dport=546) / DHCP6_Advertise(trid=7)),
            'neighbour advertisement with a forged second target link-layer option': marked(lambda dst, ip6, label, forged: (
                Ether(src=mac1, dst=dst) / IPv6(src='2001:db8:1::21', dst=ip6, hlim=255, fl=label) / ICMPv6ND_NA(tgt='2001:db8:1::21', R=0, S=0, O=1)
                / ICMPv6NDOptDstLLAddr(lladdr=mac1) / ICMPv6NDOptDstLLAddr(lladdr=forged))),
            'neighbour solicitation with a forged source link-layer option after a good one': marked(lambda dst, ip6, label, forged: (
                Ether(src=mac1, dst=dst) / IPv6(src='2001:db8:1::21', dst=ip6, hlim=255, fl=label) / ICMPv6ND_NS(tgt='2001:db8:1::22')
                / ICMPv6NDOptSrcLLAddr(lladdr=mac1) / ICMPv6NDOptSrcLLAddr(lladdr=forged))),
            'router solicitation with a forged source link-layer option': marked(lambda dst, ip6, label, forged: (
                Ether(src=mac1, dst=dst) / IPv6(src=own_ll, dst=ip6, hlim=255, fl=label) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=forged))),
            "DHCP discover naming another guest's MAC (chaddr)": lambda dst, ip4, ip6, nonce: bytes(
                Ether(src=mac1, dst=dst) / IP(src='0.0.0.0', dst=ip4) / UDP(sport=68, dport=67)
                / BOOTP(op=1, chaddr=bytes.fromhex(mac2.replace(':', ''))) / DHCP(options=[('message-type', 'discover'), 'end']) / Raw(nonce)),
            "DHCP discover naming another guest's MAC in a second fragment": self._dhcp_fragments(mac1, mac2),
        }

    @staticmethod
    def _dhcp_fragments(mac, chaddr):
        """A DHCP discover split after 40 bytes of UDP, before chaddr; the nonce fills ciaddr to giaddr of the first fragment.
        (Where fragments are reassembled before the filter, as with the iptables backend, chaddr is checked whole.)"""
        def build(dst, ip4, ip6, nonce):
            addresses = [socket.inet_ntoa(nonce[start:start + 4]) for start in range(0, 16, 4)]
            whole = Ether(bytes(Ether(src=mac, dst=dst) / IP(src='0.0.0.0', dst=ip4, id=0x5e7) / UDP(sport=68, dport=67)
                                / BOOTP(op=1, ciaddr=addresses[0], yiaddr=addresses[1], siaddr=addresses[2], giaddr=addresses[3],
                                        chaddr=bytes.fromhex(chaddr.replace(':', ''))) / DHCP(options=[('message-type', 'discover'), 'end'])))
            data = bytes(whole[IP].payload)
            first = Ether(src=mac, dst=dst) / IP(src='0.0.0.0', dst=ip4, id=0x5e7, proto=17, flags='MF', frag=0) / Raw(data[:40])
            second = Ether(src=mac, dst=dst) / IP(src='0.0.0.0', dst=ip4, id=0x5e7, proto=17, frag=5) / Raw(data[40:])
            return [bytes(first), bytes(second)]
        return build

    @staticmethod
    def _eui64_suffix(mac):
        octets = [int(part, 16) for part in mac.split(':')]
        octets[0] ^= 0x02
        eui = octets[:3] + [0xff, 0xfe] + octets[3:]
        return ':'.join('%x' % (eui[i] << 8 | eui[i + 1]) for i in range(0, 8, 2))

    # ------------------------------------------------------------ checks

    @staticmethod
    def built(built, nonce):
        """([frames], what receivers look for) from a builder's result: a frame, a list of them, or (frame, marker)."""
        frames, marker = built if isinstance(built, tuple) else (built, nonce)
        return (frames if isinstance(frames, list) else [frames]), marker

    def forged(self, protected, cases=None):
        """Send every forged frame to every destination; check where it arrived."""
        builders = self.forged_cases()
        sent = []
        for name in cases or sorted(builders):
            for receiver, dst, ip4, ip6 in self.destinations():
                nonce = secrets.token_bytes(16)
                frames, marker = self.built(builders[name](dst, ip4, ip6, nonce), nonce)
                sent.append((name, receiver, marker))
                self.send('g1', frames)
        time.sleep(SETTLE)
        for name, receiver, nonce in sent:
            seen = [key for key, rec in self.receivers.items() if rec.saw(nonce)]
            copy = 'broadcast' if receiver is None else 'unicast to %s' % receiver
            if protected:
                self.expect(not seen, '%s (%s) arrives nowhere%s' % (name, copy, '' if not seen else ': seen by ' + ', '.join(seen)))
            elif receiver is None:
                self.expect(sorted(seen) == ['dom0', 'g2', 'upstream'], 'without protection, %s (%s) reaches g2, upstream and dom0 (seen by %s)'
                            % (name, copy, ', '.join(seen) or 'none'))
            elif receiver != 'g2':  # g2's own MAC is soon hijacked onto g1's port by the forgeries, by design
                self.expect(receiver in seen, 'without protection, %s (%s) reaches %s' % (name, copy, receiver))

    def legitimate(self):
        """g1's own traffic passes, both ways, across the bridge and to dom0."""
        for source, target in (('g1', '192.0.2.22'), ('g2', '192.0.2.21'), ('g1', '192.0.2.1'), ('upstream', '192.0.2.21'),
                               ('g1', '192.0.2.10'), ('dom0', '192.0.2.21'), ('g1', '2001:db8:1::22'), ('g2', '2001:db8:1::21'),
                               ('upstream', '2001:db8:1::21'), ('g1', '2001:db8:1::10')):
            self.expect(self.lab.ping(source, target), 'ping %s -> %s' % (source, target))
        link_local = 'fe80::%s%%eth0' % self._eui64_suffix(self.g2['mac'])
        self.expect(self.lab.ping('g1', link_local), 'ping g1 -> g2 link-local %s' % link_local)
        self.expect(self.tcp('g1', 'g2', '192.0.2.22'), 'TCP g1 -> g2')
        self.expect(self.tcp('g2', 'g1', '192.0.2.21'), 'TCP g2 -> g1')
        self.expect(self.tcp('g1', 'g2', '2001:db8:1::22'), 'TCP over IPv6 g1 -> g2')
        self.own_frames()

    def own_frames(self):
        """Frames a guest legitimately sends about itself arrive where they are addressed.

        Neighbour discovery keeps the one shape the filter accepts (no option, or one link-layer address option with
        the guest's own MAC), so a random flow label marks it and the IPv6 packet is what the receivers look for. It
        goes to all nodes, which a bridge floods whatever multicast groups it has learned.
        """
        mac1 = self.g1['mac']
        own_ll = 'fe80::' + self._eui64_suffix(mac1)
        names = ('dhcp', 'arp', 'garp', 'na', 'na-bare', 'ns', 'dad', 'rs', 'udp')
        nonces = {name: secrets.token_bytes(16) for name in names}

        def all_nodes(source='2001:db8:1::21'):
            return Ether(src=mac1, dst='33:33:00:00:00:01') / IPv6(src=source, dst='ff02::1', hlim=255, fl=secrets.randbits(20))
        frames = [
            bytes(Ether(src=mac1, dst=BROADCAST) / IP(src='0.0.0.0', dst='255.255.255.255') / UDP(sport=68, dport=67)
                  / BOOTP(op=1, chaddr=bytes.fromhex(mac1.replace(':', ''))) / DHCP(options=[('message-type', 'discover'), 'end'])
                  / Raw(nonces['dhcp'])),
            bytes(Ether(src=mac1, dst=BROADCAST) / ARP(op=1, hwsrc=mac1, psrc='192.0.2.21', pdst='192.0.2.22')) + nonces['arp'],
            bytes(Ether(src=mac1, dst=BROADCAST) / ARP(op=1, hwsrc=mac1, psrc='192.0.2.21', pdst='192.0.2.21')) + nonces['garp'],
            all_nodes() / ICMPv6ND_NA(tgt='2001:db8:1::21', R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=mac1),
            all_nodes() / ICMPv6ND_NA(tgt='2001:db8:1::21', R=0, S=0, O=1),
            all_nodes() / ICMPv6ND_NS(tgt='2001:db8:1::22') / ICMPv6NDOptSrcLLAddr(lladdr=mac1),
            # Duplicate address detection as Linux sends it (enhanced_dad): from ::, one nonce option (RFC 7527).
            all_nodes('::') / ICMPv6ND_NS(tgt='2001:db8:1::21') / ICMPv6NDOptUnknown(type=14, len=1, data=secrets.token_bytes(6)),
            all_nodes(own_ll) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=mac1),
            bytes(Ether(src=mac1, dst=self.g2['mac']) / IP(src='192.0.2.21', dst='192.0.2.22') / UDP(sport=40000, dport=9) / Raw(nonces['udp'])),
        ]
        frames = [bytes(frame) for frame in frames]
        for name, frame in zip(('na', 'na-bare', 'ns', 'dad', 'rs'), frames[3:8]):
            nonces[name] = frame[14:]
        self.send('g1', frames)
        time.sleep(SETTLE)
        everywhere = ('g2', 'upstream', 'dom0')
        for name, receivers in (('dhcp', everywhere), ('arp', ('g2',)), ('garp', everywhere), ('na', everywhere), ('na-bare', everywhere),
                                ('ns', everywhere), ('dad', everywhere), ('rs', everywhere), ('udp', ('g2',))):
            for receiver in receivers:
                self.expect(self.receivers[receiver].saw(nonces[name]), 'own %s frame of g1 reaches %s' % (name, receiver))

    def kernel_neighbour_discovery(self):
        """The guests' own kernels still find each other: duplicate address detection (Linux's NS from :: with a nonce)
        completes without a conflict, and fragmented IPv6 (the header in the first fragment) passes."""
        self.lab.run('g1', ['ip', '-6', 'addr', 'del', '2001:db8:1::21/64', 'dev', 'eth0'])
        self.lab.run('g1', ['ip', '-6', 'addr', 'add', '2001:db8:1::21/64', 'dev', 'eth0'])
        deadline = time.monotonic() + 5
        flags = []
        while time.monotonic() < deadline:
            entries = json.loads(self.lab.run('g1', ['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0']).stdout)[0]['addr_info']
            flags = [entry for entry in entries if entry.get('local') == '2001:db8:1::21']
            if flags and not flags[0].get('tentative'):
                break
            time.sleep(0.2)
        self.expect(bool(flags) and not flags[0].get('tentative') and not flags[0].get('dadfailed'),
                    "g1's address passes duplicate address detection again (%s)" % flags)
        for guest in ('g1', 'g2'):
            self.lab.run(guest, ['ip', '-6', 'neigh', 'flush', 'dev', 'eth0'], check=False)
        self.expect(self.lab.ping('g1', '2001:db8:1::22'), 'ping g1 -> g2 after both forgot their neighbours (NS and NA by the kernels)')
        big = self.lab.run('g1', ['ping', '-6', '-c', '1', '-W', '2', '-s', '3000', '2001:db8:1::22'], check=False)
        self.expect(big.returncode == 0, 'a fragmented ping g1 -> g2 (3000 bytes) passes')

    def tcp(self, client, server, address):
        family = socket.AF_INET6 if ':' in address else socket.AF_INET

        def listen():
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.bind((address, 0))
            sock.listen(1)
            sock.settimeout(3)
            return sock
        listener = in_namespace(self.lab.ns(server), listen)
        port = listener.getsockname()[1]
        connector = in_namespace(self.lab.ns(client), lambda: socket.socket(family, socket.SOCK_STREAM))
        connector.settimeout(3)
        try:
            connector.connect((address, port))
            peer, _address = listener.accept()
            connector.sendall(b'hello over the bridge')
            data = peer.recv(100)
            peer.sendall(data.upper())
            return connector.recv(100) == b'HELLO OVER THE BRIDGE'
        except OSError as error:
            print('     TCP %s -> %s: %s' % (client, address, error))
            return False
        finally:
            connector.close()
            listener.close()

    def fdb(self, protected):
        """The bridge's forwarding database right after g1 sent a frame from g2's MAC.

        The bridge learns source MACs after the prerouting hook: a forged frame dropped later (in forward)
        would still have moved g2's MAC onto g1's port, and g2's traffic with it.
        """
        forge = self.forged_cases()["another guest's MAC and IP together"]
        hijacked = []
        for _attempt in range(5):  # g2 may speak up (ND, ARP) and re-teach its MAC in between: try several times
            self.send('g1', [forge(BROADCAST, '255.255.255.255', 'ff02::1', secrets.token_bytes(16)),
                             forge(self.upstream_mac, '192.0.2.1', '2001:db8:1::1', secrets.token_bytes(16))])
            time.sleep(0.005)
            ports = self.fdb_ports()
            hijacked.append(self.g1['vif'] in ports.get(self.g2['mac'], ()))
        if not protected:
            self.expect(any(hijacked), "without protection, forged frames teach the bridge g2's MAC on g1's port (%d of 5 tries)" % sum(hijacked))
            return
        self.expect(not any(hijacked), "the bridge never learned g2's MAC on g1's port (%d of 5 tries)" % sum(hijacked))
        for mac, port in ((self.g1['mac'], self.g1['vif']), (self.g2['mac'], self.g2['vif']), (self.upstream_mac, 'eth0')):
            self.expect(ports.get(mac) == {port}, 'FDB maps %s to %s only (%s)' % (mac, port, sorted(ports.get(mac, ()))))
        self.expect(FORGED_MAC not in ports, 'FDB never learned the forged MAC %s' % FORGED_MAC)

    def fdb_ports(self):
        """{MAC: set of ports} of the bridge's learned (not permanent) FDB entries."""
        ports = {}
        for entry in json.loads(self.lab.run('dom0', ['bridge', '-j', 'fdb', 'show', 'br', self.bridge]).stdout):
            if 'self' not in entry.get('flags', []) and entry.get('state') != 'permanent' and not entry.get('vlan'):
                ports.setdefault(entry['mac'], set()).add(entry['ifname'])
        return ports

    def conntrack(self, protected):
        """Bridged guest flows (g1 to g2 and to upstream, IPv4 and IPv6, from ports of their own) leave no conntrack entry."""
        flows = (('192.0.2.22', socket.AF_INET), ('192.0.2.1', socket.AF_INET), ('2001:db8:1::22', socket.AF_INET6))
        ports = []
        for address, family in flows:
            sock = in_namespace(self.lab.ns('g1'), lambda family=family: socket.socket(family, socket.SOCK_DGRAM))
            sock.bind(('', 0))
            ports.append(sock.getsockname()[1])
            sock.sendto(b'tracked?', (address, 9))
            sock.close()
        time.sleep(SETTLE)
        text = self.lab.run('dom0', ['cat', '/proc/net/nf_conntrack']).stdout
        tracked = [line for line in text.splitlines() if any(' sport=%d ' % port in line for port in ports)]
        if protected:
            self.expect(not tracked, 'no conntrack entry for bridged guest traffic%s' % ('' if not tracked else ': ' + tracked[0]))
        else:
            self.expect(len(tracked) == len(flows), 'without protection, conntrack tracks bridged guest traffic (%d of %d flows seen)'
                        % (len(tracked), len(flows)))

    def received_by_dom0(self, guest, messages):
        """Which payloads of {(source, mac): payload} dom0's UDP socket on 192.0.2.10 receives when a routed guest sends them."""
        def listen():
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(('192.0.2.10', 0))
            sock.settimeout(0.5)
            return sock
        listener = in_namespace(self.lab.ns('dom0'), listen)
        port = listener.getsockname()[1]
        vif_mac = self._link(self.lab.guest(guest)['vif'])['address']
        for (source, mac), payload in messages.items():
            self.send(guest, [bytes(Ether(src=mac, dst=vif_mac) / IP(src=source, dst='192.0.2.10') / UDP(sport=40001, dport=port) / Raw(payload))])
        received = set()
        try:
            while True:
                received.add(listener.recv(100))
        except socket.timeout:
            pass
        listener.close()
        return received

    def routed(self, protected):
        """g3 sits behind a routed vif (vif-route): dom0 receives only what g3 sends from its own address."""
        mac3 = self.g3['mac']
        messages = dict(((source, mac), secrets.token_hex(8).encode())
                        for source, mac in (('10.0.3.5', mac3), ('10.0.3.99', mac3), ('10.0.3.5', FORGED_MAC)))
        received = self.received_by_dom0('g3', messages)
        self.expect(messages[('10.0.3.5', mac3)] in received, 'routed g3 reaches dom0 from its own address')
        for key in (('10.0.3.99', mac3), ('10.0.3.5', FORGED_MAC)):
            arrived = messages[key] in received
            if protected:
                self.expect(not arrived, 'routed g3 forging source %s / MAC %s does not reach dom0' % key)
            else:
                self.expect(arrived, 'without protection, routed g3 forging %s / %s reaches dom0' % key)

    def forget_poisoned_neighbours(self):
        """The unprotected run poisoned ARP and neighbour caches and the bridge's FDB (that was the point);
        start the next run clean."""
        # Every guest: a forged ARP reply for g2's address rewrites the entry any guest that pinged g2 keeps (g4, g5).
        for role in ['dom0', 'upstream'] + [guest['name'] for guest in self.lab.spec['guests']]:
            for family in ('-4', '-6'):
                self.lab.run(role, ['ip', family, 'neigh', 'flush', 'all'], check=False)
        for entry in json.loads(self.lab.run('dom0', ['bridge', '-j', 'fdb', 'show', 'br', self.bridge]).stdout):
            if entry.get('state') != 'permanent' and 'self' not in entry.get('flags', []):
                self.lab.run('dom0', ['bridge', 'fdb', 'del', entry['mac'], 'dev', entry['ifname'], 'master'], check=False)

    def unlisted(self, protected, guest='g4'):
        """A guest whose vif has no policy (g4's matches vif*, g5's web-0 no pattern): secure by default, its frames are dropped."""
        vif = self.lab.guest(guest)['vif']
        reached = self.lab.ping(guest, '192.0.2.22', timeout=1)
        if protected:
            self.expect(not reached, '%s, whose vif %s has no policy, cannot reach g2' % (guest, vif))
        else:
            self.expect(reached, 'without protection, %s (vif %s, no policy) reaches g2' % (guest, vif))

    def restart(self):
        """A guest restarted (vif deleted and recreated, same name) is protected before anything reruns."""
        self.lab.restart_guest('g1', replug=True)
        self.forged(True, cases=['forged IPv4 source', 'forged source MAC', "another guest's MAC and IP together",
                                 "ARP reply claiming another guest's IP"])
        self.expect(self.lab.ping('g1', '192.0.2.22'), 'restarted g1 still reaches g2')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--workdir', required=True)
    parser.add_argument('--bridge', default='xenbr0')
    parser.add_argument('mode', choices=['baseline', 'protected'])
    args = parser.parse_args(argv)
    started = time.monotonic()
    matrix = Matrix(Lab.attach(args.workdir), args.bridge)
    protected = args.mode == 'protected'
    matrix.start()
    try:
        if protected:
            matrix.legitimate()  # first: the bridge learns every MAC on its own port
            matrix.kernel_neighbour_discovery()
            matrix.forged(True)
            matrix.fdb(True)
            matrix.conntrack(True)
            matrix.routed(True)
            matrix.unlisted(True)
            paths.check(matrix, True)  # the emulated NIC, unlisted ports and routed vifs whatever their names, dom0's own traffic
            matrix.restart()  # only g1's side changes; the receivers (g2, upstream, dom0) keep running
        else:
            matrix.conntrack(False)
            matrix.forged(False)
            matrix.fdb(False)
            matrix.routed(False)
            matrix.unlisted(False)
            paths.check(matrix, False)
            matrix.forget_poisoned_neighbours()
    finally:
        matrix.stop()
    print('%s: %d failure(s) in %.1f s' % (args.mode, len(matrix.failures), time.monotonic() - started))
    return 1 if matrix.failures else 0


if __name__ == '__main__':
    sys.exit(main())
