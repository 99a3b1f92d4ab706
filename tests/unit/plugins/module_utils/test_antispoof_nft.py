# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import AntispoofSpec
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftQuoteError

from antispoof_testing import spec, vif

EXTRA = vif('vif9.0', mac=['02:00:c0:00:02:99'], ipv4=['192.0.2.99'], ipv6=[])


def vifs_in(policy, family='bridge'):
    return render.vifs_of(policy)[family]


def test_bridged_vifs_go_to_the_bridge_table_and_routed_ones_to_inet():
    policy = render.desired_policy(spec(), {})
    assert vifs_in(policy) == ['vif1.0', 'vif2.0']
    assert vifs_in(policy, 'inet') == ['vif3.0']
    assert '"vif2.0" . 192.0.2.48/28' in policy[('bridge', 'net4')]
    assert '"vif2.0" . 192.0.2.22' in policy[('bridge', 'addr4')]
    assert '"vif3.0" . 02:00:0a:00:03:05' in policy[('inet', 'macs')]


def test_a_guest_is_elements_not_rules():
    one = render.table_body('bridge', render.desired_policy(spec([vif()]), {}))
    many = render.table_body('bridge', render.desired_policy(spec([vif('vif%d.0' % n, mac=['02:00:00:00:%02x:01' % n], ipv4=['10.0.%d.1' % n], ipv6=[])
                                                                   for n in range(50)]), {}))
    rules = [line for line in one.splitlines() if line.startswith('\t\t') and not line.startswith('\t\t\t')]
    assert [line for line in many.splitlines() if line.startswith('\t\t') and not line.startswith('\t\t\t')] == rules
    assert not any('vif1.0' in rule for rule in rules)


def test_without_purge_other_vifs_keep_their_policy_and_with_purge_they_lose_it():
    current = render.desired_policy(spec(), {})
    kept = render.desired_policy(spec([EXTRA], trusted_ports=None), current)
    assert vifs_in(kept) == ['vif1.0', 'vif2.0', 'vif9.0']
    assert kept[('bridge', 'trusted')] == {'"eth0"'}
    purged = render.desired_policy(spec([EXTRA], purge=True), current)
    assert vifs_in(purged) == ['vif9.0']
    assert vifs_in(purged, 'inet') == []


def test_a_listed_vif_replaces_its_old_policy_even_across_tables():
    current = render.desired_policy(spec(), {})
    moved = render.desired_policy(spec([vif('vif3.0', mac=['02:00:0a:00:03:05'], ipv4=['10.0.3.5'], ipv6=[])]), current)
    assert 'vif3.0' in vifs_in(moved)
    assert vifs_in(moved, 'inet') == []
    assert not render.family_needed(moved, 'inet')


def test_unlisted_vifs_accept_empties_the_unlisted_set():
    assert render.desired_policy(spec(unlisted_vifs='accept'), {})[('bridge', 'unlisted')] == set()
    assert render.desired_policy(spec(), {})[('bridge', 'unlisted')] == {'"vif*"', '"tap*"'}


def test_element_script_adds_and_deletes_only_the_difference():
    before = render.desired_policy(spec(), {})
    after = render.desired_policy(spec([EXTRA]), before)
    script = render.element_script('bridge', before, after)
    assert 'delete' not in script
    assert 'add element bridge xenfleet_antispoof guests { "vif9.0" : goto guest, "vif9.0-emu" : goto guest }' in script
    assert 'add element bridge xenfleet_antispoof addr4 { "vif9.0" . 192.0.2.99, "vif9.0-emu" . 192.0.2.99 }' in script
    assert 'vif1.0' not in script
    undo = render.element_script('bridge', after, before)
    assert undo.count('delete element') == script.count('add element')
    assert 'delete element bridge xenfleet_antispoof guests { "vif9.0", "vif9.0-emu" }' in undo
    assert render.element_script('bridge', after, after) == ''


def test_element_script_batches_large_changes():
    before = render.empty_policy('bridge')
    after = dict(before)
    after[('bridge', 'guests')] = set('"vif%d.0"' % n for n in range(1100))
    assert render.element_script('bridge', before, after, chunk=500).count('add element') == 3


