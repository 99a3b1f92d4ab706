# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The vifs of running guests through xl: the command lines to run and what xl prints.

Private to the collection: may change without notice.

Nothing here needs Xen: command lines are built as argument lists and xl's
output is read from text, so unit tests pin the exact commands a module
runs. Running them is left to a `run` callable with the signature of
AnsibleModule.run_command (argv list in; rc, stdout, stderr out).

What xl does (tools/xl/xl_vif.c, Xen 4.x):
- `xl network-attach DOMAIN KEY=VALUE...` hands every argument on its own
  to the parser of vif config entries, so a vif spec is passed as one
  argument per `key=value` piece, not as one comma-separated string.
- `xl network-detach DOMAIN DEVID|MAC` takes a MAC when the argument holds
  a ':', a devid otherwise.
- `xl network-list DOMAIN` prints a header and one line per vif:
  `%-3d %-2d ` devid and backend domid, the MAC, then
  `%6d %5d %6d %5d/%-11d %-30s` handle, XenBus state, event channel,
  tx/rx ring references and the backend's xenstore path.
- `xl list DOMAIN` exits 0 only when the domain exists (runs, or is paused).

`xl network-list` shows the MAC and devid of each running vif, not its
bridge or name. What the vif runs with is in its backend's xenstore
directory (libxl_nic.c, libxl__set_xenstore_nic, Xen 4.17), read with
`xenstore-ls -f BACKEND-PATH`: mac, bridge, handle and type always; script
as an absolute path; vifname, ip, gatewaydev, rate (as
`BYTES_PER_INTERVAL,INTERVAL_USECS`) and mtu when set. A vif is re-plugged
when any of them differs from its config entry, so a run killed between
the config write and `xl network-detach/attach`, or a failed detach, is
repaired by the next run instead of leaving the vif on its old bridge,
name or address.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import MAC_REGEX, parse_mac
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import render_vif

# One vif of a running guest as `xl network-list` shows it; backend: its backend's xenstore entries, None when not read.
LiveVif = collections.namedtuple('LiveVif', 'devid backend_id mac handle state evtch tx_ring_ref rx_ring_ref backend_path backend',
                                 defaults=(None,))
# One command to run: why (for the result and the docs) and the argument list.
LiveStep = collections.namedtuple('LiveStep', 'description argv')
# A running domain as `xl list` shows it.
RunningDomain = collections.namedtuple('RunningDomain', 'name domid state')
# What the module knows about a guest's running state.
LiveView = collections.namedtuple('LiveView', 'running vifs note')

DOM0_NAME = 'Domain-0'
# libxl's MTU when the vif line sets none (LIBXL_DEVICE_NIC_MTU_DEFAULT); the entry is written only for another one.
DEFAULT_MTU = 1500
# xl's type= and the backend's type entry (libxl_nic_type_to_string).
BACKEND_TYPES = {'vif': 'vif', 'ioemu': 'vif_ioemu'}
# XenBus states of a vif's backend (xen/include/public/io/xenbus.h).
XENBUS_STATES = {1: 'initialising', 2: 'init-wait', 3: 'initialised', 4: 'connected', 5: 'closing', 6: 'closed'}

_NETWORK_LIST_RE = re.compile(
    r'^\s*(?P<devid>\d+)\s+(?P<backend_id>\d+)\s+(?P<mac>' + MAC_REGEX + r')\s*'
    r'(?P<handle>-?\d+)\s+(?P<state>-?\d+)\s+(?P<evtch>-?\d+)\s+(?P<tx>-?\d+)/(?P<rx>-?\d+)\s*(?P<path>\S*)\s*$')


class XlOutputError(ValueError):
    """xl printed something this file cannot read; names the command and the line."""


class LivePlanError(ValueError):
    """The running guest is in a state the change cannot be applied to safely."""


# ---------------------------------------------------------------- commands

def list_command(xl, domain):
    return [xl, 'list', domain]


def list_all_command(xl):
    return [xl, 'list']


def network_list_command(xl, domain):
    return [xl, 'network-list', domain]


def attach_command(xl, domain, spec, devid):
    """`xl network-attach` of spec as the vif with this devid, one argument per key=value piece.

    The devid is passed explicitly so the running vif gets the number its
    config entry has, not the next free one.
    """
    if spec.devid is None:
        spec = spec.replace(devid=str(devid))
    return [xl, 'network-attach', domain] + render_vif(spec).split(',')


def detach_command(xl, domain, vif):
    """`xl network-detach` of a vif given by MAC (str with ':') or devid (int)."""
    return [xl, 'network-detach', domain, str(vif)]


def backend_command(xenstore_ls, path):
    """`xenstore-ls -f` of a vif's backend directory: one `PATH/KEY = "VALUE"` line per entry, never cut short."""
    return [xenstore_ls, '-f', path]


