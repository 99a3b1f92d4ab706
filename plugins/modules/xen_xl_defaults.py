#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_xl_defaults
short_description: Set the dom0-wide vif defaults in /etc/xen/xl.conf
version_added: 0.1.0
description:
  - Sets or removes the keys of C(/etc/xen/xl.conf) that a guest's vif line falls back to when it does not name them
    itself, C(vif.default.script), C(vif.default.bridge) and C(vif.default.gatewaydev), so a topology's defaults hold
    for every guest of the dom0.
  - Only those keys change. Every other byte of the file (comments, other keys, their order, quoting, layout) stays as
    it was. A key the file lacks gets one new line, after its commented-out example when the file has one (as Debian's
    has), else at the end. A key set more than once ends up set once, by its last statement.
  - The file is created when it is missing and a key must be set. It is written atomically (temporary file, then
    rename), with an optional backup.
  - A file that cannot be parsed is refused with the line and column of the problem, and is not written. So is every
    value that breaks its rule; the message names the option and the value.
author:
  - xenfleet.network developers (@xenfleet)
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  path:
    description:
      - The xl.conf to edit. An absolute path without control characters (newline, carriage return, NUL...).
    type: path
    default: /etc/xen/xl.conf
  vif_script:
    description:
      - C(vif.default.script), the hotplug script of a vif line without C(script=), for example C(vif-bridge) or
        C(vif-route).
      - A script name, or an absolute path whose parts are such names (C(/etc/xen/scripts/vif-route)); names are
        letters, digits, C(.), C(-) and C(_), start with a letter, digit or C(_), and have at most 64 characters. No
        C(..).
      - Null leaves the key as it is.
    type: str
  vif_bridge:
    description:
      - C(vif.default.bridge), the bridge of a vif line without C(bridge=).
      - An interface name (at most 15 characters, letters, digits, C(.), C(-) and C(_)).
      - Null leaves the key as it is.
    type: str
  vif_gatewaydev:
    description:
      - C(vif.default.gatewaydev), the device C(vif-route) and C(vif-nat) route through when a vif line does not say.
      - An interface name, as for O(vif_bridge).
      - Null leaves the key as it is.
    type: str
  absent:
    description:
      - The keys to remove from the file, by their option names. A key may not be both set and removed.
    type: list
    elements: str
    choices: [vif_script, vif_bridge, vif_gatewaydev]
    default: []
  backup:
    description:
      - Keep a copy of the file as it was, beside it, named C(<path>.<timestamp>~), when the file changes.
    type: bool
    default: false
notes:
  - xl reads C(xl.conf) when a guest starts; running guests keep the defaults they started with.
seealso:
  - module: xenfleet.network.xen_vif
  - name: xl.conf(5)
    description: The keys of xl's global configuration file.
    link: https://xenbits.xen.org/docs/unstable/man/xl.conf.5.html
'''

EXAMPLES = r'''
- name: Guests of this dom0 join xenbr0 through vif-bridge unless their vif line says otherwise
  xenfleet.network.xen_xl_defaults:
    vif_script: vif-bridge
    vif_bridge: xenbr0

- name: Routed topology, vifs routed through eth0; no default bridge any more
  xenfleet.network.xen_xl_defaults:
    vif_script: vif-route
    vif_gatewaydev: eth0
    absent: [vif_bridge]
    backup: true
'''

RETURN = r'''
config:
  description: The file edited (O(path)).
  returned: always
  type: str
  sample: /etc/xen/xl.conf
before:
  description: The three defaults as xl read them before the task, by option name; null for a key that was unset.
  returned: success
  type: dict
  sample: {"vif_script": "vif-bridge", "vif_bridge": null, "vif_gatewaydev": null}
defaults:
  description: The three defaults after the task (in check mode, as the task would leave them), by option name.
  returned: success
  type: dict
  sample: {"vif_script": "vif-route", "vif_bridge": null, "vif_gatewaydev": "eth0"}
backup_file:
  description: The backup of the file, when O(backup=true) and the file changed.
  returned: changed and O(backup=true)
  type: str
  sample: /etc/xen/xl.conf.20250101120000~
problems:
  description: Every rule the options break, when the task failed for that reason.
  returned: failure
  type: list
  elements: str
  sample: ["vif_bridge 'br$(id)' holds '$', '(', ')'; an interface name may hold only letters, digits, '.', '-' and '_'"]
line:
  description: Line of the parse error, when the file could not be parsed.
  returned: failure
  type: int
column:
  description: Column of the parse error, when the file could not be parsed.
  returned: failure
  type: int
lock:
  description: The lock file the task waited for in vain (see O(lock_timeout)).
  returned: when the lock was not had within O(lock_timeout)
  type: str
  sample: /run/lock/xenfleet/xlconf-etc-xen-xl.conf-0123456789.lock
lock_holder:
  description:
    - What the run holding the lock wrote into it, or only its PID (from C(/proc/locks)) when it wrote nothing; null when
      neither is known.
  returned: when the lock was not had within O(lock_timeout)
  type: dict
  sample: {"pid": 1234, "module": "xen_xl_defaults", "target": "/etc/xen/xl.conf", "since": "14:02:11"}
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.xl.defaults import OPTIONS, run_xl_defaults_module


def main():
    argument_spec = dict(
        LOCK_OPTIONS,
        path=dict(type='path', default='/etc/xen/xl.conf'),
        absent=dict(type='list', elements='str', choices=list(OPTIONS), default=[]),
        backup=dict(type='bool', default=False),
    )
    argument_spec.update((option, dict(type='str')) for option in OPTIONS)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    run_xl_defaults_module(module)


if __name__ == '__main__':
    main()
