# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The boot units that load the firewall files: their text, their ordering, and the plan that installs them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common import boot_unit
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan


def unit(path='/etc/nftables.d/xenfleet-antispoof.nft'):
    return boot_unit.BootUnit('xenfleet-antispoof.service', 'anti-spoofing', [['/usr/sbin/nft', '-f', path]], 'xen_antispoof')


def settings(text, key):
    return [line.split('=', 1)[1] for line in text.splitlines() if line.startswith(key + '=')]


def test_the_unit_loads_before_the_bridges_and_the_guests_and_after_a_flushing_firewall():
    text = unit().text()
    assert settings(text, 'DefaultDependencies') == ['no']
    before = settings(text, 'Before')[0].split()
    assert {'network-pre.target', 'xen-init-dom0.service', 'xen.service', 'xendomains.service'} <= set(before)
    after = settings(text, 'After')[0].split()
    assert {'nftables.service', 'netfilter-persistent.service'} <= set(after)
    assert settings(text, 'PartOf')[0].split() == ['nftables.service', 'netfilter-persistent.service']
    assert settings(text, 'WantedBy') == ['sysinit.target']
    assert settings(text, 'ExecStart') == ['/usr/sbin/nft -f /etc/nftables.d/xenfleet-antispoof.nft']
    assert settings(text, 'Type') == ['oneshot'] and settings(text, 'RemainAfterExit') == ['yes']


def test_install_then_nothing_to_do(tmp_path):
    plan = Plan()
    changes = boot_unit.plan_unit(plan, str(tmp_path), unit())
    assert plan.names() == ['write %s' % (tmp_path / 'xenfleet-antispoof.service'),
                            'enable xenfleet-antispoof.service at boot (sysinit.target)']
    assert set(changes) == {str(tmp_path / 'xenfleet-antispoof.service'),
                            str(tmp_path / 'sysinit.target.wants' / 'xenfleet-antispoof.service')}
    plan.apply()
    link = tmp_path / 'sysinit.target.wants' / 'xenfleet-antispoof.service'
    assert os.readlink(str(link)) == str(tmp_path / 'xenfleet-antispoof.service')
    assert (tmp_path / 'xenfleet-antispoof.service').read_text() == unit().text()
    again = Plan()
    assert boot_unit.plan_unit(again, str(tmp_path), unit()) == {} and not again


def test_a_changed_file_or_a_link_elsewhere_is_put_right(tmp_path):
    first = Plan()
    boot_unit.plan_unit(first, str(tmp_path), unit())
    first.apply()
    link = tmp_path / 'sysinit.target.wants' / 'xenfleet-antispoof.service'
    link.unlink()
    link.symlink_to('/dev/null')  # masked by hand
    plan = Plan()
    changes = boot_unit.plan_unit(plan, str(tmp_path), unit('/srv/other.nft'))
    assert changes[str(link)] == ('-> /dev/null\n', '-> %s\n' % (tmp_path / 'xenfleet-antispoof.service'))
    plan.apply()
    assert 'ExecStart=/usr/sbin/nft -f /srv/other.nft' in (tmp_path / 'xenfleet-antispoof.service').read_text()
    assert os.readlink(str(link)) == str(tmp_path / 'xenfleet-antispoof.service')


def test_a_failed_step_puts_the_old_unit_and_link_back(tmp_path):
    first = Plan()
    boot_unit.plan_unit(first, str(tmp_path), unit())
    first.apply()
    before = (tmp_path / 'xenfleet-antispoof.service').read_text()
    plan = Plan()
    boot_unit.plan_unit(plan, str(tmp_path), unit('/srv/other.nft'))

    def refuse():
        raise OSError('disk full')
    plan.add('later step', refuse)
    with pytest.raises(Exception, match='disk full'):
        plan.apply()
    assert (tmp_path / 'xenfleet-antispoof.service').read_text() == before


def test_absent_disables_then_removes(tmp_path):
    first = Plan()
    boot_unit.plan_unit(first, str(tmp_path), unit())
    first.apply()
    plan = Plan()
    boot_unit.plan_unit(plan, str(tmp_path), 'xenfleet-antispoof.service', present=False)
    assert plan.names() == ['disable xenfleet-antispoof.service at boot', 'remove %s' % (tmp_path / 'xenfleet-antispoof.service')]
    plan.apply()
    assert not (tmp_path / 'xenfleet-antispoof.service').exists()
    assert not os.path.lexists(str(tmp_path / 'sysinit.target.wants' / 'xenfleet-antispoof.service'))
    nothing = Plan()
    assert boot_unit.plan_unit(nothing, str(tmp_path), 'xenfleet-antispoof.service', present=False) == {} and not nothing


