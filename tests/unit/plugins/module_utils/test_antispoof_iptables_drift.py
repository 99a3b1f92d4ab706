# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hand edits to the iptables backend's chains are repaired and reported (issue 18 item 4).

A fake kernel holds the module's own chains as the -save tools print them and as nft -j lists them
(one expression per rule line, with counters), so that a test can change one view and not the other,
as a hand edit with nft does.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import iptables as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_backend import IptablesBackend, IptablesError
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_structure import NFT_TABLES, IptablesReference

from antispoof_testing import spec

TOOL_OF = {'bridge': 'eb', 'ip': 'v4', 'ip6': 'v6'}


def save_text(ruleset, before_jump=(), jumps=1):
    """One tool's chains as its -save tool prints them (the module's chains, PREROUTING's rules first)."""
    policy = 'RETURN' if ruleset.tool == 'eb' else '- [0:0]'
    lines = ['*%s' % render.TABLES[ruleset.tool], ':PREROUTING ACCEPT'] + [':%s %s' % (chain, policy) for chain in ruleset.chains]
    lines += ['[0:0] -A PREROUTING %s' % rule for rule in before_jump] + ['[3:180] -A PREROUTING -j XENFLEET-AS'] * jumps
    lines += ['[1:60] -A %s %s' % (chain, rule) for chain, rules in ruleset.chains.items() for rule in rules]
    return '\n'.join(lines + ['COMMIT']) + '\n'


def listing(tool, script, packets=0):
    """What nft -j lists after script (restore or -save syntax) was loaded: each rule line is one expression."""
    family, table = NFT_TABLES[tool]
    objects = [{'metainfo': {}}, {'table': {'family': family, 'name': table}}]
    for number, line in enumerate(script.splitlines()):
        line = line.split('] ', 1)[1] if line.startswith('[') else line
        if line.startswith(':'):
            objects.append({'chain': {'family': family, 'table': table, 'name': line[1:].split()[0], 'handle': number}})
        elif line.startswith(('-A ', '-I PREROUTING 1 ')):
            words = line.split(' ', 2) if line.startswith('-A ') else ['-I', 'PREROUTING', line.split(' ', 3)[3]]
            verdict = {'jump': {'target': words[2][3:]}} if words[2] == render.JUMP else {'line': words[2]}
            objects.append({'rule': {'family': family, 'table': table, 'chain': words[1], 'handle': 1000 + number,
                                     'expr': [verdict, {'counter': {'packets': packets, 'bytes': packets * 60}}]}})
    return objects


class FakeKernel:
    """run_command for the -save and restore tools, nft's listings, and unshare's scratch namespace."""

    def __init__(self, policy=None):
        empty = dict((tool, render.Ruleset(tool)) for tool in render.TOOLS)
        desired = render.desired_rulesets(policy or spec(backend='iptables'), empty)
        self.saves = dict((tool, save_text(desired[tool])) for tool in render.TOOLS)
        self.listings = dict((tool, listing(tool, self.saves[tool], packets=7)) for tool in render.TOOLS)
        self.loaded = []
        self.scratch = True

    def tamper(self, tool, chain, index, expression):
        """Change one rule in nft's view only: what the -save tool prints stays as it was."""
        rules = [entry['rule'] for entry in self.listings[tool] if 'rule' in entry and entry['rule']['chain'] == chain]
        rules[index]['expr'][0] = expression

    def __call__(self, argv, data=None, binary_data=False):
        program = argv[0]
        if program.endswith('-save'):
            return 0, self.saves[program[:-len('-save')]], ''
        if program == 'nft' and argv[1:3] == ['-j', 'list']:
            return 0, json.dumps({'nftables': self.listings[TOOL_OF[argv[4]]]}), ''
        if program == 'nft' and argv[1:3] == ['list', 'chain']:
            return 0, 'table %s %s {\n\tchain %s {\n\t\t(as the kernel has it)\n\t}\n}\n' % tuple(argv[3:6]), ''
        if program == 'unshare':
            if not self.scratch:
                return 1, '', 'unshare: cannot create a namespace'
            return 0, json.dumps({'nftables': listing(argv[-2][:-len('-restore')], data)}), ''
        self.loaded.append((program[:-len('-restore')], data))
        return 0, '', ''


