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

import re

from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_service import ServiceError

# dnsmasq reads its file line by line, strips white space, starts a comment at '#' after white
# space, and unquotes "..." with backslash escapes anywhere on a line. A value outside these
# sets could end a line, hide the rest of it or change what it says, so it is refused.
CONTROL = re.compile(r'[\x00-\x1f\x7f]')
INTERFACE_WORD = re.compile(r'[A-Za-z0-9_.-]{1,15}')  # no ',' (a list) and no '*' (a wildcard)
PATH_WORD = re.compile(r'/[^\x00-\x20\x7f"#\\]*')
PATH_RULE = "is not an absolute path free of white space, control characters, '\"', '#' and '\\\\'"
ONE_LINE = re.compile(r'[^\x00-\x1f\x7f]*')
INTERFACE_RULE = "is not 1 to 15 letters, digits, '.', '-' or '_'"
HOSTNAME_WORD = re.compile(r'[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*')
MAC_WORD = re.compile(r'[0-9a-f]{2}(:[0-9a-f]{2}){5}')

# Which dnsmasq options dhcp.extra_options may carry without dhcp.allow_unsafe_options.
# An allow list, not a deny list: every dnsmasq release adds options (conf-script in 2.86,
# nftset in 2.87, dnssec-limits in 2.90), and a deny list would let the next one that runs a
# program or opens a file through unnoticed. These only shape what the DHCP and DNS answers on
# the network's own bridge say; none names a file, a program, a user, another interface or port.
SAFE_OPTIONS = frozenset((
    # DHCP and router advertisements
    'dhcp-range', 'dhcp-host', 'dhcp-option', 'dhcp-option-force', 'dhcp-ignore', 'dhcp-ignore-names',
    'dhcp-generate-names', 'dhcp-broadcast', 'dhcp-boot', 'dhcp-match', 'dhcp-name-match', 'dhcp-mac',
    'dhcp-vendorclass', 'dhcp-userclass', 'dhcp-circuitid', 'dhcp-remoteid', 'dhcp-subscrid', 'tag-if',
    'dhcp-sequential-ip', 'dhcp-ignore-clid', 'dhcp-no-override', 'dhcp-lease-max', 'dhcp-rapid-commit', 'dhcp-fqdn',
    'dhcp-client-update', 'dhcp-ttl', 'dhcp-reply-delay', 'dhcp-authoritative', 'dhcp-duid', 'bootp-dynamic', 'no-ping',
    'pxe-prompt', 'pxe-service', 'dhcp-pxe-vendor', 'enable-ra', 'ra-param',
    'log-dhcp', 'quiet-dhcp', 'quiet-dhcp6', 'quiet-ra', 'log-queries', 'log-async', 'log-debug',
    # DNS answers and forwarding
    'domain', 'local', 'address', 'server', 'rev-server', 'host-record', 'cname', 'mx-host', 'mx-target', 'localmx',
    'selfmx', 'srv-host', 'txt-record', 'ptr-record', 'naptr-record', 'caa-record', 'dns-rr', 'synth-domain',
    'expand-hosts', 'domain-needed', 'bogus-priv', 'filterwin2k', 'stop-dns-rebind', 'rebind-localhost-ok',
    'rebind-domain-ok', 'strict-order', 'all-servers', 'no-resolv', 'no-poll', 'cache-size', 'no-negcache', 'neg-ttl',
    'local-ttl', 'max-ttl', 'max-cache-ttl', 'min-cache-ttl', 'dns-forward-max', 'edns-packet-max', 'localise-queries',
    'bogus-nxdomain', 'ignore-address', 'alias', 'filter-rr', 'cache-rr', 'use-stale-cache', 'no-round-robin',
    'fast-dns-retry', 'dns-loop-detect', 'add-mac', 'add-subnet', 'add-cpe-id', 'strip-mac', 'strip-subnet', 'umbrella',
    'dnssec', 'trust-anchor', 'dnssec-check-unsigned', 'dnssec-no-timecheck', 'dnssec-debug', 'dnssec-limits',
    'proxy-dnssec', 'clear-on-reload', 'max-tcp-connections', 'query-port', 'min-port', 'max-port', 'port-limit',
    'filter-A', 'filter-AAAA', 'no-ident', 'no-hosts',
))
# Why the options dnsmasq 2.90 knows and SAFE_OPTIONS leaves out are refused, for the message.
UNSAFE_REASONS = (
    ('makes dnsmasq run a program', ('dhcp-script', 'dhcp-luascript', 'dhcp-scriptuser', 'script-arp',
                                     'script-on-renewal', 'conf-script')),
    ('makes dnsmasq read another file', ('conf-file', 'conf-dir', 'servers-file', 'addn-hosts', 'hostsdir', 'resolv-file',
                                         'dhcp-hostsfile', 'dhcp-optsfile', 'dhcp-hostsdir', 'dhcp-optsdir', 'read-ethers')),
    ('makes dnsmasq write a file', ('dhcp-leasefile', 'leasefile-ro', 'pid-file', 'log-facility', 'dumpfile', 'dumpmask',
                                    'dnssec-timestamp')),
    ("serves the host's files by TFTP", ('enable-tftp', 'tftp-root', 'tftp-unique-root', 'tftp-secure', 'tftp-lowercase',
                                         'tftp-max', 'tftp-mtu', 'tftp-no-blocksize', 'tftp-no-fail', 'tftp-port-range',
                                         'tftp-single-port', 'quiet-tftp')),
    ('changes the user dnsmasq runs as', ('user', 'group')),
    ('changes the interfaces, addresses or ports dnsmasq answers on', (
        'interface', 'except-interface', 'listen-address', 'bind-interfaces', 'bind-dynamic', 'no-dhcp-interface',
        'no-dhcpv4-interface', 'no-dhcpv6-interface', 'bridge-interface', 'shared-network', 'interface-name', 'port',
        'local-service', 'dynamic-host', 'dhcp-alternate-port', 'dhcp-relay', 'dhcp-proxy', 'auth-server', 'auth-zone', 'auth-soa',
        'auth-sec-servers', 'auth-peer', 'auth-ttl')),
    ("changes the host's firewall sets or talks on a system bus", ('ipset', 'nftset', 'connmark-allowlist',
                                                                   'connmark-allowlist-enable', 'conntrack',
                                                                   'enable-dbus', 'enable-ubus')),
    ('changes how xen_nat runs dnsmasq', ('keep-in-foreground', 'no-daemon', 'test', 'help', 'version')),
)
UNSAFE_OPTIONS = dict((name, reason) for reason, names in UNSAFE_REASONS for name in names)
UNKNOWN_REASON = 'is not a dnsmasq option xen_nat knows to be safe'


