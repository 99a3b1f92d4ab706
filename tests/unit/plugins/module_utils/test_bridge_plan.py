# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The planner against recorded host views; the kernel itself is exercised by the integration targets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.ifupdown import render_bridge_stanza
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.plan import BridgePlanner
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.spec import BridgeSpec, InvalidSpec
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.view import HostView
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import AF_INET, AF_INET6, Address, Link, Nexthop, Route
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import PlanFailed

NIC_MAC = '02:00:00:00:00:10'
BRIDGE_OPTIONS = {'stp': 0, 'forward_delay': 0, 'nf_call_iptables': 0, 'nf_call_ip6tables': 0, 'nf_call_arptables': 0}
PRIMARY = Address(AF_INET, '192.0.2.10', 24, True)
SECONDARY = Address(AF_INET, '192.0.2.11', 24, True)
GLOBAL6 = Address(AF_INET6, '2001:db8:1::10', 64, True)
DEFAULT4 = Route(AF_INET, '0.0.0.0/0', '192.0.2.1', 0, 254, 4, 0, None)
DEFAULT6 = Route(AF_INET6, '::/0', '2001:db8:1::1', 1024, 254, 3, 0, None)


class RecordingNet:
    """Records calls in order; fails on the call named in fail_on."""

    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on

    def __getattr__(self, method):
        def record(*args, **kwargs):
            if method == self.fail_on:
                raise RuntimeError('refused by test')
            self.calls.append((method,) + args + tuple(sorted(kwargs.items())))
        return record


def nic(master=None, up=True):
    return Link(2, 'eth0', 'veth', NIC_MAC, 1500, up, master, None)


def bridge(index=3, options=None):
    return Link(index, 'xenbr0', 'bridge', NIC_MAC, 1500, True, None, dict(options or BRIDGE_OPTIONS))


def fresh_view():
    return HostView(uplink=nic(), uplink_addresses=[PRIMARY, SECONDARY, GLOBAL6], uplink_routes=[DEFAULT4, DEFAULT6])


def migrated_view():
    return HostView(bridge=bridge(), bridge_ports=['eth0'], bridge_addresses=[PRIMARY, SECONDARY, GLOBAL6],
                    bridge_routes=[DEFAULT4, DEFAULT6], uplink=nic(master=3))


def planner(view, net=None, checker=None, machine_id='0123456789abcdef', **params):
    params.setdefault('name', 'xenbr0')
    params.setdefault('uplink', 'eth0')
    params.setdefault('nf_call_iptables', False)
    return BridgePlanner(BridgeSpec(params), view, net or RecordingNet(), checker or (lambda targets, timeout: None),
                         machine_id=machine_id)


def test_migration_never_leaves_dom0_without_address_or_default_route():
    plan = planner(fresh_view())
    plan.plan_present()
    names = plan.plan.names()
    first_nic_delete = min(i for i, name in enumerate(names) if name.startswith('delete address') and 'eth0' in name)
    assert names.index('add address 192.0.2.10/24 to xenbr0') < names.index('enslave eth0 to xenbr0') < first_nic_delete
    assert names.index('move route 0.0.0.0/0 via 192.0.2.1 dev eth0 to xenbr0') < first_nic_delete
    assert names[-1] == 'check that 192.0.2.1, 2001:db8:1::1 still answer(s) through xenbr0'


def test_secondary_address_is_deleted_before_its_primary():
    plan = planner(fresh_view())
    plan.plan_present()
    names = plan.plan.names()
    assert names.index('delete address 192.0.2.11/24 from eth0') < names.index('delete address 192.0.2.10/24 from eth0')


def test_bridge_takes_the_nic_mac():
    net = RecordingNet()
    plan = planner(fresh_view(), net)
    plan.plan_present()
    plan.plan.apply()
    assert ('create_bridge', 'xenbr0', ('mac', NIC_MAC), ('mtu', None), ('options', BRIDGE_OPTIONS)) == net.calls[0]


def test_converged_host_gives_an_empty_plan():
    plan = planner(migrated_view())
    after = plan.plan_present()
    assert plan.plan.names() == []
    assert after['addresses'] == ['192.0.2.10/24', '192.0.2.11/24', '2001:db8:1::10/64']
    assert after['ports'] == ['eth0']


def test_changed_options_are_one_step():
    plan = planner(migrated_view(), stp=True, forward_delay=2)
    plan.plan_present()
    assert plan.plan.names() == ['set forward_delay=200, stp=1 on xenbr0']


def test_failed_check_undoes_every_step_newest_first():
    net = RecordingNet()

    def unreachable(targets, timeout):
        raise RuntimeError('no answer')

    plan = planner(fresh_view(), net, unreachable)
    plan.plan_present()
    with pytest.raises(PlanFailed) as raised:
        plan.plan.apply()
    assert raised.value.step.startswith('check that')
    undo_calls = net.calls[len(raised.value.done) - 1:]
    assert undo_calls[-1] == ('delete_link', 'xenbr0')
    readded = [call for call in undo_calls if call[0] == 'add_address' and call[1] == 'eth0']
    assert [call[2] for call in readded] == [PRIMARY, SECONDARY, GLOBAL6]


