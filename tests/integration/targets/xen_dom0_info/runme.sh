#!/usr/bin/env bash
# Adoption, proven: a dom0 set up by hand as an administrator would (the NIC in a bridge that carries dom0's
# address, three guests with hand-written vif lines, an xl.conf with vif defaults, a legacy xend-config.sxp),
# adopted with playbooks/adopt.yml over SSH, then converged by playbooks/site.yml with the adopted variables:
# only what the adoption lists as not expressed may change, and a second run changes nothing.
set -euo pipefail
source ../setup_xenlab/lab.sh
HERE="$(pwd)"

WORK="$(mktemp -d /tmp/xen_dom0_info.XXXXXX)"
cleanup() {
    lab_down_all
    rm -rf "$WORK"
}
trap cleanup EXIT

lab_up lab.json
NS="$("$LAB_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["namespaces"]["dom0"])' "$LAB_DIR/state.json")"
in_upstream() { "$LAB_PYTHON" "$LAB_TOOL" exec --workdir "$LAB_DIR" upstream -- "$@"; }

# ---- the dom0 as an administrator built it by hand (what network-bridge did)
ip -n "$NS" -batch - <<'IP'
link add xenbr0 type bridge
link set xenbr0 up
link set eth0 master xenbr0
addr flush dev eth0 scope global
addr add 192.0.2.10/24 dev xenbr0
addr add 2001:db8:1::10/64 dev xenbr0 nodad
route replace default via 192.0.2.1 dev xenbr0
route replace ::/0 via 2001:db8:1::1 dev xenbr0
link set g1-0 master xenbr0
link set vif2.0 master xenbr0
link set vif3.0 master xenbr0
IP

XEN="$WORK/xen"
mkdir -p "$XEN/scripts" "$WORK/inventory/group_vars"
# g1 is complete; g2 has no vifname and relies on xl.conf for its bridge; g3 has neither mac nor vifname.
cat > "$XEN/g1.cfg" <<'CFG'
name = "g1"
type = "pv"
memory = 256
# the web server
vif = [ 'mac=02:00:c0:00:02:15,bridge=xenbr0,ip=192.0.2.21,vifname=g1-0' ]
CFG
cat > "$XEN/g2.cfg" <<'CFG'
name = "g2"
vif = [ "mac=02:00:c0:00:02:16, ip=192.0.2.22" ]
CFG
cat > "$XEN/g3.cfg" <<'CFG'
name = 'g3'
type = 'hvm'
vif = [
    'bridge=xenbr0,ip=192.0.2.23',   # added in a hurry
]
CFG
cat > "$XEN/xl.conf" <<'CFG'
# /etc/xen/xl.conf - Xen xl toolstack global configuration
autoballoon="off"
vif.default.script="vif-bridge"
vif.default.bridge="xenbr0"
CFG
cat > "$XEN/xend-config.sxp" <<'CFG'
(logfile /var/log/xen/xend.log)
(network-script 'network-bridge netdev=eth0 bridge=xenbr0')
(vif-script vif-bridge)
CFG
mkdir "$WORK/configs-before"
cp "$XEN"/g*.cfg "$WORK/configs-before/"

