# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.bulk import plan_guests
from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import VifClaim
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import VifValidationError
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import parse_config, vif_entries

WEB = """# web server
name = "web"
vif = [
    # public
    'mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0',
    'mac=02:00:0a:01:00:05,bridge=xenbr1,ip=10.0.1.5,vifname=web-1',
]
disk = [ 'phy:/dev/vg0/web,xvda,w' ]
"""
DB = "name = 'db'\nmemory = 512\n"


def guest(name, *vifs, **extra):
    result = dict(name=name, vifs=[dict(dict(mac='auto', vifname='auto'), **vif) for vif in vifs])
    result.update(extra)
    return result


def entries(plan):
    return vif_entries(parse_config(plan.new_text))


def problems(excinfo):
    return [str(problem) for problem in excinfo.value.problems]


WEB_VIFS = (dict(bridge='xenbr0', ip=['10.0.0.5']), dict(bridge='xenbr1', ip=['10.0.1.5']))


def test_a_guest_as_it_is_changes_nothing():
    [plan] = plan_guests([guest('web', *WEB_VIFS)], {'web': WEB})
    assert not plan.changed and plan.new_text == WEB and plan.steps() == []


def test_vifs_without_devid_take_their_position_and_all_are_kept():
    [plan] = plan_guests([guest('db', dict(bridge='xenbr0', ip=['10.0.0.6']), dict(bridge='xenbr1'))], {'db': DB})
    assert entries(plan) == ['mac=02:00:0a:00:00:06,bridge=xenbr0,ip=10.0.0.6,vifname=db-0',
                             'mac=%s,bridge=xenbr1,vifname=db-1' % plan.vifs[1].after.mac]
    assert plan.steps() == ['add vif 0', 'add vif 1']
    assert plan.new_text.startswith(DB)


def test_the_result_is_what_xen_vif_writes_vif_by_vif():
    text = DB
    for devid, vif in enumerate(({'bridge': 'xenbr0', 'ip': ['10.0.0.6']}, {'bridge': 'xenbr1'})):
        text = plan_vif_change(text, guest='db', devid=devid, desired=dict(vif, mac='auto', vifname='auto')).new_text
    [plan] = plan_guests([guest('db', dict(bridge='xenbr0', ip=['10.0.0.6']), dict(bridge='xenbr1'))], {'db': DB})
    assert plan.new_text == text


def test_exclusive_removes_unlisted_vifs_and_numbers_the_rest():
    [plan] = plan_guests([guest('web', dict(WEB_VIFS[1], devid=1))], {'web': WEB})
    assert entries(plan) == ['mac=02:00:0a:01:00:05,bridge=xenbr1,ip=10.0.1.5,vifname=web-1,devid=1']
    assert plan.steps() == ['remove vif 0', 'change vif 1']
    assert '# public' in plan.new_text and 'disk' in plan.new_text


def test_not_exclusive_keeps_unlisted_vifs():
    [plan] = plan_guests([guest('web', dict(bridge='xenbr2', devid=3))], {'web': WEB}, exclusive=False)
    assert entries(plan)[:2] == vif_entries(parse_config(WEB))
    assert entries(plan)[2] == 'mac=00:16:3e:%s,bridge=xenbr2,vifname=web-3,devid=3' % plan.vifs[2].after.mac[9:]


def test_auto_keeps_existing_values_and_explicit_keys_replace_the_entry():
    [plan] = plan_guests([guest('web', dict(bridge='xenbr0', ip=['10.0.0.5'], rate='10Mb/s'), WEB_VIFS[1])], {'web': WEB})
    assert entries(plan)[0] == 'mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0,rate=10Mb/s'
    assert plan.steps() == ['change vif 0']


def test_every_problem_of_every_guest_at_once():
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('web', dict(mac='02:00:00:00:00:01', vifname='wiki.xen.prgmr.com'), dict(mac='03:00:00:00:00:01')),
                     guest('db', dict(mac='02:00:00:00:00:01', ip=['10.9.0.1']))],
                    {'web': WEB, 'db': DB}, bridge_subnets={'xenbr0': '10.0.0.0/24'})
    found = problems(excinfo)
    assert "guest 'web' vif 0: vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15" in found
    assert any(line.startswith("guest 'web' vif 1: mac '03:00:00:00:00:01'") for line in found)
    assert "guest 'db' vif 0: mac '02:00:00:00:00:01' is taken: guest 'web' vif 0 already uses it" in found
    assert any(line.startswith("guest 'db' vif 0: ip '10.9.0.1' is outside") for line in found)


