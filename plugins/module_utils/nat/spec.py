# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired state of one private guest network (xen_nat), and its validation.

Private to the collection: may change without notice.

Validation needs no host: every problem names the field, the value and the
rule (`port_forwards[1].to_ip '10.9.9.9' is outside subnet 10.0.1.0/24`),
and all of them are reported together before anything changes. Checks that
need the host (the bridge's gateway address, other instances) live in
_nat_host_checks.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    Claims, InvalidSpec, interface_name_problems, mac_problems)
from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_config import PATH_RULE, PATH_WORD, extra_option_problems
from ansible_collections.xenfleet.network.plugins.module_utils.nat.domid import (
    devid_problem, domid_problem, vif_nat_address, vif_nat_hostname)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import mac_from_ip

# fullmatch, not match: '$' also matches before a trailing newline, which would reach dnsmasq's files.
NAME_PATTERN = re.compile(r'[A-Za-z0-9][A-Za-z0-9_-]{0,31}')
HOSTNAME_PATTERN = re.compile(r'[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?')
MAX_PREFIXLEN = 30
MIN_LEASE_TIME = 120  # dnsmasq refuses shorter leases
PORT_RANGE = (1, 65535)
DEFAULT_STATE_DIR = '/var/lib/xenfleet/nat'
DEFAULT_CONFIG_DIR = '/etc/xenfleet/nat'
DEFAULT_SYSTEMD_UNIT_DIR = '/etc/systemd/system'

__all__ = ['InvalidSpec', 'NatSpec', 'DhcpSpec', 'FixedLease', 'PortForward']


def parse_ipv4(field, text, problems):
    """text as an IPv4Address, or None with the reason appended to problems."""
    try:
        return ipaddress.IPv4Address(str(text))
    except ValueError:
        problems.append("%s '%s' is not an IPv4 address" % (field, text))
        return None


def parse_subnet(field, text, problems):
    try:
        network = ipaddress.IPv4Network(str(text), strict=False)
    except ValueError:
        problems.append("%s '%s' is not an IPv4 network in CIDR form such as 10.0.1.0/24" % (field, text))
        return None
    if '/' not in str(text):
        problems.append("%s '%s' has no prefix length; write it as a CIDR such as 10.0.1.0/24" % (field, text))
        return None
    if str(network) != str(text):
        problems.append("%s '%s' has host bits set; the network is %s" % (field, text, network))
        return None
    if network.prefixlen > MAX_PREFIXLEN:
        problems.append("%s '%s' leaves no room for a gateway and guests; use a prefix of /%d or shorter"
                        % (field, text, MAX_PREFIXLEN))
        return None
    return network


def host_address_problem(field, address, subnet):
    """Why address cannot be a host of subnet (outside it, or its network or broadcast address), or None."""
    if address not in subnet:
        return "%s '%s' is outside subnet %s" % (field, address, subnet)
    if address == subnet.network_address:
        return "%s '%s' is the network address of subnet %s" % (field, address, subnet)
    if address == subnet.broadcast_address:
        return "%s '%s' is the broadcast address of subnet %s" % (field, address, subnet)
    return None


def port_problem(field, port):
    if not PORT_RANGE[0] <= port <= PORT_RANGE[1]:
        return "%s '%s' must be between %d and %d" % (field, port, PORT_RANGE[0], PORT_RANGE[1])
    return None


