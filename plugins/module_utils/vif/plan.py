# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan one vif change in an xl domain config: desired keys in, new file text and what changed out.

Private to the collection: may change without notice.

This is the whole logic of the xen_vif module, with no host access: the
module reads the file, calls plan_vif_change, reports the plan (check
mode, diff) and writes plan.new_text when plan.changed. Nothing is
planned when a check fails: the error lists every problem at once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import (
    AUTO,
    VifClaim,
    claim,
    effective_devid,
    settle_spec,
)
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import guest_name_rules
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import DEFAULT_MAC_PREFIX
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import (
    VifSpec,
    parse_vif,
    render_vif,
    spec_from_dict,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import (
    DEFAULT_BRIDGE,
    VifProblem,
    duplicate_problems,
    has_emulated_nic,
    mac_rules,
    occupied_names,
    raise_for,
    spec_problems,
    claim_problems,
    request_problems,
    subnet_problems,
    vifname_rules,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    guest_name,
    is_hvm,
    parse_config,
    vif_entries,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_edit import (
    append_vif_entry,
    remove_vif_entry,
    replace_vif_entry,
)

STATES = ('present', 'absent')


@dataclasses.dataclass(frozen=True)
class VifPlan:
    """The outcome of plan_vif_change.

    new_text is the whole new file (equal to the old text when nothing
    changes); before/after are the vif's specs (None when absent); devid
    and index say which vif; mac and vifname are the settled values the
    vif ends with, for the module's result and for later tasks.
    """

    new_text: str
    changed: bool
    guest: str
    devid: object
    index: object
    before: object
    after: object
    mac: object = None
    vifname: object = None
    warnings: tuple = ()


class VifPlanError(ValueError):
    """The request itself cannot be planned (no such vif, ambiguous match, wrong guest)."""


def plan_vif_change(config_text, guest=None, devid=None, match=None, desired=None, state='present',
                    dom0_claims=(), mac_prefix=DEFAULT_MAC_PREFIX, bridge_subnets=None, replace=False):
    """Plan one vif of one guest's xl config.

    config_text: the file's text (see _xl_config.decode_config).
    guest: the guest's name; checked against the file's `name` when both exist.
    devid / match: which vif: its device index, or a mapping of xl keys
        it must have (for example {'mac': '02:00:0a:00:00:05'}). With
        state=present and no vif found, a new one is added at the end.
    desired: xl keys to set (see _vif_spec.spec_from_dict); `mac` and
        `vifname` may be 'auto', which keeps a valid existing value and
        derives one otherwise. Keys not given stay as they are, unless
        replace=True, which makes the vif exactly `desired`.
    dom0_claims: VifClaim tuples or mappings (guest, devid, vifname, mac,
        ip, emulated) for the other vifs on the dom0; this guest's own
        entries are read from config_text instead.
    bridge_subnets: mapping of bridge name to the CIDR(s) its guests must
        use, checked when the vif's bridge is in it.
    Raises XlConfigError (file), VifPlanError (request) or
    VifValidationError (every broken rule).
    """
    if state not in STATES:
        raise VifPlanError("state '%s' is not one of %s" % (state, ', '.join(STATES)))
    if guest is not None:
        # The module makes a file name of it (<config_dir>/<domain>.cfg): refuse it before anything is written.
        raise_for([VifProblem(guest, None, 'domain', guest, rule) for rule in guest_name_rules(guest)])
    config = parse_config(config_text)
    name = checked_guest_name(config, guest)
    raise_for(request_problems(name, match, mac_prefix if mac_prefix != DEFAULT_MAC_PREFIX else None))
    specs = [parse_vif(entry) for entry in vif_entries(config)]
    index = _select(name, specs, devid, match)
    if state == 'absent':
        return _plan_removal(config_text, name, specs, index)
    hvm = is_hvm(config)
    before = specs[index] if index is not None else None
    position = index if index is not None else len(specs)
    wanted = _merged(before, desired or {}, replace)
    if before is None:
        wanted = _identified(wanted, devid, match, position)
    vif_devid = effective_devid(wanted, position)
    # This guest's other vifs come from the file itself, which is newer than any inventory.
    others = [other for other in _claims(dom0_claims) if other.guest != name]
    others.extend(claim(None, name, effective_devid(spec, number), spec, hvm) for number, spec in enumerate(specs) if number != index)
    taken = set(device for other in others for device in other.names)
    after = settle_spec(name, vif_devid, kept_auto(wanted, before, hvm, taken), hvm, taken, mac_prefix)
    subnets = subnet_list(bridge_subnets, after.bridge or DEFAULT_BRIDGE)
    raise_for(spec_problems(name, vif_devid, after, hvm, subnets)
              + subnet_problems(name, vif_devid, bridge_subnets)
              + claim_problems(name, vif_devid, dom0_claims)
              + devid_problems(name, vif_devid, specs, index)
              + duplicate_problems(name, vif_devid, after, has_emulated_nic(after, hvm), others))
    return VifPlan(written_text(config_text, index, before, after), after != before, name, vif_devid, position, before, after,
                   after.mac, after.vifname)


def written_text(config_text, index, before, after):
    """The file text with the vif as planned: untouched when nothing changes."""
    if after == before:
        return config_text
    if index is None:
        return append_vif_entry(config_text, render_vif(after))
    return replace_vif_entry(config_text, index, render_vif(after))


def checked_guest_name(config, guest):
    in_file = guest_name(config)
    if guest and in_file and guest != in_file:
        raise VifPlanError("the config names guest '%s', not '%s'" % (in_file, guest))
    if not (guest or in_file):
        raise VifPlanError("the config has no name = '...' and no guest name was given")
    return guest or in_file


def _select(guest, specs, devid, match):
    """The list index of the vif asked for, or None when there is none."""
    if devid is None and not match:
        raise VifPlanError('say which vif of guest %r: give devid or match' % guest)
    found = list(range(len(specs)))
    if devid is not None:
        found = [index for index in found if effective_devid(specs[index], index) == int(devid)]
    if match:
        wanted = spec_from_dict(match).to_dict()
        found = [index for index in found if _matches(specs[index].to_dict(), wanted)]
    if len(found) > 1:
        raise VifPlanError("guest '%s': %d vifs match %r (devids %s); make the match unique" % (
            guest, len(found), match, ', '.join(str(effective_devid(specs[index], index)) for index in found)))
    return found[0] if found else None


def _matches(spec_dict, wanted):
    return all(spec_dict.get(key) == value for key, value in wanted.items())


def _merged(before, desired, replace):
    """The vif asked for: desired keys over the current ones (or alone, with replace)."""
    if replace or before is None:
        return spec_from_dict(desired)
    merged = before.to_dict()
    for key, value in spec_from_dict(desired).to_dict().items():
        merged[key] = value
    return spec_from_dict(merged)


def _identified(wanted, devid, match, position):
    """A new vif carries what selected it, so the next run finds it again instead of adding another one.

    A devid other than the list position is written as `devid=`; keys of
    the match that the desired keys leave unset are written as matched.
    """
    changes = {}
    if devid is not None and int(devid) != position and wanted.devid is None:
        changes['devid'] = str(int(devid))
    for key, value in (spec_from_dict(match).to_dict() if match else {}).items():
        if key != 'extra' and getattr(wanted, key) is None:
            changes[key] = value
    return wanted.replace(**changes) if changes else wanted


def devid_problems(guest, vif_devid, specs, index):
    """xl refuses a domain whose vifs share a devid; say which entry holds it already."""
    return [VifProblem(guest, vif_devid, 'devid', vif_devid, 'is taken: entry %d of the vif list already has it' % number)
            for number, spec in enumerate(specs) if number != index and effective_devid(spec, number) == vif_devid]


def kept_auto(wanted, before, hvm, taken):
    """'auto' keeps a value the vif already has and may keep: a new MAC or name at every run would
    rename the guest's interfaces (udev) and break firewall rules that key on the name."""
    if before is None:
        return wanted
    changes = {}
    if wanted.mac == AUTO and before.mac and not mac_rules(before.mac):
        changes['mac'] = before.mac
    if wanted.vifname == AUTO and before.vifname:
        emulated = has_emulated_nic(wanted, hvm)
        if not vifname_rules(before.vifname, emulated) and not taken.intersection(occupied_names(before.vifname, emulated)):
            changes['vifname'] = before.vifname
    return wanted.replace(**changes) if changes else wanted


def _plan_removal(config_text, name, specs, index):
    if index is None:
        return VifPlan(config_text, False, name, None, None, None, None)
    warnings = ()
    later = [number for number in range(index + 1, len(specs)) if specs[number].devid is None]
    if later:
        warnings = ("removing vif %d of guest '%s' moves the vifs after it down by one devid (vif %d becomes vif %d); "
                    "the guest may see its interfaces renamed" % (index, name, later[0], later[0] - 1),)
    before = specs[index]
    return VifPlan(remove_vif_entry(config_text, index), True, name, effective_devid(before, index), index, before, None,
                   warnings=warnings)


def _claims(dom0_claims):
    """VifClaim tuples from claims or plain mappings (as a role passes them)."""
    result = []
    for item in dom0_claims or ():
        if isinstance(item, VifClaim):
            result.append(item)
            continue
        emulated = bool(item.get('emulated', False))
        ips = item.get('ips', item.get('ip')) or ()
        spec = VifSpec(mac=item.get('mac'), ip=ips)
        names = item.get('names') or occupied_names(item.get('vifname'), emulated)
        result.append(VifClaim(item.get('dom0'), item.get('guest'), item.get('devid'), item.get('vifname'), tuple(names),
                               spec.mac, tuple(spec.ip or ()), emulated))
    return result


def subnet_list(bridge_subnets, bridge):
    subnets = (bridge_subnets or {}).get(bridge) or ()
    return [subnets] if isinstance(subnets, str) else list(subnets)
