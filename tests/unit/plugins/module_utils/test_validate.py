# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    IFNAME_MAX,
    guest_name_problems,
    guest_name_rules,
    interface_name_problems,
    interface_name_rules,
    interface_pattern_problems,
    is_interface_name,
)
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES


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
