# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_vif_info's one call: a dom0's guests and their vifs, from the config files and from xl.

Private to the collection: may change without notice.

Read-only. The answer is shaped for the questions roles ask: which MACs,
addresses and vif names are in use here (flat lists), which of them
collide (conflicts), and the claims xen_vif's `claims` option takes.
A guest's `vifs` hold only xl keys, so the guest list can be handed to
the fleet_conflicts filter as it is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    Claims, address_key, checked_options, file_pattern_problems)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import vif_claims
from ansible_collections.xenfleet.network.plugins.module_utils.xl.guests import (
    guest_claims,
    guest_vifs,
    scan_config_dir,
)
from ansible_collections.xenfleet.network.plugins.module_utils.xl.live import (
    DOM0_NAME,
    XlOutputError,
    command_line,
    list_all_command,
    live_vif_dict,
    network_list_command,
    parse_list,
    parse_network_list,
    read_backends,
)

# xl's name for the dom0 device of a vif without vifname.
DEFAULT_DEVICE = 'vif%d.%d'


def xl_output(run, argv):
    """What an xl command printed; XlOutputError naming the command when it failed."""
    rc, out, err = run(argv)
    if rc != 0:
        raise XlOutputError('%s failed (rc %d): %s' % (command_line(argv), rc, (err or out).strip()))
    return out


def running_domains(run, xl):
    """{name: RunningDomain} of the running guests, or None with the reason when xl cannot tell."""
    try:
        out = xl_output(run, list_all_command(xl))
        return dict((domain.name, domain) for domain in parse_list(out) if domain.name != DOM0_NAME), None
    except XlOutputError as error:
        return None, str(error)


def live_vifs(run, xl, name, xenstore_ls=None):
    """The running vifs of a guest; with xenstore_ls, each with its backend's entries."""
    vifs = parse_network_list(xl_output(run, network_list_command(xl, name)))
    return read_backends(run, xenstore_ls, vifs) if xenstore_ls else vifs


def _guest_entry(guest):
    return dict(name=guest.name, config=guest.path, type=guest.type, hvm=guest.hvm, vifs=guest_vifs(guest),
                error=guest.error, running=None, domid=None, live_vifs=[])


def gather(config_dir, pattern, run=None, xl=None):
    """The whole answer; run/xl (AnsibleModule.run_command and xl's path) are None to read the files only."""
    configs = scan_config_dir(config_dir, pattern) if config_dir and os.path.isdir(config_dir) else []
    guests = [_guest_entry(guest) for guest in configs]
    claims = [one for guest in configs if guest.error is None for one in guest_claims(guest)]
    notes = ['%s: %s' % (guest.path, guest.error) for guest in configs if guest.error is not None]
    devices = set(name for one in claims for name in one.names)
    live_macs = set()
    running, note = running_domains(run, xl) if xl is not None else (None, None)
    if note:
        notes.append(note)
    if running is not None:
        _add_running(guests, running, run, xl, devices, live_macs, notes)
    return dict(
        guests=guests,
        claims=[dict(guest=one.guest, devid=one.devid, mac=one.mac, ip=list(one.ips), vifname=one.vifname, emulated=one.emulated)
                for one in claims],
        macs=sorted(set(one.mac for one in claims if one.mac) | live_macs),
        ips=sorted(set(address_key(entry) for one in claims for entry in one.ips)),
        vifnames=sorted(devices),
        conflicts=conflicts(claims),
        xl=xl,
        notes=notes,
    )


def _add_running(guests, running, run, xl, devices, live_macs, notes):
    """Mark running guests, add those without a config, and read each one's vifs from xl."""
    by_name = dict((guest['name'], guest) for guest in guests if guest['name'])
    for guest in guests:
        guest['running'] = guest['name'] in running
    for name in sorted(set(running) - set(by_name)):
        entry = dict(name=name, config=None, type=None, hvm=None, vifs=[], error=None, running=True, domid=None, live_vifs=[])
        guests.append(entry)
        by_name[name] = entry
    for name, domain in sorted(running.items()):
        guest = by_name[name]
        guest['domid'] = domain.domid
        try:
            vifs = live_vifs(run, xl, name)
        except XlOutputError as error:
            notes.append(str(error))
            continue
        guest['live_vifs'] = [live_vif_dict(vif) for vif in vifs]
        named = dict((vif['devid'], vif.get('vifname')) for vif in guest['vifs'])
        for vif in vifs:
            live_macs.add(vif.mac)
            if not named.get(vif.devid):
                devices.add(DEFAULT_DEVICE % (domain.domid, vif.devid))


def conflicts(claims):
    """Every MAC, address and device name more than one vif of the dom0 claims, with the vifs involved."""
    held = Claims()
    for one in claims:
        for kind, value in vif_claims(one.names, one.mac or None, one.ips):
            held.claim(dict(guest=one.guest, devid=one.devid), kind, value)
    return [dict(kind=kind, value=value, holders=found) for kind, value, found in sorted(held.duplicates(), key=lambda entry: entry[:2])]


def run_vif_info_module(module):
    checked_options(module, problems=file_pattern_problems('pattern', module.params['pattern']))
    xl = module.get_bin_path('xl') if module.params['live'] else None
    result = gather(module.params['config_dir'], module.params['pattern'], module.run_command, xl)
    for note in result['notes']:
        module.warn(note)
    module.exit_json(changed=False, **result)
