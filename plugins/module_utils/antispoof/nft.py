# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables form of the anti-spoofing policy: tables, sets, elements, scripts.

Private to the collection: may change without notice.

Two tables belong to the collection, `bridge xenfleet_antispoof` (bridged
vifs) and `inet xenfleet_antispoof` (routed vifs, which are not bridged). Their
rules never mention a vif: every guest is data in sets keyed by interface
name (`iifname . ip saddr` and so on), so the cost per packet does not grow
with the number of guests and adding a guest is adding elements. Sets of
single addresses are hash sets; only networks wider than one address go to
interval sets.

The bridge table hooks prerouting at priority -350, before the bridge
learns the source MAC (learning happens after the prerouting hook), before
ebtables' nat chains and before any frame reaches dom0's own stack, so
forged frames addressed to dom0 itself are dropped too.

A policy is a dict {(family, set name): set of element keys}; a key is
the element as nft writes it ('"vif1.0" . 192.0.2.21'), rendered once from a
vif's values here or from `nft -j` by _antispoof_state. Keys compare as
plain strings and go into scripts as they are, so a change among thousands
of vifs costs set arithmetic, not rendering.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
from collections import namedtuple

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import (
    NftQuoteError, boot_script, delete_table_script, nft_ifname, replace_table_script)
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import emulated_twin

TABLE = 'xenfleet_antispoof'
FAMILIES = ('bridge', 'inet')
HOOK = 'prerouting'  # before the bridge learns the source MAC, and before frames reach dom0's stack
PRIORITY = -350
LAYOUT_VERSION = '3'

# A set key is a tuple of these component kinds. 'nd_target' and 'nd_lladdr' are raw
# ICMPv6 payload (the neighbour discovery target address, the link-layer address
# option), matched with typeof sets because nft 1.0 has no named field for them;
# their values are numbers (a network: a (first, last) pair). nd_mac, the vif's MACs
# as 48-bit numbers, also serves the router solicitation's option and DHCP's chaddr.
TYPEOF = {'ifname': 'iifname', 'ether_addr': 'ether saddr', 'ether_type': 'ether type', 'ipv4_addr': 'ip saddr',
          'ipv6_addr': 'ip6 saddr', 'nd_target': '@th,64,128', 'nd_lladdr': '@th,208,48'}

# verdict: the verdict of a map's elements (None for a plain set).
SetDef = namedtuple('SetDef', 'name key interval counter families verdict')
SetDef.__new__.__defaults__ = (None,)
BRIDGE_ONLY = ('bridge',)
DEFAULT_ETHERTYPES = {0x0800: 'no_ipv4', 0x86dd: 'no_ipv6', 0x0806: 'no_arp'}

