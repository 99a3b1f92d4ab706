# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_route's planner against recorded host views; the kernel itself is exercised by the xen_route target."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import (
    AF_INET, AF_INET6, Address, Link, Route)
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import PlanFailed
from ansible_collections.xenfleet.network.plugins.module_utils.common.sysctls import Sysctls
from ansible_collections.xenfleet.network.plugins.module_utils.route.kernel import ROUTE_PROTOCOL, HostRoute, NetlinkError
from ansible_collections.xenfleet.network.plugins.module_utils.route.plan import RoutePlanner, render_sysctl_file
from ansible_collections.xenfleet.network.plugins.module_utils.route.spec import RouteSpec
from ansible_collections.xenfleet.network.plugins.module_utils.route.view import read_sysctl_file, read_view

ADMIN_ROUTE = Route(AF_INET, '203.0.113.0/24', None, 0, 254, 4, 253, None)


class FakeKernel:
    """Links, addresses, routes (ours and others'), proxy entries and sysctls in memory; fails on a named call."""

    def __init__(self, vifs=('vif1.0', 'vif2.0'), fail_on=None):
        self.links = {'eth0': Link(2, 'eth0', 'veth', '02:00:00:00:00:10', 1500, True, None, None)}
        for index, vif in enumerate(vifs):
            self.links[vif] = Link(10 + index, vif, 'veth', 'fe:ff:ff:ff:ff:ff', 1500, True, None, None)
        self.addrs = {'eth0': [Address(AF_INET, '192.0.2.10', 24, True), Address(AF_INET6, '2001:db8:1::10', 64, True)]}
        self.other_routes = {'vif1.0': [ADMIN_ROUTE]}
        self.own = {}
        self.proxy = set()
        self.values = {}
        self.calls = []
        self.fail_on = fail_on
        for name in ['eth0', 'default', 'all'] + list(vifs):
            for family in (4, 6):
                for setting in ('forwarding', 'proxy_arp', 'proxy_ndp', 'disable_ipv6'):
                    self.values['net/ipv%d/conf/%s/%s' % (family, name, setting)] = '0'
            self.values['net/ipv6/conf/%s/disable_ipv6' % name] = '1' if name.startswith('vif') else '0'

    def _call(self, name, *args):
        self.calls.append((name,) + args)
        if self.fail_on == name:
            raise RuntimeError('%s refused' % name)

    # Netlink
    def link(self, name):
        return self.links.get(name)

    def addresses(self, index):
        name = [link.name for link in self.links.values() if link.index == index][0]
        return list(self.addrs.get(name, []))

    def routes(self, index):
        name = [link.name for link in self.links.values() if link.index == index][0]
        return list(self.other_routes.get(name, []))

    def own_routes(self):
        return list(self.own.values())

    def has_proxy(self, address, dev):
        return (address, dev) in self.proxy

    def put_route(self, route):
        self._call('put_route', route)
        self.own[route.dst] = route

    def delete_route(self, route):
        self._call('delete_route', route)
        del self.own[route.dst]

    def add_proxy(self, address, dev):
        self._call('add_proxy', address)
        self.proxy.add((address, dev))

    def delete_proxy(self, address, dev):
        self._call('delete_proxy', address)
        self.proxy.discard((address, dev))

    def add_address(self, name, address, moving=True):
        self._call('add_address', name)
        self.addrs.setdefault(name, []).append(address)

    def delete_address(self, name, address):
        self._call('delete_address', name)
        self.addrs[name].remove(address)
        if not [kept for kept in self.addrs[name] if kept.family == AF_INET]:
            self.other_routes[name] = []  # the kernel flushes a device's IPv4 routes with its last IPv4 address

    def replace_route(self, name, route):
        self._call('replace_route', name)
        self.other_routes.setdefault(name, []).append(route)

    def set_link(self, name, **attributes):
        self._call('set_link', name)

    # Sysctls
    def read(self, key):
        return self.values.get(key)

    def write(self, key, value):
        self._call('write', key)
        self.values[key] = value

    def state(self):
        return (sorted(self.own), sorted(self.proxy), dict(self.values),
                dict((name, list(found)) for name, found in self.addrs.items() if found),
                dict((name, list(found)) for name, found in self.other_routes.items() if found))


