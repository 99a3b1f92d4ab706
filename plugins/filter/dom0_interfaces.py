# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interfaces that are dom0's own by the inventory model, for xen_antispoof's host_interfaces.

Once xen_antispoof is given dom0's own interfaces, a frame from any other
port or interface without a policy is dropped: so every interface the model
gives dom0 must be named here, or dom0 loses its traffic on it (a bridge
port to another network, such as the real-Xen lane's upstream veth, carries
the replies to NAT and to dom0 itself).

Documentation: dom0_interfaces.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _names(entries, field, keys):
    if not isinstance(entries, list):
        raise AnsibleFilterError('dom0_interfaces: %s must be a list, got %s' % (field, type(entries).__name__))
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise AnsibleFilterError('dom0_interfaces: %s[%d] must be a dict, got %s' % (field, index, type(entry).__name__))
        for key in keys:
            value = entry.get(key)
            for name in value if isinstance(value, list) else [value]:
                if name:
                    yield name


def dom0_interfaces(bridges, networks=None, uplink=None, extra=None):
    """dom0's own interfaces: each bridge, its uplink and its ports, each NAT network's bridge and uplink, the
    host's uplink and extra (xenfleet_antispoof.host_interfaces), each once, in that order."""
    found = list(extra or [])
    found.extend(_names(bridges, 'bridges', ('name', 'uplink', 'ports')))
    found.extend(_names(networks or [], 'networks', ('bridge', 'uplink')))
    if uplink:
        found.append(uplink)
    unique = []
    for name in found:
        if name not in unique:
            unique.append(name)
    return unique


class FilterModule(object):

    def filters(self):
        return {'dom0_interfaces': dom0_interfaces}
