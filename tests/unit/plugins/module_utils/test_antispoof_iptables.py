# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import iptables as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_backend import IptablesBackend, IptablesError

from antispoof_testing import fixture_text, spec, vif

SAVES = {'eb': 'ebtables-save.txt', 'v4': 'iptables-save.txt', 'v6': 'ip6tables-save.txt'}
NAMES = {'IPV4': 0x0800, 'ARP': 0x0806, 'IPV6': 0x86dd}


def kernel_rulesets():
    return dict((tool, render.parse_save(tool, fixture_text(name), NAMES)) for tool, name in SAVES.items())


class FakeTools:
    """run_command answering the -save tools from the fixtures and recording what restore loaded."""

    def __init__(self, fail=None):
        self.loaded = []
        self.fail = fail

    def __call__(self, argv, data=None, binary_data=False):
        tool = argv[0]
        if tool.endswith('-save'):
            return 0, fixture_text(SAVES[tool[:-len('-save')]]), ''
        if tool == self.fail:
            return 2, '', '%s: refused' % tool
        self.loaded.append((tool, data))
        return 0, '', ''


def backend(fake):
    return IptablesBackend(fake, dict((tool, (tool + '-save', tool + '-restore')) for tool in render.TOOLS)).read()


@pytest.mark.parametrize('cidr, expression', [
    ('2001:db8:1::21/128', '0x30=0x20010db8&&0x34=0x10000&&0x38=0x0&&0x3c=0x21'),
    ('2001:db8:5::/64', '0x30=0x20010db8&&0x34=0x50000'),
    ('2001:db8:5:ab00::/56', '0x30=0x20010db8&&0x34&0xffffff00=0x5ab00'),
])
def test_neighbour_discovery_targets_match_with_u32_as_iptables_save_prints_it(cidr, expression):
    assert render._u32_target(ipaddress.ip_network(cidr)) == expression  # pylint: disable=protected-access


def test_one_vif_renders_as_the_save_tools_print_it():
    chains = render.vif_chains(spec([vif()]).vifs[0])
    assert chains['eb']['XFAS-vif1.0'] == ['--among-src ! 2:0:c0:0:2:15 -j DROP', '-p 0x0800 -j ACCEPT', '-p 0x0806 -j XFARP-vif1.0',
                                           '-p 0x86dd -j ACCEPT', '-j DROP']
    assert chains['v4']['XFAS-vif1.0'] == [
        render.FIRST_FRAGMENT['v4'], '-p udp -m udp --sport 67 -j DROP', '-p udp -m udp --dport 67 -j XFDH-vif1.0',
        '-s 0.0.0.0/32 -d 255.255.255.255/32 -p udp -m udp --sport 68 --dport 67 -j ACCEPT',
        '-p icmp -m icmp --icmp-type 5 -j DROP', '-s 192.0.2.21/32 -j ACCEPT', '-j DROP']
    assert chains['v6']['XFSRC-vif1.0'][-2:] == ['-p ipv6-icmp -m icmp6 --icmpv6-type 136 -j DROP', '-j ACCEPT']


def test_roles_switch_their_rules():
    chains = render.vif_chains(spec([vif(dhcp=False, dhcp_server=True, router=True)]).vifs[0])
    assert chains['v4']['XFAS-vif1.0'][:3] == [render.FIRST_FRAGMENT['v4'], '-p udp -m udp --dport 67 -j DROP', '-s 192.0.2.21/32 -j ACCEPT']
    assert 'XFDH-vif1.0' not in chains['v4']
    assert not any('134' in rule or '--sport 547' in rule for rule in chains['v6']['XFAS-vif1.0'])


def test_a_routed_vif_is_dispatched_by_input_interface_and_mac_without_ebtables():
    routed = spec([vif('vif3.0', mac=['02:00:0a:00:03:05'], ipv4=['10.0.3.5'], ipv6=[], routed=True)]).vifs[0]
    assert render.vif_chains(routed)['eb'] == {}
    assert render.dispatch_lines('v4', routed) == ['-i vif3.0 -m mac --mac-source 02:00:0a:00:03:05 -j XFAS-vif3.0', '-i vif3.0 -j DROP',
                                                   '-i vif3.0-emu -m mac --mac-source 02:00:0a:00:03:05 -j XFAS-vif3.0', '-i vif3.0-emu -j DROP']


