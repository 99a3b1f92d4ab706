#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_bridge
short_description: Create dom0 bridges and move dom0's address from the NIC onto them without cutting the connection
version_added: 0.1.0
description:
  - Does what Xen's C(network-bridge) script did, safely and idempotently, through netlink (pyroute2).
  - With O(uplink), the NIC is enslaved to the bridge and its IPv4 and IPv6 addresses, its routes (the default route
    included) and its MAC move to the bridge, so neighbours' ARP caches and DHCP leases stay valid and dom0 keeps its address.
  - The move is ordered so dom0 always has its address and its default route; routes switch with a single netlink replace.
  - Multipath routes move with every hop through the NIC and its weight (hops through other links stay), and are persisted
    as C(ip route replace ... nexthop ...) lines. A route through a nexthop object (C(nhid)) is refused before any change,
    naming the route, since pyroute2 cannot move the object.
  - After the move the module checks that the gateway (or the O(connectivity_check) targets) still answers; if not within
    O(connectivity_timeout) seconds it puts the NIC back exactly as it was and fails.
  - A bridge with no uplink and no ports is a guest-only network.
  - Every change is a named step of a plan. Check mode reports the plan, diff mode shows the bridge and uplink before and
    after (and the boot-time file), and a failed step rolls back the steps already done.
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - pyroute2 >= 0.7.2 (Debian 12's python3-pyroute2)
  - ping (iputils) on the managed host, for the connectivity check
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  name:
    description:
      - Name of the bridge, 1 to 15 characters (Linux truncates longer names silently; this module refuses them).
      - Like every interface name this module takes (O(uplink), O(ports)), only letters, digits, C(.), C(-) and C(_), and
        not C(.) or C(..), because the name reaches shell lines of ifupdown, nft scripts and dnsmasq, where no other character is safe.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates the bridge; V(absent) gives the uplink its configuration back and deletes the bridge.
      - V(absent) without O(uplink) refuses to delete a bridge that carries routes (dom0's default route, say), since
        that would cut dom0 off.
    type: str
    choices: [present, absent]
    default: present
  uplink:
    description:
      - The NIC whose configuration moves onto the bridge (enslaved; addresses, routes and MAC moved).
      - With O(state=absent), the NIC that gets the bridge's addresses and routes back.
    type: str
  mac:
    description:
      - MAC address of the bridge.
      - Defaults to the uplink's MAC, so neighbours' ARP caches and DHCP leases stay valid. A bridge without uplink
        keeps the MAC it has; a new one (or one carrying C(fe:ff:ff:ff:ff:ff), the MAC of every Xen vif) gets a locally
        administered MAC derived from C(/etc/machine-id) and O(name), so it never changes as guests come and go.
    type: str
  ports:
    description:
      - Further interfaces to enslave as they are. Ports not listed are left alone, because Xen's hotplug scripts attach
        guest vifs to the bridge when guests start.
    type: list
    elements: str
    default: []
  addresses:
    description:
      - Addresses (CIDR, IPv4 or IPv6) the bridge itself carries, for example the guests' gateway on a brouter bridge.
      - Without O(uplink), the bridge's global addresses are made exactly this list. With O(uplink), they are added beside
        the uplink's addresses.
      - Omit to leave the bridge's addresses alone.
    type: list
    elements: str
  stp:
    description:
      - Spanning tree protocol on the bridge. Off by default, as in Xen's scripts.
    type: bool
    default: false
  forward_delay:
    description:
      - Forward delay in seconds. 0 to 30; 2 to 30 when O(stp=true).
    type: float
    default: 0
  mtu:
    description:
      - MTU of the bridge; the uplink and O(ports) are set to it when they are enslaved.
    type: int
  nf_call_iptables:
    description:
      - The bridge's own C(nf_call_iptables), C(nf_call_ip6tables) and C(nf_call_arptables) options, set together.
      - V(false) keeps bridged traffic out of iptables and conntrack (the kernel ORs this with the
        C(net.bridge.bridge-nf-call-iptables) sysctl, so that must be 0 too). Only the iptables backend of
        anti-spoofing needs V(true).
      - V(null) leaves the options as they are.
    type: bool
    default: false
  connectivity_check:
    description:
      - Addresses that must answer a ping after the uplink moved. Defaults to the uplink's default gateways.
      - An empty list disables the check.
    type: list
    elements: str
  connectivity_timeout:
    description:
      - Seconds to wait for every O(connectivity_check) target to answer before rolling back.
    type: int
    default: 10
  persist:
    description:
      - V(ifupdown) also writes an C(/etc/network/interfaces.d/) stanza, atomically, rendered from the same desired state,
        so the bridge comes back at boot (read by bridge-utils' ifupdown hook, so install C(bridge-utils); the collection's
        roles do).
      - With V(ifupdown) the module first reads O(interfaces_path) and every file it sources, as C(ifup) does, and stops
        before changing anything when nothing sources the stanza's directory (a file nothing reads), when another file
        already has a stanza for the bridge, or when the uplink's own configuration uses a construct it does not
        rewrite (a C(mapping), C(rename), C(inherits)), naming the file and the line.
      - With an O(uplink), the uplink's own stanzas (the installer's C(iface eth0 inet static) or C(dhcp), and its
        C(inet6) one) become C(iface <uplink> inet manual), in the same run, so at boot the address comes up on the
        bridge only. Each file changed is first copied to C(<file>.xenfleet-backup), once, so the first original is kept.
        O(state=absent) with O(uplink) puts those backups back.
      - V(auto) picks V(ifupdown) where Debian's ifupdown alone configures the network (C(ifup) installed, no
        NetworkManager or systemd-networkd running, no ifupdown2) and O(interfaces_path) exists; anywhere else it fails
        before changing anything and says what it found. The collection's roles use V(auto) by default.
      - V(none) changes only the running kernel state.
    type: str
    choices: [auto, none, ifupdown]
    default: none
  persist_path:
    description:
      - Where the stanza is written. Defaults to C(/etc/network/interfaces.d/<name>).
      - An absolute path without control characters.
    type: path
  interfaces_path:
    description:
      - The main ifupdown file, read (with what it sources) when O(persist) is V(ifupdown) or V(auto).
      - An absolute path without control characters.
    type: path
    default: /etc/network/interfaces
