#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_antispoof
short_description: Keep every Xen guest from forging its IP, MAC, ARP or IPv6 identity, at any scale, without conntrack
version_added: 0.1.0
description:
  - Filters what guests send into dom0, on the dom0 side of each vif, keyed by the vif's name, so the rules are in place
    before a guest boots and stay in place when it restarts.
  - A guest may only send from its own MACs and addresses, claim only those in ARP and IPv6 neighbour discovery, act as
    DHCP client (not server) and not as a router (no router advertisements, no redirects), and send only the ethertypes
    listed for it. Forged frames are dropped before the bridge learns their source MAC, and also when they are addressed
    to dom0 itself.
  - Headers a check reads cannot be hidden from it. A first fragment (IPv4 or IPv6, atomic ones included) must carry its
    upper-layer header (RFC 7112); router and neighbour solicitations and neighbour advertisements pass only without
    extension headers and with at most one option, a link-layer address option carrying the vif's own MAC (or the
    nonce of duplicate address detection); a DHCP request must be whole and name the vif's own MAC in C(chaddr).
  - The V(nftables) backend (default) keeps the policy as elements of sets in two tables of its own, C(bridge
    xenfleet_antispoof) for bridged vifs and C(inet xenfleet_antispoof) for routed ones, so the cost per packet does not
    grow with the number of guests. Every change is one C(nft -f) transaction; reruns compare the tables read back with
    C(nft -j) and change nothing.
  - The V(iptables) backend, for dom0s that keep iptables, loads chains of its own with the nf_tables-backed
    C(ebtables-restore), C(iptables-restore) and C(ip6tables-restore) C(--noflush), reached through br_netfilter with
    C(-m physdev), and exempts bridged guest traffic from conntrack. Its cost per packet grows with the number of vifs.
  - Applying one backend removes what the other one loaded. Nothing else in the host's ruleset is read, changed or flushed.
  - A hand edit of what the module owns (a rule replaced, added or deleted, a chain's policy, hook or priority, with
    V(iptables) also a rule put before the jump to its chains or a rule C(iptables-save) prints as the module's own) is
    found by comparing the kernel's listing with what the module writes, loaded into a scratch network namespace with
    C(unshare --net), and is repaired and named in the plan.
  - The policy of a vif also covers its emulated NIC, the tap QEMU plugs beside it for an HVM guest (C(<name>-emu), as
    xl names it under both naming schemes; see O(vifs[].name)), with the same MACs, addresses and checks. A PV guest
    has no such device, and the elements naming it match nothing.
  - Frames from a port or interface without a policy are dropped by name (O(vif_patterns)) or, once O(host_interfaces)
    declares dom0's own interfaces, whatever their name, bridged or routed.
  - Accepted and dropped packets and bytes are counted per vif (its emulated NIC's included) and returned.
  - See C(docs/xen_antispoof.md) in the collection for the design, the threat matrix and benchmarks.
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - pyroute2 >= 0.7.2, optional; with it the V(nftables) backend reads the ruleset's generation and skips listing
    tables that did not change since its last run; needed when O(host_interfaces) closes dom0 in a task run over SSH,
    to find the interface of the session
  - nft (nftables 0.9.6 or later) on the managed host for the V(nftables) backend; a kernel with bridge-family nftables
  - ebtables-nft, iptables-nft and ip6tables-nft (iptables 1.8 or later) and br_netfilter for the V(iptables) backend
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  vifs:
    description:
      - The policy of each vif, keyed by the vif's dom0-side name (C(vifDOMID.DEVID), C(tapDOMID.DEVID) or the
        C(vifname) of the guest's C(vif) line).
      - One call can carry a thousand vifs or more.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The vif's name in dom0, at most 15 characters of letters, digits, C(.), C(_) and C(-), not C(.) or C(..).
          - The policy also covers the vif's emulated NIC, C(<name>-emu). For C(vifDOMID.DEVID) names longer than 11
            characters that is QEMU's cut of it to 15 characters (C(vif12345.100-em)). A C(vifname) of 12 characters or
            more has no emulated NIC of its own name (C(vif-common.sh) cannot rename the tap, and its hotplug script
            stops before plugging it anywhere).
          - A vif may not be named as another vif's emulated NIC, nor its emulated NIC be trusted or dom0's own.
        type: str
        required: true
      state:
        description:
          - V(absent) removes this vif's policy and needs nothing but O(vifs[].name). The other vifs keep theirs, so
            a playbook retiring one guest need not list the others (O(purge) does the same for every vif not listed).
          - Frames from the vif are then dropped as those of any vif without a policy (see O(unlisted_vifs)).
        type: str
        choices: [present, absent]
        default: present
      mac:
        description:
          - The MAC addresses the guest may send from, normally the one MAC of its C(vif) line.
          - The only MACs it may claim in ARP and neighbour discovery.
          - Required unless O(vifs[].state=absent).
        type: list
        elements: str
      ipv4:
        description:
          - IPv4 addresses (C(192.0.2.21)) and networks (C(192.0.2.16/28)) the guest may send from and claim in ARP.
          - A network must have its host bits clear. No two vifs may share an address.
        type: list
        elements: str
        default: []
      ipv6:
        description:
          - IPv6 addresses and prefixes the guest may send from and claim in neighbour discovery.
        type: list
        elements: str
        default: []
      ipv6_link_local:
        description:
          - Also allow the EUI-64 link-local address derived from each MAC in O(vifs[].mac).
          - Turn off for guests that use other link-local addresses, and list those in O(vifs[].ipv6).
        type: bool
        default: true
      dhcp:
        description:
          - Let the guest act as a DHCP and DHCPv6 client (a DHCP discovery comes from C(0.0.0.0)). Its DHCP requests must
            name one of its own MACs in C(chaddr), unless O(vifs[].dhcp_server) is set.
        type: bool
        default: true
      dhcp_server:
        description:
          - Let the guest act as a DHCP or DHCPv6 server (or relay) for the others.
        type: bool
        default: false
      router:
        description:
          - Let the guest send IPv6 router advertisements and ICMP/ICMPv6 redirects.
        type: bool
        default: false
      ethertypes:
        description:
          - The ethertypes the guest may send; every other one is dropped.
          - Names V(ipv4), V(arp), V(ipv6), V(vlan), V(8021ad), V(lldp), or hex numbers such as V(0x88b5).
          - Allowing V(vlan) or V(8021ad) lets tagged frames through without checking what they carry.
        type: list
        elements: str
        default: [ipv4, arp, ipv6]
      routed:
        description:
          - The vif is routed (Xen's C(vif-route)), not bridged. Its policy then lives in the C(inet) table (nftables
            backend) or behind C(-i) instead of C(-m physdev) (iptables backend); ARP and ethertypes are not filtered
            there, since a routed vif only carries what dom0 routes.
        type: bool
        default: false
  purge:
    description:
      - Remove the policy of every vif not listed in O(vifs).
      - When false, vifs not listed keep the policy they have.
    type: bool
    default: false
  trusted_ports:
    description:
      - Bridge ports and interfaces that pass unfiltered, such as the uplink. A trailing C(*) matches every name with
        that beginning.
      - Omit to keep the trusted ports already configured.
    type: list
    elements: str
  host_interfaces:
    description:
      - dom0's own interfaces besides O(trusted_ports) - its bridges, other NICs, VPNs, and the ports of bridges that
        are not Xen's (Docker's C(veth*)). A trailing C(*) is a wildcard. C(lo) is always one.
      - Declaring them (even as an empty list) closes dom0 - with O(unlisted_vifs=drop), a frame arriving on any port
        or interface that is not a vif (or emulated NIC) with a policy, trusted, C(lo) or listed here is dropped,
        whatever its name, bridged (every bridge's ports - the bridge family cannot tell bridges apart on kernels
        without C(nft_meta_bridge), nor can ebtables) or routed (in the C(inet) table, which then always exists).
      - Forgetting one cuts dom0's traffic on it; the roles declare the uplink and the bridges they make, with their
        ports. The interface the task's own SSH session comes in on (the route to the client sshd names in
        C(SSH_CONNECTION)) must be one that passes, or the task fails before any change, naming it.
      - Omit to keep what is declared (nothing at first - then only O(vif_patterns) drop).
    type: list
    elements: str
  unlisted_vifs:
    description:
      - What happens to frames from a port or interface without a policy that is not trusted or dom0's own - V(drop)
        (secure by default) those whose name matches O(vif_patterns), and every one once O(host_interfaces) are
        declared; V(accept) all of them.
    type: str
    choices: [drop, accept]
    default: drop
  vif_patterns:
    description:
      - Names of guest ports and routed vifs, dropped without a policy (O(unlisted_vifs)) even while O(host_interfaces)
        are not declared. A trailing C(*) is a wildcard. Until O(host_interfaces) are declared, ports matching none of
        them (other bridges' ports, for example Docker's) are never touched.
    type: list
    elements: str
    default: ['vif*', 'tap*']
  backend:
    description:
      - V(nftables) (default) or V(iptables) for dom0s that keep iptables.
    type: str
    choices: [nftables, iptables]
    default: nftables
  state:
    description:
      - V(present) applies the policy. V(absent) removes everything the collection added, in both backends, and the
        boot-time files at O(persist_path).
    type: str
    choices: [present, absent]
    default: present
  persist:
    description:
      - Also write the ruleset, atomically, to O(persist_path), and install and enable the systemd unit
        C(xenfleet-antispoof.service) in O(boot_unit_dir) that loads it at boot.
      - The unit runs early (C(DefaultDependencies=no), wanted by C(sysinit.target)), after C(nftables.service) and
        C(netfilter-persistent.service) (a C(flush ruleset) there cannot wipe it; a restart of either is followed by
        the unit again), and before C(network-pre.target), C(xen-init-dom0.service) (Debian 12 - the LSB C(xen.service)) and C(xendomains.service). The
        bridges are not up and no guest has started when the rules arrive, so a guest started at boot is filtered from
        its first frame. It needs no change to C(/etc/nftables.conf) and does not enable C(nftables.service).
      - V(false) writes neither and leaves a unit an earlier run installed as it is.
    type: bool
    default: true
  boot_unit_dir:
    description:
      - Where O(persist) writes the unit, enabled by a symlink in C(<boot_unit_dir>/sysinit.target.wants/), as
        C(systemctl enable) makes it. Under the default, a running systemd is told with C(systemctl daemon-reload).
      - An absolute path without control characters.
    type: path
    default: /etc/systemd/system
  persist_path:
    description:
      - With V(nftables), the file loaded at boot with C(nft -f), by default
        C(/etc/nftables.d/xenfleet-antispoof.nft).
      - With V(iptables), the prefix of three files C(<prefix>.eb), C(<prefix>.v4) and C(<prefix>.v6), for
        C(ebtables-restore), C(iptables-restore) and C(ip6tables-restore) with C(--noflush) at boot (the unit also
        loads br_netfilter and, with O(manage_sysctl), sets C(bridge-nf-call-iptables) and C(-ip6tables) to 1); by default
        C(/etc/iptables/xenfleet-antispoof).
      - An absolute path without control characters.
    type: path
  manage_sysctl:
    description:
      - Set C(net.bridge.bridge-nf-call-iptables), C(-ip6tables) (and with V(nftables) C(-arptables)) to what the
        backend needs when br_netfilter is loaded. The kernel ORs them with each bridge's own C(nf_call_*) option.
      - V(nftables) sets them to 0, so bridged frames never reach iptables or conntrack; V(iptables) sets them to 1.
      - Turn off when something else on dom0 (Docker, for one) needs br_netfilter; bridged guest traffic may then be
        tracked by conntrack.
    type: bool
    default: true
  cache_dir:
    description:
      - With V(nftables), where the module keeps a snapshot of the tables it last wrote, one file per network
        namespace, together with the kernel's nftables ruleset generation at that moment.
      - The next run uses the snapshot instead of listing the tables with C(nft -j) only when the kernel's
        generation, the network namespace and the boot are still the same, that is when no nftables
        transaction, by anyone, happened since. Otherwise it lists the tables in full, as without a snapshot.
      - At 5000 vifs this saves a third of a second per run. Set to an empty string to list the tables on every run.
      - A directory on tmpfs (the default) is best; a snapshot never outlives the boot it was taken in, and saving
        one removes those of network namespaces that no longer exist.
      - An absolute path without control characters.
    type: path
    default: /run/xenfleet-network