def test_values_held_by_unlisted_configs_are_taken():
    other = VifClaim(None, 'mail', 0, 'web-0', ('web-0',), '02:00:0a:00:00:07', ('10.0.0.7',), False)
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db', dict(ip=['10.0.0.7']), dict(vifname='web-0'))], {'db': DB}, other_claims=[other])
    assert problems(excinfo) == [
        "guest 'db' vif 0: mac '02:00:0a:00:00:07' is taken: guest 'mail' vif 0 already uses it",
        "guest 'db' vif 0: ip '10.0.0.7' is taken: guest 'mail' vif 0 already uses it",
        "guest 'db' vif 1: vifname 'web-0' is taken: guest 'mail' vif 0 already uses web-0"]


def test_an_auto_name_avoids_what_another_listed_guest_names_explicitly():
    plans = plan_guests([guest('db', dict(bridge='xenbr1')), guest('x', dict(bridge='xenbr1', vifname='db-0'))], {'db': DB, 'x': 'name="x"\n'})
    assert plans[0].vifs[0].after.vifname.startswith('db_') and plans[1].vifs[0].after.vifname == 'db-0'


@pytest.mark.parametrize('vif, field', [
    (dict(bridge='br0\nip link'), 'bridge'), (dict(bridge='a,b'), 'bridge'), (dict(script="vif-bridge;$(id)"), 'script'),
    (dict(vifname='../../x'), 'vifname'), (dict(ip=['10.0.0.1 10.0.0.2"']), 'ip'), (dict(backend='a b'), 'backend'),
])
def test_hostile_values_are_problems_not_files(vif, field):
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db', vif)], {'db': DB})
    assert any(problem.field == field for problem in excinfo.value.problems)


def test_bad_names_and_options_and_configs_are_listed_together():
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db'), guest('db'), guest('../x'), guest('web')], {'db': DB, 'web': 'name = "other"\n'},
                    mac_prefix='03:00', bridge_subnets={'xenbr0': 'nonsense'})
    found = problems(excinfo)
    assert found[:2] == ["mac_prefix '03:00' must be unicast and locally administered (second hex digit 2, 6, a or e)",
                         "bridge_subnets 'nonsense' of bridge xenbr0 is not a network in CIDR form such as 10.0.0.0/24"]
    assert "guest 'db': name 'db' is listed twice in guests" in found
    assert any(line.startswith("guest '../x': name '../x'") for line in found)
    assert any(line.startswith("guest 'web': name 'web' does not match its config") for line in found)


def test_a_config_that_cannot_be_parsed_is_a_problem_with_its_line():
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db')], {'db': 'name = "db"\nvif = [ "a" \n'})
    assert problems(excinfo)[0].startswith("guest 'db': config 'line 3, column 1' cannot be parsed")


def test_a_devid_listed_twice_is_refused():
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db', dict(devid=1), dict(devid=1))], {'db': DB})
    assert problems(excinfo) == ["guest 'db' vif 1: devid '1' is listed twice for this guest"]


def test_hvm_from_the_option_limits_names_to_11():
    with pytest.raises(VifValidationError) as excinfo:
        plan_guests([guest('db', dict(vifname='twelve-chars'), type='hvm')], {'db': DB})
    assert 'emulated NIC' in problems(excinfo)[0]


def test_three_hundred_guests_in_one_pass():
    guests = [guest('g%d' % number, dict(bridge='xenbr0', ip=['10.1.%d.%d' % (number // 250, number % 250 + 1)]), dict(bridge='xenbr1'))
              for number in range(300)]
    texts = dict(('g%d' % number, 'name = "g%d"\n' % number) for number in range(300))
    plans = plan_guests(guests, texts)
    again = plan_guests(guests, dict((plan.name, plan.new_text) for plan in plans))
    assert all(plan.changed for plan in plans) and not any(plan.changed for plan in again)
    assert len(set(vif.after.vifname for plan in plans for vif in plan.vifs)) == 600
