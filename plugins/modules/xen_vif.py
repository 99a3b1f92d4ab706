#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_vif
short_description: Manage one guest interface (vif) in an xl domain config, with stable names and collision-free MACs
version_added: 0.1.0
description:
  - Adds, changes or removes one entry of the C(vif = [...]) list of an xl domain config file, and optionally of the
    running guest (O(live)).
  - Only the entry concerned changes; every other byte of the file (comments, other keys, quoting, layout) stays as it
    was. The file is written atomically (temporary file, then rename), with an optional backup.
  - A file that cannot be parsed is refused with the line and column of the problem, and is not written.
  - Before anything is written, the vif is checked. Each failure names the guest, the field, the value and the rule, and
    the file stays byte for byte as it was.
  - O(vifname) at most 15 characters (Linux truncates longer names silently), at most 11 when the guest has an emulated
    NIC (C(type=ioemu), or an HVM guest, whose tap device gets C(-emu) appended); only letters, digits, C(.), C(-) and
    C(_); not of the C(vifDOMID.DEVID) form xl uses for unnamed vifs; unique on the dom0.
  - O(mac) six octets, unicast, not all zeros, in Xen's C(00:16:3e) block or locally administered (second hex digit 2, 6,
    A or E); unique on the dom0.
  - O(ip) each entry an IPv4 or IPv6 address or CIDR, inside the bridge's subnet when O(bridge_subnets) knows it; unique
    on the dom0.
  - Uniqueness is checked against the guest's other vifs, every other config in O(config_dir) and O(claims).
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - netaddr >= 0.8.0 (Debian 12's python3-netaddr)
  - xl (Xen's toolstack), only for O(live=true)
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  domain:
    description:
      - Name of the guest (domU). When the config has C(name = '...'), both must agree.
      - Letters, digits, C(.), C(-) and C(_), starting with a letter or digit, at most 64, not digits only (xl reads
        those as a domid). It names the file C(<config_dir>/<domain>.cfg), so a C(/) or C(..) is refused.
    type: str
    required: true
  config:
    description:
      - Path of the guest's xl domain config. Defaults to C(<config_dir>/<domain>.cfg), that is C(/etc/xen/<domain>.cfg).
      - The file must exist; O(state=absent) on a missing file changes nothing.
      - An absolute path without control characters.
    type: path
  config_dir:
    description:
      - Directory whose C(*.cfg) files describe the dom0's other guests. Their vifs' MACs, addresses and vif names are
        taken, so this vif may not reuse them. A config there that cannot be parsed is skipped with a warning.
      - An empty string skips the scan.
      - An absolute path without control characters.
    type: path
    default: /etc/xen
  devid:
    description:
      - The vif's device index. xl numbers vifs by their position in the list unless an entry says C(devid=).
      - When no vif has it, a new vif is added at the end of the list (with C(devid=) written when the position differs).
      - One of O(devid) and O(match) is required.
    type: int
  match:
    description:
      - Selects the vif by its keys instead of O(devid). Must match at most one vif.
      - When none matches and O(state=present), a new vif is added, carrying the matched keys so the next run finds it.
    type: dict
    suboptions:
      mac:
        description: The vif's MAC address (any case, C(:) or C(-) separated).
        type: str
      vifname:
        description: The vif's name.
        type: str
  mac:
    description:
      - MAC address of the guest's NIC.
      - V(auto) keeps a valid MAC the vif already has; otherwise it derives one, never at random. With an IPv4 address in
        O(ip), O(mac_prefix) followed by the address in hex (C(10.0.0.5) gives C(02:00:0a:00:00:05)), unique wherever
        addresses are unique; without one, C(00:16:3e) followed by 3 bytes of a hash of guest name and devid.
      - Without a MAC xl picks a random one at every start, and udev in the guest then renames eth0 to eth1.
    type: str
  bridge:
    description:
      - Bridge the vif is plugged into (xl's default is C(xenbr0)).
    type: str
  ip:
    description:
      - Addresses or CIDRs of the guest on this vif (xl's C(ip=), a space-separated list), used by C(vif-route) and
        anti-spoofing.
      - An empty list is the same as leaving the option out; use O(replace=true) to drop the key.
      - One address per entry; an entry holding white space is refused.
    type: list
    elements: str
  vifname:
    description:
      - Name of the vif's dom0 device, so firewall rules and graphs keep working when the guest restarts
        (unnamed vifs are called C(vifDOMID.DEVID), a new name at every start).
      - V(auto) keeps a valid name the vif already has; otherwise it derives C(<domain>-<devid>), shortened with a
        4-hex-digit hash when too long, and never one another vif on the dom0 has.
    type: str
  script:
    description:
      - Hotplug script, for example C(vif-bridge), C(vif-route) or C(vif-nat).
      - A name from C(/etc/xen/scripts), or an absolute path whose every part is such a name; names are
        letters, digits, C(.), C(-) and C(_), start with a letter, digit or C(_), and have at most 64 characters.
        No C(..). The rule of M(xenfleet.network.xen_xl_defaults)' O(xenfleet.network.xen_xl_defaults#module:vif_script) too.
    type: str
  rate:
    description:
      - Bandwidth limit, for example C(10Mb/s) or C(1MB/s@20ms).
    type: str
  mtu:
    description:
      - MTU of the vif, 68 to 65535.
    type: int
  model:
    description:
      - Emulated NIC model for HVM guests, for example C(e1000) or C(rtl8139).
    type: str
  type:
    description:
      - V(ioemu) gives the guest an emulated NIC (with a C(-emu) tap in dom0) besides the PV one; V(vif) only the PV one.
    type: str
    choices: [vif, ioemu]
  gatewaydev:
    description:
      - Device the C(vif-route) and C(vif-nat) scripts route through (xl's C(gatewaydev), formerly C(netdev)).
    type: str
  backend:
    description:
      - Backend (driver) domain of the vif, by name or domid. Defaults to dom0.
    type: str
  state:
    description:
      - V(present) adds the vif or sets the given keys on it; keys not given stay as they are (see O(replace)).
      - V(absent) removes it. Removing a vif other than the last moves the later vifs without C(devid=) down by one
        devid, which the guest may see as renamed interfaces; the module warns when it does.
    type: str
    choices: [present, absent]
    default: present
  replace:
    description:
      - Make the vif exactly the keys given, dropping the ones not given (unknown keys included).
    type: bool
    default: false
  live:
    description:
      - Also apply the change to the running guest. The module reads C(xl network-list <domain>) and each running
        vif's backend entries in xenstore (C(xenstore-ls -f <backend path>)), and runs
        C(xl network-attach <domain> key=value...) when the guest has no vif with this devid, or
        C(xl network-detach <domain> <devid>) then C(xl network-attach) when the running vif's MAC differs, one of
        its backend entries differs from the config entry (vifname, ip, rate, mtu; bridge, script, gatewaydev and type
        where the entry sets them), or the config entry changed (xl cannot change a running vif in place). So a run
        killed between the config write and xl is repaired by the next one. With O(state=absent),
        C(xl network-detach <domain> <mac|devid>).
      - Without C(xenstore-ls) the running vif is compared by MAC only, with a warning.
      - When xl is not installed or the guest is not running (C(xl list <domain>) fails), only the file changes and
        the module warns.
      - The file is written first; if an xl command then fails, the task fails saying the file was written.
    type: bool
    default: false
  backup:
    description:
      - Keep a copy of the config as it was, beside it, named C(<config>.<timestamp>~), when the file changes.
    type: bool
    default: false
  mac_prefix:
    description:
      - The two-octet, locally administered prefix of MACs that O(mac=auto) derives from an IPv4 address.
    type: str
    default: "02:00"
  bridge_subnets:
    description:
      - Mapping of bridge name to the subnet (CIDR) or list of subnets its guests use. Each O(ip) entry of a vif on
        such a bridge must lie inside one of them (of its address family).
      - The bridge of a vif without O(bridge) is C(xenbr0).
    type: dict
  claims:
    description:
      - Further vifs on this dom0 that this vif must not collide with, for guests whose configs are not in
        O(config_dir) (the RV(xenfleet.network.xen_vif_info#module:claims) of M(xenfleet.network.xen_vif_info) has this shape).
    type: list
    elements: dict
    suboptions:
      guest:
        description: The guest holding the vif.
        type: str
        required: true
      devid:
        description: Its device index.
        type: int
      mac:
        description: Its MAC.
        type: str
      ip:
        description: Its addresses.
        type: list
        elements: str
      vifname:
        description: Its name.
        type: str
      emulated:
        description: Whether it also has a C(<vifname>-emu) tap device.
        type: bool
        default: false
notes:
  - The check and the edit work on the file alone; nothing in the file or the running guest is touched in check mode
    (O(live=true) still runs the read-only C(xl list) and C(xl network-list)).
  - C(xl network-list) shows only the devid and MAC of a running vif, so a running vif whose bridge or name differs
    from its unchanged config entry is not detected; re-plug it with C(xl network-detach) and a task run.
  - The duplicate checks cover one dom0. Use the P(xenfleet.network.fleet_conflicts#filter) filter to check a whole
    fleet before changing anything.
seealso:
  - module: xenfleet.network.xen_vif_info
  - plugin: xenfleet.network.fleet_conflicts
    plugin_type: filter
  - plugin: xenfleet.network.mac_auto
    plugin_type: filter
  - name: xl-network-configuration(5)
    description: The keys of an xl vif spec.
    link: https://xenbits.xen.org/docs/unstable/man/xl-network-configuration.5.html
'''

EXAMPLES = r'''
- name: Give the web guest a named vif on xenbr0 with a MAC derived from its address
  xenfleet.network.xen_vif:
    domain: web
    devid: 0
    bridge: xenbr0
    ip: [10.0.0.5]
    mac: auto
    vifname: auto
    bridge_subnets:
      xenbr0: 10.0.0.0/24

- name: Add a second vif to the running guest as well
  xenfleet.network.xen_vif:
    domain: web
    devid: 1
    bridge: xenbr1
    mac: "02:00:0a:01:00:05"
    vifname: web-1
    live: true

- name: Limit the bandwidth of the vif with a given MAC, keeping a backup of the config
  xenfleet.network.xen_vif:
    domain: web
    config: /srv/xen/web.cfg
    config_dir: /srv/xen
    match:
      mac: "02:00:0a:00:00:05"
    rate: 100Mb/s
    backup: true

- name: Remove the vif named web-1, from the file and the running guest
  xenfleet.network.xen_vif:
    domain: web
    match:
      vifname: web-1
    state: absent
    live: true
'''

RETURN = r'''
config:
  description: The config file edited.
  returned: always
  type: str
  sample: /etc/xen/web.cfg
guest:
  description: The guest's name.
  returned: success
  type: str
  sample: web
devid:
  description: The vif's device index (null when O(state=absent) found no vif).
  returned: always
  type: int
  sample: 0
vif:
  description: The vif spec as written to the file (keys in canonical order); null with O(state=absent).
  returned: always
  type: str
  sample: mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0
spec:
  description: The vif's keys after the task; null with O(state=absent).
  returned: always
  type: dict
  sample: {"mac": "02:00:0a:00:00:05", "bridge": "xenbr0", "ip": ["10.0.0.5"], "vifname": "web-0"}
before:
  description: The vif's keys before the task; null when it did not exist.
  returned: always
  type: dict
  sample: {"bridge": "xenbr0", "ip": ["10.0.0.5"]}
mac:
  description: The MAC the vif ended up with (V(auto) settled), or null when it has none.
  returned: always
  type: str
  sample: "02:00:0a:00:00:05"
vifname:
  description: The vif name it ended up with (V(auto) settled), or null when it has none.
  returned: always
  type: str
  sample: web-0
backup_file:
  description: The backup of the config, when O(backup=true) and the file changed.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/xen/web.cfg.20250101120000~
problems:
  description: Every rule the vif breaks, when the task failed for that reason.
  returned: failure
  type: list
  elements: dict
  sample: [{"guest": "web", "devid": 1, "field": "vifname", "value": "wiki.xen.prgmr.com",
            "rule": "is 18 characters; Linux allows 15",
            "message": "guest 'web' vif 1: vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15"}]
line:
  description: Line of the parse error, when the config could not be parsed.
  returned: failure
  type: int
column:
  description: Column of the parse error, when the config could not be parsed.
  returned: failure
  type: int
live:
  description: What O(live=true) found and did.
  returned: when O(live=true)
  type: dict
  contains:
    xl:
      description: Path of xl, or null when it is not installed.
      type: str
    running:
      description: Whether the guest runs.
      type: bool
    note:
      description: Why nothing live was done (xl missing, guest not running).
      type: str
    vifs:
      description: The running vifs as C(xl network-list) showed them before the task, each with C(backend), its
        backend's xenstore entries (when C(xenstore-ls) is installed).
      type: list
      elements: dict
    steps:
      description: What the commands do, in order.
      type: list
      elements: str
    commands:
      description: The xl command lines run (or, in check mode, that would run), as argument lists.
      type: list
      elements: list
  sample: {"xl": "/usr/sbin/xl", "running": true, "note": null, "vifs": [],
           "steps": ["attach vif 0 to running guest web"],
           "commands": [["/usr/sbin/xl", "network-attach", "web", "mac=02:00:0a:00:00:05", "bridge=xenbr0", "devid=0"]]}
lock:
  description: The lock file the task waited for in vain (see O(lock_timeout)).
  returned: when the lock was not had within O(lock_timeout)
  type: str
  sample: /run/lock/xenfleet/xl-etc-xen-71390f7b29.lock
lock_holder:
  description:
    - What the run holding the lock wrote into it, or only its PID (from C(/proc/locks)) when it wrote nothing; null when
      neither is known.
  returned: when the lock was not had within O(lock_timeout)
  type: dict
  sample: {"pid": 1234, "module": "xen_vif", "target": "/etc/xen", "since": "14:02:11"}
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
from ansible_collections.xenfleet.network.plugins.module_utils.vif.runner import run_vif_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            domain=dict(type='str', required=True),
            config=dict(type='path'),
            config_dir=dict(type='path', default='/etc/xen'),
            devid=dict(type='int'),
            match=dict(type='dict', options=dict(
                mac=dict(type='str'),
                vifname=dict(type='str'),
            ), required_one_of=[('mac', 'vifname')]),
            mac=dict(type='str'),
            bridge=dict(type='str'),
            ip=dict(type='list', elements='str'),
            vifname=dict(type='str'),
            script=dict(type='str'),
            rate=dict(type='str'),
            mtu=dict(type='int'),
            model=dict(type='str'),
            type=dict(type='str', choices=['vif', 'ioemu']),
            gatewaydev=dict(type='str'),
            backend=dict(type='str'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            replace=dict(type='bool', default=False),
            live=dict(type='bool', default=False),
            backup=dict(type='bool', default=False),
            mac_prefix=dict(type='str', default='02:00'),
            bridge_subnets=dict(type='dict'),
            claims=dict(type='list', elements='dict', options=dict(
                guest=dict(type='str', required=True),
                devid=dict(type='int'),
                mac=dict(type='str'),
                ip=dict(type='list', elements='str'),
                vifname=dict(type='str'),
                emulated=dict(type='bool', default=False),
            )),
        ),
        required_one_of=[('devid', 'match')],
        supports_check_mode=True,
    )
    run_vif_module(module)


if __name__ == '__main__':
    main()
