#!/usr/bin/env bash
# The multi_bridge role on a lab dom0 reached over SSH: site.yml's refusals
# before any change, converge with the role alone, idempotence (under the
# old variable name xen_guests too, with its deprecation warning, and
# through site.yml from the installed collection), then real packets.
set -euo pipefail
source ../setup_xenlab/lab.sh
source ../setup_xenfleet_roles/roles.sh
here="$(pwd)"
vars=(-e "@$here/host_vars.yml")

lab_up lab.json
roles_prepare g1 g2 g3 g4

echo "== site.yml stops before any change"
sed '/^xenfleet_topology:/d' host_vars.yml >"$LAB_DIR/no_topology.yml"
roles_play site_no_topology xenfleet.network.site -e "@$LAB_DIR/no_topology.yml" -e "@$here/guests.yml"
check_not "site.yml fails for a dom0 without xenfleet_topology" test "$PLAY_RC" -eq 0
check "  and says so" grep -q "xenfleet_topology is not set; set it to one of multi_bridge, brouter, routed" "$LAB_DIR/site_no_topology.log"
roles_play site_unknown xenfleet.network.site "${vars[@]}" -e "@$here/guests.yml" -e xenfleet_topology=mesh
check_not "site.yml fails for an unknown topology" test "$PLAY_RC" -eq 0
check "  and names it" grep -q 'xenfleet_topology is "mesh"' "$LAB_DIR/site_unknown.log"
sed 's/192.0.2.22/192.0.2.21/' guests.yml >"$LAB_DIR/guests_conflict.yml"
roles_play site_conflict xenfleet.network.site "${vars[@]}" -e "@$LAB_DIR/guests_conflict.yml"
check_not "site.yml fails when two guests claim one address" test "$PLAY_RC" -eq 0
check "  and lists the conflict" grep -q "ip '192.0.2.21' is used 2 times in the fleet: guest 'g1' vif 0 on dom0_ssh, guest 'g2' vif 0 on dom0_ssh" "$LAB_DIR/site_conflict.log"
check_not "  before any host changed (no xenbr0)" in_ns dom0 ip link show xenbr0

echo "== packages (check mode)"
roles_play packages "$here/packages.yml" --check
[[ $PLAY_RC -eq 0 ]] || roles_show_log packages
check "the package step asks the OS package manager for the names the dom0 needs" test "$PLAY_RC" -eq 0

echo "== converge"
roles_play converge "$here/converge.yml"
[[ $PLAY_RC -eq 0 ]] || { roles_show_log converge; exit 1; }
first_run="$PLAY_SECONDS"
# The guests start: Xen's vif-bridge puts each vif on the bridge of its vif line.
for guest in g1 g2; do "$LAB_PYTHON" "$LAB_TOOL" plug --workdir "$LAB_DIR" "$guest" xenbr0; done
for guest in g3 g4; do "$LAB_PYTHON" "$LAB_TOOL" plug --workdir "$LAB_DIR" "$guest" xenbr1; done

roles_play rerun_old_name "$here/converge.yml" -e guests_file=guests_old.yml
[[ $PLAY_RC -eq 0 ]] || roles_show_log rerun_old_name
check "a rerun with the old name xen_guests changes nothing" test "$PLAY_CHANGED" = 0
check "  and warns that xen_guests is deprecated" grep -q "DEPRECATION WARNING.*xen_guests is renamed xenfleet_guests" "$LAB_DIR/rerun_old_name.log"
roles_play rerun_site xenfleet.network.site "${vars[@]}" -e "@$here/guests.yml"
[[ $PLAY_RC -eq 0 ]] || roles_show_log rerun_site
check "a rerun through site.yml (installed collection) changes nothing" test "$PLAY_CHANGED" = 0
rerun="$PLAY_SECONDS"

