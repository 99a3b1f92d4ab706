# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_bridge's one call: validate, read the host, plan, report or apply."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.plan import BridgePlanner
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import BridgeSpec, InvalidSpec
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import read_host_view
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.connectivity import make_ping_checker
from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.ifupdown import render_bridge_stanza
from ansible_collections.xenfleet.network.plugins.module_utils.bridge import interfaces_file
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.network_config import UnsupportedNetworkConfig, resolve_auto
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
    if spec.persist == 'auto':
        try:
            spec.persist = resolve_auto(spec.interfaces_path)
        except UnsupportedNetworkConfig as error:
            module.fail_json(msg='xen_bridge %s: %s' % (spec.name, error))
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
    try:
        boot_files = plan_boot_files(planner, spec)
    except interfaces_file.InterfacesFileError as error:
        module.fail_json(msg='xen_bridge %s: persist=ifupdown: %s. Nothing was changed.' % (spec.name, error))
    except (IOError, OSError) as error:
        module.fail_json(msg='xen_bridge %s: reading %s: %s. Nothing was changed.' % (spec.name, error.filename, error.strerror or error))
    persisted_after = plan_persistence(planner, spec, view)
    result = dict(changed=bool(planner.plan), plan=planner.plan.names(), bridge=after,
                  uplink=planner.after_uplink or before_uplink, connectivity_checked=planner.checked_targets, persist=spec.persist)
    if spec.persist != 'none':
        result['persist_path'] = spec.persist_path
        result['taken_over'] = [dict(path=path, backup=path + interfaces_file.BACKUP_SUFFIX) for path in sorted(boot_files)
                                if not path.endswith(interfaces_file.BACKUP_SUFFIX)]
    if module._diff:
        result['diff'] = diffs(spec, before_bridge, before_uplink, after, planner.after_uplink, view.persisted, persisted_after)
        result['diff'].extend(dict(before_header=path, after_header=path, before=before, after=after_text)
                              for path, (before, after_text) in sorted(boot_files.items()))
    if module.check_mode or not planner.plan:
        return result
    return apply_plan(module, planner.plan, result, 'xen_bridge %s' % spec.name)


def _read_text(path):
    data = read_bytes(path)
    return None if data is None else to_text(data, errors='surrogate_or_strict')


def plan_boot_files(planner, spec):
    """Steps making ifup's file tree agree with the stanza: the uplink's own stanzas turned to `inet manual` (backed up
    first), or put back from the backups when the bridge goes. Returns {path: (before, after)}; raises
    InterfacesFileError before any step when the tree cannot carry the stanza."""
    if spec.persist != 'ifupdown':
        return {}
    tree = interfaces_file.read_tree(spec.interfaces_path, _read_text)
    if spec.state == 'absent':
        return _plan_restore(planner, tree, spec) if spec.uplink else {}
    if not tree:
        raise interfaces_file.InterfacesFileError('%s does not exist, so ifup reads no stanza at boot' % spec.interfaces_path)
    if not interfaces_file.reads(tree, spec.persist_path):
        raise interfaces_file.InterfacesFileError(
            '%s sources no file at %s (add `source %s/*`, as Debian does), so nothing would read the stanza at boot'
            % (spec.interfaces_path, spec.persist_path, os.path.dirname(spec.persist_path)))
    interfaces_file.refuse_other_stanzas(tree, spec.name, spec.persist_path)
    changed = interfaces_file.takeover(tree, spec.uplink, spec.name, skip=[spec.persist_path]) if spec.uplink else {}
    originals = dict(tree)
    files = {}
    for backup, original in sorted(interfaces_file.backups(changed, _read_text).items()):
        files[backup] = ('', original)
        planner.plan.add('back up %s to %s' % (backup[:-len(interfaces_file.BACKUP_SUFFIX)], backup),
                         lambda backup=backup, original=original: write_atomic(backup, to_bytes(original)),
                         lambda backup=backup: remove_file(backup))
    for path, text in sorted(changed.items()):
        files[path] = (originals[path], text)
        planner.plan.add('turn the stanza of %s in %s into inet manual' % (spec.uplink, path),
                         lambda path=path, text=text: write_atomic(path, to_bytes(text)),
                         lambda path=path: write_atomic(path, to_bytes(originals[path])))
    return files


def _plan_restore(planner, tree, spec):
    files = {}
    for path, text in tree:
        backup = path + interfaces_file.BACKUP_SUFFIX
        original = _read_text(backup)
        if original is None:
            continue
        files[path] = (text, original)
        planner.plan.add('put %s back from %s' % (path, backup),
                         lambda path=path, original=original: write_atomic(path, to_bytes(original)),
                         lambda path=path, text=text: write_atomic(path, to_bytes(text)))
        planner.plan.add('remove %s' % backup, lambda backup=backup: remove_file(backup),
                         lambda backup=backup, original=original: write_atomic(backup, to_bytes(original)))
    return files


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
