#!/usr/bin/env bash
# The routed role's boot files alone rebuild the dom0: converge a lab dom0
# with the role (role_routed's host vars and lab), start the guests (Xen's
# vif-route, as their xl configs say), then power dom0 off and boot a fresh
# one from the files the role persisted only (xenlab.py reboot: the units'
# nft lines, ifup -a, the sysctl files as udev applies them, the guests'
# vif-route). The kernel then holds the same addresses, routes, proxy
# neighbours, anti-spoofing table and sysctls; upstream reaches the routed
# guests, forged sources are dropped; the role finds nothing to change.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xenfleet_roles/roles.sh
source ../setup_xenlab/boot.sh
role="$(cd ../role_routed && pwd)"

# Proxy ARP answers after a random delay of up to neigh.<if>.proxy_delay (0.8 s); a first
# packet that needs two proxied answers may wait 1.6 s, longer than roles.sh's pings allow.
pings() { in_ns "$1" ping -c 3 -W 3 -i 0.3 "$2"; }

# The control of the check-mode proof: the uplink's proxy ARP spoilt by hand, and put back.
control_break() { in_ns dom0 sysctl -q -w net/ipv4/conf/eth0/proxy_arp=0; }
control_repair() { in_ns dom0 sysctl -q -w net/ipv4/conf/eth0/proxy_arp=1; }

lab_up "$role/lab.json"
roles_prepare g1 g2

echo "== converge, the guests start, rerun"
boot_converge_and_start "$role/converge.yml" "$role/host_vars.yml"
converge="$CONVERGE_SECONDS"
check "the guests' start ran vif-route for g1-0 and g2-0" grep -q '"vif-route g2-0' "$LAB_DIR/hotplug.json"
check "eth0's installer stanza stays (no bridge takes eth0)" grep -q '^iface eth0 inet static' "$LAB_DIR/network/interfaces"
check "upstream -> g1 before the reboot (control)" pings upstream 192.0.2.50
check "upstream -> g1 over IPv6 before the reboot (control)" pings upstream 2001:db8:1::50
boot_power_cycle
boot_same "the same links: no bridge, the vifs, MACs, MTUs" before booted links
boot_same "the same addresses (dom0's /32 on each vif)" before booted addresses
# Not the same routes line for line: the lab's guests' vifs exist before the first converge, so xen_route
# routes them (proto 212) and the emulated guest start then adds vif-route's own beside them; on Xen a vif
# appears only at its guest's start, with vif-route's route alone, as after this boot.
boot_same "the same destinations through the same devices (metrics and protocols aside)" before booted route_targets
boot_same "the same proxy neighbours (proxy NDP on eth0)" before booted proxy_neighbours
boot_same "the same nft tables of the collection" before booted nft
boot_same "the same forwarding and proxy sysctls" before booted sysctls

echo "== the booted dom0"
check "dom0 answers over SSH on 192.0.2.10, which eth0 keeps" boot_ssh_addr eth0 192.0.2.10/24
check "no bridge on dom0" sh -c "test -z \"\$(ip netns exec $(roles_ns dom0) ip -o link show type bridge)\""
check "proxy ARP on eth0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/eth0/proxy_arp)" = 1
check "net.ipv4.ip_forward stays 0 (forwarding per interface)" test "$(in_ns dom0 cat /proc/sys/net/ipv4/ip_forward)" = 0
check "upstream -> g1 (proxy ARP on eth0)" pings upstream 192.0.2.50
check "upstream -> g2" pings upstream 192.0.2.51
check "upstream -> g1 over IPv6 (proxy NDP on eth0)" pings upstream 2001:db8:1::50
check "g1 -> upstream through dom0's /32 on g1-0" pings g1 192.0.2.1
check "g2 -> upstream (proxy ARP on g2-0 answers for the router)" pings g2 192.0.2.1
check "g1 -> upstream over IPv6 through dom0's link-local" pings g1 2001:db8:1::1
check "g1 -> g2 through dom0" pings g1 192.0.2.51
check "g1 pings upstream from its own address (control for the forgeries below)" pings_from g1 192.0.2.50 192.0.2.1
before="$(antispoof_dropped g1-0)"
check_not "g1 forging g2's address gets nothing back" forged_ping g1 192.0.2.51 192.0.2.1
check_not "g1 forging 192.0.2.99 gets nothing back" forged_ping g1 192.0.2.99 192.0.2.1
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"

echo "== the role after the reboot"
boot_role_after_reboot "$role/converge.yml" "eth0's proxy ARP" links addresses routes proxy_neighbours nft sysctls

echo "timings: converge ${converge} s, reboot ${BOOT_SECONDS} s"
roles_finish
