# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables form of the anti-spoofing policy: tables, sets, elements, scripts.

Private module_utils (leading underscore): may change without notice.

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

A policy is a dict {(family, set name): set of element tuples}; elements
are plain values (interface names, MAC and address text, ethertype
numbers), the same whether rendered here or parsed back from `nft -j`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
from collections import namedtuple

from ansible_collections.xenfleet.network.plugins.module_utils._nft import delete_table_script, replace_table_script

TABLE = 'xenfleet_antispoof'
FAMILIES = ('bridge', 'inet')
HOOK = 'prerouting'  # before the bridge learns the source MAC, and before frames reach dom0's stack
PRIORITY = -350
UNLISTED_COUNTER = 'unlisted'
LAYOUT_VERSION = '1'

# A set key is a tuple of these component kinds. 'nd_target' and 'nd_lladdr' are raw
# ICMPv6 payload (the neighbour discovery target address, the link-layer address
# option), matched with typeof sets because nft 1.0 has no named field for them;
# their values are numbers (a network: a (first, last) pair).
TYPEOF = {'ifname': 'iifname', 'ether_addr': 'ether saddr', 'ether_type': 'ether type', 'ipv4_addr': 'ip saddr',
          'ipv6_addr': 'ip6 saddr', 'nd_target': '@th,64,128', 'nd_lladdr': '@th,208,48'}

# verdict: the verdict of a map's elements (None for a plain set).
SetDef = namedtuple('SetDef', 'name key interval counter families verdict')
SetDef.__new__.__defaults__ = (None,)
BRIDGE_ONLY = ('bridge',)
DEFAULT_ETHERTYPES = {0x0800: 'no_ipv4', 0x86dd: 'no_ipv6', 0x0806: 'no_arp'}

