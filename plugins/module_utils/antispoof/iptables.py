# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables form of the anti-spoofing policy, for dom0s that keep iptables.

Private to the collection: may change without notice.

Three nf_tables-backed tools share the work, each in chains of its own:
- ebtables (table nat, PREROUTING, before the bridge learns): source MAC,
  ethertypes and ARP; it also marks frames bridged from port to port so that
  iptables can exempt them from conntrack;
- iptables and ip6tables (table raw, PREROUTING, reached through
  br_netfilter with -m physdev, still before learning): source addresses,
  DHCP and router roles, neighbour discovery targets, and NOTRACK.
The only rule put in a built-in chain is one jump to XENFLEET-AS per tool.
Rules are rendered exactly as the -save tools print them, so the current
chains compare with the desired ones line by line and a rerun changes
nothing. Unlike the nftables backend, the cost per packet grows with the
number of vifs (one dispatch rule each) and each tool is its own
transaction.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from collections import OrderedDict

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import ETHERTYPES, emulated_twin, parse_mac

DISPATCH = 'XENFLEET-AS'
TOOLS = ('eb', 'v4', 'v6')
TABLES = {'eb': 'nat', 'v4': 'raw', 'v6': 'raw'}
VIF_CHAINS = {'eb': ('XFAS-', 'XFARP-', 'XFAIP-'), 'v4': ('XFAS-', 'XFDH-'), 'v6': ('XFAS-', 'XFSRC-', 'XFND-')}
JUMP = '-j %s' % DISPATCH
NOTRACK_MARK = 0x1000000
MARK = '0x%x/0x%x' % (NOTRACK_MARK, NOTRACK_MARK)
ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 = ETHERTYPES['arp'], ETHERTYPES['ipv4'], ETHERTYPES['ipv6']
ND_TARGET_OFFSET = 48  # IPv6 header (40) + ICMPv6 type, code, checksum, flags (8)
# u32 locations as iptables-save prints them. IPv6: payload length, next header (no extension header: RFC 6980 forbids
# fragmented ND) and the ICMPv6 type; IPv4: neither more fragments nor an offset, and BOOTP's htype and hlen (Ethernet,
# 6) and chaddr, counted from the UDP header, behind an IPv4 header of any length.
U32_IPV6_SHAPE, U32_ICMPV6_TYPE = '0x4>>0x8', '0x28>>0x18'
U32_IPV4_WHOLE, U32_BOOTP_HARDWARE = '0x4&0x3fff=0x0', '0x0>>0x16&0x3c@0x8>>0x8&0xffff=0x106'
U32_CHADDR_HEAD, U32_CHADDR_TAIL = '0x0>>0x16&0x3c@0x24', '0x0>>0x16&0x3c@0x28>>0x10'  # its first four bytes, its last two
ND_SHAPES = (  # (ICMPv6 type, IPv6 payload length, offset of the one link-layer address option, its type): RS, NS, NA
    (133, 8, None, None), (133, 16, 48, 1), (135, 24, None, None), (135, 32, 64, 1), (136, 24, None, None), (136, 32, 64, 2))
ND_NONCE = 14  # RFC 7527, in duplicate address detection only
# A first fragment must carry the upper-layer header (RFC 7112), or the port and type checks after it miss (iptables-nft
# turns -m udp into a payload match that fails quietly on a missing header). IPv4: 8 bytes of it. IPv6, which u32 cannot
# walk: the fragment header right after the IPv6 header, then 20 bytes of TCP, UDP or ICMPv6.
FIRST_FRAGMENT = {'v4': '-m u32 --u32 "0x4&0x3fff=0x2000" -m u32 ! --u32 "0x0>>0x16&0x3c@0x4=0x0:0xffffffff" -j DROP',
                  'v6': '-m frag --fragfirst -m u32 ! --u32 "0x4>>0x8&0xff=0x2c&&0x28>>0x18=0x6,0x11,0x3a&&0x40=0x0:0xffffffff" -j DROP'}
