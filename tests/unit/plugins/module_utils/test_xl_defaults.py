# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_xl_defaults: only the vif.default.* keys change, every other byte stays, hostile values never reach the file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.xl import defaults
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError, parse_config
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile_values import HOSTILE_VALUES
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.module_testing import Exited, Failed, FakeModule, argument_spec_of

# Debian 12's /etc/xen/xl.conf, shortened: the commented-out examples the new lines go after.
DEBIAN_XL_CONF = '''## Global XL config file ##

# Control whether dom0 is ballooned down when xen doesn't have enough
# free memory to create a domain.  "auto" means only balloon if dom0
# starts with all the host's memory.
#autoballoon="auto"

# default vif script to use if none is specified in the guest config
#vif.default.script="vif-bridge"

# default bridge device to use with vif-bridge hotplug scripts
#vif.default.bridge="xenbr0"

# Reserve a claim of memory when launching a guest.
#claim_mode=1
'''
NONE = dict(vif_script=None, vif_bridge=None, vif_gatewaydev=None)


def plan(text, absent=(), **desired):
    return defaults.plan_defaults(text, dict(NONE, **desired), list(absent))


def test_new_keys_go_after_their_commented_examples_and_nothing_else_moves():
    before, after, text = plan(DEBIAN_XL_CONF, vif_script='vif-bridge', vif_bridge='xenbr1', vif_gatewaydev='eth0')
    assert before == NONE
    assert after == dict(vif_script='vif-bridge', vif_bridge='xenbr1', vif_gatewaydev='eth0')
    expected = DEBIAN_XL_CONF.replace('#vif.default.script="vif-bridge"\n',
                                      '#vif.default.script="vif-bridge"\nvif.default.script="vif-bridge"\n')
    expected = expected.replace('#vif.default.bridge="xenbr0"\n', '#vif.default.bridge="xenbr0"\nvif.default.bridge="xenbr1"\n')
    assert text == expected + 'vif.default.gatewaydev="eth0"\n'


def test_a_second_run_changes_nothing():
    _before, _after, text = plan(DEBIAN_XL_CONF, vif_script='vif-route', vif_gatewaydev='eth0')
    assert plan(text, vif_script='vif-route', vif_gatewaydev='eth0')[2] == text


def test_an_existing_value_is_replaced_in_place_keeping_its_quote_and_comment():
    text = "autoballoon='off' # keep\nvif.default.bridge = 'xenbr0'   # the guests' bridge\nclaim_mode=1\n"
    before, after, new = plan(text, vif_bridge='xenbr1')
    assert before['vif_bridge'] == 'xenbr0' and after['vif_bridge'] == 'xenbr1'
    assert new == "autoballoon='off' # keep\nvif.default.bridge = 'xenbr1'   # the guests' bridge\nclaim_mode=1\n"


def test_a_key_set_twice_ends_up_set_once_by_its_last_statement():
    text = 'vif.default.script="a"\nx=1\nvif.default.script="b"; y=2\nvif.default.script+="c"\n'
    before, after, new = plan(text, vif_script='vif-nat')
    assert before['vif_script'] == 'bc'
    assert after['vif_script'] == 'vif-nat'
    assert new == 'x=1\ny=2\nvif.default.script="vif-nat"\n'


def test_an_equal_value_spelt_with_plus_equals_is_left_alone():
    text = 'vif.default.script="vif-"\nvif.default.script+="bridge"\n'
    assert plan(text, vif_script='vif-bridge')[2] == text


def test_absent_removes_the_statement_its_line_and_nothing_more():
    text = '# head\nvif.default.bridge="xenbr0"  # old bridge\nvif.default.script="vif-bridge"\na=1; vif.default.gatewaydev="eth0"; b=2\n'
    before, after, new = plan(text, absent=['vif_bridge', 'vif_gatewaydev'])
    assert before == dict(vif_script='vif-bridge', vif_bridge='xenbr0', vif_gatewaydev='eth0')
    assert after == dict(NONE, vif_script='vif-bridge')
    assert new == '# head\nvif.default.script="vif-bridge"\na=1; b=2\n'


def test_absent_on_a_missing_key_changes_nothing():
    assert plan(DEBIAN_XL_CONF, absent=['vif_bridge'])[2] == DEBIAN_XL_CONF


def test_a_file_without_final_newline_or_examples_gets_the_key_at_the_end():
    assert plan('a=1', vif_bridge='xenbr0')[2] == 'a=1\nvif.default.bridge="xenbr0"\n'
    assert plan('', vif_bridge='xenbr0')[2] == 'vif.default.bridge="xenbr0"\n'


def test_a_commented_example_inside_a_list_is_not_an_insertion_point():
    text = 'x = [\n  # vif.default.bridge="no"\n  "a",\n]\n'
    new = plan(text, vif_bridge='xenbr0')[2]
    assert new == text + 'vif.default.bridge="xenbr0"\n'
    parse_config(new)


def test_a_number_or_list_value_is_replaced_by_a_string():
    new = plan('vif.default.bridge=[ "a" ]\n', vif_bridge='xenbr0')[2]
    assert new == 'vif.default.bridge="xenbr0"\n'


def test_a_broken_file_raises_with_line_and_column():
    with pytest.raises(XlConfigError) as error:
        plan('a=1\nvif.default.bridge=xenbr0\n', vif_bridge='xenbr1')
    assert error.value.line == 2