SETS = (
    SetDef('trusted', ('ifname',), True, False, FAMILIES),
    # dom0's own interfaces (host_interfaces, and lo once they are declared).
    SetDef('host', ('ifname',), True, False, FAMILIES),
    # Counts the frames dropped per pattern: a set read alone is cheap, where `nft list counter` reads every set.
    SetDef('unlisted', ('ifname',), True, True, FAMILIES),
    # Every packet type while dom0's interfaces are declared, so that whatever is left is dropped (and counted);
    # empty otherwise. A set, not a rule of its own, so the switch is data and the layout stays one.
    SetDef('closed', ('pkt_type',), False, True, FAMILIES),
    # The dispatch map: one lookup sends a guest's frame to its checks and counts it (accepted = this - dropped).
    SetDef('guests', ('ifname',), False, True, FAMILIES, 'goto guest'),
    SetDef('dropped', ('ifname',), False, True, FAMILIES),
    SetDef('macs', ('ifname', 'ether_addr'), False, False, FAMILIES),
    SetDef('no_ipv4', ('ifname',), False, False, BRIDGE_ONLY),
    SetDef('no_ipv6', ('ifname',), False, False, BRIDGE_ONLY),
    SetDef('no_arp', ('ifname',), False, False, BRIDGE_ONLY),
    SetDef('ethertypes', ('ifname', 'ether_type'), False, False, BRIDGE_ONLY),
    SetDef('addr4', ('ifname', 'ipv4_addr'), False, False, FAMILIES),
    SetDef('net4', ('ifname', 'ipv4_addr'), True, False, FAMILIES),
    SetDef('addr6', ('ifname', 'ipv6_addr'), False, False, FAMILIES),
    SetDef('net6', ('ifname', 'ipv6_addr'), True, False, FAMILIES),
    SetDef('nd_addr6', ('ifname', 'nd_target'), False, False, FAMILIES),
    SetDef('nd_net6', ('ifname', 'nd_target'), True, False, FAMILIES),
    SetDef('nd_mac', ('ifname', 'nd_lladdr'), False, False, FAMILIES),
    SetDef('no_dhcp', ('ifname',), False, False, FAMILIES),
    SetDef('dhcp_server', ('ifname',), False, False, FAMILIES),
    SetDef('router', ('ifname',), False, False, FAMILIES),
)
SETS_BY_NAME = dict((definition.name, definition) for definition in SETS)
GLOBAL_SETS = ('trusted', 'host', 'unlisted', 'closed')  # not keyed by a vif
PACKET_TYPES = ('broadcast', 'host', 'multicast', 'other')  # every frame a prerouting hook sees is one of them
EMPTY = frozenset()

# A first fragment (IPv4 with more to come, every IPv6 fragment at offset 0, atomic ones included) must carry the
# whole upper-layer header (RFC 7112): the checks below read ports and types there, and a header pushed into a later
# fragment (by extension headers, or a tiny first fragment) would make every one of them miss. Later fragments carry
# no header the receiver interprets; they pass on their source address alone.
IPV4_FIRST_FRAGMENT = 'ip frag-off & 0x3fff == 0x2000 jump first_fragment'
IPV6_FIRST_FRAGMENT = 'frag frag-off 0 jump first_fragment'
IPV4_RULES = (
    IPV4_FIRST_FRAGMENT,
    'udp sport 67 iifname != @dhcp_server goto refuse',
    'udp dport 67 iifname @no_dhcp goto refuse',
    'udp dport 67 iifname != @dhcp_server jump dhcp_request',
    'ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
    'iifname . ip saddr != @addr4 iifname . ip saddr != @net4 goto refuse',
    'icmp type redirect iifname != @router goto refuse',
    'accept',
)
IPV6_RULES = (
    IPV6_FIRST_FRAGMENT,
    'udp sport 547 iifname != @dhcp_server goto refuse',
    'udp dport 547 iifname @no_dhcp goto refuse',
    'icmpv6 type { nd-router-advert, nd-redirect } iifname != @router goto refuse',
    'icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } jump nd_shape',
    # Duplicate address detection comes from :: and may only probe the guest's own addresses.
    'ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @nd_addr6 accept',
    'ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @nd_net6 accept',
    'ip6 saddr :: icmpv6 type { mld-listener-report, mld2-listener-report } accept',
    'iifname . ip6 saddr != @addr6 iifname . ip6 saddr != @net6 goto refuse',
    'icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @nd_addr6 iifname . @th,64,128 != @nd_net6 goto refuse',
    'accept',
)
# The chains below are entered with jump: each accepted shape returns to the checks that follow, anything else is
# refused, and a field that cannot be read (a header cut short) matches nothing, so it is refused too.
FIRST_FRAGMENT_RULES = (
    'meta l4proto { udp, icmp, ipv6-icmp } @th,32,32 >= 0 return',  # 8 bytes of header present
    'meta l4proto tcp @th,128,32 >= 0 return',  # 20 bytes
    'meta l4proto != { tcp, udp, icmp, ipv6-icmp } return',  # no check reads them; a chain that does not end is refused
    'goto refuse',
)
# nft cannot loop over options, so RS, NS and NA are accepted only in the shapes that carry at most one option:
# no extension header (RFC 6980 forbids fragmented ND), no option, or exactly one source/target link-layer address
# option of length 1 carrying the guest's own MAC (or, in duplicate address detection, one nonce option, RFC 7527).
ND_SHAPE_RULES = (
    'ip6 nexthdr ipv6-icmp icmpv6 type nd-router-solicit ip6 length 8 return',
    'ip6 nexthdr ipv6-icmp icmpv6 type nd-router-solicit ip6 length 16 @th,64,16 0x0101 iifname . @th,80,48 @nd_mac return',
    'ip6 nexthdr ipv6-icmp icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } ip6 length 24 return',
    'ip6 nexthdr ipv6-icmp icmpv6 type nd-neighbor-solicit ip6 length 32 @th,192,16 0x0101 iifname . @th,208,48 @nd_mac return',
    'ip6 nexthdr ipv6-icmp icmpv6 type nd-neighbor-advert ip6 length 32 @th,192,16 0x0201 iifname . @th,208,48 @nd_mac return',
    'ip6 nexthdr ipv6-icmp icmpv6 type nd-neighbor-solicit ip6 saddr :: ip6 length 32 @th,192,16 0x0e01 return',
    'goto refuse',
)
# A DHCP client names its hardware in the BOOTP header (htype, hlen, and chaddr at UDP payload offset 28); a server
# hands leases out by it, so a request naming another MAC could drain the pool or take another guest's fixed lease.
# Requests are never fragmented, which keeps chaddr readable.
DHCP_REQUEST_RULES = (
    'ip frag-off & 0x3fff 0 @th,72,16 0x0106 iifname . @th,288,48 @nd_mac return',
    'goto refuse',
)
ARP_RULES = (
    'arp htype != 1 goto refuse',
    'arp ptype != ip goto refuse',
    'arp hlen != 6 goto refuse',
    'arp plen != 4 goto refuse',
    'iifname . arp saddr ether != @macs goto refuse',
    'arp operation request arp saddr ip 0.0.0.0 accept',
    'iifname . arp saddr ip != @addr4 iifname . arp saddr ip != @net4 goto refuse',
    'accept',
)
REFUSE_RULES = ('iifname @dropped drop', 'drop')


