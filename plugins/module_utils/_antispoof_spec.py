# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The anti-spoofing policy of a dom0's vifs, validated and normalized.

Private module_utils (leading underscore): may change without notice.
Validation needs no host: every error names the field, the value and the
rule, and all errors are reported together before anything changes. The
normalized policy is what both backends render: addresses split into single
hosts and networks (so the nftables backend keeps hosts in hash sets whose
lookup cost does not grow with the number of guests), the IPv6 link-local
address derived from every allowed MAC, ethertypes as numbers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.xenfleet.network.plugins.module_utils._bridge_spec import MAC_PATTERN, InvalidSpec, interface_name_problem, mac_problem

__all__ = ['AntispoofSpec', 'InvalidSpec', 'VifPolicy', 'ETHERTYPES', 'link_local_from_mac']

# Stricter than the kernel on purpose: these names end up quoted in nft and
# bare in iptables, where '+' is a wildcard.
VIF_NAME_PATTERN = re.compile(r'^[A-Za-z0-9_.@-]+$')
VIF_NAME_RULE = "letters, digits, '.', '_', '-' and '@'"
ETHERTYPES = {'ipv4': 0x0800, 'arp': 0x0806, 'ipv6': 0x86dd, 'vlan': 0x8100, '8021ad': 0x88a8, 'lldp': 0x88cc}
ETHERTYPE_ALIASES = {'ip': 'ipv4', 'ip6': 'ipv6', '8021q': 'vlan'}
DEFAULT_ETHERTYPES = ('ipv4', 'arp', 'ipv6')
DEFAULT_VIF_PATTERNS = ('vif*', 'tap*')
BACKENDS = ('nftables', 'iptables')


def _link_local_int(mac):
    """The modified EUI-64 link-local address (RFC 4291) a guest derives from its MAC, as a number."""
    octets = [int(part, 16) for part in mac.split(':')]
    octets[0] ^= 0x02
    interface_id = 0
    for octet in octets[:3] + [0xff, 0xfe] + octets[3:]:
        interface_id = interface_id << 8 | octet
    return 0xfe80 << 112 | interface_id


def link_local_from_mac(mac):
    """The modified EUI-64 link-local address (RFC 4291) a guest derives from its MAC."""
    return str(ipaddress.IPv6Address(_link_local_int(mac)))


def _unicast_mac_problem(field, mac):
    """The bridge's MAC checks, with the multicast rule phrased for a guest."""
    if MAC_PATTERN.match(mac) and int(mac[1], 16) & 1:
        return "%s '%s' is a multicast address; a guest sends from a unicast MAC" % (field, mac)
    return mac_problem(field, mac)


def vif_name_problem(field, name):
    problem = interface_name_problem(field, name)
    if problem is None and not VIF_NAME_PATTERN.match(name):
        bad = [character for character in name if not VIF_NAME_PATTERN.match(character)][0]
        problem = "%s '%s' contains %r; xen_antispoof allows %s" % (field, name, bad, VIF_NAME_RULE)
    return problem


def pattern_problem(field, pattern):
    """Port names with an optional trailing '*' (nftables) / '+' (iptables) wildcard."""
    stem = pattern[:-1] if pattern.endswith('*') else pattern
    if pattern.endswith('*') and not stem:
        return "%s '%s' would match every port; name at least one leading character" % (field, pattern)
    return vif_name_problem(field, stem)


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


def _ethertype(field, text):
    """(number, problem) for a name from ETHERTYPES or a hex number 0x0600-0xffff."""
    name = ETHERTYPE_ALIASES.get(str(text).lower(), str(text).lower())
    if name in ETHERTYPES:
        return ETHERTYPES[name], None
    try:
        number = int(name, 16) if name.startswith('0x') else None
    except ValueError:
        number = None
    if number is None or not 0x0600 < number <= 0xffff:
        return None, "%s '%s' is not an ethertype: use one of %s or a hex number from 0x0601 to 0xffff" % (
            field, text, ', '.join(sorted(ETHERTYPES)))
    return number, None


def _collapsed(networks):
    """Sorted, with addresses inside another listed network folded into it (sets refuse overlaps)."""
    if len(networks) < 2:
        return networks
    ordered = sorted(networks)
    for previous, current in zip(ordered, ordered[1:]):
        if int(current.network_address) <= int(previous.network_address) | ((1 << (previous.max_prefixlen - previous.prefixlen)) - 1):
            return sorted(ipaddress.collapse_addresses(networks))
    return ordered


