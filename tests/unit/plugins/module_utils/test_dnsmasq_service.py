# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess
import sys

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat import dnsmasq_service as service_module
from ansible_collections.xenfleet.network.plugins.module_utils.nat.dnsmasq_service import (
    PidFileService, ServiceError, SystemdService, check_config, detect_manager, make_service, runs_config, wait_until)


class Recorder:
    """A run_command that records argv and answers from a script of (rc, out, err)."""

    def __init__(self, *answers):
        self.calls = []
        self.answers = list(answers)

    def __call__(self, argv, data=None, binary_data=False):
        self.calls.append((argv, data))
        return self.answers.pop(0) if self.answers else (0, '', '')


@pytest.fixture
def stand_in(tmp_path):
    """A long-running process whose command line carries `-C <config>`, as our dnsmasq's does."""
    config = str(tmp_path / 'guests.dnsmasq.conf')
    process = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)', '-C', config])
    # Popen may return while execve is still setting up the new command line.
    assert wait_until(lambda: runs_config(process.pid, config), 5)
    yield process, config
    if process.poll() is None:
        process.kill()
    process.wait()


def test_auto_picks_systemd_only_where_systemd_booted(tmp_path):
    assert detect_manager('auto', str(tmp_path)) == 'systemd'
    assert detect_manager('auto', str(tmp_path / 'missing')) == 'pidfile'
    assert detect_manager('pidfile', str(tmp_path)) == 'pidfile'
    assert detect_manager('systemd', str(tmp_path / 'missing')) == 'systemd'


def test_check_config_feeds_the_text_to_dnsmasq_test():
    run = Recorder((0, '', 'dnsmasq: syntax check OK.'))
    check_config(run, '/usr/sbin/dnsmasq', 'port=0\n', '/etc/x.conf')
    assert run.calls == [(['/usr/sbin/dnsmasq', '--test', '-C', '/dev/stdin'], 'port=0\n')]


def test_check_config_failure_names_the_real_file():
    run = Recorder((1, '', 'dnsmasq: bad option at line 3 of /dev/stdin'))
    with pytest.raises(ServiceError) as raised:
        check_config(run, 'dnsmasq', '# comment\nport=0\nbogus\n', '/etc/xenfleet/nat/guests.dnsmasq.conf')
    assert str(raised.value) == ('dnsmasq --test refused the configuration for /etc/xenfleet/nat/guests.dnsmasq.conf: '
                                 'dnsmasq: bad option at line 3 of /etc/xenfleet/nat/guests.dnsmasq.conf')
    assert raised.value.line == 'bogus'


def test_a_pid_file_names_our_dnsmasq_only_when_its_command_line_has_our_config(tmp_path, stand_in):
    process, config = stand_in
    pid_path = tmp_path / 'dnsmasq.pid'
    pid_path.write_text('%d\n' % process.pid)
    assert PidFileService(Recorder(), 'dnsmasq', config, str(pid_path)).running_pid() == process.pid
    assert PidFileService(Recorder(), 'dnsmasq', config + '.other', str(pid_path)).running_pid() is None


def test_a_stale_or_recycled_pid_is_never_signalled(tmp_path, monkeypatch):
    pid_path = tmp_path / 'dnsmasq.pid'
    pid_path.write_text('%d\n' % os.getpid())  # a live process, but not ours
    killed = []
    monkeypatch.setattr(service_module.os, 'kill', lambda pid, signum: killed.append(pid))
    service = PidFileService(Recorder(), 'dnsmasq', str(tmp_path / 'x.conf'), str(pid_path))
    service.stop()
    assert killed == []
    assert service.running_pid() is None


def test_stop_ends_our_process_and_removes_the_pid_file(tmp_path, stand_in):
    process, config = stand_in
    pid_path = tmp_path / 'dnsmasq.pid'
    pid_path.write_text('%d\n' % process.pid)
    PidFileService(Recorder(), 'dnsmasq', config, str(pid_path)).stop()
    assert process.wait(timeout=5) is not None
    assert not pid_path.exists()
    assert not runs_config(process.pid, config)


