#!/usr/bin/env bash
# The routed role on a lab dom0 reached over SSH: converge with the role
# alone, idempotence, then real packets - upstream reaches each guest through
# proxy ARP / proxy NDP on dom0's uplink, guests reach upstream through dom0,
# a forged source is dropped on the routed vif; a vif without ip= is refused
# before anything changes.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xenfleet_roles/roles.sh
here="$(pwd)"

# Proxy ARP answers after a random delay of up to neigh.<if>.proxy_delay (0.8 s); a first
# packet that needs two proxied answers (upstream's for the guest, the guest's for the router)
# may wait 1.6 s, longer than roles.sh's pings allow.
pings() { in_ns "$1" ping -c 3 -W 3 -i 0.3 "$2"; }

lab_up lab.json
roles_prepare g1 g2

echo "== refusal"
snapshot() { in_ns dom0 sh -c 'ip route show table all; ip -6 route show table all; ip -br addr; ip -6 neigh show proxy'; }
before="$(snapshot)"
roles_play no_ip "$here/no_ip.yml"
check "a vif without ip= fails the play" test "$PLAY_RC" -ne 0
check "  naming the vif" grep -q "these vifs have no ip (vif-route cannot know what to route to them): g1 vif 0" "$LAB_DIR/no_ip.log"
check "  and the dom0 is unchanged" test "$(snapshot)" = "$before"
check "  and no guest config was touched" sh -c "! grep -q vif '$LAB_DIR/xen/g1.cfg'"

echo "== converge"
roles_play converge "$here/converge.yml"
[[ $PLAY_RC -eq 0 ]] || { roles_show_log converge; exit 1; }
first_run="$PLAY_SECONDS"
roles_play rerun "$here/converge.yml"
[[ $PLAY_RC -eq 0 ]] || roles_show_log rerun
check "a rerun changes nothing" test "$PLAY_CHANGED" = 0
rerun="$PLAY_SECONDS"

echo "== what the dom0 holds"
check "g1's vif line: script=vif-route, gatewaydev=eth0, ip=" \
    sh -c "grep -q 'script=vif-route' '$LAB_DIR/xen/g1.cfg' && grep -q 'gatewaydev=eth0' '$LAB_DIR/xen/g1.cfg' && grep -q '192.0.2.50' '$LAB_DIR/xen/g1.cfg'"
check "g1's vif line leaves out its IPv6 address (vif-route would fail on it at the guest's start)" \
    sh -c "! grep -q '2001:db8' '$LAB_DIR/xen/g1.cfg'"
check "  which anti-spoofing still allows on g1-0" grep -q '2001:db8:1::50' "$LAB_DIR/nftables.d/xenfleet-antispoof.nft"
check "xl.conf: vif.default.script is vif-route" grep -q '^vif.default.script *= *"vif-route"' "$LAB_DIR/xen/xl.conf"
check "xl.conf: the administrator's line is kept" grep -q '^autoballoon="off"' "$LAB_DIR/xen/xl.conf"
check "no bridge on dom0" sh -c "test -z \"\$(ip netns exec $(roles_ns dom0) ip -o link show type bridge)\""
check "host route to g1 through g1-0 from dom0's address" \
    sh -c "ip netns exec $(roles_ns dom0) ip route show 192.0.2.50 | grep -q 'dev g1-0 proto 212 scope link src 192.0.2.10'"
check "g1-0 carries dom0's main address as a /32" sh -c "ip netns exec $(roles_ns dom0) ip -br addr show g1-0 | grep -q 192.0.2.10/32"
check "proxy ARP on eth0" test "$(in_ns dom0 cat /proc/sys/net/ipv4/conf/eth0/proxy_arp)" = 1
check "proxy NDP entry for g1 on eth0" sh -c "ip netns exec $(roles_ns dom0) ip -6 neigh show proxy | grep -q '2001:db8:1::50 dev eth0'"
check "net.ipv4.ip_forward stays 0 (forwarding per interface)" test "$(in_ns dom0 cat /proc/sys/net/ipv4/ip_forward)" = 0
check "the sysctl.d file keeps the uplink's settings" grep -q 'net/ipv4/conf/eth0/proxy_arp = 1' "$LAB_DIR/sysctl.d/60-xenfleet-route.conf"

echo "== packets"
check "upstream -> g1 (proxy ARP on eth0)" pings upstream 192.0.2.50
check "upstream -> g2" pings upstream 192.0.2.51
check "upstream -> g1 over IPv6 (proxy NDP on eth0)" pings upstream 2001:db8:1::50
check "g1 -> upstream through dom0's /32 on g1-0" pings g1 192.0.2.1
check "g2 -> upstream (proxy ARP on g2-0 answers for the router)" pings g2 192.0.2.1
check "g1 -> upstream over IPv6 through dom0's link-local" pings g1 2001:db8:1::1
check "g1 -> g2 through dom0" pings g1 192.0.2.51
before="$(antispoof_dropped g1-0)"
check_not "g1 forging g2's address gets nothing back" forged_ping g1 192.0.2.51 192.0.2.1
check_not "g1 forging 192.0.2.99 gets nothing back" forged_ping g1 192.0.2.99 192.0.2.1
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"

echo "timings: first converge ${first_run} s, rerun ${rerun} s"
roles_finish
