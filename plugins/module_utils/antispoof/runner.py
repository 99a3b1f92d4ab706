# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_antispoof's one call: validate, read the firewall, plan, report or apply, count.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_backend import BRIDGE_SYSCTLS_ON, IptablesBackend, IptablesError
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import session
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_structure import IptablesReference
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import BRIDGE_SYSCTLS_OFF, NftBackend
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import AntispoofSpec
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.structure import ScratchReference
from ansible_collections.xenfleet.network.plugins.module_utils.common import boot_unit, deps
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import module_locks, namespace_label, namespace_lock_path
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan, apply_plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options

BRIDGE_SYSCTL_DIR = '/proc/sys/net/bridge'
# The kernel ORs these with each bridge's own nf_call_* option. The nftables backend filters in the
# bridge family and wants bridged frames kept out of iptables and conntrack; the iptables backend
# needs them in iptables.
SYSCTLS = {
    'nftables': BRIDGE_SYSCTLS_OFF,
    'iptables': BRIDGE_SYSCTLS_ON,
}


def run_antispoof_module(module):
    spec = checked_options(module, AntispoofSpec)
    refuse_to_cut_the_session(module, spec)
    # One lock for the namespace's tables, their snapshot and the boot-time files: every run reads all of them
    # (purge=false merges with what is there) and rewrites them.
    tables = "xen_antispoof's tables in network namespace %s" % namespace_label()
    with module_locks(module, 'xen_antispoof', [(tables, namespace_lock_path('antispoof'))]):
        try:
            result = converge(module, spec, make_backends(module, spec))
        except (NftError, IptablesError) as error:
            module.fail_json(msg='xen_antispoof: %s' % error)
        except (IOError, OSError) as error:
            # Only reads raise here: a failed write is a failed plan step, rolled back and reported below.
            module.fail_json(msg='xen_antispoof: reading %s: %s; nothing was changed' % (error.filename or 'the host', error.strerror or error))
    module.exit_json(**result)


def refuse_to_cut_the_session(module, spec):
    """Fail before any change when the policy would drop the interface this task's SSH client reaches dom0 through."""
    client = session.ssh_client(os.environ)
    if client is None or not session.closes(spec):
        return
    deps.require(module, 'pyroute2')
    # imported here: pyroute2 costs a quarter of a second, which runs that close nothing do not pay
    from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import Netlink, NetlinkError
    netlink = None
    try:
        netlink = Netlink()
        device = netlink.route_device(client)
    except NetlinkError as error:
        module.fail_json(msg='xen_antispoof: finding the interface of this SSH session (client %s): %s; nothing was changed' % (client, error))
    finally:
        if netlink is not None:
            netlink.close()
    why = session.dropped_session_device(spec, device)
    if why:
        module.fail_json(msg="xen_antispoof: this task's SSH session reaches dom0 on %s (client %s), and the policy would drop "
                             "everything arriving there: %s. Add %s to host_interfaces (the roles: "
                             "xenfleet_antispoof.host_interfaces) if it is dom0's own; nothing was changed." % (device, client, why, device),
                         session_device=device)


def make_backends(module, spec):
    """(chosen backend, the other one or None when its tools are missing)."""
    path = module.params.get('persist_path')
    nft_path = module.get_bin_path('nft', required=spec.backend == 'nftables')
    reference = ScratchReference(module.run_command, nft_path, module.get_bin_path('unshare')) if nft_path else None
    nft = NftBackend(module.run_command, nft_path, path if spec.backend == 'nftables' else None, module.params.get('cache_dir'),
                     reference) if nft_path else None
    tools = IptablesBackend.find_tools(module.get_bin_path)
    if spec.backend == 'iptables' and tools is None:
        module.fail_json(msg='backend iptables needs the nf_tables-backed tools iptables-nft-restore, ip6tables-nft-restore '
                             'and ebtables-nft-restore (and their -save); iptables-legacy is never used')
    checker = IptablesReference(module.run_command, nft_path, module.get_bin_path('unshare'), tools) if tools else None
    iptables = IptablesBackend(module.run_command, tools, path if spec.backend == 'iptables' else None, checker) if tools else None
    return (nft, iptables) if spec.backend == 'nftables' else (iptables, nft)


def sysctl_steps(plan, backend_name):
    """Steps setting the bridge netfilter sysctls; none when br_netfilter is not loaded (then no frame reaches iptables)."""
    changes = {}
    if not os.path.isdir(BRIDGE_SYSCTL_DIR):
        if backend_name == 'iptables':
            raise IptablesError('backend iptables needs br_netfilter (modprobe br_netfilter): %s is missing' % BRIDGE_SYSCTL_DIR)
        return changes
    for name, value in SYSCTLS[backend_name]:
        path = os.path.join(BRIDGE_SYSCTL_DIR, name)
        old = to_text(read_bytes(path) or b'').strip()
        if old != value:
            changes['net.bridge.' + name] = {'before': old, 'after': value}
            plan.add('set net.bridge.%s = %s' % (name, value), _sysctl_writer(path, value), _sysctl_writer(path, old))
    return changes