RULE_LINE = re.compile(r'^(?:\[(\d+):(\d+)\] )?-A (\S+) (.*)$')
ETHERTYPE_OPTION = re.compile(r'-p (! )?(\S+)')
DISPATCH_VIF = re.compile(r'(?:--physdev-in|-i) (\S+) ')
# The restore tools split a rule at white space and read quotes, '!' (negation) and '#' (a comment);
# a trailing '+' in an interface name is their wildcard. Names go into rules and chain names
# unquoted, so a name outside this set is refused rather than written.
RESTORE_NAME = re.compile(r'[A-Za-z0-9_.@-]{1,15}')


class RuleValueError(ValueError):
    """A name the restore tools cannot take unquoted; names the field and the value."""


def restore_name(name, field='vif name', wildcard=False):
    """name as it goes into a rule; with wildcard a trailing '+' (iptables' 'vif*') is allowed."""
    plain = name[:-1] if wildcard and name.endswith('+') else name
    if not RESTORE_NAME.fullmatch(plain):
        raise RuleValueError("%s %r is not 1 to 15 letters, digits, '.', '_', '-' or '@'%s, which iptables-restore and "
                             "ebtables-restore need unquoted" % (field, name, " (and a trailing '+')" if wildcard else ''))
    return name


def restore_mac(mac, name):
    if not isinstance(mac, str) or parse_mac(mac) != mac:  # the canonical form: lower case, colons
        raise RuleValueError("vif %s mac %r is not a MAC address in lower case, as the restore tools take it" % (name, mac))
    return mac


def port_name(pattern, field='trusted_ports'):
    """nftables' wildcard 'vif*' is iptables' 'vif+'."""
    return restore_name(pattern[:-1] + '+' if pattern.endswith('*') else pattern, field, wildcard=True)


def pattern_name(port):
    return port[:-1] + '*' if port.endswith('+') else port


def _among(macs):
    """ebtables prints MAC lists sorted, without leading zeros."""
    return ','.join(':'.join('%x' % int(part, 16) for part in mac.split(':')) for mac in sorted(macs))


def _u32_target(network, offset=ND_TARGET_OFFSET):
    """A u32 expression matching a neighbour discovery target inside network, as iptables-save prints it."""
    value = int(network.network_address)
    tests = []
    for word in range(4):
        bits = min(32, max(0, network.prefixlen - 32 * word))
        if not bits:
            break
        mask = (0xffffffff << (32 - bits)) & 0xffffffff
        part = (value >> (96 - 32 * word)) & mask
        position = '0x%x' % (offset + 4 * word)
        tests.append('%s=0x%x' % (position, part) if mask == 0xffffffff else '%s&0x%x=0x%x' % (position, mask, part))
    return '&&'.join(tests)


def _networks(vif, version):
    return [ipaddress.ip_network(text) for text in vif.hosts(version) + vif.nets(version)]


def vif_chains(vif):
    """{tool: OrderedDict(chain: rules)} for one vif."""
    name = restore_name(vif.name)
    chains = {'eb': OrderedDict(), 'v4': OrderedDict(), 'v6': OrderedDict()}
    if not vif.routed:
        chains['eb'].update(_eb_chains(vif))
    v4 = [FIRST_FRAGMENT['v4']] + ([] if vif.dhcp_server else ['-p udp -m udp --sport 67 -j DROP'])
    if vif.dhcp and not vif.dhcp_server:
        v4 += ['-p udp -m udp --dport 67 -j XFDH-%s' % name]
    v4 += ['-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j ACCEPT'] if vif.dhcp else ['-p udp -m udp --dport 67 -j DROP']
    v4 += [] if vif.router else ['-p icmp -m icmp --icmp-type 5 -j DROP']
    chains['v4']['XFAS-' + name] = v4 + ['-s %s -j ACCEPT' % net for net in _networks(vif, 4)] + ['-j DROP']
    if vif.dhcp and not vif.dhcp_server:
        chains['v4']['XFDH-' + name] = _dhcp_request_rules(vif)
    v6 = [FIRST_FRAGMENT['v6']] + ([] if vif.dhcp_server else ['-p udp -m udp --sport 547 -j DROP'])
    v6 += [] if vif.dhcp else ['-p udp -m udp --dport 547 -j DROP']
    v6 += [] if vif.router else ['-p ipv6-icmp -m icmp6 --icmpv6-type %d -j DROP' % kind for kind in (134, 137)]
    v6 += ['-p ipv6-icmp -m icmp6 --icmpv6-type %d -j XFND-%s' % (kind, name) for kind in (133, 135, 136)]
    networks = _networks(vif, 6)
    v6 += ['-s ::/128 -p ipv6-icmp -m icmp6 --icmpv6-type 135 -m u32 --u32 "%s" -j ACCEPT' % _u32_target(net) for net in networks]
    v6 += ['-s ::/128 -p ipv6-icmp -m icmp6 --icmpv6-type %d -j ACCEPT' % kind for kind in (131, 143)]
    chains['v6']['XFAS-' + name] = v6 + ['-s %s -j XFSRC-%s' % (net, name) for net in networks] + ['-j DROP']
    chains['v6']['XFSRC-' + name] = ['-p ipv6-icmp -m icmp6 --icmpv6-type 136 -m u32 --u32 "%s" -j ACCEPT' % _u32_target(net)
                                     for net in networks] + ['-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j DROP', '-j ACCEPT']
    chains['v6']['XFND-' + name] = _nd_shape_rules(vif)
    return chains


