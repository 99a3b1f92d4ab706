# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex
import shutil
import subprocess

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.connectivity import Unreachable, make_ping_checker
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.ifupdown import (
    BRIDGE_PORTS_KEYWORDS, STANZA_WORD, StanzaValueError, command, render_bridge_stanza)
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile_values import HOSTILE_VALUES
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, Address, Route

OPTIONS = {'stp': 0, 'forward_delay': 0, 'nf_call_iptables': 0}


def test_static_stanza_carries_addresses_gateway_and_extra_routes():
    text = render_bridge_stanza('xenbr0', OPTIONS, '02:00:00:00:00:10', None, ['eth0'],
                                [Address(AF_INET, '192.0.2.10', 24, True), Address(AF_INET, '192.0.2.11', 24, True),
                                 Address(AF_INET6, '2001:db8:1::10', 64, True)],
                                [Route(AF_INET, '0.0.0.0/0', '192.0.2.1', 0, 254, 4, 0, None),
                                 Route(AF_INET, '10.9.0.0/16', '192.0.2.1', 7, 254, 4, 0, None),
                                 Route(AF_INET6, '::/0', '2001:db8:1::1', 1024, 254, 3, 0, None)])
    assert 'iface xenbr0 inet static\n' in text
    assert '    bridge_ports eth0\n' in text and '    bridge_hw 02:00:00:00:00:10\n' in text
    # a port takes no SLAAC address of its own from a router advertisement before it is enslaved
    assert '    pre-up sysctl -q -w net/ipv6/conf/eth0/accept_ra=0\n' in text
    assert '    address 192.0.2.10/24\n    up ip addr add 192.0.2.11/24 dev xenbr0\n    gateway 192.0.2.1\n' in text
    assert '    up ip route replace 10.9.0.0/16 via 192.0.2.1 dev xenbr0 metric 7\n' in text
    assert 'iface xenbr0 inet6 static\n    dad-attempts 0\n    address 2001:db8:1::10/64\n    gateway 2001:db8:1::1\n' in text


def test_dynamic_address_becomes_dhcp():
    text = render_bridge_stanza('xenbr0', OPTIONS, None, None, ['eth0'], [Address(AF_INET, '192.0.2.50', 24, False)], [])
    assert 'iface xenbr0 inet dhcp\n' in text


def test_slaac_address_is_left_to_the_kernel_and_a_static_one_kept():
    text = render_bridge_stanza('xenbr0', OPTIONS, None, None, ['eth0'],
                                [Address(AF_INET, '192.0.2.10', 24, True), Address(AF_INET6, 'fec0::1', 64, False),
                                 Address(AF_INET6, '2001:db8:1::10', 64, True)], [])
    assert 'iface xenbr0 inet6 static\n    dad-attempts 0\n    address 2001:db8:1::10/64\n' in text
    assert 'fec0::1' not in text and 'inet6 auto' not in text


def test_guest_only_bridge_without_addresses_is_manual_and_brought_up():
    text = render_bridge_stanza('xenbr1', OPTIONS, None, 9000, [], [], [])
    assert 'iface xenbr1 inet manual\n' in text and 'bridge_ports none' in text
    assert '    mtu 9000\n' in text and '    up ip link set dev xenbr1 up\n' in text


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_checker_waits_for_late_answers():
    clock = FakeClock()
    answers = {'192.0.2.1': [1, 1, 0]}
    checker = make_ping_checker(lambda argv: (answers[argv[-1]].pop(0), '', ''), clock=clock, sleep=clock.sleep)
    checker(['192.0.2.1'], 5)
    assert answers['192.0.2.1'] == []


def test_checker_names_the_silent_targets():
    clock = FakeClock()
    checker = make_ping_checker(lambda argv: (0 if argv[-1] == '192.0.2.1' else 1, '', ''), clock=clock, sleep=clock.sleep)
    with pytest.raises(Unreachable) as raised:
        checker(['192.0.2.1', '192.0.2.99'], 1)
    assert str(raised.value) == '192.0.2.99 did not answer within 1 s'


# ---------------------------------------------------------------- hostile values

def manual_stanza(name, ports=()):
    return render_bridge_stanza(name, OPTIONS, None, None, list(ports), [], [])


@pytest.mark.parametrize('name', HOSTILE_VALUES)
def test_a_hostile_bridge_name_is_refused_or_stays_one_plain_word(name):
    try:
        text = manual_stanza(name)
    except StanzaValueError as error:
        assert "iface %r" % name in str(error)
        return
    # Only plain words pass (16 bytes, '.', 'a:b' are the validators' to refuse): ifupdown and sh read them as one word.
    assert STANZA_WORD.fullmatch(name)
    up = [line.strip() for line in text.splitlines() if line.strip().startswith('up ')]
    assert all(shlex.split(line)[5] == name for line in up)


@pytest.mark.parametrize('port', HOSTILE_VALUES + list(BRIDGE_PORTS_KEYWORDS))
def test_a_hostile_port_is_refused_or_stays_one_plain_word(port):
    try:
        text = manual_stanza('xenbr0', ['eth0', port])
    except StanzaValueError as error:
        assert 'bridge_ports %r' % port in str(error)
        return
    assert '    bridge_ports eth0 %s\n' % port in text and port not in BRIDGE_PORTS_KEYWORDS


def test_the_issue_s_name_never_reaches_an_up_line():
    with pytest.raises(StanzaValueError, match=r"iface 'Nx;reboot' is not one plain word"):
        manual_stanza('Nx;reboot')


@pytest.mark.parametrize('argument', ['x;reboot', 'br$(id)', 'br`id`', 'x";drop#', "x'y", 'x y', 'x%n', 'a\\', 'a\\\\b', '', 'é'])
def test_an_up_line_reads_back_as_the_same_arguments(argument):
    line = command('up', 'ip', 'link', 'set', 'dev', argument, 'up')
    assert shlex.split(line) == ['up', 'ip', 'link', 'set', 'dev', argument, 'up']
    assert not line.endswith('\\')  # a trailing backslash would join the next stanza line


@pytest.mark.parametrize('argument', ['x\ny', 'x\ry', 'x\0y', 'x\ty', 'x\x7fy'])
def test_an_up_line_refuses_what_no_stanza_line_can_carry(argument):
    with pytest.raises(StanzaValueError, match='control character'):
        command('up', 'ip', 'link', 'set', 'dev', argument, 'up')


@pytest.mark.skipif(not shutil.which('ifup') or os.geteuid() != 0, reason='needs ifupdown and root (ifup --no-act locks its state dir)')
def test_ifup_runs_the_quoted_up_line_as_one_word_per_argument(tmp_path):
    # ifup --no-act prints the commands it would hand to /bin/sh; sh must then see the original arguments.
    hostile = ['x;reboot', '$(id)', '`id`', 'a"b', "c'd", 'e%f%', 'g\\']
    (tmp_path / 'interfaces').write_text('iface xfbr0 inet manual\n    %s\n' % command('up', 'printf', '%s\\n', *hostile))
    printed = subprocess.run(['ifup', '--no-act', '--state-dir', str(tmp_path), '-i', str(tmp_path / 'interfaces'), 'xfbr0'],
                             capture_output=True, text=True, check=True).stderr + '\n'
    line = [text for text in printed.splitlines() if text.startswith('printf ')][0]
    assert subprocess.run(['sh', '-c', line], capture_output=True, text=True, check=True).stdout.splitlines() == hostile
