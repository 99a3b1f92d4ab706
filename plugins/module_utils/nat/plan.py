# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a NatSpec and a NatView to an ordered, reversible Plan and the state it leads to.

Private to the collection: may change without notice.

Order for state=present: the gateway address, forwarding, the nftables
table (one transaction), then dnsmasq: stop the old server, write its files,
start it again; last the instance record. A failed step undoes the ones
before it, newest first, so a dnsmasq that will not start with a new
configuration gets its old configuration back and is started again.
state=absent goes the other way. dnsmasq is restarted only when one of its
files changed, or started when it is not running.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.xenfleet.network.plugins.module_utils.common import boot_unit
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_config import render_config
from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_service import ServiceError
from ansible_collections.xenfleet.network.plugins.module_utils.nat.forwarding import plan_forwarding
from ansible_collections.xenfleet.network.plugins.module_utils.nat.nft import (
    FAMILY, fingerprint, normalize_listing, render_body, render_table, table_current, table_name)
from ansible_collections.xenfleet.network.plugins.module_utils.nat.state import dump_record
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, Address
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import boot_script, delete_table_script, replace_table_script
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import Sysctls


def bridge_address(interface):
    return Address(AF_INET, str(interface.ip), interface.network.prefixlen, True)


class Actors:
    """What the plan's steps act through; tests pass fakes."""

    def __init__(self, net, nft, service, write_forwarding, check_config):
        self.net = net
        self.nft = nft
        self.service = service
        self.write_forwarding = write_forwarding
        self.check_config = check_config


