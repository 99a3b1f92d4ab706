# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_bridge's one call: validate, read the host, plan, report or apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.plan import BridgePlanner
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import BridgeSpec, InvalidSpec
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import read_host_view
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.connectivity import make_ping_checker
from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.ifupdown import render_bridge_stanza
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import module_locks, namespace_label, namespace_lock_path
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import Netlink, NetlinkError
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import apply_plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options


MACHINE_ID_PATH = '/etc/machine-id'


def run_bridge_module(module):
    require(module, 'pyroute2')
    spec = checked_options(module, BridgeSpec)
    # A missing ping only matters when a check runs; then the check fails and rolls back.
    ping = module.get_bin_path('ping')
    try:
        net = Netlink()
    except NetlinkError as error:
        module.fail_json(msg='xen_bridge %s: %s. Nothing was changed.' % (spec.name, error))
    try:
        with module_locks(module, 'xen_bridge', link_locks(spec)):
            result = converge(module, spec, net, make_ping_checker(module.run_command, ping or 'ping'))
    finally:
        net.close()
    module.exit_json(**result)


def link_locks(spec):
    """A lock per link this run moves, in this network namespace: the bridge, and the uplink, which two
    bridges must not take at once."""
    return [('%s in network namespace %s' % (name, namespace_label()), namespace_lock_path('link', name))
            for name in [spec.name] + ([spec.uplink] if spec.uplink else [])]


def converge(module, spec, net, checker):
    try:
        view = read_host_view(net, spec, read_bytes)
    except NetlinkError as error:
        module.fail_json(msg='xen_bridge %s: %s. Nothing was changed.' % (spec.name, error))
    except (IOError, OSError) as error:
        module.fail_json(msg='xen_bridge %s: reading %s: %s. Nothing was changed.' % (spec.name, error.filename, error.strerror or error))
    try:
        planner = BridgePlanner(spec, view, net, checker, machine_id=to_text(read_bytes(MACHINE_ID_PATH) or b''))
        after = planner.plan_present() if spec.state == 'present' else planner.plan_absent()
    except InvalidSpec as error:
        module.fail_json(msg='Invalid options for this host: %s' % error, problems=error.problems)
    except NetlinkError as error:
        module.fail_json(msg='xen_bridge %s: %s. Nothing was changed.' % (spec.name, error))
    before_bridge, before_uplink = planner.before()
    persisted_after = plan_persistence(planner, spec, view)
    result = dict(changed=bool(planner.plan), plan=planner.plan.names(), bridge=after,
                  uplink=planner.after_uplink or before_uplink, connectivity_checked=planner.checked_targets)
    if spec.persist != 'none':
        result['persist_path'] = spec.persist_path
    if module._diff:
        result['diff'] = diffs(spec, before_bridge, before_uplink, after, planner.after_uplink, view.persisted, persisted_after)
    if module.check_mode or not planner.plan:
        return result
    return apply_plan(module, planner.plan, result, 'xen_bridge %s' % spec.name)


def plan_persistence(planner, spec, view):
    """Add the step writing (or removing) the boot-time stanza; return its new text."""
    old = view.persisted
    if spec.state == 'absent':
        if old is not None and spec.persist != 'none':
            planner.plan.add('remove %s' % spec.persist_path, lambda: remove_file(spec.persist_path),
                             lambda: write_atomic(spec.persist_path, old))
        return None
    if spec.persist == 'none':
        return old
    after = planner.after
    ports = ([spec.uplink] if spec.uplink else []) + list(spec.ports)
    text = render_bridge_stanza(spec.name, after['options'], after['mac'], spec.mtu, ports,
                                after['addresses'], after['routes'])
    new = to_bytes(text)
    if new != old:
        planner.plan.add('write %s' % spec.persist_path, lambda: write_atomic(spec.persist_path, new),
                         (lambda: write_atomic(spec.persist_path, old)) if old is not None else (lambda: remove_file(spec.persist_path)))
    return new


def diffs(spec, before_bridge, before_uplink, after_bridge, after_uplink, persisted_before, persisted_after):
    found = [dict(before_header='%s (kernel)' % spec.name, after_header='%s (kernel)' % spec.name,
                  before=dict(bridge=before_bridge, uplink=before_uplink),
                  after=dict(bridge=after_bridge, uplink=after_uplink or before_uplink))]
    if spec.persist != 'none' or persisted_before is not None:
        found.append(dict(before_header=spec.persist_path, after_header=spec.persist_path,
                          before=to_text(persisted_before or b''), after=to_text(persisted_after or b'')))
    return found
