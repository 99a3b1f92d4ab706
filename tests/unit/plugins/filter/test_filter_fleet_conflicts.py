# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.filter import fleet_conflicts as plugin
from ansible_collections.xenfleet.network.plugins.filter.fleet_conflicts import FilterModule

fleet_conflicts = FilterModule().filters()['fleet_conflicts']
inventory_guests = FilterModule().filters()['inventory_guests']


def hostvars(**dom0s):
    return {name: {'xen_guests': guests} for name, guests in dom0s.items()}


CLEAN = hostvars(
    d1=[{'name': 'web', 'vifs': ['mac=auto,bridge=xenbr0,ip=10.0.0.5,vifname=auto']},
        {'name': 'db', 'type': 'hvm', 'vifs': [{'mac': 'auto', 'ip': '10.0.0.6', 'vifname': 'auto'}]}],
    d2=[{'name': 'mail', 'vifs': ['mac=auto,ip=10.0.1.5,vifname=web-0']}],
)


def test_a_clean_fleet_has_no_conflicts():
    result = fleet_conflicts(CLEAN)
    assert result == {'mac': [], 'ip': [], 'vifname': [], 'messages': [], 'count': 0}


def test_the_same_vifname_on_two_dom0s_is_fine_but_not_on_one():
    result = fleet_conflicts(hostvars(
        d1=[{'name': 'a', 'vifs': ['vifname=web0']}, {'name': 'b', 'vifs': ['vifname=web0']}],
        d2=[{'name': 'c', 'vifs': ['vifname=web0']}],
    ))
    assert result['vifname'] == [{'kind': 'vifname', 'value': 'web0', 'dom0': 'd1', 'holders': [
        {'dom0': 'd1', 'guest': 'a', 'devid': 0}, {'dom0': 'd1', 'guest': 'b', 'devid': 0}]}]
    assert result['messages'] == ["vifname 'web0' is used 2 times on dom0 d1: guest 'a' vif 0 on d1, guest 'b' vif 0 on d1"]


def test_an_hvm_emu_tap_name_counts_as_a_vifname():
    result = fleet_conflicts(hostvars(d1=[{'name': 'h', 'type': 'hvm', 'vifs': ['vifname=x']}, {'name': 'p', 'vifs': ['vifname=x-emu']}]))
    assert [conflict['value'] for conflict in result['vifname']] == ['x-emu']


def test_macs_and_ips_collide_across_dom0s_by_default():
    result = fleet_conflicts(hostvars(
        d1=[{'name': 'a', 'vifs': ['mac=auto,ip=10.0.0.5/24']}],
        d2=[{'name': 'b', 'vifs': ['mac=02:00:0a:00:00:05,ip=10.0.0.5']}],
    ))
    assert [conflict['value'] for conflict in result['mac']] == ['02:00:0a:00:00:05']
    assert [conflict['value'] for conflict in result['ip']] == ['10.0.0.5']
    assert result['count'] == 2
    assert result['messages'][0] == "mac '02:00:0a:00:00:05' is used 2 times in the fleet: guest 'a' vif 0 on d1, guest 'b' vif 0 on d2"


def test_scopes_can_be_narrowed_to_each_dom0():
    result = fleet_conflicts(hostvars(
        d1=[{'name': 'a', 'vifs': ['mac=02:00:0a:00:00:05,ip=10.0.0.5']}],
        d2=[{'name': 'b', 'vifs': ['mac=02:00:0a:00:00:05,ip=10.0.0.5']}],
    ), mac_scope='dom0', ip_scope='dom0')
    assert result['count'] == 0


def test_auto_macs_from_the_same_name_collide_when_guests_share_a_name():
    result = fleet_conflicts(hostvars(d1=[{'name': 'web', 'vifs': ['mac=auto']}], d2=[{'name': 'web', 'vifs': ['mac=auto']}]))
    assert len(result['mac']) == 1


def test_a_vif_listing_an_address_twice_is_no_conflict():
    assert fleet_conflicts(hostvars(d1=[{'name': 'a', 'vifs': ['ip=10.0.0.5 10.0.0.5/32']}]))['count'] == 0


def test_hosts_limits_the_check_and_hosts_without_guests_are_skipped():
    data = hostvars(d1=[{'name': 'a', 'vifs': ['vifname=x']}, {'name': 'b', 'vifs': ['vifname=x']}])
    data['controller'] = {'ansible_host': 'localhost'}
    assert fleet_conflicts(data, hosts=['controller'])['count'] == 0
    assert fleet_conflicts(data)['count'] == 1


