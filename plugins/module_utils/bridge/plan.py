# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a BridgeSpec and a HostView to an ordered, reversible Plan.

The uplink migration is ordered so dom0 is never without its address or its
default route: the bridge takes the NIC's MAC and addresses first, the NIC is
enslaved, routes are switched over with NLM_F_REPLACE, and only then are the
addresses removed from the NIC. Each step knows its undo, so a failed
connectivity check puts the NIC back exactly as it was.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import InvalidSpec
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import (
    autoconfigured, contains_address, describe_bridge, describe_uplink, same_address)
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import (
    AF_INET, AF_INET6, Address, address_cidr, route_label)
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan


def host_problems(spec, view):
    """Reasons the host cannot take this spec; checked before any change."""
    problems = []
    if view.bridge is not None and view.bridge.kind != 'bridge':
        problems.append("name '%s' is an existing %s interface, not a bridge" % (spec.name, view.bridge.kind or 'plain'))
    if spec.state != 'present':
        if view.bridge is not None and not spec.uplink and view.bridge_routes:
            problems.append("bridge '%s' carries routes (%s); deleting it would cut dom0 off: give uplink, the NIC that "
                            "takes them back" % (spec.name, ', '.join(route_label(route, spec.name) for route in view.bridge_routes)))
        elif view.bridge is not None and view.uplink is not None:
            problems += nexthop_object_problems(view.bridge_routes, spec.name, spec.uplink, view.unplaced_nexthop_routes)
        return problems
    bridge_index = view.bridge.index if view.bridge is not None else None
    if spec.uplink and view.uplink is None:
        problems.append("uplink '%s' does not exist on this host" % spec.uplink)
    elif spec.uplink and view.uplink.master not in (None, 0, bridge_index):
        problems.append("uplink '%s' is already enslaved to another master (index %s)" % (spec.uplink, view.uplink.master))
    if spec.uplink and view.uplink is not None:
        problems += nexthop_object_problems(view.uplink_routes, spec.uplink, spec.name, view.unplaced_nexthop_routes)
    for port, link in sorted(view.port_links.items()):
        if link is None:
            problems.append("ports '%s' does not exist on this host" % port)
        elif link.master not in (None, 0, bridge_index):
            problems.append("ports '%s' is already enslaved to another master (index %s)" % (port, link.master))
    return problems


def nexthop_object_problems(routes, source, target, unplaced):
    """Routes that would stay behind on source, refused: one through a nexthop object (ip nexthop; nhid) keeps
    pointing at the NIC, and moving the object needs RTM_NEWNEXTHOP, which pyroute2 (0.7.2 on Debian 12, and 0.9)
    does not speak. A route through an object whose link the kernel does not name is refused too: it may be source."""
    problems = ["route '%s' goes through a nexthop object (nhid), which xen_bridge cannot move from %s to %s; "
                "nothing was changed: replace it with a route through a gateway (ip route replace ... via ... or "
                "nexthop via ... nexthop via ...), or move the object to %s yourself first"
                % (route_label(route, source), source, target, target) for route in routes if route.nhid]
    if unplaced:
        problems.append("routes %s go through nexthop objects whose link the kernel does not name "
                        "(net.ipv4.nexthop_compat_mode=0), so xen_bridge cannot tell whether %s carries them; nothing "
                        "was changed: set net.ipv4.nexthop_compat_mode=1, or replace them with routes through a gateway"
                        % (', '.join("'%s'" % label for label in unplaced), source))
    return problems


def declared_addresses(spec):
    found = []
    for interface in spec.declared_addresses():
        family = AF_INET if interface.version == 4 else AF_INET6
        found.append(Address(family, str(interface.ip), interface.network.prefixlen, True))
    return found


def default_gateways(routes):
    """The gateways of the default routes, every hop of a multipath one included, each once."""
    found = []
    for route in routes:
        if route.dst.endswith('/0'):
            for gateway in [route.gateway] + [hop.gateway for hop in route.nexthops]:
                if gateway and gateway not in found:
                    found.append(gateway)
    return found


