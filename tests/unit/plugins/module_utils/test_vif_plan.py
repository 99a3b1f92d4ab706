# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import settle_dom0
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import mac_from_name
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import VifPlanError, plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import VifSpec
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import VifValidationError
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError, parse_config, vif_entries

WEB = """# web server
name = "web"
memory = 1024
vif = [ 'mac=00:16:3e:0a:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web0,accel=x',
        'bridge=xenbr1' ]
disk = [ 'phy:/dev/vg0/web,xvda,w' ]
"""


def entries(plan):
    return vif_entries(parse_config(plan.new_text))


def test_unchanged_vif_gives_the_same_text_and_no_change():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0', 'ip': ['10.0.0.5']})
    assert not plan.changed
    assert plan.new_text is WEB
    assert plan.mac == '00:16:3e:0a:00:05'
    assert plan.vifname == 'web0'


def test_changing_one_key_keeps_the_others_and_unknown_keys():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr2'})
    assert plan.changed
    assert entries(plan) == ['mac=00:16:3e:0a:00:05,bridge=xenbr2,ip=10.0.0.5,vifname=web0,accel=x', 'bridge=xenbr1']
    assert plan.before.bridge == 'xenbr0'
    assert plan.after.bridge == 'xenbr2'


def test_only_the_edited_entry_changes_in_the_file():
    plan = plan_vif_change(WEB, devid=1, desired={'mtu': 9000})
    assert plan.new_text == WEB.replace("'bridge=xenbr1'", "'bridge=xenbr1,mtu=9000'")


def test_auto_derives_mac_from_ip_and_vifname_from_guest_and_devid():
    plan = plan_vif_change(WEB, devid=1, desired={'mac': 'auto', 'vifname': 'auto', 'ip': '192.168.1.7'})
    assert plan.mac == '02:00:c0:a8:01:07'
    assert plan.vifname == 'web-1'
    assert entries(plan)[1] == 'mac=02:00:c0:a8:01:07,bridge=xenbr1,ip=192.168.1.7,vifname=web-1'


def test_auto_mac_without_ip_comes_from_the_name():
    plan = plan_vif_change(WEB, devid=1, desired={'mac': 'auto'})
    assert plan.mac == mac_from_name('web', 1)


def test_auto_keeps_a_valid_mac_and_name_the_vif_already_has():
    # A new MAC at every run would make udev in the guest rename its interfaces.
    plan = plan_vif_change(WEB, devid=0, desired={'mac': 'auto', 'vifname': 'auto'})
    assert not plan.changed
    assert (plan.mac, plan.vifname) == ('00:16:3e:0a:00:05', 'web0')


def test_auto_replaces_a_mac_that_breaks_the_rules():
    text = "name = 'web'\nvif = [ 'mac=01:00:00:00:00:01,ip=10.0.0.5' ]\n"
    assert plan_vif_change(text, devid=0, desired={'mac': 'auto'}).mac == '02:00:0a:00:00:05'


def test_auto_renames_a_vif_whose_name_another_guest_took():
    plan = plan_vif_change(WEB, devid=0, desired={'vifname': 'auto'}, dom0_claims=[{'guest': 'db', 'devid': 0, 'vifname': 'web0'}])
    assert plan.vifname == 'web-0'


def test_a_new_vif_is_appended_when_the_match_finds_none():
    plan = plan_vif_change(WEB, match={'mac': '02:00:0a:00:00:09'}, desired={'mac': '02:00:0a:00:00:09', 'bridge': 'xenbr0'})
    assert plan.changed
    assert plan.index == 2
    assert plan.devid == 2
    assert plan.before is None
    assert entries(plan)[2] == 'mac=02:00:0a:00:00:09,bridge=xenbr0'
    assert plan.new_text.endswith("        'bridge=xenbr1',\n        'mac=02:00:0a:00:00:09,bridge=xenbr0' ]\ndisk = [ 'phy:/dev/vg0/web,xvda,w' ]\n")


def test_match_finds_a_vif_by_any_key_in_any_spelling():
    plan = plan_vif_change(WEB, match={'mac': '00:16:3E:0A:00:05'}, desired={'rate': '10Mb/s'})
    assert plan.index == 0
    assert plan.after.rate == '10Mb/s'


def test_replace_makes_the_vif_exactly_the_desired_keys():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0', 'mac': '00:16:3e:0a:00:05'}, replace=True)
    assert entries(plan)[0] == 'mac=00:16:3e:0a:00:05,bridge=xenbr0'