def command_line(argv):
    """argv as one shell-quoted line, for messages and the result."""
    return ' '.join(part if re.match(r'^[A-Za-z0-9_./:=@%+-]+$', part) else "'%s'" % part.replace("'", "'\\''") for part in argv)


# ---------------------------------------------------------------- output

def parse_network_list(text):
    """The LiveVif of each line of `xl network-list` output for one domain, in output order."""
    vifs = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('Idx'):
            continue
        match = _NETWORK_LIST_RE.match(line)
        if match is None:
            raise XlOutputError('xl network-list, line %d: cannot read %r' % (number, line))
        vifs.append(LiveVif(int(match.group('devid')), int(match.group('backend_id')), parse_mac(match.group('mac')),
                            int(match.group('handle')), int(match.group('state')), int(match.group('evtch')),
                            int(match.group('tx')), int(match.group('rx')), match.group('path')))
    return vifs


_XENSTORE_ESCAPE = re.compile(r'\\(?:([tnr\\])|x([0-9a-fA-F]{2})|([0-7]{3}))')
_XENSTORE_LINE = re.compile(r'^(?P<path>\S+) = "(?P<value>.*)"$')


def _unsanitised(value):
    """A value as xenstore-ls prints it (sanitise_value: \\t \\n \\r \\\\, \\xNN, \\NNN) back to its text."""
    def one(match):
        if match.group(1):
            return {'t': '\t', 'n': '\n', 'r': '\r', '\\': '\\'}[match.group(1)]
        return chr(int(match.group(2), 16) if match.group(2) else int(match.group(3), 8))
    return _XENSTORE_ESCAPE.sub(one, value)


def parse_backend(text, path):
    """The entries directly under path in `xenstore-ls -f path` output, as {key: value}."""
    entries = {}
    prefix = path.rstrip('/') + '/'
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        match = _XENSTORE_LINE.match(line)
        if match is None or not match.group('path').startswith(prefix):
            raise XlOutputError('xenstore-ls -f %s, line %d: cannot read %r' % (path, number, line))
        key = match.group('path')[len(prefix):]
        if '/' not in key:
            entries[key] = _unsanitised(match.group('value'))
    return entries


def read_backends(run, xenstore_ls, vifs):
    """vifs, each with the entries of its backend directory; XlOutputError naming the command when one cannot be read."""
    read = []
    for vif in vifs:
        argv = backend_command(xenstore_ls, vif.backend_path)
        rc, out, err = run(argv)
        if rc != 0 or not vif.backend_path:
            raise XlOutputError('%s failed (rc %d): %s; the running vif %d cannot be compared with its config' % (
                command_line(argv), rc, (err or out).strip(), vif.devid))
        read.append(vif._replace(backend=parse_backend(out, vif.backend_path)))
    return read


