# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for xl vif specs: derive MACs and vif names, render and parse vif strings.

The same functions the xen_vif module uses, so a playbook computes exactly
what the module would write. Documentation: one <filter>.yml beside this file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import guest_name_problems
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import (
    DEFAULT_MAC_PREFIX,
    mac_auto as derive_mac_auto,
    mac_from_ip as derive_mac_from_ip,
    mac_from_name as derive_mac_from_name,
    vifname_auto as derive_vifname_auto,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import (
    parse_vif as parse_vif_spec,
    render_vif as render_vif_spec,
    spec_from_dict,
)

AUTO = 'auto'


def _filter_error(name, error):
    return AnsibleFilterError('%s: %s' % (name, error))


def _require_guest_name(name, guest):
    """The guest name ends up in vif names and configs: the rule xen_vif applies to domain."""
    problems = guest_name_problems('guest', guest)
    if problems:
        raise _filter_error(name, '; '.join(problems))


def mac_from_ip(ip, prefix=DEFAULT_MAC_PREFIX):
    try:
        return derive_mac_from_ip(ip, prefix)
    except ValueError as error:
        raise _filter_error('mac_from_ip', error)


def mac_from_name(guest, devid=0):
    _require_guest_name('mac_from_name', guest)
    try:
        return derive_mac_from_name(guest, devid)
    except ValueError as error:
        raise _filter_error('mac_from_name', error)


def mac_auto(guest, devid=0, ip=None, prefix=DEFAULT_MAC_PREFIX):
    _require_guest_name('mac_auto', guest)
    try:
        return derive_mac_auto(guest, devid, ip, prefix)
    except ValueError as error:
        raise _filter_error('mac_auto', error)


def vifname_auto(guest, devid=0, max_len=None, taken=(), emulated=False):
    _require_guest_name('vifname_auto', guest)
    try:
        return derive_vifname_auto(guest, devid, max_len=max_len, taken=taken or (), emulated=emulated)
    except ValueError as error:
        raise _filter_error('vifname_auto', error)


def render_vif(vif):
    """A mapping of xl keys (or a vif string, normalised) to the canonical vif string."""
    try:
        spec = parse_vif_spec(vif) if isinstance(vif, str) else spec_from_dict(dict(vif))
    except (ValueError, TypeError) as error:
        raise _filter_error('render_vif', error)
    for key in ('mac', 'vifname'):
        if getattr(spec, key) == AUTO:
            raise AnsibleFilterError("render_vif: %s is 'auto'; settle it first (mac_auto, vifname_auto), xl does not know 'auto'" % key)
    return render_vif_spec(spec)


def parse_vif(text):
    if not isinstance(text, str):
        raise AnsibleFilterError('parse_vif: expects an xl vif string, not %s' % type(text).__name__)
    return parse_vif_spec(text).to_dict()


class FilterModule:
    """xl vif filters."""

    def filters(self):
        return {
            'mac_from_ip': mac_from_ip,
            'mac_from_name': mac_from_name,
            'mac_auto': mac_auto,
            'vifname_auto': vifname_auto,
            'render_vif': render_vif,
            'parse_vif': parse_vif,
        }
