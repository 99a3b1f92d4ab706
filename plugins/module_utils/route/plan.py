# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The routed topology as vif-route makes it, planned against the host: sysctls, vif addresses, host routes, proxy NDP.

Private to the collection: may change without notice.

What vif-route does at a guest's start, for every listed vif that exists now: dom0's main IPv4 address
(the uplink's first) as a /32 on the vif, proxy ARP on the vif, and per guest address a host route through
the vif with that address as source. Around it what network-route did once: forwarding and proxy ARP on
the uplink. IPv6, which vif-route leaves out, the same way: a /128 per address with the uplink's first
IPv6 address as source, IPv6 on the vif (guests use dom0's link-local address there as their gateway), and
proxy NDP entries on the uplink, so the upstream router finds the guests on its own link.

A route someone else made (vif-route at the guest's start: proto boot, its own metric) for the same destination
through the same vif in the main table satisfies the desired one: it is adopted, reported, never replaced or deleted.
Only routes carrying ROUTE_PROTOCOL are this module's to change or purge.

Forwarding: Linux forwards an IPv4 packet when the interface it came in on has `forwarding` set, so the
uplink and the vifs get it, and conf/default too, because netback creates a vif anew at every guest start
and vif-route does not set it; net.ipv4.ip_forward (which rewrites every interface's flag) stays as it is.
IPv6 forwards only with net.ipv6.conf.all.forwarding=1 (per-interface force_forwarding needs Linux 6.17),
which the kernel copies onto every interface: set only when an IPv6 address is routed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import remove_file, write_atomic
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, Address, route_label
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import SysctlRecord, plan_write
from ansible_collections.xenfleet.network.plugins.module_utils.route import boot_hook
from ansible_collections.xenfleet.network.plugins.module_utils.route.kernel import HostRoute, route_text

# Who xen_route is in the shared record of kernel settings (common/sysctls.py): one per network namespace, as its lock.
SYSCTL_USER = 'xen_route'
FILE_HEADER = ('# Written by xenfleet.network.xen_route: the routed topology\'s boot-time settings (uplink %s).\n'
               '# The vifs\' own settings are made at each guest start (vif-route) or by the module.\n')


def conf(family, ifname, setting):
    # The '/' form: interface names hold dots (vif1.0), which the '.' form would split.
    return 'net/ipv%d/conf/%s/%s' % (family, ifname, setting)


def persistent_sysctls(spec):
    """The settings that must survive a reboot, in the order they are applied: dom0-wide first, then the uplink."""
    families = spec.families()
    settings = []
    if 6 in families:
        settings.append((conf(6, 'all', 'forwarding'), '1'))
    if 4 in families:
        settings += [(conf(4, 'default', 'forwarding'), '1'), (conf(4, spec.uplink, 'forwarding'), '1'),
                     (conf(4, spec.uplink, 'proxy_arp'), '1')]
    if 6 in families:
        settings += [(conf(6, spec.uplink, 'forwarding'), '1'), (conf(6, spec.uplink, 'proxy_ndp'), '1')]
    return settings


def vif_sysctls(entry):
    families = set(address.version for address in entry.addresses)
    settings = []
    if 4 in families:
        settings += [(conf(4, entry.vif, 'forwarding'), '1'), (conf(4, entry.vif, 'proxy_arp'), '1')]
    if 6 in families:
        settings += [(conf(6, entry.vif, 'disable_ipv6'), '0'), (conf(6, entry.vif, 'forwarding'), '1')]
    return settings


def render_sysctl_file(spec):
    lines = [FILE_HEADER % spec.uplink] + ['%s = %s\n' % setting for setting in persistent_sysctls(spec)]
    return ''.join(lines).encode('utf-8')


class RoutePlanner:
    """Desired state from the spec, compared with a RouteView, as a Plan and a before/after pair."""

    def __init__(self, spec, net, sysctls, record=None):
        self.spec = spec
        self.net = net
        self.sysctls = sysctls
        self.record = record if record is not None else SysctlRecord.read()
        self.plan = Plan()
        self.adopted = []  # the routes someone else made that stand for desired ones, as text

    # ---- what to read -------------------------------------------------
    def present(self, view):
        return [entry for entry in self.spec.routes if entry.vif in view.vifs]

    def sysctl_keys(self, view):
        """The settings to read: those wanted now, and those claimed before, which may have to be put back."""
        keys = [key for key, dummy in self.claimed_sysctls()]
        for entry in self.present(view):
            keys += [key for key, dummy in vif_sysctls(entry)]
        return keys + [key for key in self.record.concerns(SYSCTL_USER) if key not in keys]

    def claimed_sysctls(self):
        """The dom0-wide and uplink settings, claimed in the record shared with xen_nat. Without purge, what was
        claimed before stays claimed, as the routes it serves stay. (A vif's own settings are xen_route's alone and go
        with the vif when its guest stops.)"""
        wanted = persistent_sysctls(self.spec)
        if not self.spec.purge:
            keys = set(key for key, dummy in wanted)
            wanted += [(key, self.record.entries[key]['users'][SYSCTL_USER]) for key in self.record.users(SYSCTL_USER)
                       if key not in keys]
        return wanted

    def proxy_candidates(self, view):
        listed = [str(address) for entry in self.present(view) for address in entry.addresses if address.version == 6]
        routed = [route.dst.split('/')[0] for route in view.own_routes if route.family == AF_INET6]
        return sorted(set(listed + routed))

    # ---- what is wrong with this host ---------------------------------
    def host_problems(self, view):
        spec = self.spec
        if view.uplink is None:
            return ["uplink '%s' does not exist" % spec.uplink]
        problems = []
        for position, entry in enumerate(spec.routes):
            for index, address in enumerate(entry.addresses):
                where = "routes[%d].addresses[%d] '%s'" % (position, index, address)
                if str(address) in view.uplink_addresses:
                    problems.append("%s is dom0's own address on uplink '%s'" % (where, spec.uplink))
                elif address.version == 4 and view.main_ip is None:
                    problems.append("%s needs an IPv4 address on uplink '%s' (vif-route routes from it), which has none"
                                    % (where, spec.uplink))
        return problems

    # ---- the plan -------------------------------------------------------
    def desired_routes(self, view):
        routes = []
        for entry in self.present(view):
            for address in entry.addresses:
                if address.version == 4:
                    routes.append(HostRoute(AF_INET, '%s/32' % address, entry.vif, view.main_ip))
                else:
                    routes.append(HostRoute(AF_INET6, '%s/128' % address, entry.vif, view.main_ip6))
        return routes

    def build(self, view):
        """Fill self.plan; returns (before, after) for the diff and the result."""
        spec = self.spec
        before_sysctls = dict(view.sysctls)
        after_sysctls = dict(view.sysctls)
        # Claimed in the shared record: a setting xen_nat needs too is put back only when both let go.
        claims = self.record.plan(self.plan, SYSCTL_USER, dict(self.claimed_sysctls()), view.sysctls.get, self.sysctls.write)
        for key, value in [setting for entry in self.present(view) for setting in vif_sysctls(entry)]:
            current = after_sysctls.get(key)
            if current is not None and current != value:
                plan_write(self.plan, self.sysctls.write, key, current, value)
                after_sysctls[key] = value
        before_addresses = dict((vif, list(found)) for vif, found in view.vif_addresses.items())
        after_addresses = dict((vif, list(found)) for vif, found in view.vif_addresses.items())
        for entry in self.present(view):
            if not view.vifs[entry.vif].up:
                self.plan.add('bring %s up' % entry.vif, functools.partial(self.net.set_link, entry.vif, state='up'),
                              functools.partial(self.net.set_link, entry.vif, state='down'))
            main = '%s/32' % view.main_ip
            if any(address.version == 4 for address in entry.addresses) and main not in after_addresses[entry.vif]:
                address = Address(AF_INET, view.main_ip, 32, True)
                self.plan.add('add address %s to %s' % (main, entry.vif),
                              functools.partial(self.net.add_address, entry.vif, address, False),
                              functools.partial(self.take_address_back, entry.vif, address, view.vif_routes[entry.vif]))
                after_addresses[entry.vif].append(main)
        after_routes, after_proxies = self._plan_routes(view)
        # Put back after the routes went: they need forwarding until they are gone.
        after_sysctls.update(claims.finish(self.plan))
        before = dict(routes=sorted(route_text(route) for route in view.own_routes),
                      proxy_neighbours=sorted('%s dev %s' % (address, spec.uplink) for address in view.proxies),
                      vif_addresses=before_addresses, sysctls=before_sysctls)
        after = dict(routes=sorted(route_text(route) for route in after_routes),
                     proxy_neighbours=sorted('%s dev %s' % (address, spec.uplink) for address in after_proxies),
                     vif_addresses=after_addresses, sysctls=after_sysctls)
        if spec.persist:
            before['sysctl_file'] = (view.sysctl_file or b'').decode('utf-8', 'replace')
            wanted = render_sysctl_file(spec)
            after['sysctl_file'] = wanted.decode('utf-8')
            if view.sysctl_file != wanted:
                self.plan.add('write %s' % spec.sysctl_path, functools.partial(write_atomic, spec.sysctl_path, wanted, 0o644),
                              functools.partial(restore_file, spec.sysctl_path, view.sysctl_file))
            self._plan_ipv6_hook(view, before, after)
        return before, after

    def _plan_ipv6_hook(self, view, before, after):
        """The vif-post.d hook and its data, so a routed vif gets its IPv6 routes at every guest start (boot included);
        both go when no IPv6 address is routed."""
        spec = self.spec
        wanted = {}
        if boot_hook.routes_ipv6(spec):
            wanted = {spec.ipv6_data_path: boot_hook.data_text(spec, view.main_ip6, spec.hook_path).encode('utf-8'),
                      spec.hook_path: boot_hook.hook_text(spec.ipv6_data_path).encode('utf-8')}
        for path, old in ((spec.ipv6_data_path, view.ipv6_data_file), (spec.hook_path, view.hook_file)):
            new = wanted.get(path)
            before[path] = (old or b'').decode('utf-8', 'replace')
            after[path] = (new or b'').decode('utf-8')
            # Xen's call_hooks sources only an executable hook ([ -x "$f" ]): a hook that lost its x bit is rewritten.
            is_hook = path == spec.hook_path
            if old == new and not (is_hook and new is not None and not view.hook_executable):
                continue
            if new is None:
                self.plan.add('remove %s' % path, functools.partial(remove_file, path), functools.partial(restore_file, path, old))
            else:
                self.plan.add('write %s' % path, functools.partial(write_atomic, path, new, 0o755 if is_hook else 0o644),
                              functools.partial(restore_file, path, old))

    def take_address_back(self, vif, address, routes):
        """Delete the address, then put back the routes through vif: the kernel flushes every IPv4 route through a
        device when its last IPv4 address goes, routes it did not make included."""
        self.net.delete_address(vif, address)
        for route in routes:
            self.net.replace_route(vif, route)

    def _plan_routes(self, view):
        spec = self.spec
        existing = dict((route.dst, route) for route in view.own_routes)
        wanted = self.desired_routes(view)
        after = dict(existing)
        proxies = set(view.proxies)
        kept = set()
        for route in wanted:
            old = existing.get(route.dst)
            if old == route:
                kept.add(route.dst)
                continue
            other = view.others.get((route.family, route.dst, route.dev))
            if other is not None:
                # vif-route's own route (proto boot, a metric of its choosing): it already carries the traffic, and a
                # second one of ours beside it would be a change at every run after each guest start.
                self.adopted.append('%s proto %d' % (route_label(other, route.dev), other.proto))
                continue
            kept.add(route.dst)
            undo = (functools.partial(self.net.put_route, old) if old is not None
                    else functools.partial(self.net.delete_route, route))
            self.plan.add('route %s' % route_text(route), functools.partial(self.net.put_route, route), undo)
            after[route.dst] = route
        for route in wanted:
            address = route.dst.split('/')[0]
            if route.family == AF_INET6 and address not in proxies:
                self._proxy('add', address)
                proxies.add(address)
        if spec.purge:
            listed = set(route.dst for route in wanted)
            for route in view.own_routes:
                if route.dst in kept:
                    continue
                address = route.dst.split('/')[0]
                if address in proxies and route.dst not in listed:
                    self._proxy('delete', address)
                    proxies.discard(address)
                self.plan.add('delete route %s' % route_text(route), functools.partial(self.net.delete_route, route),
                              functools.partial(self.net.put_route, route))
                del after[route.dst]
        return list(after.values()), proxies

    def _proxy(self, action, address):
        add = functools.partial(self.net.add_proxy, address, self.spec.uplink)
        delete = functools.partial(self.net.delete_proxy, address, self.spec.uplink)
        if action == 'add':
            self.plan.add('add proxy NDP entry %s on %s' % (address, self.spec.uplink), add, delete)
        else:
            self.plan.add('delete proxy NDP entry %s on %s' % (address, self.spec.uplink), delete, add)


def restore_file(path, data):
    """Put a file back as it was: its old bytes, or no file."""
    if data is None:
        remove_file(path)
    else:
        write_atomic(path, data)