def test_a_running_systemd_is_told_only_of_its_own_directory(tmp_path):
    assert not boot_unit.systemd_reads(str(tmp_path), runtime_dir=str(tmp_path))
    assert boot_unit.systemd_reads('/etc/systemd/system', runtime_dir=str(tmp_path))
    assert not boot_unit.systemd_reads('/etc/systemd/system', runtime_dir=str(tmp_path / 'missing'))


HOSTILE = ['/etc/nft tables/x.nft', '/x;reboot', '/br$(id)', '/$HOME/x', '/x%n', '/a"b', "/a'b", '/a\\b', '/x\ny']


@pytest.mark.parametrize('path', HOSTILE)
def test_a_hostile_path_is_one_argument_on_one_line(path):
    line = settings(unit(path).text(), 'ExecStart')
    assert len(line) == 1 and '\n' not in line[0]


def test_a_nul_cannot_be_written():
    with pytest.raises(boot_unit.UnitValueError, match='NUL'):
        unit('/x\0y').text()


@pytest.mark.skipif(not shutil.which('systemd-analyze'), reason='needs systemd-analyze')
def test_systemd_reads_back_every_hostile_path_as_written(tmp_path):
    program = tmp_path / 'echo-args'
    program.write_text('#!/bin/sh\nfor a in "$@"; do printf "[%s]" "$a"; done\n')
    program.chmod(0o755)
    for index, path in enumerate(HOSTILE):
        text = boot_unit.BootUnit('t%d.service' % index, 'd', [[str(program), '-f', path]], 'test').text()
        target = tmp_path / ('t%d.service' % index)
        target.write_text(text)
        verify = subprocess.run(['systemd-analyze', 'verify', str(target)], capture_output=True, text=True, check=False)
        assert 'ExecStart' not in verify.stderr, verify.stderr


def test_a_program_written_with_a_dash_may_fail_without_failing_the_unit():
    text = boot_unit.BootUnit('x.service', 'd', [['-/sbin/modprobe', 'br_netfilter'], ['/usr/sbin/nft', '-f', '/x']], 'test').text()
    assert settings(text, 'ExecStart') == ['-/sbin/modprobe br_netfilter', '/usr/sbin/nft -f /x']


def test_the_antispoof_units_put_the_bridge_sysctls_back_for_their_backend():
    from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.iptables_backend import IptablesBackend
    from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.nft_backend import NftBackend
    where = '/usr/sbin/%s'.__mod__
    nft = NftBackend(None, '/usr/sbin/nft', '/etc/nftables.d/a.nft').boot_commands(where)
    assert nft == [['/usr/sbin/nft', '-f', '/etc/nftables.d/a.nft'],
                   ['-/usr/sbin/sysctl', '-q', '-e', '-w', 'net.bridge.bridge-nf-call-iptables=0',
                    'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0']]
    assert NftBackend(None, '/usr/sbin/nft', '/a.nft').boot_commands(where, manage_sysctl=False) == [['/usr/sbin/nft', '-f', '/a.nft']]
    tools = dict((tool, ('/usr/sbin/x-save', '/usr/sbin/%s-restore' % tool)) for tool in ('eb', 'v4', 'v6'))
    iptables = IptablesBackend(None, tools, '/etc/iptables/a').boot_commands(where)
    assert iptables[0] == ['-/usr/sbin/modprobe', 'br_netfilter']
    assert iptables[1] == ['/usr/sbin/sysctl', '-q', '-w', 'net.bridge.bridge-nf-call-iptables=1', 'net.bridge.bridge-nf-call-ip6tables=1']
    assert iptables[2] == ['/bin/sh', '-c', 'exec "$0" --noflush <"$1"', '/usr/sbin/eb-restore', '/etc/iptables/a.eb']
    assert iptables[3:] == [['/usr/sbin/v4-restore', '--noflush', '/etc/iptables/a.v4'], ['/usr/sbin/v6-restore', '--noflush', '/etc/iptables/a.v6']]
