# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Running one dnsmasq per xen_nat network: under systemd where systemd runs, else by pid file.

Private to the collection: may change without notice.

Both kinds answer the same questions (which pid serves the network now) and
take the same orders (start, stop, restart), so the planner does not care
which one it drives. A process is taken for ours only when its command line
carries our configuration file: a recycled pid never gets a signal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import time

from ansible_collections.xenfleet.network.plugins.module_utils.common import boot_unit
from ansible_collections.xenfleet.network.plugins.module_utils.common.boot_unit import UnitValueError

SYSTEMD_RUNTIME_DIR = boot_unit.SYSTEMD_RUNTIME_DIR
STOP_TIMEOUT = 5.0
START_TIMEOUT = 5.0
POLL_INTERVAL = 0.05


class ServiceError(Exception):
    """dnsmasq or systemctl refused; the message carries their own words.

    line is the configuration line dnsmasq --test complained about, when it named one.
    """

    def __init__(self, message, line=None):
        super(ServiceError, self).__init__(message)
        self.line = line


def _unit_word(quote, value, field):
    try:
        return quote(value, field)
    except UnitValueError as error:
        raise ServiceError(str(error))


def exec_argument(value, field):
    """value as one argument of an ExecStart= line that systemd reads back unchanged (common.boot_unit's rule)."""
    return _unit_word(boot_unit.exec_argument, value, field)


def exec_program(value, field):
    """The program of an ExecStart= line (common.boot_unit's rule)."""
    return _unit_word(boot_unit.exec_program, value, field)


def unit_text_value(value, field):
    """value inside a plain unit setting such as Description= (common.boot_unit's rule)."""
    return _unit_word(boot_unit.unit_text_value, value, field)


def detect_manager(requested, runtime_dir=SYSTEMD_RUNTIME_DIR):
    """'systemd' when asked for, or when asked for 'auto' on a host booted with systemd (sd_booted); else 'pidfile'."""
    if requested != 'auto':
        return requested
    return 'systemd' if os.path.isdir(runtime_dir) else 'pidfile'


def check_config(run_command, dnsmasq, text, path):
    """Have dnsmasq parse text as its configuration (`--test`); raise ServiceError with its complaint."""
    rc, out, err = run_command([dnsmasq, '--test', '-C', '/dev/stdin'], data=text, binary_data=True)
    if rc != 0:
        message = (err or out or '').strip().replace('/dev/stdin', path)
        number = re.search(r'at line (\d+) of ', message)
        lines = text.splitlines()
        line = lines[int(number.group(1)) - 1] if number and 0 < int(number.group(1)) <= len(lines) else None
        raise ServiceError('dnsmasq --test refused the configuration for %s: %s' % (path, message), line)


def process_state(pid):
    """The state letter of a process (R, S, Z...), or None when there is no such process."""
    try:
        with open('/proc/%d/stat' % pid, 'rb') as handle:
            data = handle.read()
    except (IOError, OSError):
        return None
    return data[data.rindex(b')') + 2:].split()[0].decode('ascii')


def runs_config(pid, config_path):
    """Whether pid is a live process started with `-C config_path`."""
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            argv = handle.read().split(b'\0')
    except (IOError, OSError):
        return False
    wanted = config_path.encode('utf-8')
    return any(argv[index] == b'-C' and argv[index + 1] == wanted for index in range(len(argv) - 1)) \
        and process_state(pid) not in (None, 'Z')


def read_pid(pid_path):
    try:
        with open(pid_path) as handle:
            return int(handle.read().strip() or 0) or None
    except (IOError, OSError, ValueError):
        return None


def wait_until(condition, timeout):
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_INTERVAL)


class PidFileService:
    """dnsmasq daemonized by itself, found again through its pid file (hosts without systemd)."""

    manager = 'pidfile'

    def __init__(self, run_command, dnsmasq, config_path, pid_path):
        self.run_command = run_command
        self.dnsmasq = dnsmasq
        self.config_path = config_path
        self.pid_path = pid_path

    def files(self):
        """Files besides the configuration that this kind of service needs: none."""
        return []

    def running_pid(self):
        pid = read_pid(self.pid_path)
        if pid and runs_config(pid, self.config_path):
            return pid
        return None

    def start(self):
        rc, out, err = self.run_command([self.dnsmasq, '-C', self.config_path])
        if rc != 0:
            raise ServiceError('dnsmasq -C %s did not start (rc=%s): %s' % (self.config_path, rc, (err or out).strip()))
        if not wait_until(lambda: self.running_pid() is not None, START_TIMEOUT):
            raise ServiceError('dnsmasq -C %s started but wrote no pid to %s' % (self.config_path, self.pid_path))

    def stop(self):
        pid = self.running_pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        if not wait_until(lambda: not runs_config(pid, self.config_path), STOP_TIMEOUT):
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not runs_config(pid, self.config_path), STOP_TIMEOUT)
        if os.path.exists(self.pid_path):
            os.unlink(self.pid_path)

    def restart(self):
        self.stop()
        self.start()

    def reload_units(self):
        """Nothing to reload without systemd."""


class SystemdService:
    """dnsmasq as the unit xenfleet-nat-<name>.service, kept in the foreground by systemd."""

    manager = 'systemd'

    def __init__(self, run_command, dnsmasq, config_path, unit_path, systemctl='systemctl'):
        self.run_command = run_command
        self.dnsmasq = dnsmasq
        self.config_path = config_path
        self.unit_path = unit_path
        self.unit = os.path.basename(unit_path)
        self.systemctl = systemctl

    def unit_text(self):
        return '\n'.join([
            '# Written by xenfleet.network xen_nat; local changes are replaced.',
            '[Unit]',
            'Description=dnsmasq for the xen_nat network in %s' % unit_text_value(self.config_path, 'config path'),
            'After=network.target',
            '',
            '[Service]',
            'Type=simple',
            'ExecStartPre=%s --test -C %s' % (exec_program(self.dnsmasq, 'dnsmasq_path'), exec_argument(self.config_path, 'config path')),
            'ExecStart=%s --keep-in-foreground -C %s' % (exec_program(self.dnsmasq, 'dnsmasq_path'),
                                                         exec_argument(self.config_path, 'config path')),
            'Restart=on-failure',
            '',
            '[Install]',
            'WantedBy=multi-user.target',
        ]) + '\n'

    def files(self):
        return [(self.unit_path, self.unit_text())]

    def _systemctl(self, *args):
        rc, out, err = self.run_command([self.systemctl] + list(args))
        if rc != 0:
            raise ServiceError('systemctl %s failed (rc=%s): %s' % (' '.join(args), rc, (err or out).strip()))
        return out

    def running_pid(self):
        rc, out, dummy = self.run_command([self.systemctl, 'show', '--property=MainPID', '--value', self.unit])
        try:
            pid = int(out.strip()) if rc == 0 else 0
        except ValueError:
            pid = 0
        return pid or None

    def start(self):
        self._systemctl('enable', '--now', self.unit)

    def stop(self):
        if os.path.exists(self.unit_path):
            self._systemctl('disable', '--now', self.unit)

    def restart(self):
        self._systemctl('enable', self.unit)
        self._systemctl('restart', self.unit)

    def reload_units(self):
        self._systemctl('daemon-reload')


def make_service(manager, run_command, dnsmasq, config_path, pid_path, unit_path, systemctl='systemctl'):
    if manager == 'systemd':
        return SystemdService(run_command, dnsmasq, config_path, unit_path, systemctl)
    return PidFileService(run_command, dnsmasq, config_path, pid_path)