ROUTES = [{'vif': 'vif1.0', 'addresses': ['192.0.2.50', '2001:db8:1::50']},
          {'vif': 'vif2.0', 'addresses': ['192.0.2.51']},
          {'vif': 'vif9.0', 'addresses': ['192.0.2.59']}]


def spec(tmp_path, routes=None, **overrides):
    values = dict(uplink='eth0', routes=ROUTES if routes is None else routes, purge=True, persist=True,
                  sysctl_path=str(tmp_path / 'sysctl.d' / '60-xenfleet-route.conf'),
                  hook_path=str(tmp_path / 'vif-post.d' / 'xenfleet-route.hook'), ipv6_data_path=str(tmp_path / 'route' / 'ipv6-vifs'))
    values.update(overrides)
    return RouteSpec(values)


def plan(kernel, route_spec):
    planner = RoutePlanner(route_spec, kernel, kernel)
    view = read_view(route_spec, kernel, kernel, planner.sysctl_keys, planner.proxy_candidates)
    assert planner.host_problems(view) == []
    before, after = planner.build(view)
    return planner, before, after


def test_a_first_run_does_what_vif_route_does_for_each_running_vif(tmp_path):
    kernel = FakeKernel()
    planner, before, after = plan(kernel, spec(tmp_path))
    names = planner.plan.names()
    assert 'set net.ipv4.conf.eth0.proxy_arp to 1' in names
    assert 'set net.ipv4.conf.default.forwarding to 1' in names
    assert 'set net.ipv6.conf.all.forwarding to 1' in names
    assert 'set net.ipv6.conf.vif1.0.disable_ipv6 to 0' in names
    assert 'set net.ipv6.conf.vif2.0.disable_ipv6 to 0' not in names  # vif2.0 routes no IPv6 address
    assert 'add address 192.0.2.10/32 to vif1.0' in names
    assert 'route 192.0.2.50/32 dev vif1.0 src 192.0.2.10 proto 212' in names
    assert 'route 2001:db8:1::50/128 dev vif1.0 src 2001:db8:1::10 proto 212' in names
    assert 'add proxy NDP entry 2001:db8:1::50 on eth0' in names
    assert not [name for name in names if 'vif9.0' in name]
    assert names[-3:] == ['write %s' % (tmp_path / 'sysctl.d' / '60-xenfleet-route.conf'),
                          'write %s' % (tmp_path / 'route' / 'ipv6-vifs'), 'write %s' % (tmp_path / 'vif-post.d' / 'xenfleet-route.hook')]
    assert before['routes'] == [] and len(after['routes']) == 3
    planner.plan.apply()
    assert (tmp_path / 'sysctl.d' / '60-xenfleet-route.conf').read_bytes() == render_sysctl_file(spec(tmp_path))


