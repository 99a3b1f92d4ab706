"""The demo's report: read back from the lab dom0s' kernels, printed as text, saved as JSON and drawn with graphviz."""

import json
import os
import shutil
import subprocess

from fleet import FLEET, INTERNET, UPSTREAM

CELL = {(True, True): 'yes', (False, False): 'no', (True, False): 'NO!', (False, True): 'YES!'}


def read_dom0(host, lab):
    """Bridges (ports, addresses) and the collection's host routes, as dom0's kernel holds them."""
    links = json.loads(lab.run('dom0', ['ip', '-j', '-d', 'addr', 'show']).stdout)
    bridges = []
    for link in links:
        if link.get('linkinfo', {}).get('info_kind') != 'bridge':
            continue
        bridges.append({
            'name': link['ifname'],
            'ports': sorted(other['ifname'] for other in links if other.get('master') == link['ifname']),
            'addresses': ['%s/%s' % (info['local'], info['prefixlen']) for info in link.get('addr_info', [])
                          if info.get('scope') == 'global'],
        })
    routes = [{'destination': route['dst'], 'device': route['dev'], 'source': route.get('prefsrc', '')}
              for route in json.loads(lab.run('dom0', ['ip', '-j', 'route', 'show', 'proto', '212']).stdout)]
    masters = dict((link['ifname'], link.get('master')) for link in links)
    uplink = [link for link in links if link['ifname'] == 'eth0'][0]
    return {'host': host, 'topology': FLEET[host]['topology'], 'namespace': lab.ns('dom0'), 'bridges': bridges,
            'uplink': {'name': 'eth0', 'master': uplink.get('master'),
                       'addresses': ['%s/%s' % (info['local'], info['prefixlen']) for info in uplink.get('addr_info', [])
                                     if info.get('scope') == 'global']},
            'host_routes': routes, 'masters': masters}


def read_guest(lab, guest, masters):
    eth0 = json.loads(lab.run(guest['name'], ['ip', '-j', 'addr', 'show', 'dev', 'eth0']).stdout)[0]
    return {'name': guest['name'], 'vifname': guest['vif'], 'mac': eth0['address'],
            'ips': [info['local'] for info in eth0.get('addr_info', []) if info.get('scope') == 'global'],
            'bridge': masters.get(guest['vif']) or ('routed' if guest['bridge'] is None else '-')}


def _table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]

    def line(cells):
        return '  '.join(str(cell).ljust(width) for cell, width in zip(cells, widths)).rstrip()
    return [line(headers), line(['-' * width for width in widths])] + [line(row) for row in rows]


def matrix_lines(dom0):
    cells = dict(((cell['from'], cell['to']), cell) for cell in dom0['reachability'])
    sources = [guest['name'] for guest in dom0['guests']] + ['upstream']
    targets = [guest['name'] for guest in dom0['guests']] + ['upstream', 'internet']
    rows = []
    for source in sources:
        row = [source]
        for target in targets:
            cell = cells.get((source, target))
            row.append(CELL[(cell['expected'], cell['measured'])] if cell else '.')
        rows.append(row)
    return _table(['from \\ to'] + targets, rows)


def text(report):
    lines = ['', '=' * 78, 'xenfleet.network demo: %d dom0s, one per topology, converged by one site.yml' % len(report['fleet']),
             '=' * 78]
    for run in report['runs']:
        changed = ', '.join('%s changed=%s' % item for item in sorted(run['changed'].items()))
        lines.append('run %-34s %6.1f s  rc=%s  %s' % (run['name'], run['seconds'], run['rc'], changed))
    for dom0 in report['fleet']:
        lines += ['', '-- %s  topology %s  (namespace %s)' % (dom0['host'], dom0['topology'], dom0['namespace'])]
        uplink = dom0['uplink']
        lines.append('   uplink eth0    %s' % ('port of %s' % uplink['master'] if uplink['master']
                                               else 'addresses: %s' % (', '.join(uplink['addresses']) or '-')))
        for bridge in dom0['bridges']:
            lines.append('   bridge %-7s ports: %-28s addresses: %s' % (
                bridge['name'], ', '.join(bridge['ports']) or '-', ', '.join(bridge['addresses']) or '- (no address)'))
        for route in dom0['host_routes']:
            lines.append('   host route %-15s dev %-8s src %s' % (route['destination'], route['device'], route['source']))
        lines += ['   ' + line for line in _table(['guest', 'vifname', 'MAC', 'IPs', 'bridge'], [
            [guest['name'], guest['vifname'], guest['mac'], ', '.join(guest['ips']) or '-', guest['bridge']]
            for guest in dom0['guests']])]
        lines += ['', '   reachability (ping, real packets; yes/no = as expected, YES!/NO! = not as expected):']
        lines += ['   ' + line for line in matrix_lines(dom0)]
        lines += ['', '   forged packets (each must get no reply; the drops are xen_antispoof\'s counter on the vif):']
        lines += ['   ' + line for line in _table(['guest', 'vif', 'forged', 'to', 'reply', 'dropped'], [
            [attempt['guest'], attempt['vif'], attempt['forged'], attempt['target'],
             'yes!' if attempt['reply'] else 'none', '+%d' % (attempt['dropped_after'] - attempt['dropped_before'])]
            for attempt in dom0['forged']])]
    failed = [proof['claim'] for proof in report['proofs'] if not proof['ok']]
    lines += ['', '%d proofs, %d failed%s' % (len(report['proofs']), len(failed), ''.join('\n  FAILED: ' + claim for claim in failed))]
    return '\n'.join(lines)


