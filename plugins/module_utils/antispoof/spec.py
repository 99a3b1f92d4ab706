# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The anti-spoofing policy of a dom0's vifs, validated and normalized.

Private to the collection: may change without notice.
Validation needs no host: every error names the field, the value and the
rule, and all errors are reported together before anything changes. The
normalized policy is what both backends render: addresses split into single
hosts and networks (so the nftables backend keeps hosts in hash sets whose
lookup cost does not grow with the number of guests), the IPv6 link-local
address derived from every allowed MAC, ethertypes as numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import gc
import ipaddress
import re
import socket

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    ETHERTYPE_NUMBERS, ETHERTYPES, Claims, InvalidSpec, emulated_twin, ethertype_problems, interface_name_problems,
    interface_pattern_problems, is_interface_name, is_unicast_mac, link_local, link_local_from_mac, mac_problems, parse_ethertype)

__all__ = ['AntispoofSpec', 'InvalidSpec', 'VifPolicy', 'ETHERTYPES', 'link_local_from_mac']

DEFAULT_ETHERTYPES = ('ipv4', 'arp', 'ipv6')
DEFAULT_VIF_PATTERNS = ('vif*', 'tap*')
BACKENDS = ('nftables', 'iptables')

# Fast paths. Validating thousands of vifs through ipaddress costs tens of microseconds each, so the
# usual spellings are recognised and converted at C speed (inet_pton); every other spelling, and
# every value with a problem, still goes through ipaddress, so what is accepted and every message
# stay the same. Only text already in the form str() of an ipaddress object gives (no leading zeros,
# lower case, '::' for the longest run of two or more zero groups) is taken, and kept as it is.
# Measured at 5000 vifs (bench/bench_validate.py): ipaddress.ip_network costs 18.9 ms for their IPv4
# addresses and 34.6 ms for their IPv6 ones, inet_pton 1.1 ms and 1.3 ms; the whole validation takes
# about 45 ms, so without these it would take twice as long.
PREFIX_LENGTHS = {4: dict((str(length), length) for length in range(33)), 6: dict((str(length), length) for length in range(129))}
_GROUP = r'[1-9a-f][0-9a-f]{0,3}'  # no '0' group: the only zero groups are the ones '::' stands for
PLAIN_IPV6 = re.compile(r'(?:%(g)s(?::%(g)s)*)?(?:::(?:%(g)s(?::%(g)s)*)?)?' % {'g': _GROUP})
DEFAULT_ETHERTYPE_NAMES = list(DEFAULT_ETHERTYPES)  # the module's default, so the usual value
DEFAULT_ETHERTYPE_NUMBERS = sorted(ETHERTYPES[name] for name in DEFAULT_ETHERTYPES)


def _link_local_block(mac):
    """The block of the link-local address a guest derives from its MAC."""
    number, text = link_local(mac)
    return (number, number, 128, text)


# A block is one address or network as the renderers need it: (first, last, prefix length, text),
# the numbers as ints and the text as str() of ipaddress gives it (no '/32' or '/128' for one address).

def _block(network):
    """The block of an ipaddress network."""
    single = network.prefixlen == network.max_prefixlen
    return (int(network.network_address), int(network.broadcast_address), network.prefixlen,
            str(network.network_address) if single else str(network))


def _ip_network(block, version):
    """The ipaddress network of a block, read back from its text so that an IPv6 scope id stays."""
    return (ipaddress.IPv4Network if version == 4 else ipaddress.IPv6Network)(block[3])


def _plain_ipv4_block(text):
    """The block of a usual IPv4 address or network a guest may own, or None: then ipaddress decides."""
    address, slash, length = text.partition('/')
    prefixlen = PREFIX_LENGTHS[4].get(length) if slash else 32
    if prefixlen is None:
        return None
    try:
        packed = socket.inet_pton(socket.AF_INET, address)
    except (OSError, ValueError):
        return None
    if socket.inet_ntop(socket.AF_INET, packed) != address:
        return None  # not the dotted quad str() writes: some platforms' inet_pton take 010.0.0.1, which ipaddress refuses
    first = int.from_bytes(packed, 'big')
    host_bits = (1 << (32 - prefixlen)) - 1
    if first & host_bits or first >> 28 == 0xe or first >> 24 == 127 or first in (0, 0xffffffff):
        return None  # host bits set, multicast, loopback, unspecified or broadcast: ipaddress words the problem
    return (first, first | host_bits, prefixlen, address if prefixlen == 32 else text)


