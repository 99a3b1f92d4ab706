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
It shows the MAC and devid of each running vif, not its bridge or name:
idempotence is judged on those two, and on whether the config entry changed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import MAC_REGEX, parse_mac
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import render_vif

# One vif of a running guest as `xl network-list` shows it.
LiveVif = collections.namedtuple('LiveVif', 'devid backend_id mac handle state evtch tx_ring_ref rx_ring_ref backend_path')
# One command to run: why (for the result and the docs) and the argument list.
LiveStep = collections.namedtuple('LiveStep', 'description argv')
# A running domain as `xl list` shows it.
RunningDomain = collections.namedtuple('RunningDomain', 'name domid state')
# What the module knows about a guest's running state.
LiveView = collections.namedtuple('LiveView', 'running vifs note')

DOM0_NAME = 'Domain-0'
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

def read_live(run, xl, domain):
    """LiveView of domain: whether it runs, its vifs, and a note saying why nothing live can be done.

    run: AnsibleModule.run_command or a stand-in. xl: xl's path, or None when it is not installed.
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
    return LiveView(True, parse_network_list(out), None)


# ---------------------------------------------------------------- planning

def plan_live(xl, domain, live_vifs, vif_plan, state, match_mac=None):
    """The LiveSteps that bring the running guest in line with the planned config entry.

    vif_plan: the _vif_plan.VifPlan of the file. With state=present the vif
    is attached when the guest has no vif with its devid, and re-plugged
    (detached, then attached) when that vif's MAC differs or its config
    entry changed: xl cannot change a running vif in place. With
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
    if after.mac is not None and current[0].mac != after.mac:
        reason = 'its MAC is %s, the config says %s' % (current[0].mac, after.mac)
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
