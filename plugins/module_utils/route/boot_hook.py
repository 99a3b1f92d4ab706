# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A vif-post.d hook that gives a routed vif its IPv6 host routes and proxy NDP entries at each guest start.

Private to the collection: may change without notice.

Xen's vif-route does a vif's IPv4 part at every guest start (its /32, proxy
ARP, host routes from ip=) and nothing for IPv6; so after a reboot a guest
that xendomains starts would be unreachable over IPv6 until the next play.
vif-route (and vif-bridge) source every /etc/xen/scripts/vif-post.d/*.hook
once the vif is plugged, with $dev and $command set. The hook is fixed text:
the only value it carries is the path of the data file, quoted for sh. The
data, one line per routed IPv6 address, is made of words the module
validated (interface names, addresses), so a line never needs quoting:

    route6 <vif> <address> <source address or -> <uplink>

The hook does exactly what xen_route does for such an address: IPv6 on the
vif with forwarding, a /128 through the vif (protocol 212, the module's
own, with the uplink's address as source) and a proxy NDP entry on the
uplink. It runs under the hotplug scripts' `set -e` and must never fail a
guest's start, so every command's failure is ignored.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import shlex

from ansible_collections.xenfleet.network.plugins.module_utils.route.kernel import ROUTE_PROTOCOL

DATA_HEADER = '# Written by xenfleet.network xen_route: read by %s at each guest start.\n'

HOOK_TEXT = '''# Written by xenfleet.network xen_route; sourced by Xen's vif scripts once a vif is plugged.
# Gives a routed vif the IPv6 host routes and proxy NDP entries that vif-route leaves out,
# from the data file below. It never fails a guest's start.
xenfleet_route6() {
    local data=%(data)s kind vif address source uplink verb via
    [ -r "$data" ] || return 0
    case "${command:-}" in
        add|online) verb=replace ;;
        remove|offline) verb=del ;;
        *) return 0 ;;
    esac
    while read -r kind vif address source uplink; do
        [ "$kind" = route6 ] && [ "$vif" = "${dev:-}" ] || continue
        if [ "$verb" = replace ]; then
            echo 0 >"/proc/sys/net/ipv6/conf/$vif/disable_ipv6" || true
            echo 1 >"/proc/sys/net/ipv6/conf/$vif/forwarding" || true
        fi
        via=""
        [ "$source" = - ] || via="src $source"
        # shellcheck disable=SC2086 # via is empty or two words
        ip -6 route "$verb" "$address/128" dev "$vif" proto %(proto)d $via || true
        ip -6 neigh "$verb" proxy "$address" dev "$uplink" || true
    done <"$data"
}
xenfleet_route6 || true
'''


def hook_text(data_path):
    return HOOK_TEXT % {'data': shlex.quote(data_path), 'proto': ROUTE_PROTOCOL}


def data_text(spec, main_ip6, hook_path):
    """The data lines of every listed IPv6 address, present vif or not (the vif appears when its guest starts)."""
    lines = [DATA_HEADER % hook_path]
    for entry in spec.routes:
        for address in entry.addresses:
            if address.version == 6:
                lines.append('route6 %s %s %s %s\n' % (entry.vif, address, main_ip6 or '-', spec.uplink))
    return ''.join(lines)


def routes_ipv6(spec):
    return any(address.version == 6 for entry in spec.routes for address in entry.addresses)
