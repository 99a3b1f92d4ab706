# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a lab dom0's network holds, read from the kernel, normalised so two boots compare.

    dom0_state.py snapshot NAMESPACE > state.json
    dom0_state.py compare BEFORE.json AFTER.json     # exit 1 and one line per difference

The snapshot has one entry per aspect: links (kind, master, MAC, MTU, up, the
bridge's and the port's options), addresses (global ones; link-local ones
apart), routes (every table but local, without kernel link-local and
multicast routes), proxy neighbours, bridge VLANs, the collection's nftables
tables (names starting with xenfleet; no handles, counters zeroed, set
elements sorted), forwarding/proxy sysctls of every interface, and the
dnsmasq configurations being served. compare treats the link-local addresses
and the routes' protocols and onlink flags as notes: bridge-utils' hook turns
off a port's link-local address, ifupdown adds its routes as proto boot and
its gateways onlink; no module run reads or changes these.
"""

import json
import os
import subprocess
import sys

COLLECTION_TABLE_PREFIX = 'xenfleet'
# Values of a bridge or port that run (timers, STP state, ids the kernel counts) rather than configure.
# bridge_id and root_id follow the MAC, which 'mac' already compares.
VOLATILE_KEYS = frozenset(('bridge_id', 'root_id', 'root_port', 'root_path_cost', 'designated_cost', 'designated_port',
                           'designated_bridge', 'designated_root', 'config_pending', 'topology_change', 'topology_change_ack',
                           'topology_change_detected', 'state', 'id', 'no', 'fdb_n_learned'))
SYSCTLS = (('ipv4', 'forwarding'), ('ipv4', 'proxy_arp'), ('ipv4', 'rp_filter'), ('ipv6', 'forwarding'),
           ('ipv6', 'proxy_ndp'), ('ipv6', 'disable_ipv6'))
NOTES = ('link_local', 'route_protocols')  # 'proto X [onlink]' of each route


def run(namespace, argv):
    return subprocess.run(['ip', 'netns', 'exec', namespace] + argv, check=True, capture_output=True, text=True).stdout


def run_json(namespace, argv):
    text = run(namespace, argv).strip()
    return json.loads(text) if text else []


def _stable(options):
    return {key: value for key, value in sorted((options or {}).items()) if key not in VOLATILE_KEYS and not key.endswith('_timer')}


def links(namespace):
    found = {}
    for link in run_json(namespace, ['ip', '-j', '-d', 'link', 'show']):
        if link['ifname'] == 'lo':
            continue
        info = link.get('linkinfo') or {}
        found[link['ifname']] = {
            'kind': info.get('info_kind'),
            'master': link.get('master'),
            'mac': link.get('address'),
            'mtu': link.get('mtu'),
            'up': 'UP' in link.get('flags', []),
            'bridge': _stable(info.get('info_data')) if info.get('info_kind') == 'bridge' else None,
            'port': _stable(info.get('info_slave_data')) if info.get('info_slave_kind') == 'bridge' else None,
        }
    return found


def addresses(namespace):
    found, link_local = {}, {}
    for link in run_json(namespace, ['ip', '-j', 'addr', 'show']):
        if link['ifname'] == 'lo':
            continue
        cidrs = sorted('%s/%s' % (item['local'], item['prefixlen']) for item in link.get('addr_info', []) if item.get('scope') != 'link')
        local = sorted('%s/%s' % (item['local'], item['prefixlen']) for item in link.get('addr_info', []) if item.get('scope') == 'link')
        found[link['ifname']] = cidrs
        link_local[link['ifname']] = local
    return found, link_local


def routes(namespace):
    found, protocols = [], {}
    for family in ('-4', '-6'):
        for route in run_json(namespace, ['ip', '-j', family, 'route', 'show', 'table', 'all']):
            if route.get('table') == 'local' or route.get('type') in ('local', 'broadcast', 'multicast'):
                continue
            if family == '-6' and (route.get('dst', '').startswith('fe80::') or route.get('dst', '').startswith('ff00::')):
                continue
            key = {name: route.get(name) for name in ('dst', 'gateway', 'dev', 'metric', 'table', 'scope', 'type', 'prefsrc')}
            key['family'] = family
            found.append(key)
            # ifupdown adds its gateways 'onlink' and everything as proto boot; modules read neither
            protocols[json.dumps(key, sort_keys=True)] = '%s%s' % (route.get('protocol'), ' onlink' if 'onlink' in route.get('flags', []) else '')
    found.sort(key=lambda item: json.dumps(item, sort_keys=True))
    return found, {key: protocols[key] for key in sorted(protocols)}


def proxy_neighbours(namespace):
    return sorted('%s dev %s' % (item.get('dst'), item.get('dev')) for item in run_json(namespace, ['ip', '-j', '-6', 'neigh', 'show', 'proxy']))


def bridge_vlans(namespace):
    return run_json(namespace, ['bridge', '-j', 'vlan', 'show'])


def _strip(value):
    """No handles, no counts, no expiry; set elements in a stable order."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in ('handle', 'expires'):
                continue
            if key in ('packets', 'bytes') and isinstance(item, int):
                out[key] = 0
                continue
            out[key] = _strip(item)
        if 'elem' in out and isinstance(out['elem'], list):
            out['elem'] = sorted(out['elem'], key=lambda element: json.dumps(element, sort_keys=True))
        return out
    if isinstance(value, list):
        return [_strip(item) for item in value]
    return value