def xenstore_rate(rate):
    """The backend's rate entry libxl writes for an xl rate= (libxlu_vif.c): '10Mb/s@20ms' -> '25000,20000'.

    None for a form whose reading is not certain here (a leading zero is octal to strtoull).
    """
    match = re.match(r'^([1-9][0-9]*)([GMK]?)([Bb])/s(?:@([1-9][0-9]*)([mu]?)s?)?$', rate)
    if match is None:
        return None
    per_second = int(match.group(1)) * {'G': 10 ** 9, 'M': 10 ** 6, 'K': 10 ** 3, '': 1}[match.group(2)]
    if match.group(3) == 'b':
        per_second //= 8
    usecs = 50000
    if match.group(4):
        usecs = int(match.group(4)) * {'': 10 ** 6, 'm': 1000, 'u': 1}[match.group(5)]
    return '%d,%d' % (per_second * usecs // 1000000, usecs)


def backend_differences(spec, backend):
    """What the running vif's backend entries say that its config entry does not, one phrase each.

    A key the entry leaves unset is compared only where xl has no default of
    its own or of xl.conf's for it (vifname, ip, rate, mtu); bridge, script,
    gatewaydev and type are compared when the entry sets them.
    """
    wanted = {}
    if spec.bridge is not None:
        wanted['bridge'] = spec.bridge
    if spec.gatewaydev is not None:
        wanted['gatewaydev'] = spec.gatewaydev
    if spec.type is not None and spec.type in BACKEND_TYPES:
        wanted['type'] = BACKEND_TYPES[spec.type]
    wanted['vifname'] = spec.vifname
    wanted['ip'] = ' '.join(spec.ip) if spec.ip else None
    if spec.rate is None or xenstore_rate(spec.rate) is not None:
        wanted['rate'] = xenstore_rate(spec.rate) if spec.rate is not None else None
    differences = []
    for key, value in sorted(wanted.items()):
        found = backend.get(key)
        if key == 'ip' and found is not None:
            found = ' '.join(found.split())
        if found != value:
            differences.append('its %s is %s, the config says %s' % (
                key, found if found is not None else 'unset', value if value is not None else 'none'))
    if spec.script is not None:
        found = backend.get('script') or ''
        if not (found == spec.script or not spec.script.startswith('/') and found.endswith('/' + spec.script)):
            differences.append('its script is %s, the config says %s' % (found or 'unset', spec.script))
    mtu = int(spec.mtu) if spec.mtu is not None and str(spec.mtu).isdigit() else DEFAULT_MTU
    found_mtu = backend.get('mtu') or str(DEFAULT_MTU)
    if found_mtu != str(mtu):
        differences.append('its mtu is %s, the config says %d' % (found_mtu, mtu))
    return differences


def parse_list(text):
    """The RunningDomain of each line of `xl list` output (Domain-0 included)."""
    domains = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith('Name '):
            continue
        # Name, ID, Mem, VCPUs, State, Time(s): the name is what precedes the last five columns.
        fields = line.rsplit(None, 5)
        if len(fields) != 6 or not fields[1].isdigit():
            raise XlOutputError('xl list, line %d: cannot read %r' % (number, line))
        domains.append(RunningDomain(fields[0].strip(), int(fields[1]), fields[4]))
    return domains


def live_vif_dict(vif):
    """A LiveVif for Ansible, with the XenBus state's name beside its number."""
    result = vif._asdict()
    result['state_name'] = XENBUS_STATES.get(vif.state, 'unknown')
    return dict(result)


# ---------------------------------------------------------------- reading

def read_live(run, xl, domain, xenstore_ls=None):
    """LiveView of domain: whether it runs, its vifs, and a note saying why nothing live can be done.

    run: AnsibleModule.run_command or a stand-in. xl: xl's path, or None when it is not installed.
    xenstore_ls: its path, to read each vif's backend entries; None leaves them unread.
    """
    if xl is None:
        return LiveView(False, [], 'xl is not installed on this host')
    rc, _out, err = run(list_command(xl, domain))
    if rc != 0:
        return LiveView(False, [], "guest '%s' is not running (%s: rc %d%s)" % (
            domain, command_line(list_command(xl, domain)), rc, ': ' + err.strip() if err.strip() else ''))
    argv = network_list_command(xl, domain)
    rc, out, err = run(argv)
    if rc != 0:
        raise XlOutputError('%s failed (rc %d): %s' % (command_line(argv), rc, err.strip() or out.strip()))
    vifs = parse_network_list(out)
    return LiveView(True, read_backends(run, xenstore_ls, vifs) if xenstore_ls else vifs, None)


# ---------------------------------------------------------------- planning

def plan_live(xl, domain, live_vifs, vif_plan, state, match_mac=None):
    """The LiveSteps that bring the running guest in line with the planned config entry.

    vif_plan: the _vif_plan.VifPlan of the file. With state=present the vif
    is attached when the guest has no vif with its devid, and re-plugged
    (detached, then attached) when that vif's MAC differs, any entry of its
    backend differs from the config entry (backend_differences; when the
    backend was read), or its config entry changed: xl cannot change a
    running vif in place. With
    state=absent, the running vif the removed entry describes is detached:
    found by its MAC when the entry has one, else by its devid; when the
    file no longer has the entry, a vif with the matched MAC is detached.
    """
    if state == 'absent':
        target = _detach_target(live_vifs, vif_plan, match_mac)
        if target is None:
            return []
        return [LiveStep('detach vif %s from running guest %s' % (target, domain), detach_command(xl, domain, target))]
    after = vif_plan.after
    devid = vif_plan.devid
    current = [vif for vif in live_vifs if vif.devid == devid]
    others = [vif for vif in live_vifs if vif.devid != devid and after.mac is not None and vif.mac == after.mac]
    if others:
        raise LivePlanError("running guest '%s' has MAC %s on vif %d already; xl would attach a second NIC with it" % (
            domain, after.mac, others[0].devid))
    attach = LiveStep('attach vif %d to running guest %s' % (devid, domain), attach_command(xl, domain, after, devid))
    if not current:
        return [attach]
    reason = None
    differences = backend_differences(after, current[0].backend) if current[0].backend is not None else []
    if after.mac is not None and current[0].mac != after.mac:
        reason = 'its MAC is %s, the config says %s' % (current[0].mac, after.mac)
    elif differences:
        reason = '; '.join(differences)
    elif vif_plan.changed and vif_plan.before is not None:
        reason = 'its config entry changed'
    if reason is None:
        return []
    detach = LiveStep('detach vif %d from running guest %s (%s)' % (devid, domain, reason), detach_command(xl, domain, devid))
    return [detach, attach]


def _detach_target(live_vifs, vif_plan, match_mac):
    """The MAC or devid to detach, or None when the running guest has no such vif."""
    before = vif_plan.before
    macs = set(vif.mac for vif in live_vifs)
    if before is not None and before.mac is not None:
        return before.mac if before.mac in macs else None
    if before is not None:
        return vif_plan.devid if any(vif.devid == vif_plan.devid for vif in live_vifs) else None
    if match_mac is not None and match_mac in macs:
        return match_mac
    return None
