#!/usr/bin/env bash
# The brouter role's boot files alone rebuild the dom0: converge a lab dom0
# with the role (role_brouter's host vars and lab), start the guests, then
# power dom0 off and boot a fresh one from the files the role persisted only
# (xenlab.py reboot: the units' nft lines, ifup -a, the sysctl files as
# udev applies them, dnsmasq as its unit would run it, the guests'
# vif-bridge). The kernel then holds the same bridge, addresses, routes, NAT
# and anti-spoofing tables and forwarding sysctls; the NAT guest gets its
# fixed lease again; the role finds nothing to change.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh
source ../setup_xenfleet_roles/roles.sh
source ../setup_xenlab/boot.sh
role="$(cd ../role_brouter && pwd)"
nat_files="$(cd ../setup_xen_nat/files && pwd)"

# The control of the check-mode proof: a forwarding sysctl spoilt by hand, and put back.
control_break() { in_ns dom0 sysctl -q -w net/ipv4/conf/xenbr0/forwarding=0; }
control_repair() { in_ns dom0 sysctl -q -w net/ipv4/conf/xenbr0/forwarding=1; }

lab_up "$role/lab.json"
roles_prepare g1 g2 g3
cp "$nat_files/dhclient-script.sh" "$LAB_DIR/dhclient-script"
chmod 0755 "$LAB_DIR/dhclient-script"

# lease NAME: g3 asks for an address by DHCP with a lease file of its own (a full DISCOVER); the
# address is then on its eth0 until the next lease call (which flushes it first)
lease() {
    in_ns g3 ip -4 addr flush dev eth0
    in_ns g3 timeout 40 dhclient -1 -4 -sf "$LAB_DIR/dhclient-script" -cf "$nat_files/dhclient.conf" \
        -lf "$LAB_DIR/g3-$1.leases" -pf "$LAB_DIR/g3.dhclient.pid" eth0 >/dev/null 2>&1 || true
    in_ns g3 dhclient -x -pf "$LAB_DIR/g3.dhclient.pid" >/dev/null 2>&1 || true
}
boot_has_dnsmasq() {
    local argument
    for argument in "${BOOT_ARGS[@]}"; do [[ $argument != *.dnsmasq.conf ]] || return 0; done
    return 1
}
g3_has() { in_ns g3 ip -br addr show eth0 | grep -q " $1"; }

echo "== converge, the guests start, rerun"
boot_converge_and_start "$role/converge.yml" "$role/host_vars.yml"
converge="$CONVERGE_SECONDS"
check "the NAT network's dnsmasq configuration is among the boot files" boot_has_dnsmasq
check "the NAT firewall unit is enabled in sysinit.target.wants" sh -c "ls '$LAB_DIR/systemd/sysinit.target.wants/' | grep -q '^xenfleet-nat-.*-firewall.service$'"
check "eth0's installer stanza stays (no bridge takes eth0)" grep -q '^iface eth0 inet static' "$LAB_DIR/network/interfaces"
lease before
check "g3 gets its fixed lease 10.0.1.13 by DHCP before the reboot (control)" g3_has 10.0.1.13/24
check "g1 -> the internet before the reboot (control)" pings g1 198.51.100.2
boot_power_cycle
boot_same "the same links: the bridge, its ports, MACs, MTUs, bridge and port options" before booted links
boot_same "the same addresses" before booted addresses
boot_same "the same routes" before booted routes
boot_same "the same nft tables of the collection (NAT, anti-spoofing)" before booted nft
boot_same "the same forwarding and proxy sysctls" before booted sysctls
boot_same "the same dnsmasq configuration served" before booted dnsmasq
boot_same "the same bridge VLANs and proxy neighbours" before booted bridge_vlans proxy_neighbours

echo "== the booted dom0"
check "dom0 answers over SSH on 192.0.2.10, which eth0 keeps" boot_ssh_addr eth0 192.0.2.10/24
check "xenbr0 carries the guests' gateway 10.0.1.1/24" sh -c "ip netns exec $(roles_ns dom0) ip -br addr show xenbr0 | grep -q ' 10.0.1.1/24'"
check "xenbr0 has no physical port: only the guests" test "$(boot_ports xenbr0)" = "g1-0 g2-0 g3-0"
check "forwarding is on for xenbr0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/xenbr0/forwarding)" = 1
check "forwarding is on for eth0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/eth0/forwarding)" = 1
check "and nowhere else: net.ipv4.ip_forward stays 0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/ip_forward)" = 0
in_ns upstream ip route add 10.0.1.0/24 via 192.0.2.10
check "g1 -> g2 on the bridge" pings g1 10.0.1.12
check "g1 -> its gateway, dom0" pings g1 10.0.1.1
check "g1 -> upstream, routed by dom0" pings g1 192.0.2.1
check "g1 -> the internet, masqueraded" pings g1 198.51.100.2
check "upstream -> dom0 (control for the NAT check below)" pings upstream 192.0.2.10
check_not "upstream -> g1: NAT lets in only replies (even with a route to the guests)" pings upstream 10.0.1.11
lease booted
check "g3 gets its fixed lease 10.0.1.13 from the booted dnsmasq" g3_has 10.0.1.13/24
check "  which dnsmasq's lease file keeps for g3's MAC" sh -c "grep -h '02:00:0a:00:01:0d 10.0.1.13 ' '$LAB_DIR'/nat/state/*/dnsmasq.leases"
check "g3 -> g1 from its leased address" pings g3 10.0.1.11
check "g1 pings its gateway from its own address (control for the forgeries below)" pings_from g1 10.0.1.11 10.0.1.1
before="$(antispoof_dropped g1-0)"
check_not "g1 forging 10.0.1.99 does not reach dom0" forged_ping g1 10.0.1.99 10.0.1.1
check_not "g1 forging 10.0.1.98 does not reach g2" forged_ping g1 10.0.1.98 10.0.1.12
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"
check "g2 with its own MAC reaches dom0 (control for the forgery below)" pings g2 10.0.1.1
before="$(antispoof_dropped g2-0)"
check_not "g2 with a forged MAC does not reach dom0" forged_mac g2 02:00:00:00:99:99 dom0 10.0.1.1
check "  and the anti-spoofing counted the drops on g2-0" test "$(antispoof_dropped g2-0)" -gt "$before"
check "  and g2 with its own MAC again does" pings g2 10.0.1.1

echo "== the role after the reboot"
boot_role_after_reboot "$role/converge.yml" "xenbr0's forwarding" links addresses routes nft sysctls dnsmasq

echo "timings: converge ${converge} s, reboot ${BOOT_SECONDS} s"
roles_finish