def nft_tables(namespace):
    """'family name' -> the table's objects in nft's order (the order of tables is their creation order, which
    a boot and a module run need not share)."""
    ruleset = run_json(namespace, ['nft', '-j', 'list', 'ruleset'])
    tables = {}
    for item in ruleset.get('nftables', []) if isinstance(ruleset, dict) else []:
        kind, body = next(iter(item.items()))
        if kind == 'metainfo':
            continue
        table = body.get('name') if kind == 'table' else body.get('table')
        if str(table).startswith(COLLECTION_TABLE_PREFIX):
            tables.setdefault('%s %s' % (body.get('family'), table), []).append({kind: _strip(body)})
    return tables


def sysctls(namespace, names):
    found = {}
    script = 'for f in "$@"; do printf "%s=" "$f"; cat "$f" 2>/dev/null || echo; done'
    paths = ['/proc/sys/net/ipv4/ip_forward']
    for name in ['all', 'default'] + sorted(names):
        paths += ['/proc/sys/net/%s/conf/%s/%s' % (family, name, key) for family, key in SYSCTLS]
    for line in run(namespace, ['sh', '-c', script, 'sysctls'] + paths).splitlines():
        path, _sep, value = line.partition('=')
        found[path[len('/proc/sys/'):]] = value.strip()
    return found


def dnsmasq_configs(namespace):
    """The -C files of the dnsmasq processes running in the namespace."""
    inode = os.stat('/run/netns/%s' % namespace).st_ino
    configs = []
    for pid in subprocess.run(['ip', 'netns', 'pids', namespace], check=True, capture_output=True, text=True).stdout.split():
        try:
            if os.stat('/proc/%s/ns/net' % pid).st_ino != inode:
                continue
            with open('/proc/%s/cmdline' % pid, 'rb') as handle:
                argv = handle.read().decode('utf-8', 'replace').split('\0')
        except OSError:
            continue
        if os.path.basename(argv[0]) == 'dnsmasq' and '-C' in argv:
            configs.append(argv[argv.index('-C') + 1])
    return sorted(configs)


def snapshot(namespace):
    link_state = links(namespace)
    address_state, link_local = addresses(namespace)
    route_state, protocols = routes(namespace)
    return {
        'links': link_state,
        'addresses': address_state,
        'routes': route_state,
        # where each destination goes, whatever the metric: two routes to one place count once
        'route_targets': sorted({'%s %s dev %s table %s' % (item['family'], item['dst'], item['dev'], item['table'] or 'main')
                                 for item in route_state}),
        'proxy_neighbours': proxy_neighbours(namespace),
        'bridge_vlans': bridge_vlans(namespace),
        'nft': nft_tables(namespace),
        'sysctls': sysctls(namespace, link_state),
        'dnsmasq': dnsmasq_configs(namespace),
        'link_local': link_local,
        'route_protocols': protocols,
    }


def _differences(before, after, path=''):
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            where = '%s.%s' % (path, key) if path else key
            if key not in after:
                yield '%s: gone (was %s)' % (where, json.dumps(before[key], sort_keys=True))
            elif key not in before:
                yield '%s: new (%s)' % (where, json.dumps(after[key], sort_keys=True))
            else:
                yield from _differences(before[key], after[key], where)
    elif isinstance(before, list) and isinstance(after, list) and before != after:
        encode = [json.dumps(item, sort_keys=True) for item in before]
        encode_after = [json.dumps(item, sort_keys=True) for item in after]
        for item in encode:
            if item not in encode_after:
                yield '%s: gone %s' % (path, item)
        for item in encode_after:
            if item not in encode:
                yield '%s: new %s' % (path, item)
        if sorted(encode) == sorted(encode_after):
            yield '%s: the same items in another order' % path
    elif before != after:
        yield '%s: %s -> %s' % (path, json.dumps(before, sort_keys=True), json.dumps(after, sort_keys=True))


def compare(before, after, aspects=None):
    """(differences, notes): lines naming what differs; notes for the aspects in NOTES."""
    differences, notes = [], []
    for aspect in aspects or sorted(set(before) | set(after)):
        lines = list(_differences(before.get(aspect), after.get(aspect), aspect))
        (notes if aspect in NOTES else differences).extend(lines)
    return differences, notes


def main(argv):
    if len(argv) == 3 and argv[1] == 'snapshot':
        json.dump(snapshot(argv[2]), sys.stdout, indent=1, sort_keys=True)
        print()
        return 0
    if len(argv) >= 4 and argv[1] == 'compare':
        with open(argv[2], encoding='utf-8') as handle:
            before = json.load(handle)
        with open(argv[3], encoding='utf-8') as handle:
            after = json.load(handle)
        differences, notes = compare(before, after, argv[4:] or None)
        for line in notes:
            print('note: %s' % line)
        for line in differences:
            print('differs: %s' % line)
        return 1 if differences else 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
