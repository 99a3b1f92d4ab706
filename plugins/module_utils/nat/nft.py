# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables table of one xen_nat instance: source NAT, port forwards, hairpin, inbound guard.

Private to the collection: may change without notice.

Each instance owns `table ip xenfleet_nat_<name>` and nothing else, so
instances coexist with each other and with the host's own firewall. The
table is rendered the way `nft list table` prints it, so a diff between the
kernel's listing and the rendering shows only real changes.

Rules (bridge xenbr1, subnet 10.0.1.0/24, uplink eth0, masquerade):
- postrouting: `oifname "eth0" ip saddr 10.0.1.0/24 masquerade` (or
  `snat to <snat_to>`), and for hairpin forwards the guest-to-guest leg is
  masqueraded to the gateway, so the reply comes back through dom0.
- prerouting: a forward matches packets from the uplink to a local address
  of dom0 (`fib daddr type local`, which follows a dynamic uplink address),
  or to snat_to when that is given; a hairpin forward also matches from the
  bridge, except traffic to the gateway itself.
- forward: guests may send only from the subnet; with source NAT, packets
  into the bridge from elsewhere pass only as replies or port forwards.
  Matches key on the bridge, not on `iifname` in postrouting, because with
  br_netfilter the input device seen there is the guest's vif.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError, NftQuoteError, nft_ifname, nft_string

FAMILY = 'ip'
TABLE_PREFIX = 'xenfleet_nat_'
PROTOCOLS = ('tcp', 'udp')  # written unquoted as nft keywords


def table_name(instance):
    return TABLE_PREFIX + instance


def _chain(name, hook, kind, priority, rules):
    lines = ['\tchain %s {' % name, '\t\ttype %s hook %s priority %s; policy accept;' % (kind, hook, priority)]
    lines.extend('\t\t' + rule for rule in rules)
    lines.append('\t}')
    return '\n'.join(lines) + '\n'


def _public_match(spec, gateway, from_bridge):
    """How a packet addressed to dom0's public address is recognised."""
    if spec.snat_to is not None:
        return 'ip daddr %s' % spec.snat_to
    if from_bridge:
        return 'fib daddr type local ip daddr != %s' % gateway
    return 'fib daddr type local'


def _devices(spec):
    """(uplink, bridge) as nft quoted strings; NftQuoteError for a name nft cannot carry (validation refuses it first)."""
    return nft_ifname(spec.uplink, 'uplink'), nft_ifname(spec.bridge, 'bridge')


def _proto(forward):
    if forward.proto not in PROTOCOLS:
        raise NftQuoteError("port_forwards proto %r is not one of %s" % (forward.proto, ', '.join(PROTOCOLS)))
    return forward.proto


def prerouting_rules(spec, gateway):
    rules = []
    uplink, bridge = _devices(spec)
    for forward in spec.port_forwards:
        proto = _proto(forward)
        action = '%s dport %d dnat to %s:%d comment %s' % (
            proto, forward.port, forward.to_ip, forward.to_port, nft_string('port forward %s' % forward.key))
        rules.append('iifname %s %s %s' % (uplink, _public_match(spec, gateway, False), action))
        if forward.hairpin:
            rules.append('iifname %s %s %s' % (bridge, _public_match(spec, gateway, True), action))
    return rules


def postrouting_rules(spec):
    rules = []
    uplink, bridge = _devices(spec)
    if spec.source_nat == 'snat':
        rules.append('oifname %s ip saddr %s snat to %s' % (uplink, spec.subnet, spec.snat_to))
    elif spec.source_nat == 'masquerade':
        rules.append('oifname %s ip saddr %s masquerade' % (uplink, spec.subnet))
    if any(forward.hairpin for forward in spec.port_forwards):
        rules.append('oifname %s ip saddr %s ct status dnat masquerade' % (bridge, spec.subnet))
    return rules


def forward_rules(spec):
    dummy, bridge = _devices(spec)
    rules = ['iifname %s ip saddr != %s drop' % (bridge, spec.subnet)]
    if spec.source_nat is not None:
        rules.extend([
            'oifname %s ct state established,related accept' % bridge,
            'oifname %s ct status dnat accept' % bridge,
            'oifname %s iifname != %s drop' % (bridge, bridge),
        ])
    return rules


def render_body(spec, gateway):
    """The inside of the table, in `nft list` form."""
    chains = []
    prerouting = prerouting_rules(spec, gateway)
    if prerouting:
        chains.append(_chain('prerouting', 'prerouting', 'nat', 'dstnat', prerouting))
    postrouting = postrouting_rules(spec)
    if postrouting:
        chains.append(_chain('postrouting', 'postrouting', 'nat', 'srcnat', postrouting))
    chains.append(_chain('forward', 'forward', 'filter', 'filter', forward_rules(spec)))
    name = nft_string(spec.name, 'name')[1:-1]  # checked alone, so the error shows the name and not the whole comment
    comment = '\tcomment "xenfleet.network xen_nat %s: managed by Ansible, local changes are replaced"\n' % name
    return comment + '\n'.join(chains)


def render_table(spec, gateway):
    """The whole table as `nft list table` prints it."""
    return 'table %s %s {\n%s}\n' % (FAMILY, table_name(spec.name), render_body(spec, gateway))


def fingerprint(text):
    return hashlib.sha256(text.encode('utf-8')).hexdigest()


def normalize_listing(objects, command='nft -j list table'):
    """nft -j objects without handles and metainfo, so two listings of the same table compare equal; NftError naming
    the command when an object is not {kind: body}, as nft prints them."""
    if objects is None:
        return None
    normalized = []
    for entry in objects:
        if not isinstance(entry, dict):
            raise NftError('%s printed %s where nft lists {kind: object}' % (command, json.dumps(entry)[:80]))
        if 'metainfo' in entry:
            continue
        copy = {}
        for kind, body in entry.items():
            copy[kind] = dict((key, value) for key, value in body.items() if key != 'handle') if isinstance(body, dict) else body
        normalized.append(copy)
    return json.loads(json.dumps(normalized, sort_keys=True))


def table_current(record, listing, text):
    """Whether the kernel's table is the one rendered as text, judged by nft -j.

    record is what the last apply stored: the rendering's fingerprint and the
    normalized listing the kernel gave back. A different rendering, a missing
    table or a listing that drifted (someone edited the table) all mean the
    table must be replaced.
    """
    if listing is None or not record:
        return False
    return record.get('fingerprint') == fingerprint(text) and record.get('listing') == listing