def test_guest_only_bridge_gets_exactly_its_declared_addresses():
    view = HostView(bridge=bridge(), bridge_addresses=[Address(AF_INET, '10.9.9.9', 24, True)])
    plan = planner(view, uplink=None, addresses=['10.0.0.1/24'])
    plan.plan_present()
    assert plan.plan.names() == ['add address 10.0.0.1/24 to xenbr0', 'delete address 10.9.9.9/24 from xenbr0']


def test_unknown_uplink_is_refused_before_any_step():
    with pytest.raises(InvalidSpec) as raised:
        planner(HostView(), uplink='eth9')
    assert raised.value.problems == ["uplink 'eth9' does not exist on this host"]


def test_existing_non_bridge_name_is_refused():
    veth = Link(5, 'xenbr0', 'veth', '02:00:00:00:00:99', 1500, True, None, None)
    with pytest.raises(InvalidSpec) as raised:
        planner(HostView(bridge=veth, uplink=nic()))
    assert raised.value.problems == ["name 'xenbr0' is an existing veth interface, not a bridge"]


def test_absent_gives_the_uplink_everything_back_then_checks_then_deletes():
    plan = planner(migrated_view(), state='absent')
    plan.plan_absent()
    names = plan.plan.names()
    assert names[:3] == ['add address 192.0.2.10/24 to eth0', 'add address 192.0.2.11/24 to eth0',
                         'add address 2001:db8:1::10/64 to eth0']
    assert names[-2:] == ['check that 192.0.2.1, 2001:db8:1::1 still answer(s) through xenbr0', 'delete bridge xenbr0']
    assert plan.after_uplink['addresses'] == ['192.0.2.10/24', '192.0.2.11/24', '2001:db8:1::10/64']


def test_absent_bridge_that_does_not_exist_is_no_change():
    plan = planner(HostView(uplink=nic()), state='absent')
    plan.plan_absent()
    assert plan.plan.names() == []


def test_new_guest_only_bridge_gets_a_stable_locally_administered_mac():
    first = planner(HostView(), uplink=None, addresses=['10.0.0.1/24'], machine_id='abc')
    first.plan_present()
    again = planner(HostView(), uplink=None, addresses=['10.0.0.1/24'], machine_id='abc')
    again.plan_present()
    mac = first.after_bridge['mac']
    assert mac == again.after_bridge['mac'] and mac.startswith('02:')


def test_bridge_carrying_the_xen_vif_mac_is_given_its_own():
    flapping = Link(3, 'xenbr1', 'bridge', 'fe:ff:ff:ff:ff:ff', 1500, True, None, dict(BRIDGE_OPTIONS))
    plan = planner(HostView(bridge=flapping), name='xenbr1', uplink=None)
    plan.plan_present()
    assert plan.plan.names() == ['set MAC of xenbr1 to %s' % plan.after_bridge['mac']]


def test_absent_without_uplink_refuses_to_delete_the_bridge_carrying_dom0s_routes():
    with pytest.raises(InvalidSpec) as raised:
        planner(migrated_view(), uplink=None, state='absent')
    assert raised.value.problems[0].startswith("bridge 'xenbr0' carries routes (0.0.0.0/0 via 192.0.2.1 dev xenbr0")


# A SLAAC address as the kernel lists it on a NIC that hears router advertisements (QEMU's user network sends them).
SLAAC6 = Address(AF_INET6, 'fec0::5054:ff:fe12:3456', 64, False)


def slaac_fresh_view():
    return HostView(uplink=nic(), uplink_addresses=[PRIMARY, SLAAC6], uplink_routes=[DEFAULT4])


def test_slaac_address_is_left_to_the_kernel_not_moved():
    # moved by hand it would read back permanent, and the next run would persist it as static (the real-Xen lane)
    plan = planner(slaac_fresh_view())
    after = plan.plan_present()
    names = plan.plan.names()
    assert 'add address fec0::5054:ff:fe12:3456/64 to xenbr0' not in names
    assert 'delete address fec0::5054:ff:fe12:3456/64 from eth0' in names
    assert after['addresses'] == ['192.0.2.10/24']


def test_stanza_is_the_same_before_and_after_the_bridge_learns_its_slaac_address():
    first = planner(slaac_fresh_view())
    first.plan_present()
    learned = HostView(bridge=bridge(), bridge_ports=['eth0'], bridge_addresses=[PRIMARY, SLAAC6],
                       bridge_routes=[DEFAULT4], uplink=nic(master=3))
    second = planner(learned)
    second.plan_present()
    assert second.plan.names() == []
    stanzas = [render_bridge_stanza('xenbr0', BRIDGE_OPTIONS, NIC_MAC, None, ['eth0'], run.after['addresses'],
                                    run.after['routes']) for run in (first, second)]
    assert stanzas[0] == stanzas[1]
    assert 'inet6' not in stanzas[0] and 'fec0::' not in stanzas[0]