# Guests (and their emulated NICs) go to their checks; dom0's own interfaces pass; what is left is dropped by its
# name (vif_patterns), or whatever its name once dom0's interfaces are declared (closed).
PREROUTING = ('iifname vmap @guests', 'iifname @trusted accept', 'iifname @host accept', 'iifname @unlisted drop',
              'meta pkttype @closed drop')


def _chains(family):
    """(name, hooked, rules) of one family's table, in order.

    Every chain after the dispatch ends in a verdict (goto, never jump), so a guest's frame never falls back
    into prerouting. A frame of IPv4, IPv6 or ARP costs one ethertype check only when its vif forbids it
    (no_ipv4, no_ipv6, no_arp, normally empty); other ethertypes must be listed in ethertypes.
    """
    if family == 'bridge':
        prerouting = PREROUTING
        guest = ('iifname . ether saddr != @macs goto refuse',
                 'ether type vmap { ip : goto guest_ip4, ip6 : goto guest_ip6, arp : goto guest_arp }',
                 'iifname . ether type @ethertypes accept', 'goto refuse')
        ipv4, ipv6 = ('iifname @no_ipv4 goto refuse',) + IPV4_RULES, ('iifname @no_ipv6 goto refuse',) + IPV6_RULES
    else:
        prerouting = PREROUTING
        guest = ('iifname . ether saddr != @macs goto refuse', 'meta nfproto vmap { ipv4 : goto guest_ip4, ipv6 : goto guest_ip6 }',
                 'goto refuse')
        ipv4, ipv6 = IPV4_RULES, IPV6_RULES
    chains = [('prerouting', True, prerouting), ('guest', False, guest), ('guest_ip4', False, ipv4), ('guest_ip6', False, ipv6)]
    if family == 'bridge':
        chains.append(('guest_arp', False, ('iifname @no_arp goto refuse',) + ARP_RULES))
    return chains + [('first_fragment', False, FIRST_FRAGMENT_RULES), ('nd_shape', False, ND_SHAPE_RULES),
                     ('dhcp_request', False, DHCP_REQUEST_RULES), ('refuse', False, REFUSE_RULES)]