def _plain_ipv6_block(text):
    """The block of a usual IPv6 address or network a guest may own, or None: then ipaddress decides."""
    address, slash, length = text.partition('/')
    prefixlen = PREFIX_LENGTHS[6].get(length) if slash else 128
    if prefixlen is None or PLAIN_IPV6.fullmatch(address) is None:
        return None
    parts = address.split(':')
    groups = len(parts) - parts.count('')
    compressed = '::' in address
    if (compressed and groups > 6) or (not compressed and groups != 8):
        return None  # too few or too many groups, or a '::' for one zero group, which str() writes as 0
    first = int.from_bytes(socket.inet_pton(socket.AF_INET6, address), 'big')
    host_bits = (1 << (128 - prefixlen)) - 1
    # Besides host bits and multicast, ::/96 (unspecified, loopback) and the IPv4-mapped ::ffff:0:0/96
    # go to ipaddress: newer Pythons print and judge IPv4-mapped addresses as their IPv4 address.
    if first & host_bits or first >> 120 == 0xff or first >> 96 == 0 or first >> 32 == 0xffff:
        return None
    return (first, first | host_bits, prefixlen, address if prefixlen == 128 else text)


PLAIN_BLOCK = {4: _plain_ipv4_block, 6: _plain_ipv6_block}


def _network(field, text, version):
    """(network, problem): one address or a network with its host bits clear."""
    try:
        network = ipaddress.ip_network(text, strict=True)
    except ValueError as error:
        if '/' in text and 'has host bits set' in str(error):
            address, length = text.split('/', 1)
            base = ipaddress.ip_network(text, strict=False).network_address
            return None, "%s '%s' has host bits set; write %s for one address or %s/%s for the network" % (
                field, text, address, base, length)
        return None, "%s '%s' is not an IPv%d address or network" % (field, text, version)
    if network.version != version:
        return None, "%s '%s' is an IPv%d address; this list takes IPv%d" % (field, text, network.version, version)
    address = network.network_address
    if address.is_multicast or address.is_loopback or address.is_unspecified or (version == 4 and address == ipaddress.IPv4Address('255.255.255.255')):
        return None, "%s '%s' is a multicast, loopback, broadcast or unspecified address; a guest cannot own it" % (field, text)
    return network, None


def _collapsed(blocks, version):
    """Sorted, with addresses inside another listed network folded into it (sets refuse overlaps)."""
    if len(blocks) < 2:
        return blocks
    ordered = sorted(blocks)
    previous = ordered[0]
    for current in ordered[1:]:
        if current[0] <= previous[1]:
            return [_block(network) for network in sorted(ipaddress.collapse_addresses([_ip_network(block, version) for block in blocks]))]
        previous = current
    return ordered


def _text_and_numbers(blocks, bits):
    """(hosts, nets, numbers) of the blocks of bits-bit addresses: the text of single addresses, of
    wider networks, and all of them as numbers (a network as its first and last)."""
    hosts, nets, numbers = [], [], []
    for first, last, prefixlen, text in blocks:
        if prefixlen == bits:
            hosts.append(text)
            numbers.append(first)
        else:
            nets.append(text)
            numbers.append((first, last))
    return hosts, nets, numbers