echo "== what the dom0 holds"
check "xenbr0 took over eth0 and carries dom0's address" sh -c "ip netns exec $(roles_ns dom0) ip -br addr show xenbr0 | grep -q 192.0.2.10/24"
check "the default route moved onto xenbr0" sh -c "ip netns exec $(roles_ns dom0) ip route show default | grep -q 'dev xenbr0'"
check "xenbr0's ports are eth0 and the guests g1, g2" \
    sh -c "test \"\$(ip netns exec $(roles_ns dom0) ip -o link show master xenbr0 | awk -F': ' '{print \$2}' | cut -d@ -f1 | sort | xargs)\" = 'eth0 g1-0 g2-0'"
check "xenbr1 has no physical port: only g3 and g4" \
    sh -c "test \"\$(ip netns exec $(roles_ns dom0) ip -o link show master xenbr1 | awk -F': ' '{print \$2}' | cut -d@ -f1 | sort | xargs)\" = 'g3-0 g4-0'"
check "g1.cfg holds its vif line with the derived MAC and the stable name" \
    grep -q "mac=02:00:c0:00:02:15.*vifname=g1-0\|vifname=g1-0.*mac=02:00:c0:00:02:15" "$LAB_DIR/xen/g1.cfg"
check "xl.conf: vif.default.bridge is xenbr0" grep -q '^vif.default.bridge *= *"xenbr0"' "$LAB_DIR/xen/xl.conf"
check "xl.conf: the administrator's line is kept" grep -q '^autoballoon="off"' "$LAB_DIR/xen/xl.conf"

echo "== what comes back at boot (the lab boot target boots from these)"
check "xenbr0's stanza takes eth0 as its port" grep -q '^ *bridge_ports eth0$' "$LAB_DIR/network/interfaces.d/xenbr0"
check "xenbr1's stanza carries no port" grep -q '^ *bridge_ports none$' "$LAB_DIR/network/interfaces.d/xenbr1"
check "the installer's stanza for eth0 became inet manual" grep -q '^iface eth0 inet manual$' "$LAB_DIR/network/interfaces"
check_not "  and no longer gives eth0 an address" grep -q '192.0.2.10' "$LAB_DIR/network/interfaces"
check "  the original kept as a backup" grep -q '^iface eth0 inet static$' "$LAB_DIR/network/interfaces.xenfleet-backup"
check "the anti-spoofing unit loads the persisted ruleset" \
    grep -qx "ExecStart=/usr/sbin/nft -f $LAB_DIR/nftables.d/xenfleet-antispoof.nft" "$LAB_DIR/systemd/xenfleet-antispoof.service"
check "  and is enabled for sysinit.target" test "$(readlink "$LAB_DIR/systemd/sysinit.target.wants/xenfleet-antispoof.service")" = "$LAB_DIR/systemd/xenfleet-antispoof.service"

echo "== packets"
check "dom0 reaches its gateway through xenbr0" pings dom0 192.0.2.1
check "g1 -> g2 on xenbr0" pings g1 192.0.2.22
check "g1 -> upstream" pings g1 192.0.2.1
check "g1 -> upstream over IPv6" pings g1 2001:db8:1::1
check "upstream -> g1" pings upstream 192.0.2.21
check "upstream -> g2" pings upstream 192.0.2.22
check "g3 -> g4 on the guest-only xenbr1" pings g3 10.0.1.4
check "g1 pings upstream from its own address (control for the forgery below)" pings_from g1 192.0.2.21 192.0.2.1
before="$(antispoof_dropped g1-0)"
check_not "g1 forging 192.0.2.99 does not reach upstream" forged_ping g1 192.0.2.99 192.0.2.1
check "  and the anti-spoofing counted the drops on g1-0" test "$(antispoof_dropped g1-0)" -gt "$before"
check "g3 pings g4 from its own address (control)" pings_from g3 10.0.1.3 10.0.1.4
before="$(antispoof_dropped g3-0)"
check_not "g3 forging 10.0.1.99 does not reach g4" forged_ping g3 10.0.1.99 10.0.1.4
check "  and the anti-spoofing counted the drops on g3-0" test "$(antispoof_dropped g3-0)" -gt "$before"

echo "timings: first converge ${first_run} s, rerun through site.yml ${rerun} s"
roles_finish