class PortForward:
    """proto/port on the public address, forwarded to to_ip:to_port in the subnet."""

    def __init__(self, params):
        self.proto = params.get('proto') or 'tcp'
        self.port = params.get('port')
        self.to_ip_text = params.get('to_ip')
        self.to_ip = None
        self.to_port = params.get('to_port') if params.get('to_port') is not None else self.port
        self.hairpin = bool(params.get('hairpin'))

    @property
    def key(self):
        return '%s/%s' % (self.proto, self.port)

    def as_dict(self):
        return dict(proto=self.proto, port=self.port, to_ip=str(self.to_ip), to_port=self.to_port, hairpin=self.hairpin)

    def problems(self, field, subnet):
        found = []
        if self.proto not in ('tcp', 'udp'):
            found.append("%s.proto '%s' must be tcp or udp" % (field, self.proto))
        if self.port is None:
            found.append('%s.port is required' % field)
        else:
            found.append(port_problem('%s.port' % field, self.port))
            found.append(port_problem('%s.to_port' % field, self.to_port))
        if self.to_ip_text is None:
            found.append('%s.to_ip is required' % field)
        else:
            self.to_ip = parse_ipv4('%s.to_ip' % field, self.to_ip_text, found)
        if self.to_ip is not None and subnet is not None:
            found.append(host_address_problem('%s.to_ip' % field, self.to_ip, subnet))
        return found


class FixedLease:
    """One dhcp-host: a MAC that always gets ip (and hostname); ip may come from vif-nat's domid scheme."""

    def __init__(self, params):
        self.mac = (params.get('mac') or '').lower() or None
        self.ip_text = params.get('ip')
        self.domid = params.get('domid')
        self.devid = params.get('devid') or 0
        self.hostname = params.get('hostname')
        self.ip = None

    def as_dict(self):
        return dict(mac=self.mac, ip=str(self.ip), hostname=self.hostname)

    def problems(self, field, subnet):
        found = []
        if self.ip_text is not None and self.domid is not None:
            found.append("%s gives both ip '%s' and domid '%s'; give one" % (field, self.ip_text, self.domid))
        elif self.ip_text is not None:
            self.ip = parse_ipv4('%s.ip' % field, self.ip_text, found)
            if self.ip is not None and subnet is not None:
                found.append(host_address_problem('%s.ip' % field, self.ip, subnet))
        elif self.domid is not None:
            found.extend(self._domid_problems(field, subnet))
        else:
            found.append('%s needs ip or domid' % field)
        if self.mac is None and self.ip is not None:
            self.mac = mac_from_ip(str(self.ip))
        if self.mac is not None:
            found.extend(mac_problems('%s.mac' % field, self.mac, holder='a guest'))
        elif not found:
            found.append('%s.mac is required' % field)
        if self.hostname is not None and not HOSTNAME_PATTERN.fullmatch(self.hostname):
            found.append("%s.hostname '%s' is not a host name (letters, digits and inner '-', at most 63)"
                         % (field, self.hostname))
        return found

    def _domid_problems(self, field, subnet):
        found = [domid_problem('%s.domid' % field, self.domid), devid_problem('%s.devid' % field, self.devid)]
        if any(found):
            return found
        self.ip = vif_nat_address(self.domid, self.devid)
        if self.hostname is None:
            self.hostname = vif_nat_hostname(self.domid, self.devid)
        if subnet is not None and host_address_problem('ip', self.ip, subnet):
            found.append("%s.domid '%s' gives %s (vif-nat's scheme), which is outside subnet %s or not a host address"
                         % (field, self.domid, self.ip, subnet))
            self.ip = None
        return found