def layout_digest(family):
    """A fingerprint of everything but the elements; stored as the first rule's comment."""
    text = repr((LAYOUT_VERSION, family, HOOK, PRIORITY, _chains(family), [d for d in SETS if family in d.families]))
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def layout_comment(family):
    return 'xenfleet.network xen_antispoof layout %s' % layout_digest(family)


def expected_layout(family):
    """What a current table must show to be ours, in the form _antispoof_state reads it."""
    return {'comment': layout_comment(family),
            'chains': dict((name, len(rules)) for name, _hooked, rules in _chains(family)),
            'sets': sorted(d.name for d in SETS if family in d.families)}


# ---------------------------------------------------------------- elements

def _nd_target(value):
    """A neighbour discovery target: an address as a number, or a network as (first, last)."""
    if isinstance(value, tuple):
        return '0x%032x-0x%032x' % value
    return '0x%032x' % value


# How the value after a vif's name is written, by the kind of the set's last key component.
VALUE_FORMATS = {
    'ether_addr': str,
    'ipv4_addr': str,
    'ipv6_addr': str,
    'ether_type': '0x%04x'.__mod__,
    'nd_lladdr': '0x%012x'.__mod__,
    'nd_target': _nd_target,
}


def ifname_key(name, field='vif name', wildcard=False):
    """The key of an interface name (a vif, or with wildcard a port or name pattern) in a set of ifname.

    Keys go into scripts as they are, so this is where a name that nft cannot carry is refused
    (NftQuoteError); the spec refuses them first.
    """
    return nft_ifname(name, field, wildcard)


def element_key(definition, values):
    """An element's key as nft writes it, from its values (a tuple in the order of the set's key), as read back from nft.

    Names read from the kernel are checked too, as the elements of vifs a task does not name are written back.
    """
    if definition.key == ('pkt_type',):
        if values[0] not in PACKET_TYPES:
            raise NftQuoteError('set element %r of set %s is not one of %s' % (values[0], definition.name, ', '.join(PACKET_TYPES)))
        return values[0]
    if len(values) == 1:
        return nft_ifname(values[0], 'set element', True)
    return '%s . %s' % (nft_ifname(values[0], 'set element', True), VALUE_FORMATS[definition.key[-1]](values[1]))


def render_element(definition, key, counter=None, verdict=True):
    """One element for a script: its key, the counter carried over, and a map's verdict unless verdict is false (deleting)."""
    if counter is not None:
        key += ' counter packets %d bytes %d' % counter
    if definition.verdict and verdict:
        key += ' : ' + definition.verdict
    return key


def vif_of(key):
    """The vif an element belongs to: every set but the global ones is keyed by the vif's name first."""
    return key[1:key.index('"', 1)]


def _vif_keys(vif):
    """{set name: element keys} of one vif and of its emulated NIC, which gets the same checks under its own name."""
    found = _device_keys(vif, vif.name)
    if vif.twin is not None:
        for name, keys in _device_keys(vif, vif.twin).items():
            found[name] = found[name] + keys
    return found


