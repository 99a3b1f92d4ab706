# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd units that put a module's firewall state back at boot, before any guest can send a frame.

Private to the collection: may change without notice.

Why a unit of the collection's own and not an include in /etc/nftables.conf:
Debian's nftables.conf starts with `flush ruleset` and nftables.service is
disabled on a fresh install, so an include would mean editing the
administrator's file and enabling a service that may wipe Docker's or
firewalld's rules. A unit of ours loads only our files (each replaces only
our own tables, in one transaction), runs after nftables.service and
netfilter-persistent.service (a flush there cannot wipe ours; a restart of
either is followed by ours again, through PartOf=), and before
network-pre.target, Xen's xen-init-dom0 and xendomains: the bridges are not
up yet and no guest has started when the rules arrive.

Enabling is the symlink `systemctl enable` makes for WantedBy=sysinit.target,
written by the module itself, so the same code serves a unit directory
under another root (a lab dom0, an image being built) where no systemd runs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic

UNIT_DIR = '/etc/systemd/system'
WANTED_BY = 'sysinit.target'
SYSTEMD_RUNTIME_DIR = '/run/systemd/system'
# Units whose start may flush or rewrite the tables ours loads: ours starts after them and again after their restart.
FLUSHING_UNITS = ('nftables.service', 'netfilter-persistent.service')
# What must not start before the firewall is in place: the bridges (network-pre.target comes before ifup) and Xen's
# guests (xen-init-dom0 prepares dom0 upstream, Debian's LSB script does it as xen.service; xendomains starts
# /etc/xen/auto).
STARTS_AFTER_US = ('network-pre.target', 'xen-init-dom0.service', 'xen.service', 'xendomains.service', 'shutdown.target')

# How systemd reads a unit line (systemd.syntax(7), systemd.service(5)): '%' starts a specifier
# everywhere, a line ending in a backslash continues on the next, and in Exec*= lines words are
# split at white space and quotes, C escapes are decoded, '$' starts an environment variable, a
# lone ';' separates commands and a leading '@', '-', ':', '+' or '!' is a prefix. A value made of
# PLAIN_UNIT_WORD needs none of that and is written as it is (units written before stay the same);
# any other is written in double quotes with backslash and '"' escaped, control characters as C
# escapes, '%' as '%%' and '$' as '$$', so it reads back as one word holding the value. Only NUL
# cannot be written (systemd refuses the escape for it).
PLAIN_UNIT_WORD = re.compile(r'[A-Za-z0-9_./][A-Za-z0-9_./:+@,=-]*')
# After the program a leading '-' is only an option's dash: '-f' needs no quotes there.
PLAIN_UNIT_ARGUMENT = re.compile(r'-?[A-Za-z0-9_./][A-Za-z0-9_./:+@,=-]*')
UNIT_PROGRAM_FORBIDDEN = re.compile(r'["\'\\\x00-\x1f\x7f]')
_C_ESCAPES = {'\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t'}


class UnitValueError(ValueError):
    """A value a unit file cannot carry; names the field and the value."""


def _unit_quoted(value, field, dollar, plain=PLAIN_UNIT_WORD):
    if plain.fullmatch(value):
        return value
    if '\0' in value:
        raise UnitValueError('systemd unit: %s %r holds a NUL character, which a unit file cannot carry' % (field, value))
    escaped = ''.join(_C_ESCAPES.get(character, '\\x%02x' % ord(character) if character < ' ' or character == '\x7f' else character)
                      for character in value).replace('%', '%%')
    return '"%s"' % (escaped.replace('$', '$$') if dollar else escaped)


def exec_argument(value, field):
    """value as one argument of an ExecStart= line that systemd reads back unchanged."""
    return _unit_quoted(value, field, dollar=True, plain=PLAIN_UNIT_ARGUMENT)


def exec_program(value, field):
    """The program of an ExecStart= line: systemd substitutes no '$' there and refuses quotes, backslashes
    and control characters in it ('Executable name contains special characters'), so those are refused here."""
    bad = UNIT_PROGRAM_FORBIDDEN.search(value)
    if bad is not None:
        raise UnitValueError('systemd unit: %s %r holds %r, which systemd does not take in the program of an Exec line'
                             % (field, value, bad.group()))
    return _unit_quoted(value, field, dollar=False)


def unit_text_value(value, field):
    """value inside a plain unit setting (Description=, which knows specifiers but not '$'): one line, no continuation."""
    return _unit_quoted(value, field, dollar=False)