def test_the_kernels_chains_read_back_as_the_policy_that_made_them():
    current = kernel_rulesets()
    desired = render.desired_rulesets(spec(), current)
    for tool in render.TOOLS:
        assert current[tool].jump
        assert dict(current[tool].chains) == dict(desired[tool].chains), tool
        assert render.transition_script(current[tool], desired[tool]) == ''


def test_ethertype_names_from_etc_ethertypes_compare_as_numbers():
    names = render.parse_ethertypes('IPv4\t0800\tip ip4\t# IP\n802_1Q\t8100\t8021q 1q\n# comment\n')
    assert names == {'IPV4': 0x0800, 'IP': 0x0800, 'IP4': 0x0800, '802_1Q': 0x8100, '8021Q': 0x8100, '1Q': 0x8100}
    assert render.normalize_ethertypes('-p 802_1Q -j ACCEPT', names) == '-p 0x8100 -j ACCEPT'
    assert render.normalize_ethertypes('-p 0x88b5 -j ACCEPT', names) == '-p 0x88b5 -j ACCEPT'


def test_only_changed_chains_are_rewritten_and_stale_ones_deleted():
    current = kernel_rulesets()
    desired = render.desired_rulesets(spec([vif('vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'], ipv6=[])], purge=True), current)
    script = render.transition_script(current['v4'], desired['v4'])
    assert ':XFAS-vif9.0 - [0:0]' in script and ':XENFLEET-AS - [0:0]' in script
    assert '-X XFAS-vif1.0' in script and '-A XFAS-vif1.0' not in script
    assert '-I PREROUTING' not in script
    assert script.startswith('*raw\n') and script.endswith('COMMIT\n')


def test_the_jump_from_prerouting_is_added_once_and_removed_on_absent():
    empty = render.Ruleset('eb')
    wanted = render.desired_rulesets(spec(), dict((tool, render.Ruleset(tool)) for tool in render.TOOLS))['eb']
    assert '-I PREROUTING 1 -j XENFLEET-AS' in render.transition_script(empty, wanted)
    removal = render.transition_script(wanted, empty)
    assert '-D PREROUTING -j XENFLEET-AS' in removal and '-X XENFLEET-AS' in removal
    assert render.boot_script(wanted).count('PREROUTING') == 1


def test_counters_sum_per_vif_and_ebtables_counts_ipv4_and_ipv6_only_in_iptables():
    counters, unlisted = render.vif_counters(kernel_rulesets())
    assert counters['vif1.0']['accepted']['packets'] > 0
    assert unlisted == {'packets': 0, 'bytes': 0}
    ruleset = render.Ruleset('eb', {'XFAS-vif1.0': ['-p 0x0800 -j ACCEPT', '-j DROP'], render.DISPATCH: ['-i vif+ -j DROP']})
    ruleset.counters = {('XFAS-vif1.0', 0): (5, 500), ('XFAS-vif1.0', 1): (2, 120), (render.DISPATCH, 0): (1, 60)}
    counters, unlisted = render.vif_counters({'eb': ruleset})
    assert counters['vif1.0'] == {'accepted': {'packets': 0, 'bytes': 0}, 'dropped': {'packets': 2, 'bytes': 120}}
    assert unlisted == {'packets': 1, 'bytes': 60}


def test_a_rerun_against_the_kernels_chains_plans_nothing():
    assert not backend(FakeTools()).plan_present(spec())


def test_trusted_ports_and_other_vifs_are_kept_when_not_given():
    current = kernel_rulesets()
    assert current['eb'].trusted() == ['eth0']
    desired = render.desired_rulesets(spec([vif('vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'], ipv6=[])], trusted_ports=None), current)
    assert desired['v4'].vif_names() == ['vif1.0', 'vif2.0', 'vif3.0', 'vif9.0']
    assert '-i eth0 -j ACCEPT' in desired['eb'].chains[render.DISPATCH]


def test_a_tool_refusing_its_part_puts_back_the_tools_already_loaded():
    fake = FakeTools(fail='v4-restore')
    change = backend(fake).plan_present(spec([vif('vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'], ipv6=[])]))
    with pytest.raises(IptablesError):
        change.apply()
    assert [tool for tool, _script in fake.loaded] == ['eb-restore', 'eb-restore']
    assert '-X XFAS-vif9.0' in fake.loaded[1][1]


# ---------------------------------------------------------------- hostile values (validation bypassed)