def test_start_runs_dnsmasq_with_only_our_config_and_waits_for_its_pid(tmp_path, stand_in, monkeypatch):
    process, config = stand_in
    pid_path = tmp_path / 'dnsmasq.pid'

    def fake_dnsmasq(argv, data=None, binary_data=False):
        pid_path.write_text('%d\n' % process.pid)  # what the daemon does once it runs
        return 0, '', ''
    service = PidFileService(fake_dnsmasq, '/usr/sbin/dnsmasq', config, str(pid_path))
    service.start()
    assert service.running_pid() == process.pid


def test_start_failure_carries_dnsmasq_words(tmp_path):
    run = Recorder((2, '', 'dnsmasq: failed to create listening socket: Address in use'))
    with pytest.raises(ServiceError) as raised:
        PidFileService(run, 'dnsmasq', '/x.conf', str(tmp_path / 'pid')).start()
    assert 'Address in use' in str(raised.value)
    assert run.calls[0][0] == ['dnsmasq', '-C', '/x.conf']


def test_systemd_unit_tests_the_config_first_and_keeps_dnsmasq_in_the_foreground():
    service = make_service('systemd', Recorder(), '/usr/sbin/dnsmasq', '/etc/xenfleet/nat/guests.dnsmasq.conf', '/pid',
                           '/etc/systemd/system/xenfleet-nat-guests.service')
    [(path, text)] = service.files()
    assert path == '/etc/systemd/system/xenfleet-nat-guests.service'
    assert 'ExecStartPre=/usr/sbin/dnsmasq --test -C /etc/xenfleet/nat/guests.dnsmasq.conf' in text
    assert 'ExecStart=/usr/sbin/dnsmasq --keep-in-foreground -C /etc/xenfleet/nat/guests.dnsmasq.conf' in text
    assert 'WantedBy=multi-user.target' in text


def test_systemd_service_drives_systemctl(tmp_path):
    unit = tmp_path / 'xenfleet-nat-guests.service'
    unit.write_text('[Unit]\n')
    run = Recorder((0, '4242\n', ''), (0, '0\n', ''))
    service = SystemdService(run, 'dnsmasq', '/c.conf', str(unit), systemctl='/bin/systemctl')
    assert service.running_pid() == 4242
    assert service.running_pid() is None
    service.start()
    service.restart()
    service.reload_units()
    service.stop()
    assert [argv[1:] for argv, dummy in run.calls] == [
        ['show', '--property=MainPID', '--value', 'xenfleet-nat-guests.service'],
        ['show', '--property=MainPID', '--value', 'xenfleet-nat-guests.service'],
        ['enable', '--now', 'xenfleet-nat-guests.service'],
        ['enable', 'xenfleet-nat-guests.service'],
        ['restart', 'xenfleet-nat-guests.service'],
        ['daemon-reload'],
        ['disable', '--now', 'xenfleet-nat-guests.service']]


def test_systemctl_failure_is_reported():
    service = SystemdService(Recorder((1, '', 'Unit not found.')), 'dnsmasq', '/c.conf', '/u/x.service')
    with pytest.raises(ServiceError) as raised:
        service.start()
    assert str(raised.value) == 'systemctl enable --now x.service failed (rc=1): Unit not found.'


# ---------------------------------------------------------------- hostile values in the unit and the argv