# ---- the inventory: the lab's SSH dom0 in the group xen_dom0
INV="$WORK/inventory"
sed -n '/^\[lab_ssh\]/,/^$/p' "$LAB_DIR/inventory.ini" > "$INV/hosts.ini"
printf '\n[xen_dom0:children]\nlab_ssh\n' >> "$INV/hosts.ini"
cat > "$INV/group_vars/xen_dom0.yml" <<YML
---
xenfleet_xl_config_dir: $XEN
xenfleet_adopt_xl_conf: $XEN/xl.conf
xenfleet_adopt_xend_config: $XEN/xend-config.sxp
xenfleet_adopt_scripts_dir: $XEN/scripts
# The lab dom0 shares the controller's file system: nothing is installed or persisted under /etc. Adoption
# is proved to change nothing, so the run after it persists nothing either (the roles' default, auto,
# would write the bridge's boot stanza); any boot unit or sysctl file goes to the work dir.
xenfleet_install_packages: false
xenfleet_persist: none
xenfleet_systemd_unit_dir: $WORK/systemd
xenfleet_sysctl_dir: $WORK/sysctl.d
# The topology roles edit xl.conf's vif defaults: the lab's copy, never the host's /etc/xen/xl.conf.
xenfleet_xl_conf_path: $XEN/xl.conf
YML
# A site.yml from before the topology roles reads only the old name xen_guests; a newer one refuses both at once.
COLL="$(cd "$(dirname "$LAB_TOOL")/../.." && pwd)"
if ! grep -qs xenfleet_guests "$COLL/playbooks/site.yml" "$COLL"/roles/*/tasks/*.yml; then
    echo 'xen_guests: "{{ xenfleet_guests | default([]) }}"' >> "$INV/group_vars/xen_dom0.yml"
fi
HOST_VARS="$INV/host_vars/dom0_ssh.yml"

echo "== adopt (over SSH, from the upstream namespace)"
start=$(date +%s.%N)
in_upstream ansible-playbook -i "$INV/hosts.ini" xenfleet.network.adopt "$@" | tee "$WORK/adopt1.log"
echo "adopt took $(echo "$(date +%s.%N) - $start" | bc) s"
"$LAB_PYTHON" "$HERE/check_adopted.py" "$HOST_VARS" "$XEN"
cp "$HOST_VARS" "$WORK/adopted.yml"

echo "== adopt again: the file is kept"
echo "# edited by hand" >> "$HOST_VARS"
in_upstream ansible-playbook -i "$INV/hosts.ini" xenfleet.network.adopt "$@" | tee "$WORK/adopt2.log"
grep -q 'kept as it was' "$WORK/adopt2.log"
tail -1 "$HOST_VARS" | grep -q '^# edited by hand$'

echo "== adopt with xenfleet_adopt_overwrite=true: rewritten"
in_upstream ansible-playbook -i "$INV/hosts.ini" xenfleet.network.adopt -e xenfleet_adopt_overwrite=true "$@" | tee "$WORK/adopt3.log"
cmp "$HOST_VARS" "$WORK/adopted.yml"
grep -q 'written' "$WORK/adopt3.log"

echo "== adopt refuses a relative xenfleet_adopt_dir before reading anything"
if in_upstream ansible-playbook -i "$INV/hosts.ini" xenfleet.network.adopt -e xenfleet_adopt_dir=relative/dir "$@" > "$WORK/adopt4.log" 2>&1; then
    cat "$WORK/adopt4.log"; echo "a relative xenfleet_adopt_dir was accepted"; exit 1
fi
grep -q 'xenfleet_adopt_dir must be an absolute path (is .*relative/dir' "$WORK/adopt4.log"
if grep -q 'TASK \[Read the dom0 as it is\]' "$WORK/adopt4.log"; then
    echo "the dom0 was read before the directory was checked"; exit 1
fi

echo "== site.yml with the adopted variables"
export ANSIBLE_CALLBACK_PLUGINS="$HERE/callback_plugins" ANSIBLE_CALLBACKS_ENABLED=changes_log
for run in 1 2; do
    export CHANGES_LOG="$WORK/site$run.jsonl"
    start=$(date +%s.%N)
    in_upstream env CHANGES_LOG="$CHANGES_LOG" ansible-playbook -i "$INV/hosts.ini" xenfleet.network.site "$@" | tee "$WORK/site$run.log"
    echo "site.yml run $run took $(echo "$(date +%s.%N) - $start" | bc) s"
    "$LAB_PYTHON" "$HERE/check_changes.py" "$HOST_VARS" "$CHANGES_LOG" "$run"
done

echo "== the dom0 is as it was: eth0 in xenbr0 with dom0's address, guests reachable with real packets"
"$LAB_PYTHON" "$HERE/check_network.py" "$LAB_DIR" "$XEN" "$WORK/configs-before"

echo "== unparsable xl.conf and xend-config.sxp: warnings and unexpressed items, no traceback"
printf 'vif.default.bridge = "xenbr0\n' > "$XEN/xl.conf"
printf '(network-script network-bridge))\n' > "$XEN/xend-config.sxp"
in_upstream ansible-playbook -i "$INV/hosts.ini" "$HERE/broken.yml" -e "xen_dir=$XEN" "$@"

echo "== hostile values on the dom0 (issue 18 item 6): no key injected, no refused value in a variable, the file reads back"
HOSTILE="$WORK/hostile"
mkdir -p "$HOSTILE/xen" "$HOSTILE/inventory/group_vars"
cp "$XEN/g1.cfg" "$HOSTILE/xen/g1.cfg"
# g6 is valid and relies on xl.conf's bridge, whose value is hostile: the bridge is refused, the guest kept.
printf 'name = "g6"\nvif = [ "mac=02:00:c0:00:02:19,ip=192.0.2.26" ]\n' > "$HOSTILE/xen/g6.cfg"
printf 'name = "evil1\\nansible_connection: local"\nvif = [ "mac=02:00:c0:00:02:31" ]\n' > "$HOSTILE/xen/evil1.cfg"
printf 'name = "evil2"\nvif = [ "mac=02:00:c0:00:02:32,vifname=e2\xe2\x80\xa8ansible_host: x" ]\n' > "$HOSTILE/xen/evil2.cfg"
printf 'name = "evil3"\nvif = [ "mac=02:00:c0:00:02:33,bridge=!!python/object/apply:os.system [id]" ]\n' > "$HOSTILE/xen/evil3.cfg"
printf 'name = "evil4"\nvif = [ "mac=02:00:c0:00:02:34,ip=&anchor *anchor,rate={{ 7 * 7 }}" ]\n' > "$HOSTILE/xen/evil4.cfg"
printf 'name = "evil5"\nvif = [ "mac=02:00:c0:00:02:35,vifname=%s" ]\n' "$(printf 'b%.0s' $(seq 300))" > "$HOSTILE/xen/evil5.cfg"
printf 'name = "evil6"\nvif = [ "mac=02:00:c0:00:02:36,model={x: y}\xc2\x85ansible_user: root" ]\n' > "$HOSTILE/xen/evil6.cfg"
printf 'name = "g7"\nvif = [ "mac=02:00:c0:00:02:37,bridge=xenbr0" ]\n' > "$HOSTILE/xen/{{ 6 * 7 }}.cfg"
printf 'vif.default.bridge = "xenbr0\\nansible_connection: local"\nvif.default.script = "vif-bridge\xe2\x80\xa9ansible_become: yes"\n' > "$HOSTILE/xen/xl.conf"
printf "(network-script 'network-bridge netdev=eth0 bridge=xenbr0')\n(network-script 'network-bridge netdev=eth1\nansible_connection: local bridge=xenbr9 evil=x\xe2\x80\xa8y: z')\n" > "$HOSTILE/xen/xend-config.sxp"
sed -n '/^\[lab_ssh\]/,/^$/p' "$LAB_DIR/inventory.ini" > "$HOSTILE/inventory/hosts.ini"
printf '\n[xen_dom0:children]\nlab_ssh\n' >> "$HOSTILE/inventory/hosts.ini"
cat > "$HOSTILE/inventory/group_vars/xen_dom0.yml" <<YML
---
xenfleet_xl_config_dir: $HOSTILE/xen
xenfleet_adopt_xl_conf: $HOSTILE/xen/xl.conf
xenfleet_adopt_xend_config: $HOSTILE/xen/xend-config.sxp
xenfleet_adopt_scripts_dir: $XEN/scripts
YML
in_upstream ansible-playbook -i "$HOSTILE/inventory/hosts.ini" xenfleet.network.adopt "$@" | tee "$WORK/adopt_hostile.log"
"$LAB_PYTHON" "$HERE/check_hostile.py" "$HOSTILE/inventory/host_vars/dom0_ssh.yml" "$HOSTILE/xen"
in_upstream ansible-playbook -i "$HOSTILE/inventory/hosts.ini" "$HERE/hostile.yml" -e "xen_dir=$HOSTILE/xen" "$@"

echo "== the same dom0 rebuilt by hand as a brouter: a port-less bridge with the guests' gateway, the NIC on its own"
ip -n "$NS" -batch - <<'IP'
link set eth0 nomaster
link del xenbr0
addr add 192.0.2.10/24 dev eth0
addr add 2001:db8:1::10/64 dev eth0 nodad
route replace default via 192.0.2.1 dev eth0
route replace ::/0 via 2001:db8:1::1 dev eth0
link add xenbr1 type bridge
link set xenbr1 up
addr add 10.0.1.1/24 dev xenbr1
link set g1-0 master xenbr1
link set vif2.0 master xenbr1
link set vif3.0 master xenbr1
IP
ip netns exec "$NS" sysctl -qw net.ipv4.ip_forward=1
mkdir "$WORK/brouter" "$WORK/routed"
for n in 1 2 3; do
    printf 'name = "g%d"\nvif = [ "mac=02:00:0a:00:01:%02d,bridge=xenbr1,ip=10.0.1.%d,vifname=g%d-0" ]\n' $n $n $((n + 4)) $n > "$WORK/brouter/g$n.cfg"
    printf 'name = "g%d"\nvif = [ "mac=02:00:c0:00:02:%02d,ip=192.0.2.%d,vifname=g%d-0" ]\n' $n $((n + 49)) $((n + 49)) $n > "$WORK/routed/g$n.cfg"
done
printf 'vif.default.script = "vif-bridge"\n' > "$WORK/brouter/xl.conf"
printf 'vif.default.script = "vif-route"\n' > "$WORK/routed/xl.conf"
lab_playbook "$LAB_DIR" topologies.yml -e scenario=brouter -e "config_dir=$WORK/brouter" "$@"

echo "== and as a routed dom0: no bridge, every vif routed by vif-route"
ip -n "$NS" link del xenbr1
lab_playbook "$LAB_DIR" topologies.yml -e scenario=routed -e "config_dir=$WORK/routed" "$@"