notes:
  - Moving the uplink can drop an SSH session for a moment. Run the task with C(async) and C(poll) so the module keeps
    running on dom0 even if the connection that started it breaks; it either finishes the move or rolls it back.
  - Addresses that a DHCP client manages on the NIC are moved as they are; run the DHCP client on the bridge afterwards
    (with O(persist=ifupdown) the stanza says C(inet dhcp)).
seealso:
  - name: xl-network-configuration(5)
    description: Xen's vif and bridge conventions.
    link: https://xenbits.xen.org/docs/unstable/man/xl-network-configuration.5.html
'''

EXAMPLES = r'''
- name: Move dom0's address from eth0 onto xenbr0, surviving an SSH drop
  xenfleet.network.xen_bridge:
    name: xenbr0
    uplink: eth0
    persist: ifupdown
  async: 60
  poll: 2

- name: A guest-only network whose bridge is the guests' gateway (brouter)
  xenfleet.network.xen_bridge:
    name: xenbr1
    addresses:
      - 10.0.1.1/24
      - 2001:db8:1::1/64

- name: Check explicit targets after the move, with a longer timeout
  xenfleet.network.xen_bridge:
    name: xenbr0
    uplink: eth0
    connectivity_check: [192.0.2.1, 2001:db8::1]
    connectivity_timeout: 20

- name: Give eth0 its configuration back and delete the bridge
  xenfleet.network.xen_bridge:
    name: xenbr0
    uplink: eth0
    state: absent