def _mac_number(mac, name):
    return int(restore_mac(mac, name).replace(':', ''), 16)


def _nd_shape_rules(vif):
    """RS, NS and NA return only in the shapes that carry at most one option (u32 cannot loop over options):
    none, or one link-layer address option of length 1 with the vif's own MAC, or the nonce of a DAD probe."""
    rules = []
    for kind, length, offset, option in ND_SHAPES:
        shape = '%s=0x%x&&%s=0x%x' % (U32_IPV6_SHAPE, length << 8 | 58, U32_ICMPV6_TYPE, kind)
        if offset is None:
            rules.append('-m u32 --u32 "%s" -j RETURN' % shape)
            continue
        for mac in vif.macs:  # the option's type and length 1, the MAC's first two bytes, its last four
            number = _mac_number(mac, vif.name)
            rules.append('-m u32 --u32 "%s&&0x%x>>0x10=0x%x&&0x%x&0xffff=0x%x&&0x%x=0x%x" -j RETURN'
                         % (shape, offset, option << 8 | 1, offset, number >> 32, offset + 4, number & 0xffffffff))
    rules.append('-s ::/128 -m u32 --u32 "%s=0x%x&&%s=0x%x&&0x%x>>0x10=0x%x" -j RETURN'
                 % (U32_IPV6_SHAPE, 32 << 8 | 58, U32_ICMPV6_TYPE, 135, 64, ND_NONCE << 8 | 1))
    return rules + ['-j DROP']


def _dhcp_request_rules(vif):
    """A DHCP request returns only whole (not fragmented), from Ethernet hardware, naming one of the vif's MACs in chaddr."""
    rules = []
    for mac in vif.macs:
        number = _mac_number(mac, vif.name)
        rules.append('-m u32 --u32 "%s&&%s&&%s=0x%x&&%s=0x%x" -j RETURN'
                     % (U32_IPV4_WHOLE, U32_BOOTP_HARDWARE, U32_CHADDR_HEAD, number >> 16, U32_CHADDR_TAIL, number & 0xffff))
    return rules + ['-j DROP']


def _eb_chains(vif):
    name = restore_name(vif.name)
    l2 = ['--among-src ! %s -j DROP' % _among([restore_mac(mac, name) for mac in vif.macs])]
    for number in vif.ethertypes:
        l2.append('-p 0x%04x -j XFARP-%s' % (number, name) if number == ETHERTYPE_ARP else '-p 0x%04x -j ACCEPT' % number)
    arp = ['-p 0x0806 --arp-htype ! 1 -j DROP', '-p 0x0806 --arp-ptype ! 0x800 -j DROP']
    arp += ['-p 0x0806 --arp-mac-src %s -j XFAIP-%s' % (restore_mac(mac, name), name) for mac in vif.macs]
    addresses = ['-p 0x0806 --arp-op Request --arp-ip-src 0.0.0.0 -j ACCEPT']
    addresses += ['-p 0x0806 --arp-ip-src %s -j ACCEPT' % (net.network_address if net.prefixlen == 32 else net) for net in _networks(vif, 4)]
    return OrderedDict([('XFAS-' + name, l2 + ['-j DROP']), ('XFARP-' + name, arp + ['-j DROP']), ('XFAIP-' + name, addresses + ['-j DROP'])])


