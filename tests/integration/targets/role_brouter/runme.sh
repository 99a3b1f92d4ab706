#!/usr/bin/env bash
# The brouter role on a lab dom0 reached over SSH: converge with the role
# alone, idempotence, then real packets with NAT (guests reach upstream and
# the internet, upstream does not reach them, DHCP gives the fixed lease) and
# routed without NAT (upstream reaches them through dom0); forwarding on
# exactly the bridge and the uplink; forged sources dropped.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xen_nat/cleanup.sh
source ../setup_xenfleet_roles/roles.sh
here="$(pwd)"

lab_up lab.json
roles_prepare g1 g2 g3

echo "== check mode on the fresh dom0"
roles_play check "$here/converge.yml" --check
[[ $PLAY_RC -eq 0 ]] || roles_show_log check
check "a check-mode run plans the whole dom0" test "$PLAY_RC" -eq 0
check_not "  and changes nothing (no xenbr0)" in_ns dom0 ip link show xenbr0
check_not "  (no vif entry in g1.cfg)" grep -q '^vif' "$LAB_DIR/xen/g1.cfg"
check_not "  (no sysctl.d file)" test -e "$LAB_DIR/60-xenfleet-brouter.conf"
check_not "  (no boot unit, no stanza)" sh -c "ls '$LAB_DIR/systemd' '$LAB_DIR/network/interfaces.d/xenbr0' 2>/dev/null | grep -q ."

echo "== converge, with NAT"
roles_play converge "$here/converge.yml"
[[ $PLAY_RC -eq 0 ]] || { roles_show_log converge; exit 1; }
first_run="$PLAY_SECONDS"
# The guests start: Xen's vif-bridge puts each vif on the bridge of its vif line.
for guest in g1 g2 g3; do "$LAB_PYTHON" "$LAB_TOOL" plug --workdir "$LAB_DIR" "$guest" xenbr0; done
roles_play rerun "$here/converge.yml"
[[ $PLAY_RC -eq 0 ]] || roles_show_log rerun
check "a rerun changes nothing" test "$PLAY_CHANGED" = 0
rerun="$PLAY_SECONDS"

echo "== what the dom0 holds"
check "xenbr0 carries the guests' gateway 10.0.1.1/24" sh -c "ip netns exec $(roles_ns dom0) ip -br addr show xenbr0 | grep -q 10.0.1.1/24"
check "xenbr0 has no physical port: only the guests" \
    sh -c "test \"\$(ip netns exec $(roles_ns dom0) ip -o link show master xenbr0 | awk -F': ' '{print \$2}' | cut -d@ -f1 | sort | xargs)\" = 'g1-0 g2-0 g3-0'"
check "eth0 keeps dom0's address" sh -c "ip netns exec $(roles_ns dom0) ip -br addr show eth0 | grep -q 192.0.2.10/24"
check "forwarding is on for xenbr0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/xenbr0/forwarding)" = 1
check "forwarding is on for eth0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/eth0/forwarding)" = 1
check "and nowhere else: net.ipv4.ip_forward stays 0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/ip_forward)" = 0
check "the sysctl.d file brings back exactly those two at boot" \
    test "$(grep -v '^#' "$LAB_DIR/60-xenfleet-brouter.conf" | sort | xargs)" = \
    "net/ipv4/conf/eth0/forwarding = 1 net/ipv4/conf/xenbr0/forwarding = 1"