'''

RETURN = r'''
plan:
  description: The named steps that were (or, in check mode, would be) carried out, in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["create bridge xenbr0", "bring xenbr0 up", "add address 192.0.2.10/24 to xenbr0", "enslave eth0 to xenbr0"]
bridge:
  description: The bridge as it is after the task (predicted in check mode).
  returned: always
  type: dict
  sample: {"name": "xenbr0", "present": true, "stp": false, "forward_delay": 0.0, "nf_call_iptables": false,
           "mac": "02:00:00:00:00:10", "mtu": 1500, "ports": ["eth0"], "addresses": ["192.0.2.10/24"],
           "routes": ["0.0.0.0/0 via 192.0.2.1 dev xenbr0"]}
uplink:
  description: The uplink after the task, with its master, addresses and routes.
  returned: when O(uplink) is given
  type: dict
  sample: {"name": "eth0", "present": true, "mac": "02:00:00:00:00:10", "master": "xenbr0", "addresses": [], "routes": []}
connectivity_checked:
  description: The addresses the connectivity check pinged (empty when no check ran).
  returned: always
  type: list
  elements: str
persist_path:
  description: The boot-time stanza's path.
  returned: when O(persist) is V(ifupdown) or resolves to it
  type: str
persist:
  description: How the bridge is persisted, after V(auto) was resolved.
  returned: always
  type: str
  sample: ifupdown
taken_over:
  description: The files whose stanzas for the uplink became C(inet manual) (or, with O(state=absent), were put back
    from their backups), each with its backup.
  returned: when O(persist) is V(ifupdown) or resolves to it
  type: list
  elements: dict
  sample: [{"path": "/etc/network/interfaces", "backup": "/etc/network/interfaces.xenfleet-backup"}]
apply_seconds:
  description: Wall time of applying the plan, connectivity check included.
  returned: when something changed, outside check mode
  type: float
failed_step:
  description: The step that failed. RV(rolled_back), RV(no_undo) and RV(rollback_errors) say what became of those before it.
  returned: on failure during apply
  type: str
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
rolled_back:
  description: The steps the rollback undid after a step failed, in the order it undid them (newest first).
  returned: on failure during apply
  type: list
  elements: str
  sample: ["enslave eth0 to xenbr0", "create bridge xenbr0"]
no_undo:
  description:
    - The steps done before the failure that have no undo of their own because they need none (a check, or bringing up
      a bridge that the rollback then deletes). Steps that cannot be undone come last in a plan, after every step that
      could fail.
  returned: on failure during apply
  type: list
  elements: str
  sample: ["bring xenbr0 up"]
rollback_errors:
  description:
    - One message per undo that failed. When there is one, the host is not as it was before the task, and the message
      does not say it is.
  returned: on failure during apply
  type: list
  elements: str
  sample: ["undo of 'enslave eth0 to xenbr0': set master of eth0 to None: No such device"]
problems:
  description: Every problem found in the options, each naming the field, the value and the rule.
  returned: on invalid options
  type: list
  elements: str
  sample: ["uplink 'eth9' does not exist"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.runner import run_bridge_module


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            uplink=dict(type='str'),
            mac=dict(type='str'),
            ports=dict(type='list', elements='str', default=[]),
            addresses=dict(type='list', elements='str'),
            stp=dict(type='bool', default=False),
            forward_delay=dict(type='float', default=0),
            mtu=dict(type='int'),
            nf_call_iptables=dict(type='bool', default=False),
            connectivity_check=dict(type='list', elements='str'),
            connectivity_timeout=dict(type='int', default=10),
            persist=dict(type='str', choices=['auto', 'none', 'ifupdown'], default='none'),
            persist_path=dict(type='path'),
            interfaces_path=dict(type='path', default='/etc/network/interfaces'),
        ),
        supports_check_mode=True,
    )
    run_bridge_module(module)


if __name__ == '__main__':
    main()
