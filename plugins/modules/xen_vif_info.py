#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_vif_info
short_description: List a dom0's guests and their vifs, and the MACs, addresses and vif names in use
version_added: 0.1.0
description:
  - Reads every xl domain config in O(config_dir) and, when xl is installed, the running guests (C(xl list)) and their
    vifs (C(xl network-list)).
  - Answers "which MACs, addresses and vif names are in use on this dom0" with flat lists, lists the ones that more
    than one vif claims, and returns the claims in the shape the O(xenfleet.network.xen_vif#module:claims) option of
    M(xenfleet.network.xen_vif) takes.
  - A config that cannot be parsed is listed with its error (and a warning) instead of failing the task.
  - Changes nothing.
author:
  - xenfleet.network developers (@xenfleet)
extends_documentation_fragment:
  - xenfleet.network.attributes
attributes:
  check_mode:
    details: The module only reads, so check mode runs it as usual.
  diff_mode:
    support: N/A
    details: The module changes nothing, so there is no difference to show.
options:
  config_dir:
    description:
      - Directory holding the guests' xl domain configs.
      - An absolute path without control characters.
    type: path
    default: /etc/xen
  pattern:
    description:
      - Shell pattern of the config files' names in O(config_dir).
      - A pattern of names in O(config_dir) itself, without C(/) or control characters.
    type: str
    default: "*.cfg"
  live:
    description:
      - Also ask xl which guests run and which vifs they have, when xl is installed. Running guests without a config in
        O(config_dir) are listed too.
    type: bool
    default: true
notes:
  - C(xl) needs root. When C(xl list) fails, the guests are listed from their configs alone, with RV(guests[].running)
    null, and a warning says why.
seealso:
  - module: xenfleet.network.xen_vif
  - plugin: xenfleet.network.fleet_conflicts
    plugin_type: filter
'''

EXAMPLES = r'''
- name: Read the vifs of this dom0's guests
  xenfleet.network.xen_vif_info:
  register: dom0_vifs

- name: Stop when two vifs on this dom0 share a MAC, an address or a name
  ansible.builtin.assert:
    that: dom0_vifs.conflicts | length == 0
    fail_msg: "{{ dom0_vifs.conflicts }}"

- name: Pick the first free address of 10.0.0.0/24 for a new guest
  ansible.builtin.set_fact:
    new_guest_ip: "{{ range(10, 250) | map('string') | map('regex_replace', '^', '10.0.0.') | reject('in', dom0_vifs.ips) | first }}"

- name: Keep the guests for the fleet-wide check (xenfleet.network.fleet_conflicts reads xen_guests)
  ansible.builtin.set_fact:
    xen_guests: "{{ dom0_vifs.guests | selectattr('name') }}"

- name: Add a vif, also checking guests that run without a config in /etc/xen
  xenfleet.network.xen_vif:
    domain: web
    devid: 1
    bridge: xenbr1
    mac: auto
    ip: [10.0.1.5]
    claims: "{{ dom0_vifs.claims }}"
'''

RETURN = r'''
guests:
  description: Every guest, from its config (in file order) and, for running guests without one, from xl.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The guest's name (C(name = ...) of its config); null when the config has none or cannot be parsed.
      type: str
    config:
      description: Path of its config; null for a running guest without one.
      type: str
    type:
      description: The config's C(type) (C(pv), C(pvh), C(hvm)), or C(hvm) for C(builder = "hvm"); null when unset.
      type: str
    hvm:
      description: Whether the guest is HVM (its vifs also get an emulated C(-emu) tap, unless C(type=vif)).
      type: bool
    vifs:
      description: Each vif of the config as a mapping of xl keys (mac, bridge, ip list, vifname, ...), with its devid.
      type: list
      elements: dict
      sample: [{"mac": "02:00:0a:00:00:05", "bridge": "xenbr0", "ip": ["10.0.0.5"], "vifname": "web-0", "devid": 0}]
    error:
      description: Why the config could not be read (with line and column for a parse error); null when it was.
      type: str
    running:
      description: Whether xl lists the guest as running; null when xl was not asked or could not tell.
      type: bool
    domid:
      description: The running guest's domain id.
      type: int
    live_vifs:
      description: The running guest's vifs as C(xl network-list) shows them (devid, backend_id, mac, handle, state,
        state_name, evtch, tx_ring_ref, rx_ring_ref, backend_path).
      type: list
      elements: dict
claims:
  description: One entry per configured vif, the shape of M(xenfleet.network.xen_vif)'s O(xenfleet.network.xen_vif#module:claims).
  returned: always
  type: list
  elements: dict
  sample: [{"guest": "web", "devid": 0, "mac": "02:00:0a:00:00:05", "ip": ["10.0.0.5"], "vifname": "web-0", "emulated": false}]
macs:
  description: Every MAC in use, from the configs and the running vifs, sorted.
  returned: always
  type: list
  elements: str
  sample: ["00:16:3e:5e:6c:00", "02:00:0a:00:00:05"]
ips:
  description: Every address the configs give their vifs (prefix lengths left out), sorted.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.5", "10.0.0.6"]
vifnames:
  description: Every dom0 device name the vifs take, sorted. Includes the C(-emu) taps of emulated NICs and, for running
    vifs without vifname, xl's C(vifDOMID.DEVID).
  returned: always
  type: list
  elements: str
  sample: ["db-0", "db-0-emu", "vif7.1", "web-0"]
conflicts:
  description: Every MAC, address or device name that more than one configured vif claims.
  returned: always
  type: list
  elements: dict
  sample: [{"kind": "mac", "value": "02:00:0a:00:00:05", "holders": [{"guest": "db", "devid": 0}, {"guest": "web", "devid": 0}]}]
xl:
  description: Path of xl, or null when it is not installed or O(live=false).
  returned: always
  type: str
notes:
  description: Configs that could not be read and xl commands that failed (each also a warning).
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.vif.info import run_vif_info_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', default='/etc/xen'),
            pattern=dict(type='str', default='*.cfg'),
            live=dict(type='bool', default=True),
        ),
        supports_check_mode=True,
    )
    run_vif_info_module(module)


if __name__ == '__main__':
    main()
