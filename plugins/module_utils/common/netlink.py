# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Links, addresses, routes and bridge options, read and changed over netlink.

Everything goes through pyroute2; nothing parses `ip` output. The readers
return plain value objects so planners can compare them without netlink.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections import namedtuple

try:
    from pyroute2 import IPRoute
except ImportError:  # reported by _deps.require()
    IPRoute = None

AF_INET = 2
AF_INET6 = 10
IFF_UP = 0x1
IFA_F_NODAD = 0x02
IFA_F_PERMANENT = 0x80
RT_SCOPE_LINK = 253
RTPROT_KERNEL = 2
RTPROT_RA = 9
RTN_UNICAST = 1
RT_TABLE_LOCAL = 255
# RTA_NH_ID: the route goes through a nexthop object (ip nexthop). Neither pyroute2 0.7.2 (Debian 12) nor 0.9
# names this attribute (it arrives as UNKNOWN) nor has requests for the objects themselves (RTM_NEWNEXTHOP).
RTA_NH_ID = 30
BRIDGE_OPTION_ATTRS = {
    'stp': 'IFLA_BR_STP_STATE',
    'forward_delay': 'IFLA_BR_FORWARD_DELAY',
    'nf_call_iptables': 'IFLA_BR_NF_CALL_IPTABLES',
    'nf_call_ip6tables': 'IFLA_BR_NF_CALL_IP6TABLES',
    'nf_call_arptables': 'IFLA_BR_NF_CALL_ARPTABLES',
}

Link = namedtuple('Link', 'index name kind mac mtu up master bridge')
# nodad records how the address was added, so a rollback re-adds it the same way.
Address = namedtuple('Address', 'family address prefixlen permanent nodad')
Address.__new__.__defaults__ = (False,)
# nexthops: the hops of a multipath route (ip route ... nexthop via A nexthop via B), empty for one path;
# nhid: the route goes through a nexthop object (ip route ... nhid N).
Route = namedtuple('Route', 'family dst gateway metric table proto scope prefsrc nexthops nhid')
Route.__new__.__defaults__ = ((), False)
# One hop of a multipath route; dev None is the link the route is listed for (and moved with), weight as ip shows it.
Nexthop = namedtuple('Nexthop', 'gateway dev weight')


def address_cidr(address):
    return '%s/%d' % (address.address, address.prefixlen)


def route_label(route, device):
    """The route in ip's words (a command line of `ip route replace` once split at spaces)."""
    text = route.dst
    if route.nhid:
        text += ' nhid'
    if route.gateway:
        text += ' via %s' % route.gateway
    if not route.nexthops:
        text += ' dev %s' % device
    if route.metric:
        text += ' metric %d' % route.metric
    if route.table not in (None, 254):
        text += ' table %d' % route.table
    # ip reads every word after the first `nexthop` as part of a hop, so the hops come last.
    for hop in route.nexthops:
        text += ' nexthop%s dev %s weight %d' % (' via %s' % hop.gateway if hop.gateway else '', hop.dev or device, hop.weight)
    return text


def uses_nexthop_object(message):
    """Whether a route message carries RTA_NH_ID, by name or (pyroute2 0.7 and 0.9) as an UNKNOWN attribute."""
    for name, value in message['attrs']:
        if name == 'RTA_NH_ID':
            return True
        if name == 'UNKNOWN' and isinstance(value, dict) and value.get('header', {}).get('type') == RTA_NH_ID:
            return True
    return False


class NetlinkError(Exception):
    """A netlink request was refused; the message names the object."""


