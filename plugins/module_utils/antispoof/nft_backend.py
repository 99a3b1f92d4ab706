# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nftables backend of xen_antispoof: read the collection's tables, plan one transaction.

Private to the collection: may change without notice.
A change is a single `nft -f` script, which the kernel applies as one
transaction. When the tables already have the expected layout only the
elements that differ are added or deleted, so the per-vif counters of every
other guest keep counting; otherwise the tables are replaced whole, with the
counters carried over.

Reading is the costly part at thousands of vifs: `nft -j` lists some 35,000
elements for 5000 vifs in a third of a second. So after each run the tables
as this backend left them are kept as a snapshot (_nft_snapshot), and the
next run uses it instead of a listing when the kernel's ruleset generation
shows that no transaction, by anyone, happened in between.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import state
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.change import Change
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.structure import structure_of
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import Nft, delete_table_script, parse_json_listing
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft_snapshot import SnapshotStore, ruleset_generation

DEFAULT_PERSIST_PATH = '/etc/nftables.d/xenfleet-antispoof.nft'
# What keeps bridged frames out of iptables and conntrack (the runner's SYSCTLS['nftables']).
BRIDGE_SYSCTLS_OFF = (('bridge-nf-call-iptables', '0'), ('bridge-nf-call-ip6tables', '0'), ('bridge-nf-call-arptables', '0'))


