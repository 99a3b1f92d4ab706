# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the kernel holds now: the collection's nftables tables read back from `nft -j`.

Private to the collection: may change without notice.
Elements come back as the same keys _antispoof_nft renders, so the
desired and the current policy compare as plain Python sets, and a rerun
with nothing to do changes nothing. Counters (accepted and dropped per vif,
the drops of unlisted vifs) come from the same listing.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import ETHERTYPE_NUMBERS, emulated_twin
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft import (
    FAMILIES, HOOK, PRIORITY, SETS_BY_NAME, element_key, expected_layout, family_needed, ifname_key)


class TableState:
    """One of the collection's tables as the kernel has it."""

    def __init__(self, family):
        self.family = family
        self.comment = None  # the layout fingerprint on the hooked chain's first rule
        self.chains = {}  # name -> number of rules
        self.hooks = {}  # name -> (hook, priority) of base chains
        self.sets = {}  # name -> set of element keys
        self.counters = {}  # (family, set, element key) -> (packets, bytes)

    def layout(self):
        return {'comment': self.comment, 'chains': dict(self.chains), 'sets': sorted(self.sets)}


def _integer(value):
    if isinstance(value, int):
        return value
    return int(str(value), 0)


def _network(first, last, version):
    """CIDR text for an address range, or 'first-last' when it is not one network."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    networks = list(ipaddress.summarize_address_range(cls(first), cls(last)))
    return str(networks[0]) if len(networks) == 1 else '%s-%s' % (cls(first), cls(last))


def _address(value, version):
    if isinstance(value, dict) and 'prefix' in value:
        return '%s/%d' % (ipaddress.ip_address(value['prefix']['addr']), value['prefix']['len'])
    if isinstance(value, dict) and 'range' in value:
        first, last = value['range']
        return _network(int(ipaddress.ip_address(first)), int(ipaddress.ip_address(last)), version)
    return str(ipaddress.ip_address(value))


def _nd_target(value):
    if isinstance(value, dict) and 'range' in value:
        return (_integer(value['range'][0]), _integer(value['range'][1]))
    return _integer(value)


def _ethertype(value):
    # nft prints the types it knows by name (ip, arp, ip6, vlan, 8021ad...), others as numbers
    return ETHERTYPE_NUMBERS[value] if value in ETHERTYPE_NUMBERS else _integer(value)


PARSERS = {
    'ether_addr': lambda value: str(value).lower(),
    'ether_type': _ethertype,
    'ipv4_addr': lambda value: value if isinstance(value, str) else _address(value, 4),
    'ipv6_addr': lambda value: value if isinstance(value, str) and '.' not in value else _address(value, 6),
    'nd_target': _nd_target,
    'nd_lladdr': _integer,
}


def parse_element(definition, item):
    """(element key, counter or None) from one entry of a set's "elem" list."""
    counter = None
    if isinstance(item, list):  # a map's element: [key, verdict]
        item = item[0]
    if isinstance(item, dict) and 'elem' in item:
        counter = item['elem'].get('counter')
        item = item['elem']['val']
        if counter is not None:
            counter = (counter.get('packets', 0), counter.get('bytes', 0))
    if isinstance(item, dict) and 'concat' in item:
        name, value = item['concat']
        return element_key(definition, (str(name), PARSERS[definition.key[1]](value))), counter
    return element_key(definition, (str(item),)), counter


def parse_table(family, objects):
    """TableState from the object list of `nft -j list table`, or None when there is no table."""
    if objects is None:
        return None
    table = TableState(family)
    for entry in objects:
        if 'chain' in entry:
            chain = entry['chain']
            table.chains.setdefault(chain['name'], 0)
            if 'hook' in chain:
                table.hooks[chain['name']] = (chain['hook'], chain.get('prio'))
        elif 'rule' in entry:
            rule = entry['rule']
            table.chains[rule['chain']] = table.chains.get(rule['chain'], 0) + 1
            if rule['chain'] in table.hooks and table.chains[rule['chain']] == 1:
                table.comment = rule.get('comment')
        elif 'set' in entry or 'map' in entry:
            read_set(table, entry.get('set') or entry['map'])
    return table