def exec_line(argv, field):
    """One ExecStart= line running argv (program first), every word quoted for systemd. A program written '-/path'
    may fail without failing the unit (systemd's '-' prefix): for a step that is often already done, like loading
    a module built into the kernel."""
    prefix, program = ('-', argv[0][1:]) if argv[0].startswith('-') else ('', argv[0])
    return 'ExecStart=' + prefix + ' '.join([exec_program(program, '%s program' % field)] +
                                            [exec_argument(argument, field) for argument in argv[1:]])


class BootUnit:
    """A oneshot unit running commands early at boot, in order; the first that fails stops the rest (and says so
    in the journal), so a half-loaded ruleset is never taken for a loaded one."""

    def __init__(self, name, description, commands, writer):
        self.name = name
        self.description = description
        self.commands = commands
        self.writer = writer

    def text(self):
        lines = [
            '# Written by xenfleet.network %s; local changes are replaced on its next run.' % self.writer,
            '[Unit]',
            'Description=%s' % unit_text_value(self.description, 'description'),
            'DefaultDependencies=no',
            'Wants=network-pre.target',
            'After=local-fs.target %s' % ' '.join(FLUSHING_UNITS),
            'PartOf=%s' % ' '.join(FLUSHING_UNITS),
            'Before=%s' % ' '.join(STARTS_AFTER_US),
            'Conflicts=shutdown.target',
            '',
            '[Service]',
            'Type=oneshot',
            'RemainAfterExit=yes',
        ]
        lines.extend(exec_line(argv, self.name) for argv in self.commands)
        lines.extend(['', '[Install]', 'WantedBy=%s' % WANTED_BY])
        return '\n'.join(lines) + '\n'


def unit_path(unit_dir, name):
    return os.path.join(unit_dir, name)


def enable_link(unit_dir, name):
    """The symlink `systemctl enable` makes for the unit."""
    return os.path.join(unit_dir, '%s.wants' % WANTED_BY, name)


def read_link(path):
    try:
        return os.readlink(path)
    except OSError:
        return None


def plan_unit(plan, unit_dir, unit, present=True, run_command=None):
    """Steps writing and enabling unit (present), or disabling and removing the unit named `unit` (absent); when
    something changes in the directory a running systemd reads, a last step tells it (with run_command).

    Returns {path: (before, after)} of what changes, for the diff; the link shows as '-> target'."""
    name = unit.name if present else unit
    path, link = unit_path(unit_dir, name), enable_link(unit_dir, name)
    old, old_target = read_bytes(path), read_link(link)
    new = unit.text().encode('utf-8') if present else None
    new_target = path if present else None
    changes = {}
    if not present and old_target is not None:
        changes[link] = ('-> %s\n' % old_target, '')
        plan.add('disable %s at boot' % name, _relinker(link, None), _relinker(link, old_target))
    if old != new:
        changes[path] = ((old or b'').decode('utf-8', 'replace'), (new or b'').decode('utf-8'))
        restore = (lambda: write_atomic(path, old)) if old is not None else (lambda: remove_file(path))
        if new is None:
            plan.add('remove %s' % path, lambda: remove_file(path), restore)
        else:
            plan.add('write %s' % path, lambda: write_atomic(path, new, mode=0o644), restore)
    if present and old_target != new_target:
        changes[link] = ('-> %s\n' % old_target if old_target else '', '-> %s\n' % new_target)
        plan.add('enable %s at boot (%s)' % (name, WANTED_BY), _relinker(link, new_target), _relinker(link, old_target))
    if changes and run_command is not None and systemd_reads(unit_dir):
        plan.add('reload systemd unit files', lambda: daemon_reload(run_command))
    return changes


def _relinker(link, target):
    def relink():
        remove_file(link)
        if target is not None:
            directory = os.path.dirname(link)
            if not os.path.isdir(directory):
                os.makedirs(directory, 0o755)
            os.symlink(target, link)
    return relink


def systemd_reads(unit_dir, runtime_dir=SYSTEMD_RUNTIME_DIR):
    """Whether a running systemd reads unit_dir (then it is told of a changed unit with daemon-reload)."""
    return os.path.isdir(runtime_dir) and os.path.realpath(unit_dir) == os.path.realpath(UNIT_DIR)


def daemon_reload(run_command, systemctl='systemctl'):
    """Tell a running systemd that unit files changed."""
    rc, out, err = run_command([systemctl, 'daemon-reload'])
    if rc != 0:
        raise OSError('systemctl daemon-reload failed (rc=%s): %s' % (rc, (err or out).strip()))