def test_raw_neighbour_discovery_values_are_numbers():
    policy = render.desired_policy(spec([vif(ipv6=['2001:db8:1::21', '2001:db8:5::/64'])]), {})
    assert '"vif1.0" . 0x20010db8000100000000000000000021' in policy[('bridge', 'nd_addr6')]
    assert policy[('bridge', 'nd_net6')] == set('"%s" . 0x20010db8000500000000000000000000-0x20010db800050000ffffffffffffffff' % name
                                                for name in ('vif1.0', 'vif1.0-emu'))
    assert policy[('bridge', 'nd_mac')] == {'"vif1.0" . 0x0200c0000215', '"vif1.0-emu" . 0x0200c0000215'}
    nd_net6 = render.SETS_BY_NAME['nd_net6']
    assert render.element_key(nd_net6, ('vif1.0', (1, 2))) == '"vif1.0" . 0x%032x-0x%032x' % (1, 2)
    assert render.vif_of('"vif1.0" . 0x0200c0000215') == 'vif1.0'


def test_default_ethertypes_and_dhcp_cost_no_element():
    policy = render.desired_policy(spec([vif(), vif('vif2.0', mac=['02:00:c0:00:02:16'], ipv4=[], ipv6=[], ethertypes=['ipv4', 'arp', 'vlan'],
                                                    dhcp=False)]), {})
    assert policy[('bridge', 'ethertypes')] == {'"vif2.0" . 0x8100', '"vif2.0-emu" . 0x8100'}
    assert policy[('bridge', 'no_ipv6')] == {'"vif2.0"', '"vif2.0-emu"'}
    assert policy[('bridge', 'no_ipv4')] == policy[('bridge', 'no_arp')] == set()
    assert policy[('bridge', 'no_dhcp')] == {'"vif2.0"', '"vif2.0-emu"'}


def test_counters_are_carried_into_a_replaced_table_but_never_into_the_boot_file():
    policy = render.desired_policy(spec(), {})
    counters = {('bridge', 'guests', '"vif1.0"'): (10, 840), ('bridge', 'unlisted', '"vif*"'): (3, 180)}
    body = render.table_body('bridge', policy, counters)
    assert '"vif1.0" counter packets 10 bytes 840 : goto guest' in body
    assert '"vif*" counter packets 3 bytes 180' in body
    assert 'packets' not in render.persist_text(policy)


def test_full_script_replaces_needed_tables_and_deletes_unneeded_existing_ones():
    policy = render.desired_policy(spec([vif()]), {})
    script = render.full_script(policy, delete=['bridge', 'inet'])
    assert script.startswith('table bridge xenfleet_antispoof\ndelete table bridge xenfleet_antispoof\ntable bridge xenfleet_antispoof {')
    assert script.endswith('table inet xenfleet_antispoof\ndelete table inet xenfleet_antispoof\n')
    assert 'inet' not in render.full_script(policy)


def test_the_bridge_table_hooks_prerouting_before_learning_and_carries_its_layout():
    body = render.table_body('bridge', render.desired_policy(spec(), {}))
    assert 'type filter hook prerouting priority -350; policy accept;' in body
    assert 'comment "%s"' % render.layout_comment('bridge') in body
    assert render.layout_digest('bridge') != render.layout_digest('inet')
    assert render.expected_layout('bridge')['chains'] == {'prerouting': 5, 'guest': 4, 'guest_ip4': 9, 'guest_ip6': 12, 'guest_arp': 9,
                                                          'first_fragment': 4, 'nd_shape': 7, 'dhcp_request': 2, 'refuse': 2}
    assert 'map guests {\n\t\ttype ifname : verdict\n\t\tcounter' in body


def test_empty_spec_still_keeps_unlisted_vifs_out():
    policy = render.desired_policy(AntispoofSpec({'vifs': [], 'trusted_ports': ['eth0']}), {})
    assert render.family_needed(policy, 'bridge') and not render.family_needed(policy, 'inet')
    assert 'iifname @unlisted drop' in render.persist_text(policy)


