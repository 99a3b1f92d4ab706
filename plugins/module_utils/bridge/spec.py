# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The desired state of one dom0 bridge, and its validation.

Validation needs no host: every error names the field, the value and the
rule, and all errors are reported together before anything changes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import ipaddress

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    InvalidSpec, address_problems, cidr_problems, interface_name_problems, mac_problems)

STP_FORWARD_DELAY_RANGE = (2, 30)
MTU_RANGE = (68, 65535)
DEFAULT_PERSIST_DIR = '/etc/network/interfaces.d'
DEFAULT_INTERFACES_PATH = '/etc/network/interfaces'
XEN_VIF_MAC = 'fe:ff:ff:ff:ff:ff'


def stable_mac(machine_id, name):
    """A locally administered MAC that depends only on the host and the bridge name.

    Left alone, a bridge takes the lowest MAC among its ports and changes it as
    ports come and go; Xen's vifs all carry fe:ff:ff:ff:ff:ff, so a guest-only
    bridge would flap its MAC and break its guests' ARP caches for the gateway.
    """
    digest = hashlib.sha256(('%s/%s' % (machine_id.strip(), name)).encode('utf-8')).digest()
    return '02:' + ':'.join('%02x' % octet for octet in bytearray(digest[:5]))


class BridgeSpec:
    """What the user asked for, in kernel units, already validated."""

    def __init__(self, params):
        self.name = params['name']
        self.state = params.get('state') or 'present'
        self.uplink = params.get('uplink')
        self.mac = (params.get('mac') or '').lower() or None
        self.ports = list(params.get('ports') or [])
        self.addresses = params.get('addresses')
        self.stp = bool(params.get('stp'))
        self.forward_delay = params.get('forward_delay')
        if self.forward_delay is None:
            self.forward_delay = 0
        self.mtu = params.get('mtu')
        self.nf_call_iptables = params.get('nf_call_iptables')
        self.connectivity_check = params.get('connectivity_check')
        self.connectivity_timeout = params.get('connectivity_timeout') or 10
        self.persist = params.get('persist') or 'none'
        self.persist_path = params.get('persist_path') or '%s/%s' % (DEFAULT_PERSIST_DIR, self.name)
        self.interfaces_path = params.get('interfaces_path') or DEFAULT_INTERFACES_PATH
        problems = self.problems()
        if problems:
            raise InvalidSpec(problems)

    def problems(self):
        found = interface_name_problems('name', self.name)
        if self.uplink is not None:
            found.extend(interface_name_problems('uplink', self.uplink))
            if self.uplink == self.name:
                found.append("uplink '%s' is the bridge itself" % self.uplink)
        if self.mac is not None:
            found.extend(mac_problems('mac', self.mac, holder='a bridge'))
        for port in self.ports:
            found.extend(interface_name_problems('ports', port))
            if port in (self.name, self.uplink):
                found.append("ports '%s' is the bridge or its uplink" % port)
        for cidr in self.addresses or []:
            found.extend(cidr_problems('addresses', cidr))
        for target in self.connectivity_check or []:
            found.extend(address_problems('connectivity_check', target))
        found.extend(self.timing_problems())
        return [problem for problem in found if problem]

    def timing_problems(self):
        found = []
        low, high = STP_FORWARD_DELAY_RANGE
        if self.stp and not low <= self.forward_delay <= high:
            found.append('forward_delay %s must be between %d and %d seconds when stp is on' % (self.forward_delay, low, high))
        if not self.stp and not 0 <= self.forward_delay <= high:
            found.append('forward_delay %s must be between 0 and %d seconds' % (self.forward_delay, high))
        if self.mtu is not None and not MTU_RANGE[0] <= self.mtu <= MTU_RANGE[1]:
            found.append('mtu %s must be between %d and %d' % (self.mtu, MTU_RANGE[0], MTU_RANGE[1]))
        if self.connectivity_timeout <= 0:
            found.append('connectivity_timeout %s must be a positive number of seconds' % self.connectivity_timeout)
        return found

    def bridge_options(self):
        """Bridge options in the kernel's units (forward delay in 1/100 s)."""
        options = {'stp': 1 if self.stp else 0, 'forward_delay': int(round(self.forward_delay * 100))}
        if self.nf_call_iptables is not None:
            flag = 1 if self.nf_call_iptables else 0
            options.update(nf_call_iptables=flag, nf_call_ip6tables=flag, nf_call_arptables=flag)
        return options

    def bridge_mac(self, uplink_mac, current_mac, machine_id):
        """The MAC the bridge must carry: asked for, else the uplink's, else the one it has,
        unless it has none yet or carries the MAC of Xen's vifs, which all bridges would share."""
        if self.mac:
            return self.mac
        if uplink_mac:
            return uplink_mac
        if current_mac and current_mac != XEN_VIF_MAC:
            return current_mac
        return stable_mac(machine_id or '', self.name)

    def declared_addresses(self):
        return [ipaddress.ip_interface(cidr) for cidr in self.addresses or []]
