# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""An /etc/network/interfaces.d stanza that rebuilds a bridge at boot.

It is rendered from the same after-state the planner predicts, so what
ifup builds at boot is what the module converges to now.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import shlex

from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, address_cidr, route_label
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import autoconfigured

HEADER = ('# Managed by xenfleet.network (xen_bridge): this file is rewritten on every run.\n'
          '# The uplink must not have an address stanza of its own elsewhere.\n')

# ifupdown splits a keyword line at white space, joins a line ending in '\\' to the next, and
# bridge-utils' hook reads bridge_ports unquoted in sh (word splitting, globbing). Every value
# a keyword line carries (names, MACs, addresses, numbers) fits this set, which needs none of that.
STANZA_WORD = re.compile(r'[A-Za-z0-9_.:/-]+')
# Words bridge_ports reads as instructions, not as port names (bridge-utils-interfaces(5)).
BRIDGE_PORTS_KEYWORDS = ('all', 'none', 'regex', 'noregex')
# An up/down line is one /bin/sh -c command line: values are shell-quoted, but a line break or a
# NUL cannot be quoted there, as the stanza file itself is read line by line.
LINE_BREAKING = re.compile(r'[\x00-\x1f\x7f]')


class StanzaValueError(ValueError):
    """A value the ifupdown stanza cannot carry; names the keyword and the value."""


def word(keyword, value):
    """value as one word of a keyword line, or StanzaValueError."""
    value = str(value)
    if not STANZA_WORD.fullmatch(value):
        raise StanzaValueError("ifupdown stanza: %s %r is not one plain word (letters, digits, '_', '.', ':', '/', '-'); "
                               "it cannot be written safely" % (keyword, value))
    return value


def command(keyword, *argv):
    """An up/down line running argv under ifup's /bin/sh, every argument shell-quoted."""
    for argument in argv:
        if LINE_BREAKING.search(str(argument)):
            raise StanzaValueError('ifupdown stanza: %s command argument %r holds a control character, which a stanza line '
                                   'cannot carry' % (keyword, argument))
    return '%s %s' % (keyword, ' '.join(shlex.quote(str(argument)) for argument in argv))


def render_bridge_stanza(name, options, mac, mtu, ports, addresses, routes):
    """The stanza text; addresses and routes are _netlink Address and Route values."""
    name = word('iface', name)
    lines = [HEADER.rstrip('\n'), 'auto %s' % name]
    v4 = [address for address in addresses if address.family == AF_INET]
    # the kernel configures these by itself at boot, from the router's advertisements
    v6 = [address for address in addresses if address.family == AF_INET6 and not autoconfigured(address)]
    dynamic_v4 = any(not address.permanent for address in v4)
    method = 'dhcp' if dynamic_v4 else ('static' if v4 else 'manual')
    lines.append('iface %s inet %s' % (name, method))
    lines.extend(_indent(_bridge_options(name, options, mac, mtu, ports)))
    if method == 'static':
        lines.extend(_indent(_static_lines(name, v4, routes, AF_INET)))
    elif method == 'manual':
        lines.append('    ' + command('up', 'ip', 'link', 'set', 'dev', name, 'up'))
    if v6:
        lines.append('')
        lines.append('iface %s inet6 static' % name)  # name: a word already
        lines.append('    dad-attempts 0')
        lines.extend(_indent(_static_lines(name, v6, routes, AF_INET6)))
    return '\n'.join(lines) + '\n'


def _indent(lines):
    return ['    ' + line for line in lines]


def port_without_slaac(keyword, port):
    """The line that keeps a port from a SLAAC address of its own: brought up before it is enslaved (its own
    allow-hotplug stanza, or the bridge's hook), a NIC would take one from the first router advertisement and
    keep it once it is a port, beside the same prefix on the bridge (seen on real Xen after a reboot). Once
    enslaved a port receives no advertisement, which is why the running dom0 needs nothing of the kind."""
    return command(keyword, 'sysctl', '-q', '-w', 'net/ipv6/conf/%s/accept_ra=0' % port)


def _bridge_options(name, options, mac, mtu, ports):
    lines = [port_without_slaac('pre-up', _port(port)) for port in ports]
    lines += ['bridge_ports %s' % (' '.join(_port(port) for port in ports) if ports else 'none'),
              'bridge_stp %s' % ('on' if options.get('stp') else 'off'),
              'bridge_fd %g' % ((options.get('forward_delay') or 0) / 100.0),
              'bridge_maxwait 0']
    if mac:
        lines.append('bridge_hw %s' % word('bridge_hw', mac))
    if mtu:
        lines.append('mtu %d' % mtu)
    if options.get('nf_call_iptables') is not None:
        flag = '%d' % options['nf_call_iptables']
        lines.append(command('up', 'ip', 'link', 'set', 'dev', name, 'type', 'bridge', 'nf_call_iptables', flag,
                             'nf_call_ip6tables', flag, 'nf_call_arptables', flag))
    return lines


def _port(port):
    port = word('bridge_ports', port)
    if port in BRIDGE_PORTS_KEYWORDS:
        raise StanzaValueError("ifupdown stanza: bridge_ports %r is a bridge-utils keyword, not read as a port name" % port)
    return port


def _static_lines(name, addresses, routes, family):
    lines = ['address %s' % word('address', address_cidr(addresses[0]))]
    for extra in addresses[1:]:
        lines.append(command('up', 'ip', 'addr', 'add', address_cidr(extra), 'dev', name))
    for route in routes:
        if route.family != family:
            continue
        if route.dst.endswith('/0') and route.gateway and is_default_metric(route) and route.table in (None, 254):
            lines.append('gateway %s' % word('gateway', route.gateway))
            continue
        # route_label's words are addresses and numbers from the kernel, and the name is a plain word.
        words = ['ip'] + (['-6'] if family == AF_INET6 else []) + ['route', 'replace'] + route_label(route, name).split(' ')
        lines.append(command('up', *words))
    return lines


def is_default_metric(route):
    """The metric the kernel gives a route added without one (1024 for IPv6)."""
    return route.metric in (0, None) or (route.family == AF_INET6 and route.metric == 1024)
