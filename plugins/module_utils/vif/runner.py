# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vif's one call: read the config and the dom0's other configs, plan, report, write, apply live.

Private to the collection: may change without notice.

The file is the state that survives a reboot, so it is written first (and
atomically); `live` then brings the running guest in line. Nothing is
written when the file cannot be parsed or a check fails.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import lock_path, module_locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options, guest_name_problems
from ansible_collections.xenfleet.network.plugins.module_utils.vif.bulk import VIF_KEYS
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import VifPlanError, plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import canonical_mac, render_vif
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import VifValidationError
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError, decode_config, encode_config
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import guest_claims, scan_config_dir
from ansible_collections.xenfleet.network.plugins.module_utils.xl.live import (
    LivePlanError,
    XlOutputError,
    command_line,
    live_vif_dict,
    plan_live,
    read_live,
)


def config_path(params):
    return params['config'] or os.path.join(params['config_dir'], '%s.cfg' % params['domain'])


def desired_keys(params):
    """The vif keys the task sets; an empty ip list counts as not given."""
    desired = {}
    for key in VIF_KEYS:
        value = params[key]
        if value is None or (key == 'ip' and not value):
            continue
        desired[key] = value
    return desired


def locked_directories(config_dir, paths):
    """(directory, lock file) of each directory whose configs this run reads or writes: config_dir, whose
    every config the uniqueness checks read, and the configs' own. Real paths, so that every spelling of
    one directory takes the same lock (xen_vif and xen_guest_vifs take the same ones)."""
    directories = set(os.path.realpath(directory) for directory in set(os.path.dirname(os.path.abspath(path)) for path in paths))
    if config_dir:
        directories.add(os.path.realpath(config_dir))
    return [(directory, lock_path('xl', directory)) for directory in directories]


def dom0_claims(config_dir, skip, claims=None):
    """What the dom0's other configs (all but skip: a path or paths) and the task's claims hold, and a warning
    per unreadable config.

    A directory that cannot be listed raises OSError: the uniqueness checks would silently check nothing."""
    claims = list(claims or [])
    warnings = []
    if config_dir and os.path.isdir(config_dir):
        os.listdir(config_dir)
        for guest in scan_config_dir(config_dir, skip=skip):
            if guest.error is not None:
                warnings.append('%s was not checked for duplicate MACs, addresses and vif names: %s' % (guest.path, guest.error))
            else:
                claims.extend(guest_claims(guest))
    return claims, warnings


def readable(text):
    """File text for the diff and messages: bytes that are not UTF-8 shown as U+FFFD instead of failing the JSON."""
    return encode_config(text).decode('utf-8', 'replace')


def problem_dict(problem):
    return dict(guest=problem.guest, devid=problem.devid, field=problem.field, value=problem.value, rule=problem.rule,
                message=str(problem))


def validation_message(path, problems):
    if len(problems) == 1:
        return '%s was left unchanged: %s.' % (path, problems[0])
    numbered = ' '.join('(%d) %s.' % (number, problem) for number, problem in enumerate(problems, 1))
    return '%s was left unchanged, %d problems: %s' % (path, len(problems), numbered)


def plan_file(module, path, text, claims):
    params = module.params
    match = dict((key, value) for key, value in (params['match'] or {}).items() if value is not None)
    try:
        return plan_vif_change(text, guest=params['domain'], devid=params['devid'], match=match or None,
                               desired=desired_keys(params), state=params['state'], dom0_claims=claims,
                               mac_prefix=params['mac_prefix'], bridge_subnets=params['bridge_subnets'],
                               replace=params['replace'])
    except XlConfigError as error:
        module.fail_json(msg='%s cannot be parsed, so it was not changed: %s' % (path, error), config=path,
                         line=error.line, column=error.column)
    except VifValidationError as error:
        module.fail_json(msg=validation_message(path, error.problems), config=path,
                         problems=[problem_dict(problem) for problem in error.problems])
    except (VifPlanError, ValueError, IndexError) as error:
        module.fail_json(msg='%s was left unchanged: %s' % (path, error), config=path)


def run_vif_module(module):
    params = module.params
    require(module, 'netaddr')
    # domain names the config file (<config_dir>/<domain>.cfg): refused before any path is made of it.
    checked_options(module, problems=guest_name_problems('domain', params['domain']))
    path = config_path(params)
    with module_locks(module, 'xen_vif', locked_directories(params['config_dir'], [path])):
        result = converge(module, path)
    module.exit_json(**result)


