# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every duplicate MAC, IP address and vif name across the dom0s of an inventory.

Roles call it before changing anything, so a conflict anywhere in the
fleet stops the run with a readable list while nothing has changed yet.
Documentation: fleet_conflicts.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import traceback

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import settle_dom0
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import DEFAULT_MAC_PREFIX
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import ip_address_key

try:
    import jmespath
except ImportError:
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()
else:
    JMESPATH_IMPORT_ERROR = None

SCOPES = ('fleet', 'dom0')
# One row per value a vif claims; jmespath picks each kind's rows out of them.
ROWS_OF_KIND = "[?kind == '%s' && value != null] | sort_by(@, &sort_key)"


def _rows(claim):
    """The values one vif claims, as flat rows: its MAC, each address, each device name."""
    holder = {'dom0': claim.dom0, 'guest': claim.guest, 'devid': claim.devid}
    values = [('mac', claim.mac)]
    values.extend(('ip', address) for address in sorted(set(ip_address_key(entry) for entry in claim.ips)))
    values.extend(('vifname', name) for name in claim.names)
    rows = []
    for kind, value in values:
        row = dict(holder, kind=kind, value=value)
        row['sort_key'] = '%s\0%s\0%s' % (value, claim.dom0, claim.guest)
        rows.append(row)
    return rows


def _guests_of(hostvars, host, guests_query):
    guests = jmespath.search(guests_query, hostvars[host])
    if guests is None:
        return []
    if not isinstance(guests, list):
        raise AnsibleFilterError("fleet_conflicts: host '%s': '%s' gives %s, not a list of guests" % (host, guests_query, type(guests).__name__))
    return guests


def _conflicts(rows, kind, scope):
    """Groups of rows of one kind sharing a value, within a dom0 or across the fleet."""
    groups = collections.OrderedDict()
    for row in jmespath.search(ROWS_OF_KIND % kind, rows) or []:
        groups.setdefault((row['value'], row['dom0'] if scope == 'dom0' else None), []).append(row)
    conflicts = []
    for (value, dom0), members in groups.items():
        if len(members) > 1:
            holders = [{'dom0': row['dom0'], 'guest': row['guest'], 'devid': row['devid']} for row in members]
            conflicts.append({'kind': kind, 'value': value, 'dom0': dom0, 'holders': holders})
    return conflicts


def _message(conflict):
    holders = ', '.join("guest '%s' vif %s on %s" % (holder['guest'], holder['devid'], holder['dom0']) for holder in conflict['holders'])
    where = 'on dom0 %s' % conflict['dom0'] if conflict['dom0'] is not None else 'in the fleet'
    return "%s '%s' is used %d times %s: %s" % (conflict['kind'], conflict['value'], len(conflict['holders']), where, holders)


def fleet_conflicts(hostvars, hosts=None, guests_query='xen_guests', mac_scope='fleet', ip_scope='fleet', mac_prefix=DEFAULT_MAC_PREFIX):
    """Duplicates among the guests' vifs of every host: {'mac': [...], 'ip': [...], 'vifname': [...], 'messages': [...], 'count': N}."""
    if jmespath is None:
        raise AnsibleFilterError('fleet_conflicts needs the Python library jmespath on the controller (pip install jmespath): %s' % JMESPATH_IMPORT_ERROR)
    for name, scope in (('mac_scope', mac_scope), ('ip_scope', ip_scope)):
        if scope not in SCOPES:
            raise AnsibleFilterError("fleet_conflicts: %s '%s' is not one of %s" % (name, scope, ', '.join(SCOPES)))
    rows = []
    for host in sorted(hosts if hosts is not None else hostvars):
        try:
            claims = settle_dom0(_guests_of(hostvars, host, guests_query), dom0=host, mac_prefix=mac_prefix)
        except ValueError as error:
            raise AnsibleFilterError("fleet_conflicts: host '%s': %s" % (host, error))
        for claim in claims:
            rows.extend(_rows(claim))
    # A vif name only has to be unique on its own dom0; MACs and addresses
    # meet on shared segments and travel with migrating guests, hence 'fleet'.
    result = {
        'mac': _conflicts(rows, 'mac', mac_scope),
        'ip': _conflicts(rows, 'ip', ip_scope),
        'vifname': _conflicts(rows, 'vifname', 'dom0'),
    }
    result['messages'] = [_message(conflict) for kind in ('mac', 'ip', 'vifname') for conflict in result[kind]]
    result['count'] = len(result['messages'])
    return result


class FilterModule:
    """Fleet-wide vif conflict check."""

    def filters(self):
        return {'fleet_conflicts': fleet_conflicts}