class VifPolicy:
    """One vif's policy in kernel terms; built only through AntispoofSpec, which validates it."""

    def __init__(self, params, field, problems):
        self.name = params['name']
        self.routed = bool(params.get('routed'))
        self.dhcp = params.get('dhcp', True) is not False
        self.dhcp_server = bool(params.get('dhcp_server'))
        self.router = bool(params.get('router'))
        problems.append(vif_name_problem(field + '.name', self.name))
        self.macs = self._macs(params.get('mac'), field + '.mac', problems)
        networks4 = self._networks(params.get('ipv4'), field + '.ipv4', 4, problems)
        networks6 = self._networks(params.get('ipv6'), field + '.ipv6', 6, problems)
        if params.get('ipv6_link_local', True) is not False:
            networks6 += [ipaddress.IPv6Network((_link_local_int(mac), 128)) for mac in self.macs]
        self.networks = _collapsed(networks4) + _collapsed(networks6)
        # Text and numeric forms, computed once: the renderers ask for them once per set.
        self._hosts, self._nets, self._numbers = {4: [], 6: []}, {4: [], 6: []}, {4: [], 6: []}
        for net in self.networks:
            first = int(net.network_address)
            if net.prefixlen == net.max_prefixlen:
                self._hosts[net.version].append(str(net.network_address))
                self._numbers[net.version].append(first)
            else:
                self._nets[net.version].append(str(net))
                self._numbers[net.version].append((first, first | ((1 << (net.max_prefixlen - net.prefixlen)) - 1)))
        self.ethertypes = self._ethertypes(params.get('ethertypes'), field + '.ethertypes', problems)

    @staticmethod
    def _macs(values, field, problems):
        macs = sorted(set(str(mac).lower() for mac in values or []))
        if not macs:
            problems.append("%s is empty; a guest needs at least the MAC of its vif" % field)
        problems.extend(_unicast_mac_problem(field, mac) for mac in macs)
        return [mac for mac in macs if MAC_PATTERN.match(mac)]

    @staticmethod
    def _networks(values, field, version, problems):
        found = []
        for text in values or []:
            network, problem = _network(field, str(text), version)
            problems.append(problem)
            if network is not None:
                found.append(network)
        return found

    @staticmethod
    def _ethertypes(values, field, problems):
        numbers = set()
        for text in DEFAULT_ETHERTYPES if values is None else values:
            number, problem = _ethertype(field, text)
            problems.append(problem)
            if number is not None:
                numbers.add(number)
        return sorted(numbers)

    def hosts(self, version):
        """Single addresses (as text) of one IP version."""
        return self._hosts[version]

    def nets(self, version):
        """Networks wider than one address (as CIDR text) of one IP version."""
        return self._nets[version]

    def numbers(self, version):
        """The same addresses as numbers, and the networks as (first, last) numbers."""
        return self._numbers[version]

    def as_dict(self):
        return {'name': self.name, 'routed': self.routed, 'mac': list(self.macs),
                'ipv4': self.hosts(4) + self.nets(4), 'ipv6': self.hosts(6) + self.nets(6),
                'dhcp': self.dhcp, 'dhcp_server': self.dhcp_server, 'router': self.router,
                'ethertypes': ['0x%04x' % number for number in self.ethertypes]}


class AntispoofSpec:
    """The module's options, validated: every problem is collected before InvalidSpec is raised."""

    def __init__(self, params):
        self.state = params.get('state') or 'present'
        self.backend = params.get('backend') or 'nftables'
        self.purge = bool(params.get('purge'))
        self.trusted_ports = params.get('trusted_ports')
        self.unlisted_vifs = params.get('unlisted_vifs') or 'drop'
        self.vif_patterns = list(DEFAULT_VIF_PATTERNS if params.get('vif_patterns') is None else params['vif_patterns'])
        problems = []
        if self.backend not in BACKENDS:
            problems.append("backend '%s' is not one of %s" % (self.backend, ', '.join(BACKENDS)))
        self.vifs = [VifPolicy(dict(vif), 'vifs[%d]' % index, problems) for index, vif in enumerate(params.get('vifs') or [])]
        for pattern in self.trusted_ports or []:
            problems.append(pattern_problem('trusted_ports', pattern))
        for pattern in self.vif_patterns:
            problems.append(pattern_problem('vif_patterns', pattern))
        problems.extend(self._conflicts())
        problems = [problem for problem in problems if problem]
        if problems:
            raise InvalidSpec(problems)

    def _conflicts(self):
        """Two vifs may not share a name, a MAC or an address: that would let one guest be the other."""
        found = []
        owners = {}  # (kind, value) -> index of the first vif holding it
        for index, vif in enumerate(self.vifs):
            for kind, value in [('name', vif.name)] + [('mac', mac) for mac in vif.macs]:
                owner = owners.setdefault((kind, value), index)
                if owner != index:
                    found.append("vifs[%d].%s '%s' is already %s of vif %s" % (
                        index, kind, value, 'the name' if kind == 'name' else 'a MAC', self.vifs[owner].name))
            if vif.name in (self.trusted_ports or []):
                found.append("vifs[%d].name '%s' is also in trusted_ports; a port is either trusted or filtered" % (index, vif.name))
        return found + self._overlaps()

    def _overlaps(self):
        """Address ranges shared by two vifs, found by sorting (a thousand vifs stay fast)."""
        found = []
        ranges = sorted((net.version, int(net.network_address), int(net.network_address) | ((1 << (net.max_prefixlen - net.prefixlen)) - 1),
                         index, position) for index, vif in enumerate(self.vifs) for position, net in enumerate(vif.networks))
        reach = None  # (version, last address, vif index, network index) of the range reaching furthest so far
        for version, start, end, index, position in ranges:
            if reach is not None and reach[0] == version and start <= reach[1] and reach[2] != index:
                found.append("vifs[%d].ipv%d '%s' overlaps '%s' of vif %s; each guest needs addresses of its own" % (
                    index, version, self.vifs[index].networks[position], self.vifs[reach[2]].networks[reach[3]], self.vifs[reach[2]].name))
            if reach is None or reach[0] != version or end > reach[1]:
                reach = (version, end, index, position)
        return found

    def vif_names(self):
        return [vif.name for vif in self.vifs]
