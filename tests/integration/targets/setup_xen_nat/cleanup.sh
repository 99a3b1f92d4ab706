# shellcheck shell=bash
# Sourced by runme.sh of the xen_nat targets, after ../setup_xenlab/lab.sh.
# dnsmasq daemons that xen_nat started and DHCP clients of the guests run
# inside the lab but were not started through it; if a play fails before
# removing them, stop them here (by the pid files in the lab's workdir, and
# only when the process's command line names that workdir), then take the
# lab down.

nat_stop_leftovers() {
    local dir pidfile pid
    for dir in "${LAB_DIRS[@]}"; do
        while IFS= read -r -d '' pidfile; do
            pid="$(cat "$pidfile" 2>/dev/null || true)"
            [[ $pid =~ ^[0-9]+$ ]] || continue
            if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/"; then
                kill "$pid" 2>/dev/null || true
            fi
        done < <(find "$dir/nat" -name '*.pid' -print0 2>/dev/null)
    done
}
trap 'nat_stop_leftovers; lab_down_all' EXIT