def backend(kernel, reference=True):
    tools = dict((tool, (tool + '-save', tool + '-restore')) for tool in render.TOOLS)
    checker = IptablesReference(kernel, 'nft', 'unshare', tools) if reference else None
    return IptablesBackend(kernel, tools, None, checker).read()


def plan(kernel, reference=True):
    return backend(kernel, reference).plan_present(spec(backend='iptables'))


def loaded(kernel, change):
    change.apply()
    return dict(kernel.loaded)


def test_chains_as_the_module_wrote_them_plan_nothing_whatever_their_counters():
    assert not plan(FakeKernel())


def test_a_policy_on_an_ebtables_chain_is_repaired():
    kernel = FakeKernel()
    kernel.saves['eb'] = kernel.saves['eb'].replace(':XENFLEET-AS RETURN', ':XENFLEET-AS ACCEPT')
    change = plan(kernel, reference=False)
    assert change.summary.endswith('; repairs ebtables XENFLEET-AS, changed by hand')
    script = loaded(kernel, change)['eb']
    assert ':XENFLEET-AS RETURN' in script and '-A XENFLEET-AS -i eth0 -j ACCEPT' in script


def test_a_rule_before_the_jump_puts_the_jump_first_again_and_leaves_that_rule():
    kernel = FakeKernel()
    ruleset = render.parse_save('v4', kernel.saves['v4'])
    kernel.saves['v4'] = save_text(ruleset, before_jump=['-p udp -j ACCEPT'])
    change = plan(kernel, reference=False)
    assert change.summary.endswith('; puts the jump to XENFLEET-AS first in PREROUTING')
    script = loaded(kernel, change)['v4']
    assert '-D PREROUTING -j XENFLEET-AS\n-I PREROUTING 1 -j XENFLEET-AS\n' in script
    assert 'udp' not in script


def test_two_jumps_are_both_taken_out_before_one_is_put_first():
    kernel = FakeKernel()
    kernel.saves['v6'] = save_text(render.parse_save('v6', kernel.saves['v6']), jumps=2)
    script = loaded(kernel, plan(kernel, reference=False))['v6']
    assert script.count('-D PREROUTING -j XENFLEET-AS\n') == 2 and script.count('-I PREROUTING 1 -j XENFLEET-AS\n') == 1


def test_removal_takes_out_a_jump_that_is_not_first():
    kernel = FakeKernel()
    kernel.saves['v4'] = save_text(render.parse_save('v4', kernel.saves['v4']), before_jump=['-j ACCEPT'])
    script = loaded(kernel, backend(kernel).plan_absent())['v4']
    assert script.count('-D PREROUTING -j XENFLEET-AS\n') == 1 and '-I PREROUTING' not in script


def test_a_rule_replaced_with_nft_that_iptables_save_prints_as_ours_is_repaired_and_shown():
    """`ip saddr { 6.6.6.6, 6.6.6.7 } drop` in place of the final drop prints as `-j DROP`."""
    kernel = FakeKernel()
    kernel.tamper('v4', 'XFAS-vif1.0', -1, {'match': {'left': {'payload': {'field': 'saddr'}}, 'right': {'set': ['6.6.6.6', '6.6.6.7']}}})
    change = plan(kernel)
    assert change.summary.endswith('; repairs iptables XFAS-vif1.0, changed by hand')
    assert '# ip raw XFAS-vif1.0 differs from what xen_antispoof writes (changed by hand)' in change.before_text()
    script = loaded(kernel, change)['v4']
    assert ':XFAS-vif1.0 - [0:0]' in script and '-A XFAS-vif1.0 -j DROP' in script
    assert ':XFAS-vif2.0' not in script  # the others keep their counters


def test_without_a_scratch_namespace_only_the_lines_are_compared():
    kernel = FakeKernel()
    kernel.scratch = False
    kernel.tamper('v4', 'XFAS-vif1.0', -1, {'accept': None})
    assert not plan(kernel)


