#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_route
short_description: Route guests' vifs without a bridge, as Xen's vif-route and network-route scripts do
version_added: 0.2.0
description:
  - Converges a routed dom0 (Xen's C(network-route) with C(vif-route)), declaratively and idempotently. No bridge
    is involved; dom0 is an IP router between its uplink and each guest's vif.
  - For every listed vif that exists now, it does what C(vif-route) does at a guest's start. It brings the vif up and
    gives it dom0's main IPv4 address (the uplink's first) as a /32, switches on proxy ARP and IPv4 forwarding on it,
    and adds a host route (/32) to each of the guest's IPv4 addresses through the vif, with the main address as source.
  - On the uplink it switches on proxy ARP and IPv4 forwarding, so the upstream router, which believes the guests sit
    on its own link, gets dom0's MAC when it asks for a guest. C(net.ipv4.conf.default.forwarding) is set too, since
    netback creates each vif anew at every guest start and C(vif-route) does not set forwarding on it.
    C(net.ipv4.ip_forward) is left alone (Linux honours the flag of the interface a packet comes in on).
  - IPv6 guest addresses get a /128 route through their vif (source - the uplink's first IPv6 address), IPv6 and
    forwarding on the vif (guests use dom0's link-local address on the vif as their IPv6 gateway), a proxy NDP entry
    on the uplink per address, and C(proxy_ndp) and forwarding on the uplink. Linux before 6.17 forwards IPv6 only with
    C(net.ipv6.conf.all.forwarding=1), which it copies onto every interface; it is set only when an IPv6 address is
    routed. An interface that still learns its own address by SLAAC then needs C(accept_ra=2).
  - Vifs that do not exist now (guest not running) are skipped and listed in RV(absent_vifs); C(vif-route) does
    their routes at the guest's next start, provided its vif line has C(script=vif-route) and C(ip=).
  - The routes this module makes carry the route protocol number 212; O(purge) deletes only routes carrying it, never a
    route an administrator or a routing daemon added.
  - A route someone else made to the same guest address through the same vif in the main table (C(vif-route)'s own, at
    the guest's start, C(proto boot) with a metric of its choosing), whatever its protocol and metric, satisfies the
    desired route. It is left as it is, no route of this module's is added beside it, and it is listed in
    RV(adopted_routes), so a run after a guest's start changes nothing.
  - Every change is a named step of a plan. Check mode reports it, diff mode shows routes, proxy entries, vif addresses
    and sysctls before and after, and a failed step rolls back the steps already done.
  - The sysctls are claimed in one record shared with M(xenfleet.network.xen_nat) (C(/var/lib/xenfleet/sysctls.json),
    under one lock), so a flag both need stays set until the last of them lets go. What xen_route no longer needs (no
    routes left, or with O(purge) no guest of a family) is put back to the value it had before the first claim.
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - pyroute2 (0.7.2, as in Debian 12, or later)
  - Linux 5.0 or later (proxy neighbour lookups)
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  uplink:
    description:
      - dom0's NIC toward the upstream router. Its first IPv4 address is dom0's main address, as C(vif-route) takes it.
      - An interface name - 1 to 15 letters, digits, C(.), C(-) or C(_), not C(.) or C(..).
    type: str
    required: true
  routes:
    description:
      - The routed vifs and the guest addresses behind each (the C(ip=) of the guest's vif line).
    type: list
    elements: dict
    default: []
    suboptions:
      vif:
        description:
          - The vif's dom0-side device name (C(vifname=), or C(vif<domid>.<devid>)). The interface-name rule of O(uplink).
        type: str
        required: true
      addresses:
        description:
          - The guest's IPv4 and IPv6 addresses, each plain or with V(/32) or V(/128). At least one; an address may be
            routed to one vif only. Networks, multicast, loopback and link-local addresses are refused.
        type: list
        elements: str
        required: true
  purge:
    description:
      - Delete the routes this module made earlier (route protocol 212) to addresses no longer listed, and their proxy
        NDP entries. The vifs' own settings (their /32 address, proxy ARP) go with the vif when the guest stops.
    type: bool
    default: true
  persist:
    description:
      - Write the dom0-wide and uplink settings (forwarding, proxy ARP, proxy NDP) to O(sysctl_path), atomically, so
        they are back after a reboot. The vifs' IPv4 settings are made at each guest start by C(vif-route).
      - When an IPv6 address is routed, also write O(hook_path), a hook Xen's vif scripts source once a vif is plugged
        (C(vif-post.d)), and its data O(ipv6_data_path) - one line per listed IPv6 address, for running and stopped
        guests alike. At every guest start (at boot by C(xendomains) included) the hook does for the vif what this
        module does and C(vif-route) does not - IPv6 on the vif with forwarding, the /128 host route (protocol 212,
        the uplink's address as source) and the proxy NDP entry on the uplink - and takes them away when the vif
        goes. A failing command there never fails the guest's start. Both files go when no IPv6 address is listed.
    type: bool
    default: true
  sysctl_path:
    description:
      - The sysctl.d file O(persist) writes. An absolute path ending in C(.conf), without C(..) or control characters.
    type: path
    default: /etc/sysctl.d/60-xenfleet-route.conf
  hook_path:
    description:
      - The vif-post.d hook O(persist) writes when an IPv6 address is routed. Xen's scripts source only C(*.hook)
        files in C(/etc/xen/scripts/vif-post.d/).
      - An absolute path without control characters.
    type: path
    default: /etc/xen/scripts/vif-post.d/xenfleet-route.hook
  ipv6_data_path:
    description:
      - The data the hook reads. Its path is the one value the hook carries, quoted for sh.
      - An absolute path without control characters.
    type: path
    default: /etc/xenfleet/route/ipv6-vifs
'''

EXAMPLES = r'''
- name: Route two running guests through dom0, as vif-route would
  xenfleet.network.xen_route:
    uplink: eth0
    routes:
      - vif: web0
        addresses: [192.0.2.50, 2001:db8:1::50]
      - vif: mail0
        addresses: [192.0.2.51/32]

- name: Only show what would change
  xenfleet.network.xen_route:
    uplink: eth0
    routes: [{vif: web0, addresses: [192.0.2.50]}]
  check_mode: true
  diff: true
'''

RETURN = r'''
plan:
  description: The named steps that were (or, in check mode, would be) carried out, in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["set net.ipv4.conf.eth0.proxy_arp to 1", "add address 192.0.2.10/32 to web0",
           "route 192.0.2.50/32 dev web0 src 192.0.2.10 proto 212"]
uplink:
  description: The uplink, as given.
  returned: on success
  type: str
  sample: eth0
main_ip:
  description: dom0's main IPv4 address (the uplink's first), which every routed vif carries as a /32 and routes take as source.
  returned: on success
  type: str
  sample: 192.0.2.10
main_ip6:
  description: The uplink's first global IPv6 address, the source of the IPv6 host routes (null when it has none).
  returned: on success
  type: str
  sample: 2001:db8:1::10
routes:
  description: This module's routes (protocol 212) after the task, predicted in check mode; see also RV(adopted_routes).
  returned: on success
  type: list
  elements: str
  sample: ["192.0.2.50/32 dev web0 src 192.0.2.10 proto 212"]
adopted_routes:
  description:
    - Routes someone else made (not protocol 212) to a listed address through its vif in the main table, whatever their
      protocol and metric, taken as they are instead of adding one of this module's beside them. C(vif-route) makes
      these at each guest start (C(proto boot)).
    - The module never changes or deletes them, O(purge=true) included.
  returned: on success
  type: list
  elements: str
  sample: ["192.0.2.50/32 dev web0 metric 1024 proto 3"]
proxy_neighbours:
  description: The proxy NDP entries on the uplink for routed IPv6 addresses, after the task.
  returned: on success
  type: list
  elements: str
  sample: ["2001:db8:1::50 dev eth0"]
sysctls:
  description: The kernel settings the module manages (in C(/proc/sys) form) and their values after the task.
  returned: on success
  type: dict
  sample: {"net/ipv4/conf/eth0/proxy_arp": "1", "net/ipv4/conf/web0/forwarding": "1"}
vif_addresses:
  description: The IPv4 addresses of each routed vif that exists, after the task.
  returned: on success
  type: dict
  sample: {"web0": ["192.0.2.10/32"]}
absent_vifs:
  description: Listed vifs that do not exist now and were skipped; C(vif-route) routes them at the guest's next start.
  returned: on success
  type: list
  elements: str
  sample: ["vif7.0"]
sysctl_path:
  description: The sysctl.d file holding the settings that survive a reboot.
  returned: when O(persist=true)
  type: str
apply_seconds:
  description: Wall time of applying the plan.
  returned: when something changed, outside check mode
  type: float
failed_step:
  description: The step that failed. RV(rolled_back), RV(no_undo) and RV(rollback_errors) say what became of those before it.
  returned: on failure during apply
  type: str
rolled_back:
  description: The steps the rollback undid after a step failed, newest first.
  returned: on failure during apply
  type: list
  elements: str
no_undo:
  description: The steps done before the failure that needed no undo.
  returned: on failure during apply
  type: list
  elements: str
rollback_errors:
  description: One message per undo that failed; when there is one, the host is not as it was before the task.
  returned: on failure during apply
  type: list
  elements: str
lock:
  description: The lock file the task waited for in vain (see O(lock_timeout)).
  returned: when the lock was not had within O(lock_timeout)
  type: str
lock_holder:
  description: What the run holding the lock wrote into it, or only its PID; null when neither is known.
  returned: when the lock was not had within O(lock_timeout)
  type: dict
problems:
  description: Every problem found in the options or against this host, each naming the option, the value and the rule.
  returned: on invalid options
  type: list
  elements: str
  sample: ["routes[0].addresses[0] '192.0.2.0/24' is a network; a routed guest gets host routes, so give its addresses (/32 or none)"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.route.runner import run_route_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            uplink=dict(type='str', required=True),
            routes=dict(type='list', elements='dict', default=[], options=dict(
                vif=dict(type='str', required=True),
                addresses=dict(type='list', elements='str', required=True),
            )),
            purge=dict(type='bool', default=True),
            persist=dict(type='bool', default=True),
            sysctl_path=dict(type='path', default='/etc/sysctl.d/60-xenfleet-route.conf'),
            hook_path=dict(type='path', default='/etc/xen/scripts/vif-post.d/xenfleet-route.hook'),
            ipv6_data_path=dict(type='path', default='/etc/xenfleet/route/ipv6-vifs'),
        ),
        supports_check_mode=True,
    )
    run_route_module(module)


if __name__ == '__main__':
    main()