notes:
  - Rules key on vif names, so a vif that goes away and comes back with the same name (a guest restart) is protected
    at once, and its counters keep counting.
  - The nftables backend needs no br_netfilter and no conntrack; keep each bridge's C(nf_call_iptables) off
    (M(xenfleet.network.xen_bridge) does by default).
seealso:
  - module: xenfleet.network.xen_bridge
  - name: xl-network-configuration(5)
    description: Xen's vif naming and the vif-bridge and vif-route scripts.
    link: https://xenbits.xen.org/docs/unstable/man/xl-network-configuration.5.html
'''

EXAMPLES = r'''
- name: Protect two bridged guests; the uplink passes unfiltered
  xenfleet.network.xen_antispoof:
    trusted_ports: [eth0]
    vifs:
      - name: vif1.0
        mac: ['00:16:3e:00:00:15']
        ipv4: [192.0.2.21]
        ipv6: ['2001:db8:1::21']
      - name: web2
        mac: ['00:16:3e:00:00:16']
        ipv4: [192.0.2.32/29]
        dhcp: false

- name: A routed guest (vif-route) and a guest that is the DHCP server of its network
  xenfleet.network.xen_antispoof:
    vifs:
      - name: vif3.0
        mac: ['00:16:3e:00:00:17']
        ipv4: [198.51.100.7]
        routed: true
      - name: vif4.0
        mac: ['00:16:3e:00:00:18']
        ipv4: [10.0.4.1]
        dhcp_server: true

