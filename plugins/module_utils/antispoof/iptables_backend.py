# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The iptables backend of xen_antispoof: read our chains with the -save tools, load with restore --noflush.

Private to the collection: may change without notice.
Only the nf_tables-backed tools are ever run: any iptables-legacy call, even
a listing, would create legacy tables in the namespace for its lifetime.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import iptables as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.change import Change
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_structure import drifted_names
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes

DEFAULT_PERSIST_PREFIX = '/etc/iptables/xenfleet-antispoof'
# What sends bridged frames through iptables, which this backend filters them in.
BRIDGE_SYSCTLS_ON = (('bridge-nf-call-iptables', '1'), ('bridge-nf-call-ip6tables', '1'))
ETHERTYPES_FILE = '/etc/ethertypes'
TOOL_BINARIES = {'eb': 'ebtables-nft', 'v4': 'iptables-nft', 'v6': 'ip6tables-nft'}
DEFAULT_NAMES = {'IPV4': 0x0800, 'ARP': 0x0806, 'IPV6': 0x86dd, '802_1Q': 0x8100}


class IptablesError(Exception):
    """A -save or -restore tool failed; carries its message."""


def _failed(argv, rc, out, err):
    return IptablesError('%s failed (rc=%s): %s' % (' '.join(argv), rc, (err or out).strip()))


