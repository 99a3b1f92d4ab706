# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_guest_vifs' one call: read every listed config once, plan all guests, report, write what changed, apply live.

Private to the collection: may change without notice.

Holds the same locks as xen_vif (one per config directory, by real path),
so the two modules never plan against each other's half-made change. The
files are written one by one, atomically; when one write fails, the ones
already written get their old bytes back (common/plan.py), so the dom0's
configs are all old or all new.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import module_locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan, PlanFailed, fail_with_rollback
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options
from ansible_collections.xenfleet.network.plugins.module_utils.vif.bulk import guest_problems, plan_guests, vif_dicts
from ansible_collections.xenfleet.network.plugins.module_utils.vif.info import gather, live_vifs, running_domains
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import VifPlan
from ansible_collections.xenfleet.network.plugins.module_utils.vif.runner import (
    backend_reader,
    warn_unread_backends,
    dom0_claims,
    locked_directories,
    os_failure,
    problem_dict,
    readable,
    run_steps,
    validation_message,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import VifValidationError
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import decode_config, encode_config
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import DEFAULT_PATTERN
from ansible_collections.xenfleet.network.plugins.module_utils.xl.live import LivePlanError, XlOutputError, live_vif_dict, plan_live

MODULE = 'xen_guest_vifs'


def config_paths(params):
    """Guest name -> its config's path (config, else <config_dir>/<name>.cfg)."""
    return dict((guest['name'], guest.get('config') or os.path.join(params['config_dir'] or '/etc/xen', '%s.cfg' % guest['name']))
                for guest in params['guests'])


def fail_validation(module, problems, what):
    module.fail_json(msg=validation_message(what, problems), problems=[problem_dict(problem) for problem in problems], changed=False)


def run_guest_vifs_module(module):
    params = module.params
    require(module, 'netaddr')
    checked_options(module)  # config_dir and guests[].config, by the collection's one path rule
    # Names become paths (<config_dir>/<name>.cfg): every one is checked before any path is made.
    problems, seen = [], set()
    for guest in params['guests']:
        problems.extend(guest_problems(guest, seen))
        seen.add(guest.get('name'))
    if problems:
        fail_validation(module, problems, 'every config')
    paths = config_paths(params)
    with module_locks(module, MODULE, locked_directories(params['config_dir'], paths.values())):
        result = converge(module, paths)
    module.exit_json(**result)


def read_configs(module, paths):
    """Guest name -> config text; fails naming every config that does not exist."""
    texts, missing = {}, []
    for name, path in paths.items():
        try:
            data = read_bytes(path)
        except (IOError, OSError) as error:
            os_failure(module, 'reading %s' % path, path, error)
        if data is None:
            missing.append(path)
        else:
            texts[name] = decode_config(data)
    if missing:
        module.fail_json(msg='%s: no such file; %s edits the vif lists of existing xl domain configs, so no config was changed'
                         % (', '.join(missing), MODULE), missing=missing, changed=False)
    return texts


def other_claims(module, params, paths):
    """The VifClaims of every config in config_dir that the task does not list; a warning per unreadable one."""
    try:
        claims, warnings = dom0_claims(params['config_dir'], list(paths.values()))
    except (IOError, OSError) as error:
        module.fail_json(msg='reading the config directory %s (to check that MACs, addresses and vif names are unique): %s; '
                         'no config was changed' % (params['config_dir'], getattr(error, 'strerror', None) or error), changed=False)
    for warning in warnings:
        module.warn(warning)
    return claims


def converge(module, paths):
    params = module.params
    texts = read_configs(module, paths)
    claims = other_claims(module, params, paths)
    try:
        plans = plan_guests(params['guests'], texts, claims, mac_prefix=params['mac_prefix'],
                            bridge_subnets=params['bridge_subnets'], exclusive=params['exclusive'])
    except VifValidationError as error:
        fail_validation(module, error.problems, 'every config')
    changed = [plan for plan in plans if plan.changed]
    writes = Plan()
    for plan in changed:
        writes.add('write %s (%s: %s)' % (paths[plan.name], plan.name, ', '.join(plan.steps())),
                   _writer(paths[plan.name], plan.new_text, params['backup']), _writer(paths[plan.name], plan.text))
    result = dict(changed=bool(changed), plan=writes.names(), guests=dict((plan.name, guest_result(plan, paths[plan.name])) for plan in plans))
    if module._diff:
        result['diff'] = [dict(before_header=paths[plan.name], after_header=paths[plan.name], before=readable(plan.text),
                               after=readable(plan.new_text)) for plan in changed]
    steps = live_steps(module, plans, result) if params['live'] else []
    if not module.check_mode:
        try:
            writes.apply()
        except PlanFailed as error:
            fail_with_rollback(module, 'writing the guests\' configs', error, writes, what='set of configs')
        run_steps(module, steps, result, ', '.join(paths[plan.name] for plan in changed) or None)
    if params['read_back']:
        result['dom0_guests'] = read_back(module, plans, paths)
    return result


def read_back(module, plans, paths):
    """Every guest of config_dir as xen_vif_info reports it, the listed ones as this task leaves them.

    The listed guests' vifs come from the plan, not the files, so check mode answers with what a real run would
    write, and a listed config outside config_dir is reported too. Saves a role the xen_vif_info task (a whole
    remote module run) it would otherwise need right after this one."""
    found = gather(module.params['config_dir'], DEFAULT_PATTERN, module.run_command, module.get_bin_path('xl'))
    guests = found['guests']
    by_config = dict((os.path.normpath(guest['config']), guest) for guest in guests if guest['config'])
    for plan in plans:
        path = os.path.normpath(paths[plan.name])
        entry = by_config.get(path)
        if entry is None:
            entry = dict(name=plan.name, config=path, type=None, hvm=plan.hvm, error=None, running=None, domid=None, live_vifs=[])
            guests.append(entry)
        entry['vifs'] = vif_dicts((vif.devid, vif.after) for vif in plan.vifs)
    return guests


def _writer(path, text, backup=False):
    return lambda: write_atomic(path, encode_config(text), backup=backup)


def guest_result(plan, path):
    return dict(changed=plan.changed, config=path, steps=plan.steps(), vifs_before=vif_dicts(plan.before),
                vifs_after=vif_dicts((vif.devid, vif.after) for vif in plan.vifs))


def live_steps(module, plans, result):
    """The xl steps for the running guests among those listed (planned, not run yet); fills result['live'].

    One `xl list` tells which guests run; only those get an `xl network-list`."""
    xl = module.get_bin_path('xl')
    live = dict(xl=xl, running=[], vifs={}, commands=[], steps=[], note=None)
    result['live'] = live
    if xl is None:
        live['note'] = 'xl is not installed on this host'
        module.warn('live: %s, so only the config files were changed' % live['note'])
        return []
    steps = []
    xenstore_ls = backend_reader(module, xl)
    try:
        running, reason = running_domains(module.run_command, xl)
        if running is None:
            raise XlOutputError(reason)
        for plan in plans:
            if plan.name not in running:
                continue
            live['running'].append(plan.name)
            vifs = live_vifs(module.run_command, xl, plan.name, xenstore_ls)
            live['vifs'][plan.name] = [live_vif_dict(vif) for vif in vifs]
            steps.extend(_guest_live_steps(xl, plan, vifs))
    except (XlOutputError, LivePlanError) as error:
        module.fail_json(msg='live: %s; no config was changed' % error, **dict(result, changed=False))
    warn_unread_backends(module, xenstore_ls, live['running'])
    live['commands'] = [step.argv for step in steps]
    live['steps'] = [step.description for step in steps]
    if steps:
        result['changed'] = True
    return steps


def _guest_live_steps(xl, plan, running_vifs):
    steps = []
    for devid, spec in plan.removed:
        removal = VifPlan(plan.new_text, True, plan.name, devid, None, spec, None)
        steps.extend(plan_live(xl, plan.name, running_vifs, removal, 'absent'))
    for index, vif in enumerate(plan.vifs):
        if vif.listed:
            change = VifPlan(plan.new_text, vif.after != vif.before, plan.name, vif.devid, index, vif.before, vif.after)
            steps.extend(plan_live(xl, plan.name, running_vifs, change, 'present'))
    return steps