def _sysctl_writer(path, value):
    def write():
        with open(path, 'w') as handle:
            handle.write(value + '\n')
    return write


def persist_steps(plan, files):
    """Write (or remove) the boot-time files atomically; returns {path: (before, after)} of those that change."""
    changed = {}
    for path, text in sorted(files.items()):
        old = read_bytes(path)
        new = None if text is None else to_bytes(text)
        if old == new:
            continue
        changed[path] = (to_text(old or b''), to_text(new or b''))
        restore = (lambda path=path, old=old: write_atomic(path, old)) if old is not None else (lambda path=path: remove_file(path))
        if new is None:
            plan.add('remove %s' % path, lambda path=path: remove_file(path), restore)
        else:
            plan.add('write %s' % path, lambda path=path, new=new: write_atomic(path, new, mode=0o600), restore)
    return changed


BOOT_UNIT = 'xenfleet-antispoof.service'


def boot_unit_steps(module, plan, spec, backend):
    """The unit that loads the persisted ruleset at boot, before any bridge or guest is up; gone with state=absent."""
    unit_dir = module.params.get('boot_unit_dir') or boot_unit.UNIT_DIR
    if spec.state == 'absent':
        return boot_unit.plan_unit(plan, unit_dir, BOOT_UNIT, present=False, run_command=module.run_command)
    commands = backend.boot_commands(module.get_bin_path, module.params.get('manage_sysctl', True))
    unit = boot_unit.BootUnit(BOOT_UNIT, "xenfleet.network anti-spoofing for Xen guests' vifs (%s)" % spec.backend,
                              commands, 'xen_antispoof')
    return boot_unit.plan_unit(plan, unit_dir, unit, run_command=module.run_command)


def planned_changes(spec, chosen, other):
    """The changes to make, the chosen backend's last. Applying one backend removes the other's rules,
    so that a switch never leaves a guest filtered twice (or by stale rules); state=absent removes both."""
    changes = []
    if other is not None and other.present():
        changes.append(other.plan_absent(remove_files=False))
    changes.append(chosen.plan_present(spec) if spec.state == 'present' else chosen.plan_absent())
    return changes


def converge(module, spec, backends):
    chosen = backends[0]
    for backend in backends:
        if backend is not None:
            backend.read()
    plan = Plan()
    sysctls = {}
    if spec.state == 'present' and module.params.get('manage_sysctl', True):
        sysctls = sysctl_steps(plan, spec.backend)
    changes = planned_changes(spec, *backends)
    for change in changes:
        if change:
            plan.add(change.summary, change.apply, change.undo)
    persist = spec.state == 'absent' or module.params.get('persist', True)
    files = persist_steps(plan, changes[-1].persist) if persist else {}
    if persist:
        files.update(boot_unit_steps(module, plan, spec, chosen))
    result = dict(changed=bool(plan), plan=plan.names(), backend=spec.backend, state=spec.state, sysctl=sysctls, ruleset_source=chosen.source(),
                  persist_paths=sorted(changes[-1].persist) if persist and spec.state == 'present' else [])
    if module._diff:
        result['diff'] = diffs(changes, files)
    if module.check_mode or not plan:
        if module.check_mode and changes[-1]:
            _check(module, changes[-1], result)
        if not module.check_mode:
            chosen.remember(applied=False)
        result.update(counters_result(chosen, spec, changes[-1]))
        return result
    apply_plan(module, plan, result, 'xen_antispoof', 'firewall')
    chosen.remember(applied=bool(changes[-1]))
    result.update(counters_result(chosen, spec, changes[-1], refresh=True))
    return result


def _check(module, change, result):
    """In check mode, let the kernel's own parser judge the change (nothing is applied)."""
    try:
        change.check()
    except (NftError, IptablesError) as error:
        module.fail_json(msg='xen_antispoof: the firewall would refuse this change: %s' % error, **result)


def counters_result(backend, spec, change, refresh=False):
    """The vifs with a policy after the task, and the kernel's counters (re-read after a change)."""
    if spec.state == 'absent':
        return {'counters': {}, 'unlisted': {'packets': 0, 'bytes': 0}}
    if refresh:
        backend.refresh_counters()
    counters, unlisted = backend.counters(change.vifs)
    return {'counters': counters, 'unlisted': unlisted, 'vifs': change.vifs}


def diffs(changes, files):
    found = []
    for change in changes:
        if change:
            found.append(dict(before_header='ruleset (kernel)', after_header='ruleset (kernel)',
                              before=change.before_text(), after=change.after_text))
    for path, (before, after) in sorted(files.items()):
        found.append(dict(before_header=path, after_header=path, before=before, after=after))
    return found
