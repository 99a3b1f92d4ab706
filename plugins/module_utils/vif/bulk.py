# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan the vif lists of many guests at once: desired guests and their config texts in, new texts out.

Private to the collection: may change without notice.

The logic of xen_guest_vifs, with no host access. It takes xen_vif's
pieces (parser, editor, rules, auto schemes) and runs them over all guests
in one pass: each config is parsed once, auto values are settled once for
the whole dom0 (explicit names first, then names kept from the files, then
derived ones in (guest, devid) order), and uniqueness is one Claims table
over every vif of the dom0. Any problem anywhere raises
VifValidationError with all of them, so nothing is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import dataclasses

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import Claims, guest_name_rules
from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import AUTO, effective_devid, settle_spec
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import DEFAULT_MAC_PREFIX, mac_prefix_rules
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import (
    VifPlanError,
    checked_guest_name,
    kept_auto,
    subnet_list,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import (
    DEFAULT_BRIDGE,
    VifProblem,
    has_emulated_nic,
    occupied_names,
    raise_for,
    spec_problems,
    subnet_problems,
    vif_claims,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError, is_hvm, parse_config, vif_entries
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_edit import (
    XlEditError,
    append_vif_entry,
    remove_vif_entry,
    replace_vif_entry,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import VifSpec, parse_vif, render_vif

# The module options that are xl vif keys, in the order the docs list them (devid says which vif it is).
VIF_KEYS = ('mac', 'bridge', 'ip', 'vifname', 'script', 'rate', 'mtu', 'model', 'type', 'gatewaydev', 'backend')
# What an option of the whole task is called in a problem, where a guest would be.
TASK = '*'


class OptionProblem(VifProblem):
    """A broken rule of a task-wide option (mac_prefix, bridge_subnets): no guest to name."""

    def __str__(self):
        return "%s '%s' %s" % (self.field, self.value, self.rule)


@dataclasses.dataclass
class Vif:
    """One vif of a managed guest: where it ends up (position), what it was, what it becomes."""

    devid: int
    before: object  # VifSpec in the file, or None for a new vif
    after: object  # VifSpec to write
    listed: bool  # in the task's list (False: an unlisted vif kept with exclusive=false)


@dataclasses.dataclass
class GuestPlan:
    """One guest's outcome: its config's old and new text and every vif before and after."""

    name: str
    text: str
    new_text: str
    hvm: bool
    before: list  # (devid, VifSpec) in file order
    vifs: list  # Vif in the new file order
    removed: list  # (devid, VifSpec) dropped by exclusive

    @property
    def changed(self):
        return self.new_text != self.text

    def steps(self):
        """What changes, one phrase per vif: 'add vif 1', 'change vif 0', 'remove vif 2'."""
        found = ['remove vif %d' % devid for devid, _spec in self.removed]
        for vif in self.vifs:
            if vif.before is None:
                found.append('add vif %d' % vif.devid)
            elif vif.after != vif.before:
                found.append('change vif %d' % vif.devid)
        return found


def guest_problems(guest, seen):
    """A listed guest's name breaks a rule, or repeats one: checked before a path is made of it."""
    name = guest.get('name')
    problems = [VifProblem(name, None, 'name', name, rule) for rule in guest_name_rules(name)]
    if not problems and name in seen:
        problems.append(VifProblem(name, None, 'name', name, 'is listed twice in guests'))
    return problems


def plan_guests(guests, texts, other_claims=(), mac_prefix=DEFAULT_MAC_PREFIX, bridge_subnets=None, exclusive=True):
    """The GuestPlan of every guest, in the order given.

    guests: mappings (name, type, vifs: [mappings of VIF_KEYS and devid]).
    texts: guest name -> its config's text.
    other_claims: the VifClaim of every vif of the dom0's other guests.
    exclusive: drop the vifs a guest's list does not name (else keep them).
    Raises VifValidationError listing every problem of every guest.
    """
    problems = [OptionProblem(TASK, None, 'mac_prefix', mac_prefix, rule) for rule in mac_prefix_rules(mac_prefix)]
    problems.extend(OptionProblem(TASK, None, problem.field, problem.value, problem.rule)
                    for problem in subnet_problems(TASK, None, bridge_subnets))
    drafts = []
    seen = set()
    for guest in guests:
        found = guest_problems(guest, seen)
        seen.add(guest.get('name'))
        if not found:
            draft, found = _draft(guest, texts[guest['name']], exclusive)
            if draft is not None:
                drafts.append(draft)
        problems.extend(found)
    raise_for(problems)
    taken = set(name for other in other_claims for name in other.names)
    problems.extend(_settle(drafts, taken, mac_prefix))
    for draft in drafts:
        problems.extend(_vif_problems(draft, bridge_subnets))
    problems.extend(_duplicate_problems(drafts, other_claims))
    raise_for(problems)
    plans = []
    for draft in drafts:
        plan, found = _planned(draft)
        plans.append(plan)
        problems.extend(found)
    raise_for(problems)
    return plans


# ---------------------------------------------------------------- one guest's desired list

class _Draft:
    """A guest between reading and settling: its file, its vifs in the new order, auto values not settled."""

    def __init__(self, name, text, hvm, before, vifs, removed):
        self.name, self.text, self.hvm = name, text, hvm
        self.before, self.vifs, self.removed = before, vifs, removed


def _draft(guest, text, exclusive):
    name = guest['name']
    try:
        config = parse_config(text)
        checked_guest_name(config, name)
        entries = vif_entries(config)
    except XlConfigError as error:
        return None, [VifProblem(name, None, 'config', 'line %d, column %d' % (error.line, error.column), 'cannot be parsed: %s' % error.message)]
    except VifPlanError as error:
        return None, [VifProblem(name, None, 'name', name, 'does not match its config: %s' % error)]
    hvm = guest['type'] == 'hvm' if guest.get('type') else is_hvm(config)
    before = [(effective_devid(spec, index), spec) for index, spec in enumerate(parse_vif(entry) for entry in entries)]
    desired, problems = _desired(name, guest.get('vifs') or [])
    wanted = dict((devid, spec) for devid, spec in desired)
    vifs, removed = [], []
    for devid, spec in before:
        if devid in wanted:
            vifs.append(Vif(devid, spec, wanted.pop(devid), True))
        elif exclusive:
            removed.append((devid, spec))
        else:
            vifs.append(Vif(devid, spec, spec, False))
    vifs.extend(Vif(devid, None, spec, True) for devid, spec in desired if devid in wanted)
    for position, vif in enumerate(vifs):
        if vif.listed:
            vif.after = _numbered(vif, position)
    return _Draft(name, text, hvm, before, vifs, removed), problems


def _desired(name, vifs):
    """(devid, VifSpec) of each listed vif; a vif without devid takes its position in the list."""
    desired, problems, devids = [], [], set()
    for position, vif in enumerate(vifs):
        devid = vif.get('devid')
        devid = position if devid is None else devid
        keys = dict((key, vif.get(key)) for key in VIF_KEYS if vif.get(key) not in (None, []))
        if not isinstance(devid, int) or isinstance(devid, bool) or devid < 0:
            problems.append(VifProblem(name, devid, 'devid', devid, 'is not a whole number of 0 or more'))
            continue
        if devid in devids:
            problems.append(VifProblem(name, devid, 'devid', devid, 'is listed twice for this guest'))
            continue
        devids.add(devid)
        try:
            desired.append((devid, VifSpec(**keys)))
        except ValueError:
            problems.extend(_key_problems(name, devid, keys))
    return desired, problems


def _key_problems(name, devid, keys):
    """Which keys a VifSpec refuses (a ',' that xl would split at, a boolean...), one problem each."""
    problems = []
    for key, value in sorted(keys.items()):
        try:
            VifSpec(**{key: value})
        except ValueError as error:
            problems.append(VifProblem(name, devid, key, value, 'cannot be written: %s' % error))
    return problems


def _numbered(vif, position):
    """The desired spec with devid= written only where xl's numbering by position would give another devid
    (or where the file already spells it out)."""
    explicit = vif.devid != position or (vif.before is not None and vif.before.devid is not None)
    return vif.after.replace(devid=str(vif.devid) if explicit else None)


# ---------------------------------------------------------------- settling auto values

def _settle(drafts, taken, mac_prefix):
    """Replace every auto MAC and vifname, deterministically for the whole dom0."""
    listed = [(draft, vif) for draft in drafts for vif in draft.vifs]
    for draft, vif in listed:
        if vif.after.vifname not in (None, AUTO):
            taken.update(occupied_names(vif.after.vifname, has_emulated_nic(vif.after, draft.hvm)))
    for draft, vif in listed:
        if vif.listed and AUTO in (vif.after.mac, vif.after.vifname):
            vif.after = kept_auto(vif.after, vif.before, draft.hvm, taken)
            if vif.after.vifname != AUTO:
                taken.update(occupied_names(vif.after.vifname, has_emulated_nic(vif.after, draft.hvm)))
    problems = []
    for draft, vif in sorted(listed, key=lambda entry: (entry[0].name, entry[1].devid)):
        if AUTO in (vif.after.mac, vif.after.vifname):
            try:
                vif.after = settle_spec(draft.name, vif.devid, vif.after, draft.hvm, taken, mac_prefix)
            except ValueError as error:
                problems.append(VifProblem(draft.name, vif.devid, 'mac', vif.after.mac, 'cannot be derived: %s' % error))
                continue
            taken.update(occupied_names(vif.after.vifname, has_emulated_nic(vif.after, draft.hvm)))
    return problems


# ---------------------------------------------------------------- checks

def _vif_problems(draft, bridge_subnets):
    problems = []
    for vif in draft.vifs:
        if vif.listed:
            subnets = subnet_list(bridge_subnets, vif.after.bridge or DEFAULT_BRIDGE)
            problems.extend(spec_problems(draft.name, vif.devid, vif.after, draft.hvm, subnets))
    return problems


def _duplicate_problems(drafts, other_claims):
    """Every MAC, address and device name two vifs of the dom0 hold, reported on the listed vif(s).

    Claimed in the order other guests, then kept vifs, then listed vifs, so the first holder of a value
    is the one that was there before and the message blames the newcomer.
    """
    claims = Claims()
    for other in other_claims:
        for kind, value in vif_claims(other.names, other.mac, other.ips):
            claims.claim((other.guest, other.devid, None), kind, value)
    for listed in (False, True):
        for draft in drafts:
            for vif in draft.vifs:
                if vif.listed == listed:
                    spec = vif.after
                    names = occupied_names(spec.vifname, has_emulated_nic(spec, draft.hvm))
                    for kind, value in vif_claims(names, spec.mac, spec.ip or ()):
                        claims.claim((draft.name, vif.devid, spec if listed else None), kind, value)
    problems = []
    for kind, value, holders in claims.duplicates():
        first = holders[0]
        for guest, devid, spec in holders[1:]:
            if spec is None:
                continue
            holder = "guest '%s' vif %s" % (first[0], first[1])
            if kind == 'vifname':
                problems.append(VifProblem(guest, devid, 'vifname', spec.vifname, 'is taken: %s already uses %s' % (holder, value)))
            else:
                problems.append(VifProblem(guest, devid, kind, value, 'is taken: %s already uses it' % holder))
    return sorted(problems, key=lambda problem: (problem.guest, problem.devid))


# ---------------------------------------------------------------- the new text

def _planned(draft):
    """The GuestPlan with the file's new text: removals first (so comments stay with their entries), then
    changed entries in place, then new ones at the end; each edit touches only its entry."""
    plan = GuestPlan(draft.name, draft.text, draft.text, draft.hvm, draft.before, draft.vifs, draft.removed)
    removed = set(id(spec) for _devid, spec in draft.removed)
    try:
        text = draft.text
        for index in reversed(range(len(draft.before))):
            if id(draft.before[index][1]) in removed:
                text = remove_vif_entry(text, index)
        for index, vif in enumerate(draft.vifs):
            if vif.before is None:
                text = append_vif_entry(text, render_vif(vif.after))
            elif vif.after != vif.before:
                text = replace_vif_entry(text, index, render_vif(vif.after))
    except (XlEditError, XlConfigError, ValueError, IndexError) as error:
        return plan, [VifProblem(draft.name, None, 'vifs', ', '.join(plan.steps()), 'cannot be written: %s' % error)]
    plan.new_text = text
    return plan, []


def vif_dicts(pairs):
    """Each (devid, VifSpec) as a mapping of xl keys with devid set, for the result."""
    found = []
    for devid, spec in pairs:
        vif = spec.to_dict()
        vif['devid'] = devid
        found.append(vif)
    return found
