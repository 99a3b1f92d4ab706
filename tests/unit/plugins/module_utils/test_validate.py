# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import netaddr
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    IFNAME_MAX,
    Claims,
    address_key,
    ethertype_problems,
    link_local,
    mac_problems,
    mac_rules,
    parse_ethertype,
    parse_interface,
    parse_mac,
    guest_name_problems,
    guest_name_rules,
    interface_name_problems,
    interface_name_rules,
    interface_pattern_problems,
    is_interface_name,
    is_unicast_mac,
    InvalidSpec,
    SCRIPT_RULE,
    checked_options,
    file_pattern_problems,
    path_option_problems,
    path_problems,
    path_rules,
    script_problems,
    script_rules,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import spec_problems
from ansible_collections.xenfleet.network.plugins.module_utils.xl.defaults import option_problems
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import VifSpec
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile_values import HOSTILE_VALUES
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.module_testing import Failed, FakeModule, argument_spec_of


@pytest.mark.parametrize('name', ['xenbr0', 'eth0.100', 'vif1.0', 'web_0-emu', 'a', 'b' * IFNAME_MAX, 'A.B-c_9'])
def test_usual_device_names_are_accepted(name):
    assert is_interface_name(name)
    assert interface_name_rules(name) == []
    assert interface_name_problems('name', name) == []


@pytest.mark.parametrize('name', HOSTILE_NAMES)
def test_hostile_device_names_are_refused_naming_field_and_value(name):
    assert not is_interface_name(name)
    problems = interface_name_problems('uplink', name)
    assert problems
    assert all(problem.startswith("uplink '%s' " % name) for problem in problems)


