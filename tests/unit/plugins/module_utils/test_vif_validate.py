# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import VifClaim
from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import VifSpec, parse_vif
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import (
    VifProblem,
    VifValidationError,
    duplicate_problems,
    has_emulated_nic,
    ip_rules,
    mac_rules,
    raise_for,
    spec_problems,
    vifname_rules,
)


def messages(problems):
    return [str(problem) for problem in problems]


def test_the_issue_example_message():
    problems = spec_problems('web', None, VifSpec(vifname='wiki.xen.prgmr.com'))
    assert messages(problems) == ["guest 'web': vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15"]


def test_a_problem_names_the_vif_when_its_devid_is_known():
    assert str(VifProblem('web', 1, 'mac', 'x', 'is bad')) == "guest 'web' vif 1: mac 'x' is bad"


@pytest.mark.parametrize('vifname', ['web0', 'web-0', 'a', 'fw.lan_2', 'x' * 15])
def test_good_vifnames(vifname):
    assert vifname_rules(vifname) == []


@pytest.mark.parametrize('vifname, rule', [
    ('x' * 16, 'is 16 characters; Linux allows 15'),
    ('', 'is empty'),
    ('web 0', "holds ' '; an interface name may hold only letters, digits"),
    ('web/0', "holds '/'"),
    ('web:0', "holds ':'"),
    ('..', 'is reserved by Linux'),
    ('vif3.0', "has the form of xl's default names"),
    ('tap12.1', "has the form of xl's default names"),
])
def test_bad_vifnames(vifname, rule):
    assert any(rule in found for found in vifname_rules(vifname))


def test_an_emulated_nic_leaves_11_characters():
    assert vifname_rules('x' * 11, emulated=True) == []
    assert vifname_rules('x' * 12, emulated=True) == ["is 12 characters; its emulated NIC adds '-emu', so 11 fit in Linux's 15"]


@pytest.mark.parametrize('spec, hvm, emulated', [
    (VifSpec(), False, False),
    (VifSpec(type='ioemu'), False, True),
    (VifSpec(), True, True),
    (VifSpec(type='ioemu'), True, True),
    (VifSpec(type='vif'), True, False),
])
def test_which_vifs_have_an_emulated_nic(spec, hvm, emulated):
    assert has_emulated_nic(spec, hvm) is emulated


def test_hvm_guests_get_the_short_limit_from_spec_problems():
    problems = spec_problems('win', 0, VifSpec(vifname='windows-srv0'), hvm=True)
    assert messages(problems) == ["guest 'win' vif 0: vifname 'windows-srv0' is 12 characters; its emulated NIC adds '-emu', so 11 fit in Linux's 15"]
    assert spec_problems('win', 0, VifSpec(vifname='windows-srv0', type='vif'), hvm=True) == []


@pytest.mark.parametrize('mac', ['00:16:3e:0a:00:05', '02:00:0a:00:00:05', '06:00:00:00:00:01', '0a:12:34:56:78:9a', 'fe:ff:ff:ff:ff:ff'])
def test_good_macs(mac):
    assert mac_rules(mac) == []


@pytest.mark.parametrize('mac, rule', [
    ('00:16:3e:0a:00', 'is not six octets'),
    ('00:16:3e:0a:00:zz', 'is not six octets'),
    ('01:00:5e:00:00:01', 'is a multicast address'),
    ('ff:ff:ff:ff:ff:ff', 'is a multicast address'),
    ('00:00:00:00:00:00', 'is all zeros'),
    ('00:11:22:33:44:55', "is neither in Xen's 00:16:3e block nor locally administered"),
    ('04:00:00:00:00:01', "is neither in Xen's 00:16:3e block nor locally administered"),
])
def test_bad_macs(mac, rule):
    assert any(rule in found for found in mac_rules(mac))


def test_a_mac_written_in_capitals_is_checked_in_canonical_form():
    assert spec_problems('web', 0, parse_vif('mac=00:16:3E:0A:00:05')) == []


@pytest.mark.parametrize('entry', ['10.0.0.5', '10.0.0.5/24', '10.0.0.0/8', '2001:db8::5', '2001:db8::/64'])
def test_good_ip_entries(entry):
    assert ip_rules(entry) == []


