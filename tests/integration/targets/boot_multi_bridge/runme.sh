#!/usr/bin/env bash
# The multi_bridge role's boot files alone rebuild the dom0: converge a lab
# dom0 with the role (role_multi_bridge's host vars, guests and lab), start
# the guests, then power dom0 off and boot a fresh one from the files the
# role persisted only (xenlab.py reboot: the units' nft lines, ifup -a,
# udev's sysctl keys, the guests' vif-bridge). The kernel then holds the
# same bridges, ports, MACs, addresses, routes, nft tables and sysctls;
# packets prove it, and the role finds nothing to change, in check mode or
# for real.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xenfleet_roles/roles.sh
source ../setup_xenlab/boot.sh
role="$(cd ../role_multi_bridge && pwd)"

# The control of the check-mode proof: a bridge option spoilt by hand, and put back.
control_break() { in_ns dom0 ip link set dev xenbr1 type bridge forward_delay 1500; }
control_repair() { in_ns dom0 ip link set dev xenbr1 type bridge forward_delay 0; }

lab_up "$role/lab.json"
roles_prepare g1 g2 g3 g4

echo "== converge, the guests start, rerun"
boot_converge_and_start "$role/converge.yml" "$role/host_vars.yml"
converge="$CONVERGE_SECONDS"
check "the uplink's installer stanza became 'inet manual'" grep -q '^iface eth0 inet manual' "$LAB_DIR/network/interfaces"
check "  with the installer's file kept as a backup" grep -q '^iface eth0 inet static' "$LAB_DIR/network/interfaces.xenfleet-backup"
check "g1 -> upstream before the reboot (control)" pings g1 192.0.2.1
check "g3 -> g4 on xenbr1 before the reboot (control)" pings g3 10.0.1.4
boot_power_cycle
boot_same "the same links: bridges, ports, MACs, MTUs, bridge and port options" before booted links
boot_same "the same addresses" before booted addresses
boot_same "the same routes" before booted routes
boot_same "the same nft tables of the collection (rules, sets, elements)" before booted nft
boot_same "the same forwarding and proxy sysctls" before booted sysctls
boot_same "the same bridge VLANs and proxy neighbours" before booted bridge_vlans proxy_neighbours
boot_same "everything else the snapshot holds" before booted dnsmasq

echo "== the booted dom0"
check "dom0 answers over SSH on 192.0.2.10, which xenbr0 carries" boot_ssh_addr xenbr0 192.0.2.10/24
check "the NIC eth0 is a port of xenbr0, with g1 and g2" test "$(boot_ports xenbr0)" = "eth0 g1-0 g2-0"
check "xenbr1 has only the guests g3 and g4" test "$(boot_ports xenbr1)" = "g3-0 g4-0"
check "eth0 itself holds no address" sh -c "! ip netns exec $(roles_ns dom0) ip -4 -br addr show eth0 | grep -q 192.0.2"
check "dom0 reaches its gateway through xenbr0" pings dom0 192.0.2.1
check "g1 -> g2 on xenbr0" pings g1 192.0.2.22
check "upstream -> g1" pings upstream 192.0.2.21
check "g1 -> upstream over IPv6" pings g1 2001:db8:1::1
check "g3 -> g4 on the guest-only xenbr1" pings g3 10.0.1.4
check "g1 pings upstream from its own address (control for the forgery below)" pings_from g1 192.0.2.21 192.0.2.1
before="$(antispoof_dropped g1-0)"
check_not "g1 forging 192.0.2.99 does not reach upstream" forged_ping g1 192.0.2.99 192.0.2.1
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"
check "g3 pings g4 from its own address (control)" pings_from g3 10.0.1.3 10.0.1.4
check_not "g3 forging 10.0.1.99 does not reach g4" forged_ping g3 10.0.1.99 10.0.1.4
check "g2 with its own MAC reaches upstream (control for the forgery below)" pings g2 192.0.2.1
before="$(antispoof_dropped g2-0)"
check_not "g2 with a forged MAC does not reach upstream" forged_mac g2 02:00:00:00:99:99 upstream 192.0.2.1
check "  and the anti-spoofing counted the drops on g2-0" test "$(antispoof_dropped g2-0)" -gt "$before"
check "  and g2 with its own MAC again does" pings g2 192.0.2.1

echo "== the role after the reboot"
boot_role_after_reboot "$role/converge.yml" "xenbr1's forward delay" links addresses routes nft sysctls bridge_vlans proxy_neighbours

echo "timings: converge ${converge} s, reboot ${BOOT_SECONDS} s"
roles_finish