def test_absent_removes_the_vif_and_warns_about_renumbering():
    plan = plan_vif_change(WEB, devid=0, state='absent')
    assert plan.changed
    assert entries(plan) == ['bridge=xenbr1']
    assert plan.after is None
    assert 'vif 1 becomes vif 0' in plan.warnings[0]


def test_absent_of_the_last_vif_needs_no_warning():
    assert plan_vif_change(WEB, devid=1, state='absent').warnings == ()


def test_absent_when_there_is_no_such_vif_changes_nothing():
    plan = plan_vif_change(WEB, devid=7, state='absent')
    assert not plan.changed
    assert plan.new_text is WEB


def test_an_explicit_devid_key_selects_the_vif():
    text = "name = 'r'\nvif = [ 'devid=0,bridge=a', 'devid=4,bridge=b' ]\n"
    assert plan_vif_change(text, devid=4, desired={'mtu': 1500}).index == 1


def test_every_problem_is_reported_and_nothing_is_planned():
    with pytest.raises(VifValidationError) as raised:
        plan_vif_change(WEB, devid=1, desired={'vifname': 'wiki.xen.prgmr.com', 'mac': '00:11:22:33:44:55', 'ip': ['10.0.0', '10.0.0.5']})
    assert str(raised.value).splitlines() == [
        "guest 'web' vif 1: vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15",
        "guest 'web' vif 1: mac '00:11:22:33:44:55' is neither in Xen's 00:16:3e block nor locally administered (second hex digit 2, 6, a or e)",
        "guest 'web' vif 1: ip '10.0.0' is not an IPv4 or IPv6 address or CIDR",
        "guest 'web' vif 1: ip '10.0.0.5' is taken: guest 'web' vif 0 already uses it",
    ]


def test_duplicates_with_other_guests_on_the_dom0_are_refused():
    claims = settle_dom0([{'name': 'db', 'vifs': ['mac=02:00:0a:00:00:06,vifname=db0,ip=10.0.0.6']}], dom0='d1')
    with pytest.raises(VifValidationError, match="vifname 'db0' is taken: guest 'db' vif 0 already uses db0"):
        plan_vif_change(WEB, devid=1, desired={'vifname': 'db0'}, dom0_claims=claims)
    with pytest.raises(VifValidationError, match="ip '10.0.0.6' is taken"):
        plan_vif_change(WEB, devid=1, desired={'ip': '10.0.0.6/24'}, dom0_claims=claims)


def test_claims_of_the_same_guest_come_from_the_file_not_the_inventory():
    stale = [{'guest': 'web', 'devid': 0, 'vifname': 'web-1'}]
    assert plan_vif_change(WEB, devid=1, desired={'vifname': 'web-1'}, dom0_claims=stale).changed


def test_hvm_guests_get_11_characters():
    text = "name = 'win'\ntype = 'hvm'\nvif = [ 'bridge=xenbr0' ]\n"
    with pytest.raises(VifValidationError, match="is 12 characters; its emulated NIC adds '-emu'"):
        plan_vif_change(text, devid=0, desired={'vifname': 'windows-srv0'})
    assert plan_vif_change(text, devid=0, desired={'vifname': 'windows-srv0', 'type': 'vif'}).changed


def test_bridge_subnets_are_checked():
    with pytest.raises(VifValidationError, match="ip '10.9.0.1' is outside the bridge's subnet 10.0.0.0/24"):
        plan_vif_change(WEB, devid=0, desired={'ip': '10.9.0.1'}, bridge_subnets={'xenbr0': '10.0.0.0/24'})
    assert plan_vif_change(WEB, devid=1, desired={'ip': '10.9.0.1'}, bridge_subnets={'xenbr0': '10.0.0.0/24'}).changed


def test_the_default_bridge_is_xenbr0_for_subnet_checks():
    text = "name = 'x'\nvif = [ '' ]\n"
    with pytest.raises(VifValidationError, match='outside'):
        plan_vif_change(text, devid=0, desired={'ip': '10.9.0.1'}, bridge_subnets={'xenbr0': ['10.0.0.0/24']})


@pytest.mark.parametrize('kwargs, message', [
    ({'guest': 'db', 'devid': 0}, "the config names guest 'web', not 'db'"),
    ({}, 'give devid or match'),
    ({'devid': 0, 'state': 'gone'}, "state 'gone' is not one of present, absent"),
])
def test_requests_that_cannot_be_planned(kwargs, message):
    with pytest.raises(VifPlanError, match=message):
        plan_vif_change(WEB, **kwargs)


