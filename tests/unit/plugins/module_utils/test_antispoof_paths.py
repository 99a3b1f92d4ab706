# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The paths around the filter (issue 18, items 1 and 2): emulated NICs, and ports and routed vifs without a policy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import iptables as ipt
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import nft as render
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import state
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import emulated_twin

from antispoof_testing import problems, spec, vif

WEB = vif('web-0', mac=['02:00:c0:00:02:30'], ipv4=['192.0.2.30'], ipv6=[])
ROUTED = vif('db-1', mac=['02:00:0a:00:03:06'], ipv4=['10.0.3.6'], ipv6=[], routed=True)


@pytest.mark.parametrize('name, twin', [
    ('vif1.0', 'vif1.0-emu'),  # xl's own name: libxl's vif<domid>.<devid>-emu
    ('web-0', 'web-0-emu'),  # a vifname: vif-common.sh renames the tap <vifname>-emu
    ('abcdefghijk', 'abcdefghijk-emu'),  # 11 characters: the longest vifname whose tap can be renamed
    ('vif12345.100', 'vif12345.100-em'),  # QEMU cuts libxl's name to 15 characters
    ('vif12345.123456', None),  # cut to the vif's own name: no name of its own
    ('webserver-01', None),  # `ip` refuses the 16 characters of webserver-01-emu; the tap is never plugged
])
def test_the_emulated_nic_is_named_as_xl_and_qemu_name_it(name, twin):
    assert emulated_twin(name) == twin


def test_the_policy_of_a_vif_covers_its_emulated_nic_with_every_check():
    policy = render.desired_policy(spec([vif(), WEB]), {})
    for (family, name), elements in policy.items():
        if name in render.GLOBAL_SETS:
            continue
        own = set(element[len('"vif1.0"'):] for element in elements if element.startswith('"vif1.0"'))
        twin = set(element[len('"vif1.0-emu"'):] for element in elements if element.startswith('"vif1.0-emu"'))
        assert own == twin, (family, name)
    assert policy[('bridge', 'macs')] >= {'"web-0-emu" . 02:00:c0:00:02:30', '"vif1.0-emu" . 02:00:c0:00:02:15'}
    assert render.vifs_of(policy)['bridge'] == ['vif1.0', 'web-0']


def test_a_routed_vifs_emulated_nic_is_routed_too():
    policy = render.desired_policy(spec([ROUTED]), {})
    assert policy[('inet', 'guests')] == {'"db-1"', '"db-1-emu"'}
    assert not [element for element in policy[('bridge', 'guests')] if 'db-1' in element]


def test_a_vif_changed_by_name_changes_its_emulated_nic_too():
    before = render.desired_policy(spec([vif()]), {})
    after = render.desired_policy(spec([vif(mac=['02:00:c0:00:02:99'])]), before)
    assert after[('bridge', 'macs')] == {'"vif1.0" . 02:00:c0:00:02:99', '"vif1.0-emu" . 02:00:c0:00:02:99'}
    gone = render.desired_policy(spec([vif(state='absent')]), before)
    assert gone[('bridge', 'guests')] == set()


def test_the_emulated_nics_frames_count_as_the_vifs():
    counters = {('bridge', 'guests', '"vif1.0"'): (10, 1000), ('bridge', 'guests', '"vif1.0-emu"'): (5, 500),
                ('bridge', 'dropped', '"vif1.0-emu"'): (2, 200)}
    assert state.vif_counters(counters, ['vif1.0'])['vif1.0'] == {'accepted': {'packets': 13, 'bytes': 1300},
                                                                  'dropped': {'packets': 2, 'bytes': 200}}


@pytest.mark.parametrize('vifs, message', [
    ([vif('web'), vif('web-emu', mac=['02:00:c0:00:02:31'], ipv4=['192.0.2.31'], ipv6=[])],
     "vifs[1].name 'web-emu' is the name of the emulated NIC of vif web (vifs[0]), which that vif's policy covers; name one of them otherwise"),
    ([vif('vif12345.100'), vif('vif12345.100-em', mac=['02:00:c0:00:02:31'], ipv4=['192.0.2.31'], ipv6=[])],
     "vifs[1].name 'vif12345.100-em' is the name of the emulated NIC of vif vif12345.100 (vifs[0]), which that vif's policy covers; "
     "name one of them otherwise"),
])
def test_a_vif_named_as_another_vifs_emulated_nic_is_refused(vifs, message):
    assert problems(vifs) == [message]


@pytest.mark.parametrize('field, kind', [('trusted_ports', 'trusted'), ('host_interfaces', "dom0's own")])
def test_an_emulated_nic_that_is_trusted_or_dom0s_own_is_refused(field, kind):
    assert problems([vif()], **{field: ['vif1.0-emu']}) == [
        "vifs[0].name 'vif1.0' has an emulated NIC 'vif1.0-emu' (an HVM guest's tap), which is in %s; a port is either %s or filtered"
        % (field, kind)]


def test_declaring_dom0s_interfaces_drops_everything_else_in_both_families():
    policy = render.desired_policy(spec([vif()], trusted_ports=['eth0'], host_interfaces=['xenbr0', 'wg*']), {})
    for family in render.FAMILIES:
        assert policy[(family, 'host')] == {'"lo"', '"xenbr0"', '"wg*"'}
        assert policy[(family, 'trusted')] == {'"eth0"'}
        assert policy[(family, 'unlisted')] == {'"vif*"', '"tap*"'}
        assert policy[(family, 'closed')] == set(render.PACKET_TYPES)
        assert render.family_needed(policy, family)  # the inet table exists without any routed vif
    kept = render.desired_policy(spec([vif()]), policy)
    assert kept[('inet', 'host')] == policy[('inet', 'host')] and kept[('inet', 'closed')] == policy[('inet', 'closed')]
    opened = render.desired_policy(spec([vif()], unlisted_vifs='accept'), policy)
    assert opened[('bridge', 'closed')] == opened[('bridge', 'unlisted')] == set()
    assert not render.family_needed(opened, 'inet')


