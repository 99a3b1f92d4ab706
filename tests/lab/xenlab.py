"""Throw-away Xen dom0 network lab made of Linux network namespaces.

A dom0 is a namespace; every guest (domU) is another namespace joined to dom0
by a veth pair whose dom0 end carries the vif name; dom0's "physical NIC" is a
veth to an ``upstream`` namespace that plays the gateway, and an optional
``internet`` namespace sits behind upstream for NAT tests. An sshd can run
inside dom0 so Ansible can reach it over real SSH from the upstream namespace.

Safety: everything is created inside namespaces this module made; nothing is
ever added to the root namespace. Each namespace is stamped (an alias on its
``lo``) and recorded in a marker file under /run/xenlab, so ``sweep`` removes
what crashed runs left behind and never anything else.

Library::

    with Lab({'internet': True, 'guests': [{'name': 'g1', 'ipv4': ['10.0.0.5/24']}]}) as lab:
        assert lab.ping('dom0', '192.0.2.1')

CLI (see tests/lab/README.md)::

    python3 tests/lab/xenlab.py up --spec spec.json      # prints the workdir
    python3 tests/lab/xenlab.py down --workdir DIR
"""

from __future__ import annotations

import argparse
import collections
import glob
import ipaddress
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

MARKER_DIR = '/run/xenlab'
STAMP_PREFIX = 'xenlab:'
STATE_FILE = 'state.json'
INTERFACES_FILE = os.path.join('network', 'interfaces')  # dom0's /etc/network/interfaces, in the workdir
INTERFACES_DIR = os.path.join('network', 'interfaces.d')
INVENTORY_FILE = 'inventory.ini'
PYTHON_WRAPPER = 'dom0-python'
IFNAMSIZ = 15  # Linux interface names are at most 15 bytes (16 with the NUL)

PREFIX_RE = re.compile(r'^[A-Za-z0-9_]{1,16}$')  # no '-': it separates prefix and role
GUEST_NAME_RE = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$')
MAC_RE = re.compile(r'^[0-9a-f]{2}(:[0-9a-f]{2}){5}$')
INFRA_ROLES = ('upstream', 'dom0', 'internet')

# Documentation prefixes (RFC 5737 / RFC 3849): never routable, so a leak would go nowhere.
DOM0_MAC = '02:00:00:00:00:10'
DOM0_IPV4 = '192.0.2.10/24'
DOM0_IPV6 = '2001:db8:1::10/64'
UPSTREAM_MAC = '02:00:00:00:00:01'
UPSTREAM_IPV4 = '192.0.2.1/24'
UPSTREAM_IPV6 = '2001:db8:1::1/64'
WAN_IFNAME = 'wan0'
WAN_MAC = '02:00:00:00:01:01'
WAN_IPV4 = '198.51.100.1/24'
WAN_IPV6 = '2001:db8:ff::1/64'
INTERNET_MAC = '02:00:00:00:01:02'
INTERNET_IPV4 = '198.51.100.2/24'
INTERNET_IPV6 = '2001:db8:ff::2/64'
# Xen's netback gives every vif this MAC so that a bridge never takes a vif's address as its own.
XEN_VIF_MAC = 'fe:ff:ff:ff:ff:ff'
SSH_PORT = 22
SSH_USER = 'root'

# DAD would keep fresh IPv6 addresses "tentative" for a second or more; the lab wants them usable at once.
NAMESPACE_SYSCTLS = ('net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0')

SPEC_KEYS = ('uplink', 'ssh', 'internet', 'guests')
GUEST_KEYS = ('name', 'vif', 'mac', 'ipv4', 'ipv6', 'gateway4', 'gateway6')

# What Debian 12's installer writes for a NIC with a static IPv4 and IPv6 address (tabs and all).
INTERFACES_TEXT = """\
# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source {source}/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug {uplink}
iface {uplink} inet static
\taddress {ipv4}
\tgateway {gateway4}

iface {uplink} inet6 static
\taddress {ipv6}
\tgateway {gateway6}
"""

SSHD_CONFIG = """\
# Written by xenlab for lab {prefix}: listens only inside the lab's dom0 namespace.
ListenAddress {host}:{port}
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
# PAM would consult the host's account setup; the lab only needs the key.
UsePAM no
# The workdir lives in /tmp, whose modes StrictModes would reject.
StrictModes no
UseDNS no
PrintMotd no
PrintLastLog no
Subsystem sftp internal-sftp
LogLevel INFO
"""


def link_collection(directory):
    """Make this checkout importable by Ansible as xenfleet.network; returns the ANSIBLE_COLLECTIONS_PATH to use.

    ansible-playbook finds collections only under an ansible_collections/<namespace>/<name> tree.
    """
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = os.path.join(directory, 'collections')
    os.makedirs(os.path.join(root, 'ansible_collections', 'xenfleet'), exist_ok=True)
    os.symlink(repo, os.path.join(root, 'ansible_collections', 'xenfleet', 'network'))
    return root


class LabError(RuntimeError):
    """The lab could not be built, used or removed."""


class LabCommandError(subprocess.CalledProcessError):
    """A command run by the lab failed; unlike its parent, the message shows stderr."""

    def __str__(self):
        output = (self.stderr or self.output or '').strip()
        return '%s exited with %s: %s' % (shlex.join(str(a) for a in self.cmd), self.returncode, output)


ProcStat = collections.namedtuple('ProcStat', 'state ppid starttime')


# ---------------------------------------------------------------- small helpers

def _warn(message):
    print('xenlab: %s' % message, file=sys.stderr)


def _tool(name):
    """Absolute path of a system tool; sbin may be missing from PATH under sudo or CI."""
    found = shutil.which(name) or shutil.which(name, path='/usr/sbin:/usr/bin:/sbin:/bin')
    if not found:
        raise LabError('%s not found: the lab needs iproute2, procps and openssh (client and server)' % name)
    return found


