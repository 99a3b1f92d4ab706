#!/usr/bin/env bash
# Prints the parts of dom0's firewall that are not xen_antispoof's (run
# inside dom0's namespace): the foreign nftables tables and every iptables,
# ip6tables and ebtables rule outside the XENFLEET-AS / XF* chains, without
# counters or timestamps, so two snapshots compare with diff.
set -euo pipefail
nft -s list table inet foreign
nft -s list table bridge foreign_bridge
for tool in iptables-nft-save ip6tables-nft-save ebtables-nft-save; do
    echo "# $tool"
    "$tool" | grep -v -e '^#' -e 'XENFLEET-AS' -e '^:XF' -e '^-A XF' | sed -e 's/ \[[0-9]*:[0-9]*\]$//'
done