def test_without_dom0s_interfaces_only_names_are_dropped_and_the_inet_table_waits_for_a_routed_vif():
    policy = render.desired_policy(spec([vif()]), {})
    assert policy[('bridge', 'closed')] == policy[('bridge', 'host')] == set()
    assert not render.family_needed(policy, 'inet')
    routed = render.desired_policy(spec([vif(), ROUTED]), {})
    assert routed[('inet', 'unlisted')] == {'"vif*"', '"tap*"'} and routed[('inet', 'closed')] == set()


def test_guests_go_first_then_dom0s_own_then_what_is_left_is_dropped():
    for family in render.FAMILIES:
        prerouting = dict((name, rules) for name, _hooked, rules in render._chains(family))['prerouting']
        assert prerouting == ('iifname vmap @guests', 'iifname @trusted accept', 'iifname @host accept', 'iifname @unlisted drop',
                              'meta pkttype @closed drop')


def test_packet_types_read_back_from_the_kernel_are_checked():
    definition = render.SETS_BY_NAME['closed']
    assert render.element_key(definition, ('host',)) == 'host'
    with pytest.raises(ValueError):
        render.element_key(definition, ('host; flush ruleset',))


# ---------------------------------------------------------------- iptables

def test_iptables_dispatches_the_emulated_nic_to_the_vifs_chains():
    rulesets = ipt.desired_rulesets(spec([vif(), ROUTED], trusted_ports=['eth0'], host_interfaces=['xenbr0']), empty_rulesets())
    dispatch = dict((tool, rulesets[tool].chains[ipt.DISPATCH]) for tool in ipt.TOOLS)
    assert '-i vif1.0-emu -j XFAS-vif1.0' in dispatch['eb']
    assert '-m physdev --physdev-in vif1.0-emu -j XFAS-vif1.0' in dispatch['v4']
    assert '-i db-1-emu -m mac --mac-source 02:00:0a:00:03:06 -j XFAS-db-1' in dispatch['v6']
    assert '-i db-1-emu -j DROP' in dispatch['v4']
    assert 'XFAS-vif1.0-emu' not in rulesets['v4'].chains


def test_iptables_drops_what_is_left_after_dom0s_own_interfaces():
    rulesets = ipt.desired_rulesets(spec([vif()], trusted_ports=['eth0'], host_interfaces=['xenbr0', 'wg*']), empty_rulesets())
    eb, v4 = rulesets['eb'].chains[ipt.DISPATCH], rulesets['v4'].chains[ipt.DISPATCH]
    assert eb[-6:] == ['-i lo -j RETURN', '-i xenbr0 -j RETURN', '-i wg+ -j RETURN', '-i vif+ -j DROP', '-i tap+ -j DROP', '-j DROP']
    assert v4[-7:] == ['-i eth0 -j RETURN', '-i lo -j RETURN', '-i xenbr0 -j RETURN', '-i wg+ -j RETURN', '-i vif+ -j DROP',
                       '-i tap+ -j DROP', '-j DROP']
    assert rulesets['eb'].host() == ['lo', 'xenbr0', 'wg*'] and rulesets['eb'].trusted() == ['eth0']
    kept = ipt.desired_rulesets(spec([vif()]), rulesets)
    assert kept['v4'].chains[ipt.DISPATCH] == v4
    opened = ipt.desired_rulesets(spec([vif()], unlisted_vifs='accept'), rulesets)
    assert '-j DROP' not in opened['eb'].chains[ipt.DISPATCH] and '-i vif+ -j DROP' not in opened['v4'].chains[ipt.DISPATCH]


def test_iptables_keeps_a_vif_it_is_not_told_about_with_its_emulated_nic():
    rulesets = ipt.desired_rulesets(spec([vif(), ROUTED], host_interfaces=[]), empty_rulesets())
    kept = ipt.desired_rulesets(spec([WEB]), rulesets)
    for tool in ipt.TOOLS:
        assert [line for line in rulesets[tool].chains[ipt.DISPATCH] if 'vif1.0' in line or 'db-1' in line] == \
            [line for line in kept[tool].chains[ipt.DISPATCH] if 'vif1.0' in line or 'db-1' in line]


def test_iptables_counts_drops_of_unlisted_interfaces_and_of_the_emulated_nic():
    rulesets = ipt.desired_rulesets(spec([ROUTED], host_interfaces=[]), empty_rulesets())
    v4 = rulesets['v4']
    for index, line in enumerate(v4.chains[ipt.DISPATCH]):
        v4.counters[(ipt.DISPATCH, index)] = {'-i db-1-emu -j DROP': (3, 300), '-i vif+ -j DROP': (2, 200), '-j DROP': (1, 100)}.get(line, (0, 0))
    counters, unlisted = ipt.vif_counters({'v4': v4})
    assert counters['db-1']['dropped'] == {'packets': 3, 'bytes': 300}
    assert unlisted == {'packets': 3, 'bytes': 300}


def empty_rulesets():
    return dict((tool, ipt.Ruleset(tool)) for tool in ipt.TOOLS)