def test_a_second_run_plans_nothing(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    planner, before, after = plan(kernel, spec(tmp_path))
    assert planner.plan.names() == []
    assert before == after


def test_purge_deletes_only_routes_of_its_own_protocol_and_their_proxy_entries(tmp_path, sysctl_record_in_tmp):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    planner = plan(kernel, spec(tmp_path, routes=[{'vif': 'vif2.0', 'addresses': ['192.0.2.51']}]))[0]
    assert planner.plan.names() == [
        'write %s' % sysctl_record_in_tmp,  # ahead of the kernel: what is to be put back, with its original
        'delete route 192.0.2.50/32 dev vif1.0 src 192.0.2.10 proto 212',
        'delete proxy NDP entry 2001:db8:1::50 on eth0',
        'delete route 2001:db8:1::50/128 dev vif1.0 src 2001:db8:1::10 proto 212',
        # What only the IPv6 routes needed is put back once they are gone (issue 18 item 10); vif1.0 keeps its own.
        'set net.ipv6.conf.all.forwarding to 0',
        'set net.ipv6.conf.eth0.forwarding to 0',
        'set net.ipv6.conf.eth0.proxy_ndp to 0',
        'write %s' % sysctl_record_in_tmp,
        'write %s' % (tmp_path / 'sysctl.d' / '60-xenfleet-route.conf'),  # IPv6 settings leave the file
        'remove %s' % (tmp_path / 'route' / 'ipv6-vifs'),  # and the hook goes with the last IPv6 address
        'remove %s' % (tmp_path / 'vif-post.d' / 'xenfleet-route.hook'),
    ]
    planner.plan.apply()
    assert kernel.other_routes['vif1.0'] == [ADMIN_ROUTE]


def test_without_purge_routes_no_longer_listed_stay(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    planner = plan(kernel, spec(tmp_path, routes=ROUTES[:1], purge=False))[0]
    assert planner.plan.names() == []


def test_an_address_moved_to_another_vif_is_rerouted_not_deleted(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    moved = [{'vif': 'vif1.0', 'addresses': ['2001:db8:1::50']}, {'vif': 'vif2.0', 'addresses': ['192.0.2.51', '192.0.2.50']}]
    names = plan(kernel, spec(tmp_path, routes=moved))[0].plan.names()
    assert 'route 192.0.2.50/32 dev vif2.0 src 192.0.2.10 proto 212' in names
    assert not [name for name in names if name.startswith('delete route 192.0.2.50')]


def test_a_failed_step_puts_everything_back_including_routes_the_kernel_flushed(tmp_path):
    kernel = FakeKernel(fail_on='add_proxy')
    original = kernel.state()
    planner = plan(kernel, spec(tmp_path))[0]
    with pytest.raises(PlanFailed) as caught:
        planner.plan.apply()
    assert caught.value.step == 'add proxy NDP entry 2001:db8:1::50 on eth0'
    assert caught.value.rollback_errors == []
    assert kernel.state() == original


def test_host_problems_name_option_and_value(tmp_path):
    kernel = FakeKernel()
    kernel.addrs['eth0'] = [Address(AF_INET6, '2001:db8:1::10', 64, True)]
    route_spec = spec(tmp_path, routes=[{'vif': 'vif1.0', 'addresses': ['192.0.2.50', '2001:db8:1::10']}])
    planner = RoutePlanner(route_spec, kernel, kernel)
    view = read_view(route_spec, kernel, kernel, planner.sysctl_keys, planner.proxy_candidates)
    assert planner.host_problems(view) == [
        "routes[0].addresses[0] '192.0.2.50' needs an IPv4 address on uplink 'eth0' (vif-route routes from it), which has none",
        "routes[0].addresses[1] '2001:db8:1::10' is dom0's own address on uplink 'eth0'"]
    del kernel.links['eth0']
    view = read_view(route_spec, kernel, kernel, planner.sysctl_keys, planner.proxy_candidates)
    assert planner.host_problems(view) == ["uplink 'eth0' does not exist"]


def test_the_sysctl_file_holds_only_settings_that_outlive_a_vif(tmp_path):
    text = render_sysctl_file(spec(tmp_path)).decode()
    assert not [line for line in text.splitlines() if 'vif' in line and not line.startswith('#')]
    assert 'net/ipv4/conf/eth0/proxy_arp = 1\n' in text
    assert 'net/ipv6/conf/eth0/proxy_ndp = 1\n' in text
    assert 'ip_forward' not in text


def test_sysctls_read_and_write_under_a_root_and_name_the_key_on_failure(tmp_path):
    (tmp_path / 'net' / 'ipv4' / 'conf' / 'vif1.0').mkdir(parents=True)
    (tmp_path / 'net' / 'ipv4' / 'conf' / 'vif1.0' / 'proxy_arp').write_text('0\n')
    sysctls = Sysctls(str(tmp_path))
    assert sysctls.read('net/ipv4/conf/vif1.0/proxy_arp') == '0'
    sysctls.write('net/ipv4/conf/vif1.0/proxy_arp', '1')
    assert sysctls.read('net/ipv4/conf/vif1.0/proxy_arp') == '1'
    assert sysctls.read('net/ipv4/conf/vif9.0/proxy_arp') is None
    with pytest.raises(Exception) as caught:
        sysctls.write('net/ipv4/conf/vif9.0/proxy_arp', '1')
    assert 'net.ipv4.conf.vif9.0.proxy_arp' in str(caught.value)


def test_own_route_marker_is_not_a_kernel_or_boot_protocol():
    assert ROUTE_PROTOCOL not in (0, 1, 2, 3, 4, 9, 16, 186, 187, 188, 189, 192)
    assert HostRoute(AF_INET, '192.0.2.50/32', 'vif1.0', '192.0.2.10').prefsrc == '192.0.2.10'


def test_a_sysctl_path_under_a_file_reads_as_absent_and_a_directory_is_named(tmp_path):
    (tmp_path / 'blocker').write_text('a file\n')
    assert read_sysctl_file(str(tmp_path / 'blocker' / '60.conf')) is None
    (tmp_path / 'dir.conf').mkdir()
    with pytest.raises(NetlinkError) as caught:
        read_sysctl_file(str(tmp_path / 'dir.conf'))
    assert 'sysctl_path %s cannot be read' % (tmp_path / 'dir.conf') in str(caught.value)


VIF_ROUTE_S_ROUTE = Route(AF_INET, '192.0.2.50/32', None, 1, 254, 3, 253, '192.0.2.10')  # ip route add ... metric 1


def test_a_route_vif_route_made_is_adopted_not_doubled(tmp_path):
    kernel = FakeKernel()
    kernel.other_routes['vif1.0'] = [ADMIN_ROUTE, VIF_ROUTE_S_ROUTE,
                                     Route(AF_INET6, '2001:db8:1::50/128', None, 1024, 254, 3, 0, None)]
    planner, before, after = plan(kernel, spec(tmp_path))
    names = planner.plan.names()
    assert not [name for name in names if name.startswith('route ') and 'vif1.0' in name]
    assert 'route 192.0.2.51/32 dev vif2.0 src 192.0.2.10 proto 212' in names
    assert 'add proxy NDP entry 2001:db8:1::50 on eth0' in names  # the proxy entry is not the route
    assert planner.adopted == ['192.0.2.50/32 dev vif1.0 metric 1 proto 3',
                               '2001:db8:1::50/128 dev vif1.0 metric 1024 proto 3']
    assert after['routes'] == ['192.0.2.51/32 dev vif2.0 src 192.0.2.10 proto 212']
    planner.plan.apply()
    again = plan(kernel, spec(tmp_path))[0]
    assert again.plan.names() == [] and len(again.adopted) == 2


def test_a_route_in_another_table_or_through_another_vif_is_not_adopted(tmp_path):
    kernel = FakeKernel()
    kernel.other_routes['vif1.0'] = [VIF_ROUTE_S_ROUTE._replace(table=100)]
    kernel.other_routes['vif2.0'] = [VIF_ROUTE_S_ROUTE]
    planner = plan(kernel, spec(tmp_path))[0]
    assert 'route 192.0.2.50/32 dev vif1.0 src 192.0.2.10 proto 212' in planner.plan.names()
    assert planner.adopted == []


def test_purge_deletes_its_own_stale_route_for_an_adopted_address_and_leaves_the_adopted_one(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    kernel.own['192.0.2.50/32'] = kernel.own['192.0.2.50/32']._replace(prefsrc='192.0.2.11')  # ours, no longer right
    kernel.other_routes['vif1.0'] = [ADMIN_ROUTE, VIF_ROUTE_S_ROUTE]
    planner = plan(kernel, spec(tmp_path))[0]
    assert planner.plan.names() == ['delete route 192.0.2.50/32 dev vif1.0 src 192.0.2.11 proto 212']
    planner.plan.apply()
    assert kernel.other_routes['vif1.0'] == [ADMIN_ROUTE, VIF_ROUTE_S_ROUTE]
    assert ('2001:db8:1::50', 'eth0') in kernel.proxy
    assert plan(kernel, spec(tmp_path, purge=False))[0].plan.names() == []


def test_the_boot_hook_data_lists_every_ipv6_address_of_every_listed_vif_running_or_not(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    lines = [line for line in (tmp_path / 'route' / 'ipv6-vifs').read_text().splitlines() if not line.startswith('#')]
    assert lines == ['route6 vif1.0 2001:db8:1::50 2001:db8:1::10 eth0']
    hook = (tmp_path / 'vif-post.d' / 'xenfleet-route.hook').read_text()
    assert os.access(str(tmp_path / 'vif-post.d' / 'xenfleet-route.hook'), os.X_OK), "Xen's call_hooks sources only [ -x ] hooks"
    assert "local data=%s " % (tmp_path / 'route' / 'ipv6-vifs') in hook and 'proto 212' in hook


def run_hook(tmp_path, dev, command, ip_fails=False):
    """Source the hook as Xen's vif scripts do (bash, set -e), with an `ip` that records its arguments."""
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    record = tmp_path / 'ip.log'
    (bin_dir / 'ip').write_text('#!/bin/sh\necho "$@" >>%s\n%s\n' % (record, 'exit 1' if ip_fails else 'exit 0'))
    (bin_dir / 'ip').chmod(0o755)
    script = 'set -e\ndev=%s\ncommand=%s\n. %s\necho reached-the-end\n' % (dev, command, tmp_path / 'vif-post.d' / 'xenfleet-route.hook')
    done = subprocess.run(['bash', '-c', script], env={'PATH': '%s:/usr/bin:/bin' % bin_dir}, capture_output=True, text=True, check=False)
    return done, record.read_text().splitlines() if record.exists() else []


def test_the_hook_gives_a_starting_vif_its_ipv6_route_and_proxy_entry(tmp_path):
    done, calls = run_hook(tmp_path, 'vif1.0', 'online')
    assert done.returncode == 0 and 'reached-the-end' in done.stdout
    assert calls == ['-6 route replace 2001:db8:1::50/128 dev vif1.0 proto 212 src 2001:db8:1::10',
                     '-6 neigh replace proxy 2001:db8:1::50 dev eth0']


def test_the_hook_takes_them_away_when_the_vif_goes_and_leaves_other_vifs_alone(tmp_path):
    done, calls = run_hook(tmp_path, 'vif1.0', 'offline')
    assert calls == ['-6 route del 2001:db8:1::50/128 dev vif1.0 proto 212 src 2001:db8:1::10',
                     '-6 neigh del proxy 2001:db8:1::50 dev eth0']


def test_the_hook_does_nothing_for_a_vif_without_ipv6(tmp_path):
    done, calls = run_hook(tmp_path, 'vif2.0', 'online')
    assert done.returncode == 0 and calls == []


def test_a_failing_command_never_fails_the_guests_start(tmp_path):
    done, calls = run_hook(tmp_path, 'vif1.0', 'online', ip_fails=True)
    assert done.returncode == 0 and 'reached-the-end' in done.stdout and len(calls) == 2


def test_a_hook_that_lost_its_x_bit_is_written_again(tmp_path):
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    hook = tmp_path / 'vif-post.d' / 'xenfleet-route.hook'
    hook.chmod(0o644)
    planner = plan(kernel, spec(tmp_path))[0]
    assert planner.plan.names() == ['write %s' % hook]
    planner.plan.apply()
    assert os.access(str(hook), os.X_OK)


def test_a_run_killed_while_putting_settings_back_is_finished_by_the_next(tmp_path):
    # xen_crash found it (xen_route:B:@18): killed right before net.ipv6.conf.eth0.proxy_ndp=0, the next run left it at 1.
    kernel = FakeKernel()
    plan(kernel, spec(tmp_path))[0].plan.apply()
    fewer = spec(tmp_path, routes=[{'vif': 'vif2.0', 'addresses': ['192.0.2.51']}])
    planner = plan(kernel, fewer)[0]
    names = planner.plan.names()
    for step in planner.plan.steps[:names.index('set net.ipv6.conf.eth0.proxy_ndp to 0')]:
        step.action()  # the kill comes here
    assert kernel.values['net/ipv6/conf/eth0/proxy_ndp'] == '1'
    repair = plan(kernel, fewer)[0]
    assert 'set net.ipv6.conf.eth0.proxy_ndp to 0' in repair.plan.names()
    repair.plan.apply()
    assert kernel.values['net/ipv6/conf/eth0/proxy_ndp'] == '0'
    assert plan(kernel, fewer)[0].plan.names() == []