SETS = (
    SetDef('trusted', ('ifname',), True, False, BRIDGE_ONLY),
    SetDef('unlisted', ('ifname',), True, False, BRIDGE_ONLY),
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
GLOBAL_SETS = ('trusted', 'unlisted')  # not keyed by a vif

IPV4_RULES = (
    'udp sport 67 iifname != @dhcp_server goto refuse',
    'udp dport 67 iifname @no_dhcp goto refuse',
    'ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept',
    'iifname . ip saddr != @addr4 iifname . ip saddr != @net4 goto refuse',
    'icmp type redirect iifname != @router goto refuse',
    'accept',
)
IPV6_RULES = (
    'udp sport 547 iifname != @dhcp_server goto refuse',
    'udp dport 547 iifname @no_dhcp goto refuse',
    'icmpv6 type { nd-router-advert, nd-redirect } iifname != @router goto refuse',
    # Duplicate address detection comes from :: and may only probe the guest's own addresses.
    'ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @nd_addr6 accept',
    'ip6 saddr :: icmpv6 type nd-neighbor-solicit iifname . @th,64,128 @nd_net6 accept',
    'ip6 saddr :: icmpv6 type { mld-listener-report, mld2-listener-report } accept',
    'iifname . ip6 saddr != @addr6 iifname . ip6 saddr != @net6 goto refuse',
    'icmpv6 type nd-neighbor-advert iifname . @th,64,128 != @nd_addr6 iifname . @th,64,128 != @nd_net6 goto refuse',
    # A source or target link-layer address option (the first option) must carry the guest's own MAC.
    'icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } @th,192,16 { 0x0101, 0x0201 } iifname . @th,208,48 != @nd_mac goto refuse',
    'accept',
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


def _chains(family):
    """(name, hooked, rules) of one family's table, in order.

    Every chain after the dispatch ends in a verdict (goto, never jump), so a guest's frame never falls back
    into prerouting. A frame of IPv4, IPv6 or ARP costs one ethertype check only when its vif forbids it
    (no_ipv4, no_ipv6, no_arp, normally empty); other ethertypes must be listed in ethertypes.
    """
    if family == 'bridge':
        prerouting = ('iifname vmap @guests', 'iifname @trusted accept', 'iifname @unlisted counter name "%s" drop' % UNLISTED_COUNTER)
        guest = ('iifname . ether saddr != @macs goto refuse',
                 'ether type vmap { ip : goto guest_ip4, ip6 : goto guest_ip6, arp : goto guest_arp }',
                 'iifname . ether type @ethertypes accept', 'goto refuse')
        ipv4, ipv6 = ('iifname @no_ipv4 goto refuse',) + IPV4_RULES, ('iifname @no_ipv6 goto refuse',) + IPV6_RULES
    else:
        prerouting = ('iifname vmap @guests',)
        guest = ('iifname . ether saddr != @macs goto refuse', 'meta nfproto vmap { ipv4 : goto guest_ip4, ipv6 : goto guest_ip6 }',
                 'goto refuse')
        ipv4, ipv6 = IPV4_RULES, IPV6_RULES
    chains = [('prerouting', True, prerouting), ('guest', False, guest), ('guest_ip4', False, ipv4), ('guest_ip6', False, ipv6)]
    if family == 'bridge':
        chains.append(('guest_arp', False, ('iifname @no_arp goto refuse',) + ARP_RULES))
    return chains + [('refuse', False, REFUSE_RULES)]


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


# How each set's elements are written; thousands of vifs mean tens of thousands of elements.
FORMATTERS = {
    'ifname': lambda element: '"%s"' % element,
    'ether_addr': lambda element: '"%s" . %s' % element,
    'ipv4_addr': lambda element: '"%s" . %s' % element,
    'ipv6_addr': lambda element: '"%s" . %s' % element,
    'ether_type': lambda element: '"%s" . 0x%04x' % element,
    'nd_lladdr': lambda element: '"%s" . 0x%012x' % element,
    'nd_target': lambda element: '"%s" . %s' % (element[0], _nd_target(element[1])),
}


def render_element(definition, element, counter=None, verdict=True):
    """One element as nft writes it; a map's element with its verdict unless verdict is false (deleting)."""
    text = FORMATTERS[definition.key[-1]](element)
    if counter is not None:
        text += ' counter packets %d bytes %d' % counter
    if definition.verdict and verdict:
        text += ' : ' + definition.verdict
    return text


def _vif_elements(vif):
    name = vif.name
    found = {'guests': [(name,)], 'dropped': [(name,)],
             'macs': [(name, mac) for mac in vif.macs], 'nd_mac': [(name, int(mac.replace(':', ''), 16)) for mac in vif.macs],
             'addr4': [(name, host) for host in vif.hosts(4)], 'net4': [(name, net) for net in vif.nets(4)],
             'addr6': [(name, host) for host in vif.hosts(6)], 'net6': [(name, net) for net in vif.nets(6)],
             'nd_addr6': [(name, n) for n in vif.numbers(6) if not isinstance(n, tuple)],
             'nd_net6': [(name, n) for n in vif.numbers(6) if isinstance(n, tuple)],
             'no_dhcp': [] if vif.dhcp else [(name,)], 'dhcp_server': [(name,)] if vif.dhcp_server else [],
             'router': [(name,)] if vif.router else []}
    if not vif.routed:
        found['ethertypes'] = [(name, number) for number in vif.ethertypes if number not in DEFAULT_ETHERTYPES]
        for number, set_name in DEFAULT_ETHERTYPES.items():
            found[set_name] = [] if number in vif.ethertypes else [(name,)]
    return found


def empty_policy(family):
    return dict(((family, d.name), set()) for d in SETS if family in d.families)


def desired_policy(spec, current):
    """{(family, set): elements} the tables must hold.

    current is the policy now in the kernel ({} when there is none): without
    purge, the elements of vifs not named in the task stay as they are, and
    without trusted_ports the trusted ports stay as they are.
    """
    listed = set(spec.vif_names())
    policy = {}
    for family in FAMILIES:
        policy.update(empty_policy(family))
        for key in policy:
            if key[0] == family and key[1] not in GLOBAL_SETS and not spec.purge:
                policy[key] = set(element for element in current.get(key, ()) if element[0] not in listed)
    for vif in spec.vifs:
        family = 'inet' if vif.routed else 'bridge'
        for name, elements in _vif_elements(vif).items():
            policy[(family, name)].update(elements)
    trusted = spec.trusted_ports
    policy[('bridge', 'trusted')] = set((port,) for port in trusted) if trusted is not None else set(current.get(('bridge', 'trusted'), ()))
    policy[('bridge', 'unlisted')] = set((pattern,) for pattern in spec.vif_patterns) if spec.unlisted_vifs == 'drop' else set()
    return policy


def family_needed(policy, family):
    """The bridge table always exists while the policy is present; the inet one only with routed vifs."""
    return family == 'bridge' or bool(policy.get((family, 'guests')))


def vifs_of(policy):
    """Names of the vifs that have a policy, by family."""
    return dict((family, sorted(element[0] for element in policy.get((family, 'guests'), ()))) for family in FAMILIES)


# ---------------------------------------------------------------- scripts

def _set_declaration(family, definition, elements, counters, rendered):
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
        if definition.counter and counters:
            texts = [render_element(definition, element, counters.get((family, definition.name, element))) for element in sorted(elements)]
        else:
            texts = _rendered(rendered, family, definition, elements)
        lines.append('\t\telements = {\n\t\t\t%s\n\t\t}' % ',\n\t\t\t'.join(texts))
    lines.append('\t}')
    return '\n'.join(lines) + '\n'


def _rendered(cache, family, definition, elements):
    """The elements as text, sorted; cache (a dict, or None) keeps them for the next script of the same run."""
    key = (family, definition.name)
    if cache is None or key not in cache:
        texts = [render_element(definition, element) for element in sorted(elements)]
        if cache is None:
            return texts
        cache[key] = texts
    return cache[key]


def table_body(family, policy, counters=None, rendered=None):
    """The inside of one table, elements included; counters (from the kernel) are carried over when given."""
    counters = counters or {}
    unlisted = counters.get((family, UNLISTED_COUNTER))
    parts = ['\tcomment "managed by xenfleet.network xen_antispoof; do not edit"\n']
    if family == 'bridge':
        parts.append('\tcounter %s {\n%s\t}\n' % (UNLISTED_COUNTER, '\t\tpackets %d bytes %d\n' % unlisted if unlisted else ''))
    for definition in SETS:
        if family in definition.families:
            parts.append(_set_declaration(family, definition, policy.get((family, definition.name), ()), counters, rendered))
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


def full_script(policy, counters=None, delete=(), rendered=None):
    """One script replacing the tables the policy needs and deleting those in delete it does not need."""
    parts = []
    for family in FAMILIES:
        if family_needed(policy, family):
            parts.append(replace_table_script(family, TABLE, table_body(family, policy, counters, rendered)))
        elif family in delete:
            parts.append(delete_table_script(family, TABLE))
    return ''.join(parts)


def persist_text(policy, rendered=None):
    header = ('#!/usr/sbin/nft -f\n# Written by xenfleet.network xen_antispoof; loaded at boot with nft -f.\n'
              '# Replaces only the tables named here, in one transaction.\n')
    return header + full_script(policy, rendered=rendered)


def element_script(family, before, after, chunk=512):
    """add/delete element commands taking one table's sets from before to after."""
    lines = []
    for verb, left, right in (('delete', before, after), ('add', after, before)):
        for definition in SETS:
            if family not in definition.families:
                continue
            key = (family, definition.name)
            changed = sorted(set(left.get(key, ())) - set(right.get(key, ())))
            for start in range(0, len(changed), chunk):
                rendered = ', '.join(render_element(definition, element, verdict=verb == 'add') for element in changed[start:start + chunk])
                lines.append('%s element %s %s %s { %s }' % (verb, family, TABLE, definition.name, rendered))
    return '\n'.join(lines) + '\n' if lines else ''


def delete_script(families):
    return ''.join('delete table %s %s\n' % (family, TABLE) for family in families)