def _execute(argv, check=True, timeout=30, input=None):
    """Run a command, capture its text output and raise LabCommandError on failure when asked."""
    result = subprocess.run([str(a) for a in argv], input=input, capture_output=True, text=True, errors='replace',
                            timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise LabCommandError(result.returncode, argv, result.stdout, result.stderr)
    return result


def _host(cidr):
    return cidr.split('/', 1)[0]


def _write_text(path, text, mode=0o644):
    """Write-then-rename, so a reader (sweep, a playbook) never sees half a file."""
    temporary = '%s.tmp%d' % (path, os.getpid())
    with open(temporary, 'w', encoding='utf-8') as handle:
        handle.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _write_json(path, data, mode=0o644):
    _write_text(path, json.dumps(data, indent=2, sort_keys=True) + '\n', mode)


def _random_prefix():
    return 'xl' + secrets.token_hex(2)


# ---------------------------------------------------------------- processes

def _proc_stat(pid):
    """State, parent and start time of a process, or None when it does not exist."""
    try:
        with open('/proc/%d/stat' % pid, encoding='utf-8', errors='replace') as handle:
            data = handle.read()
    except (OSError, ValueError):
        return None
    # The command name may hold spaces and parentheses; the fields we need follow its last ')'.
    fields = data[data.rindex(')') + 2:].split()
    return ProcStat(fields[0], int(fields[1]), int(fields[19]))


def _identity(pid):
    """A pid plus its start time: a recycled pid never matches it, so we never signal a stranger."""
    stat = _proc_stat(pid)
    return {'pid': pid, 'starttime': stat.starttime if stat else None}


def _is_running(identity):
    if not identity or not identity.get('pid'):
        return False
    stat = _proc_stat(identity['pid'])
    return stat is not None and stat.starttime == identity.get('starttime') and stat.state != 'Z'


def _cmdline(pid):
    try:
        with open('/proc/%d/cmdline' % pid, 'rb') as handle:
            return handle.read()
    except OSError:
        return None


def _all_pids():
    return [int(entry) for entry in os.listdir('/proc') if entry.isdigit()]


def _descendants(identities):
    """Identities of every live descendant (sshd sessions and what they run) of the given processes."""
    parents = {identity['pid'] for identity in identities if _is_running(identity)}
    found = []
    grew = True
    while grew:
        grew = False
        for pid in _all_pids():
            stat = _proc_stat(pid)
            if stat and stat.ppid in parents and pid not in parents:
                parents.add(pid)
                found.append({'pid': pid, 'starttime': stat.starttime})
                grew = True
    return found


def _signal_all(identities, signum):
    for identity in identities:
        if _is_running(identity):
            try:
                os.kill(identity['pid'], signum)
            except ProcessLookupError:
                pass


def _wait_gone(identities, popens, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for popen in popens.values():
            popen.poll()  # reap our own children, or they stay zombies that look alive
        if not any(_is_running(identity) for identity in identities):
            return True
        time.sleep(0.02)
    return False


def _terminate(identities, popens=None, grace=3.0):
    """SIGTERM the processes and their descendants, SIGKILL what is left after the grace time."""
    popens = popens or {}
    targets = list(identities) + _descendants(identities)
    _signal_all(targets, signal.SIGTERM)
    if not _wait_gone(targets, popens, grace):
        _signal_all(targets, signal.SIGKILL)
        _wait_gone(targets, popens, grace)


def _invoking_script_pid():
    """Pid of the script that ran this CLI, to record as the lab's owner for ``sweep``.

    bash sometimes forks a subshell for ``$(...)`` that exits at once; such a fork keeps its
    parent's command line, so climb while the command line stays the same.
    """
    pid = os.getppid()
    while True:
        stat = _proc_stat(pid)
        if stat is None or stat.ppid <= 1 or _cmdline(stat.ppid) != _cmdline(pid):
            return pid
        pid = stat.ppid


# ---------------------------------------------------------------- namespaces and markers

def _namespace_exists(name):
    return os.path.exists(os.path.join('/run/netns', name))


def _namespace_stamp(name):
    """The alias the lab set on the namespace's lo, proof that the namespace is a lab's."""
    result = _execute([_tool('ip'), '-j', '-n', name, 'link', 'show', 'dev', 'lo'], check=False)
    if result.returncode != 0:
        return None
    try:
        return json.loads(result.stdout)[0].get('ifalias')
    except (ValueError, IndexError, AttributeError):
        return None


def _namespace_pids(name):
    result = _execute([_tool('ip'), 'netns', 'pids', name], check=False)
    return [int(pid) for pid in result.stdout.split() if pid.isdigit()]


def _netns_inode(pid):
    """Inode of a process's network namespace, or None when the process is gone."""
    try:
        return os.stat('/proc/%d/ns/net' % pid).st_ino
    except OSError:
        return None


def _marker_path(prefix):
    return os.path.join(MARKER_DIR, prefix + '.json')


def _claim_marker(prefix, data):
    """Create the prefix's marker exclusively: the file doubles as the lock that reserves the prefix."""
    os.makedirs(MARKER_DIR, mode=0o700, exist_ok=True)
    try:
        descriptor = os.open(_marker_path(prefix), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, 'w', encoding='utf-8') as handle:
        json.dump(data, handle)
    return True


def _read_json(path):
    with open(path, encoding='utf-8') as handle:
        return json.load(handle)


# ---------------------------------------------------------------- spec

def _check_ifname(name, what):
    if not isinstance(name, str) or not name or len(name.encode()) > IFNAMSIZ or name in ('.', '..', 'lo') \
            or any(char.isspace() or char in '/:' for char in name):
        raise LabError('%s %r is not a usable interface name (1-%d characters, no spaces, "/" or ":")' % (what, name, IFNAMSIZ))
    return name


def _check_mac(mac, what):
    mac = str(mac).lower()
    if not MAC_RE.match(mac) or int(mac[:2], 16) & 1:
        raise LabError('%s: %r is not a unicast MAC address' % (what, mac))
    return mac


def _cidr_list(value, version, what):
    """A guest's addresses as a list of CIDR strings of one IP version (a single string is accepted too)."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else list(value)
    for item in items:
        try:
            interface = ipaddress.ip_interface(item)
        except ValueError as error:
            raise LabError('%s: %s' % (what, error)) from error
        if interface.version != version or '/' not in str(item):
            raise LabError('%s: %r must be an IPv%d address with a prefix length' % (what, item, version))
    return [str(item) for item in items]


def _optional_address(value, version, what):
    if value in (None, ''):
        return None
    try:
        address = ipaddress.ip_address(value)
    except ValueError as error:
        raise LabError('%s: %s' % (what, error)) from error
    if address.version != version:
        raise LabError('%s: %r is not an IPv%d address' % (what, value, version))
    return str(value)


def _default_guest_mac(index, ipv4):
    """Follow the collection's scheme (02:00 + the IPv4 address in hex) when the guest has an address."""
    if ipv4:
        packed = ipaddress.ip_interface(ipv4[0]).ip.packed
        return '02:00:' + ':'.join('%02x' % byte for byte in packed)
    number = index + 1
    return '02:00:00:01:%02x:%02x' % (number >> 8 & 0xff, number & 0xff)


def _normalize_guest(index, guest):
    if not isinstance(guest, dict):
        raise LabError('guest #%d must be a dict, got %r' % (index + 1, guest))
    unknown = sorted(set(guest) - set(GUEST_KEYS))
    if unknown:
        raise LabError('guest #%d: unknown keys %s (known: %s)' % (index + 1, ', '.join(unknown), ', '.join(GUEST_KEYS)))
    name = str(guest.get('name') or 'g%d' % (index + 1))
    if not GUEST_NAME_RE.match(name) or name in INFRA_ROLES:
        raise LabError('guest name %r must match %s and not be one of %s' % (name, GUEST_NAME_RE.pattern, ', '.join(INFRA_ROLES)))
    what = 'guest %s' % name
    ipv4 = _cidr_list(guest.get('ipv4'), 4, what)
    return {
        'name': name,
        'vif': _check_ifname(guest.get('vif') or 'vif%d.0' % (index + 1), what + ' vif'),
        'mac': _check_mac(guest.get('mac') or _default_guest_mac(index, ipv4), what),
        'ipv4': ipv4,
        'ipv6': _cidr_list(guest.get('ipv6'), 6, what),
        'gateway4': _optional_address(guest.get('gateway4'), 4, what + ' gateway4'),
        'gateway6': _optional_address(guest.get('gateway6'), 6, what + ' gateway6'),
    }


def _check_unique(values, what):
    seen = set()
    for value in values:
        if value in seen:
            raise LabError('%s %r is used twice' % (what, value))
        seen.add(value)


def normalize_spec(spec=None):
    """Fill in defaults and validate a lab spec; the result is what ``Lab.spec`` holds."""
    spec = dict(spec or {})
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise LabError('unknown spec keys %s (known: %s)' % (', '.join(unknown), ', '.join(SPEC_KEYS)))
    uplink = _check_ifname(spec.get('uplink') or 'eth0', 'uplink')
    guests = [_normalize_guest(index, guest) for index, guest in enumerate(spec.get('guests') or [])]
    _check_unique([guest['name'] for guest in guests], 'guest name')
    _check_unique([uplink] + [guest['vif'] for guest in guests], 'dom0 interface name')
    _check_unique([DOM0_MAC] + [guest['mac'] for guest in guests], 'MAC address')
    return {'uplink': uplink, 'ssh': bool(spec.get('ssh', True)), 'internet': bool(spec.get('internet', False)),
            'guests': guests}


def _on_link(gateway, cidrs):
    """Whether a gateway lies in one of the guest's subnets (else the route needs 'onlink', as with vif-route /32s)."""
    address = ipaddress.ip_address(gateway)
    if address.is_link_local:
        return True
    return any(address in ipaddress.ip_interface(cidr).network for cidr in cidrs)


def _guest_eth0_commands(guest):
    """ip -batch lines that give the guest's eth0 its MAC, addresses and routes."""
    lines = ['link set eth0 address %s' % guest['mac']]
    lines += ['addr add %s dev eth0' % cidr for cidr in guest['ipv4']]
    lines += ['addr add %s dev eth0 nodad' % cidr for cidr in guest['ipv6']]
    lines.append('link set eth0 up')
    for default, gateway, cidrs in (('default', guest['gateway4'], guest['ipv4']), ('::/0', guest['gateway6'], guest['ipv6'])):
        if gateway:
            onlink = '' if _on_link(gateway, cidrs) else ' onlink'
            lines.append('route add %s via %s dev eth0%s' % (default, gateway, onlink))
    return lines


# ---------------------------------------------------------------- boot: reading the files a dom0 persisted

# What a lab boot may run from a unit in sysinit.target.wants: loaders of firewall state and kernel settings.
BOOT_UNIT_PROGRAMS = ('nft', 'ebtables-restore', 'iptables-restore', 'ip6tables-restore', 'ebtables-nft-restore',
                      'iptables-nft-restore', 'ip6tables-nft-restore', 'modprobe', 'sysctl')
# ebtables-restore reads only its standard input: xen_antispoof's unit feeds it the file through this fixed sh line,
# the program and the file passed as arguments. Only this exact script is run, and only with an allowed program.
BOOT_UNIT_STDIN_SCRIPT = 'exec "$0" --noflush <"$1"'
BOOT_DIR = 'boot'  # in the workdir: the hook directories, ifupdown's state, the report
BOOT_REPORT = 'boot.json'
# bridge-utils' ifupdown hook, and the hook directories its package links it into (the only hooks a lab ifup runs).
BRIDGE_UTILS_HOOK = '/lib/bridge-utils/ifupdown.sh'
IFUPDOWN_HOOK_DIRS = {'if-pre-up.d': True, 'if-up.d': False, 'if-down.d': True, 'if-post-down.d': True}
SYSTEMD_SYSCTL = '/lib/systemd/systemd-sysctl'
# What runs ifup/ifquery (sh -c SCRIPT xenlab-ifupdown NAMESPACE ETC_NETWORK PROGRAM ARGS...) inside
# `ip netns exec NAMESPACE unshare --mount --propagation private`: it checks that its network namespace is
# NAMESPACE's (exit 97 otherwise), then puts ETC_NETWORK on /etc/network for itself alone.
IFUPDOWN_SCRIPT = ('set -e\n'
                   'want=$(stat -L -c %d:%i "/run/netns/$1"); got=$(stat -L -c %d:%i /proc/self/ns/net)\n'
                   '[ "$want" = "$got" ] || { echo "xenlab: not inside namespace $1: refusing to run ifupdown" >&2; exit 97; }\n'
                   'mount --bind "$2" /etc/network\n'
                   'shift 2\n'
                   'exec "$@"\n')
# 99-systemd.rules: what udev runs for every network device but lo as it appears.
UDEV_SYSCTL_PREFIXES = ('/net/ipv4/conf/%s', '/net/ipv4/neigh/%s', '/net/ipv6/conf/%s', '/net/ipv6/neigh/%s')
# call_hooks vif post (xen-hotplug-common.sh): each hook sourced, with what vif-common.sh has set.
VIF_HOOKS_SCRIPT = 'dev=$1 vif=$1 command=$2 ip=$3 type_if=vif; shift 3; for hook in "$@"; do . "$hook"; done'
# vif-route (Xen 4.17+): the route metric of a vif (type vif; a tap gets 1).
VIF_ROUTE_METRIC = 2
XL_DEFAULT_SCRIPT = 'vif-bridge'
XL_DEFAULT_BRIDGE = 'xenbr0'
XL_DEFAULT_GATEWAYDEV = 'eth0'  # vif-common.sh: ${netdev:-eth0}

_UNIT_C_ESCAPES = {'a': '\a', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t', 'v': '\v', '\\': '\\', '"': '"',
                   "'": "'", 's': ' '}


class BootError(LabError):
    """A boot file the lab cannot or will not carry out."""


def read_unit(path, dropins=()):
    """A systemd unit file (plus its drop-ins, in order) as {section: [(key, value), ...]}.

    Lines ending in a backslash continue on the next; '#' and ';' start comment lines; an empty
    assignment resets a list setting (systemd.syntax(7)), which callers see as an empty value.
    """
    sections = {}
    for name in [path] + list(dropins):
        with open(name, encoding='utf-8') as handle:
            lines = handle.read().splitlines()
        section = None
        pending = ''
        for raw in lines:
            line = pending + raw.strip() if pending else raw.strip()
            pending = ''
            if not line or line[0] in '#;':
                continue
            if line.endswith('\\'):
                pending = line[:-1] + ' '
                continue
            if line.startswith('[') and line.endswith(']'):
                section = sections.setdefault(line[1:-1], [])
                continue
            if section is None or '=' not in line:
                raise BootError('%s: cannot read the line %r' % (name, raw))
            key, value = line.split('=', 1)
            section.append((key.strip(), value.strip()))
    return sections


def unit_values(unit, section, key):
    """Every value of a list setting, an empty assignment dropping those before it."""
    values = []
    for name, value in unit.get(section, []):
        if name == key:
            values = [] if value == '' else values + [value]
    return values


def unit_words(value):
    """Split an Exec line as systemd does: words at white space, quotes removed, C escapes decoded.

    Specifiers other than %% and variables other than $$ are refused: the lab does not expand them.
    """
    words, word, quote, index, started = [], [], None, 0, False
    while index < len(value):
        char = value[index]
        if char == '\\' and index + 1 < len(value):
            following = value[index + 1]
            if following == 'x' and re.match(r'[0-9A-Fa-f]{2}', value[index + 2:index + 4]):
                word.append(chr(int(value[index + 2:index + 4], 16)))
                index += 4
            elif following in _UNIT_C_ESCAPES:
                word.append(_UNIT_C_ESCAPES[following])
                index += 2
            else:
                raise BootError('Exec line %r: escape \\%s is not one the lab decodes' % (value, following))
            started = True
            continue
        if quote:
            if char == quote:
                quote = None
            else:
                word.append(char)
        elif char in '"\'':
            quote, started = char, True
        elif char.isspace():
            if started:
                words.append(''.join(word))
            word, started = [], False
        else:
            word.append(char)
            started = True
        index += 1
    if quote:
        raise BootError('Exec line %r: unterminated quote' % value)
    if started:
        words.append(''.join(word))
    decoded = []
    for word in words:
        for marker in ('%', '$'):
            if re.search(re.escape(marker) + r'(?!' + re.escape(marker) + r')', word.replace(marker * 2, '')):
                raise BootError('Exec line %r: %r holds a %s the lab does not expand' % (value, word, marker))
        decoded.append(word.replace('%%', '%').replace('$$', '$'))
    return decoded


def exec_command(value):
    """(ignore_failure, argv) of one Exec line: its prefix characters ('-' ignores failure), then the words."""
    prefix = re.match(r'[-@:+!|]*', value).group()
    if set(prefix) - {'-'}:
        raise BootError('Exec line %r: prefix %r is not one the lab carries out (only "-")' % (value, prefix))
    argv = unit_words(value[len(prefix):])
    if not argv:
        raise BootError('Exec line %r: no command' % value)
    return '-' in prefix, argv


def _sysctl_key_is_net(key):
    """Whether a sysctl key (dot or slash form, as systemd-sysctl and procps read it) lies under net."""
    key = key.strip().lstrip('-')
    first = re.search(r'[./]', key)
    separator = first.group() if first else '.'
    return key.strip(separator).split(separator, 1)[0] == 'net'


def sysctl_file_keys(path):
    """Keys of a sysctl.d file (sysctl.d(5): 'key = value', '#' and ';' comments, '-' before a key)."""
    keys = []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.strip()
            if not line or line[0] in '#;':
                continue
            if '=' not in line:
                raise BootError('%s: %r is not "key = value"' % (path, line))
            keys.append(line.split('=', 1)[0].strip())
    return keys


def check_boot_command(argv):
    """Refuse a unit command the lab must not run: anything but the firewall and sysctl loaders,
    and a sysctl outside net (which a network namespace does not keep to itself)."""
    program = os.path.basename(argv[0])
    if program == 'sh' and len(argv) == 5 and argv[1:3] == ['-c', BOOT_UNIT_STDIN_SCRIPT]:
        check_boot_command(argv[3:4])
        return
    if program not in BOOT_UNIT_PROGRAMS:
        raise BootError('refusing %s: a lab boot runs only %s from units' % (shlex.join(argv), ', '.join(BOOT_UNIT_PROGRAMS)))
    if program != 'sysctl':
        return
    arguments = list(argv[1:])
    while arguments:
        argument = arguments.pop(0)
        if argument in ('-q', '--quiet', '-e', '--ignore', '-w', '--write'):
            continue
        if argument in ('-p', '--load') or argument.startswith('--load=') or argument.startswith('-p'):
            path = argument.split('=', 1)[1] if '=' in argument else (argument[2:] or (arguments.pop(0) if arguments else ''))
            keys = sysctl_file_keys(path)
            outside = [key for key in keys if not _sysctl_key_is_net(key)]
            if outside or not keys:
                raise BootError('refusing %s: %s sets %s, outside net' % (shlex.join(argv), path, outside or 'nothing'))
            continue
        if argument.startswith('-') or '=' not in argument or not _sysctl_key_is_net(argument.split('=', 1)[0]):
            raise BootError('refusing %s: a lab boot runs sysctl only with -w/-p and keys under net (%r)' % (shlex.join(argv), argument))


def boot_units(unit_dir, target='sysinit.target'):
    """The units enabled in <unit_dir>/<target>.wants, in start order, each with its Exec commands.

    A unit is read from <unit_dir>/<name> (or where its link points), with <unit_dir>/<name>.d/*.conf;
    order follows their After=/Before= among themselves, then the name.
    """
    wants = os.path.join(unit_dir, target + '.wants')
    units = {}
    for name in sorted(os.listdir(wants)) if os.path.isdir(wants) else []:
        link = os.path.join(wants, name)
        path = os.path.join(unit_dir, name)
        if not os.path.isfile(path):
            path = os.path.realpath(link)
        if not os.path.isfile(path):
            raise BootError('%s is enabled in %s but neither %s nor its link target exists' % (name, wants, os.path.join(unit_dir, name)))
        dropins = sorted(glob.glob(os.path.join(unit_dir, name + '.d', '*.conf')))
        unit = read_unit(path, dropins)
        commands = []
        for key in ('ExecStartPre', 'ExecStart', 'ExecStartPost'):
            for value in unit_values(unit, 'Service', key):
                ignore, argv = exec_command(value)
                commands.append({'key': key, 'ignore_failure': ignore, 'argv': argv})
        ordering = {key: [word for value in unit_values(unit, 'Unit', key) for word in value.split()] for key in ('After', 'Before', 'Wants', 'Requires')}
        units[name] = {'name': name, 'path': path, 'link': link, 'dropins': dropins, 'commands': commands,
                       'default_dependencies': (dict(unit.get('Unit', [])).get('DefaultDependencies', 'yes')).lower() not in ('no', 'false', '0', 'off'),
                       'type': dict(unit.get('Service', [])).get('Type', 'simple'), **{key.lower(): value for key, value in ordering.items()}}
    ordered, placed = [], set()
    while len(ordered) < len(units):
        ready = [name for name in sorted(units) if name not in placed
                 and all(other in placed for other in units[name]['after'] if other in units)
                 and not any(name in units[other]['before'] for other in units if other not in placed and other != name)]
        if not ready:
            raise BootError('ordering cycle among %s' % ', '.join(sorted(set(units) - placed)))
        ordered.append(units[ready[0]])
        placed.add(ready[0])
    return ordered


def sysctl_files(paths):
    """sysctl.d files from files and directories (their *.conf), in the order systemd-sysctl reads them: by name."""
    found = {}
    for path in paths:
        candidates = sorted(glob.glob(os.path.join(path, '*.conf'))) if os.path.isdir(path) else [path]
        for candidate in candidates:
            if os.path.isfile(candidate):
                found.setdefault(os.path.basename(candidate), candidate)
    return [found[name] for name in sorted(found)]


def read_xl_vifs(path):
    """The vif specs of an xl config file, each as a dict (the key=value pairs of one 'vif = [...]' string)."""
    with open(path, encoding='utf-8') as handle:
        text = handle.read()
    text = '\n'.join(line for line in text.splitlines() if not line.lstrip().startswith('#'))
    match = re.search(r'^\s*vif\s*=\s*\[(.*?)\]', text, re.MULTILINE | re.DOTALL)
    if not match:
        return []
    vifs = []
    for single, double in re.findall(r"'([^']*)'|\"([^\"]*)\"", match.group(1)):
        spec = {}
        for item in (single or double).split(','):
            item = item.strip()
            if item:
                key, _sep, value = item.partition('=')
                spec[key.strip()] = value.strip()
        vifs.append(spec)
    return vifs


def read_xl_conf(path):
    """key -> value of an xl.conf (quoted strings unquoted)."""
    settings = {}
    if not path or not os.path.exists(path):
        return settings
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            line = line.split('#', 1)[0].strip()
            if '=' in line:
                key, value = line.split('=', 1)
                settings[key.strip()] = value.strip().strip('"\'')
    return settings


# ---------------------------------------------------------------- the lab

class Lab:
    """One throw-away dom0 with its upstream, optional internet and guests, each in its own namespace."""

    def __init__(self, spec=None, prefix=None, workdir=None, python=None):
        self.spec = normalize_spec(spec)
        if prefix is not None and not PREFIX_RE.match(prefix):
            raise LabError('prefix %r must match %s' % (prefix, PREFIX_RE.pattern))
        self._prefix_given = prefix is not None
        self.prefix = prefix or _random_prefix()
        self.python = os.path.abspath(python or sys.executable)
        self.workdir = None  # set once the lab owns it: down() removes it
        self._requested_workdir = os.path.abspath(workdir) if workdir else None
        self._namespaces = {}  # role -> namespace, only those this lab created
        self._processes = []  # identities (pid, starttime, role, argv) of processes this lab started
        self._popens = {}  # pid -> Popen of those started by this very process, to reap them
        self._plugged = {}  # guest -> bridge its vif was plugged into
        self._owner = _identity(os.getpid())
        self._claimed = False

    def __repr__(self):
        return 'Lab(prefix=%r, workdir=%r, guests=%r)' % (self.prefix, self.workdir, [g['name'] for g in self.spec['guests']])

    def __enter__(self):
        return self.up()

    def __exit__(self, exc_type, exc, traceback):
        self.down()
        return False

    # -------------------------------------------------------- naming

    @property
    def _stamp(self):
        return STAMP_PREFIX + self.prefix

    def roles(self):
        """Every role of this lab: 'upstream', 'dom0', maybe 'internet', then the guest names."""
        infra = ['upstream', 'dom0'] + (['internet'] if self.spec['internet'] else [])
        return infra + [guest['name'] for guest in self.spec['guests']]

    def ns(self, role):
        """Namespace name of a role ('dom0', 'upstream', 'internet' or a guest name)."""
        if role not in self.roles():
            raise LabError('lab %s has no role %r (roles: %s)' % (self.prefix, role, ', '.join(self.roles())))
        return '%s-%s' % (self.prefix, role)

    def guest(self, name):
        """The normalized spec of one guest (name, vif, mac, ipv4, ipv6, gateway4, gateway6)."""
        for guest in self.spec['guests']:
            if guest['name'] == name:
                return guest
        raise LabError('lab %s has no guest %r' % (self.prefix, name))

    def controller_prefix(self):
        """Command prefix that runs a controller (ansible-playbook, ssh) where it can reach dom0's sshd."""
        return ['ip', 'netns', 'exec', self.ns('upstream')]

    def _path(self, name):
        return os.path.join(self.workdir, name)

    # -------------------------------------------------------- running things inside

    def run(self, role, argv, check=True, timeout=30, input=None):
        """Run argv (a list, or a string for ``sh -c``) inside a role's namespace; returns a text CompletedProcess."""
        if isinstance(argv, str):
            argv = ['sh', '-c', argv]
        return _execute([_tool('ip'), 'netns', 'exec', self.ns(role)] + list(argv), check=check, timeout=timeout, input=input)

    def ping(self, role, address, count=1, timeout=2):
        """Whether `role` gets an answer from an IPv4 or IPv6 address."""
        family = '-6' if ipaddress.ip_address(address).version == 6 else '-4'
        argv = ['ping', family, '-n', '-q', '-c', str(count), '-i', '0.2', '-W', str(timeout), address]
        return self.run(role, argv, check=False, timeout=count * (timeout + 1) + 5).returncode == 0

    def spawn(self, role, argv, log_name=None):
        """Start a long-running process (in the foreground: no daemonizing) inside a role's namespace.

        The lab stops it on down(); its output goes to a log file in the workdir.
        """
        log_path = self._path(log_name or '%s-%s-%d.log' % (role, os.path.basename(argv[0]), len(self._processes) + 1))
        with open(log_path, 'ab') as log:
            # A new session keeps a terminal's Ctrl-C or hangup from killing it behind the lab's back.
            popen = subprocess.Popen([_tool('ip'), 'netns', 'exec', self.ns(role)] + list(argv), stdin=subprocess.DEVNULL,
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        record = dict(_identity(popen.pid), role=role, argv=list(argv), log=log_path)
        self._processes.append(record)
        self._popens[popen.pid] = popen
        self._save()
        return popen

    def stop(self, popen):
        """Stop a process started by spawn() before the lab goes down."""
        records = [record for record in self._processes if record['pid'] == popen.pid]
        _terminate(records, self._popens)
        self._processes = [record for record in self._processes if record['pid'] != popen.pid]
        self._popens.pop(popen.pid, None)
        self._save()

    def ssh_argv(self, command):
        """argv that runs a command on dom0 over SSH, from the upstream namespace (usable from the root namespace)."""
        if not self.spec['ssh']:
            raise LabError('lab %s was built without ssh' % self.prefix)
        command = [command] if isinstance(command, str) else list(command)
        options = ['-F', '/dev/null', '-i', self._path('id_ed25519'), '-p', str(SSH_PORT), '-o', 'BatchMode=yes',
                   '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
                   '-o', 'ConnectTimeout=5']
        return self.controller_prefix() + [_tool('ssh')] + options + ['%s@%s' % (SSH_USER, _host(DOM0_IPV4))] + command

    def ssh(self, command, check=True, timeout=30):
        return _execute(self.ssh_argv(command), check=check, timeout=timeout)

    # -------------------------------------------------------- Xen look-alikes

    def plug(self, guest, bridge):
        """Do what Xen's vif-bridge hotplug script does: make the guest's vif a port of a dom0 bridge."""
        vif = self.guest(guest)['vif']
        self._ip_batch('dom0', ['link set %s master %s' % (vif, bridge), 'link set %s up' % vif])
        self._plugged[guest] = bridge
        self._save()

    def unplug(self, guest):
        """Detach the guest's vif from its bridge, as when the hotplug script has not run yet."""
        self._ip_batch('dom0', ['link set %s nomaster' % self.guest(guest)['vif']])
        self._plugged.pop(guest, None)
        self._save()

    def restart_guest(self, guest, replug=False):
        """Delete and recreate the guest's veth (same names, MAC, addresses), like a guest reboot.

        The new vif comes up unattached (the state before the hotplug script runs) unless
        replug is true and the old one was plugged. Its ifindex changes, as with real Xen.
        """
        spec = self.guest(guest)
        bridge = self._plugged.pop(guest, None)
        self._ip(['-n', self.ns('dom0'), 'link', 'del', spec['vif']])  # takes the guest's eth0 with it
        self._build_guest(spec)
        self._wait_for_links(self._lab_links([spec]))
        if replug and bridge:
            self.plug(guest, bridge)
        self._save()

    # -------------------------------------------------------- life cycle

    def up(self):
        """Build the whole lab; on any failure tear down what was built and re-raise."""
        if self._claimed:
            raise LabError('lab %s is already up' % self.prefix)
        try:
            self._claim_prefix()
            self._make_workdir()
            self._build_network()
            self._write_python_wrapper()
            if self.spec['ssh']:
                self.write_interfaces()
            if self.spec['ssh']:
                self._start_sshd()
            self._save()
            self.write_inventory()
        except BaseException:
            self.down()
            raise
        return self

    def down(self):
        """Stop started processes, delete the namespaces, remove the workdir. Safe to call twice."""
        problems = []
        _terminate(self._processes, self._popens)
        self._processes, self._popens = [], {}
        for role, name in list(self._namespaces.items()):
            try:
                self._delete_namespace(name)
                del self._namespaces[role]
            except (LabError, OSError, subprocess.SubprocessError) as error:
                problems.append('%s: %s' % (name, error))
        if problems:
            # Keep the marker and workdir so that `sweep` or another down() can finish the job.
            raise LabError('lab %s not fully removed: %s' % (self.prefix, '; '.join(problems)))
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None
        if self._claimed:
            marker = _marker_path(self.prefix)
            if os.path.exists(marker):
                os.unlink(marker)
            self._claimed = False

    def _delete_namespace(self, name):
        if not _namespace_exists(name):
            return
        stamp = _namespace_stamp(name)
        if stamp != self._stamp:
            # Only a namespace carrying our stamp is ours; anything else stays, whatever its name.
            _warn('left namespace %s alone: its stamp is %r, not %r' % (name, stamp, self._stamp))
            return
        strays = _namespace_pids(name)
        # Ansible's async_wrapper outlives its job by a poll interval or so; give such stragglers a moment.
        deadline = time.monotonic() + 5
        while strays and time.monotonic() < deadline:
            time.sleep(0.2)
            strays = _namespace_pids(name)
        if strays:
            _warn('processes not started through the lab still run in %s: %s; they keep it alive after deletion '
                  '(start them with Lab.spawn to have them stopped)' % (name, ', '.join(map(str, strays))))
        self._ip(['netns', 'del', name])

    def _claim_prefix(self):
        for _attempt in range(50):
            taken = any(_namespace_exists('%s-%s' % (self.prefix, role)) for role in self.roles())
            if not taken and _claim_marker(self.prefix, self._record()):
                self._claimed = True
                return
            if self._prefix_given:
                raise LabError('prefix %s is in use (marker %s or its namespaces exist)' % (self.prefix, _marker_path(self.prefix)))
            self.prefix = _random_prefix()
        raise LabError('found no free lab prefix')

    def _make_workdir(self):
        if self._requested_workdir:
            os.makedirs(self._requested_workdir, mode=0o700, exist_ok=True)
            if os.listdir(self._requested_workdir):
                raise LabError('workdir %s is not empty; down() removes the workdir, so give a new or empty one' % self._requested_workdir)
            self.workdir = self._requested_workdir
        else:
            self.workdir = tempfile.mkdtemp(prefix='xenlab-%s-' % self.prefix)
        self._update_marker()

    # -------------------------------------------------------- building the network

    def _ip(self, args):
        return _execute([_tool('ip')] + list(args))

    def _ip_batch(self, role, lines):
        """Several ip commands in one process: much faster than one exec per command."""
        return _execute([_tool('ip'), '-n', self.ns(role), '-batch', '-'], input='\n'.join(lines) + '\n')

    def _sysctl(self, role, settings):
        return self.run(role, [_tool('sysctl'), '-q', '-w'] + list(settings))

    def _build_network(self):
        for role in self.roles():
            self._add_namespace(role)
        self._build_uplink()
        if self.spec['internet']:
            self._build_internet()
        for guest in self.spec['guests']:
            self._build_guest(guest)
        self._wait_for_links(self._lab_links())

    def _lab_links(self, guests=None):
        """(role, ifname) of every link the lab made, or only of the given guests' vifs."""
        pairs = []
        if guests is None:
            pairs += [('dom0', self.spec['uplink']), ('upstream', 'eth0')]
            pairs += [('upstream', WAN_IFNAME), ('internet', 'eth0')] if self.spec['internet'] else []
        for guest in self.spec['guests'] if guests is None else guests:
            pairs += [('dom0', guest['vif']), (guest['name'], 'eth0')]
        return pairs

    def _wait_for_links(self, pairs, timeout=10.0):
        """Wait until the links are operationally up.

        The kernel turns carrier changes into "operstate UP" (and activates the queue and IPv6 on the link)
        in a deferred, rate-limited work item: for up to a second after `ip link set up` the first packets,
        IPv6 neighbour solicitations especially, are dropped. A lab is only ready once that has happened.
        """
        deadline = time.monotonic() + timeout
        pending = list(pairs)
        while pending:
            pending = [(role, ifname) for role, ifname in pending if self._operstate(role, ifname) != 'UP']
            if pending and time.monotonic() > deadline:
                raise LabError('links still not up after %.0f s: %s' % (timeout, pending))
            if pending:
                time.sleep(0.02)

    def _operstate(self, role, ifname):
        result = _execute([_tool('ip'), '-j', '-n', self.ns(role), 'link', 'show', 'dev', ifname], check=False)
        try:
            return json.loads(result.stdout)[0].get('operstate')
        except (ValueError, IndexError, AttributeError):
            return None

    def _add_namespace(self, role):
        name = self.ns(role)
        self._ip(['netns', 'add', name])  # fails if the name exists: we never adopt a namespace
        self._namespaces[role] = name
        self._ip_batch(role, ['link set lo up', 'link set lo alias %s' % self._stamp])
        self._sysctl(role, NAMESPACE_SYSCTLS)

    def _build_uplink(self):
        """dom0's "physical NIC": a veth whose other end is upstream's eth0, the gateway."""
        uplink = self.spec['uplink']
        self._ip_batch('dom0', [
            'link add %s type veth peer name eth0 netns %s' % (uplink, self.ns('upstream')),
            'link set %s address %s' % (uplink, DOM0_MAC),
            'addr add %s dev %s' % (DOM0_IPV4, uplink),
            'addr add %s dev %s nodad' % (DOM0_IPV6, uplink),
            'link set %s up' % uplink,
        ])
        self._ip_batch('upstream', [
            'link set eth0 address %s' % UPSTREAM_MAC,
            'addr add %s dev eth0' % UPSTREAM_IPV4,
            'addr add %s dev eth0 nodad' % UPSTREAM_IPV6,
            'link set eth0 up',
        ])
        self._ip_batch('dom0', [
            'route add default via %s dev %s' % (_host(UPSTREAM_IPV4), uplink),
            'route add ::/0 via %s dev %s' % (_host(UPSTREAM_IPV6), uplink),
        ])

    def _build_internet(self):
        """A far side behind upstream, which routes (and only it) between dom0's segment and the internet."""
        self._ip_batch('upstream', [
            'link add %s type veth peer name eth0 netns %s' % (WAN_IFNAME, self.ns('internet')),
            'link set %s address %s' % (WAN_IFNAME, WAN_MAC),
            'addr add %s dev %s' % (WAN_IPV4, WAN_IFNAME),
            'addr add %s dev %s nodad' % (WAN_IPV6, WAN_IFNAME),
            'link set %s up' % WAN_IFNAME,
        ])
        self._ip_batch('internet', [
            'link set eth0 address %s' % INTERNET_MAC,
            'addr add %s dev eth0' % INTERNET_IPV4,
            'addr add %s dev eth0 nodad' % INTERNET_IPV6,
            'link set eth0 up',
            'route add %s via %s dev eth0' % (ipaddress.ip_interface(DOM0_IPV4).network, _host(WAN_IPV4)),
            'route add %s via %s dev eth0' % (ipaddress.ip_interface(DOM0_IPV6).network, _host(WAN_IPV6)),
        ])
        self._sysctl('upstream', ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])

    def _build_guest(self, guest, vif_ipv6=False):
        """A vif: dom0 end named like Xen's backend, up but on no bridge; guest end eth0 fully configured.

        The vif's IPv6 is off unless vif_ipv6 (the kernel's default, which a routed vif keeps at boot).
        """
        vif = guest['vif']
        self._ip_batch('dom0', [
            'link add %s type veth peer name eth0 netns %s' % (vif, self.ns(guest['name'])),
            'link set %s address %s' % (vif, XEN_VIF_MAC),
        ])
        # Before the link goes up: with IPv6 on, every vif would send router solicitations and MLD reports
        # from fe:ff:ff:ff:ff:ff, which a bridge reports as its own address arriving on a port.
        if not vif_ipv6:
            self._sysctl('dom0', ['net/ipv6/conf/%s/disable_ipv6=1' % vif])  # '/' form: vif names hold dots
        self._ip_batch('dom0', ['link set %s up' % vif])
        self._ip_batch(guest['name'], _guest_eth0_commands(guest))

    # -------------------------------------------------------- sshd

    def _start_sshd(self):
        for key in ('ssh_host_ed25519_key', 'id_ed25519'):
            _execute([_tool('ssh-keygen'), '-q', '-t', 'ed25519', '-N', '', '-C', 'xenlab-%s' % self.prefix, '-f', self._path(key)])
        shutil.copyfile(self._path('id_ed25519.pub'), self._path('authorized_keys'))
        config = SSHD_CONFIG.format(prefix=self.prefix, host=_host(DOM0_IPV4), port=SSH_PORT, host_key=self._path('ssh_host_ed25519_key'),
                                    pid_file=self._path('sshd.pid'), authorized_keys=self._path('authorized_keys'))
        _write_text(self._path('sshd_config'), config, 0o600)
        self._spawn_sshd()

    def _spawn_sshd(self):
        """Run dom0's sshd from the config and keys in the workdir; return once it accepts connections."""
        # sshd refuses to start without its privilege separation directory, which only the service unit creates.
        os.makedirs('/run/sshd', mode=0o755, exist_ok=True)
        # -D keeps sshd in the foreground so the pid we hold is sshd itself (ip netns exec execs it).
        popen = self.spawn('dom0', [_tool('sshd'), '-D', '-e', '-f', self._path('sshd_config')], log_name='sshd.log')
        self._wait_for_sshd(popen)

    def _wait_for_sshd(self, popen, timeout=10.0):
        """Return once a TCP connection from upstream to dom0:22 succeeds."""
        probe = ['bash', '-c', 'exec 3<>/dev/tcp/%s/%d' % (_host(DOM0_IPV4), SSH_PORT)]
        deadline = time.monotonic() + timeout
        while True:
            if popen.poll() is not None:
                raise LabError('sshd exited with %s: %s' % (popen.returncode, self._log_tail('sshd.log')))
            if self.run('upstream', probe, check=False, timeout=5).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise LabError('sshd accepted no connection within %.0f s: %s' % (timeout, self._log_tail('sshd.log')))
            time.sleep(0.05)

    def _log_tail(self, name):
        try:
            with open(self._path(name), encoding='utf-8', errors='replace') as handle:
                return handle.read()[-2000:].strip()
        except OSError:
            return '(no log)'

    # -------------------------------------------------------- reboot: a fresh dom0 from its boot files

    def power_off(self):
        """dom0 goes down the hard way: every process in its namespace ends, the namespace and all its links go.

        The peers of its veths (upstream's eth0, every guest's eth0) vanish with them, as a NIC's link and the
        guests do when a real dom0 goes off. SSH control masters in <workdir>/cp (Ansible's, to this dom0) are
        told to exit. Files stay: the workdir is dom0's disk.
        """
        name = self.ns('dom0')
        if not _namespace_exists(name):
            raise LabError('lab %s has no dom0 namespace to power off' % self.prefix)
        if _namespace_stamp(name) != self._stamp:
            raise LabError('namespace %s does not carry the stamp of lab %s' % (name, self.prefix))
        for socket in sorted(glob.glob(os.path.join(self._path('cp'), '*'))):
            _execute(self.controller_prefix() + [_tool('ssh'), '-O', 'exit', '-S', socket, 'dom0'], check=False, timeout=10)
        ours = [record for record in self._processes if record.get('role') == 'dom0']
        _terminate(ours, self._popens)
        self._processes = [record for record in self._processes if record.get('role') != 'dom0']
        # What else runs in dom0 (a daemon a module started, an async job) goes too: identified by pid and
        # start time, and only while its network namespace is still this one.
        inode = os.stat(os.path.join('/run/netns', name)).st_ino
        strays = [_identity(pid) for pid in _namespace_pids(name) if _netns_inode(pid) == inode]
        _terminate(strays)
        self._ip(['netns', 'del', name])
        self._namespaces.pop('dom0', None)
        # The kernel destroys the namespace's links (and their peers elsewhere) in a deferred work item.
        peers = [('upstream', 'eth0')] + [(guest['name'], 'eth0') for guest in self.spec['guests']]
        deadline = time.monotonic() + 10
        while any(self._operstate(role, ifname) is not None for role, ifname in peers):
            if time.monotonic() > deadline:
                raise LabError('the peers of dom0\'s links are still there 10 s after its namespace went: %s' % peers)
            time.sleep(0.02)
        self._plugged = {}
        self._save()

    def power_on(self):
        """A fresh dom0 namespace as firmware leaves it: lo, and the NIC with its MAC, down and without address."""
        if _namespace_exists(self.ns('dom0')):
            raise LabError('lab %s: dom0 is still on' % self.prefix)
        self._add_namespace('dom0')
        uplink = self.spec['uplink']
        self._ip_batch('dom0', [
            'link add %s type veth peer name eth0 netns %s' % (uplink, self.ns('upstream')),
            'link set %s address %s' % (uplink, DOM0_MAC),
        ])
        self._ip_batch('upstream', [
            'link set eth0 address %s' % UPSTREAM_MAC,
            'addr add %s dev eth0' % UPSTREAM_IPV4,
            'addr add %s dev eth0 nodad' % UPSTREAM_IPV6,
            'link set eth0 up',
        ])
        self._save()

    def reboot(self, units=None, interfaces=None, sysctl=(), dnsmasq=(), xl_dir=None, xl_conf=None, vif_hooks=None):
        """power_off(), power_on(), then boot() from the files; returns boot()'s report."""
        self.power_off()
        self.power_on()
        return self.boot(units=units, interfaces=interfaces, sysctl=sysctl, dnsmasq=dnsmasq, xl_dir=xl_dir, xl_conf=xl_conf,
                         vif_hooks=vif_hooks)

    def boot(self, units=None, interfaces=None, sysctl=(), dnsmasq=(), xl_dir=None, xl_conf=None, vif_hooks=None):
        """Bring a powered-on, bare dom0 up from files only, in a Debian 12 dom0's boot order.

        1. systemd-sysctl.service: the net keys of the sysctl files (systemd-sysctl itself, --prefix=/net/).
        2. udev's coldplug of the NIC: the sysctl keys of its name (99-systemd.rules).
        3. The units enabled in <units>/sysinit.target.wants (ordered Before=network-pre.target): their
           ExecStartPre/ExecStart/ExecStartPost lines, nft/ebtables-restore/iptables-restore/
           ip6tables-restore/modprobe/sysctl only.
        4. ifupdown: ifup --allow=hotplug for each allow-hotplug interface that exists (udev), then ifup -a
           (networking.service), on the interfaces file, inside dom0, in a private mount namespace whose
           /etc/network holds only bridge-utils' hook.
        5. udev, for every interface ifup made: the sysctl keys of its name.
        6. dnsmasq: each config file, as a xenfleet-nat unit runs it (--test, then --keep-in-foreground -C),
           and the dnsmasq units enabled in <units>/multi-user.target.wants.
        7. sshd (After=network.target).
        8. xendomains: every guest with <xl_dir>/<guest>.cfg starts: its vif appears (udev sysctl keys), then
           the vif's hotplug script: vif-bridge (plug) or vif-route (dom0's address, proxy ARP, host routes),
           then, as both scripts end, every *.hook of vif_hooks (Xen's vif-post.d), sourced by bash -e with
           dev, vif, command=online, type_if=vif and ip set.

        A failing step is recorded and the boot goes on, as a real boot does. The report (also
        <workdir>/boot.json) lists every step with its command, exit status and output; report['failed']
        counts the failures.
        """
        if not _namespace_exists(self.ns('dom0')):
            raise LabError('lab %s: dom0 is off (power_on first)' % self.prefix)
        boot_dir = self._path(BOOT_DIR)
        shutil.rmtree(boot_dir, ignore_errors=True)
        os.makedirs(os.path.join(boot_dir, 'ifstate'))
        report = {'steps': [], 'failed': 0, 'started': time.time()}
        files = sysctl_files(sysctl)
        report['sysctl_files'] = files

        step = self._stepper(report)

        # 1-2: systemd-sysctl.service, then udev coldplug of the interfaces that exist at boot (the NIC)
        if files:
            step('systemd-sysctl.service', [SYSTEMD_SYSCTL, '--prefix=/net/'] + files)
        for ifname in self._dom0_links():
            self._udev_sysctl(step, ifname, files)

        # 3: units in sysinit.target.wants
        if units:
            try:
                enabled = boot_units(units)
            except (BootError, OSError) as error:
                step('units in %s/sysinit.target.wants' % units, error=str(error))
                enabled = []
            for unit in enabled:
                report.setdefault('units', []).append({key: unit[key] for key in ('name', 'path', 'before', 'after', 'wants',
                                                                                  'default_dependencies', 'type')})
                for command in unit['commands']:
                    try:
                        check_boot_command(command['argv'])
                    except (BootError, OSError) as error:
                        step('%s %s (refused)' % (unit['name'], command['key']), command['argv'], error=str(error))
                        continue
                    step('%s %s' % (unit['name'], command['key']), command['argv'], ignore_failure=command['ignore_failure'])

        # 4-5: ifupdown, with udev's sysctl keys for what it made
        if interfaces:
            before = set(self._dom0_links())
            hotplug = self._ifupdown(['ifquery', '--allow', 'hotplug', '--list'], interfaces)
            hotplug_names = hotplug.stdout.split() if hotplug.returncode == 0 else []
            for ifname in hotplug_names:
                if ifname in before:
                    step('udev: ifup --allow=hotplug %s' % ifname, action=lambda ifname=ifname: self._ifupdown(
                        ['ifup', '--allow=hotplug', ifname], interfaces), argv=['ifup', '--allow=hotplug', ifname])
            step('networking.service: ifup -a', action=lambda: self._ifupdown(['ifup', '-a'], interfaces), argv=['ifup', '-a'])
            for ifname in self._dom0_links():
                if ifname not in before:
                    self._udev_sysctl(step, ifname, files)

        # 6: dnsmasq
        for config in dnsmasq:
            dnsmasq_path = _tool('dnsmasq')
            if step('dnsmasq --test -C %s' % config, [dnsmasq_path, '--test', '-C', config]):
                step('dnsmasq -k -C %s' % config, [dnsmasq_path, '--keep-in-foreground', '-C', config],
                     action=lambda config=config, path=dnsmasq_path: self._spawn_daemon([path, '--keep-in-foreground', '-C', config]))
        if units:
            for unit in self._dnsmasq_units(units, step):
                step('%s ExecStart' % unit['name'], unit['argv'], action=lambda unit=unit: self._spawn_daemon(unit['argv']))

        # 7: sshd
        if self.spec['ssh']:
            step('ssh.service', action=self._spawn_sshd)

        # 8: the guests
        if xl_dir:
            defaults = read_xl_conf(xl_conf)
            for guest in self.spec['guests']:
                self._start_guest(step, guest, xl_dir, defaults, files, vif_hooks)

        report['seconds'] = round(time.time() - report.pop('started'), 3)
        _write_json(self._path(BOOT_REPORT), report)
        self._save()
        return report

    def _stepper(self, report):
        """step(what, argv=None, action=None, ignore_failure=False, error=None) that records into report."""
        def step(what, argv=None, action=None, ignore_failure=False, error=None):
            """Run one boot step (argv inside dom0, or action()), record it; error= records a step refused."""
            entry = {'step': what}
            if argv is not None:
                entry['argv'] = [str(word) for word in argv]
            try:
                if error is not None:
                    raise BootError(error)
                if action is not None:
                    result = action()
                else:
                    result = _execute([_tool('ip'), 'netns', 'exec', self.ns('dom0')] + list(argv), check=False, timeout=120)
                if isinstance(result, subprocess.CompletedProcess):
                    entry.update(rc=result.returncode, output=(result.stdout + result.stderr).strip()[-4000:])
                    ok = result.returncode == 0
                else:
                    entry.update(rc=0, output=result or '')
                    ok = True
            except (LabError, OSError, subprocess.SubprocessError) as problem:
                entry.update(rc=None, output=str(problem))
                ok = False
            entry['ok'] = ok or ignore_failure
            if not entry['ok']:
                report['failed'] += 1
            report['steps'].append(entry)
            return ok

        return step

    def _dom0_links(self):
        result = _execute([_tool('ip'), '-j', '-n', self.ns('dom0'), 'link', 'show'])
        return [link['ifname'] for link in json.loads(result.stdout) if link['ifname'] != 'lo']

    def _udev_sysctl(self, step, ifname, files):
        """What 99-systemd.rules runs as a network device appears: systemd-sysctl for that name's keys only."""
        if files:
            prefixes = ['--prefix=' + prefix % ifname for prefix in UDEV_SYSCTL_PREFIXES]
            step('udev: sysctl keys of %s' % ifname, [SYSTEMD_SYSCTL] + prefixes + files)

    def _ifupdown(self, argv, interfaces):
        """Run ifup/ifquery on the lab's interfaces file, only ever inside dom0's namespace.

        ip netns exec enters dom0; unshare gives the command a private mount namespace in which
        <workdir>/boot/etc-network (bridge-utils' hook, nothing else) is /etc/network, so no hook of this
        machine (openssh-server's, resolved's...) runs; --state-dir keeps ifupdown's state in the workdir.
        The shell first checks that its network namespace is dom0's, and refuses otherwise.
        """
        name = self.ns('dom0')
        if _namespace_stamp(name) != self._stamp:
            raise LabError('refusing to run %s: namespace %s is not lab %s\'s' % (argv[0], name, self.prefix))
        etc = self._path(os.path.join(BOOT_DIR, 'etc-network'))
        if not os.path.isdir(etc):
            for directory, linked in IFUPDOWN_HOOK_DIRS.items():
                os.makedirs(os.path.join(etc, directory))
                if linked:
                    os.symlink(BRIDGE_UTILS_HOOK, os.path.join(etc, directory, 'bridge'))
        if argv[0] not in ('ifup', 'ifdown', 'ifquery'):
            raise LabError('_ifupdown runs ifup, ifdown or ifquery, not %s' % argv[0])
        os.makedirs(self._path(os.path.join(BOOT_DIR, 'ifstate')), exist_ok=True)
        command = [_tool('ip'), 'netns', 'exec', name, _tool('unshare'), '--mount', '--propagation', 'private',
                   '/bin/sh', '-c', IFUPDOWN_SCRIPT, 'xenlab-ifupdown', name, etc, _tool(argv[0])] + list(argv[1:]) + \
                  ['--interfaces', interfaces, '--state-dir', self._path(os.path.join(BOOT_DIR, 'ifstate'))]
        return _execute(command, check=False, timeout=120)

    def _spawn_daemon(self, argv):
        """A foreground daemon in dom0 (dnsmasq -k), tracked by the lab; fails if it is gone after a moment."""
        popen = self.spawn('dom0', argv)
        time.sleep(0.3)
        if popen.poll() is not None:
            raise LabError('%s exited with %s' % (shlex.join(argv), popen.returncode))
        return 'pid %d' % popen.pid

    def _dnsmasq_units(self, units, step):
        """dnsmasq units enabled in multi-user.target.wants (xen_nat's systemd manager), as argv to run."""
        found = []
        try:
            enabled = boot_units(units, 'multi-user.target')
        except (BootError, OSError) as error:
            step('units in %s/multi-user.target.wants' % units, error=str(error))
            return found
        for unit in enabled:
            starts = [command for command in unit['commands'] if command['key'] == 'ExecStart']
            if not starts or os.path.basename(starts[0]['argv'][0]) != 'dnsmasq':
                continue
            for command in unit['commands']:
                if command['key'] == 'ExecStartPre' and os.path.basename(command['argv'][0]) == 'dnsmasq' and '--test' in command['argv']:
                    step('%s ExecStartPre' % unit['name'], command['argv'], ignore_failure=command['ignore_failure'])
            argv = starts[0]['argv']
            if not {'-k', '--keep-in-foreground'} & set(argv):
                step('%s (refused)' % unit['name'], argv,
                     error='a dnsmasq unit without -k/--keep-in-foreground would daemonize away from the lab')
                continue
            found.append({'name': unit['name'], 'argv': argv})
        return found

    def _start_guest(self, step, guest, xl_dir, defaults, files, vif_hooks=None):
        """xendomains starts a guest: its vif appears (udev applies the vif's sysctl keys), then Xen runs the
        vif's hotplug script as the xl config and xl.conf name it."""
        vif = self._xl_vif(step, guest, xl_dir)
        if vif is None:
            return
        started = dict(guest, mac=vif.get('mac', guest['mac']).lower())
        # A vif vif-route will route keeps the kernel's IPv6 default, as on Xen (where routed IPv6 needs it);
        # the lab keeps IPv6 off on the vifs it bridges (see _build_guest).
        routed = self._vif_script(vif, defaults) == 'vif-route'

        def appear():
            self._build_guest(started, vif_ipv6=routed)
            self._wait_for_links(self._lab_links([started]))
            return 'vif %s, guest mac %s' % (guest['vif'], started['mac'])
        if step('xendomains: guest %s starts' % guest['name'], action=appear):
            self._udev_sysctl(step, guest['vif'], files)
            self._hotplug_script(step, guest, vif, defaults, vif_hooks)

    def _xl_vif(self, step, guest, xl_dir):
        """The vif of the guest's xl config named like the lab guest's vif, or None (recorded in the report)."""
        config = os.path.join(xl_dir, guest['name'] + '.cfg')
        if not os.path.exists(config):
            step('guest %s: no %s, not started' % (guest['name'], config), action=lambda: '')
            return None
        vifs = read_xl_vifs(config)
        mine = [vif for vif in vifs if vif.get('vifname') == guest['vif']]
        if len(mine) != 1:
            step('guest %s: its vif' % guest['name'],
                 error='%s has %d vif(s) named %s (vifs: %s); the lab guest has exactly that one' % (config, len(mine), guest['vif'], vifs))
            return None
        return mine[0]

    def _hotplug_script(self, step, guest, vif, defaults, vif_hooks=None):
        """Xen's hotplug script for the vif: vif-bridge (plug) or vif-route (route), as the vif line or xl.conf say."""
        script = self._vif_script(vif, defaults)
        if script == 'vif-bridge':
            bridge = vif.get('bridge') or defaults.get('vif.default.bridge') or XL_DEFAULT_BRIDGE
            done = step('vif-bridge %s: plug into %s' % (guest['vif'], bridge), action=lambda: self.plug(guest['name'], bridge))
        elif script == 'vif-route':
            gatewaydev = vif.get('gatewaydev') or defaults.get('vif.default.gatewaydev') or XL_DEFAULT_GATEWAYDEV
            done = step('vif-route %s (gatewaydev %s, ip %s)' % (guest['vif'], gatewaydev, vif.get('ip', '')),
                        action=lambda: self.route(guest['name'], vif.get('ip', '').split(), gatewaydev))
        else:
            step('guest %s: hotplug script %s' % (guest['name'], script), error='the lab knows vif-bridge and vif-route, not %s' % script)
            done = False
        if done and vif_hooks:
            self._vif_post_hooks(step, guest['vif'], vif.get('ip', ''), vif_hooks)

    def _vif_post_hooks(self, step, ifname, ip, hook_dir):
        """call_hooks vif post, as Xen's vif-bridge and vif-route end: every executable *.hook of hook_dir (which must
        lie in the workdir) sourced in order by bash -e inside dom0, with the variables the scripts have set."""
        real, workdir = os.path.realpath(hook_dir), os.path.realpath(self.workdir)
        if os.path.commonpath([real, workdir]) != workdir:
            step('vif-post.d hooks for %s' % ifname, error='%s lies outside the lab workdir %s: the lab runs only its own hooks'
                 % (hook_dir, self.workdir))
            return
        # Xen's call_hooks sources a hook only when it is executable ([ -x "$f" ]).
        hooks = sorted(path for path in glob.glob(os.path.join(real, '*.hook')) if os.path.isfile(path) and os.access(path, os.X_OK))
        if hooks:
            step('vif-post.d hooks for %s: %s' % (ifname, ' '.join(os.path.basename(hook) for hook in hooks)),
                 ['bash', '-e', '-c', VIF_HOOKS_SCRIPT, 'xenlab-vif-hooks', ifname, 'online', ip] + hooks)

    @staticmethod
    def _vif_script(vif, defaults):
        return os.path.basename(vif.get('script') or defaults.get('vif.default.script') or XL_DEFAULT_SCRIPT)

    def hotplug(self, xl_dir, xl_conf=None, vif_hooks=None):
        """Run every guest's hotplug script on its existing vif, as its xl config says (the guests of a lab
        that is up start after a converge). A vif vif-route routes gets IPv6 back on first, as boot() builds
        it. Returns a report like boot()'s."""
        report = {'steps': [], 'failed': 0}
        defaults = read_xl_conf(xl_conf)
        step = self._stepper(report)
        for guest in self.spec['guests']:
            vif = self._xl_vif(step, guest, xl_dir)
            if vif is None:
                continue
            if self._vif_script(vif, defaults) == 'vif-route':
                # as Xen makes it (and boot() starts it): a routed vif keeps the kernel's IPv6 default
                step('%s keeps IPv6 on' % guest['vif'], [_tool('sysctl'), '-q', '-w', 'net/ipv6/conf/%s/disable_ipv6=0' % guest['vif']])
            self._hotplug_script(step, guest, vif, defaults, vif_hooks)
        return report

    def route(self, guest, addresses, gatewaydev=XL_DEFAULT_GATEWAYDEV):
        """Do what Xen's vif-route does at a guest's start: the vif gets dom0's IPv4 address (the first of
        gatewaydev) as a /32 and proxy ARP, and each address of ip= a host route through it from that address."""
        vif = self.guest(guest)['vif']
        found = _execute([_tool('ip'), '-n', self.ns('dom0'), '-4', '-o', 'addr', 'show', 'primary', 'dev', gatewaydev])
        main_ip = next((line.split()[3].split('/')[0] for line in found.stdout.splitlines() if line.split()[2] == 'inet'), None)
        if not main_ip:
            raise LabError('vif-route: %s is not up (it has no IPv4 address)' % gatewaydev)
        self.run('dom0', [_tool('ifconfig'), vif, main_ip, 'netmask', '255.255.255.255', 'up'])
        self.run('dom0', ['sh', '-c', 'echo 1 >/proc/sys/net/ipv4/conf/%s/proxy_arp' % vif])
        for address in addresses:
            self.run('dom0', [_tool('ip'), 'route', 'add', address, 'dev', vif, 'src', main_ip, 'metric', str(VIF_ROUTE_METRIC)])
        self._plugged.pop(guest, None)
        self._save()
        return 'main_ip %s' % main_ip

    # -------------------------------------------------------- dom0's boot files

    def boot_file_vars(self):
        """The collection's role variables that put every boot file in this lab's workdir (dom0 shares this
        machine's /etc): ifupdown on the lab's network/interfaces, units, sysctl.d."""
        return {
            'xenfleet_persist': 'ifupdown',
            'xenfleet_ifupdown_interfaces': self._path(INTERFACES_FILE),
            'xenfleet_ifupdown_dir': self._path(INTERFACES_DIR),
            'xenfleet_systemd_unit_dir': self._path('systemd'),
            'xenfleet_sysctl_dir': self._path('sysctl.d'),
        }

    def write_interfaces(self):
        """dom0's /etc/network/interfaces as Debian's installer leaves it for a static address, in the workdir.

        <workdir>/network/interfaces sources <workdir>/network/interfaces.d/* (made empty) and gives the uplink
        the lab's addresses and gateways: what a module that persists a bridge with ifupdown finds on a fresh dom0.
        Returns its path.
        """
        uplink = self.spec['uplink']
        os.makedirs(self._path(INTERFACES_DIR), exist_ok=True)
        text = INTERFACES_TEXT.format(source=self._path(INTERFACES_DIR), uplink=uplink, ipv4=DOM0_IPV4, gateway4=_host(UPSTREAM_IPV4),
                                      ipv6=DOM0_IPV6, gateway6=_host(UPSTREAM_IPV6))
        _write_text(self._path(INTERFACES_FILE), text)
        return self._path(INTERFACES_FILE)

    # -------------------------------------------------------- state, inventory and records

    def _write_python_wrapper(self):
        """Python that runs inside dom0's namespace, for Ansible's local connection."""
        script = '#!/bin/sh\n# Generated by xenlab: Ansible modules run by this interpreter see the dom0 network of lab %s.\n' \
                 'exec %s netns exec %s %s "$@"\n' % (self.prefix, _tool('ip'), shlex.quote(self.ns('dom0')), shlex.quote(self.python))
        _write_text(self._path(PYTHON_WRAPPER), script, 0o755)

    def _record(self):
        """What `sweep`, `down --prefix` and attach() need to find and remove everything again."""
        return {
            'prefix': self.prefix,
            'spec': self.spec,
            'python': self.python,
            'workdir': self.workdir,
            'owner': self._owner,
            'processes': self._processes,
            'plugged': self._plugged,
            'created': time.time(),
        }

    def _update_marker(self):
        if self._claimed:
            _write_json(_marker_path(self.prefix), self._record(), 0o600)

    def _save(self):
        """Keep state.json and the marker in step with what the lab holds."""
        self._update_marker()
        if self.workdir and os.path.isdir(self.workdir):
            _write_json(self._path(STATE_FILE), self.state)

    def _guest_state(self, guest):
        return dict(guest, namespace=self.ns(guest['name']), bridge=self._plugged.get(guest['name']))

    def _ssh_state(self):
        if not self.spec['ssh']:
            return None
        sshd = [record for record in self._processes if record.get('log', '').endswith('sshd.log')]
        return {
            'host': _host(DOM0_IPV4), 'port': SSH_PORT, 'user': SSH_USER, 'from_role': 'upstream',
            'private_key': self._path('id_ed25519'), 'public_key': self._path('id_ed25519.pub'),
            'config': self._path('sshd_config'), 'log': self._path('sshd.log'),
            'pid': sshd[0]['pid'] if sshd else None,
        }

    @property
    def state(self):
        """Everything a test or playbook needs to know about the lab (also in <workdir>/state.json)."""
        internet = None
        if self.spec['internet']:
            internet = {'namespace': self.ns('internet'), 'ifname': 'eth0', 'mac': INTERNET_MAC, 'ipv4': INTERNET_IPV4, 'ipv6': INTERNET_IPV6,
                        'upstream_ifname': WAN_IFNAME, 'upstream_ipv4': WAN_IPV4, 'upstream_ipv6': WAN_IPV6}
        state = self._record()
        state.update({
            'namespaces': {role: self.ns(role) for role in self.roles()},
            'uplink': {'name': self.spec['uplink'], 'mac': DOM0_MAC, 'ipv4': DOM0_IPV4, 'ipv6': DOM0_IPV6,
                       'gateway4': _host(UPSTREAM_IPV4), 'gateway6': _host(UPSTREAM_IPV6)},
            'upstream': {'namespace': self.ns('upstream'), 'ifname': 'eth0', 'mac': UPSTREAM_MAC, 'ipv4': UPSTREAM_IPV4, 'ipv6': UPSTREAM_IPV6},
            'internet': internet,
            'guests': {guest['name']: self._guest_state(guest) for guest in self.spec['guests']},
            'ssh': self._ssh_state(),
            'controller_prefix': self.controller_prefix(),
            'python_wrapper': self._path(PYTHON_WRAPPER) if self.workdir else None,
            'inventory': self._path(INVENTORY_FILE) if self.workdir else None,
        })
        return state

    def write_inventory(self, path=None):
        """Write an INI inventory (groups lab_local and lab_ssh under lab) and return its path.

        Next to the default path (the workdir) it also writes group_vars/lab.json, which gives playbooks
        lab_guests as a list and lab_state as a dict; lab_guests_json in the INI works everywhere.
        """
        path = os.path.abspath(path or self._path(INVENTORY_FILE))
        _write_text(path, self._inventory_text(path))
        if os.path.dirname(path) == self.workdir:
            os.makedirs(self._path('group_vars'), exist_ok=True)
            guests = list(self.state['guests'].values())
            _write_json(self._path(os.path.join('group_vars', 'lab.json')), {'lab_guests': guests, 'lab_state': self.state})
        return path

    def _inventory_text(self, path):
        ssh_host = ''
        if self.spec['ssh']:
            common_args = '-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null'
            # A control path of the lab's own: every lab's dom0 is root@192.0.2.10:22, so Ansible's shared
            # ~/.ansible/cp sockets would otherwise send one lab's tasks over another lab's connection.
            ssh_host = ("dom0_ssh ansible_host=%s ansible_port=%d ansible_user=%s ansible_ssh_private_key_file=%s "
                        "ansible_ssh_common_args='%s' ansible_control_path_dir=%s ansible_python_interpreter=%s\n"
                        % (_host(DOM0_IPV4), SSH_PORT, SSH_USER, self._path('id_ed25519'), common_args, self._path('cp'), self.python))
        guests = json.dumps(list(self.state['guests'].values()), separators=(',', ':'), sort_keys=True)
        lines = [
            '# Generated by tests/lab/xenlab.py for lab %s; removed with the lab.' % self.prefix,
            '# dom0 runs modules inside the dom0 namespace through %s (no SSH).' % self._path(PYTHON_WRAPPER),
            '# dom0_ssh needs the controller inside the upstream namespace:',
            '#   ip netns exec %s ansible-playbook -i %s ...' % (self.ns('upstream'), path),
            '[lab_local]',
            'dom0 ansible_connection=local ansible_python_interpreter=%s' % self._path(PYTHON_WRAPPER),
            '',
            '[lab_ssh]',
            ssh_host,
            '[lab:children]',
            'lab_local',
            'lab_ssh',
            '',
            '[lab:vars]',
            'lab_prefix=%s' % self.prefix,
            'lab_workdir=%s' % self.workdir,
            'lab_uplink=%s' % self.spec['uplink'],
            'lab_dom0_ns=%s' % self.ns('dom0'),
            'lab_upstream_ns=%s' % self.ns('upstream'),
            'lab_internet_ns=%s' % (self.ns('internet') if self.spec['internet'] else ''),
            'lab_state_file=%s' % self._path(STATE_FILE),
            'lab_guests_json=%s' % guests,
        ]
        return '\n'.join(lines) + '\n'

    # -------------------------------------------------------- re-attaching from files

    @classmethod
    def from_record(cls, record):
        """A Lab object for a lab some other process built, from its state.json or marker.

        Every role's namespace counts as possibly created: down() deletes only those carrying our stamp.
        """
        lab = cls(record['spec'], prefix=record['prefix'], python=record.get('python'))
        lab.workdir = record.get('workdir')
        lab._namespaces = {role: lab.ns(role) for role in lab.roles()}
        lab._processes = list(record.get('processes') or [])
        lab._plugged = dict(record.get('plugged') or {})
        lab._owner = record.get('owner')
        lab._claimed = True
        return lab

    @classmethod
    def attach(cls, workdir):
        """The Lab whose workdir this is (as written by up())."""
        path = os.path.join(os.path.abspath(workdir), STATE_FILE)
        if not os.path.exists(path):
            raise LabError('no lab in %s (%s is missing)' % (workdir, STATE_FILE))
        return cls.from_record(_read_json(path))


# ---------------------------------------------------------------- sweep

def _lab_markers():
    """(prefix, record) for every readable marker; the file name and its content must agree."""
    for path in sorted(glob.glob(os.path.join(MARKER_DIR, '*.json'))):
        prefix = os.path.basename(path)[:-len('.json')]
        try:
            record = _read_json(path)
        except (OSError, ValueError) as error:
            _warn('skipped unreadable marker %s: %s' % (path, error))
            continue
        if not PREFIX_RE.match(prefix) or record.get('prefix') != prefix:
            _warn('skipped marker %s: it does not describe lab %r' % (path, prefix))
            continue
        yield prefix, record


def sweep(include_live=False, dry_run=False, only=None):
    """Remove labs left by crashed runs: those whose owner process is gone (or all with include_live).

    only, a collection of prefixes, limits the sweep to those labs (tests use it to leave other runs alone).

    Only namespaces named <prefix>-<role> from a marker AND stamped with that prefix are deleted,
    and only processes whose pid and start time match the marker are signalled.
    """
    removed = []
    for prefix, record in _lab_markers():
        if only is not None and prefix not in only:
            continue
        owner = record.get('owner')
        # A lab without owner (up --owner-pid 0) is never a leftover by itself; only --all removes it.
        if not include_live and (owner is None or _is_running(owner)):
            continue
        if not dry_run:
            try:
                Lab.from_record(record).down()
            except LabError as error:
                _warn('could not remove lab %s: %s' % (prefix, error))
                continue
        removed.append(prefix)
    return removed


# ---------------------------------------------------------------- CLI

def _load_spec(path):
    if not path:
        return {}
    if path == '-':
        return json.load(sys.stdin)
    return _read_json(path)


def _cli_up(args):
    lab = Lab(_load_spec(args.spec), prefix=args.prefix, workdir=args.workdir, python=args.python)
    # The lab outlives this command; its owner is the calling script, so that `sweep` removes it only once that is gone.
    owner_pid = args.owner_pid if args.owner_pid is not None else _invoking_script_pid()
    lab._owner = _identity(owner_pid) if owner_pid else None
    lab.up()
    print(lab.workdir)
    return 0


def _cli_lab(args):
    if getattr(args, 'workdir', None):
        return Lab.attach(args.workdir)
    path = _marker_path(args.prefix)
    if not os.path.exists(path):
        raise LabError('no lab with prefix %s (%s is missing)' % (args.prefix, path))
    return Lab.from_record(_read_json(path))


def _cli_down(args):
    try:
        lab = _cli_lab(args)
    except LabError as error:
        _warn('%s; nothing to do' % error)  # down twice is fine
        return 0
    lab.down()
    return 0


def _cli_sweep(args):
    for prefix in sweep(include_live=args.all, dry_run=args.dry_run, only=args.prefix):
        print(('would remove' if args.dry_run else 'removed') + ' lab ' + prefix)
    return 0


def _cli_exec(args):
    command = args.command[1:] if args.command[:1] == ['--'] else args.command
    if not command:
        raise LabError('exec needs a command after --')
    namespace = Lab.attach(args.workdir).ns(args.role)
    os.execv(_tool('ip'), ['ip', 'netns', 'exec', namespace] + command)
    return 1  # not reached: execv replaces this process


def _cli_plug(args):
    Lab.attach(args.workdir).plug(args.guest, args.bridge)
    return 0


def _cli_restart_guest(args):
    Lab.attach(args.workdir).restart_guest(args.guest, replug=args.replug)
    return 0


def _boot_arguments(args):
    return {'units': args.units, 'interfaces': args.interfaces, 'sysctl': args.sysctl or [], 'dnsmasq': args.dnsmasq_conf or [],
            'xl_dir': args.xl_dir, 'xl_conf': args.xl_conf, 'vif_hooks': args.vif_hooks}


def _print_report(report):
    print(json.dumps(report, indent=2, sort_keys=True))
    for entry in report['steps']:
        if not entry['ok']:
            _warn('boot step failed: %s: %s' % (entry['step'], entry.get('output')))
    return 0 if report['failed'] == 0 else 3


def _cli_reboot(args):
    return _print_report(Lab.attach(args.workdir).reboot(**_boot_arguments(args)))


def _cli_power_off(args):
    Lab.attach(args.workdir).power_off()
    return 0


def _cli_boot(args):
    lab = Lab.attach(args.workdir)
    lab.power_on()
    return _print_report(lab.boot(**_boot_arguments(args)))


def _cli_hotplug(args):
    return _print_report(Lab.attach(args.workdir).hotplug(args.xl_dir, args.xl_conf, args.vif_hooks))


def _cli_route(args):
    Lab.attach(args.workdir).route(args.guest, args.addresses, args.gatewaydev)
    return 0


def _cli_ns(args):
    print(Lab.attach(args.workdir).ns(args.role))
    return 0


def _cli_state(args):
    print(json.dumps(Lab.attach(args.workdir).state, indent=2, sort_keys=True))
    return 0


def _parser():
    parser = argparse.ArgumentParser(prog='xenlab.py', description='Throw-away Xen dom0 network lab in network namespaces.')
    commands = parser.add_subparsers(dest='action', required=True)

    up = commands.add_parser('up', help='build a lab and print its workdir')
    up.add_argument('--spec', help='JSON spec file ("-" for stdin); default: no guests, ssh on')
    up.add_argument('--prefix', help='namespace prefix (default: random xlXXXX)')
    up.add_argument('--workdir', help='new or empty directory for keys, state.json and inventory.ini (removed by down)')
    up.add_argument('--python', help='interpreter for the inventory (default: the one running this)')
    up.add_argument('--owner-pid', type=int, help='process whose end makes the lab sweepable (default: calling script; 0: never)')
    up.set_defaults(func=_cli_up)

    down = commands.add_parser('down', help='remove a lab')
    which = down.add_mutually_exclusive_group(required=True)
    which.add_argument('--workdir')
    which.add_argument('--prefix')
    down.set_defaults(func=_cli_down)

    sweeper = commands.add_parser('sweep', help='remove labs whose owner process is gone')
    sweeper.add_argument('--all', action='store_true', help='also labs whose owner still runs')
    sweeper.add_argument('--dry-run', action='store_true')
    sweeper.add_argument('--prefix', action='append', help='only this lab (repeatable)')
    sweeper.set_defaults(func=_cli_sweep)

    executor = commands.add_parser('exec', help='run a command inside a role\'s namespace')
    executor.add_argument('--workdir', required=True)
    executor.add_argument('role')
    executor.add_argument('command', nargs=argparse.REMAINDER)
    executor.set_defaults(func=_cli_exec)

    plug = commands.add_parser('plug', help='put a guest\'s vif on a dom0 bridge (like vif-bridge)')
    plug.add_argument('--workdir', required=True)
    plug.add_argument('guest')
    plug.add_argument('bridge')
    plug.set_defaults(func=_cli_plug)

    restart = commands.add_parser('restart-guest', help='recreate a guest\'s vif like a guest reboot')
    restart.add_argument('--workdir', required=True)
    restart.add_argument('guest')
    restart.add_argument('--replug', action='store_true', help='put the new vif back on its bridge')
    restart.set_defaults(func=_cli_restart_guest)

    def boot_options(sub):
        sub.add_argument('--workdir', required=True)
        sub.add_argument('--units', help="dom0's systemd unit directory (its sysinit.target.wants, multi-user.target.wants)")
        sub.add_argument('--interfaces', help="dom0's interfaces file (ifup -a, allow-hotplug interfaces)")
        sub.add_argument('--sysctl', action='append', help='a sysctl.d file or directory (repeatable)')
        sub.add_argument('--dnsmasq-conf', action='append', help='a dnsmasq config file to run as its unit would (repeatable)')
        sub.add_argument('--xl-dir', help='the xl config directory: guests with <guest>.cfg start')
        sub.add_argument('--xl-conf', help='xl.conf (vif.default.* settings)')
        sub.add_argument('--vif-hooks', help="Xen's vif-post.d: its *.hook run after each guest's hotplug script")

    rebooter = commands.add_parser('reboot', help='power dom0 off and boot a fresh one from the given files only')
    boot_options(rebooter)
    rebooter.set_defaults(func=_cli_reboot)

    power_off = commands.add_parser('power-off', help='stop everything in dom0 and delete its namespace (files stay)')
    power_off.add_argument('--workdir', required=True)
    power_off.set_defaults(func=_cli_power_off)

    booter = commands.add_parser('boot', help='power on a fresh dom0 and boot it from the given files only')
    boot_options(booter)
    booter.set_defaults(func=_cli_boot)

    hotplugger = commands.add_parser('hotplug', help="run each guest's hotplug script (vif-bridge, vif-route) as its xl config says")
    hotplugger.add_argument('--workdir', required=True)
    hotplugger.add_argument('--xl-dir', required=True)
    hotplugger.add_argument('--xl-conf')
    hotplugger.add_argument('--vif-hooks')
    hotplugger.set_defaults(func=_cli_hotplug)

    router = commands.add_parser('route', help="route a guest's vif like Xen's vif-route")
    router.add_argument('--workdir', required=True)
    router.add_argument('--gatewaydev', default=XL_DEFAULT_GATEWAYDEV)
    router.add_argument('guest')
    router.add_argument('addresses', nargs='*')
    router.set_defaults(func=_cli_route)

    namespace = commands.add_parser('ns', help='print the namespace of a role')
    namespace.add_argument('--workdir', required=True)
    namespace.add_argument('role')
    namespace.set_defaults(func=_cli_ns)

    state = commands.add_parser('state', help='print the lab state as JSON')
    state.add_argument('--workdir', required=True)
    state.set_defaults(func=_cli_state)
    return parser


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (LabError, subprocess.CalledProcessError, OSError, ValueError) as error:
        _warn(str(error))
        return 1


if __name__ == '__main__':
    sys.exit(main())