class DnsmasqValueError(ServiceError):
    """A value the dnsmasq configuration cannot carry; names the field and the value."""


def option_name(line):
    """The option a configuration line sets, or None for a blank line or a comment."""
    text = line.strip()
    if not text or text.startswith('#'):
        return None
    return text.split('=', 1)[0].strip()


def extra_option_problems(options, allow_unsafe=False):
    """Problems of dhcp.extra_options: a line break always, an option not in SAFE_OPTIONS unless allow_unsafe."""
    found = []
    for index, option in enumerate(options):
        if CONTROL.search(option):
            found.append("dhcp.extra_options[%d] '%s' holds a line break; give one option per item" % (index, option)
                         if '\n' in option or '\r' in option else
                         "dhcp.extra_options[%d] %r holds a control character, which a dnsmasq configuration line cannot carry"
                         % (index, option))
            continue
        name = option_name(option)
        if allow_unsafe or name is None or name in SAFE_OPTIONS:
            continue
        reason = UNSAFE_OPTIONS.get(name)
        found.append("dhcp.extra_options[%d] '%s' %s; set dhcp.allow_unsafe_options: true to allow it"
                     % (index, option, reason or UNKNOWN_REASON))
    return found


def _checked(pattern, field, value, rule):
    if not pattern.fullmatch(value):
        raise DnsmasqValueError('dnsmasq configuration: %s %r %s, so it cannot be written safely' % (field, value, rule))
    return value


def serves_dns(spec, gateway):
    """dnsmasq answers DNS itself when no servers are given or the gateway is among them."""
    return not spec.dhcp.dns_servers or gateway in spec.dhcp.dns_servers


def render_config(spec, gateway, leases_path, pid_path):
    """The configuration text; DnsmasqValueError for a value it cannot carry (validation refuses them first)."""
    dhcp = spec.dhcp
    netmask = spec.subnet.netmask
    lines = [
        '# dnsmasq for the xen_nat network %s, written by xenfleet.network; local changes are replaced.'
        % _checked(ONE_LINE, 'name', spec.name, 'holds a control character'),
        'interface=%s' % _checked(INTERFACE_WORD, 'bridge', spec.bridge, INTERFACE_RULE),
        'except-interface=lo',
        'bind-dynamic',
        'no-hosts',
        'dhcp-authoritative',
        'dhcp-leasefile=%s' % _checked(PATH_WORD, 'lease file under state_dir', leases_path, PATH_RULE),
        'pid-file=%s' % _checked(PATH_WORD, 'pid file under state_dir', pid_path, PATH_RULE),
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
        lines.append('domain=%s' % _checked(HOSTNAME_WORD, 'dhcp.domain', dhcp.domain, 'is not a DNS domain name'))
    for index, host in enumerate(dhcp.hosts):
        field = 'dhcp.hosts[%d]' % index
        fields = [_checked(MAC_WORD, field + '.mac', host.mac, 'is not a MAC address'), str(host.ip)]
        if host.hostname:
            fields.append(_checked(HOSTNAME_WORD, field + '.hostname', host.hostname, 'is not a host name'))
        lines.append('dhcp-host=%s' % ','.join(fields + [str(dhcp.lease_time)]))
    problems = extra_option_problems(dhcp.extra_options, dhcp.allow_unsafe_options)
    if problems:
        raise DnsmasqValueError('; '.join(problems))
    lines.extend(dhcp.extra_options)
    return '\n'.join(lines) + '\n'