class NftBackend:
    name = 'nftables'

    def __init__(self, run_command, nft_path='nft', persist_path=None, cache_dir=None, reference=None):
        self.nft = Nft(run_command, nft_path)
        # What the kernel makes of the module's own tables, to compare every rule with (None: layout only).
        self.reference = reference
        self.listed = {}  # family -> the objects of the kernel's listing, when the tables were listed
        self.persist_path = persist_path or DEFAULT_PERSIST_PATH
        self.snapshots = SnapshotStore(cache_dir, 'antispoof-nft') if cache_dir else None
        self.generation = None  # of the ruleset when it was read
        self.from_snapshot = False  # then the tables carry no counters
        self.tables = {}
        self.after = None  # the tables as the planned change leaves them

    def boot_commands(self, get_bin_path, manage_sysctl=True):
        """What the boot unit runs: the persisted file replaces our tables in one transaction; with manage_sysctl the
        bridge netfilter sysctls go back to 0, where br_netfilter is loaded by then ('-e' and '-': where it is not, no
        bridged frame reaches iptables anyway)."""
        commands = [[self.nft.nft_path, '-f', self.persist_path]]
        if manage_sysctl:
            commands.append(['-' + (get_bin_path('sysctl') or '/sbin/sysctl'), '-q', '-e', '-w'] +
                            ['net.bridge.%s=%s' % setting for setting in BRIDGE_SYSCTLS_OFF])
        return commands

    def read(self):
        """The tables from the snapshot when the kernel vouches for it, else from a listing."""
        if self.snapshots is not None:
            self.generation = ruleset_generation()
            saved = self.snapshots.load(self.generation)
            if saved is not None:
                try:
                    self.tables = state.tables_from_snapshot(saved)
                except (AttributeError, KeyError, TypeError, ValueError):
                    # Not what remember() wrote: a cache only, so the kernel is asked instead of trusting it.
                    self.snapshots.forget()
                    return self.read_kernel()
                self.from_snapshot = True
                return self
        return self.read_kernel()

    def source(self):
        """Where the current tables came from: 'snapshot' or 'listing'."""
        return 'snapshot' if self.from_snapshot else 'listing'

    def read_kernel(self):
        self.listed = dict((family, self.nft.table_json(family, render.TABLE)) for family in render.FAMILIES)
        self.tables = dict((family, state.parse_table(family, self.listed[family])) for family in render.FAMILIES)
        self.from_snapshot = False
        return self

    def remember(self, applied):
        """Keep the tables as this run leaves them, keyed by the generation they have if our one
        transaction (when applied) was the only one since the read. Never in check mode."""
        if self.snapshots is None or self.after is None or (self.from_snapshot and not applied):
            return
        if self.generation is not None:
            self.snapshots.save(self.generation + 1 if applied else self.generation, state.snapshot_of(self.after))

    def present(self):
        return any(table is not None for table in self.tables.values())

    def _in_layout(self, family):
        table = self.tables.get(family)
        return table is not None and table.layout() == render.expected_layout(family) \
            and table.hooks.get('prerouting') == (render.HOOK, render.PRIORITY) and not self.drifted(family)

    def drifted(self, family):
        """Whether the listed table differs from what the module writes in anything but elements and counters
        (a rule replaced or added by hand, a chain's policy, a set's definition). A table read from the snapshot
        has seen no transaction since the module wrote it."""
        objects = self.listed.get(family)
        if self.reference is None or objects is None:
            return False
        expected = self.reference.structure(family, render.TABLE, render.table_body(family, render.empty_policy(family)))
        return expected is not None and structure_of(objects) != expected

    def current_policy(self):
        return state.policy_of(self.tables)

    def current_text(self):
        """The tables as this backend renders them, or nft's own listing when they are not in our layout."""
        if all(self._in_layout(family) or self.tables.get(family) is None for family in render.FAMILIES):
            if not self.present():
                return ''
            return render.persist_text(self.current_policy())
        return ''.join(self.nft.table_text(family, render.TABLE) for family in render.FAMILIES)

    def counters(self, names):
        if self.from_snapshot:
            self.refresh_counters()
        counters = state.counters_of(self.tables)
        return state.vif_counters(counters, names), state.unlisted_counter(counters)

    def refresh_counters(self):
        """Re-read only what counts (the dispatch map, the dropped, unlisted and closed sets): a few hundred
        kilobytes of JSON for 5000 vifs instead of the whole tables. nft lists one set without the others."""
        for family in render.FAMILIES:
            objects = []
            wanted = [('map', 'guests'), ('set', 'dropped'), ('set', 'unlisted'), ('set', 'closed')]
            for kind, name in wanted:
                rc, out, err = self.nft.run_command([self.nft.nft_path, '-j', 'list', kind, family, render.TABLE, name])
                if rc != 0:
                    objects = None  # the table is gone (state=absent, or no routed vif any more)
                    break
                objects.extend(parse_json_listing(out, 'nft -j list %s %s %s %s' % (kind, family, render.TABLE, name)))
            self.tables[family] = state.parse_table(family, objects)
        self.from_snapshot = False

    def plan_present(self, spec):
        before = self.current_policy()
        desired = render.desired_policy(spec, before)
        existing = [family for family in render.FAMILIES if self.tables.get(family) is not None]
        structural = [family for family in render.FAMILIES
                      if render.family_needed(desired, family) != (family in existing)
                      or (family in existing and not self._in_layout(family))]
        if structural and self.from_snapshot:
            # Replacing tables carries their counters over and keeps their listing for the way back: read them in full.
            return self.read_kernel().plan_present(spec)
        self.after = state.tables_after(desired)
        if structural:
            script = render.full_script(desired, state.counters_of(self.tables), delete=existing)
            undo = self._restorer(existing)
            tables = ', '.join('%s %s' % (family, render.TABLE) for family in structural)
            summary = 'replace nftables tables %s (%s)' % (tables, _vif_summary(desired))
            drifted = [family for family in structural if family in existing and self.drifted(family)]
            if drifted:
                summary += '; repairs %s, changed by hand' % ', '.join('%s %s' % (family, render.TABLE) for family in drifted)
        else:
            script = ''.join(render.element_script(family, before, desired) for family in existing)
            undo = self._applier(''.join(render.element_script(family, desired, before) for family in existing))
            summary = 'update nftables sets (%s)' % _element_summary(before, desired)
        after_text = render.persist_text(desired)
        names = render.vifs_of(desired)
        return self._change(summary if script else None, script, undo, after_text, {self.persist_path: after_text},
                            names['bridge'] + names['inet'])

    def plan_absent(self, remove_files=True):
        existing = [family for family in render.FAMILIES if self.tables.get(family) is not None]
        self.after = dict((family, None) for family in render.FAMILIES)
        summary = 'delete nftables tables %s' % ', '.join('%s %s' % (f, render.TABLE) for f in existing) if existing else None
        return self._change(summary, render.delete_script(existing), self._restorer(existing), '',
                            {self.persist_path: None} if remove_files else {})

    def _change(self, summary, script, undo, after_text, persist, vifs=()):
        return Change(summary, self._applier(script), undo, lambda: self.nft.check(script),
                      self.current_text, after_text, persist, vifs)

    def _applier(self, script):
        return lambda: self.nft.apply(script)

    def _restorer(self, existing):
        """A callable putting the tables back as they are now (needed only if a later step fails).

        The listing is taken now, before anything changes."""
        return self._applier(self._restore_script(existing))

    def _restore_script(self, existing):
        """What puts the tables back as they are now (used only if a later step fails)."""
        parts = []
        for family in render.FAMILIES:
            parts.append(delete_table_script(family, render.TABLE))
            if family in existing:
                parts.append(self.nft.table_text(family, render.TABLE))
        return ''.join(parts)


def _vif_summary(policy):
    names = render.vifs_of(policy)
    return '%d bridged and %d routed vifs' % (len(names['bridge']), len(names['inet']))


def _element_summary(before, after):
    added = removed = 0
    vifs = set()
    for key in set(before) | set(after):
        gone, new = before.get(key, render.EMPTY) - after.get(key, render.EMPTY), after.get(key, render.EMPTY) - before.get(key, render.EMPTY)
        added, removed = added + len(new), removed + len(gone)
        if key[1] not in render.GLOBAL_SETS:
            vifs.update(render.vif_of(element) for element in gone | new)
    changed = sorted(render.owners_of(before, after).get(name, name) for name in vifs)
    changed = sorted(set(changed))
    return '+%d -%d elements; vifs %s' % (added, removed, ', '.join(changed[:10]) + (' ...' if len(changed) > 10 else ''))