def test_a_vif_with_state_absent_loses_its_elements_and_the_others_keep_theirs():
    current = render.desired_policy(spec(), {})
    after = render.desired_policy(spec([dict(name='vif2.0', state='absent')], trusted_ports=None), current)
    assert vifs_in(after) == ['vif1.0'] and vifs_in(after, 'inet') == ['vif3.0']
    assert not any(render.vif_of(key) == 'vif2.0' for keys in after.values() for key in keys if keys is not after[('bridge', 'trusted')])
    script = render.element_script('bridge', current, after)
    assert 'add element' not in script and 'delete element bridge xenfleet_antispoof guests { "vif2.0", "vif2.0-emu" }' in script


# ---------------------------------------------------------------- hostile values (validation bypassed)

@pytest.mark.parametrize('name', ['x";drop#', 'x\nflush ruleset', 'a\\b', 'x\0y', 'b' * 16, 'vif*', ''])
def test_a_vif_name_nft_cannot_carry_is_refused_before_any_script(name):
    with pytest.raises(NftQuoteError) as raised:
        render.ifname_key(name)
    assert str(raised.value).startswith('vif name %r' % name)


def test_ports_and_patterns_may_be_wildcards_but_not_leave_their_quotes():
    assert render.ifname_key('eth*', 'trusted_ports', wildcard=True) == '"eth*"'
    with pytest.raises(NftQuoteError, match="trusted_ports 'eth\" accept' holds"):
        render.ifname_key('eth" accept', 'trusted_ports', wildcard=True)


def test_an_element_read_from_the_kernel_with_a_name_nft_cannot_carry_is_refused():
    # Elements of vifs a task does not name are written back; one edited by hand must not carry a script along.
    with pytest.raises(NftQuoteError, match='set element'):
        render.element_key(render.SETS_BY_NAME['guests'], ('x" }; flush ruleset; #',))


def chain_rules(family, name):
    return dict((chain, rules) for chain, _hooked, rules in render._chains(family))[name]  # pylint: disable=protected-access


@pytest.mark.parametrize('family', render.FAMILIES)
def test_first_fragments_are_checked_before_any_port_or_type(family):
    for chain, jump in (('guest_ip4', render.IPV4_FIRST_FRAGMENT), ('guest_ip6', render.IPV6_FIRST_FRAGMENT)):
        rules = chain_rules(family, chain)
        reading = [index for index, rule in enumerate(rules) if 'udp ' in rule or 'icmp' in rule or '@th' in rule]
        assert rules.index(jump) < min(reading)
    assert chain_rules(family, 'first_fragment')[-1] == 'goto refuse'
    assert all(rule.endswith(' return') for rule in chain_rules(family, 'first_fragment')[:-1])


@pytest.mark.parametrize('family', render.FAMILIES)
def test_neighbour_discovery_has_one_shape_and_is_checked_before_any_accept(family):
    rules = chain_rules(family, 'guest_ip6')
    shape = rules.index('icmpv6 type { nd-router-solicit, nd-neighbor-solicit, nd-neighbor-advert } jump nd_shape')
    assert shape < min(index for index, rule in enumerate(rules) if rule.endswith('accept'))
    nd_shape = chain_rules(family, 'nd_shape')
    assert nd_shape[-1] == 'goto refuse'
    # every accepted shape names the next header and the length, and any option it allows carries the vif's MAC (or is DAD's nonce)
    for rule in nd_shape[:-1]:
        assert rule.startswith('ip6 nexthdr ipv6-icmp icmpv6 type ') and ' ip6 length ' in rule and rule.endswith(' return')
        assert '@th' not in rule or '@nd_mac' in rule or ('ip6 saddr ::' in rule and '0x0e01' in rule)
    assert not any('@th,192,16 { 0x0101, 0x0201 }' in rule for rule in rules)  # the old first-option-only check is gone


@pytest.mark.parametrize('family', render.FAMILIES)
def test_dhcp_requests_name_the_vifs_own_mac_unless_it_is_a_dhcp_server(family):
    rules = chain_rules(family, 'guest_ip4')
    request = rules.index('udp dport 67 iifname != @dhcp_server jump dhcp_request')
    assert request < rules.index('ip saddr 0.0.0.0 ip daddr 255.255.255.255 udp sport 68 udp dport 67 accept')
    assert chain_rules(family, 'dhcp_request') == render.DHCP_REQUEST_RULES
    assert '@th,288,48' in render.DHCP_REQUEST_RULES[0] and '@nd_mac' in render.DHCP_REQUEST_RULES[0]
