#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: xen_nat
short_description: Private guest networks behind dom0 with NAT, port forwards and DHCP with fixed leases
version_added: 0.1.0
description:
  - Does what Xen's C(network-nat) and C(vif-nat) scripts did (and what libvirt's default network does), declaratively
    and idempotently. Guests on a dom0 bridge get a private subnet; dom0 masquerades them out of the uplink (or
    source-NATs them to a fixed address), forwards chosen ports of its public address to guests, and hands every
    guest its address by DHCP.
  - The rules live in an nftables table of this instance's own, C(table ip xenfleet_nat_<name>), replaced in one
    transaction. No other table is read or changed, so several instances coexist with each other and with the host's
    own firewall (firewalld, Docker, a hand-written ruleset). Whether the table is current is judged from C(nft -j)
    output, so a table edited by hand is put back.
  - Besides NAT the table guards the network. Guests may send only from the subnet. When source NAT is on, other
    interfaces reach guests only with replies and through O(port_forwards).
  - IPv4 forwarding is switched on only on the bridge and the uplink (the per-interface C(forwarding) flag;
    C(net.ipv4.ip_forward) stays as it is). The value each interface had before is recorded and put back by
    O(state=absent) once no other instance needs it.
  - DHCP is one dnsmasq per network, bound only to its bridge, with its own configuration, lease and pid files. The
    new configuration is checked with C(dnsmasq --test) before it replaces the old one; when the check fails the task
    fails and the running dnsmasq is left alone. dnsmasq is restarted only when its configuration changed.
  - On a host booted with systemd dnsmasq runs as the unit C(xenfleet-nat-<name>.service); elsewhere the module starts
    it as a daemon and finds it again by its pid file, starting it again when it is gone.
  - Every change is a named step of a plan. Check mode reports the plan, diff mode shows the table, the dnsmasq
    configuration and the forwarding flags before and after, and a failed step rolls back the steps already done.
  - A state file the module did not write (an instance record or the forwarding ledger with a field that is not an
    address, a network, an interface name or a list where one belongs) fails the task naming the file and the field,
    before anything changes.
author:
  - xenfleet.network developers (@xenfleet)