# 16 characters are too many for a device, not for a script (the script rule itself: test_validate.py).
@pytest.mark.parametrize('value', [value for value in HOSTILE_VALUES if value != 'b' * 16] + ['/etc/xen/../../bin/sh'])
def test_hostile_scripts_are_refused_naming_option_and_value(value):
    problems = defaults.option_problems(dict(NONE, path='/x', absent=[], vif_script=value))
    assert len(problems) == 1 and problems[0].startswith("vif_script '%s' " % value)


@pytest.mark.parametrize('value', HOSTILE_VALUES)
@pytest.mark.parametrize('option', ['vif_bridge', 'vif_gatewaydev'])
def test_hostile_device_names_are_refused(option, value):
    problems = defaults.option_problems(dict(NONE, path='/x', absent=[], **{option: value}))
    assert problems and all(problem.startswith("%s '%s' " % (option, value)) for problem in problems)


def test_an_option_both_set_and_absent_is_refused():
    problems = defaults.option_problems(dict(NONE, path='/x', absent=['vif_bridge'], vif_bridge='xenbr0'))
    assert problems == ["vif_bridge 'xenbr0' is also listed in absent; set a key or remove it, not both"]


# ---------------------------------------------------------------- the module's run

def run(tmp_path, check_mode=False, diff=False, **params):
    options = dict(NONE, path=str(tmp_path / 'xl.conf'), absent=[], backup=False)
    options.update(params)
    module = FakeModule(options, check_mode=check_mode, diff=diff, argument_spec=argument_spec_of('xen_xl_defaults'))
    with pytest.raises((Exited, Failed)) as outcome:
        defaults.run_xl_defaults_module(module)
    return outcome.value


def test_module_creates_a_missing_file_then_reports_no_change(tmp_path):
    first = run(tmp_path, vif_script='vif-route', vif_gatewaydev='eth0')
    assert isinstance(first, Exited) and first.result['changed']
    assert (tmp_path / 'xl.conf').read_text() == 'vif.default.script="vif-route"\nvif.default.gatewaydev="eth0"\n'
    again = run(tmp_path, vif_script='vif-route', vif_gatewaydev='eth0')
    assert not again.result['changed']
    assert again.result['defaults'] == dict(NONE, vif_script='vif-route', vif_gatewaydev='eth0')


def test_module_with_nothing_to_set_does_not_create_the_file(tmp_path):
    assert not run(tmp_path, absent=['vif_bridge']).result['changed']
    assert not (tmp_path / 'xl.conf').exists()


def test_check_mode_reports_the_change_and_diff_without_writing(tmp_path):
    conf = tmp_path / 'xl.conf'
    conf.write_text(DEBIAN_XL_CONF)
    outcome = run(tmp_path, check_mode=True, diff=True, vif_bridge='xenbr1')
    assert outcome.result['changed']
    assert outcome.result['diff']['before'] == DEBIAN_XL_CONF
    assert 'vif.default.bridge="xenbr1"\n' in outcome.result['diff']['after']
    assert conf.read_text() == DEBIAN_XL_CONF


def test_backup_keeps_the_old_file_and_bytes_outside_utf8_survive(tmp_path):
    conf = tmp_path / 'xl.conf'
    old = b'# caf\xe9 in latin-1\nvif.default.bridge="xenbr0"\n'
    conf.write_bytes(old)
    os.chmod(str(conf), 0o600)
    outcome = run(tmp_path, vif_bridge='xenbr1', backup=True)
    assert conf.read_bytes() == b'# caf\xe9 in latin-1\nvif.default.bridge="xenbr1"\n'
    assert oct(os.stat(str(conf)).st_mode & 0o777) == oct(0o600)
    with open(outcome.result['backup_file'], 'rb') as handle:
        assert handle.read() == old


@pytest.mark.parametrize('option', ['vif_script', 'vif_bridge', 'vif_gatewaydev'])
@pytest.mark.parametrize('value', ['x;reboot', 'br$(id)', 'x"y', "x\ny", 'x\0y', 'x y', '../x'])
def test_module_refuses_hostile_values_and_leaves_the_file_byte_identical(tmp_path, option, value):
    conf = tmp_path / 'xl.conf'
    conf.write_text(DEBIAN_XL_CONF)
    outcome = run(tmp_path, **{option: value})
    assert isinstance(outcome, Failed)
    assert "%s '%s'" % (option, value) in outcome.result['msg']
    assert conf.read_text() == DEBIAN_XL_CONF
    assert sorted(os.listdir(str(tmp_path))) == ['xl.conf']


@pytest.mark.parametrize('name', ['x\ny', 'x\ry', 'x\0y'])
def test_module_refuses_a_path_with_a_control_character(tmp_path, name):
    outcome = run(tmp_path, path=str(tmp_path / name), vif_bridge='xenbr0')
    assert isinstance(outcome, Failed) and "path '%s'" % (tmp_path / name) in outcome.result['msg']
    assert os.listdir(str(tmp_path)) == []


def test_module_refuses_an_unparsable_file_naming_line_and_column(tmp_path):
    conf = tmp_path / 'xl.conf'
    conf.write_bytes(b'a=1\r\n')
    outcome = run(tmp_path, vif_bridge='xenbr0')
    assert isinstance(outcome, Failed) and outcome.result['line'] == 1 and outcome.result['column'] == 4
    assert conf.read_bytes() == b'a=1\r\n'


def test_module_refuses_a_directory_as_path(tmp_path):
    outcome = run(tmp_path, path=str(tmp_path), vif_bridge='xenbr0')
    assert isinstance(outcome, Failed) and 'is a directory' in outcome.result['msg']
