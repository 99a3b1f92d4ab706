# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dnsmasq configuration of one xen_nat network.

Private to the collection: may change without notice.

One dnsmasq per network, bound only to its bridge (bind-dynamic, so it
follows the bridge if it is recreated, and never answers on other
interfaces), with its own lease and pid files. It is started with
`-C <this file>`, so /etc/dnsmasq.conf and /etc/dnsmasq.d are never read.
DNS is served only when the guests are told to use the gateway for it;
otherwise port=0 turns the DNS side off and dnsmasq is a DHCP server only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def serves_dns(spec, gateway):
    """dnsmasq answers DNS itself when no servers are given or the gateway is among them."""
    return not spec.dhcp.dns_servers or gateway in spec.dhcp.dns_servers


def render_config(spec, gateway, leases_path, pid_path):
    dhcp = spec.dhcp
    netmask = spec.subnet.netmask
    lines = [
        '# dnsmasq for the xen_nat network %s, written by xenfleet.network; local changes are replaced.' % spec.name,
        'interface=%s' % spec.bridge,
        'except-interface=lo',
        'bind-dynamic',
        'no-hosts',
        'dhcp-authoritative',
        'dhcp-leasefile=%s' % leases_path,
        'pid-file=%s' % pid_path,
    ]
    if serves_dns(spec, gateway):
        lines.append('domain-needed')
    else:
        lines.extend(['port=0', 'no-resolv'])
    if dhcp.range_start is not None:
        lines.append('dhcp-range=%s,%s,%s,%d' % (dhcp.range_start, dhcp.range_end, netmask, dhcp.lease_time))
    else:
        lines.append('dhcp-range=%s,static,%s,%d' % (spec.subnet.network_address, netmask, dhcp.lease_time))
    lines.append('dhcp-option=option:router,%s' % gateway)
    dns = dhcp.dns_servers or [gateway]
    lines.append('dhcp-option=option:dns-server,%s' % ','.join(str(server) for server in dns))
    if dhcp.domain:
        lines.append('domain=%s' % dhcp.domain)
    for host in dhcp.hosts:
        fields = [host.mac, str(host.ip)] + ([host.hostname] if host.hostname else []) + [str(dhcp.lease_time)]
        lines.append('dhcp-host=%s' % ','.join(fields))
    lines.extend(dhcp.extra_options)
    return '\n'.join(lines) + '\n'
