#!/bin/sh
# The network beyond dom0's uplink, made inside dom0 at every boot by
# xenfleet-realxen-upstream.service: the namespace "upstream", whose eth0 is
# the peer of dom0's veth up0, and 198.51.100.2 (the "internet") on its lo.
# /etc/xenfleet-realxen/upstream.env sets MODE:
#   bridged  up0 is a port of a dom0 bridge (the lane's site.yml says so);
#            upstream is 10.0.2.100/24 on dom0's segment
#   routed   up0 is dom0's uplink with 192.0.2.10/24 and 2001:db8:1::10/64 (the
#            NIC's own configuration); upstream is the router 192.0.2.1/24 and
#            2001:db8:1::1/64; dom0 reaches 198.51.100.0/24 through it
# In routed mode, ROUTE_BACK (a prefix) gives the router a route to it via dom0,
# as a router that knows the guests' network would have.
set -eu
MODE=
ROUTE_BACK=
# shellcheck source=/dev/null # written by the lane
. /etc/xenfleet-realxen/upstream.env

ip netns add upstream
ip link add up0 type veth peer name eth0 netns upstream
ip -n upstream link set lo up
ip -n upstream addr add 198.51.100.2/32 dev lo
case $MODE in
bridged)
    ip -n upstream addr add 10.0.2.100/24 dev eth0
    ip -n upstream link set eth0 up
    ip link set up0 up
    ;;
routed)
    ip -n upstream addr add 192.0.2.1/24 dev eth0
    ip -n upstream addr add 2001:db8:1::1/64 dev eth0 nodad
    ip -n upstream link set eth0 up
    ip addr add 192.0.2.10/24 dev up0
    ip addr add 2001:db8:1::10/64 dev up0 nodad
    ip link set up0 up
    ip route add 198.51.100.0/24 via 192.0.2.1 dev up0
    [ -z "$ROUTE_BACK" ] || ip -n upstream route add "$ROUTE_BACK" via 192.0.2.10 dev eth0
    ;;
*)
    echo "upstream.sh: MODE=$MODE is neither bridged nor routed" >&2
    exit 1
    ;;
esac