def _device_keys(vif, device):
    """{set name: element keys} of one device carrying vif's policy; built as text directly, as thousands of vifs mean
    tens of thousands of keys."""
    alone = ifname_key(device)
    prefix = alone + ' . '
    numbers6 = vif.numbers(6)
    found = {'guests': [alone], 'dropped': [alone],
             'macs': [prefix + mac for mac in vif.macs],
             'nd_mac': [prefix + VALUE_FORMATS['nd_lladdr'](int(mac.replace(':', ''), 16)) for mac in vif.macs],
             'addr4': [prefix + host for host in vif.hosts(4)], 'net4': [prefix + net for net in vif.nets(4)],
             'addr6': [prefix + host for host in vif.hosts(6)], 'net6': [prefix + net for net in vif.nets(6)],
             'nd_addr6': [prefix + _nd_target(n) for n in numbers6 if not isinstance(n, tuple)],
             'nd_net6': [prefix + _nd_target(n) for n in numbers6 if isinstance(n, tuple)],
             'no_dhcp': [] if vif.dhcp else [alone], 'dhcp_server': [alone] if vif.dhcp_server else [],
             'router': [alone] if vif.router else []}
    if not vif.routed:
        found['ethertypes'] = [prefix + VALUE_FORMATS['ether_type'](number) for number in vif.ethertypes if number not in DEFAULT_ETHERTYPES]
        for number, set_name in DEFAULT_ETHERTYPES.items():
            found[set_name] = [] if number in vif.ethertypes else [alone]
    return found


def empty_policy(family):
    return dict(((family, d.name), set()) for d in SETS if family in d.families)


def desired_policy(spec, current):
    """{(family, set): element keys} the tables must hold.

    current is the policy now in the kernel ({} when there is none): without
    purge, the elements of vifs not named in the task stay as they are, and
    without trusted_ports or host_interfaces the ports and interfaces declared
    before stay as they are.
    """
    unlisted = _elements_of_others(set(spec.device_names()))
    policy = {}
    for family in FAMILIES:
        policy.update(empty_policy(family))
        for key in policy:
            if key[0] == family and key[1] not in GLOBAL_SETS and not spec.purge:
                policy[key] = unlisted(current.get(key, EMPTY))
    for vif in spec.vifs:
        family = 'inet' if vif.routed else 'bridge'
        for name, keys in _vif_keys(vif).items():
            if keys:
                policy[(family, name)].update(keys)
    trusted = _declared(spec.trusted_ports, 'trusted_ports', current.get(('bridge', 'trusted'), ()))
    host = _declared(None if spec.host_interfaces is None else ['lo'] + spec.host_interfaces, 'host_interfaces',
                     current.get(('bridge', 'host'), ()))
    drop = spec.unlisted_vifs == 'drop'
    for family in FAMILIES:
        policy[(family, 'trusted')] = set(trusted)
        policy[(family, 'host')] = set(host)
        policy[(family, 'unlisted')] = set(ifname_key(pattern, 'vif_patterns', wildcard=True) for pattern in spec.vif_patterns) if drop else set()
        policy[(family, 'closed')] = set(PACKET_TYPES) if drop and host else set()
    return policy


def _declared(names, field, current):
    """The keys of the names given, or those in the kernel when none are."""
    if names is None:
        return set(current)
    return set(ifname_key(name, field, wildcard=True) for name in names)


def _elements_of_others(listed):
    """A function keeping the elements of a set that belong to vifs not in listed.

    A task naming a few vifs among thousands runs this over every element, so
    the few are matched as key prefixes ('"vif1.0"' ends with the quote, so it
    cannot match vif1.00); many are looked up by name.
    """
    if not listed:
        return set
    if len(listed) <= 32:
        prefixes = tuple(ifname_key(name) for name in listed)
        return lambda elements: set(element for element in elements if not element.startswith(prefixes))
    return lambda elements: set(element for element in elements if vif_of(element) not in listed)


def family_needed(policy, family):
    """The bridge table always exists while the policy is present; the inet one only with routed vifs, or to drop
    what arrives on interfaces that are not dom0's own."""
    return family == 'bridge' or bool(policy.get((family, 'guests'))) or bool(policy.get((family, 'closed')))


