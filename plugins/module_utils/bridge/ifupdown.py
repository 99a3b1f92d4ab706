# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An /etc/network/interfaces.d stanza that rebuilds a bridge at boot.

It is rendered from the same after-state the planner predicts, so what
ifup builds at boot is what the module converges to now.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, address_cidr, route_label

HEADER = ('# Managed by xenfleet.network (xen_bridge): this file is rewritten on every run.\n'
          '# The uplink must not have an address stanza of its own elsewhere.\n')


def render_bridge_stanza(name, options, mac, mtu, ports, addresses, routes):
    """The stanza text; addresses and routes are _netlink Address and Route values."""
    lines = [HEADER.rstrip('\n'), 'auto %s' % name]
    v4 = [address for address in addresses if address.family == AF_INET]
    v6 = [address for address in addresses if address.family == AF_INET6]
    dynamic_v4 = any(not address.permanent for address in v4)
    method = 'dhcp' if dynamic_v4 else ('static' if v4 else 'manual')
    lines.append('iface %s inet %s' % (name, method))
    lines.extend(_indent(_bridge_options(name, options, mac, mtu, ports)))
    if method == 'static':
        lines.extend(_indent(_static_lines(name, v4, routes, AF_INET)))
    elif method == 'manual':
        lines.append('    up ip link set dev %s up' % name)
    if v6:
        dynamic_v6 = any(not address.permanent for address in v6)
        lines.append('')
        lines.append('iface %s inet6 %s' % (name, 'auto' if dynamic_v6 else 'static'))
        if not dynamic_v6:
            lines.append('    dad-attempts 0')
            lines.extend(_indent(_static_lines(name, v6, routes, AF_INET6)))
    return '\n'.join(lines) + '\n'


def _indent(lines):
    return ['    ' + line for line in lines]


def _bridge_options(name, options, mac, mtu, ports):
    lines = ['bridge_ports %s' % (' '.join(ports) if ports else 'none'),
             'bridge_stp %s' % ('on' if options.get('stp') else 'off'),
             'bridge_fd %g' % ((options.get('forward_delay') or 0) / 100.0),
             'bridge_maxwait 0']
    if mac:
        lines.append('bridge_hw %s' % mac)
    if mtu:
        lines.append('mtu %d' % mtu)
    if options.get('nf_call_iptables') is not None:
        flag = options['nf_call_iptables']
        lines.append('up ip link set dev %s type bridge nf_call_iptables %d nf_call_ip6tables %d nf_call_arptables %d'
                     % (name, flag, flag, flag))
    return lines


def _static_lines(name, addresses, routes, family):
    lines = ['address %s' % address_cidr(addresses[0])]
    for extra in addresses[1:]:
        lines.append('up ip addr add %s dev %s' % (address_cidr(extra), name))
    for route in routes:
        if route.family != family:
            continue
        if route.dst.endswith('/0') and route.gateway and is_default_metric(route) and route.table in (None, 254):
            lines.append('gateway %s' % route.gateway)
            continue
        command = 'up ip %sroute replace %s' % ('-6 ' if family == AF_INET6 else '', route_label(route, name))
        lines.append(command)
    return lines


def is_default_metric(route):
    """The metric the kernel gives a route added without one (1024 for IPv6)."""
    return route.metric in (0, None) or (route.family == AF_INET6 and route.metric == 1024)
