# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that turn a dom0's guests (as xen_vif_info returns them) into the
inputs of the firewall and DHCP modules, so every module works from the one
truth: the vif entries of the guests' xl configs.

Documentation: one <filter>.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import parse_interface


def _vifs(guests, name):
    if not isinstance(guests, list):
        raise AnsibleFilterError('%s: expects the list of guests that xen_vif_info returns, got %s' % (name, type(guests).__name__))
    for guest in guests:
        for vif in guest.get('vifs') or []:
            yield guest, vif


def _addresses(vif, version):
    found = []
    for entry in vif.get('ip') or []:
        interface = parse_interface(entry)
        if interface is None:
            continue  # xen_vif validated the config; an odd entry is not this filter's to judge
        if interface.version == version:
            found.append(str(interface.ip) if interface.network.prefixlen == interface.max_prefixlen or '/' not in entry
                         else str(interface.with_prefixlen))
    return found


def antispoof_vifs(guests, bridges=None):
    """One xen_antispoof policy per named vif: its MAC, IPv4 and IPv6 addresses.

    Vifs without a vifname are left out: xl names them vifDOMID.DEVID, which
    changes at every boot, so no rule could follow them.
    """
    policies = []
    for guest, vif in _vifs(guests, 'antispoof_vifs'):
        if not vif.get('vifname') or (bridges is not None and vif.get('bridge') not in bridges):
            continue
        policy = {'name': vif['vifname'], 'ipv4': _addresses(vif, 4), 'ipv6': _addresses(vif, 6)}
        if vif.get('mac'):
            policy['mac'] = [vif['mac']]
        policies.append(policy)
    return policies


def dhcp_hosts(guests, bridge):
    """Fixed DHCP leases (mac, ip, hostname) for the vifs on one bridge that have a MAC and an IPv4 address."""
    leases = []
    for guest, vif in _vifs(guests, 'dhcp_hosts'):
        addresses = [address.split('/')[0] for address in _addresses(vif, 4)]
        if vif.get('bridge') != bridge or not vif.get('mac') or not addresses:
            continue
        hostname = guest.get('name') if not vif.get('devid') else '%s-%s' % (guest.get('name'), vif['devid'])
        leases.append({'mac': vif['mac'], 'ip': addresses[0], 'hostname': hostname})
    return leases


class FilterModule(object):

    def filters(self):
        return {'antispoof_vifs': antispoof_vifs, 'dhcp_hosts': dhcp_hosts}