class IptablesBackend:
    name = 'iptables'

    def __init__(self, run_command, tools, persist_path=None, reference=None):
        self.run_command = run_command
        self.tools = tools  # {tool: (save path, restore path)}
        # What tells chains changed by hand that the -save tools print as ours (iptables_structure; None: lines only).
        self.reference = reference
        self.persist_prefix = persist_path or DEFAULT_PERSIST_PREFIX
        self.rulesets = {}
        self.unread = {}  # tool -> the error of its -save tool, when it failed and nft's listing stands in
        text = read_bytes(ETHERTYPES_FILE)
        self.ethertype_names = dict(DEFAULT_NAMES, **render.parse_ethertypes(text.decode('utf-8', 'replace') if text else ''))

    @staticmethod
    def find_tools(get_bin_path):
        """{tool: (save, restore)} of the nf_tables-backed binaries, or None when one is missing."""
        tools = {}
        for tool, binary in TOOL_BINARIES.items():
            save, restore = get_bin_path(binary + '-save'), get_bin_path(binary + '-restore')
            if not save or not restore:
                return None
            tools[tool] = (save, restore)
        return tools

    @staticmethod
    def source():
        return 'listing'

    def remember(self, applied):
        """Nothing to keep: iptables-save lists only our chains, which stays fast enough to read every time."""

    def boot_commands(self, get_bin_path, manage_sysctl=True):
        """What the boot unit runs: br_netfilter (without it no bridged frame reaches iptables), the sysctls that send
        bridged frames there, then each tool's file with restore --noflush. ebtables-restore reads only its standard
        input, so a fixed sh line feeds it the file, both passed as arguments, never spliced into the script."""
        paths = self.persist_paths()
        # '-': br_netfilter may be built in, or loaded already where modprobe is missing
        commands = [['-' + (get_bin_path('modprobe') or '/sbin/modprobe'), 'br_netfilter']]
        if manage_sysctl:
            commands.append([get_bin_path('sysctl') or '/sbin/sysctl', '-q', '-w'] +
                            ['net.bridge.%s=%s' % setting for setting in BRIDGE_SYSCTLS_ON])
        commands.append(['/bin/sh', '-c', 'exec "$0" --noflush <"$1"', self.tools['eb'][1], paths['eb']])
        commands.extend([self.tools[tool][1], '--noflush', paths[tool]] for tool in ('v4', 'v6'))
        return commands

    def persist_paths(self):
        return dict((tool, '%s.%s' % (self.persist_prefix, tool)) for tool in render.TOOLS)

    def _run(self, argv, data=None):
        if data is None:
            rc, out, err = self.run_command(argv)
        else:
            rc, out, err = self.run_command(argv, data=data, binary_data=True)
        if rc != 0:
            raise _failed(argv, rc, out, err)
        return out

    def read(self):
        for tool in render.TOOLS:
            argv = [self.tools[tool][0], '-c', '-t', render.TABLES[tool]]
            rc, out, err = self.run_command(argv)
            # A -save tool stops, failing, at a rule it cannot translate (one put in our chains with nft): what it
            # printed up to there is read, and the chains as nft lists them show the rest to rewrite (iptables_structure).
            if rc != 0 and not (self.reference and self.reference.lists(tool)):
                raise _failed(argv, rc, out, err)
            self.rulesets[tool] = render.parse_save(tool, out, self.ethertype_names)
            if rc != 0:
                self.unread[tool] = _failed(argv, rc, out, err)  # raised when the comparison cannot be made after all
        return self

    refresh_counters = read

    def present(self):
        return any(ruleset.chains or ruleset.jumps for ruleset in self.rulesets.values())

    def counters(self, names):
        counters, unlisted = render.vif_counters(self.rulesets)
        zero = {'accepted': {'packets': 0, 'bytes': 0}, 'dropped': {'packets': 0, 'bytes': 0}}
        return dict((name, counters.get(name, zero)) for name in names), unlisted

    def plan_present(self, spec):
        desired = render.desired_rulesets(spec, self.rulesets)
        repaired = self._compare(desired)
        persist = dict((self.persist_paths()[tool], render.boot_script(desired[tool])) for tool in render.TOOLS)
        summary = 'load iptables, ip6tables and ebtables chains (%d vifs)' % len(desired['v4'].vif_names())
        if repaired:
            summary += '; repairs %s, changed by hand' % ', '.join(repaired)
        if any(ruleset.jumps and not ruleset.jump for ruleset in self.rulesets.values()):
            summary += '; puts the jump to %s first in PREROUTING' % render.DISPATCH
        return self._change(desired, persist, summary)

    def _compare(self, desired):
        """Mark on the rulesets read what differs from desired in the kernel; the chains found changed by hand."""
        repaired = self.reference.mark(self.rulesets, desired) if self.reference else drifted_names(self.rulesets)
        for tool, error in sorted(self.unread.items()):
            if tool not in self.reference.compared:
                raise error
        return repaired

    def plan_absent(self, remove_files=True):
        empty = dict((tool, render.Ruleset(tool)) for tool in render.TOOLS)
        if self.unread:
            self._compare(empty)  # the chains the -save tool could not print are deleted too
        persist = dict((path, None) for path in self.persist_paths().values()) if remove_files else {}
        return self._change(empty, persist, 'remove the iptables, ip6tables and ebtables chains of xen_antispoof')

    def _change(self, desired, persist, summary):
        forward = dict((tool, render.transition_script(self.rulesets[tool], desired[tool])) for tool in render.TOOLS)
        backward = dict((tool, render.transition_script(desired[tool], self.rulesets[tool])) for tool in render.TOOLS)
        current = dict(self.rulesets)
        return Change(summary if any(forward.values()) else None, lambda: self._restore(forward, backward),
                      lambda: self._restore(backward, forward), lambda: self._test(forward),
                      lambda: self._before_text(current), render.render_text(desired), persist, desired['v4'].vif_names())

    def _before_text(self, current):
        text = render.render_text(current)
        return text + self.reference.describe(current) if self.reference else text

    def _restore(self, scripts, inverse):
        """Load each tool's script; if one tool refuses, the tools already loaded are put back, so all or none change."""
        done = []
        for tool in render.TOOLS:
            if not scripts[tool]:
                continue
            try:
                self._run([self.tools[tool][1], '--noflush'], data=scripts[tool])
            except IptablesError:
                for earlier in reversed(done):
                    self._run([self.tools[earlier][1], '--noflush'], data=inverse[earlier])
                raise
            done.append(tool)

    def _test(self, scripts):
        """iptables-restore --test parses and builds a ruleset without committing it (ebtables has no such mode)."""
        for tool in ('v4', 'v6'):
            if scripts[tool]:
                self._run([self.tools[tool][1], '--noflush', '--test'], data=scripts[tool])