- name: Exactly these guests on a legacy iptables dom0; others lose their policy
  xenfleet.network.xen_antispoof:
    backend: iptables
    purge: true
    trusted_ports: [eth0]
    vifs: "{{ guests | map(attribute='antispoof') | list }}"

- name: Retire one guest's policy; every other vif keeps its own
  xenfleet.network.xen_antispoof:
    vifs:
      - name: vif7.0
        state: absent

- name: Close dom0 - any port or interface without a policy is dropped, whatever its name, except dom0's own
  xenfleet.network.xen_antispoof:
    trusted_ports: [eth0]
    host_interfaces: [xenbr0, xenbr1, wg0]
    vifs:
      - name: web-0                # its emulated NIC web-0-emu gets the same policy
        mac: ['00:16:3e:00:00:19']
        ipv4: [192.0.2.40]

- name: Remove everything the collection added, in both backends
  xenfleet.network.xen_antispoof:
    state: absent
'''

RETURN = r'''
plan:
  description: The named steps that were (or, in check mode, would be) carried out, in order. Empty when nothing changed.
  returned: always
  type: list
  elements: str
  sample: ["set net.bridge.bridge-nf-call-iptables = 0", "update nftables sets (+16 -0 elements; vifs vif5.0)",
           "write /etc/nftables.d/xenfleet-antispoof.nft"]