def dispatch_lines(tool, vif):
    """The rules in XENFLEET-AS that send the frames of one vif, and of its emulated NIC, to the vif's chains."""
    name = restore_name(vif.name)
    lines = []
    for device in [name] + ([restore_name(vif.twin)] if vif.twin else []):
        if tool == 'eb':
            lines += [] if vif.routed else ['-i %s -j XFAS-%s' % (device, name)]
        elif not vif.routed:
            lines.append('-m physdev --physdev-in %s -j XFAS-%s' % (device, name))
        else:
            lines += ['-i %s -m mac --mac-source %s -j XFAS-%s' % (device, restore_mac(mac, name), name) for mac in vif.macs]
            lines.append('-i %s -j DROP' % device)
    return lines


def dispatch_tail(tool, trusted, host, unlisted, closed):
    """The rules after the vifs: dom0's own interfaces go back to PREROUTING, then what is left is dropped by
    its name (unlisted patterns) or, when dom0's interfaces are declared (closed), whatever its name. ebtables
    accepts trusted ports at the head instead, as it always has."""
    lines = [] if tool == 'eb' else ['-i %s -j RETURN' % port_name(port) for port in trusted]
    lines += ['-i %s -j RETURN' % port_name(interface, 'host_interfaces') for interface in host]
    lines += ['-i %s -j DROP' % port_name(pattern, 'vif_patterns') for pattern in unlisted]
    return lines + (['-j DROP'] if closed else [])


def dispatch_head(tool):
    if tool == 'eb':
        return ['--pkttype-type otherhost -j mark --mark-or 0x%x --mark-target CONTINUE' % NOTRACK_MARK]
    return ['-m mark --mark %s -j CT --notrack' % MARK, '-m mark --mark %s -j MARK --set-xmark 0x0/0x%x' % (MARK, NOTRACK_MARK)]


# ---------------------------------------------------------------- the rules as the kernel has them

class Ruleset:
    """One tool's chains of ours: {chain: [rules]}, whether PREROUTING jumps to XENFLEET-AS, counters."""

    def __init__(self, tool, chains=None, jump=False):
        self.tool = tool
        self.chains = OrderedDict(chains or ())
        self.jump = jump  # PREROUTING's first rule is our one jump; nothing before it can accept a frame unfiltered
        self.jumps = int(jump)  # how many jumps to XENFLEET-AS PREROUTING has, wherever they are
        self.drifted = set()  # chains to rewrite although their rules read the same (iptables_structure)
        self.counters = {}  # (chain, index) -> (packets, bytes)

    def vif_names(self):
        return sorted(chain[len('XFAS-'):] for chain in self.chains if chain.startswith('XFAS-'))

    def vif_chains(self, name):
        return OrderedDict((chain, self.chains[chain]) for chain in (prefix + name for prefix in VIF_CHAINS[self.tool]) if chain in self.chains)

    def owners(self):
        """{device: vif} of every vif with chains here and of its emulated NIC."""
        found = {}
        for name in self.vif_names():
            found[name] = name
            twin = emulated_twin(name)
            if twin is not None:
                found.setdefault(twin, name)
        return found

    def dispatch_by_vif(self):
        """{vif: its rules in XENFLEET-AS, its emulated NIC's included}, in one pass (thousands of vifs)."""
        found = {}
        owners = self.owners()
        for line in self.chains.get(DISPATCH, ()):
            name = owners.get(_dispatched_vif(self.tool, line))
            if name is not None:
                found.setdefault(name, []).append(line)
        return found

    def trusted(self):
        """Trusted port patterns found in the ebtables dispatcher."""
        return self._interfaces('ACCEPT')

    def host(self):
        """dom0's own interfaces found in the ebtables dispatcher (lo among them once they were declared)."""
        return self._interfaces('RETURN')

    def _interfaces(self, target):
        pattern = re.compile(r'^-i (\S+) -j %s$' % target)
        return [pattern_name(match.group(1)) for match in (pattern.match(line) for line in self.chains.get(DISPATCH, ())) if match]


