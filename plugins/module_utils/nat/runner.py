# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_nat's one call: validate, read the host, plan, report or apply.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools
import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_service import (
    ServiceError, check_config, detect_manager, make_service)
from ansible_collections.xenfleet.network.plugins.module_utils.nat.forwarding import write_forwarding
from ansible_collections.xenfleet.network.plugins.module_utils.nat.host_checks import host_problems
from ansible_collections.xenfleet.network.plugins.module_utils.nat.plan import Actors, NatPlanner
from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import NatSpec
from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import NatPaths, NatStateError
from ansible_collections.xenfleet.network.plugins.module_utils.nat.view import read_view
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import module_locks
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import Netlink, NetlinkError
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import Nft, NftError
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import apply_plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import lock as sysctl_lock
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options

SBIN_DIRS = ['/usr/sbin', '/sbin', '/usr/local/sbin']


def run_nat_module(module):
    require(module, 'pyroute2')
    spec = checked_options(module, NatSpec)
    paths = NatPaths(spec)
    nft = Nft(module.run_command, module.get_bin_path('nft', required=True, opt_dirs=SBIN_DIRS))
    dnsmasq = spec.dnsmasq_path or module.get_bin_path('dnsmasq', opt_dirs=SBIN_DIRS)
    if spec.state == 'present' and spec.dhcp.enabled and not dnsmasq:
        module.fail_json(msg='dnsmasq was not found on this host; install it, set dnsmasq_path, or set dhcp.enabled to false')
    manager = detect_manager(spec.service_manager)
    systemctl = module.get_bin_path('systemctl', opt_dirs=SBIN_DIRS) or 'systemctl'
    service = make_service(manager, module.run_command, dnsmasq or 'dnsmasq', paths.config, paths.pid, paths.unit, systemctl)
    try:
        net = Netlink()
    except NetlinkError as error:
        module.fail_json(msg='xen_nat %s: %s. Nothing was changed.' % (spec.name, error))
    actors = Actors(net, nft, service, write_forwarding, functools.partial(check_config, module.run_command, dnsmasq))
    try:
        # The kernel settings' lock too: their record is shared with xen_route.
        with module_locks(module, 'xen_nat', state_lock(module, spec, paths) + [sysctl_lock()]):
            result = converge(module, spec, paths, actors)
    finally:
        actors.net.close()
    module.exit_json(**result)


def state_lock(module, spec, paths):
    """The lock on the state directory, which every instance reads (the others' records, the forwarding ledger).

    Without the directory (check mode, or removing an instance that never was) there is nothing to read,
    and making it would change the host: then nothing is locked.
    """
    if spec.state == 'present' and not module.check_mode:
        try:
            if not os.path.isdir(spec.state_dir):
                os.makedirs(spec.state_dir, 0o755)
        except OSError as error:
            module.fail_json(msg='xen_nat %s: making the state directory %s: %s. Nothing was changed.'
                             % (spec.name, spec.state_dir, error.strerror or error))
    if not os.path.isdir(spec.state_dir):
        return []
    return [(spec.state_dir, paths.lock)]


def converge(module, spec, paths, actors):
    try:
        view = read_view(spec, paths, actors.net, actors.nft, actors.service)
    except (NatStateError, NetlinkError, NftError, ServiceError) as error:
        module.fail_json(msg='xen_nat %s: %s. Nothing was changed.' % (spec.name, error))
    planner = NatPlanner(spec, paths, view, actors)
    if spec.state == 'present':
        problems, gateway = host_problems(spec, view)
        if problems:
            module.fail_json(msg='Invalid options for this host: %s' % '; '.join(problems), problems=problems)
        try:
            after = planner.plan_present(gateway)
        except (NftError, ServiceError) as error:
            module.fail_json(msg='xen_nat %s: %s. Nothing was changed; a running dnsmasq was left alone.' % (spec.name, error))
    else:
        after = planner.plan_absent()
    result = dict(after, changed=bool(planner.plan), plan=planner.plan.names())
    if module._diff:
        result['diff'] = planner.diffs()
    if module.check_mode or not planner.plan:
        result['dnsmasq']['pid'] = view.dnsmasq_pid
        return result
    apply_plan(module, planner.plan, result, 'xen_nat %s' % spec.name)
    result['dnsmasq']['pid'] = actors.service.running_pid()
    return result