backend:
  description: The backend that holds the policy.
  returned: always
  type: str
  sample: nftables
state:
  description: The state asked for.
  returned: always
  type: str
  sample: present
session_device:
  description: The interface this task's SSH session comes in on, when the policy would have dropped it (the task failed
    before any change).
  returned: on failure, when the policy would cut the task's own SSH session
  type: str
  sample: eth0
ruleset_source:
  description:
    - How the module learned what the firewall holds now.
    - V(listing) read the backend's tables or chains from the kernel; V(snapshot) used the snapshot kept in
      O(cache_dir), because the kernel's ruleset generation showed nothing had changed since it was taken.
  returned: always
  type: str
  sample: snapshot
vifs:
  description: The vifs that have a policy after the task (in check mode, those that would have one).
  returned: when O(state=present)
  type: list
  elements: str
  sample: [vif1.0, web2]
counters:
  description:
    - Packets and bytes accepted and dropped per vif since its policy was loaded, read from the kernel after the task.
    - They survive guest restarts and changes to other vifs.
  returned: always
  type: dict
  sample: {"vif1.0": {"accepted": {"packets": 1520, "bytes": 190342}, "dropped": {"packets": 3, "bytes": 180}}}
unlisted:
  description:
    - Packets and bytes dropped because they came from a port or interface without a policy, by O(vif_patterns) or
      because it is not dom0's own (O(host_interfaces)).
  returned: always
  type: dict
  sample: {"packets": 0, "bytes": 0}
sysctl:
  description: The bridge netfilter sysctls changed (or to be changed), with their values before and after.
  returned: always
  type: dict
  sample: {"net.bridge.bridge-nf-call-iptables": {"before": "1", "after": "0"}}
persist_paths:
  description: The boot-time files that hold the ruleset (the unit that loads them is not listed).
  returned: always
  type: list
  elements: str
  sample: [/etc/nftables.d/xenfleet-antispoof.nft]
apply_seconds:
  description: Wall time of applying the plan.
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
  sample: ["vifs[0].name 'vif1.0;' holds ';'"]
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.runner import run_antispoof_module


def main():
    vif_options = dict(
        name=dict(type='str', required=True),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        mac=dict(type='list', elements='str'),
        ipv4=dict(type='list', elements='str', default=[]),
        ipv6=dict(type='list', elements='str', default=[]),
        ipv6_link_local=dict(type='bool', default=True),
        dhcp=dict(type='bool', default=True),
        dhcp_server=dict(type='bool', default=False),
        router=dict(type='bool', default=False),
        ethertypes=dict(type='list', elements='str', default=['ipv4', 'arp', 'ipv6']),
        routed=dict(type='bool', default=False),
    )
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            vifs=dict(type='list', elements='dict', options=vif_options, default=[], required_if=[('state', 'present', ['mac'])]),
            purge=dict(type='bool', default=False),
            trusted_ports=dict(type='list', elements='str'),
            host_interfaces=dict(type='list', elements='str'),
            unlisted_vifs=dict(type='str', choices=['drop', 'accept'], default='drop'),
            vif_patterns=dict(type='list', elements='str', default=['vif*', 'tap*']),
            backend=dict(type='str', choices=['nftables', 'iptables'], default='nftables'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            persist=dict(type='bool', default=True),
            persist_path=dict(type='path'),
            boot_unit_dir=dict(type='path', default='/etc/systemd/system'),
            manage_sysctl=dict(type='bool', default=True),
            cache_dir=dict(type='path', default='/run/xenfleet-network'),
        ),
        supports_check_mode=True,
    )
    run_antispoof_module(module)


if __name__ == '__main__':
    main()