def os_failure(module, step, path, error, **result):
    """Fail naming the step and the OS's reason; the config is never half-written (write_atomic renames)."""
    module.fail_json(msg='%s: %s; %s was not changed' % (step, getattr(error, 'strerror', None) or error, path),
                     **dict(result, config=path, changed=False))


def converge(module, path):
    params = module.params
    try:
        data = read_bytes(path)
    except (IOError, OSError) as error:
        os_failure(module, 'reading %s' % path, path, error)
    if data is None:
        if params['state'] == 'absent':
            module.warn('%s does not exist, so it holds no vif to remove' % path)
            return dict(changed=False, config=path, devid=None, vif=None, spec=None, before=None, mac=None, vifname=None)
        module.fail_json(msg='%s does not exist; xen_vif edits the vif list of an existing xl domain config' % path, config=path)
    text = decode_config(data)
    try:
        claims, warnings = dom0_claims(params['config_dir'], path, params['claims'])
    except (IOError, OSError) as error:
        os_failure(module, 'reading the config directory %s (to check that MACs, addresses and vif names are unique)'
                   % params['config_dir'], path, error)
    plan = plan_file(module, path, text, claims)
    for warning in warnings + list(plan.warnings):
        module.warn(warning)
    result = dict(changed=plan.changed, config=path, guest=plan.guest, devid=plan.devid,
                  vif=render_vif(plan.after) if plan.after is not None else None,
                  spec=plan.after.to_dict() if plan.after is not None else None,
                  before=plan.before.to_dict() if plan.before is not None else None,
                  mac=plan.mac, vifname=plan.vifname)
    if module._diff:
        result['diff'] = dict(before_header=path, after_header=path, before=readable(text), after=readable(plan.new_text))
    steps = converge_live(module, plan, result) if params['live'] else []
    if not module.check_mode:
        if plan.changed:
            try:
                backup = write_atomic(path, encode_config(plan.new_text), backup=params['backup'])
            except (IOError, OSError) as error:
                os_failure(module, 'writing %s' % path, path, error, **result)
            if backup:
                result['backup_file'] = backup
        run_steps(module, steps, result, path if plan.changed else None)
    return result


def converge_live(module, plan, result):
    """The live steps (planned, not run yet); fills result['live']."""
    params = module.params
    xl = module.get_bin_path('xl')
    live = dict(xl=xl, running=False, vifs=[], commands=[], steps=[], note=None)
    result['live'] = live
    xenstore_ls = backend_reader(module, xl)
    try:
        view = read_live(module.run_command, xl, params['domain'], xenstore_ls)
        live.update(running=view.running, vifs=[live_vif_dict(vif) for vif in view.vifs], note=view.note)
        warn_unread_backends(module, xenstore_ls, view.running)
        if not view.running:
            module.warn('live: %s, so only the config file was changed; the guest gets the change when it next starts' % view.note)
            return []
        match_mac = (params['match'] or {}).get('mac')
        steps = plan_live(xl, params['domain'], view.vifs, plan, params['state'], match_mac=match_mac and canonical_mac(match_mac))
    except (XlOutputError, LivePlanError) as error:
        module.fail_json(msg='live: %s; %s was not changed' % (error, result['config']), **result)
    live['commands'] = [step.argv for step in steps]
    live['steps'] = [step.description for step in steps]
    if steps:
        result['changed'] = True
    return steps


def backend_reader(module, xl):
    """xenstore-ls's path, to compare each running vif's backend entries with its config (None without xl)."""
    return module.get_bin_path('xenstore-ls') if xl else None


def warn_unread_backends(module, xenstore_ls, running):
    """Say so when running guests' vifs could be compared by MAC only (Debian's xen-utils pull xenstore-utils in)."""
    if running and xenstore_ls is None:
        module.warn('live: xenstore-ls is not installed, so running vifs are compared with their config by MAC only '
                    '(one left on an old bridge, name or address is not seen)')


def run_steps(module, steps, result, written):
    """Run the live steps in order; a failure names what ran, what failed and that the file is written."""
    done = []
    for step in steps:
        rc, out, err = module.run_command(step.argv)
        if rc != 0:
            saved = '%s was written; ' % written if written else ''
            module.fail_json(msg='live: %s%s failed (rc %d): %s' % (saved, command_line(step.argv), rc, (err or out).strip()),
                             rc=rc, stdout=out, stderr=err, cmd=step.argv, live_done=done, **result)
        done.append(step.argv)