def test_a_match_must_find_one_vif_at_most():
    both_on_xenbr0 = WEB.replace('xenbr1', 'xenbr0')
    assert plan_vif_change(both_on_xenbr0, match={'vifname': 'web0'}).index == 0
    with pytest.raises(VifPlanError, match='2 vifs match'):
        plan_vif_change(both_on_xenbr0, match={'bridge': 'xenbr0'})


def test_a_config_without_a_name_needs_the_guest():
    text = "vif = [ 'bridge=xenbr0' ]\n"
    with pytest.raises(VifPlanError, match='no name'):
        plan_vif_change(text, devid=0)
    assert plan_vif_change(text, guest='anon', devid=0, desired={'vifname': 'auto'}).vifname == 'anon-0'


def test_a_config_without_vif_gets_one():
    plan = plan_vif_change("name = 'new'\nmemory = 256\n", devid=0, desired={'bridge': 'xenbr0', 'mac': 'auto', 'vifname': 'auto'})
    assert plan.new_text == "name = 'new'\nmemory = 256\nvif = [ 'mac=%s,bridge=xenbr0,vifname=new-0' ]\n" % mac_from_name('new', 0)


def test_a_broken_file_is_refused_with_its_position():
    with pytest.raises(XlConfigError, match='line 2, column'):
        plan_vif_change("name = 'x'\nvif = [ 'a' 'b' ]\n", devid=0)


def test_an_old_netdev_entry_is_left_alone_until_it_is_edited():
    text = "name = 'r'\nvif = [ 'ip=203.0.113.9,script=vif-route,netdev=eth0' ]\n"
    assert plan_vif_change(text, devid=0, desired={'gatewaydev': 'eth0'}).new_text is text
    assert entries(plan_vif_change(text, devid=0, desired={'ip': '203.0.113.10'})) == ['ip=203.0.113.10,gatewaydev=eth0,script=vif-route']


def test_settle_dom0_reserves_explicit_names_before_deriving():
    claims = settle_dom0([
        {'name': 'a', 'vifs': [{'vifname': 'auto'}]},
        {'name': 'b', 'vifs': [{'vifname': 'a-0'}]},
    ], dom0='d')
    assert [claim.vifname for claim in claims] != ['a-0', 'a-0']
    assert claims[1].vifname == 'a-0'
    assert claims[0].vifname.startswith('a_')


def test_settle_dom0_takes_strings_and_mappings_and_hvm_names():
    claims = settle_dom0([{'name': 'w', 'type': 'hvm', 'vifs': ['vifname=auto,mac=auto,ip=10.0.0.5', {'bridge': 'xenbr1'}]}])
    assert claims[0].names == ('w-0', 'w-0-emu')
    assert claims[0].mac == '02:00:0a:00:00:05'
    assert claims[1].vifname is None
    assert claims[1].mac is None


def test_vif_spec_in_plan_is_a_vif_spec():
    assert isinstance(plan_vif_change(WEB, devid=0).after, VifSpec)


def test_a_new_vif_asked_for_by_devid_keeps_that_devid_on_the_next_run():
    plan = plan_vif_change(WEB, devid=5, desired={'bridge': 'xenbr0'})
    assert plan.devid == 5
    assert entries(plan)[2] == 'bridge=xenbr0,devid=5'
    again = plan_vif_change(plan.new_text, devid=5, desired={'bridge': 'xenbr0'})
    assert not again.changed


def test_a_new_vif_asked_for_at_its_list_position_needs_no_devid_key():
    assert entries(plan_vif_change(WEB, devid=2, desired={'bridge': 'xenbr0'}))[2] == 'bridge=xenbr0'


def test_a_new_vif_found_by_match_carries_the_matched_keys():
    plan = plan_vif_change(WEB, match={'vifname': 'db0'}, desired={'bridge': 'xenbr0', 'mac': 'auto'})
    assert plan.vifname == 'db0'
    again = plan_vif_change(plan.new_text, match={'vifname': 'db0'}, desired={'bridge': 'xenbr0', 'mac': 'auto'})
    assert not again.changed
    assert again.index == 2


def test_a_devid_another_entry_holds_is_refused():
    text = "name = 'r'\nvif = [ 'bridge=a', 'devid=2,bridge=b' ]\n"
    with pytest.raises(VifValidationError, match="guest 'r' vif 2: devid '2' is taken: entry 1 of the vif list already has it"):
        plan_vif_change(text, match={'bridge': 'c'}, desired={})