def test_an_nft_rule_before_the_jump_puts_the_jump_first():
    kernel = FakeKernel()
    kernel.listings['v4'].insert(2, {'rule': {'family': 'ip', 'table': 'raw', 'chain': 'PREROUTING', 'expr': [{'accept': None}]}})
    change = plan(kernel)
    assert change.summary.endswith('; puts the jump to XENFLEET-AS first in PREROUTING')
    assert '-D PREROUTING -j XENFLEET-AS\n-I PREROUTING 1 -j XENFLEET-AS\n' in loaded(kernel, change)['v4']


def test_chains_the_save_tool_cannot_print_are_rewritten_from_nfts_listing():
    """A rule iptables-nft-save cannot translate hides the whole table ("Table `raw' is incompatible")."""
    kernel = FakeKernel()
    kernel.saves['v4'] = "# Table `raw' is incompatible, use 'nft' tool.\n"
    script = loaded(kernel, plan(kernel))['v4']
    assert ':XFAS-vif1.0 - [0:0]' in script and '-A XFAS-vif1.0 -j DROP' in script
    assert '-I PREROUTING' not in script  # nft lists the jump, first: no second one


def test_a_save_tool_failing_at_a_rule_it_cannot_translate_leaves_the_chains_to_nfts_listing():
    """iptables-nft-save prints up to a rule put there with nft that it cannot translate (`ip id 5 accept`), then fails."""
    kernel = FakeKernel()
    kernel.tamper('v4', 'XFAS-vif1.0', 0, {'match': {'left': {'payload': {'field': 'id'}}, 'right': 5}})
    printed = kernel.saves['v4'].split('[1:60] -A XFAS-vif1.0 ')[0]
    save = kernel.__call__

    def failing(argv, data=None, binary_data=False):
        if argv[0] == 'v4-save':
            return 3, printed, 'Error: unknown payload offset'
        return save(argv, data, binary_data)
    change = plan(failing)
    assert change.summary == 'load iptables, ip6tables and ebtables chains (3 vifs)'  # its lines differ: rewritten anyway
    change.apply()
    script = dict(kernel.loaded)['v4']
    assert ':XFAS-vif1.0 - [0:0]' in script and '-A XFAS-vif1.0 -j DROP' in script
    assert '-I PREROUTING' not in script


def failing_save(kernel):
    def run(argv, data=None, binary_data=False):
        if argv[0] == 'v4-save':
            return 3, '', 'Error: unknown payload offset'
        return kernel(argv, data, binary_data)
    return run


def test_a_save_tool_failing_without_nft_to_look_is_an_error_naming_it():
    with pytest.raises(IptablesError, match=r'v4-save -c -t raw failed \(rc=3\): Error: unknown payload offset'):
        backend(failing_save(FakeKernel()), reference=False)


def test_a_save_tool_failing_without_a_scratch_namespace_is_an_error_naming_it():
    kernel = FakeKernel()
    kernel.scratch = False
    with pytest.raises(IptablesError, match=r'v4-save -c -t raw failed \(rc=3\): Error: unknown payload offset'):
        plan(failing_save(kernel))


def test_removal_after_a_save_tool_failed_deletes_the_chains_it_could_not_print():
    kernel = FakeKernel()
    printed = kernel.saves['v4'].split('[1:60] -A XFAS-vif1.0 ')[0]

    def run(argv, data=None, binary_data=False):
        if argv[0] == 'v4-save':
            return 3, printed.replace(':XFAS-vif3.0 - [0:0]\n', ''), 'Error: unknown payload offset'
        return kernel(argv, data, binary_data)
    script = loaded(kernel, backend(run).plan_absent())['v4']
    assert '-X XFAS-vif3.0' in script and '-X XFAS-vif1.0' in script
    assert script.count('-D PREROUTING -j XENFLEET-AS') == 1


def test_undoing_the_repair_of_a_jump_not_first_leaves_one_jump_first():
    """A later step failing must not leave the tool without its jump (every frame unfiltered)."""
    kernel = FakeKernel()
    kernel.saves['v4'] = save_text(render.parse_save('v4', kernel.saves['v4']), before_jump=['-p udp -j ACCEPT'])
    change = plan(kernel, reference=False)
    change.undo()
    script = dict(kernel.loaded)['v4']
    assert script.count('-D PREROUTING -j XENFLEET-AS\n') == 1 and script.count('-I PREROUTING 1 -j XENFLEET-AS\n') == 1