def _dispatched_vif(tool, line):
    match = DISPATCH_VIF.search(line)
    if not match or line.endswith(('-j ACCEPT', '-j RETURN')) or (tool == 'eb' and line.endswith('-j DROP')):
        return None  # trusted ports, dom0's interfaces and unlisted patterns are not vifs
    return match.group(1)


def ours(chain):
    return chain == DISPATCH or any(chain.startswith(prefix) for prefixes in VIF_CHAINS.values() for prefix in prefixes)


def parse_save(tool, text, ethertype_names=None):
    """Ruleset of our chains from `*-save -c` output (one table)."""
    ruleset = Ruleset(tool)
    first = True
    for line in text.splitlines():
        if line.startswith(':') and ours(line[1:].split()[0]):
            declared = line[1:].split()
            ruleset.chains.setdefault(declared[0], [])
            if tool == 'eb' and declared[1:2] != ['RETURN']:
                ruleset.drifted.add(declared[0])  # an ebtables chain's policy is a rule at its end, ours have none
            continue
        match = RULE_LINE.match(line.strip())
        if not match:
            continue
        packets, octets, chain, rule = match.groups()
        if chain == 'PREROUTING':
            ruleset.jumps += rule == JUMP
            ruleset.jump = ruleset.jumps == 1 and (ruleset.jump or (first and rule == JUMP))
            first = False
        elif ours(chain):
            if tool == 'eb':
                rule = normalize_ethertypes(rule, ethertype_names or {})
            rules = ruleset.chains.setdefault(chain, [])
            ruleset.counters[(chain, len(rules))] = (int(packets or 0), int(octets or 0))
            rules.append(rule)
    return ruleset


def normalize_ethertypes(rule, names):
    """ebtables prints ethertypes by their /etc/ethertypes name; compare them as numbers."""
    def number(match):
        value = match.group(2)
        if value.upper() in names:
            value = '0x%04x' % names[value.upper()]
        elif value.lower().startswith('0x'):
            value = '0x%04x' % int(value, 16)
        return '-p %s%s' % (match.group(1) or '', value)
    return ETHERTYPE_OPTION.sub(number, rule, count=1)


def parse_ethertypes(text):
    """{NAME: number} from /etc/ethertypes (names and aliases, upper-cased)."""
    names = {}
    for line in (text or '').splitlines():
        fields = line.split('#', 1)[0].split()
        if len(fields) >= 2:
            try:
                number = int(fields[1], 16)
            except ValueError:
                continue
            for name in [fields[0]] + fields[2:]:
                names[name.upper()] = number
    return names


# ---------------------------------------------------------------- desired rules and scripts

def desired_rulesets(spec, current):
    """{tool: Ruleset} the policy needs; without purge, vifs not named keep their current chains."""
    listed = set(spec.vif_names())
    trusted = spec.trusted_ports if spec.trusted_ports is not None else current['eb'].trusted()
    host = ['lo'] + spec.host_interfaces if spec.host_interfaces is not None else current['eb'].host()
    drop = spec.unlisted_vifs == 'drop'
    unlisted = spec.vif_patterns if drop else []
    kept = [] if spec.purge else [name for name in current['v4'].vif_names() if name not in listed]
    result = {}
    for tool in TOOLS:
        head = dispatch_head(tool) + (['-i %s -j ACCEPT' % port_name(port) for port in trusted] if tool == 'eb' else [])
        entries = {}
        dispatch_by_vif = current[tool].dispatch_by_vif() if kept else {}
        for name in kept:
            entries[name] = (dispatch_by_vif.get(name, []), current[tool].vif_chains(name))
        for vif in spec.vifs:
            entries[vif.name] = (dispatch_lines(tool, vif), vif_chains(vif)[tool])
        dispatch = list(head)
        chains = OrderedDict()
        for name in sorted(entries):
            dispatch.extend(entries[name][0])
            chains.update(entries[name][1])
        dispatch.extend(dispatch_tail(tool, trusted, host, unlisted, drop and bool(host)))
        chains[DISPATCH] = dispatch
        result[tool] = Ruleset(tool, chains, jump=True)
    return result


