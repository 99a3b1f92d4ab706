#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_dom0_info
short_description: Read a dom0 as it is and return the inventory host_vars that reproduce it
version_added: 0.2.0
description:
  - The way in for a dom0 built by hand or by Xen's C(network-bridge), C(network-route) or C(network-nat) scripts.
  - Reads the bridges with their ports, addresses and options (over netlink), the uplink, the guests and their vif
    lines from the xl configs in O(config_dir), the vif defaults of O(xl_conf) (C(vif.default.script),
    C(vif.default.bridge), C(vif.default.gatewaydev)) and a legacy O(xend_config) (C(network-script),
    C(vif-script) and their arguments; a wrapper script it names is read for its calls of Xen's network scripts).
  - Returns RV(host_vars) in the collection's inventory model (C(xenfleet_*) variables), the topology it recognises
    with the reason, and RV(unexpressed), everything found that the model cannot say, each with why.
  - A file that cannot be parsed is a warning and an RV(unexpressed) item naming its path, line and column; the rest
    of the dom0 is still read. Changes nothing.
  - The playbook C(xenfleet.network.adopt) writes RV(host_vars) to a file per host; see docs/adopt.md.
author:
  - xenfleet.network developers (@xenfleet)
extends_documentation_fragment:
  - xenfleet.network.attributes
attributes:
  check_mode:
    details: Reading is all it does, in check mode as in a normal run.
  diff_mode:
    support: N/A
    details: Nothing is changed, so there is no before and after.
options:
  config_dir:
    description:
      - Where the guests' xl configs are; it becomes RV(host_vars.xenfleet_xl_config_dir).
      - An absolute path without control characters.
    type: path
    default: /etc/xen
  pattern:
    description:
      - Which files of O(config_dir) are guest configs (a shell pattern).
      - A pattern of names in O(config_dir) itself, without C(/) or control characters.
    type: str
    default: "*.cfg"
  xl_conf:
    description:
      - Path of xl's global config. A missing file means no defaults. Empty to skip it.
      - An absolute path without control characters.
    type: path
    default: /etc/xen/xl.conf
  xend_config:
    description:
      - Path of the legacy xend toolstack's config. A missing file means none. Empty to skip it.
      - An absolute path without control characters.
    type: path
    default: /etc/xen/xend-config.sxp
  scripts_dir:
    description:
      - Where a network script named without a path in O(xend_config) (a wrapper) is looked for.
      - An absolute path without control characters.
    type: path
    default: /etc/xen/scripts
requirements:
  - pyroute2 (0.7.2 or later)
notes:
  - The running host wins over O(xend_config) when both tell a topology; a disagreement is a warning.
  - Vifs are taken exactly as their lines are; a vif without C(mac) or C(vifname) is listed in RV(unexpressed)
    because the model's default (C(auto)) gives it one.
  - Every value that would become a variable passes the collection's rule for its kind first (guest names, config
    paths without Jinja marks, every vif key, bridge, port and uplink names); a guest or bridge with a value that breaks
    one is left out of RV(host_vars) and listed in RV(unexpressed), the value JSON-escaped and cut to 64 characters.
  - The playbook writes the file through the filter P(xenfleet.network.adopted_host_vars_file#filter), a YAML dumper
    whose header comments are escaped.
seealso:
  - module: xenfleet.network.xen_vif_info
  - module: xenfleet.network.xen_bridge
'''

EXAMPLES = r'''
- name: Read this dom0 as it is
  xenfleet.network.xen_dom0_info:
  register: dom0

- name: Show what adoption cannot express
  ansible.builtin.debug:
    msg: "{{ dom0.unexpressed | map(attribute='what') | list }}"

- name: Read guests kept elsewhere, with no legacy xend config
  xenfleet.network.xen_dom0_info:
    config_dir: /srv/xen/guests
    xend_config: ""
'''

RETURN = r'''
host_vars:
  description:
    - The inventory variables that reproduce the dom0 (docs/inventory.md). Keys whose value was not found are left out.
  returned: always
  type: dict
  contains:
    xenfleet_topology:
      description: C(brouter), C(multi_bridge) or C(routed); left out when none was recognised.
      type: str
      returned: when recognised
    xenfleet_uplink:
      description: dom0's NIC.
      type: str
      returned: when found
    xenfleet_bridges:
      description: The bridges that hold the uplink or carry guests, as M(xenfleet.network.xen_bridge) options
        (name, uplink, addresses, ports, and stp, forward_delay, nf_call_iptables, mtu where they differ from its defaults).
      type: list
      elements: dict
    xenfleet_guests:
      description: The guests (name, type, config) and their vifs with exactly the model's keys their lines set
        (mac, bridge, ip, vifname, script, rate, mtu, model, type, gatewaydev, backend), and devid where it is not the
        vif's position in the list.
      type: list
      elements: dict
    xenfleet_xl_config_dir:
      description: O(config_dir).
      type: str
    xenfleet_bridge_subnets:
      description: Bridge name to the IPv4 subnet of its address, where every guest address on it lies inside.
      type: dict
      returned: when derivable
    xenfleet_nat:
      description: For a brouter, one M(xenfleet.network.xen_nat) network per port-less guest bridge with a subnet, routed
        through the uplink as found (C(masquerade=false) and DHCP disabled, since neither is read).
      type: list
      elements: dict
      returned: when the topology is brouter
    xenfleet_antispoof:
      description: C(false) (the dom0 filters nothing now), or C({}) when the legacy network script had C(antispoof=yes).
      type: raw
  sample:
    xenfleet_topology: multi_bridge
    xenfleet_uplink: eth0
    xenfleet_bridges: [{"name": "xenbr0", "uplink": "eth0", "forward_delay": 15.0}]
    xenfleet_guests: [{"name": "web", "config": "/etc/xen/web.cfg", "vifs": [{"bridge": "xenbr0", "ip": ["192.0.2.21"]}]}]
    xenfleet_xl_config_dir: /etc/xen
    xenfleet_bridge_subnets: {"xenbr0": "192.0.2.0/24"}
    xenfleet_antispoof: false
topology:
  description: The topology recognised.
  returned: always
  type: dict
  contains:
    name:
      description: C(brouter), C(multi_bridge), C(routed), or null.
      type: str
    reason:
      description: What was found that made it so.
      type: str
    source:
      description: C(host) (the running host), C(xend-config) (the legacy file), or null.
      type: str
    notes:
      description: Disagreements between the host and the legacy file.
      type: list
      elements: str
uplink:
  description: The uplink found and how.
  returned: always
  type: dict
  contains:
    name:
      description: dom0's NIC, or null.
      type: str
    reason:
      description: How it was found.
      type: str
unexpressed:
  description: Everything found that the inventory model cannot express (so site.yml will change it or not manage it).
  returned: always
  type: list
  elements: dict
  contains:
    what:
      description: The thing found (a vif, a bridge, a file and line...).
      type: str
    why:
      description: Why the model cannot express it, and what site.yml does instead.
      type: str
  sample: [{"what": "guest web vif 0: no mac", "why": "the model's mac defaults to auto: ..."}]
bridges:
  description: Every bridge of the host, as M(xenfleet.network.xen_bridge) describes one (name, present, stp,
    forward_delay, nf_call_iptables, mac, mtu, ports, addresses, routes), plus up, vifs (ports that are guests' vifs)
    and physical_ports (the other ports).
  returned: always
  type: list
  elements: dict
default_route_devices:
  description: The devices of the default routes (IPv4 first).
  returned: always
  type: list
  elements: str
forwarding:
  description: Whether dom0 forwards, per family (C(ipv4), C(ipv6)); null where unknown.
  returned: always
  type: dict
guests:
  description: The guests of O(config_dir) as M(xenfleet.network.xen_vif_info) lists them (name, config, type, hvm,
    vifs, error, running, domid, live_vifs).
  returned: always
  type: list
  elements: dict
xl_conf:
  description: What O(xl_conf) says (path, present, defaults with the vif.default.* keys set); null when skipped or unreadable.
  returned: always
  type: dict
xend_config:
  description: What O(xend_config) says (path, present, network_script, vif_script, calls, wrapper, notes); each script
    a dict of script, args, positional and line. Null when skipped or unreadable.
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.adopt.runner import run_dom0_info_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type='path', default='/etc/xen'),
            pattern=dict(type='str', default='*.cfg'),
            xl_conf=dict(type='path', default='/etc/xen/xl.conf'),
            xend_config=dict(type='path', default='/etc/xen/xend-config.sxp'),
            scripts_dir=dict(type='path', default='/etc/xen/scripts'),
        ),
        supports_check_mode=True,
    )
    run_dom0_info_module(module)


if __name__ == '__main__':
    main()