class VifPolicy:
    """One vif's policy in kernel terms; built only through AntispoofSpec, which validates it."""

    # Thousands are built at once: no per-instance __dict__.
    __slots__ = ('name', 'twin', 'routed', 'dhcp', 'dhcp_server', 'router', 'macs', 'blocks', 'ethertypes', '_forms')

    def __init__(self, params, field, problems):
        self.name = params['name']
        # The emulated NIC of an HVM guest carries the same frames as the vif: the same policy covers it. A PV
        # guest has no such device, and elements naming an absent device match nothing.
        self.twin = None
        self.routed = bool(params.get('routed'))
        self.dhcp = params.get('dhcp', True) is not False
        self.dhcp_server = bool(params.get('dhcp_server'))
        self.router = bool(params.get('router'))
        if not is_interface_name(self.name):
            problems.extend(interface_name_problems(field + '.name', self.name))
        else:
            self.twin = emulated_twin(self.name)
        self.macs = self._macs(params.get('mac'), field, problems)
        blocks4 = self._blocks(params.get('ipv4'), field, 4, problems)
        blocks6 = self._blocks(params.get('ipv6'), field, 6, problems)
        if params.get('ipv6_link_local', True) is not False:
            for mac in self.macs:
                blocks6.append(_link_local_block(mac))
        # {version: blocks}, each version sorted and without overlaps
        self.blocks = {4: _collapsed(blocks4, 4), 6: _collapsed(blocks6, 6)}
        self._forms = None  # {version: (hosts, nets, numbers)}, made when a renderer first asks: validation needs none
        self.ethertypes = self._ethertypes(params.get('ethertypes'), field, problems)

    @property
    def networks(self):
        """The addresses and networks as ipaddress objects, IPv4 first, each version sorted."""
        return [_ip_network(block, version) for version in (4, 6) for block in self.blocks[version]]

    @staticmethod
    def _macs(values, field, problems):
        if isinstance(values, list) and len(values) == 1:
            macs = [str(values[0]).lower()]  # the usual case: nothing to sort or merge
        else:
            macs = sorted(set([str(mac).lower() for mac in values or []]))
        if not macs:
            problems.append("%s.mac is empty; a guest needs at least the MAC of its vif" % field)
        valid = []
        for mac in macs:
            if is_unicast_mac(mac):
                valid.append(mac)  # the usual case, without building messages (3.7 ms less at 5000 vifs)
                continue
            found = mac_problems(field + '.mac', mac, holder='a guest')
            if found:
                problems.extend(found)
            else:
                valid.append(mac)
        return valid

    @staticmethod
    def _blocks(values, field, version, problems):
        """The blocks of a vif's ipv4 or ipv6 list, in its order; an entry with a problem has none."""
        found = []
        for text in values or []:
            text = str(text)
            block = PLAIN_BLOCK[version](text)
            if block is None:  # an unusual spelling or a problem: ipaddress decides
                network, problem = _network('%s.ipv%d' % (field, version), text, version)
                if network is None:
                    problems.append(problem)
                    continue
                block = _block(network)
            found.append(block)
        return found

    @staticmethod
    def _ethertypes(values, field, problems):
        if values is None or values == DEFAULT_ETHERTYPE_NAMES:
            return list(DEFAULT_ETHERTYPE_NUMBERS)
        numbers = set()
        for text in values:
            number = ETHERTYPE_NUMBERS.get(text) if isinstance(text, str) else None
            if number is None:
                number = parse_ethertype(text)
                problems.extend(ethertype_problems(field + '.ethertypes', text))
            if number is not None:
                numbers.add(number)
        return sorted(numbers)

    def _forms_of(self, version):
        """(hosts, nets, numbers) of one IP version."""
        if self._forms is None:
            self._forms = {4: _text_and_numbers(self.blocks[4], 32), 6: _text_and_numbers(self.blocks[6], 128)}
        return self._forms[version]

    def hosts(self, version):
        """Single addresses (as text) of one IP version."""
        return self._forms_of(version)[0]

    def nets(self, version):
        """Networks wider than one address (as CIDR text) of one IP version."""
        return self._forms_of(version)[1]

    def numbers(self, version):
        """The same addresses as numbers, and the networks as (first, last) numbers."""
        return self._forms_of(version)[2]

    def as_dict(self):
        return {'name': self.name, 'routed': self.routed, 'mac': list(self.macs),
                'ipv4': self.hosts(4) + self.nets(4), 'ipv6': self.hosts(6) + self.nets(6),
                'dhcp': self.dhcp, 'dhcp_server': self.dhcp_server, 'router': self.router,
                'ethertypes': ['0x%04x' % number for number in self.ethertypes]}


