# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of the collection's topologies (brouter, multi_bridge, routed) a dom0 is, and why.

Private to the collection: may change without notice.

Two witnesses: the host as it runs (bridges, where the uplink is, the vif
scripts) and the legacy xend-config.sxp (which network script built it).
The running host wins: it is what site.yml will compare against; the
legacy file only decides when the host shows nothing (a dom0 whose
network script has not run), and a disagreement is reported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

TOPOLOGIES = ('brouter', 'multi_bridge', 'routed')
# A network-bridge with one of these as netdev makes a bridge without a physical port.
GUEST_ONLY_NETDEVS = ('dummy', 'none', 'lo')

# name: one of TOPOLOGIES or None; source: 'host', 'xend-config' or None; notes: disagreements.
Topology = collections.namedtuple('Topology', 'name reason source notes')


def is_guest_only_netdev(netdev):
    return any(netdev == prefix or netdev.startswith(prefix) and netdev[len(prefix):].isdigit() for prefix in GUEST_ONLY_NETDEVS)


def legacy_bridges(calls, default_netdev):
    """[(bridge, netdev or None)] that network-bridge calls make, with network-bridge's own defaults.

    network-bridge names its bridge xenbr<vifnum> and takes the device of
    the default route when netdev= is not given.
    """
    bridges = []
    for call in calls:
        if call['script'] != 'network-bridge':
            continue
        args = call['args']
        name = args.get('bridge') or 'xenbr%s' % args.get('vifnum', '0')
        netdev = args.get('netdev') or default_netdev
        bridges.append((name, None if netdev is None or is_guest_only_netdev(netdev) else netdev))
    return bridges


def from_legacy(legacy):
    """The topology a xend-config.sxp's network script builds, or None."""
    calls = legacy.get('calls') or []
    scripts = [call['script'] for call in calls]
    vif_script = (legacy.get('vif_script') or {}).get('script')
    where = legacy.get('wrapper') or legacy.get('path')
    if 'network-nat' in scripts:
        return Topology('brouter', '%s runs network-nat (routing with masquerading): the nearest model is brouter, '
                        'a port-less bridge routed and NATed through the uplink' % where, 'xend-config', [])
    if 'network-route' in scripts or vif_script == 'vif-route' and not scripts:
        return Topology('routed', '%s runs %s: dom0 routes each guest through its vif' % (where, 'network-route' if scripts else 'vif-route'),
                        'xend-config', [])
    if 'network-virtual' in scripts:
        return Topology('brouter', '%s runs network-virtual: a bridge without a physical port that dom0 routes' % where, 'xend-config', [])
    bridges = legacy_bridges(calls, None)
    if bridges:
        names = ', '.join(name for name, _netdev in bridges)
        if len(bridges) > 1:
            return Topology('multi_bridge', '%s runs network-bridge %d times (%s)' % (where, len(bridges), names), 'xend-config', [])
        return Topology('multi_bridge', '%s runs network-bridge once (%s takes the NIC): multi_bridge with one bridge' % (where, names),
                        'xend-config', [])
    return None


def from_host(network, uplink, guest_bridges, vif_scripts, forwarding):
    """The topology the running host shows, or None when it shows none.

    network: live.read_network's answer; uplink: the NIC found; guest_bridges:
    the bridges the guests' vifs name; vif_scripts: the script each vif runs
    (its own or xl.conf's default); forwarding: live.read_forwarding's answer.
    """
    bridges = dict((bridge['name'], bridge) for bridge in network['bridges'])
    uplink_bridge = network['masters'].get(uplink) if uplink else None
    if uplink_bridge in bridges:
        others = [name for name in sorted(bridges) if name != uplink_bridge and (name in guest_bridges or bridges[name]['vifs'])]
        reason = '%s holds the uplink %s as a port' % (uplink_bridge, uplink)
        if others:
            reason += '; guest bridges without it: %s' % ', '.join(others)
        return Topology('multi_bridge', reason, 'host', [])
    carrying = [name for name in sorted(bridges) if name in guest_bridges or bridges[name]['vifs']]
    routed_bridges = [name for name in carrying if bridges[name]['addresses'] and not bridges[name]['physical_ports']]
    if routed_bridges:
        reason = '%s has no physical port and holds dom0\'s address %s for the guests; the uplink %s is no bridge port' % (
            routed_bridges[0], ', '.join(bridges[routed_bridges[0]]['addresses']), uplink)
        if forwarding.get('ipv4') is False:
            reason += ' (IPv4 forwarding is off now)'
        return Topology('brouter', reason, 'host', [])
    if vif_scripts and all(script and script.split('/')[-1] == 'vif-route' for script in vif_scripts):
        return Topology('routed', 'every vif runs vif-route and no bridge holds the uplink %s' % uplink, 'host', [])
    return None


def recognise(host, legacy):
    """Combine both witnesses: the host's answer, else the legacy file's, else none."""
    legacy_answer = from_legacy(legacy) if legacy and legacy.get('present') else None
    if host is not None:
        notes = list(host.notes)
        if legacy_answer is not None and legacy_answer.name != host.name:
            notes.append('%s says %s (%s), but the host runs as %s: the host wins'
                         % (legacy.get('path'), legacy_answer.name, legacy_answer.reason, host.name))
        return Topology(host.name, host.reason, host.source, notes)
    if legacy_answer is not None:
        return legacy_answer
    return Topology(None, 'no bridge holds the uplink or carries guests, no vif runs vif-route, and no xend-config.sxp names a network script',
                    None, [])