class Netlink:
    """A thin, named vocabulary over one pyroute2 IPRoute socket.

    Every request, read or write, raises NetlinkError naming what it asked for: the kernel may refuse
    anything (no CAP_NET_ADMIN, a link gone meanwhile), and pyroute2 raises its own errors and OSError alike.
    """

    def __init__(self):
        self.ipr = _call('open a netlink socket', IPRoute)

    def close(self):
        self.ipr.close()

    # ---- readers -------------------------------------------------------
    def link(self, name):
        """The link called name, or None."""
        indexes = self._request('look up link %s' % name, self.ipr.link_lookup, ifname=name)
        if not indexes:
            return None
        return self._link_from_message(self._request('read link %s' % name, self.ipr.link, 'get', index=indexes[0])[0])

    def ports(self, bridge_index):
        """Names of the links enslaved to the bridge."""
        return sorted(message.get_attr('IFLA_IFNAME') for message in self._request('list links', self.ipr.get_links)
                      if message.get_attr('IFLA_MASTER') == bridge_index)

    def addresses(self, index):
        """Global addresses of a link, primary first as the kernel lists them."""
        found = []
        for message in self._request('list the addresses of link %s' % index, self.ipr.get_addr, index=index):
            if message['scope'] >= RT_SCOPE_LINK:
                continue  # link-local addresses are the kernel's, derived from the MAC
            flags = message.get_attr('IFA_FLAGS')
            if flags is None:
                flags = message['flags']
            found.append(Address(message['family'], message.get_attr('IFA_ADDRESS'), message['prefixlen'],
                                 bool(flags & IFA_F_PERMANENT), bool(flags & IFA_F_NODAD)))
        return found

    def routes(self, index):
        """Routes through a link that an administrator or a daemon added: one path through it, or a multipath
        route with a hop through it (hops through other links keep their link), or one through a nexthop object
        on it (nhid set; the kernel names the object's link while net.ipv4.nexthop_compat_mode is 1, its default).

        Kernel routes (connected prefixes, link-local) follow the addresses by
        themselves and router-advertisement routes are relearned, so neither is
        part of what must be moved.
        """
        found = []
        names = None
        for message in self._added_routes('list the routes through link %s' % index):
            hops = message.get_attr('RTA_MULTIPATH') or []
            if message.get_attr('RTA_OIF') != index and not any(hop.get('oif') == index for hop in hops):
                continue
            nexthops = []
            for hop in hops:
                if hop.get('oif') != index and names is None:
                    names = self.link_names()
                nexthops.append(Nexthop(_hop_gateway(hop), None if hop.get('oif') == index else names.get(hop.get('oif')),
                                        hop.get('hops', 0) + 1))
            found.append(Route(message['family'], _destination(message), message.get_attr('RTA_GATEWAY'),
                               message.get_attr('RTA_PRIORITY') or 0, message.get_attr('RTA_TABLE') or message['table'],
                               message['proto'], message['scope'],
                               message.get_attr('RTA_PREFSRC'), tuple(nexthops), uses_nexthop_object(message)))
        return found

    def unplaced_nexthop_routes(self):
        """Labels of routes through a nexthop object whose link the kernel does not name
        (net.ipv4.nexthop_compat_mode=0): no reader here can tell which link they depend on."""
        return ['%s nhid' % _destination(message) for message in self._added_routes('list the routes')
                if uses_nexthop_object(message) and message.get_attr('RTA_OIF') is None
                and not message.get_attr('RTA_MULTIPATH')]

    def _added_routes(self, what):
        """Unicast route messages of both families outside the local table that neither the kernel nor a router
        advertisement made. Listed whole and filtered here: a multipath route names no RTA_OIF to filter on."""
        for family in (AF_INET, AF_INET6):
            for message in self._request(what, self.ipr.get_routes, family=family):
                table = message.get_attr('RTA_TABLE') or message['table']
                if message['proto'] in (RTPROT_KERNEL, RTPROT_RA) or message['type'] != RTN_UNICAST or table == RT_TABLE_LOCAL:
                    continue
                yield message

    def link_names(self):
        """{index: name} of every link."""
        return dict((message['index'], message.get_attr('IFLA_IFNAME'))
                    for message in self._request('list links', self.ipr.get_links))

    def route_device(self, address):
        """The name of the link the kernel reaches address through (where its packets come in), or None."""
        for message in self._request('look up the route to %s' % address, self.ipr.route, 'get', dst=address):
            index = message.get_attr('RTA_OIF')
            if index:
                return self.link_names().get(index)
        return None

    def _link_from_message(self, message):
        info = message.get_attr('IFLA_LINKINFO')
        kind = info.get_attr('IFLA_INFO_KIND') if info is not None else None
        bridge = None
        if kind == 'bridge':
            data = info.get_attr('IFLA_INFO_DATA')
            bridge = dict((option, data.get_attr(attr)) for option, attr in BRIDGE_OPTION_ATTRS.items())
        return Link(message['index'], message.get_attr('IFLA_IFNAME'), kind,
                    message.get_attr('IFLA_ADDRESS'), message.get_attr('IFLA_MTU'),
                    bool(message['flags'] & IFF_UP), message.get_attr('IFLA_MASTER'), bridge)

    # ---- writers -------------------------------------------------------
    def _request(self, what, call, *args, **kwargs):
        return _call(what, call, *args, **kwargs)

    def create_bridge(self, name, mac=None, mtu=None, options=None):
        kwargs = dict(ifname=name, kind='bridge')
        kwargs.update(bridge_kwargs(options or {}))
        # The MAC goes into the create request itself: the kernel then marks it as set by the user from the
        # start. A bridge born with a random MAC gets one from udev's MACAddressPolicy=persistent too, applied
        # whenever udev gets to the new device, possibly after a MAC set here, which it would then replace.
        if mac:
            kwargs['address'] = mac
        self._request('create bridge %s' % name, self.ipr.link, 'add', **kwargs)
        index = self.index(name)
        if mtu:
            self._request('configure bridge %s' % name, self.ipr.link, 'set', index=index, mtu=mtu)
        return index

    def delete_link(self, name):
        self._request('delete %s' % name, self.ipr.link, 'del', index=self.index(name))

    def set_bridge_options(self, name, options):
        self._request('set bridge options on %s' % name, self.ipr.link, 'set', index=self.index(name),
                      kind='bridge', **bridge_kwargs(options))

    def set_link(self, name, **attributes):
        """Set mtu, address (MAC) or state ('up'/'down') of a link."""
        self._request('set %s on %s' % (', '.join(sorted(attributes)), name), self.ipr.link, 'set',
                      index=self.index(name), **attributes)

    def set_master(self, name, master):
        """Enslave name to the bridge master, or release it with master=None."""
        self._request('set master of %s to %s' % (name, master), self.ipr.link, 'set', index=self.index(name),
                      master=self.index(master) if master else 0)

    def add_address(self, name, address, moving=True):
        # An address that moves stays ours: skipping DAD avoids a window in
        # which it is tentative and unusable. A restored one gets its old flags.
        nodad = moving or address.nodad
        flags = IFA_F_NODAD if address.family == AF_INET6 and nodad else 0
        self._request('add address %s to %s' % (address_cidr(address), name), self.ipr.addr, 'add',
                      index=self.index(name), address=address.address, prefixlen=address.prefixlen,
                      family=address.family, flags=flags)

    def delete_address(self, name, address):
        self._request('delete address %s from %s' % (address_cidr(address), name), self.ipr.addr, 'del',
                      index=self.index(name), address=address.address, prefixlen=address.prefixlen,
                      family=address.family)

    def replace_route(self, name, route):
        """Point a route at a link in one netlink request (NLM_F_REPLACE).

        Replacing rather than deleting and re-adding means there is no instant
        without a default route while dom0's address moves.
        """
        kwargs = dict(dst=route.dst, family=route.family, table=route.table, proto=route.proto, scope=route.scope)
        if route.nexthops:
            kwargs['multipath'] = [dict(gateway=hop.gateway, oif=self.index(hop.dev or name), hops=hop.weight - 1)
                                   for hop in route.nexthops]
        else:
            kwargs['oif'] = self.index(name)
        if route.gateway:
            kwargs['gateway'] = route.gateway
        if route.metric:
            kwargs['priority'] = route.metric
        if route.prefsrc:
            kwargs['prefsrc'] = route.prefsrc
        self._request('route %s' % route_label(route, name), self.ipr.route, 'replace', **kwargs)

    def index(self, name):
        indexes = self._request('look up link %s' % name, self.ipr.link_lookup, ifname=name)
        if not indexes:
            raise NetlinkError('no interface named %s' % name)
        return indexes[0]


def _destination(message):
    dst = message.get_attr('RTA_DST') or ('0.0.0.0' if message['family'] == AF_INET else '::')
    return '%s/%d' % (dst, message['dst_len'])


def _hop_gateway(hop):
    for name, value in hop.get('attrs') or []:
        if name == 'RTA_GATEWAY':
            return value
    return None


def _call(what, call, *args, **kwargs):
    try:
        return call(*args, **kwargs)
    except Exception as error:  # pylint: disable=broad-except  # pyroute2 raises NetlinkError and OSError alike
        raise NetlinkError('%s: %s' % (what, error))


def bridge_kwargs(options):
    """pyroute2 keyword arguments (IFLA_BR_STP_STATE -> br_stp_state) for options in kernel units."""
    return dict((BRIDGE_OPTION_ATTRS[option][len('IFLA_'):].lower(), value)
                for option, value in options.items() if value is not None)