def _without_gc(build):
    """build(), with the cycle collector paused: the thousands of small objects a large policy is made
    of hold no cycles, yet would set it off over and over (about a tenth of the time for 5000 vifs)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return build()
    finally:
        if enabled:
            gc.enable()


class AntispoofSpec:
    """The module's options, validated: every problem is collected before InvalidSpec is raised."""

    def __init__(self, params):
        self.state = params.get('state') or 'present'
        self.backend = params.get('backend') or 'nftables'
        self.purge = bool(params.get('purge'))
        self.trusted_ports = params.get('trusted_ports')
        # dom0's own interfaces; None keeps those configured. Given (even empty), every other interface that is not
        # a vif with a policy, trusted or lo is dropped, whatever its name.
        self.host_interfaces = params.get('host_interfaces')
        self.unlisted_vifs = params.get('unlisted_vifs') or 'drop'
        self.vif_patterns = list(DEFAULT_VIF_PATTERNS if params.get('vif_patterns') is None else params['vif_patterns'])
        problems = []
        if self.backend not in BACKENDS:
            problems.append("backend '%s' is not one of %s" % (self.backend, ', '.join(BACKENDS)))
        entries = list(enumerate(params.get('vifs') or []))
        # vifs with state=absent: only their names matter, and their policy goes
        self.removed = [vif['name'] for _index, vif in entries if vif.get('state') == 'absent']
        for index, vif in entries:
            if vif.get('state') == 'absent':
                problems.extend(interface_name_problems('vifs[%d].name' % index, vif['name']))
        present = [(index, vif) for index, vif in entries if vif.get('state') != 'absent']
        self._positions = [index for index, _vif in present]  # a present vif's index in the task's list, for messages
        self.vifs = _without_gc(lambda: [VifPolicy(dict(vif), 'vifs[%d]' % index, problems) for index, vif in present])
        for pattern in self.trusted_ports or []:
            problems.extend(interface_pattern_problems('trusted_ports', pattern))
        for pattern in self.host_interfaces or []:
            problems.extend(interface_pattern_problems('host_interfaces', pattern))
        for pattern in self.vif_patterns:
            problems.extend(interface_pattern_problems('vif_patterns', pattern))
        problems.extend(self._conflicts())
        problems = [problem for problem in problems if problem]
        if problems:
            raise InvalidSpec(problems)

    def _conflicts(self):
        """Two vifs may not share a name, a MAC or an address: that would let one guest be the other."""
        if self._shares_nothing():
            return []
        found = []
        held = Claims()
        for index, vif in enumerate(self.vifs):
            for kind, value in [('name', vif.name)] + [('mac', mac) for mac in vif.macs]:
                earlier = held.claim(index, kind, value)
                if earlier:
                    found.append("vifs[%d].%s '%s' is already %s of vif %s" % (
                        self._positions[index], kind, value, 'the name' if kind == 'name' else 'a MAC', self.vifs[earlier[0]].name))
            for pattern_field, kind in (('trusted_ports', 'trusted'), ('host_interfaces', "dom0's own")):
                if vif.name in (getattr(self, pattern_field) or []):
                    found.append("vifs[%d].name '%s' is also in %s; a port is either %s or filtered" % (
                        self._positions[index], vif.name, pattern_field, kind))
                if vif.twin in (getattr(self, pattern_field) or []):
                    found.append("vifs[%d].name '%s' has an emulated NIC '%s' (an HVM guest's tap), which is in %s; a port is "
                                 "either %s or filtered" % (self._positions[index], vif.name, vif.twin, pattern_field, kind))
            if vif.name in self.removed:
                found.append("vifs[%d].name '%s' is also listed with state absent; a vif either has a policy or not" % (self._positions[index], vif.name))
        return found + self._twin_collisions() + self._overlaps()

    def _twin_collisions(self):
        """A vif named as another vif's emulated NIC would get two policies on one device."""
        found = []
        owners = {}
        for index, vif in enumerate(self.vifs):
            if vif.twin is not None:
                owners.setdefault(vif.twin, index)
        for index, vif in enumerate(self.vifs):
            owner = owners.get(vif.name)
            if owner is not None:
                found.append("vifs[%d].name '%s' is the name of the emulated NIC of vif %s (vifs[%d]), which that vif's policy "
                             "covers; name one of them otherwise" % (
                                 self._positions[index], vif.name, self.vifs[owner].name, self._positions[owner]))
            owner = owners.get(vif.twin)
            if owner is not None and self.vifs[owner].name != vif.name:  # one name twice is reported as such
                found.append("vifs[%d].name '%s' gives its emulated NIC the name '%s', as vif %s (vifs[%d]) does (QEMU cuts tap "
                             "names to 15 characters); name one of them otherwise" % (
                                 self._positions[index], vif.name, vif.twin, self.vifs[owner].name, self._positions[owner]))
        return found

    def _shares_nothing(self):
        """True when _conflicts has nothing to report: a quick check that spares it the work in the usual case."""
        names = [vif.name for vif in self.vifs]
        twins = [vif.twin for vif in self.vifs if vif.twin is not None]
        macs = [mac for vif in self.vifs for mac in vif.macs]
        own = set((self.trusted_ports or []) + (self.host_interfaces or []))
        devices = names + twins
        if len(set(devices)) < len(devices) or len(set(macs)) < len(macs) or own & set(devices) or set(names) & set(self.removed):
            return False
        return not any(_any_overlap([block for vif in self.vifs for block in vif.blocks[version]], bits)
                       for version, bits in ((4, 32), (6, 128)))

    def _overlaps(self):
        """Address ranges shared by two vifs, found by sorting (a thousand vifs stay fast)."""
        found = []
        ranges = sorted((version, block[0], block[1], index, position)
                        for index, vif in enumerate(self.vifs) for version in (4, 6) for position, block in enumerate(vif.blocks[version]))
        reach = None  # (version, last address, vif index, block index) of the range reaching furthest so far
        for version, start, end, index, position in ranges:
            if reach is not None and reach[0] == version and start <= reach[1] and reach[2] != index:
                found.append("vifs[%d].ipv%d '%s' overlaps '%s' of vif %s; each guest needs addresses of its own" % (
                    self._positions[index], version, self._cidr(index, version, position), self._cidr(reach[2], version, reach[3]), self.vifs[reach[2]].name))
            if reach is None or reach[0] != version or end > reach[1]:
                reach = (version, end, index, position)
        return found

    def _cidr(self, index, version, position):
        """str() of the ipaddress network of one block, as the messages have always shown it."""
        return str(_ip_network(self.vifs[index].blocks[version][position], version))

    def vif_names(self):
        """Every vif the task names: those given a policy and those whose policy goes (state absent)."""
        return [vif.name for vif in self.vifs] + self.removed

    def device_names(self):
        """The devices whose policy this task decides: every vif it names and their emulated NICs."""
        names = self.vif_names()
        return names + [twin for twin in (emulated_twin(name) for name in names if is_interface_name(name)) if twin is not None]


def _any_overlap(blocks, bits):
    """Whether two of these blocks (of bits-bit addresses) share an address. Blocks are CIDR networks:
    two that share one start at the same address, or the wider one holds the other's first address."""
    firsts = [block[0] for block in blocks]
    if len(set(firsts)) < len(firsts):
        return True
    for prefixlen in set([block[2] for block in blocks if block[2] < bits]):
        mask = ((1 << prefixlen) - 1) << (bits - prefixlen)
        wide = set([block[0] for block in blocks if block[2] == prefixlen])
        if any(block[0] & mask in wide for block in blocks if block[2] > prefixlen):
            return True
    return False