check "xl.conf: vif.default.bridge is xenbr0" grep -q '^vif.default.bridge *= *"xenbr0"' "$LAB_DIR/xen/xl.conf"
check "xenbr0's stanza: no port, the gateway address" sh -c "grep -q '^ *bridge_ports none$' '$LAB_DIR/network/interfaces.d/xenbr0' && grep -q '^ *address 10.0.1.1/24$' '$LAB_DIR/network/interfaces.d/xenbr0'"
check "the installer's stanza for eth0 is left alone (no bridge takes it over)" grep -q '^iface eth0 inet static$' "$LAB_DIR/network/interfaces"
check "the NAT table is kept for boot" grep -q 'table ip xenfleet_nat_brouter {' "$LAB_DIR/nat/etc/brouter.nft"
check "  loaded by an enabled unit before the network comes up" sh -c "grep -qx 'ExecStart=/usr/sbin/nft -f $LAB_DIR/nat/etc/brouter.nft' '$LAB_DIR/systemd/xenfleet-nat-brouter-firewall.service' && grep -qx 'Before=network-pre.target xen-init-dom0.service xen.service xendomains.service shutdown.target' '$LAB_DIR/systemd/xenfleet-nat-brouter-firewall.service' && test -L '$LAB_DIR/systemd/sysinit.target.wants/xenfleet-nat-brouter-firewall.service'"

echo "== packets, with NAT"
in_ns upstream ip route add 10.0.1.0/24 via 192.0.2.10
check "g1 -> g2 on the bridge" pings g1 10.0.1.12
check "g1 -> its gateway, dom0" pings g1 10.0.1.1
check "g1 -> upstream, routed by dom0" pings g1 192.0.2.1
check "g1 -> the internet, masqueraded" pings g1 198.51.100.2
check_not "upstream -> g1: NAT lets in only replies (even with a route to the guests)" pings upstream 10.0.1.11
cp "$here/../setup_xen_nat/files/dhclient-script.sh" "$LAB_DIR/dhclient-script"
chmod 0755 "$LAB_DIR/dhclient-script"
in_ns g3 timeout 40 dhclient -1 -4 -sf "$LAB_DIR/dhclient-script" -cf "$here/../setup_xen_nat/files/dhclient.conf" \
    -lf "$LAB_DIR/g3.leases" -pf "$LAB_DIR/g3.dhclient.pid" eth0 >/dev/null 2>&1 || true
in_ns g3 dhclient -x -pf "$LAB_DIR/g3.dhclient.pid" >/dev/null 2>&1 || true
check "g3 got its fixed lease 10.0.1.13 by DHCP" sh -c "ip netns exec $(roles_ns g3) ip -br addr show eth0 | grep -q 10.0.1.13/24"
check "g3 -> g1 from its leased address" pings g3 10.0.1.11
check "g1 pings its gateway from its own address (control for the forgery below)" pings_from g1 10.0.1.11 10.0.1.1
before="$(antispoof_dropped g1-0)"
check_not "g1 forging 10.0.1.99 does not reach dom0" forged_ping g1 10.0.1.99 10.0.1.1
check_not "g1 forging 10.0.1.98 does not reach g2" forged_ping g1 10.0.1.98 10.0.1.12
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"

echo "== routed, without NAT"
roles_play routed "$here/converge.yml" -e xenfleet_brouter_nat=false
[[ $PLAY_RC -eq 0 ]] || { roles_show_log routed; exit 1; }
check "turning NAT off is a change" test "$PLAY_CHANGED" -gt 0
roles_play routed_rerun "$here/converge.yml" -e xenfleet_brouter_nat=false
check "and its rerun changes nothing" test "$PLAY_CHANGED" = 0
check "upstream -> g1, routed through dom0" pings upstream 10.0.1.11
check "upstream -> g2" pings upstream 10.0.1.12
check "g1 -> upstream" pings g1 192.0.2.1
check "forwarding still only on xenbr0 and eth0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/ip_forward)" = 0
before="$(antispoof_dropped g2-0)"
check_not "g2 forging 10.0.1.97 does not reach upstream" forged_ping g2 10.0.1.97 192.0.2.1
check "  and the anti-spoofing counted the drops on g2-0" test "$(antispoof_dropped g2-0)" -gt "$before"

echo "timings: first converge ${first_run} s, rerun ${rerun} s"
roles_finish