def _quote(value):
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"')


def dot(report):
    """The fleet as a graphviz graph: a cluster per dom0, its NIC, bridges or host routes, and guests."""
    lines = ['graph fleet {', '  rankdir=LR; fontname="Helvetica"; node [fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];',
             '  label=%s; labelloc=t;' % _quote('xenfleet.network demo fleet'),
             '  internet [shape=doubleoctagon, label=%s];' % _quote('internet\n' + INTERNET)]
    for dom0 in report['fleet']:
        host = dom0['host'].replace('-', '_')

        def node(name, host=host):
            return _quote('%s/%s' % (host, name))
        lines += ['  %s [shape=box3d, label=%s];' % (node('upstream'), _quote('upstream router\n' + UPSTREAM)),
                  '  %s -- internet;' % node('upstream'),
                  '  subgraph cluster_%s {' % host,
                  '    label=%s; style=rounded;' % _quote('%s (%s)' % (dom0['host'], dom0['topology'])),
                  '    %s [shape=box, style=filled, fillcolor=lightgrey, label=%s];' % (
                      node('eth0'), _quote('\n'.join(['eth0'] + dom0['uplink']['addresses'])))]
        for bridge in dom0['bridges']:
            lines.append('    %s [shape=box, style=filled, fillcolor=lightblue, label=%s];' % (
                node(bridge['name']), _quote('%s\n%s' % (bridge['name'], '\n'.join(bridge['addresses']) or 'no address'))))
            if 'eth0' in bridge['ports']:
                lines.append('    %s -- %s;' % (node(bridge['name']), node('eth0')))
        routed = dict((route['device'], route['destination']) for route in dom0['host_routes'])
        for guest in dom0['guests']:
            lines.append('    %s [shape=ellipse, label=%s];' % (
                node(guest['name']), _quote('%s\n%s\n%s' % (guest['name'], ', '.join(guest['ips']), guest['mac']))))
            if guest['vifname'] in routed:
                lines.append('    %s -- %s [label=%s, style=dashed];' % (
                    node(guest['name']), node('eth0'), _quote('%s\nhost route %s' % (guest['vifname'], routed[guest['vifname']]))))
            elif guest['bridge'] not in ('-', 'routed'):
                lines.append('    %s -- %s [label=%s];' % (node(guest['name']), node(guest['bridge']), _quote(guest['vifname'])))
        if dom0['topology'] == 'brouter':
            for bridge in dom0['bridges']:
                lines.append('    %s -- %s [label="routed + NAT", style=dotted];' % (node(bridge['name']), node('eth0')))
        lines += ['  }', '  %s -- %s;' % (node('eth0'), node('upstream'))]
    lines.append('}')
    return '\n'.join(lines) + '\n'


def write(report, directory):
    """report.txt, report.json, fleet.dot and (when graphviz is there) fleet.svg; the paths written."""
    os.makedirs(directory, exist_ok=True)
    paths = {name: os.path.join(directory, name) for name in ('report.txt', 'report.json', 'fleet.dot', 'fleet.svg')}
    with open(paths['report.txt'], 'w') as stream:
        stream.write(text(report) + '\n')
    with open(paths['report.json'], 'w') as stream:
        json.dump(report, stream, indent=2)
    with open(paths['fleet.dot'], 'w') as stream:
        stream.write(dot(report))
    if shutil.which('dot'):
        subprocess.run(['dot', '-Tsvg', '-o', paths['fleet.svg'], paths['fleet.dot']], check=True)
    else:
        del paths['fleet.svg']
    return paths
