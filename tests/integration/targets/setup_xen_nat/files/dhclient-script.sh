#!/bin/sh
# dhclient's -sf script for lab guests: puts the leased address and default
# route on the guest's interface and touches nothing else (no resolv.conf,
# no hooks). The lease itself, DNS servers included, is in dhclient's -lf file.
# dhclient passes reason, interface and new_* in the environment.
# shellcheck disable=SC2154
case "$reason" in
    BOUND | RENEW | REBIND | REBOOT)
        ip -4 addr flush dev "$interface"
        ip -4 addr add "$new_ip_address/$new_subnet_mask" dev "$interface"
        for router in $new_routers; do
            ip -4 route replace default via "$router" dev "$interface"
            break
        done
        ;;
    EXPIRE | FAIL | RELEASE | STOP)
        ip -4 addr flush dev "$interface"
        ;;
esac
exit 0