@pytest.mark.parametrize('entry', ['10.0.0', '10.0.0.256', '1.2.3.4/33', 'web', 'fe80::1%eth0', '010.0.0.1'])
def test_bad_ip_entries(entry):
    assert ip_rules(entry) == ['is not an IPv4 or IPv6 address or CIDR']


def test_ip_entries_must_lie_in_the_bridge_subnet_of_their_family():
    assert ip_rules('10.0.0.5', ['10.0.0.0/24']) == []
    assert ip_rules('10.0.0.0/25', ['10.0.0.0/24']) == []
    assert ip_rules('10.0.1.5', ['10.0.0.0/24']) == ["is outside the bridge's subnet 10.0.0.0/24"]
    assert ip_rules('10.0.0.0/23', ['10.0.0.0/24']) == ["is outside the bridge's subnet 10.0.0.0/24"]
    assert ip_rules('2001:db8::5', ['10.0.0.0/24']) == []
    assert ip_rules('2001:db8:1::5', ['10.0.0.0/24', '2001:db8::/64']) == ["is outside the bridge's subnet 2001:db8::/64"]


def test_other_fields_are_checked_too():
    problems = spec_problems('web', 0, VifSpec(type='e1000', mtu='20', devid='x'))
    assert messages(problems) == [
        "guest 'web' vif 0: type 'e1000' is not one of vif, ioemu",
        "guest 'web' vif 0: mtu '20' is not a whole number from 68 to 65535",
        "guest 'web' vif 0: devid 'x' is not a whole number of 0 or more",
    ]


def test_every_problem_of_a_vif_is_reported_at_once():
    spec = VifSpec(vifname='x' * 20, mac='01:00:00:00:00:01', ip=('10.0.0', '10.0.9.1'))
    problems = spec_problems('web', 0, spec, subnets=['10.0.0.0/24'])
    assert [problem.field for problem in problems] == ['vifname', 'mac', 'ip', 'ip']
    with pytest.raises(VifValidationError) as raised:
        raise_for(problems)
    assert str(raised.value).count('\n') == 3


def test_raise_for_is_silent_without_problems():
    raise_for([])


def claim(guest, devid, vifname=None, mac=None, ips=(), emulated=False):
    names = () if vifname is None else ((vifname, vifname + '-emu') if emulated else (vifname,))
    return VifClaim('dom0', guest, devid, vifname, names, mac, tuple(ips), emulated)


def test_duplicates_on_the_dom0_name_the_other_guest():
    spec = VifSpec(vifname='web0', mac='02:00:0a:00:00:05', ip=('10.0.0.5/24',))
    others = [claim('db', 1, vifname='web0', mac='02:00:0a:00:00:05', ips=['10.0.0.5'])]
    assert messages(duplicate_problems('web', 0, spec, False, others)) == [
        "guest 'web' vif 0: vifname 'web0' is taken: guest 'db' vif 1 already uses web0",
        "guest 'web' vif 0: mac '02:00:0a:00:00:05' is taken: guest 'db' vif 1 already uses it",
        "guest 'web' vif 0: ip '10.0.0.5' is taken: guest 'db' vif 1 already uses it",
    ]


def test_an_emu_tap_name_collides_with_a_vif_of_that_name():
    spec = VifSpec(vifname='web')
    others = [claim('other', 0, vifname='web-emu')]
    assert messages(duplicate_problems('hvmguest', 0, spec, True, others)) == [
        "guest 'hvmguest' vif 0: vifname 'web' is taken: guest 'other' vif 0 already uses web-emu"]
    assert duplicate_problems('pvguest', 0, spec, False, others) == []


def test_no_duplicates_no_problems():
    spec = VifSpec(vifname='web0', mac='02:00:0a:00:00:05', ip=('10.0.0.5',))
    assert duplicate_problems('web', 0, spec, False, [claim('db', 0, vifname='db0', mac='02:00:0a:00:00:06', ips=['10.0.0.6'])]) == []