def test_guests_query_finds_guests_elsewhere_in_host_vars():
    data = {'d1': {'xen': {'dom0': {'guests': [{'name': 'a', 'vifs': ['vifname=x']}, {'name': 'b', 'vifs': ['vifname=x']}]}}}}
    assert fleet_conflicts(data, guests_query='xen.dom0.guests')['count'] == 1


@pytest.mark.parametrize('data, kwargs, message', [
    (hostvars(d1=[{'vifs': []}]), {}, "host 'd1': a guest needs a name"),
    (hostvars(d1=[{'name': 'a', 'vifs': [{'colour': 'red'}]}]), {}, "host 'd1': guest 'a' vif 0: 'colour' is not a vif key"),
    (hostvars(d1=[{'name': 'a', 'vifs': 'bridge=x'}]), {}, "guest 'a': vifs must be a list"),
    ({'d1': {'xenfleet_guests': 'oops'}}, {}, "host 'd1': .* gives str, not a list"),
    (CLEAN, {'mac_scope': 'rack'}, "mac_scope 'rack' is not one of fleet, dom0"),
])
def test_bad_input_is_reported_with_its_host(data, kwargs, message):
    with pytest.raises(AnsibleFilterError, match=message):
        fleet_conflicts(data, **kwargs)


def test_missing_jmespath_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(plugin, 'jmespath', None)
    with pytest.raises(AnsibleFilterError, match='needs the Python library jmespath'):
        fleet_conflicts(CLEAN)


def test_a_guest_name_that_could_not_name_a_config_file_stops_the_check():
    with pytest.raises(AnsibleFilterError, match="host 'd1': guest 'web/../db' holds '/'"):
        fleet_conflicts(hostvars(d1=[{'name': 'web/../db', 'vifs': ['mac=auto,ip=10.0.0.5']}]))


def test_guests_are_read_under_the_new_name_and_the_old_one():
    twin = [{'name': 'a', 'vifs': ['ip=10.0.0.5']}, {'name': 'b', 'vifs': ['ip=10.0.0.5']}]
    assert fleet_conflicts({'d1': {'xenfleet_guests': twin}})['count'] == 1
    assert fleet_conflicts({'d1': {'xen_guests': twin}})['count'] == 1
    assert fleet_conflicts({'d1': {'xenfleet_guests': twin}, 'd2': {'xen_guests': [{'name': 'c', 'vifs': ['ip=10.0.0.5']}]}},
                           ip_scope='fleet')['ip'][0]['holders'][-1]['dom0'] == 'd2'


GUESTS = [{'name': 'web', 'vifs': [{'bridge': 'xenbr0'}]}]


def test_inventory_guests_takes_the_new_name_silently(monkeypatch):
    warned = []
    monkeypatch.setattr(plugin.display, 'deprecated', lambda *args, **kwargs: warned.append(args))
    assert inventory_guests(GUESTS, None, 'd1') == GUESTS
    assert inventory_guests(None, None, 'd1') == []
    assert not warned


def test_inventory_guests_takes_the_old_name_with_a_deprecation(monkeypatch):
    warned = []
    monkeypatch.setattr(plugin.display, 'deprecated', lambda message, **kwargs: warned.append((message, kwargs)))
    assert inventory_guests(None, GUESTS, 'd1') == GUESTS
    assert warned == [("The inventory variable xen_guests is renamed xenfleet_guests; rename it for host 'd1'",
                       {'version': '2.0.0', 'collection_name': 'xenfleet.network'})]


@pytest.mark.parametrize('guests, old, message', [
    (GUESTS, GUESTS, "host 'd1': both xenfleet_guests and its old name xen_guests are set"),
    ('web', None, 'xenfleet_guests must be a list of guests, not str'),
    (None, {'web': {}}, 'xen_guests must be a list of guests, not dict'),
])
def test_inventory_guests_refuses_ambiguity_and_non_lists(guests, old, message):
    with pytest.raises(AnsibleFilterError, match=message):
        inventory_guests(guests, old, 'd1')


def test_a_vif_mapping_without_mac_or_vifname_is_settled_as_auto():
    # Two guests named alike on two dom0s without addresses: auto MACs from the same name collide.
    result = fleet_conflicts({'d1': {'xenfleet_guests': [{'name': 'web', 'vifs': [{'bridge': 'xenbr0'}]}]},
                              'd2': {'xenfleet_guests': [{'name': 'web', 'vifs': [{'bridge': 'xenbr0'}]}]}})
    assert [conflict['kind'] for conflict in result['mac']] == ['mac']
    vifnames = fleet_conflicts({'d1': {'xenfleet_guests': [{'name': 'web', 'vifs': [{}]}, {'name': 'db', 'vifs': [{'vifname': 'web-0'}]}]}})
    assert vifnames['vifname'] == []  # auto steers around a taken name, as the module does