requirements:
  - pyroute2 >= 0.7.2 (Debian 12's python3-pyroute2)
  - nft (nftables) on the managed host
  - dnsmasq on the managed host, unless O(dhcp.enabled=false)
extends_documentation_fragment:
  - xenfleet.network.attributes
  - xenfleet.network.lock
options:
  name:
    description:
      - The instance name, 1 to 32 letters, digits, C(_) or C(-). One dom0 may carry several private networks.
      - It names the nftables table, the files and the systemd unit of the instance.
    type: str
    required: true
  state:
    description:
      - V(present) sets the network up or brings it in line.
      - V(absent) stops dnsmasq and removes its files, deletes the table, puts the forwarding flags back and removes the
        gateway address if this module added it. Only O(name) and the directories are needed.
    type: str
    choices: [present, absent]
    default: present
  bridge:
    description:
      - The guest-side bridge, which must exist (see M(xenfleet.network.xen_bridge)). Required with O(state=present).
      - An interface name, as O(uplink) is - 1 to 15 letters, digits, C(.), C(-) or C(_), not C(.) or C(..).
      - One bridge carries at most one instance.
    type: str
  subnet:
    description:
      - The private IPv4 network, in CIDR form without host bits (V(10.0.1.0/24)), at most a /30. Required with
        O(state=present).
      - It must not overlap the uplink's networks or another instance's subnet.
    type: str
  gateway:
    description:
      - The guests' router and DHCP server address, inside O(subnet).
      - When given, the module adds it to the bridge if the bridge lacks it, and removes it again with
        O(state=absent).
      - When omitted, the bridge's own address inside O(subnet) is used (set it with
        M(xenfleet.network.xen_bridge)'s C(addresses)). Do not give both, or the two modules fight over the address.
    type: str
  uplink:
    description:
      - The outgoing interface, where guests' traffic is source-NATed and where port forwards come in. Required with
        O(state=present).
    type: str
  masquerade:
    description:
      - Source-NAT guests to whatever address the uplink has (V(true)). Defaults to V(true) unless O(snat_to) is
        given.
      - V(false) without O(snat_to) makes a routed private network; then upstream must route O(subnet) to dom0.
    type: bool
  snat_to:
    description:
      - A fixed public IPv4 address to source-NAT guests to, instead of masquerading. Port forwards then match this
        address only. Excludes O(masquerade=true).
    type: str
  ip_forward:
    description:
      - Switch IPv4 forwarding on for the bridge and the uplink, as NAT needs, and put it back with O(state=absent).
      - V(false) leaves forwarding to you.
    type: bool
    default: true
  port_forwards:
    description:
      - Ports of dom0's public address (any local address arriving on the uplink, or O(snat_to)) forwarded to guests.
      - A protocol and port may be forwarded once per public address, across all instances.
    type: list
    elements: dict
    default: []
    suboptions:
      proto:
        description: The protocol.
        type: str
        choices: [tcp, udp]
        default: tcp
      port:
        description: The port on the public address.
        type: int
        required: true
      to_ip:
        description: The guest's address, inside O(subnet) and not the gateway.
        type: str
        required: true
      to_port:
        description: The guest's port. Defaults to O(port_forwards[].port).
        type: int
      hairpin:
        description:
          - Also forward when other guests connect to the public address. Their connection is source-NATed to the
            gateway, so the reply comes back through dom0.
        type: bool
        default: false
  dhcp:
    description:
      - The network's DHCP server (dnsmasq).
    type: dict
    default: {}
    suboptions:
      enabled:
        description: Run dnsmasq for this network. V(false) stops it and removes its files.
        type: bool
        default: true
      range_start:
        description:
          - First address of the dynamic range, for guests without a fixed lease. Needs O(dhcp.range_end).
          - Without a range, only the O(dhcp.hosts) get addresses.
        type: str
      range_end:
        description: Last address of the dynamic range. The range must lie inside O(subnet) and must not hold the gateway.
        type: str
      lease_time:
        description: Lease time in seconds, at least 120.
        type: int
        default: 3600
      dns_servers:
        description:
          - DNS servers handed to the guests.
          - Empty, the gateway is handed out and dnsmasq answers DNS on the bridge, forwarding to dom0's resolvers.
            When the list is given and does not hold the gateway, dnsmasq's DNS side is off.
        type: list
        elements: str
        default: []
      domain:
        description: The DNS domain handed to the guests.
        type: str
      hosts:
        description:
          - Fixed leases, usually built from the guests' vif data. Each has O(dhcp.hosts[].ip) or
            O(dhcp.hosts[].domid), not both.
          - MACs, addresses and host names must each be unique, and addresses must lie inside O(subnet).
        type: list
        elements: dict
        default: []
        suboptions:
          mac:
            description:
              - The guest's MAC. Defaults to the collection's scheme (C(02:00) and the address in hex, as
                P(xenfleet.network.mac_from_ip#filter) derives it), the MAC M(xenfleet.network.xen_vif) gives a vif
                with this address.
            type: str
          ip:
            description: The fixed address.
            type: str
          hostname:
            description: The host name handed to the guest. With O(dhcp.hosts[].domid) it defaults to vif-nat's C(dom<domid>).
            type: str
          domid:
            description:
              - vif-nat's addressing for users migrating from it. The address is C(10.<domid/256>.<domid%256>.<devid+1>)
                and the host name C(dom<domid>) (C(dom<domid>-<devid+1>) after the first vif), as vif-nat gave them.
                O(subnet) must hold the address, for example V(10.0.0.0/16) for domids below 256.
              - The router is the network's gateway, not vif-nat's per-vif address + 127, because the guests share
                one bridge.
              - Xen gives a guest a new domid each time it is created, so fixed O(dhcp.hosts[].ip) suits anything
                but a migration.
            type: int
          devid:
            description: The vif's device index, with O(dhcp.hosts[].domid).
            type: int
            default: 0
      extra_options:
        description:
          - Further dnsmasq configuration lines, one per item (for example V(dhcp-option=option:ntp-server,10.0.1.1)).
            They go through C(dnsmasq --test) like the rest.
          - Only options that shape the DHCP and DNS answers on the network's bridge are taken (C(dhcp-option),
            C(dhcp-host), C(dhcp-range), C(domain), C(server), C(address), C(log-dhcp) and their kind; the list is
            C(SAFE_OPTIONS) in C(plugins/module_utils/nat/dnsmasq_config.py)). An option that makes dnsmasq, which
            runs as root, run a program (C(dhcp-script), C(conf-script)), read or write another file
            (C(conf-file), C(addn-hosts), C(pid-file), C(log-facility)), serve files (C(enable-tftp)), change its
            user, answer on other interfaces or ports, or touch the host's firewall is refused, and so is any
            option not on the list, unless O(dhcp.allow_unsafe_options) is set.
        type: list
        elements: str
        default: []
      allow_unsafe_options:
        description:
          - Take every option in O(dhcp.extra_options), including those that run programs or open files as root.
          - Whoever can set O(dhcp.extra_options) can then run any command on the dom0 through dnsmasq; set it only
            when the options come from people who may do that anyway.
        type: bool
        default: false
  service_manager:
    description:
      - How dnsmasq is run. V(auto) picks V(systemd) on a host booted with systemd (C(/run/systemd/system) exists),
        else V(pidfile).
    type: str
    choices: [auto, systemd, pidfile]
    default: auto
  state_dir:
    description:
      - Directory of the instances' state. Each instance keeps its record, lease and pid files in C(<state_dir>/<name>/).
        The forwarding flags are claimed in the record of kernel settings shared with M(xenfleet.network.xen_route)
        (C(/var/lib/xenfleet/sysctls.json)); a C(<state_dir>/forwarding.json) of an earlier version is taken over by it.
      - All instances of a host must share it, or they cannot see each other's subnets and ports.
      - An absolute path without control characters; with DHCP also without white space, C(#), C(") or C(\\), since
        dnsmasq's configuration names the lease and pid files under it.
    type: path
    default: /var/lib/xenfleet/nat
  config_dir:
    description:
      - Directory of the dnsmasq configuration files, C(<config_dir>/<name>.dnsmasq.conf).
      - An absolute path without control characters.
    type: path
    default: /etc/xenfleet/nat
  persist:
    description:
      - Also keep the network's nftables table for boot, so a private network is never reachable from the uplink at boot
        before its guard is in place. The table goes to C(<config_dir>/<name>.nft), atomically, and the unit
        C(xenfleet-nat-<name>-firewall.service) in O(systemd_unit_dir), enabled for C(sysinit.target), loads it with
        C(nft -f) before C(network-pre.target), C(xen-init-dom0.service), C(xen.service) and C(xendomains.service) (and after
        C(nftables.service), whose C(flush ruleset) would otherwise wipe it). The table names its interfaces, so it
        loads before the bridge and the uplink exist.
      - The unit is written whatever O(service_manager) is; on a host without systemd nothing reads it.
      - The gateway address the module adds to the bridge and the forwarding flags are running state only;
        give the bridge its address with M(xenfleet.network.xen_bridge) (which persists it) and keep forwarding in a
        sysctl.d file (the collection's roles write C(60-xenfleet-nat.conf)).
      - V(false) writes neither and leaves a unit an earlier run installed as it is; O(state=absent) removes both.
    type: bool
    default: true
  systemd_unit_dir:
    description:
      - Where the systemd units are written, dnsmasq's when it runs under systemd, and the boot unit of O(persist).
      - An absolute path without control characters.
    type: path
    default: /etc/systemd/system
  dnsmasq_path:
    description:
      - The dnsmasq binary. Defaults to the one found on the PATH or in C(/usr/sbin).
      - An absolute path without control characters.
    type: path
notes:
  - IPv4 only. Guests' IPv6 is left alone; route it (for example with a brouter bridge) rather than NAT it.
  - The host's own firewall still applies. If its forward chain drops by default (Docker sets the iptables FORWARD
    policy to DROP), allow the bridge there as well; an accept in this module's table cannot overrule a drop in
    another table.
  - Without systemd, nothing starts dnsmasq at boot; run the play again (or from an init script) after a reboot.
    A rerun starts it when it is not running and leaves it alone when it is.
  - Where AppArmor confines dnsmasq (Ubuntu's C(usr.sbin.dnsmasq) profile), let it read O(config_dir) and write
    O(state_dir), for example in C(/etc/apparmor.d/local/usr.sbin.dnsmasq).
seealso:
  - module: xenfleet.network.xen_bridge
  - name: vif-nat
    description: Xen's NAT hotplug script, whose addressing O(dhcp.hosts[].domid) reproduces.
    link: https://xenbits.xen.org/gitweb/?p=xen.git;a=blob;f=tools/hotplug/Linux/vif-nat
'''

EXAMPLES = r'''
- name: The guest-only bridge carries the gateway address
  xenfleet.network.xen_bridge:
    name: xenbr1
    addresses: [10.0.1.1/24]

- name: Guests on xenbr1 share dom0's address on eth0; web answers on port 8080
  xenfleet.network.xen_nat:
    name: guests
    bridge: xenbr1
    subnet: 10.0.1.0/24
    uplink: eth0
    port_forwards:
      - {proto: tcp, port: 8080, to_ip: 10.0.1.10, to_port: 80, hairpin: true}
    dhcp:
      range_start: 10.0.1.100
      range_end: 10.0.1.199
      dns_servers: [192.0.2.53]
      domain: guests.example.org
      hosts:
        - {mac: "02:00:0a:00:01:0a", ip: 10.0.1.10, hostname: web}
        - {ip: 10.0.1.11, hostname: db}  # MAC 02:00:0a:00:01:0b, the collection's scheme

- name: Fixed leases from the guests' vif data; without mac, the MAC xen_vif derives from the address
  xenfleet.network.xen_nat:
    name: guests
    bridge: xenbr1
    subnet: 10.0.1.0/24
    uplink: eth0
    dhcp:
      hosts: "{{ nat_guests }}"
  vars:
    nat_guests:
      - {hostname: web, ip: 10.0.1.10}
      - {hostname: db, ip: 10.0.1.11, mac: "{{ '10.0.1.11' | xenfleet.network.mac_from_ip }}"}

- name: Source-NAT to a fixed public address; the module puts the gateway on the bridge
  xenfleet.network.xen_nat:
    name: lab
    bridge: xenbr2
    subnet: 10.0.2.0/24
    gateway: 10.0.2.1
    uplink: eth0
    snat_to: 203.0.113.7
    port_forwards:
      - {proto: udp, port: 51820, to_ip: 10.0.2.5}

- name: Migrating from vif-nat - the same addresses and host names, by domid
  xenfleet.network.xen_nat:
    name: legacy
    bridge: xenbr3
    subnet: 10.0.0.0/16
    gateway: 10.0.0.1
    uplink: eth0
    dhcp:
      hosts:
        - {mac: "00:16:3e:12:34:56", domid: 5}            # 10.0.5.1, dom5
        - {mac: "00:16:3e:12:34:57", domid: 5, devid: 1}  # 10.0.5.2, dom5-2

- name: Remove the network, dnsmasq and its files, and put forwarding back
  xenfleet.network.xen_nat:
    name: guests
    state: absent
'''

RETURN = r'''
plan:
  description:
    - What the task did to the network, one named step each, in order (in check mode, what it would do).
    - Empty when the network was already as asked.
  returned: always
  type: list
  elements: str
  sample: ["add address 10.0.2.1/24 to xenbr2", "set net.ipv4.conf.xenbr2.forwarding to 1",
           "create nftables table ip xenfleet_nat_lab", "write /etc/xenfleet/nat/lab.dnsmasq.conf",
           "start dnsmasq for xenbr2", "write /var/lib/xenfleet/nat/lab/instance.json"]
name:
  description: The instance name.
  returned: always
  type: str
  sample: guests
table:
  description: The instance's nftables table (family and name).
  returned: when O(state=present)
  type: str
  sample: ip xenfleet_nat_guests
gateway:
  description: The guests' router and DHCP server address.
  returned: when O(state=present)
  type: str
  sample: 10.0.1.1
bridge:
  description: The guest-side bridge.
  returned: when O(state=present)
  type: str
  sample: xenbr1
uplink:
  description: The outgoing interface.
  returned: when O(state=present)
  type: str
  sample: eth0
subnet:
  description: The private network.
  returned: when O(state=present)
  type: str
  sample: 10.0.1.0/24
source_nat:
  description: V(masquerade), V(snat) or V(null) for a routed network.
  returned: when O(state=present)
  type: str
  sample: masquerade
snat_to:
  description: The fixed public address, when O(snat_to) is given.
  returned: when O(state=present)
  type: str
port_forwards:
  description: The port forwards, with defaults filled in.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{"proto": "tcp", "port": 8080, "to_ip": "10.0.1.10", "to_port": 80, "hairpin": true}]
leases:
  description: The fixed leases as dnsmasq serves them, MACs and vif-nat addresses and host names filled in.
  returned: when O(state=present)
  type: list
  elements: dict
  sample: [{"mac": "02:00:0a:00:01:0a", "ip": "10.0.1.10", "hostname": "web"}]
forwarding:
  description: The IPv4 C(forwarding) flag of the interfaces involved, after the task.
  returned: always
  type: dict
  sample: {"eth0": "1", "xenbr1": "1"}
boot:
  description: With O(persist), the file holding the table for boot and the unit that loads it.
  returned: when O(state=present)
  type: dict
  sample: {"table": "/etc/xenfleet/nat/guests.nft", "unit": "/etc/systemd/system/xenfleet-nat-guests-firewall.service"}
dnsmasq:
  description: How dnsmasq runs, its files, and the pid serving the network after the task (now, in check mode).
  returned: always
  type: dict
  sample: {"manager": "pidfile", "running": true, "pid": 4242, "config": "/etc/xenfleet/nat/guests.dnsmasq.conf",
           "leases": "/var/lib/xenfleet/nat/guests/dnsmasq.leases", "pid_file": "/var/lib/xenfleet/nat/guests/dnsmasq.pid",
           "record": "/var/lib/xenfleet/nat/guests/instance.json"}
apply_seconds:
  description: How long the changes took, dnsmasq restart included.
  returned: when something changed, outside check mode
  type: float
failed_step:
  description: The step that failed. RV(rolled_back), RV(no_undo) and RV(rollback_errors) say what became of those before it.
  returned: on failure during apply
  type: str
problems:
  description: Every problem found in the options, each naming the field, the value and the rule.
  returned: on invalid options
  type: list
  elements: str
  sample: ["port_forwards[0].to_ip '10.9.9.9' is outside subnet 10.0.1.0/24"]
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
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.xenfleet.network.plugins.module_utils.common.locks import LOCK_OPTIONS
from ansible_collections.xenfleet.network.plugins.module_utils.nat.runner import run_nat_module
from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import (
    DEFAULT_CONFIG_DIR, DEFAULT_STATE_DIR, DEFAULT_SYSTEMD_UNIT_DIR)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            LOCK_OPTIONS,
            name=dict(type='str', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            bridge=dict(type='str'),
            subnet=dict(type='str'),
            gateway=dict(type='str'),
            uplink=dict(type='str'),
            masquerade=dict(type='bool'),
            snat_to=dict(type='str'),
            ip_forward=dict(type='bool', default=True),
            port_forwards=dict(type='list', elements='dict', default=[], options=dict(
                proto=dict(type='str', choices=['tcp', 'udp'], default='tcp'),
                port=dict(type='int', required=True),
                to_ip=dict(type='str', required=True),
                to_port=dict(type='int'),
                hairpin=dict(type='bool', default=False),
            )),
            dhcp=dict(type='dict', default={}, options=dict(
                enabled=dict(type='bool', default=True),
                range_start=dict(type='str'),
                range_end=dict(type='str'),
                lease_time=dict(type='int', default=3600),
                dns_servers=dict(type='list', elements='str', default=[]),
                domain=dict(type='str'),
                hosts=dict(type='list', elements='dict', default=[], options=dict(
                    mac=dict(type='str'),
                    ip=dict(type='str'),
                    hostname=dict(type='str'),
                    domid=dict(type='int'),
                    devid=dict(type='int', default=0),
                )),
                extra_options=dict(type='list', elements='str', default=[]),
                allow_unsafe_options=dict(type='bool', default=False),
            )),
            service_manager=dict(type='str', choices=['auto', 'systemd', 'pidfile'], default='auto'),
            state_dir=dict(type='path', default=DEFAULT_STATE_DIR),
            config_dir=dict(type='path', default=DEFAULT_CONFIG_DIR),
            systemd_unit_dir=dict(type='path', default=DEFAULT_SYSTEMD_UNIT_DIR),
            persist=dict(type='bool', default=True),
            dnsmasq_path=dict(type='path'),
        ),
        required_if=[('state', 'present', ('bridge', 'subnet', 'uplink'))],
        supports_check_mode=True,
    )
    run_nat_module(module)


if __name__ == '__main__':
    main()