def read_set(table, data):
    definition = SETS_BY_NAME.get(data['name'])
    if definition is None:
        table.sets[data['name']] = set()
        return
    elements = set()
    for item in data.get('elem', []):
        element, counter = parse_element(definition, item)
        elements.add(element)
        if counter is not None:
            table.counters[(table.family, definition.name, element)] = counter
    table.sets[definition.name] = elements


def tables_after(policy):
    """The tables exactly as applying policy leaves them (without counters): our layout and these elements."""
    tables = {}
    for family in FAMILIES:
        if not family_needed(policy, family):
            tables[family] = None
            continue
        table = tables[family] = TableState(family)
        layout = expected_layout(family)
        table.comment, table.chains = layout['comment'], dict(layout['chains'])
        table.hooks = {HOOK: (HOOK, PRIORITY)}
        table.sets = dict((name, set(elements)) for (owner, name), elements in policy.items() if owner == family)
    return tables


def snapshot_of(tables):
    """The tables without counters, as JSON-ready data (see _nft_snapshot)."""
    return dict((family, None if table is None else {
        'comment': table.comment, 'chains': table.chains, 'hooks': dict((name, list(hook)) for name, hook in table.hooks.items()),
        'sets': dict((name, list(elements)) for name, elements in table.sets.items())}) for family, table in tables.items())


def tables_from_snapshot(data):
    """The tables a snapshot holds; TypeError, KeyError or ValueError when it is not what snapshot_of() wrote."""
    if not isinstance(data, dict) or set(data) - set(FAMILIES):
        raise ValueError('not a snapshot of the tables')
    tables = {}
    for family, saved in data.items():
        if saved is None:
            tables[family] = None
            continue
        table = tables[family] = TableState(family)
        table.comment, table.chains = saved['comment'], saved['chains']
        table.hooks = dict((name, tuple(hook)) for name, hook in saved['hooks'].items())
        table.sets = dict((name, set(elements)) for name, elements in saved['sets'].items())
    return tables


def policy_of(tables):
    """{(family, set): elements} of the tables that exist."""
    policy = {}
    for family, table in tables.items():
        if table is not None:
            for name, elements in table.sets.items():
                policy[(family, name)] = elements
    return policy


def counters_of(tables):
    return dict((key, value) for table in tables.values() if table is not None for key, value in table.counters.items())


def vif_counters(counters, names):
    """{vif: {'accepted': {'packets', 'bytes'}, 'dropped': {...}}} for the module's result (a vif is in one table).

    The dispatch map counts every frame of a vif; those not dropped were accepted."""
    result = {}
    for name in names:
        key = ifname_key(name)
        family = 'bridge' if ('bridge', 'guests', key) in counters else 'inet'
        twin = emulated_twin(name)
        keys = [key] if twin is None else [key, ifname_key(twin)]  # the emulated NIC's frames are the guest's too
        seen = _sum(counters.get((family, 'guests', each), (0, 0)) for each in keys)
        dropped = _sum(counters.get((family, 'dropped', each), (0, 0)) for each in keys)
        result[name] = {'accepted': {'packets': max(0, seen[0] - dropped[0]), 'bytes': max(0, seen[1] - dropped[1])},
                        'dropped': {'packets': dropped[0], 'bytes': dropped[1]}}
    return result


def _sum(pairs):
    pairs = list(pairs)
    return (sum(pair[0] for pair in pairs), sum(pair[1] for pair in pairs))


def unlisted_counter(counters):
    """The frames dropped from ports and interfaces without a policy, by name pattern or because they are not dom0's own."""
    packets, octets = _sum(value for key, value in counters.items() if key[1] in ('unlisted', 'closed'))
    return {'packets': packets, 'bytes': octets}