class DhcpSpec:
    """dnsmasq's part: the dynamic range, lease time, DNS, domain and fixed leases."""

    def __init__(self, params):
        params = params or {}
        self.enabled = params.get('enabled', True) is not False
        self.range_start_text = params.get('range_start')
        self.range_end_text = params.get('range_end')
        self.range_start = None
        self.range_end = None
        self.lease_time = params.get('lease_time') or 3600
        self.dns_servers_text = list(params.get('dns_servers') or [])
        self.dns_servers = []
        self.domain = params.get('domain')
        self.hosts = [FixedLease(host or {}) for host in params.get('hosts') or []]
        self.extra_options = list(params.get('extra_options') or [])
        self.allow_unsafe_options = params.get('allow_unsafe_options') is True

    def problems(self, subnet):
        found = self._range_problems(subnet)
        if self.lease_time < MIN_LEASE_TIME:
            found.append("dhcp.lease_time '%s' is too short; dnsmasq needs at least %d seconds" % (self.lease_time, MIN_LEASE_TIME))
        for index, text in enumerate(self.dns_servers_text):
            address = parse_ipv4('dhcp.dns_servers[%d]' % index, text, found)
            if address is not None:
                self.dns_servers.append(address)
        if self.domain is not None and not all(HOSTNAME_PATTERN.fullmatch(label) for label in self.domain.split('.')):
            found.append("dhcp.domain '%s' is not a DNS domain name" % self.domain)
        found.extend(extra_option_problems(self.extra_options, self.allow_unsafe_options))
        found.extend(self._host_problems(subnet))
        return found

    def _range_problems(self, subnet):
        found = []
        if (self.range_start_text is None) != (self.range_end_text is None):
            given = 'range_start' if self.range_start_text is not None else 'range_end'
            missing = 'range_end' if given == 'range_start' else 'range_start'
            found.append("dhcp.%s '%s' needs dhcp.%s too" % (given, self.range_start_text or self.range_end_text, missing))
            return found
        if self.range_start_text is None:
            return found
        start = parse_ipv4('dhcp.range_start', self.range_start_text, found)
        end = parse_ipv4('dhcp.range_end', self.range_end_text, found)
        if start is None or end is None or subnet is None:
            return found
        bounds = [host_address_problem('dhcp.range_start', start, subnet), host_address_problem('dhcp.range_end', end, subnet)]
        found.extend(bounds)
        if start > end:
            found.append("dhcp.range_start '%s' comes after dhcp.range_end '%s'" % (start, end))
        elif not any(bounds):
            self.range_start, self.range_end = start, end
        return found

    def _host_problems(self, subnet):
        found = []
        held = Claims()
        for index, host in enumerate(self.hosts):
            field = 'dhcp.hosts[%d]' % index
            problems = [problem for problem in host.problems(field, subnet) if problem]
            found.extend(problems)
            if problems:
                continue
            for key in ('mac', 'ip', 'hostname'):
                value = getattr(host, key)
                earlier = held.claim(index, key, value) if value is not None else []
                if earlier:
                    found.append("%s.%s '%s' is already used by dhcp.hosts[%d]" % (field, key, value, earlier[0]))
        return found

    def gateway_problems(self, gateway):
        found = []
        if self.range_start is not None and self.range_start <= gateway <= self.range_end:
            found.append("dhcp range '%s-%s' contains the gateway %s" % (self.range_start, self.range_end, gateway))
        for index, host in enumerate(self.hosts):
            if host.ip == gateway:
                found.append("dhcp.hosts[%d].ip '%s' is the gateway" % (index, host.ip))
        return found


def state_dir_problems(state_dir):
    """dnsmasq's configuration names the lease and pid files under state_dir: refused here, before the
    directory and its lock are made, when that configuration could not carry it."""
    if PATH_WORD.fullmatch(state_dir):
        return []
    return ["state_dir '%s' %s, which the dnsmasq configuration's lease and pid files need" % (state_dir, PATH_RULE)]