def systemd_words(line):
    """An Exec line's words as systemd reads them (systemd.syntax(7)): '%%' and '$$' first, then quotes and C escapes."""
    line = line.replace('%%', '%')
    words, word, quote, index, started = [], '', None, 0, False
    while index < len(line):
        character = line[index]
        if character == '\\':
            following = line[index + 1]
            if following == 'x':
                word += chr(int(line[index + 2:index + 4], 16))
                index += 4
                continue
            word += {'n': '\n', 'r': '\r', 't': '\t'}.get(following, following)
            index += 2
            started = True
            continue
        if character == '"':
            quote = None if quote else '"'
            started = True
        elif character == ' ' and not quote:
            if started:
                words.append(word)
            word, started = '', False
        else:
            word += character
            started = True
        index += 1
    if started:
        words.append(word)
    return words


HOSTILE_PATHS = ['/etc/xen fleet/x.conf', '/x;reboot', '/br$(id)', '/$HOME/x', '/x%n', '/a"b', "/a'b", '/a\\b', '/x\ny', '/x\ry',
                 '/x\ty', '/é', '/', '/x/\\']


@pytest.mark.parametrize('path', HOSTILE_PATHS)
def test_an_exec_argument_reads_back_as_exactly_the_path(path):
    line = 'ExecStart=/usr/sbin/dnsmasq -C %s' % service_module.exec_argument(path, 'config path')
    assert '\n' not in line and not line.endswith('\\')
    words = systemd_words(line[len('ExecStart='):])
    assert [word.replace('$$', '$') for word in words] == ['/usr/sbin/dnsmasq', '-C', path]


def test_plain_paths_are_written_as_they_are_so_existing_units_do_not_change():
    assert service_module.exec_argument('/etc/xenfleet/nat/guests.dnsmasq.conf', 'config path') == '/etc/xenfleet/nat/guests.dnsmasq.conf'
    assert service_module.exec_argument('-C', 'x') == '-C'  # after the program a leading '-' is an option's dash
    assert service_module.exec_program('-C', 'x') == '"-C"'  # in the program position it would read as a prefix


@pytest.mark.parametrize('program', ['/opt/dns"masq', "/opt/dns'masq", '/opt/dns\\masq', '/opt/dns\nmasq', '/opt/x\0'])
def test_a_program_path_systemd_would_refuse_is_refused_naming_the_option(program):
    service = make_service('systemd', Recorder(), program, '/etc/x.conf', '/pid', '/etc/systemd/system/xenfleet-nat-g.service')
    with pytest.raises(ServiceError, match=r'^systemd unit: dnsmasq_path %s holds' % re.escape(repr(program))):
        service.files()


def test_a_nul_in_an_argument_is_refused():
    with pytest.raises(ServiceError, match='holds a NUL character'):
        service_module.exec_argument('/x\0y', 'config path')


@pytest.mark.skipif(not shutil.which('systemd-analyze'), reason='needs systemd-analyze')
def test_systemd_analyze_takes_the_unit_for_hostile_paths(tmp_path):
    program = tmp_path / 'dns masq %n $HOME' / 'dnsmasq'
    program.parent.mkdir()
    shutil.copy('/bin/true', str(program))
    unit = tmp_path / 'xenfleet-nat-g.service'
    service = make_service('systemd', Recorder(), str(program), '/etc/x;y/$HOME/%n/"q"/\'s\'/b\\c/\n.conf', '/pid', str(unit))
    [(path, text)] = service.files()
    unit.write_text(text)
    done = subprocess.run(['systemd-analyze', 'verify', str(unit)], capture_output=True, text=True, check=False)
    assert done.returncode == 0 and 'special characters' not in done.stderr and 'unknown escape' not in done.stderr, done.stderr


def test_the_pidfile_service_runs_dnsmasq_from_an_argv_list_without_a_shell():
    recorder = Recorder((1, '', 'refused'))
    service = make_service('pidfile', recorder, '/usr/sbin/dnsmasq', '/etc/x;reboot $(id).conf', '/pid', '/unit')
    with pytest.raises(ServiceError):
        service.start()
    assert recorder.calls[0][0] == ['/usr/sbin/dnsmasq', '-C', '/etc/x;reboot $(id).conf']