def test_removed_bridge_gives_the_uplink_its_static_addresses_not_the_slaac_one():
    learned = HostView(bridge=bridge(), bridge_ports=['eth0'], bridge_addresses=[PRIMARY, SLAAC6, GLOBAL6],
                       bridge_routes=[DEFAULT4], uplink=nic(master=3))
    plan = planner(learned, state='absent')
    plan.plan_absent()
    names = plan.plan.names()
    assert 'add address 2001:db8:1::10/64 to eth0' in names
    assert 'add address fec0::5054:ff:fe12:3456/64 to eth0' not in names


# ---- multipath and nexthop-object routes (issue 18 item 9) ---------------------------------------------
MULTIPATH4 = Route(AF_INET, '0.0.0.0/0', None, 0, 254, 3, 0, None,
                   (Nexthop('192.0.2.1', None, 3), Nexthop('192.0.2.2', None, 1)))
MULTIPATH6 = Route(AF_INET6, '::/0', None, 1024, 254, 3, 0, None,
                   (Nexthop('2001:db8:1::1', None, 2), Nexthop('2001:db8:1::2', 'eth1', 1)))
NHID_ROUTE = Route(AF_INET, '203.0.113.0/24', '192.0.2.1', 0, 254, 3, 0, None, (), True)


def multipath_view():
    return HostView(uplink=nic(), uplink_addresses=[PRIMARY, GLOBAL6], uplink_routes=[MULTIPATH4, MULTIPATH6])


def test_multipath_routes_move_with_every_hop_and_weight_and_every_gateway_is_checked():
    built = planner(multipath_view())
    built.plan_present()
    assert 'move route 0.0.0.0/0 nexthop via 192.0.2.1 dev eth0 weight 3 nexthop via 192.0.2.2 dev eth0 weight 1 to xenbr0' \
        in built.plan.names()
    assert built.checked_targets == ['192.0.2.1', '192.0.2.2', '2001:db8:1::1', '2001:db8:1::2']
    net = RecordingNet()
    built = planner(multipath_view(), net=net, checker=lambda targets, timeout: None)
    built.plan_present()
    built.plan.apply()
    assert ('replace_route', 'xenbr0', MULTIPATH4) in net.calls
    assert ('replace_route', 'xenbr0', MULTIPATH6) in net.calls


def test_multipath_routes_are_persisted_as_ip_route_lines_with_hops_last():
    text = render_bridge_stanza('xenbr0', BRIDGE_OPTIONS, NIC_MAC, None, ['eth0'], [PRIMARY, GLOBAL6], [MULTIPATH4, MULTIPATH6])
    assert ('up ip route replace 0.0.0.0/0 nexthop via 192.0.2.1 dev xenbr0 weight 3 '
            'nexthop via 192.0.2.2 dev xenbr0 weight 1') in text
    assert ('up ip -6 route replace ::/0 metric 1024 nexthop via 2001:db8:1::1 dev xenbr0 weight 2 '
            'nexthop via 2001:db8:1::2 dev eth1 weight 1') in text
    assert 'gateway' not in text


def test_route_through_a_nexthop_object_is_refused_before_any_step():
    view = multipath_view()
    view.uplink_routes.append(NHID_ROUTE)
    with pytest.raises(InvalidSpec) as error:
        planner(view)
    assert "route '203.0.113.0/24 nhid via 192.0.2.1 dev eth0' goes through a nexthop object" in str(error.value)


def test_route_through_a_nexthop_object_on_an_unnamed_link_is_refused():
    view = multipath_view()
    view.unplaced_nexthop_routes = ['203.0.113.0/24 nhid']
    with pytest.raises(InvalidSpec) as error:
        planner(view)
    assert "'203.0.113.0/24 nhid'" in str(error.value) and 'nexthop_compat_mode=0' in str(error.value)


def test_absent_after_a_kill_between_release_and_route_moves_still_moves_the_routes_back():
    # xen_crash found it: eth0 already released with dom0's addresses back, the routes still on the bridge, which
    # deleting the bridge took along (dom0 without a default route, and changed=false from then on).
    view = migrated_view()
    view.uplink = nic(master=None)
    view.uplink_addresses = [PRIMARY, SECONDARY, GLOBAL6]
    built = planner(view, state='absent')
    built.plan_absent()
    assert built.plan.names() == [
        'move route 0.0.0.0/0 via 192.0.2.1 dev xenbr0 to eth0',
        'move route ::/0 via 2001:db8:1::1 dev xenbr0 metric 1024 to eth0',
        'delete address 2001:db8:1::10/64 from xenbr0', 'delete address 192.0.2.11/24 from xenbr0',
        'delete address 192.0.2.10/24 from xenbr0',
        'check that 192.0.2.1, 2001:db8:1::1 still answer(s) through xenbr0', 'delete bridge xenbr0']