class NatSpec:
    """What the user asked for, already validated; raises InvalidSpec listing every problem."""

    def __init__(self, params):
        self.name = params.get('name') or ''
        self.state = params.get('state') or 'present'
        self.bridge = params.get('bridge')
        self.uplink = params.get('uplink')
        self.subnet_text = params.get('subnet')
        self.subnet = None
        self.gateway_text = params.get('gateway')
        self.gateway = None
        self.snat_to_text = params.get('snat_to')
        self.snat_to = None
        masquerade = params.get('masquerade')
        self.masquerade_given = masquerade
        self.masquerade = (self.snat_to_text is None) if masquerade is None else bool(masquerade)
        self.ip_forward = params.get('ip_forward') is not False
        self.port_forwards = [PortForward(forward or {}) for forward in params.get('port_forwards') or []]
        self.dhcp = DhcpSpec(params.get('dhcp'))
        self.service_manager = params.get('service_manager') or 'auto'
        self.state_dir = params.get('state_dir') or DEFAULT_STATE_DIR
        self.config_dir = params.get('config_dir') or DEFAULT_CONFIG_DIR
        self.systemd_unit_dir = params.get('systemd_unit_dir') or DEFAULT_SYSTEMD_UNIT_DIR
        self.dnsmasq_path = params.get('dnsmasq_path')
        self.persist = params.get('persist') is not False
        problems = self.problems()
        if problems:
            raise InvalidSpec(problems)

    @property
    def source_nat(self):
        """'masquerade', 'snat' or None (a routed network: upstream routes the subnet back)."""
        if self.snat_to_text is not None:
            return 'snat'
        return 'masquerade' if self.masquerade else None

    def problems(self):
        found = []
        if not NAME_PATTERN.fullmatch(self.name):
            found.append("name '%s' must be 1 to 32 letters, digits, '_' or '-', starting with a letter or digit" % self.name)
        if self.state == 'present':
            found.extend(self._present_problems())
        return [problem for problem in found if problem]

    def _present_problems(self):
        found = []
        for field, value in (('bridge', self.bridge), ('uplink', self.uplink), ('subnet', self.subnet_text)):
            if not value:
                found.append('%s is required when state is present' % field)
        if self.bridge:
            found.extend(interface_name_problems('bridge', self.bridge))
        if self.uplink:
            found.extend(interface_name_problems('uplink', self.uplink))
            if self.uplink == self.bridge:
                found.append("uplink '%s' is the bridge itself; NAT needs a separate outgoing interface" % self.uplink)
        if self.subnet_text:
            self.subnet = parse_subnet('subnet', self.subnet_text, found)
        found.extend(self._source_nat_problems())
        found.extend(self._forward_problems())
        if self.dhcp.enabled:
            found.extend(self.dhcp.problems(self.subnet))
            found.extend(state_dir_problems(self.state_dir))
        if self.gateway_text is not None:
            self.gateway = parse_ipv4('gateway', self.gateway_text, found)
            if self.gateway is not None and self.subnet is not None:
                problem = host_address_problem('gateway', self.gateway, self.subnet)
                found.append(problem)
                if not problem:
                    found.extend(self.gateway_problems(self.gateway))
        return found

    def _source_nat_problems(self):
        found = []
        if self.snat_to_text is None:
            return found
        if self.masquerade_given:
            found.append("snat_to '%s' and masquerade true exclude each other; leave masquerade unset" % self.snat_to_text)
        self.snat_to = parse_ipv4('snat_to', self.snat_to_text, found)
        if self.snat_to is not None and self.subnet is not None and self.snat_to in self.subnet:
            found.append("snat_to '%s' is inside subnet %s; it must be dom0's public address" % (self.snat_to, self.subnet))
        return found

    def _forward_problems(self):
        found = []
        held = Claims()
        for index, forward in enumerate(self.port_forwards):
            field = 'port_forwards[%d]' % index
            problems = [problem for problem in forward.problems(field, self.subnet) if problem]
            found.extend(problems)
            earlier = held.claim(index, 'port', forward.key)
            if not problems and earlier:
                found.append("%s '%s' is already forwarded by port_forwards[%d]" % (field, forward.key, earlier[0]))
        return found

    def gateway_problems(self, gateway):
        """Problems that appear once the gateway is known (given, or read from the bridge)."""
        found = []
        for index, forward in enumerate(self.port_forwards):
            if forward.to_ip == gateway:
                found.append("port_forwards[%d].to_ip '%s' is the gateway; forward to a guest" % (index, forward.to_ip))
        if self.dhcp.enabled:
            found.extend(self.dhcp.gateway_problems(gateway))
        return found

    def summary(self):
        """What other instances need to know about this one (kept in its instance record)."""
        return dict(name=self.name, bridge=self.bridge, uplink=self.uplink, subnet=str(self.subnet),
                    snat_to=str(self.snat_to) if self.snat_to else None,
                    port_forwards=[forward.key for forward in self.port_forwards])