class BridgePlanner:
    """Builds the plan and the predicted after-state together, so they cannot disagree."""

    def __init__(self, spec, view, net, check_connectivity, machine_id=None):
        problems = host_problems(spec, view)
        if problems:
            raise InvalidSpec(problems)
        self.spec = spec
        self.view = view
        self.net = net
        self.check_connectivity = check_connectivity
        self.machine_id = machine_id
        self.plan = Plan()
        self.checked_targets = []
        self.after_bridge = None
        self.after_uplink = None
        self.after = None

    # ---- present -------------------------------------------------------
    def plan_present(self):
        spec, view = self.spec, self.view
        mac = spec.bridge_mac(view.uplink.mac if view.uplink is not None else None,
                              view.bridge.mac if view.bridge is not None else None, self.machine_id)
        self._plan_bridge_link(mac)
        addresses = list(view.bridge_addresses)
        routes = list(view.bridge_routes)
        ports = list(view.bridge_ports)
        for port in spec.ports:
            if port not in ports:
                self._enslave(port)
                ports.append(port)
        addresses = self._plan_declared_addresses(addresses)
        moved_routes = []
        if view.uplink is not None:
            addresses, moved_routes = self._plan_uplink_migration(addresses)
            routes.extend(moved_routes)
            if spec.uplink not in ports:
                ports.append(spec.uplink)
        if moved_routes or (view.uplink is not None and view.uplink_addresses):
            targets = spec.connectivity_check if spec.connectivity_check is not None else default_gateways(moved_routes)
            self._plan_connectivity(targets)
        self.after = dict(options=self._after_options(), mac=mac, mtu=spec.mtu or self._current_mtu(),
                          ports=ports, addresses=addresses, routes=routes)
        self.after_bridge = describe_bridge(spec.name, True, **self.after)
        if view.uplink is not None:
            self.after_uplink = describe_uplink(spec.uplink, view.uplink, [], [], spec.name)
        return self.after_bridge

    def _current_mtu(self):
        if self.view.bridge is not None:
            return self.view.bridge.mtu
        return self.view.uplink.mtu if self.view.uplink is not None else 1500

    def _after_options(self):
        options = dict(self.view.bridge.bridge or {}) if self.view.bridge is not None else {}
        options.update(self.spec.bridge_options())
        return options

    def _plan_bridge_link(self, mac):
        spec, bridge, net = self.spec, self.view.bridge, self.net
        options = spec.bridge_options()
        if bridge is None:
            mtu = spec.mtu
            self.plan.add('create bridge %s' % spec.name,
                          lambda: net.create_bridge(spec.name, mac=mac, mtu=mtu, options=options),
                          lambda: net.delete_link(spec.name))
            self.plan.add('bring %s up' % spec.name, lambda: net.set_link(spec.name, state='up'))
            return
        changed = dict((key, value) for key, value in options.items() if (bridge.bridge or {}).get(key) != value)
        if changed:
            old = dict((key, (bridge.bridge or {}).get(key)) for key in changed)
            self.plan.add('set %s on %s' % (', '.join('%s=%s' % item for item in sorted(changed.items())), spec.name),
                          lambda: set_bridge_options_in_order(net, spec.name, changed),
                          lambda: set_bridge_options_in_order(net, spec.name, old))
        if mac and bridge.mac != mac:
            self.plan.add('set MAC of %s to %s' % (spec.name, mac), lambda: net.set_link(spec.name, address=mac),
                          lambda: net.set_link(spec.name, address=bridge.mac))
        if spec.mtu and bridge.mtu != spec.mtu:
            self.plan.add('set MTU of %s to %s' % (spec.name, spec.mtu), lambda: net.set_link(spec.name, mtu=spec.mtu),
                          lambda: net.set_link(spec.name, mtu=bridge.mtu))
        if not bridge.up:
            self.plan.add('bring %s up' % spec.name, lambda: net.set_link(spec.name, state='up'),
                          lambda: net.set_link(spec.name, state='down'))

    def _enslave(self, port):
        spec, net = self.spec, self.net
        link = self.view.uplink if port == spec.uplink else self.view.port_links.get(port)
        if spec.mtu and link is not None and link.mtu != spec.mtu:
            old_mtu = link.mtu
            self.plan.add('set MTU of %s to %s' % (port, spec.mtu), lambda: net.set_link(port, mtu=spec.mtu),
                          lambda: net.set_link(port, mtu=old_mtu))
        self.plan.add('enslave %s to %s' % (port, spec.name), lambda: net.set_master(port, spec.name),
                      lambda: net.set_master(port, None))
        if link is not None and not link.up:
            self.plan.add('bring %s up' % port, lambda: net.set_link(port, state='up'),
                          lambda: net.set_link(port, state='down'))

    def _plan_declared_addresses(self, addresses):
        spec, net = self.spec, self.net
        if spec.addresses is None:
            return addresses
        wanted = declared_addresses(spec)
        for address in wanted:
            if not contains_address(addresses, address):
                self._add_address(spec.name, address)
                addresses.append(address)
        if spec.uplink is None:
            # Without an uplink the declared list is the whole truth.
            for address in list(addresses):
                if not contains_address(wanted, address):
                    self.plan.add('delete address %s from %s' % (address_cidr(address), spec.name),
                                  bind(net.delete_address, spec.name, address), bind(net.add_address, spec.name, address))
                    addresses.remove(address)
        return addresses

    def _add_address(self, device, address):
        net = self.net
        self.plan.add('add address %s to %s' % (address_cidr(address), device),
                      bind(net.add_address, device, address), bind(net.delete_address, device, address))

    def _plan_uplink_migration(self, addresses):
        spec, view, net = self.spec, self.view, self.net
        for address in view.uplink_addresses:
            if not contains_address(addresses, address) and not autoconfigured(address):
                self._add_address(spec.name, address)
                addresses.append(address)
        if view.uplink.master != (view.bridge.index if view.bridge is not None else -1):
            self._enslave(spec.uplink)
        for route in view.uplink_routes:
            self.plan.add('move route %s to %s' % (route_label(route, spec.uplink), spec.name),
                          bind(net.replace_route, spec.name, route), bind(net.replace_route, spec.uplink, route))
        # Secondary IPv4 addresses go before their primary, which would take them along.
        for address in reversed(view.uplink_addresses):
            self.plan.add('delete address %s from %s' % (address_cidr(address), spec.uplink),
                          bind(net.delete_address, spec.uplink, address), bind(net.add_address, spec.uplink, address, False))
        return addresses, list(view.uplink_routes)

    def _plan_connectivity(self, targets):
        if not targets:
            return
        self.checked_targets = list(targets)
        spec = self.spec
        self.plan.add('check that %s still answer(s) through %s' % (', '.join(targets), spec.name),
                      lambda: self.check_connectivity(targets, spec.connectivity_timeout))

    # ---- absent --------------------------------------------------------
    def plan_absent(self):
        spec, view, net = self.spec, self.view, self.net
        if view.bridge is None:
            self.after_bridge = describe_bridge(spec.name, False)
            return self.after_bridge
        uplink_enslaved = view.uplink is not None and view.uplink.master == view.bridge.index
        # Routes on the bridge go back to the uplink even when it is released already (a run killed between the
        # release and the route moves): deleting the bridge would take them, dom0's default routes among them.
        if uplink_enslaved or (view.uplink is not None and view.bridge_routes):
            declared = declared_addresses(spec)
            returning = [address for address in view.bridge_addresses
                         if not contains_address(declared, address) and not autoconfigured(address)]
            for address in returning:
                if not contains_address(view.uplink_addresses, address):
                    self._add_address(spec.uplink, address)
            if uplink_enslaved:
                self.plan.add('release %s from %s' % (spec.uplink, spec.name), lambda: net.set_master(spec.uplink, None),
                              lambda: net.set_master(spec.uplink, spec.name))
            for route in view.bridge_routes:
                self.plan.add('move route %s to %s' % (route_label(route, spec.name), spec.uplink),
                              bind(net.replace_route, spec.uplink, route), bind(net.replace_route, spec.name, route))
            for address in reversed(view.bridge_addresses):
                self.plan.add('delete address %s from %s' % (address_cidr(address), spec.name),
                              bind(net.delete_address, spec.name, address), bind(net.add_address, spec.name, address))
            targets = spec.connectivity_check if spec.connectivity_check is not None else default_gateways(view.bridge_routes)
            self._plan_connectivity(targets)
            self.after_uplink = describe_uplink(spec.uplink, view.uplink, merge(view.uplink_addresses, returning),
                                                view.uplink_routes + view.bridge_routes, None)
        self.plan.add('delete bridge %s' % spec.name, lambda: net.delete_link(spec.name))
        self.after_bridge = describe_bridge(spec.name, False)
        return self.after_bridge

    def before(self):
        view, spec = self.view, self.spec
        if view.bridge is None:
            bridge = describe_bridge(spec.name, False)
        else:
            bridge = describe_bridge(spec.name, True, view.bridge.bridge, view.bridge.mac, view.bridge.mtu,
                                     view.bridge_ports, view.bridge_addresses, view.bridge_routes)
        master = spec.name if (view.uplink is not None and view.bridge is not None
                               and view.uplink.master == view.bridge.index) else None
        uplink = describe_uplink(spec.uplink, view.uplink, view.uplink_addresses, view.uplink_routes, master)
        return bridge, uplink


def merge(addresses, extra):
    merged = list(addresses)
    for address in extra:
        if not any(same_address(address, known) for known in merged):
            merged.append(address)
    return merged


def bind(function, *args):
    """A zero-argument call, with its arguments fixed now (not when a loop ends)."""
    return lambda: function(*args)


def set_bridge_options_in_order(net, name, options):
    """The kernel refuses a forward delay under 2 s while STP is on, so order the two."""
    options = dict((key, value) for key, value in options.items() if value is not None)
    stp = options.pop('stp', None)
    if stp == 0:
        net.set_bridge_options(name, {'stp': 0})
    if options:
        net.set_bridge_options(name, options)
    if stp:
        net.set_bridge_options(name, {'stp': stp})
