# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_route's options, checked: every problem is named with its option and value before the host is read.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
from collections import namedtuple

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    Claims, InvalidSpec, interface_name_problems, parse_interface, path_problems)

# A vif and the guest addresses routed through it, as ipaddress addresses in the order given.
VifRoutes = namedtuple('VifRoutes', 'vif addresses')
# Xen's vif scripts source every *.hook here once a vif is plugged (call_hooks vif post).
DEFAULT_HOOK_PATH = '/etc/xen/scripts/vif-post.d/xenfleet-route.hook'
DEFAULT_IPV6_DATA_PATH = '/etc/xenfleet/route/ipv6-vifs'


class RouteSpec:
    """The options of one xen_route task."""

    def __init__(self, params):
        problems = interface_name_problems('uplink', params['uplink'])
        self.uplink = params['uplink']
        self.purge = params['purge']
        self.persist = params['persist']
        self.sysctl_path = params['sysctl_path']
        problems += sysctl_path_problems('sysctl_path', self.sysctl_path)
        self.hook_path = params.get('hook_path') or DEFAULT_HOOK_PATH
        self.ipv6_data_path = params.get('ipv6_data_path') or DEFAULT_IPV6_DATA_PATH
        self.routes = []
        claims = Claims()
        for position, entry in enumerate(params['routes'] or []):
            vif_routes, entry_problems = _vif_routes('routes[%d]' % position, entry, self.uplink, claims)
            problems += entry_problems
            if vif_routes:
                self.routes.append(vif_routes)
        for kind, value, holders in claims.duplicates():
            problems.append('%s %s is given %d times: %s' % (kind, value, len(holders), ', '.join(holders)))
        if problems:
            raise InvalidSpec(problems)

    def families(self):
        return set(address.version for entry in self.routes for address in entry.addresses)


def sysctl_path_problems(field, path):
    """The sysctl.d file: the collection's path rule, and ending in .conf (systemd-sysctl reads no other)."""
    problems = path_problems(field, path)
    if problems:
        return problems
    if not os.path.isabs(path) or not path.endswith('.conf') or '..' in path.split('/'):
        return ["%s '%s' is not an absolute path ending in .conf without '..' (systemd-sysctl reads only *.conf)"
                % (field, path)]
    return []


def _vif_routes(field, entry, uplink, claims):
    problems = interface_name_problems(field + '.vif', entry['vif'])
    if entry['vif'] == uplink:
        problems.append("%s.vif '%s' is the uplink; a guest's vif is another device" % (field, entry['vif']))
    claims.claim('%s.vif' % field, 'vif', entry['vif'])
    if not entry['addresses']:
        problems.append("%s.addresses is empty; a routed vif needs the guest's addresses (ip= in its vif line), "
                        "or nothing can be routed to it" % field)
    addresses = []
    for position, text in enumerate(entry['addresses'] or []):
        where = '%s.addresses[%d]' % (field, position)
        rules = host_address_rules(text)
        if rules:
            problems += ["%s '%s' %s" % (where, text, rule) for rule in rules]
            continue
        address = parse_interface(text).ip
        claims.claim(where, 'address', str(address))
        addresses.append(address)
    return VifRoutes(entry['vif'], addresses), problems


def host_address_rules(text):
    """The rules text breaks as one guest address routed to a vif: an address, or one with /32 or /128."""
    interface = parse_interface(text)
    if interface is None:
        return ['is not an IPv4 or IPv6 address']
    address = interface.ip
    if interface.network.prefixlen != address.max_prefixlen:
        return ['is a network; a routed guest gets host routes, so give its addresses (/%d or none)' % address.max_prefixlen]
    if address.is_multicast or address.is_unspecified or address.is_loopback or address.is_link_local:
        return ['is not a unicast address a guest can own (multicast, unspecified, loopback or link-local)']
    return []
