# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the iptables backend's chains are exactly what xen_antispoof writes, as the kernel holds them.

Private to the collection: may change without notice.

The -save tools print what they can translate back into their own syntax,
not what the kernel runs: a rule replaced by hand with nft, say
`ip saddr { 6.6.6.6, 6.6.6.7 } drop` in place of a vif chain's final drop,
prints as `-j DROP`, and every forged source then passes while the lines
compare equal. A rule they cannot translate at all hides the whole table
("Table `raw' is incompatible") or fails the listing. So each tool's chains
are also compared the way antispoof/structure.py compares the nftables
tables: the kernel's own listing (`nft -j`) of our chains, rule by rule and
in order, with the listing of what the module writes, loaded by the same
restore tool into a scratch network namespace (`unshare --net`). A chain
that differs is rewritten; a jump to XENFLEET-AS that is not PREROUTING's
first rule is put back first. xt matches (physdev, u32) list without their
arguments, which the line comparison covers. Without nft or unshare only the
lines are compared.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import iptables as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.structure import rule_body, scratch_listing
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError, parse_json_listing

# The nftables table each nf_tables-backed tool keeps its table in.
NFT_TABLES = {'eb': ('bridge', 'nat'), 'v4': ('ip', 'raw'), 'v6': ('ip6', 'raw')}
TOOL_NAMES = {'eb': 'ebtables', 'v4': 'iptables', 'v6': 'ip6tables'}


def chains_of(objects):
    """{chain: [rule bodies in order]} of our chains and of PREROUTING in an nft -j listing; bodies as JSON text."""
    chains = {}
    for entry in objects or []:
        if not isinstance(entry, dict):
            continue
        if 'chain' in entry and isinstance(entry['chain'], dict) and render.ours(str(entry['chain'].get('name'))):
            chains.setdefault(entry['chain']['name'], [])
        rule = entry.get('rule')
        if isinstance(rule, dict) and (render.ours(str(rule.get('chain'))) or rule.get('chain') == 'PREROUTING'):
            body = rule_body(rule)
            body.pop('chain', None)
            chains.setdefault(rule['chain'], []).append(json.dumps(body, sort_keys=True))
    return chains


def drifted_names(current):
    """The chains marked drifted on current (tool -> Ruleset), as 'ebtables XENFLEET-AS'."""
    return ['%s %s' % (TOOL_NAMES[tool], chain) for tool in render.TOOLS for chain in sorted(current[tool].drifted)]


def _jumps(rules):
    return sum(1 for rule in rules if '"target": "%s"' % render.DISPATCH in rule and '"jump"' in rule)


class IptablesReference:
    """Marks, on the rulesets read with the -save tools, what the kernel holds differently from what the module writes."""

    def __init__(self, run_command, nft_path, unshare_path, tools):
        self.run_command = run_command
        self.nft_path = nft_path
        self.unshare_path = unshare_path
        self.tools = tools  # {tool: (save path, restore path)}
        self.compared = set()  # the tools whose chains mark() compared as nft lists them

    def available(self):
        return bool(self.nft_path and self.unshare_path)

    def lists(self, tool):
        """Whether the chains of tool can be compared as nft lists them (then a failed -save listing is no dead end)."""
        return self.available() and self.kernel(tool) is not None

    def kernel(self, tool):
        """Our chains as the kernel lists them, or None when nft cannot list the table."""
        family, table = NFT_TABLES[tool]
        rc, out, dummy = self.run_command([self.nft_path, '-j', 'list', 'table', family, table])
        if rc != 0:
            return None
        try:
            return chains_of(parse_json_listing(out, 'nft -j list table %s %s' % (family, table)))
        except NftError:
            return None

    def reference(self, tool, desired):
        """The desired chains as the kernel lists them after the restore tool loaded them in a scratch namespace."""
        family, table = NFT_TABLES[tool]
        objects = scratch_listing(self.run_command, self.unshare_path, self.nft_path, family, table,
                                  [self.tools[tool][1], '--noflush'], render.boot_script(desired))
        return None if objects is None else chains_of(objects)

    def mark(self, current, desired):
        """Mark on current (tool -> Ruleset) the chains whose kernel form differs from desired's, and a jump not first.

        Returns the chains found changed by hand ('iptables XFAS-vif1.0'), for the plan. A chain whose lines
        differ is rewritten anyway: only one that reads as desired but is not is news."""
        found = drifted_names(current)
        for tool in render.TOOLS:
            before = current[tool]
            if not self.available():
                continue
            kernel = self.kernel(tool)
            expected = self.reference(tool, desired[tool]) if kernel is not None else None
            if kernel is None or expected is None:
                continue
            self.compared.add(tool)
            for chain in kernel:
                if chain == 'PREROUTING':
                    continue
                before.chains.setdefault(chain, [])  # a chain the -save tool could not show is still ours to delete
                same_lines = before.chains[chain] == desired[tool].chains.get(chain)
                if same_lines and kernel[chain] != expected.get(chain) and chain not in before.drifted:
                    before.drifted.add(chain)
                    found.append('%s %s' % (TOOL_NAMES[tool], chain))
            prerouting = kernel.get('PREROUTING', [])
            before.jumps = _jumps(prerouting)
            first = expected.get('PREROUTING', [])[:1]
            before.jump = before.jumps == 1 and prerouting[:1] == first
        return found

    def describe(self, current):
        """The chains found changed by hand as nft lists them (what the -save tools may not show), for the diff."""
        parts = []
        for tool in render.TOOLS:
            family, table = NFT_TABLES[tool]
            for chain in sorted(current[tool].drifted):
                rc, out, dummy = self.run_command([self.nft_path, 'list', 'chain', family, table, chain]) if self.nft_path else (1, '', '')
                listed = out if rc == 0 else ''
                parts.append('# %s %s %s differs from what xen_antispoof writes (changed by hand); the kernel has:\n%s'
                             % (family, table, chain, ''.join('# ' + line + '\n' for line in listed.splitlines())))
        return ''.join(parts)