@pytest.mark.parametrize('field', ['vifname', 'bridge', 'gatewaydev'])
@pytest.mark.parametrize('value', [name for name in HOSTILE_NAMES if ',' not in name])
def test_every_device_name_key_refuses_hostile_names(field, value):
    found = messages(spec_problems('web', 1, VifSpec(**{field: value})))
    assert any(problem.startswith("guest 'web' vif 1: %s '%s' " % (field, value)) for problem in found), found


@pytest.mark.parametrize('domain', ['../../etc/x', '/', 'web/../db', '.web', '0'])
def test_a_domain_that_would_leave_the_config_dir_is_refused_before_planning(domain):
    with pytest.raises(VifValidationError, match="domain '%s' " % domain.replace('.', r'\.')):
        plan_vif_change("name = 'web'\nvif = []\n", guest=domain, devid=0, desired={'bridge': 'xenbr0'})


@pytest.mark.parametrize('subnets', ['10.0.0.0/33', 'web', ['10.0.0.0/16', '10.0.0.0/8/8']])
def test_a_malformed_bridge_subnet_is_an_error_not_a_check_left_out(subnets):
    with pytest.raises(VifValidationError, match="bridge_subnets '[^']*' of bridge xenbr0 is not a network in CIDR form"):
        plan_vif_change("name = 'web'\nvif = []\n", guest='web', devid=0, desired={'bridge': 'xenbr0', 'ip': ['10.0.0.5']},
                        bridge_subnets={'xenbr0': subnets})


@pytest.mark.parametrize('value', [name for name in HOSTILE_NAMES if name and ',' not in name])
def test_claims_a_task_passes_and_the_backend_follow_the_same_rules(value):
    claims = [{'guest': value, 'devid': 0}, {'guest': 'db', 'devid': 0, 'vifname': value}]
    with pytest.raises(VifValidationError) as raised:
        plan_vif_change("name = 'web'\nvif = []\n", guest='web', devid=0, desired={'bridge': 'xenbr0', 'backend': value},
                        dom0_claims=claims)
    found = str(raised.value)
    expected = ['claims[1].vifname'] if value != 'vif*' else []
    if value != 'b' * 16:  # a guest name may be longer than an interface name
        expected += ['backend', 'claims[0].guest']
    for field in expected:
        assert "%s '%s' " % (field, value) in found, found


@pytest.mark.parametrize('field, good, bad', [
    ('rate', ['10Mb/s', '1MB/s@20ms', '100000B/s@1s', '5/s'], ['x;reboot', '10Mb', '10Mb/s@', 'fast']),
    ('model', ['e1000', 'rtl8139', 'virtio-net-pci'], ['x;reboot', 'e1000 x', '']),
    ('script', ['vif-bridge', '/etc/xen/scripts/vif-route'], ['x;reboot', 'vif-bridge $(id)', 'a\\b', 'vif bridge']),
])
def test_rate_model_and_script_take_only_their_documented_forms(field, good, bad):
    for value in good:
        assert spec_problems('web', 1, VifSpec(**{field: value})) == []
    for value in bad:
        assert messages(spec_problems('web', 1, VifSpec(**{field: value})))[0].startswith("guest 'web' vif 1: %s '%s' is not " % (field, value))


@pytest.mark.parametrize('request_args, message', [
    ({'match': {'mac': 'x;reboot'}}, "guest 'web': match.mac 'x;reboot' is not six octets"),
    ({'match': {'vifname': 'x y'}}, "guest 'web': match.vifname 'x y' holds ' '"),
    ({'devid': 0, 'mac_prefix': 'x;reboot'}, "guest 'web': mac_prefix 'x;reboot' must be two octets such as 02:00"),
    ({'devid': 0, 'mac_prefix': '01:00'}, "guest 'web': mac_prefix '01:00' must be unicast and locally administered"),
])
def test_what_selects_the_vif_and_the_mac_prefix_are_checked_even_when_unused(request_args, message):
    with pytest.raises(VifValidationError, match=message.replace('.', r'\.')):
        plan_vif_change("name = 'web'\nvif = [ 'mac=02:00:0a:00:00:05' ]\n", guest='web', desired={'bridge': 'xenbr0'}, **request_args)
