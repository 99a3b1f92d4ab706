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

import traceback

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import settle_dom0
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import DEFAULT_MAC_PREFIX
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import Claims
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import vif_claims

try:
    import jmespath
except ImportError:
    jmespath = None
    JMESPATH_IMPORT_ERROR = traceback.format_exc()
else:
    JMESPATH_IMPORT_ERROR = None

SCOPES = ('fleet', 'dom0')
# xenfleet_guests first; xen_guests is its old name, read for one release.
GUESTS_QUERY = 'xenfleet_guests || xen_guests'

display = Display()
KINDS = ('mac', 'ip', 'vifname')
AUTO_KEYS = {'mac': 'auto', 'vifname': 'auto'}


def _rows(claim):
    """(kind, value, holder) of what one vif claims: its MAC, each address, each device name."""
    holder = {'dom0': claim.dom0, 'guest': claim.guest, 'devid': claim.devid}
    return [(kind, value, holder) for kind, value in vif_claims(claim.names, claim.mac, claim.ips)]


def _guests_of(hostvars, host, guests_query):
    guests = jmespath.search(guests_query, hostvars[host])
    if guests is None:
        return []
    if not isinstance(guests, list):
        raise AnsibleFilterError("fleet_conflicts: host '%s': '%s' gives %s, not a list of guests" % (host, guests_query, type(guests).__name__))
    return [_with_auto_defaults(guest) for guest in guests]


def _with_auto_defaults(guest):
    """The guest as xen_guest_vifs sees it: a vif mapping without mac or vifname takes 'auto' (a vif string means what it says)."""
    if not isinstance(guest, dict) or not isinstance(guest.get('vifs'), list):
        return guest
    vifs = [dict(AUTO_KEYS, **vif) if isinstance(vif, dict) else vif for vif in guest['vifs']]
    return dict(guest, vifs=vifs)


def _conflicts(rows, kind, scope):
    """Groups of holders of one kind sharing a value, within a dom0 or across the fleet, by value."""
    held = Claims()
    for row_kind, value, holder in sorted(rows, key=lambda row: (row[1], row[2]['dom0'], row[2]['guest'])):
        if row_kind == kind:
            held.claim(holder, kind, (value, holder['dom0'] if scope == 'dom0' else None))
    return [{'kind': kind, 'value': value, 'dom0': dom0, 'holders': holders} for _kind, (value, dom0), holders in held.duplicates()]


def _message(conflict):
    holders = ', '.join("guest '%s' vif %s on %s" % (holder['guest'], holder['devid'], holder['dom0']) for holder in conflict['holders'])
    where = 'on dom0 %s' % conflict['dom0'] if conflict['dom0'] is not None else 'in the fleet'
    return "%s '%s' is used %d times %s: %s" % (conflict['kind'], conflict['value'], len(conflict['holders']), where, holders)


def fleet_conflicts(hostvars, hosts=None, guests_query=GUESTS_QUERY, mac_scope='fleet', ip_scope='fleet', mac_prefix=DEFAULT_MAC_PREFIX):
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
    scopes = {'mac': mac_scope, 'ip': ip_scope, 'vifname': 'dom0'}
    result = dict((kind, _conflicts(rows, kind, scopes[kind])) for kind in KINDS)
    result['messages'] = [_message(conflict) for kind in KINDS for conflict in result[kind]]
    result['count'] = len(result['messages'])
    return result


def inventory_guests(guests, old_guests=None, host=None):
    """A dom0's guests from xenfleet_guests, or from the old name xen_guests with a deprecation warning."""
    for name, value in (('xenfleet_guests', guests), ('xen_guests', old_guests)):
        if value is not None and not isinstance(value, list):
            raise AnsibleFilterError('inventory_guests: %s must be a list of guests, not %s' % (name, type(value).__name__))
    if old_guests is None:
        return guests or []
    if guests:
        raise AnsibleFilterError('inventory_guests: %sboth xenfleet_guests and its old name xen_guests are set; keep only xenfleet_guests'
                                 % ("host '%s': " % host if host else ''))
    display.deprecated('The inventory variable xen_guests is renamed xenfleet_guests; rename it%s'
                       % (" for host '%s'" % host if host else ''),
                       version='2.0.0', collection_name='xenfleet.network')
    return old_guests


class FilterModule:
    """Fleet-wide vif conflict check, and the guests of the inventory under their new and old names."""

    def filters(self):
        return {'fleet_conflicts': fleet_conflicts, 'inventory_guests': inventory_guests}
