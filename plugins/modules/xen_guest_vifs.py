#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_guest_vifs
short_description: Converge the vif lists of all of a dom0's guests in one call
version_added: 0.2.0
description:
  - Makes the C(vif = [...]) list of the xl config of every guest in O(guests) what the guest's O(guests[].vifs)
    says, in one task, the whole desired state of a dom0's guest interfaces at once, instead of one
    M(xenfleet.network.xen_vif) task per vif (which reads every config of the dom0 again for each vif).
  - Uses M(xenfleet.network.xen_vif)'s parser, editor, rules and V(auto) schemes, so a vif written by one module reads
    the same to the other. Only the entries concerned change; every other byte of a file (comments, other keys,
    quoting, layout) stays as it was.
  - Each listed config is read once. Before anything is written, every vif of every listed guest is checked (the rules
    of M(xenfleet.network.xen_vif)), and MACs, addresses and vif names must be unique over all listed guests and every
    other config in O(config_dir). One bad vif fails the task before any file is written; the message lists every
    problem at once, each naming the guest, devid, field and value.
  - Only the files that change are written, atomically (temporary file, then rename), under the same lock as
    M(xenfleet.network.xen_vif). When writing one fails, the files already written get their old content back.
  - A listed vif's keys are exactly the ones given (a key not given is dropped from the entry); V(auto) for O(guests[].vifs[].mac)
    and O(guests[].vifs[].vifname) keeps a valid value the vif already has.
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - netaddr
  - xl (Xen's toolstack), only for O(live=true)
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  guests:
    description:
      - The guests whose vif lists this task manages, in the shape of the inventory's C(xenfleet_guests).
      - Guests not listed are not changed; their vifs count for the uniqueness checks.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description:
          - Name of the guest (domU). When its config has C(name = '...'), both must agree.
          - Letters, digits, C(.), C(-) and C(_), starting with a letter or digit, at most 64, not digits only.
        type: str
        required: true
      type:
        description:
          - The guest's type. V(hvm) guests get an emulated NIC (a C(<vifname>-emu) tap), so their vif names may have
            at most 11 characters. Defaults to what the config's C(type) says.
        type: str
        choices: [pv, pvh, hvm]
      config:
        description:
          - Path of the guest's xl config. Defaults to C(<config_dir>/<name>.cfg). The file must exist.
          - An absolute path without control characters.
        type: path
      vifs:
        description:
          - The guest's vifs. Each is a mapping of xl vif keys (see M(xenfleet.network.xen_vif) for each key's rules).
          - A vif without O(guests[].vifs[].devid) takes its position (0, 1, ...) in this list.
        type: list
        elements: dict
        default: []
        suboptions:
          devid:
            description:
              - The vif's device index; defaults to the vif's position in the list. C(devid=) is written in the entry
                only where xl's numbering by position would give another one.
            type: int
          mac:
            description:
              - MAC address. V(auto) keeps a valid MAC the vif already has, else derives one (O(mac_prefix) followed
                by the first IPv4 address in hex, or C(00:16:3e) and a hash of guest name and devid).
            type: str
            default: auto
          bridge:
            description: Bridge the vif is plugged into (xl's default is C(xenbr0)).
            type: str
          ip:
            description:
              - Addresses or CIDRs of the guest on this vif (xl's C(ip=)).
              - One address per entry; an entry holding white space is refused.
            type: list
            elements: str
          vifname:
            description:
              - Name of the vif's dom0 device, at most 15 characters (11 with an emulated NIC). V(auto) keeps a valid
                name the vif already has, else derives C(<name>-<devid>) (shortened with a hash when too long), never one
                another vif of the dom0 has.
            type: str
            default: auto
          script:
            description:
              - Hotplug script, for example C(vif-bridge), C(vif-route) or C(vif-nat).
              - A name from C(/etc/xen/scripts), or an absolute path whose every part is such a name; names are
                letters, digits, C(.), C(-) and C(_), start with a letter, digit or C(_), and have at most 64 characters.
                No C(..). The rule of M(xenfleet.network.xen_xl_defaults)' O(xenfleet.network.xen_xl_defaults#module:vif_script) too.
            type: str
          rate:
            description: Bandwidth limit, for example C(10Mb/s) or C(1MB/s@20ms).
            type: str
          mtu:
            description: MTU of the vif, 68 to 65535.
            type: int
          model:
            description: Emulated NIC model for HVM guests, for example C(e1000).
            type: str
          type:
            description: V(ioemu) gives the guest an emulated NIC besides the PV one; V(vif) only the PV one.
            type: str
            choices: [vif, ioemu]
          gatewaydev:
            description: Device the C(vif-route) and C(vif-nat) scripts route through.
            type: str
          backend:
            description: Backend (driver) domain of the vif, by name or domid. Defaults to dom0.
            type: str
  config_dir:
    description:
      - Directory of the dom0's xl configs (C(*.cfg)). The default config of a listed guest is there, and the vifs of
        every other config there count for the uniqueness checks (one that cannot be parsed is skipped with a warning).
      - An absolute path without control characters.
    type: path
    default: /etc/xen
  exclusive:
    description:
      - V(true) makes each listed guest's vif list exactly O(guests[].vifs); vifs the list does not name are removed.
      - V(false) sets the listed vifs and keeps the guest's others.
    type: bool
    default: true
  bridge_subnets:
    description:
      - Mapping of bridge name to the subnet (CIDR) or list of subnets its guests use. Each address of a vif on such a
        bridge must lie inside one of them. The bridge of a vif without one is C(xenbr0).
    type: dict
  mac_prefix:
    description: The two-octet, locally administered prefix of MACs that V(auto) derives from an IPv4 address.
    type: str
    default: "02:00"
  live:
    description:
      - Also bring the running guests in line, as M(xenfleet.network.xen_vif)'s O(xenfleet.network.xen_vif#module:live)
        does, vif by vif. One C(xl list) says which listed guests run; each of those gets one C(xl network-list) and
        one C(xenstore-ls -f) per vif backend, and a running vif whose backend entries differ from its config entry is
        re-plugged even when the file does not change.
      - The files are written first; if an xl command then fails, the task fails saying the files were written.
      - Without xl only the files change, with a warning.
    type: bool
    default: false
  backup:
    description: Keep a copy of each config that changes, beside it, named C(<config>.<timestamp>~).
    type: bool
    default: false
  read_back:
    description:
      - Also return RV(dom0_guests), every guest of the dom0 as M(xenfleet.network.xen_vif_info) reports it, so a
        role that feeds the vifs to M(xenfleet.network.xen_nat) or M(xenfleet.network.xen_antispoof) needs no second
        task to read them back.
      - When xl is installed it is asked (read-only, C(xl list) and C(xl network-list)) which guests run, whatever
        O(live) says.
    type: bool
    default: false
notes:
  - Check mode reads and plans but writes nothing (O(live=true) still runs the read-only C(xl list) and C(xl network-list)).
seealso:
  - module: xenfleet.network.xen_vif
  - module: xenfleet.network.xen_vif_info
  - name: xl-network-configuration(5)
    description: The keys of an xl vif spec.
    link: https://xenbits.xen.org/docs/unstable/man/xl-network-configuration.5.html
'''

EXAMPLES = r'''
- name: Every guest's vifs, from the inventory, in one task
  xenfleet.network.xen_guest_vifs:
    guests: "{{ xenfleet_guests }}"
    config_dir: /etc/xen
    bridge_subnets:
      xenbr0: 10.0.0.0/24
      xenbr1: 192.168.100.0/24

- name: Two guests, two vifs each, MACs and names derived
  xenfleet.network.xen_guest_vifs:
    guests:
      - name: web
        vifs:
          - bridge: xenbr0
            ip: [10.0.0.5]
          - bridge: xenbr1
            ip: [192.168.100.5]
      - name: db
        type: hvm
        vifs:
          - bridge: xenbr1
            ip: [192.168.100.6]
            vifname: db-priv

- name: Add a rate limit to vif 1 of web, keeping its other vifs, and apply it to the running guest
  xenfleet.network.xen_guest_vifs:
    exclusive: false
    live: true
    guests:
      - name: web
        vifs:
          - devid: 1
            bridge: xenbr1
            ip: [192.168.100.5]
            rate: 100Mb/s
'''

RETURN = r'''
changed:
  description: Whether a config (or, with O(live=true), a running guest) changed.
  returned: always
  type: bool
plan:
  description: The files that change, one step each, naming the guest and its vifs added, changed and removed.
  returned: success
  type: list
  elements: str
  sample: ["write /etc/xen/web.cfg (web: add vif 1, change vif 0)"]
guests:
  description: Per listed guest, what the task found and made.
  returned: success
  type: dict
  sample: {"web": {"changed": true, "config": "/etc/xen/web.cfg", "steps": ["add vif 1"],
           "vifs_before": [{"devid": 0, "bridge": "xenbr0", "mac": "02:00:0a:00:00:05", "ip": ["10.0.0.5"], "vifname": "web-0"}],
           "vifs_after": [{"devid": 0, "bridge": "xenbr0", "mac": "02:00:0a:00:00:05", "ip": ["10.0.0.5"], "vifname": "web-0"},
                          {"devid": 1, "bridge": "xenbr1", "mac": "02:00:c0:a8:64:05", "ip": ["192.168.100.5"], "vifname": "web-1"}]}}
  contains:
    changed:
      description: Whether the guest's config changes.
      type: bool
    config:
      description: The guest's config file.
      type: str
    steps:
      description: The vifs added, changed and removed.
      type: list
      elements: str
    vifs_before:
      description: The vifs in the config before the task, each a mapping of xl keys with its devid.
      type: list
      elements: dict
    vifs_after:
      description: The vifs after the task (V(auto) settled), in file order.
      type: list
      elements: dict
problems:
  description: Every rule the listed vifs break, when the task failed for that reason.
  returned: failure
  type: list
  elements: dict
  sample: [{"guest": "web", "devid": 1, "field": "vifname", "value": "wiki.xen.prgmr.com",
            "rule": "is 18 characters; Linux allows 15",
            "message": "guest 'web' vif 1: vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15"}]
missing:
  description: The configs that do not exist, when the task failed for that reason.
  returned: failure
  type: list
  elements: str
failed_step:
  description: The write that failed.
  returned: when writing a config failed
  type: str
rolled_back:
  description: The writes undone (their files have their old content again), newest first.
  returned: when writing a config failed
  type: list
  elements: str
rollback_errors:
  description: One message per write that could not be undone.
  returned: when writing a config failed
  type: list
  elements: str
no_undo:
  description: Steps done without an undo (none for this module; kept for the shape of every rollback report).
  returned: when writing a config failed
  type: list
  elements: str
dom0_guests:
  description:
    - Every guest config in O(config_dir) (C(*.cfg)) and every listed guest, after the task (in check mode, as the task
      would leave them), in the shape of M(xenfleet.network.xen_vif_info)'s RV(xenfleet.network.xen_vif_info#module:guests);
      running guests without a config are added when xl is installed.
    - A listed guest's C(vifs) are the ones the task planned; the others' are read from their files.
  returned: when O(read_back=true)
  type: list
  elements: dict
  sample: [{"name": "web", "config": "/etc/xen/web.cfg", "type": "pvh", "hvm": false, "error": null, "running": null,
            "domid": null, "live_vifs": [],
            "vifs": [{"devid": 0, "bridge": "xenbr0", "mac": "02:00:0a:00:00:05", "ip": ["10.0.0.5"], "vifname": "web-0"}]}]
live:
  description: What O(live=true) found and did.
  returned: when O(live=true)
  type: dict
  contains:
    xl:
      description: Path of xl, or null when it is not installed.
      type: str
    running:
      description: The listed guests that run.
      type: list
      elements: str
    note:
      description: Why nothing live was done (xl missing).
      type: str
    vifs:
      description: Per running guest, its vifs as C(xl network-list) showed them before the task, each with C(backend),
        its backend's xenstore entries.
      type: dict
    steps:
      description: What the commands do, in order.
      type: list
      elements: str
    commands:
      description: The xl command lines run (or, in check mode, that would run), as argument lists.
      type: list
      elements: list
lock:
  description: The lock file the task waited for in vain (see O(lock_timeout)).
  returned: when the lock was not had within O(lock_timeout)
  type: str
lock_holder:
  description: What the run holding the lock wrote into it, or only its PID; null when neither is known.
  returned: when the lock was not had within O(lock_timeout)
  type: dict
live_done:
  description: The xl commands that ran before one failed, as argument lists, when O(live=true) failed.
  returned: when a live step failed
  type: list
  elements: list
rc:
  description: The exit status of the xl command that failed.
  returned: when a live step failed
  type: int
stdout:
  description: What the xl command that failed printed.
  returned: when a live step failed
  type: str
stderr:
  description: What the xl command that failed printed on standard error.
  returned: when a live step failed
  type: str
cmd:
  description: The xl command that failed, as an argument list.
  returned: when a live step failed
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.vif.bulk_runner import run_guest_vifs_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            guests=dict(type='list', elements='dict', required=True, options=dict(
                name=dict(type='str', required=True),
                type=dict(type='str', choices=['pv', 'pvh', 'hvm']),
                config=dict(type='path'),
                vifs=dict(type='list', elements='dict', default=[], options=dict(
                    devid=dict(type='int'),
                    mac=dict(type='str', default='auto'),
                    bridge=dict(type='str'),
                    ip=dict(type='list', elements='str'),
                    vifname=dict(type='str', default='auto'),
                    script=dict(type='str'),
                    rate=dict(type='str'),
                    mtu=dict(type='int'),
                    model=dict(type='str'),
                    type=dict(type='str', choices=['vif', 'ioemu']),
                    gatewaydev=dict(type='str'),
                    backend=dict(type='str'),
                )),
            )),
            config_dir=dict(type='path', default='/etc/xen'),
            exclusive=dict(type='bool', default=True),
            bridge_subnets=dict(type='dict'),
            mac_prefix=dict(type='str', default='02:00'),
            live=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            read_back=dict(type='bool', default=False),
        ),
        supports_check_mode=True,
    )
    run_guest_vifs_module(module)


if __name__ == '__main__':
    main()