@pytest.mark.parametrize('name, rules', [
    ('b' * 16, ['is 16 characters; Linux allows 15']),
    ('é' * 8, ["is 16 bytes; Linux allows 15",
               "holds 'é'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('brücke', ["holds 'ü'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('Nx;reboot', ["holds ';'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('br$(id)', ["holds '$', '(', ')'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('x\0y', ["holds '\\x00'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('x\ny', ["holds '\\n'; an interface name may hold only letters, digits, '.', '-' and '_'"]),
    ('.', ['is reserved by Linux']),
    ('..', ['is reserved by Linux']),
    ('', ['is empty; an interface name needs 1 to 15 characters']),
    (None, ['is not a string']),
])
def test_each_broken_rule_is_worded(name, rules):
    assert interface_name_rules(name) == rules


def test_a_caller_with_a_tighter_limit_words_the_length_itself():
    assert interface_name_rules('b' * 16, check_length=False) == []


def test_a_pattern_may_end_in_one_wildcard():
    assert interface_pattern_problems('vif_patterns', 'vif*') == []
    assert interface_pattern_problems('vif_patterns', 'vif1.0') == []
    assert interface_pattern_problems('vif_patterns', '*') == [
        "vif_patterns '*' would match every port; name at least one leading character"]
    assert interface_pattern_problems('trusted_ports', 'x;y*') == [
        "trusted_ports 'x;y*' holds ';'; an interface name may hold only letters, digits, '.', '-' and '_'"]
    assert interface_pattern_problems('trusted_ports', 'v*f*')


@pytest.mark.parametrize('name', ['web', 'wiki.xen.prgmr.com', 'db-01', 'Win_2019', '7days', 'x' * 64])
def test_usual_guest_names_are_accepted(name):
    assert guest_name_rules(name) == []


@pytest.mark.parametrize('name', ['../../etc/x', '/', 'a/b', '.hidden', '..', '-rf', '42', 'x' * 65, 'web;id', 'web\n', 'gäst', ''])
def test_guest_names_that_leave_the_config_dir_or_confuse_xl_are_refused(name):
    problems = guest_name_problems('domain', name)
    assert problems
    assert all(problem.startswith("domain '%s' " % name) for problem in problems)


def test_guest_name_rules_are_worded():
    assert guest_name_rules('../../etc/x') == [
        "holds '/'; a guest name may hold only letters, digits, '.', '-' and '_'",
        "starts with '.'; a guest name starts with a letter or digit"]
    assert guest_name_rules('42') == ['is only digits, which xl reads as a domain id']


# ---------------------------------------------------------------- MAC

@pytest.mark.parametrize('text, canonical', [
    ('02:00:0a:00:00:05', '02:00:0a:00:00:05'),
    ('00:16:3E:0A:00:05', '00:16:3e:0a:00:05'),
])
def test_options_take_six_two_digit_octets_in_either_case(text, canonical):
    assert parse_mac(text) == canonical


@pytest.mark.parametrize('text', ['0:16:3e:a:0:5', '00-16-3e-0a-00-05', ' 00:16:3e:0a:00:05', '02:00:0a:00:00:05\n',
                                  '0200.0a00.0005', '02000a000005', '02:00:0a:00:00', '02:00:0a:00:00:05:06', 'zz:00:0a:00:00:05', '', None])
def test_options_refuse_other_spellings(text):
    assert parse_mac(text) is None
    assert mac_rules(text) == ['is not six octets of two hex digits, such as 02:00:0a:00:00:05']


@pytest.mark.parametrize('text, canonical', [
    ('0:16:3E:a:0:5 ', '00:16:3e:0a:00:05'),
    ('00-16-3e-0a-00-05', '00:16:3e:0a:00:05'),
    ('0-16:3e-a:0-5', '00:16:3e:0a:00:05'),
])
def test_config_files_are_read_as_xl_reads_them(text, canonical):
    assert parse_mac(text, xl_spelling=True) == canonical


@pytest.mark.parametrize('text', ['0200.0a00.0005', '02000a000005', '000:16:3e:0a:00:05', '02:00:0a:00:00'])
def test_xl_spelling_is_no_wider_than_xl(text):
    assert parse_mac(text, xl_spelling=True) is None


OCTETS = st.lists(st.integers(0, 255), min_size=6, max_size=6)


@given(OCTETS, st.sampled_from(['%02x', '%02X', '%x', '%X']), st.sampled_from([':', '-']))
def test_every_spelling_taken_means_what_netaddr_eui_reads(octets, octet_format, separator):
    text = separator.join(octet_format % octet for octet in octets)
    mac = parse_mac(text, xl_spelling=True)
    assert mac is not None
    assert int(netaddr.EUI(mac)) == int(netaddr.EUI(':'.join('%02x' % octet for octet in octets)))
    if octet_format == '%02x' and separator == ':':
        assert parse_mac(text) == text == str(netaddr.EUI(text, dialect=netaddr.mac_unix_expanded))


@pytest.mark.parametrize('mac, holder, xen_or_local, rules', [
    ('03:00:00:00:00:01', 'a guest', False, ['is a multicast address (odd first octet); a guest needs a unicast one']),
    ('ff:ff:ff:ff:ff:ff', 'a bridge', False, ['is a multicast address (odd first octet); a bridge needs a unicast one']),
    ('00:00:00:00:00:00', 'a vif', False, ['is all zeros']),
    ('00:11:22:33:44:55', 'a vif', False, []),
    ('00:11:22:33:44:55', 'a vif', True, ["is neither in Xen's 00:16:3e block nor locally administered (second hex digit 2, 6, a or e)"]),
    ('00:16:3e:33:44:55', 'a vif', True, []),
    ('06:11:22:33:44:55', 'a vif', True, []),
])
def test_mac_rules(mac, holder, xen_or_local, rules):
    assert mac_rules(mac, holder, xen_or_local) == rules
    assert mac_problems('mac', mac, holder, xen_or_local) == ["mac '%s' %s" % (mac, rule) for rule in rules]


@given(OCTETS)
def test_the_link_local_address_is_netaddrs_eui64_and_spelled_as_ipaddress_spells_it(octets):
    mac = ':'.join('%02x' % octet for octet in octets)
    number, text = link_local(mac)
    assert number == int(netaddr.EUI(mac).ipv6_link_local())
    assert text == str(ipaddress.IPv6Address(number))


# ---------------------------------------------------------------- ethertypes and addresses

def test_ethertypes_by_name_alias_or_number():
    assert [parse_ethertype(text) for text in ('ipv4', 'IP', 'ip6', '8021q', 'vlan', '0x88B5', '0x0601')] == [
        0x0800, 0x0800, 0x86dd, 0x8100, 0x8100, 0x88b5, 0x0601]
    assert [parse_ethertype(text) for text in ('appletalk', '0x0600', '0x10000', '0xzz', '2048')] == [None] * 5
    assert ethertype_problems('ethertypes', 'appletalk') == [
        "ethertypes 'appletalk' is not an ethertype: use one of 8021ad, arp, ipv4, ipv6, lldp, vlan or a hex number from 0x0601 to 0xffff"]


def test_an_address_entry_claims_its_address_with_or_without_prefix():
    assert address_key('10.0.0.5/24') == address_key('10.0.0.5') == address_key('10.0.0.5/255.255.255.0') == '10.0.0.5'
    assert address_key('2001:DB8:0::1/64') == '2001:db8::1'
    assert address_key('10.0.0.5/33') == '10.0.0.5/33'
    assert address_key('fe80::1%eth0') == 'fe80::1%eth0'
    assert address_key('web') == 'web'
    assert parse_interface('fe80::1%eth0') is None


# ---------------------------------------------------------------- duplicates

def test_claims_name_every_earlier_holder_and_keep_kinds_apart():
    held = Claims()
    assert held.claim('web', 'mac', '02:00:0a:00:00:05') == []
    assert held.claim('db', 'ip', '02:00:0a:00:00:05') == []
    assert held.claim('db', 'mac', '02:00:0a:00:00:05') == ['web']
    assert held.claim('mail', 'mac', '02:00:0a:00:00:05') == ['web', 'db']
    assert held.duplicates() == [('mac', '02:00:0a:00:00:05', ['web', 'db', 'mail'])]
    assert held.duplicates('ip') == []


@given(st.one_of(OCTETS.map(lambda octets: ':'.join('%02x' % octet for octet in octets)),
                 st.text(alphabet='0123456789abcdefABCDEF:-x ', max_size=20)))
def test_the_quick_mac_check_agrees_with_the_rules(text):
    assert is_unicast_mac(text) == (mac_rules(text) == [])


# ---------------------------------------------------------------- paths

MODULES = ('xen_antispoof', 'xen_bridge', 'xen_dom0_info', 'xen_guest_vifs', 'xen_nat', 'xen_route', 'xen_vif',
           'xen_vif_info', 'xen_xl_defaults')
HOSTILE_PATHS = ['/etc/x\ny', '/etc/x\ry', '/etc/x\0y', '/etc/x\ty', '/etc/x\x7fy', '/etc/x\x1by', 'x/y', '../etc/x', 'etc', '~x']


@pytest.mark.parametrize('path', ['/etc/xen', '/etc/xen/web.cfg', '/var/lib/x y/#z', "/tmp/it's", '/tmp/brücke', '/', ''])
def test_absolute_paths_without_control_characters_are_taken(path):
    # White space, quotes, '#' and non-ASCII are file names like any other: each writer quotes them for its format.
    assert path_rules(path) == []
    assert path_problems('config_dir', path) == []


@pytest.mark.parametrize('path', HOSTILE_PATHS)
def test_hostile_paths_are_refused_naming_option_and_value(path):
    problems = path_problems('persist_path', path)
    assert len(problems) == 1 and problems[0].startswith("persist_path '%s' " % path)


def test_path_rules_are_worded():
    assert path_rules('/etc/x\ny') == ["holds the control character '\\n'; a path may not"]
    assert path_rules('x\0\ry') == ["holds the control characters '\\x00', '\\r'; a path may not",
                                    'is not an absolute path; a relative one would depend on where Ansible runs the module']
    assert path_rules(5) == ['is not a string']


def test_every_path_option_of_every_module_is_checked_in_suboptions_too():
    spec = dict(
        config_dir=dict(type='path'), name=dict(type='str'),
        guests=dict(type='list', elements='dict', options=dict(name=dict(type='str'), config=dict(type='path'))),
        dhcp=dict(type='dict', options=dict(hosts_file=dict(type='path'))),
    )
    params = dict(config_dir='x', name='x\ny', guests=[dict(name='a', config='/ok'), dict(name='b', config='/x\0')],
                  dhcp=dict(hosts_file='rel'))
    problems = path_option_problems(spec, params)
    assert [problem.split(' ')[0] for problem in problems] == ['config_dir', 'guests[1].config', 'dhcp.hosts_file']
    assert path_option_problems(spec, dict(config_dir=None, guests=None, dhcp=None)) == []


@pytest.mark.parametrize('module', MODULES)
def test_each_modules_own_path_options_are_found(module):
    # The modules' real argument specs: every option of type path, wherever it sits, gets the rule.
    spec = argument_spec_of(module)
    paths = list(_path_options(spec))
    assert paths, module  # every module takes at least one path
    for field, params in paths:
        problems = path_option_problems(spec, params)
        assert problems == ["%s '/x\ny' holds the control character '\\n'; a path may not" % field], (module, field)


def _path_options(spec, prefix='', outer=None):
    """(field, params that put '/x\\ny' in it) for each path option of spec."""
    for name, option in spec.items():
        if option.get('type') == 'path':
            yield prefix + name, _nested(outer, {name: '/x\ny'})
        elif option.get('options'):
            as_list = option.get('type') == 'list'
            yield from _path_options(option['options'], '%s%s%s.' % (prefix, name, '[0]' if as_list else ''),
                                     (outer or []) + [(name, as_list)])


def _nested(outer, params):
    """params put inside the options outer names ((name, is a list) from the top), each as a dict or a one-item list."""
    for name, as_list in reversed(outer or []):
        params = {name: [params] if as_list else params}
    return params


def test_checked_options_fails_with_every_problem_before_the_spec_is_used():
    class Spec:
        def __init__(self, params):
            raise InvalidSpec(["name '%s' is wrong" % params['name']])

    module = FakeModule(dict(name='x;y', config_dir='rel'), argument_spec=dict(name=dict(), config_dir=dict(type='path')))
    with pytest.raises(Failed) as failed:
        checked_options(module, Spec, problems=['extra'])
    assert failed.value.result['problems'] == [
        "config_dir 'rel' is not an absolute path; a relative one would depend on where Ansible runs the module",
        'extra', "name 'x;y' is wrong"]
    assert failed.value.result['msg'].startswith('Invalid options: ') and failed.value.result['changed'] is False
    fine = FakeModule(dict(config_dir='/etc'), argument_spec=dict(config_dir=dict(type='path')))
    assert checked_options(fine, lambda params: 'spec') == 'spec'


def test_checked_options_names_a_problem_once_when_the_spec_applies_the_path_rule_too():
    class Spec:  # as route/spec.py does for sysctl_path, so that it stands alone
        def __init__(self, params):
            raise InvalidSpec(path_problems('sysctl_path', params['sysctl_path']) + ['another'])

    module = FakeModule(dict(sysctl_path='x\n.conf'), argument_spec=dict(sysctl_path=dict(type='path')))
    with pytest.raises(Failed) as failed:
        checked_options(module, Spec)
    found = failed.value.result['problems']
    assert found == path_problems('sysctl_path', 'x\n.conf') + ['another'] and len(found) == 3


@pytest.mark.parametrize('pattern', ['*.cfg', 'web-?.cfg', '[a-z]*', 'x y;$(id)'])
def test_file_name_patterns_are_taken(pattern):
    assert file_pattern_problems('pattern', pattern) == []


@pytest.mark.parametrize('pattern', ['../*', '/etc/*', '*/x.cfg', 'x\ny', 'x\0y', ''])
def test_patterns_that_leave_the_directory_or_hold_control_characters_are_refused(pattern):
    problems = file_pattern_problems('pattern', pattern)
    assert len(problems) == 1 and problems[0].startswith("pattern '%s' " % pattern)


# ---------------------------------------------------------------- hotplug scripts

@pytest.mark.parametrize('script', ['vif-bridge', 'vif_route.sh', '/etc/xen/scripts/vif-route', '/usr/lib/xen-4.17/bin/x',
                                    'b' * 16, 'x' * 64, '_x', '9', '/a..b'])
def test_script_names_and_absolute_paths_are_taken(script):
    assert script_rules(script) == []
    assert script_problems('script', script) == []


# What xl would take (it splits a vif spec only at ','), and this rule does not: parts that leave the scripts
# directory or read as options, relative paths, and whatever a shell or a vif spec reads specially.
HOSTILE_SCRIPTS = [name for name in HOSTILE_VALUES if name != 'b' * 16] + [
    '../vif-bridge', '/etc/xen/../../bin/sh', '/etc/xen/scripts/..', '/./x', 'vif-bridge/', '//x', '/', '-x', '/etc/-x',
    '.hidden', 'x' * 65, '/etc/' + 'x' * 65, 'relative/path', 'x=y', 'vif bridge', 'x\n', '\0']


@pytest.mark.parametrize('script', HOSTILE_SCRIPTS)
def test_hostile_scripts_are_refused_naming_field_and_value(script):
    assert script_problems('vif_script', script) == ["vif_script '%s' %s" % (script, SCRIPT_RULE)]
    assert script_rules(None) == ['is not a string']


@pytest.mark.parametrize('script', HOSTILE_SCRIPTS + ['vif-bridge', '/etc/xen/scripts/vif-route', 'b' * 16])
def test_xen_vif_and_xen_xl_defaults_take_and_refuse_the_same_scripts(script):
    # One rule: the vif's script field (xen_vif, xen_guest_vifs) and xl.conf's vif.default.script.
    expected = [SCRIPT_RULE] if script_rules(script) else []
    assert [problem.split("' ", 1)[1] for problem in option_problems(
        dict(path='/x', absent=[], vif_script=script, vif_bridge=None, vif_gatewaydev=None))] == expected
    try:
        spec = VifSpec(bridge='xenbr0', script=script)
    except ValueError as error:  # a ',' splits a vif spec: refused before any rule is asked
        assert ',' in script and "vif field 'script'" in str(error)
        return
    assert [(problem.field, problem.rule) for problem in spec_problems('web', 0, spec)] == [('script', rule) for rule in expected]
