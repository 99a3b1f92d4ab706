# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Host routes and proxy neighbours over netlink, and sysctls through /proc/sys: what xen_route reads and changes.

Private to the collection: may change without notice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
from collections import namedtuple

from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import (
    AF_INET, AF_INET6, Netlink, NetlinkError)

# The route protocol (rtm_protocol) that marks the routes xen_route made. Unassigned in iproute2's
# rt_protos and in the routing daemons' registries; purge looks only at routes carrying it, so a
# route an administrator or daemon added is never touched.
ROUTE_PROTOCOL = 212
RT_TABLE_MAIN = 254
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
NTF_PROXY = 0x08

# One host route as vif-route makes it: ip route add <addr> dev <vif> src <dom0's main address>.
HostRoute = namedtuple('HostRoute', 'family dst dev prefsrc')


def route_text(route):
    text = '%s dev %s' % (route.dst, route.dev)
    if route.prefsrc:
        text += ' src %s' % route.prefsrc
    return text + ' proto %d' % ROUTE_PROTOCOL


class RouteNetlink(Netlink):
    """Netlink plus the requests only xen_route needs: its own routes and proxy neighbour entries."""

    def own_routes(self):
        """Every main-table route carrying ROUTE_PROTOCOL, whatever link it goes through."""
        names = self.link_names()
        found = []
        for family in (AF_INET, AF_INET6):
            for message in self._request('list routes', self.ipr.get_routes, family=family):
                table = message.get_attr('RTA_TABLE') or message['table']
                if message['proto'] != ROUTE_PROTOCOL or table != RT_TABLE_MAIN:
                    continue
                found.append(HostRoute(family, '%s/%d' % (message.get_attr('RTA_DST'), message['dst_len']),
                                       names.get(message.get_attr('RTA_OIF')), message.get_attr('RTA_PREFSRC')))
        return found

    def put_route(self, route):
        """Add the route, or point an existing one for the same destination at route.dev and route.prefsrc."""
        kwargs = dict(dst=route.dst, oif=self.index(route.dev), family=route.family, table=RT_TABLE_MAIN,
                      proto=ROUTE_PROTOCOL, scope=RT_SCOPE_LINK)
        if route.prefsrc:
            kwargs['prefsrc'] = route.prefsrc
        self._request('route %s' % route_text(route), self.ipr.route, 'replace', **kwargs)

    def delete_route(self, route):
        # RT_SCOPE_NOWHERE: any scope, as `ip route del` asks; IPv4 deletes only a route of the scope asked for.
        self._request('delete route %s' % route_text(route), self.ipr.route, 'del', dst=route.dst,
                      family=route.family, table=RT_TABLE_MAIN, proto=ROUTE_PROTOCOL, scope=RT_SCOPE_NOWHERE,
                      oif=self.index(route.dev))

    def has_proxy(self, address, dev):
        """Whether dev answers neighbour solicitations for address (ip -6 neigh add proxy <address> dev <dev>).

        A get per address rather than a dump: pyroute2 0.7 and 0.9 differ in how a dump request carries
        NTF_PROXY, a get takes it the same way in both (kernel 5.0 and later).
        """
        index = self.index(dev)
        try:
            self.ipr.neigh('get', dst=address, ifindex=index, family=AF_INET6, flags=NTF_PROXY)
        except Exception as error:  # pylint: disable=broad-except  # pyroute2's NetlinkError carries the errno in code
            if getattr(error, 'code', None) == errno.ENOENT:
                return False
            raise NetlinkError('look up proxy entry %s on %s: %s' % (address, dev, error))
        return True

    def add_proxy(self, address, dev):
        self._request('add proxy entry %s on %s' % (address, dev), self.ipr.neigh, 'add', dst=address,
                      ifindex=self.index(dev), family=AF_INET6, flags=NTF_PROXY)

    def delete_proxy(self, address, dev):
        self._request('delete proxy entry %s on %s' % (address, dev), self.ipr.neigh, 'del', dst=address,
                      ifindex=self.index(dev), family=AF_INET6, flags=NTF_PROXY)