def vifs_of(policy):
    """Names of the vifs that have a policy, by family (their emulated NICs are not vifs of their own)."""
    owners = owners_of(policy)
    return dict((family, sorted(name for name in (vif_of(element) for element in policy.get((family, 'guests'), ()))
                                if owners.get(name, name) == name)) for family in FAMILIES)


def owners_of(*policies):
    """{device: vif} of every emulated NIC whose vif has a policy in one of the policies."""
    owners = {}
    for policy in policies:
        for family in FAMILIES:
            for element in policy.get((family, 'guests'), ()):
                name = vif_of(element)
                twin = emulated_twin(name)
                if twin is not None:
                    owners[twin] = name
    return owners


# ---------------------------------------------------------------- scripts

def _set_declaration(family, definition, elements, counters):
    if definition.key[-1] in ('nd_target', 'nd_lladdr'):
        key = 'typeof ' + ' . '.join(TYPEOF[kind] for kind in definition.key)
    else:
        key = 'type ' + ' . '.join(definition.key) + (' : verdict' if definition.verdict else '')
    lines = ['\t%s %s {' % ('map' if definition.verdict else 'set', definition.name), '\t\t%s' % key]
    if definition.interval:
        lines.append('\t\tflags interval')
    if definition.counter:
        lines.append('\t\tcounter')
    if elements:
        if definition.counter or definition.verdict:
            texts = [render_element(definition, element, counters.get((family, definition.name, element))) for element in sorted(elements)]
        else:
            texts = sorted(elements)
        lines.append('\t\telements = {\n\t\t\t%s\n\t\t}' % ',\n\t\t\t'.join(texts))
    lines.append('\t}')
    return '\n'.join(lines) + '\n'


def table_body(family, policy, counters=None):
    """The inside of one table, elements included; counters (from the kernel) are carried over when given."""
    counters = counters or {}
    parts = ['\tcomment "managed by xenfleet.network xen_antispoof; do not edit"\n']
    for definition in SETS:
        if family in definition.families:
            parts.append(_set_declaration(family, definition, policy.get((family, definition.name), ()), counters))
    for name, hooked, rules in _chains(family):
        lines = ['\tchain %s {' % name]
        if hooked:
            lines.append('\t\ttype filter hook %s priority %d; policy accept;' % (HOOK, PRIORITY))
            # The first rule carries the layout fingerprint that the next run compares.
            rules = ('%s comment "%s"' % (rules[0], layout_comment(family)),) + tuple(rules[1:])
        lines.extend('\t\t' + rule for rule in rules)
        lines.append('\t}')
        parts.append('\n'.join(lines) + '\n')
    return ''.join(parts)


def full_script(policy, counters=None, delete=()):
    """One script replacing the tables the policy needs and deleting those in delete it does not need."""
    parts = []
    for family in FAMILIES:
        if family_needed(policy, family):
            parts.append(replace_table_script(family, TABLE, table_body(family, policy, counters)))
        elif family in delete:
            parts.append(delete_table_script(family, TABLE))
    return ''.join(parts)


def persist_text(policy):
    return boot_script('xen_antispoof', full_script(policy))


def element_script(family, before, after, chunk=512):
    """add/delete element commands taking one table's sets from before to after."""
    lines = []
    for verb, left, right in (('delete', before, after), ('add', after, before)):
        for definition in SETS:
            if family not in definition.families:
                continue
            key = (family, definition.name)
            changed = sorted(left.get(key, EMPTY) - right.get(key, EMPTY))
            for start in range(0, len(changed), chunk):
                rendered = ', '.join(render_element(definition, element, verdict=verb == 'add') for element in changed[start:start + chunk])
                lines.append('%s element %s %s %s { %s }' % (verb, family, TABLE, definition.name, rendered))
    return '\n'.join(lines) + '\n' if lines else ''


def delete_script(families):
    return ''.join('delete table %s %s\n' % (family, TABLE) for family in families)