def _declare(tool, chain):
    return ':%s RETURN' % chain if tool == 'eb' else ':%s - [0:0]' % chain


def transition_script(before, after):
    """A restore --noflush script taking our chains of one tool from before to after, or '' when equal.

    Only chains whose rules differ are declared (which flushes them) and rewritten, so the
    counters of the others keep counting; chains no longer wanted are flushed and deleted.
    """
    tool = after.tool
    changed = [chain for chain, rules in after.chains.items() if before.chains.get(chain) != rules or chain in before.drifted]
    stale = [chain for chain in before.chains if chain not in after.chains]
    lines = [_declare(tool, chain) for chain in changed + stale]
    if after.jump != before.jump or before.jumps > int(before.jump):
        # A jump not first (or twice) is taken out and put back first.
        lines.extend('-D PREROUTING %s' % JUMP for dummy in range(before.jumps))
        if after.jumps:  # also undoing a repair: one jump stays, first
            lines.append('-I PREROUTING 1 %s' % JUMP)
    for chain in changed:
        lines.extend('-A %s %s' % (chain, rule) for rule in after.chains[chain])
    lines.extend('-X %s' % chain for chain in stale)
    if not lines:
        return ''
    return '*%s\n%s\nCOMMIT\n' % (TABLES[tool], '\n'.join(lines))


def boot_script(ruleset):
    """The whole of one tool's chains, to load at boot with restore --noflush (where none exist yet)."""
    return '# Written by xenfleet.network xen_antispoof; load at boot with the nf_tables-backed restore --noflush.\n' + \
        transition_script(Ruleset(ruleset.tool), ruleset)


def render_text(rulesets):
    """All tools' chains as readable text, for diffs."""
    parts = []
    for tool in TOOLS:
        ruleset = rulesets.get(tool)
        if ruleset is None or not ruleset.chains:
            continue
        parts.append('# %s (table %s)\n' % ({'eb': 'ebtables', 'v4': 'iptables', 'v6': 'ip6tables'}[tool], TABLES[tool]))
        parts.extend('-A %s %s\n' % (chain, rule) for chain, rules in ruleset.chains.items() for rule in rules)
    return ''.join(parts)


# ---------------------------------------------------------------- counters

def vif_counters(rulesets):
    """{vif: {'accepted': {...}, 'dropped': {...}}} summed over the three tools, and the unlisted drops.

    ebtables only passes IPv4 and IPv6 on to iptables, which counts them; its own ACCEPTs count ARP and
    the other ethertypes allowed.
    """
    result = {}
    unlisted = [0, 0]
    for tool, ruleset in rulesets.items():
        owners = ruleset.owners()
        for (chain, index), (packets, octets) in ruleset.counters.items():
            rule = ruleset.chains[chain][index]
            if chain == DISPATCH:
                if not rule.endswith('-j DROP'):
                    continue
                # A routed vif's own last rule drops what comes from a MAC not its own; any other drop here is of an
                # interface without a policy.
                name = owners.get(_dispatched_vif(tool, rule))
                if name is None:
                    unlisted[0] += packets
                    unlisted[1] += octets
                    continue
                kind = 'dropped'
            else:
                name = chain.split('-', 1)[1]
                kind = _verdict(tool, rule)
                if kind is None:
                    continue
            entry = result.setdefault(name, {'accepted': {'packets': 0, 'bytes': 0}, 'dropped': {'packets': 0, 'bytes': 0}})
            entry[kind]['packets'] += packets
            entry[kind]['bytes'] += octets
    return result, {'packets': unlisted[0], 'bytes': unlisted[1]}


def _verdict(tool, rule):
    if rule.endswith('-j DROP'):
        return 'dropped'
    if rule.endswith('-j ACCEPT') and not (tool == 'eb' and rule in ('-p 0x%04x -j ACCEPT' % ETHERTYPE_IPV4, '-p 0x%04x -j ACCEPT' % ETHERTYPE_IPV6)):
        return 'accepted'
    return None