class NatPlanner:
    """Builds the plan, the after-state and the diff together, so they cannot disagree."""

    def __init__(self, spec, paths, view, actors):
        self.spec = spec
        self.paths = paths
        self.view = view
        self.actors = actors
        self.plan = Plan()
        self.table = '%s %s' % (FAMILY, table_name(spec.name))
        self.forwarding_after = dict(view.forwarding)
        self.files_after = dict(view.files)
        self.nft_after = view.nft_text
        self.gateway_added = view.record.get('gateway_added')
        self.dnsmasq_running = view.dnsmasq_pid is not None
        self.boot_changes = {}

    # ---- shared pieces ---------------------------------------------------
    def _write_file(self, path, data, after_write=None):
        old = self.view.files.get(path)
        if old == data:
            return False
        self.files_after[path] = data

        def write():
            write_atomic(path, data, mode=0o644)
            if after_write:
                after_write()

        def restore():
            if old is None:
                remove_file(path)
            else:
                write_atomic(path, old)
            if after_write:
                after_write()
        self.plan.add('write %s' % path, write, restore)
        return True

    def _remove_file(self, path, after_remove=None):
        old = self.view.files.get(path)
        if old is None:
            return

        def remove():
            remove_file(path)
            if after_remove:
                after_remove()

        def restore():
            write_atomic(path, old)
            if after_remove:
                after_remove()
        self.files_after[path] = None
        self.plan.add('remove %s' % path, remove, restore)

    def _plan_forwarding(self, needed):
        # Claimed in the record of kernel settings shared with xen_route (common/sysctls.py), which took over
        # the former ledger (nat/forwarding.py): the ledger file goes.
        view = self.view
        self.forwarding_after.update(plan_forwarding(self.plan, view.sysctl_record, self.spec.name, needed,
                                                     view.forwarding.get, self.actors.write_forwarding,
                                                     view.other_sysctls, Sysctls()))
        self._remove_file(self.paths.ledger)

    def _stop_dnsmasq(self):
        service = self.actors.service
        if self.dnsmasq_running:
            self.plan.add('stop dnsmasq (pid %s)' % self.view.dnsmasq_pid, service.stop, service.start)
            self.dnsmasq_running = False

    def _plan_dnsmasq_absent(self):
        service = self.actors.service
        self._stop_dnsmasq()
        self._remove_file(self.paths.config)
        for path, dummy in service.files():
            self._remove_file(path, service.reload_units)
        self._remove_file(self.paths.leases)
        self._remove_file(self.paths.pid)

    # ---- present ---------------------------------------------------------
    def plan_present(self, gateway):
        """Plan for state=present; gateway is already resolved and checked."""
        spec = self.spec
        self._plan_gateway(gateway)
        self._plan_forwarding([spec.bridge, spec.uplink] if spec.ip_forward else [])
        text = render_table(spec, gateway)
        script = replace_table_script(FAMILY, table_name(spec.name), render_body(spec, gateway))
        self._plan_table(text, script)
        if spec.persist:
            self._plan_boot(script)
        if spec.dhcp.enabled:
            self._plan_dnsmasq(gateway)
        else:
            self._plan_dnsmasq_absent()
        self._plan_record(gateway, text)
        return self.after(gateway)

    def _plan_gateway(self, gateway):
        spec, view, net = self.spec, self.view, self.actors.net
        added = view.record.get('gateway_added')
        if spec.gateway is not None:
            wanted = ipaddress.IPv4Interface('%s/%d' % (spec.gateway, spec.subnet.prefixlen))
            if not view.has_address(wanted):
                self.plan.add('add address %s to %s' % (wanted, spec.bridge), bind(net.add_address, spec.bridge, bridge_address(wanted), False),
                              bind(net.delete_address, spec.bridge, bridge_address(wanted)))
                self.gateway_added = str(wanted)
            elif added != str(wanted):
                self.gateway_added = None
        elif added and ipaddress.IPv4Interface(added).ip != gateway:
            self.gateway_added = None
        if added and added != self.gateway_added:
            self._plan_remove_added_address(added, view.bridge_name)

    def _plan_remove_added_address(self, added, bridge):
        interface, net = ipaddress.IPv4Interface(added), self.actors.net
        if self.view.bridge is not None and self.view.has_address(interface):
            self.plan.add('delete address %s from %s' % (interface, bridge), bind(net.delete_address, bridge, bridge_address(interface)),
                          bind(net.add_address, bridge, bridge_address(interface), False))

    def _plan_table(self, text, script):
        spec, nft, view = self.spec, self.actors.nft, self.view
        if table_current(view.record.get('nft'), view.nft_listing, text):
            return
        nft.check(script)
        old = view.nft_text
        undo = delete_table_script(FAMILY, table_name(spec.name)) + (old or '')
        verb = 'replace' if view.nft_listing is not None else 'create'
        self.plan.add('%s nftables table %s' % (verb, self.table), bind(nft.apply, script), bind(nft.apply, undo))
        self.nft_after = text

    def _plan_boot(self, script):
        """The table in a file and a unit that loads it at boot, before network-pre.target: the guard is in place
        before the bridge carries a frame, and the table names its interfaces, so it loads before they exist."""
        spec, paths = self.spec, self.paths
        self._write_file(paths.boot_table, to_bytes(boot_script('xen_nat', script)))
        unit = boot_unit.BootUnit(paths.boot_unit, 'xenfleet.network NAT table of network %s' % spec.name,
                                  [[self.actors.nft.nft_path, '-f', paths.boot_table]], 'xen_nat')
        self.boot_changes = boot_unit.plan_unit(self.plan, paths.boot_unit_dir, unit, run_command=self.actors.nft.run_command)

    def _plan_boot_absent(self):
        self.boot_changes = boot_unit.plan_unit(self.plan, self.paths.boot_unit_dir, self.paths.boot_unit, present=False,
                                                run_command=self.actors.nft.run_command)
        self._remove_file(self.paths.boot_table)

    def _plan_dnsmasq(self, gateway):
        spec, paths, service = self.spec, self.paths, self.actors.service
        config = render_config(spec, gateway, paths.leases, paths.pid)
        files = [(paths.config, to_bytes(config), None)] + [(path, to_bytes(text), service.reload_units) for path, text in service.files()]
        changed = [entry for entry in files if self.view.files.get(entry[0]) != entry[1]]
        if changed:
            try:
                self.actors.check_config(config, paths.config)
            except ServiceError as error:
                raise blame_extra_option(error, spec.dhcp.extra_options)
            self._stop_dnsmasq()
            for path, data, after_write in changed:
                self._write_file(path, data, after_write)
        if not self.dnsmasq_running:
            self.plan.add('start dnsmasq for %s' % spec.bridge, self._start_dnsmasq, service.stop)
            self.dnsmasq_running = True

    def _start_dnsmasq(self):
        if not os.path.isdir(self.paths.instance_dir):
            os.makedirs(self.paths.instance_dir, 0o755)
        self.actors.service.start()

    def _plan_record(self, gateway, text):
        spec, paths, nft, view = self.spec, self.paths, self.actors.nft, self.view
        if not self.plan and view.record.get('summary') == spec.summary() and view.record.get('gateway_added') == self.gateway_added:
            return
        old = view.files.get(paths.record)
        gateway_added = self.gateway_added

        def write():
            listing = normalize_listing(nft.table_json(FAMILY, table_name(spec.name)))
            record = dict(summary=spec.summary(), gateway=str(gateway), gateway_added=gateway_added,
                          nft=dict(fingerprint=fingerprint(text), listing=listing))
            write_atomic(paths.record, dump_record(record))

        def restore():
            if old is None:
                remove_file(paths.record)
            else:
                write_atomic(paths.record, old)
        self.plan.add('write %s' % paths.record, write, restore)

    # ---- absent ----------------------------------------------------------
    def plan_absent(self):
        view, paths, nft = self.view, self.paths, self.actors.nft
        self._plan_boot_absent()
        self._plan_dnsmasq_absent()
        if view.nft_listing is not None:
            self.plan.add('delete nftables table %s' % self.table, bind(nft.apply, delete_table_script(FAMILY, table_name(self.spec.name))),
                          bind(nft.apply, delete_table_script(FAMILY, table_name(self.spec.name)) + view.nft_text))
            self.nft_after = ''
        self._plan_forwarding([])
        added = view.record.get('gateway_added')
        if added:
            self._plan_remove_added_address(added, view.bridge_name)
            self.gateway_added = None
        self._remove_file(paths.record)
        if only_known_files(paths.instance_dir, [paths.record, paths.leases, paths.pid]):
            self.plan.add('remove %s' % paths.instance_dir, bind(remove_tree_if_empty, paths.instance_dir))
        return self.after(None)

    # ---- reporting -------------------------------------------------------
    def after(self, gateway):
        spec, paths = self.spec, self.paths
        present = spec.state == 'present'
        result = dict(name=spec.name, table=self.table if present else None, gateway=str(gateway) if gateway else None,
                      forwarding=known_values(self.forwarding_after),
                      dnsmasq=dict(paths.as_dict(), manager=self.actors.service.manager, running=self.dnsmasq_running))
        if present:
            result.update(bridge=spec.bridge, uplink=spec.uplink, subnet=str(spec.subnet), source_nat=spec.source_nat,
                          snat_to=str(spec.snat_to) if spec.snat_to else None,
                          port_forwards=[forward.as_dict() for forward in spec.port_forwards],
                          leases=[host.as_dict() for host in spec.dhcp.hosts] if spec.dhcp.enabled else [],
                          boot=paths.boot_dict() if spec.persist else None)
        return result

    def states(self):
        """The instance's state outside files and table, before and after, for diff mode."""
        view = self.view
        before = dict(forwarding=known_values(view.forwarding),
                      gateway_added=view.record.get('gateway_added'), dnsmasq_running=view.dnsmasq_pid is not None)
        after = dict(forwarding=known_values(self.forwarding_after),
                     gateway_added=self.gateway_added, dnsmasq_running=self.dnsmasq_running)
        return before, after

    def diffs(self):
        """Before/after of the table, of dnsmasq's files and of the instance's state, for diff mode."""
        before_state, after_state = self.states()
        found = [dict(before_header='nftables table %s' % self.table, after_header='nftables table %s' % self.table,
                      before=self.view.nft_text, after=self.nft_after)]
        for path in [self.paths.config, self.paths.boot_table] + [path for path, dummy in self.actors.service.files()]:
            found.append(dict(before_header=path, after_header=path, before=to_text(self.view.files.get(path) or b''),
                              after=to_text(self.files_after.get(path) or b'')))
        for path, (before, after) in sorted(self.boot_changes.items()):
            found.append(dict(before_header=path, after_header=path, before=before, after=after))
        found.append(dict(before_header='xen_nat %s' % self.spec.name, after_header='xen_nat %s' % self.spec.name,
                          before=before_state, after=after_state))
        return found


def blame_extra_option(error, extra_options):
    """The refusal, naming dhcp.extra_options[i] when the line dnsmasq refused is one of them."""
    if error.line is None or error.line not in extra_options:
        return error
    index = extra_options.index(error.line)
    return ServiceError("dhcp.extra_options[%d] '%s' was refused: %s" % (index, error.line, error), error.line)


def only_known_files(directory, known):
    """Whether directory exists and holds nothing but files this module made (so it may go)."""
    if not os.path.isdir(directory):
        return False
    return set(os.listdir(directory)) <= set(os.path.basename(path) for path in known)


def remove_tree_if_empty(path):
    """Remove an instance directory once its files are gone; leave it if something unknown is inside."""
    if os.path.isdir(path) and not os.listdir(path):
        os.rmdir(path)


def known_values(mapping):
    """Forwarding flags of the interfaces that exist."""
    return dict((key, value) for key, value in mapping.items() if value is not None)


def bind(function, *args):
    return lambda: function(*args)
