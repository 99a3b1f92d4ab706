# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_route's one call: validate, lock, read the host, plan, report or apply.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import module_locks, namespace_lock_path
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import apply_plan
from ansible_collections.xenfleet.network.plugins.module_utils.common import sysctls as shared_sysctls
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import SysctlError
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options
from ansible_collections.xenfleet.network.plugins.module_utils.route.kernel import NetlinkError, RouteNetlink
from ansible_collections.xenfleet.network.plugins.module_utils.route.plan import RoutePlanner
from ansible_collections.xenfleet.network.plugins.module_utils.route.spec import RouteSpec
from ansible_collections.xenfleet.network.plugins.module_utils.route.view import read_view


def run_route_module(module, sysctls=None):
    require(module, 'pyroute2')
    spec = checked_options(module, RouteSpec)
    try:
        net = RouteNetlink()
    except NetlinkError as error:
        module.fail_json(msg='xen_route: %s. Nothing was changed.' % error)
    try:
        # One lock per network namespace: routes and proxy entries belong to it; the kernel settings' lock is shared
        # with every module that sets them (xen_nat).
        with module_locks(module, 'xen_route', [('routes of this network namespace', namespace_lock_path('route')),
                                                shared_sysctls.lock()]):
            try:
                record = shared_sysctls.SysctlRecord.read()
            except shared_sysctls.SysctlError as error:
                module.fail_json(msg='xen_route: %s. Nothing was changed.' % error)
            result = converge(module, spec, RoutePlanner(spec, net, sysctls or shared_sysctls.Sysctls(), record))
    finally:
        net.close()
    module.exit_json(**result)


def converge(module, spec, planner):
    try:
        view = read_view(spec, planner.net, planner.sysctls, planner.sysctl_keys, planner.proxy_candidates)
    except NetlinkError as error:
        module.fail_json(msg='xen_route: %s. Nothing was changed.' % error)
    problems = planner.host_problems(view)
    if problems:
        module.fail_json(msg='Invalid options for this host: %s. Nothing was changed.' % '; '.join(problems),
                         problems=problems)
    try:
        before, after = planner.build(view)
    except SysctlError as error:
        module.fail_json(msg='xen_route: %s. Nothing was changed.' % error)
    result = dict(changed=bool(planner.plan), plan=planner.plan.names(), uplink=spec.uplink, main_ip=view.main_ip,
                  main_ip6=view.main_ip6, routes=after['routes'], adopted_routes=planner.adopted,
                  proxy_neighbours=after['proxy_neighbours'],
                  sysctls=after['sysctls'], vif_addresses=after['vif_addresses'],
                  absent_vifs=[entry.vif for entry in spec.routes if entry.vif not in view.vifs])
    if spec.persist:
        result['sysctl_path'] = spec.sysctl_path
    if module._diff:
        result['diff'] = dict(before=before, after=after)
    if module.check_mode or not planner.plan:
        return result
    return apply_plan(module, planner.plan, result, 'xen_route')