class BareVif:
    """A vif as the renderer sees it, with whatever name and MAC a test gives (the spec would refuse them)."""

    def __init__(self, name, mac='02:00:00:00:00:01'):
        self.name = name
        self.macs = [mac]
        self.routed = False
        self.dhcp = self.dhcp_server = self.router = False
        self.ethertypes = [render.ETHERTYPE_IPV4]

    def hosts(self, version):
        return []

    def nets(self, version):
        return []


@pytest.mark.parametrize('name', ['x -j ACCEPT', 'x\n-A PREROUTING -j ACCEPT', 'x"y', "x'y", '!x', 'x#y', 'vif+', 'b' * 16, ''])
def test_a_vif_name_the_restore_tools_cannot_take_unquoted_is_refused(name):
    with pytest.raises(render.RuleValueError) as raised:
        render.vif_chains(BareVif(name))
    assert str(raised.value).startswith('vif name %r' % name)
    with pytest.raises(render.RuleValueError):
        render.dispatch_lines('eb', BareVif(name))


def test_a_mac_that_is_not_one_is_refused_before_it_reaches_a_rule():
    with pytest.raises(render.RuleValueError, match="vif vif1.0 mac '02:00:00:00:00:01 -j ACCEPT' is not a MAC address"):
        render.vif_chains(BareVif('vif1.0', mac='02:00:00:00:00:01 -j ACCEPT'))


def test_only_ports_and_patterns_end_in_the_wildcard():
    assert render.port_name('vif*') == 'vif+'
    assert render.port_name('eth0') == 'eth0'
    with pytest.raises(render.RuleValueError, match="vif_patterns 'v !x\\+'"):
        render.port_name('v !x*', 'vif_patterns')


def test_dhcp_requests_must_be_whole_and_name_one_of_the_vifs_macs_in_chaddr():
    chains = render.vif_chains(spec([vif(mac=['02:00:c0:00:02:15', '02:00:c0:00:02:99'])]).vifs[0])
    assert chains['v4']['XFDH-vif1.0'] == [
        '-m u32 --u32 "0x4&0x3fff=0x0&&0x0>>0x16&0x3c@0x8>>0x8&0xffff=0x106&&0x0>>0x16&0x3c@0x24=0x200c000&&0x0>>0x16&0x3c@0x28>>0x10=0x215" -j RETURN',
        '-m u32 --u32 "0x4&0x3fff=0x0&&0x0>>0x16&0x3c@0x8>>0x8&0xffff=0x106&&0x0>>0x16&0x3c@0x24=0x200c000&&0x0>>0x16&0x3c@0x28>>0x10=0x299" -j RETURN',
        '-j DROP']


def test_neighbour_discovery_returns_only_in_shapes_with_at_most_one_option_carrying_the_vifs_mac():
    chains = render.vif_chains(spec([vif()]).vifs[0])['v6']
    assert ['-p ipv6-icmp -m icmp6 --icmpv6-type %d -j XFND-vif1.0' % kind for kind in (133, 135, 136)] == [
        rule for rule in chains['XFAS-vif1.0'] if 'XFND' in rule]
    shapes = chains['XFND-vif1.0']
    assert shapes[-1] == '-j DROP'
    # NA: 32 bytes, no extension header, a target link-layer option of length 1 with the vif's MAC
    assert '-m u32 --u32 "0x4>>0x8=0x203a&&0x28>>0x18=0x88&&0x40>>0x10=0x201&&0x40&0xffff=0x200&&0x44=0xc0000215" -j RETURN' in shapes
    assert '-s ::/128 -m u32 --u32 "0x4>>0x8=0x203a&&0x28>>0x18=0x87&&0x40>>0x10=0xe01" -j RETURN' in shapes
    assert all(rule.startswith(('-m u32 --u32 "0x4>>0x8=', '-s ::/128 -m u32 --u32 "0x4>>0x8=')) for rule in shapes[:-1])


def test_first_fragments_without_their_upper_layer_header_are_dropped_first():
    chains = render.vif_chains(spec([vif(dhcp_server=True, dhcp=False, router=True)]).vifs[0])
    assert chains['v4']['XFAS-vif1.0'][0] == render.FIRST_FRAGMENT['v4']
    assert chains['v6']['XFAS-vif1.0'][0] == render.FIRST_FRAGMENT['v6']
