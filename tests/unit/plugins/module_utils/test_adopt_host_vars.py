# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""From what a dom0 shows (bridges, guests, xl.conf, xend-config.sxp) to topology, host_vars and unexpressed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.adopt.host_vars import (
    Unexpressed, build_host_vars, checked_uplink, guest_bridge_names)
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.live import read_network
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.runner import _read_optional, find_uplink, vif_scripts
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.topology import from_host, recognise
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.xend_sxp import read_legacy_config
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.xl_conf import read_xl_conf
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import Address, Link

CORPUS = os.path.join(os.path.dirname(__file__), 'fixtures', 'adopt')


def bridge(name, ports=(), addresses=(), vifs=(), **options):
    entry = dict(name=name, present=True, stp=False, forward_delay=0.0, nf_call_iptables=False, mac='02:00:00:00:00:10', mtu=1500,
                 ports=sorted(list(ports) + list(vifs)), addresses=list(addresses), routes=[], up=True, vifs=list(vifs),
                 physical_ports=list(ports))
    entry.update(options)
    return entry


def network(bridges, default=('eth0',)):
    masters = dict((port, entry['name']) for entry in bridges for port in entry['ports'])
    return dict(bridges=bridges, default_route_devices=list(default), masters=masters, addresses={}, links=[])


def guest(name, *vifs, **keys):
    entry = dict(name=name, config='/etc/xen/%s.cfg' % name, type=keys.get('type'), hvm=keys.get('type') == 'hvm', error=None,
                 running=None, domid=None, live_vifs=[], vifs=[])
    for devid, vif in enumerate(vifs):
        entry['vifs'].append(dict(vif, devid=vif.get('devid', devid)))
    return entry


def adopt(net, guests, xl_conf=None, legacy=None, forwarding=None):
    unexpressed = Unexpressed()
    xl_defaults = (xl_conf or {}).get('defaults', {})
    uplink, _reason = find_uplink(net, legacy)
    host = from_host(net, uplink, guest_bridge_names(guests, xl_defaults), vif_scripts(guests, xl_defaults), forwarding or {'ipv4': True})
    topology = recognise(host, legacy)
    host_vars = build_host_vars(topology, uplink, net, guests, xl_conf, legacy, '/etc/xen/', unexpressed)
    return topology, host_vars, unexpressed.items


def whats(items):
    return [item['what'] for item in items]


FULL = dict(mac='02:00:c0:00:02:15', bridge='xenbr0', ip=['192.0.2.21'], vifname='web-0')


def test_network_bridge_by_hand_is_multi_bridge_with_everything_expressed():
    net = network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24', '2001:db8:1::10/64'], vifs=['web-0'])], default=['xenbr0'])
    topology, host_vars, unexpressed = adopt(net, [guest('web', FULL)])
    assert topology.name == 'multi_bridge' and topology.source == 'host'
    assert 'xenbr0 holds the uplink eth0' in topology.reason
    assert host_vars == {
        'xenfleet_topology': 'multi_bridge',
        'xenfleet_uplink': 'eth0',
        'xenfleet_bridges': [{'name': 'xenbr0', 'uplink': 'eth0'}],
        'xenfleet_guests': [{'name': 'web', 'config': '/etc/xen/web.cfg', 'vifs': [FULL]}],
        'xenfleet_xl_config_dir': '/etc/xen',
        'xenfleet_bridge_subnets': {'xenbr0': '192.0.2.0/24'},
        'xenfleet_antispoof': False,
    }
    assert unexpressed == []


def test_second_guest_only_bridge_and_options_as_found():
    net = network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24'], forward_delay=15.0, stp=True),
                   bridge('xenbr1', addresses=['10.0.1.1/24'], mtu=9000),
                   bridge('docker0', addresses=['172.17.0.1/16'])], default=['xenbr0'])
    guests = [guest('web', FULL, dict(bridge='xenbr1', ip=['10.0.1.5'], mac='02:00:0a:00:01:05', vifname='web-1'))]
    topology, host_vars, unexpressed = adopt(net, guests)
    assert topology.name == 'multi_bridge' and 'guest bridges without it: xenbr1' in topology.reason
    assert host_vars['xenfleet_bridges'] == [
        {'name': 'xenbr0', 'uplink': 'eth0', 'stp': True, 'forward_delay': 15.0},
        {'name': 'xenbr1', 'addresses': ['10.0.1.1/24'], 'mtu': 9000},
    ]
    assert host_vars['xenfleet_bridge_subnets'] == {'xenbr0': '192.0.2.0/24', 'xenbr1': '10.0.1.0/24'}
    assert whats(unexpressed) == ['bridge docker0']


def test_vifs_without_mac_or_vifname_and_unknown_keys_are_listed():
    guests = [guest('a', dict(bridge='xenbr0', ip=['192.0.2.30'])),
              guest('b', dict(FULL, mac='02:00:c0:00:02:16', vifname='b-0', vlan='5', extra=['accel=x']), type='pvh')]
    _topology, host_vars, unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24'])]), guests)
    assert host_vars['xenfleet_guests'][0]['vifs'] == [{'bridge': 'xenbr0', 'ip': ['192.0.2.30']}]
    assert 'vlan' not in host_vars['xenfleet_guests'][1]['vifs'][0] and 'type' not in host_vars['xenfleet_guests'][1]
    assert whats(unexpressed) == ['guest a vif 0: no mac', 'guest a vif 0: no vifname', 'guest b: type=pvh',
                                  'guest b vif 0: extra=accel=x', 'guest b vif 0: vlan=5']


def test_devid_kept_only_where_it_is_not_the_position():
    second = dict(bridge='xenbr1', ip=['10.0.1.5'], mac='02:00:0a:00:01:05', vifname='web-1')
    _topology, host_vars, _unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]),
                                               [guest('web', FULL, dict(second, devid=3)), guest('db', dict(FULL, devid=0), second)])
    assert [vif.get('devid') for one in host_vars['xenfleet_guests'] for vif in one['vifs']] == [None, 3, None, None]


def test_unreadable_and_nameless_configs_are_left_out():
    broken = dict(guest('x'), error='line 2, column 9: expected a value', name=None)
    nameless = dict(guest('y', FULL), name=None)
    _topology, host_vars, unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]), [broken, nameless])
    assert host_vars['xenfleet_guests'] == []
    assert [item['why'].split(' (')[0] for item in unexpressed] == [
        'it cannot be read', 'it has no name = line: the model names every guest, so it is left out']


def test_brouter_port_less_bridge_with_gateway_address():
    net = network([bridge('xenbr0', addresses=['10.0.0.1/24'], vifs=['vif3.0'])], default=['eth0'])
    guests = [guest('g', dict(bridge='xenbr0', ip=['10.0.0.5'], mac='02:00:0a:00:00:05', vifname='g-0'))]
    topology, host_vars, unexpressed = adopt(net, guests, forwarding={'ipv4': False})
    assert topology.name == 'brouter' and 'IPv4 forwarding is off now' in topology.reason
    assert host_vars['xenfleet_uplink'] == 'eth0'
    assert host_vars['xenfleet_bridges'] == [{'name': 'xenbr0', 'addresses': ['10.0.0.1/24']}]
    assert host_vars['xenfleet_nat'] == [{'name': 'xenbr0', 'bridge': 'xenbr0', 'subnet': '10.0.0.0/24', 'uplink': 'eth0',
                                          'masquerade': False, 'dhcp': {'enabled': False}}]
    assert whats(unexpressed) == ['routing of xenbr0'] and 'xenfleet_nat' in unexpressed[0]['why']


def test_routed_from_vif_route_lines_and_xl_defaults():
    guests = [guest('r1', dict(script='vif-route', ip=['192.0.2.50'], mac='02:00:c0:00:02:32', vifname='r1-0')),
              guest('r2', dict(ip=['192.0.2.51'], mac='02:00:c0:00:02:33', vifname='r2-0'))]
    xl_conf = dict(path='/etc/xen/xl.conf', present=True, defaults={'script': 'vif-route'})
    topology, host_vars, unexpressed = adopt(network([]), guests, xl_conf=xl_conf)
    assert topology.name == 'routed' and host_vars['xenfleet_bridges'] == []
    assert whats(unexpressed) == ['/etc/xen/xl.conf: vif.default.script = "vif-route"']
    assert unexpressed[0]['why'].endswith('vifs that rely on it: r2/0')


def test_host_wins_over_legacy_file_and_says_so():
    legacy = read_legacy_config(os.path.join(CORPUS, 'route.sxp'))
    topology, _host_vars, unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]), [], legacy=legacy)
    assert topology.name == 'multi_bridge' and 'says routed' in topology.notes[0]
    assert whats(unexpressed) == ['%s: (vif-script vif-route)' % legacy['path']]


def test_legacy_only_multi_bridge_wrapper_gives_both_bridges():
    legacy = read_legacy_config(os.path.join(CORPUS, 'multi_bridge.sxp'), os.path.join(CORPUS, 'scripts'))
    topology, host_vars, unexpressed = adopt(network([], default=[]), [], legacy=legacy)
    assert topology.name == 'multi_bridge' and topology.source == 'xend-config'
    assert host_vars['xenfleet_uplink'] == 'eth0'
    assert host_vars['xenfleet_bridges'] == [{'name': 'xenbr0', 'uplink': 'eth0'}, {'name': 'xenbr1'}]
    assert whats(unexpressed)[:2] == ['bridge xenbr0', 'bridge xenbr1'] and 'wrapper ' in whats(unexpressed)[-1]


def test_legacy_nat_and_antispoof():
    nat = read_legacy_config(os.path.join(CORPUS, 'nat.sxp'))
    topology, _host_vars, unexpressed = adopt(network([], default=[]), [], legacy=nat)
    assert topology.name == 'brouter' and host_vars_nat_free(_host_vars)
    assert any(item['what'].endswith('network-nat') and 'xenfleet_nat' in item['why'] for item in unexpressed)
    assert any(item['what'].endswith('network-nat dhcp=yes') for item in unexpressed)
    antispoof = read_legacy_config(os.path.join(CORPUS, 'bridge_antispoof.sxp'))
    _topology, host_vars, _unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]), [], legacy=antispoof)
    assert host_vars['xenfleet_antispoof'] == {}


def host_vars_nat_free(host_vars):
    return 'xenfleet_nat' not in host_vars and host_vars['xenfleet_bridges'] == []


def test_nothing_recognised():
    topology, host_vars, unexpressed = adopt(network([], default=[]), [guest('g', FULL)])
    assert topology.name is None and 'xenfleet_topology' not in host_vars and 'xenfleet_uplink' not in host_vars
    assert whats(unexpressed)[0] == 'topology'


def test_subnet_left_out_when_guests_lie_outside():
    net = network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24'])])
    _topology, host_vars, unexpressed = adopt(net, [guest('g', dict(FULL, ip=['203.0.113.5']))])
    assert 'xenfleet_bridge_subnets' not in host_vars
    assert whats(unexpressed) == ['subnet of xenbr0'] and '203.0.113.5' in unexpressed[0]['why']


def test_uplink_without_default_route_comes_from_the_bridge_address():
    net = network([bridge('xenbr0', ports=['eth3'], addresses=['192.0.2.10/24'])], default=[])
    assert find_uplink(net, None) == ('eth3', "the physical port of xenbr0, which holds dom0's address")


def test_xl_conf_defaults(tmp_path):
    path = tmp_path / 'xl.conf'
    path.write_text(u'# xl.conf\nautoballoon="off"\nvif.default.script="vif-bridge"\nvif.default.bridge = "xenbr1"\n')
    assert read_xl_conf(str(path)) == dict(path=str(path), present=True, defaults={'script': 'vif-bridge', 'bridge': 'xenbr1'})
    assert read_xl_conf(str(tmp_path / 'none'))['present'] is False


@pytest.mark.parametrize('text, where', [
    (u'vif.default.bridge = "xenbr1\n', 'line 1, column 22'),
    (u'a = 1\nvif.default.script = vif-route\n', 'line 2, column 25'),
])
def test_unparsable_xl_conf_is_a_warning_and_an_item(tmp_path, text, where):
    path = tmp_path / 'xl.conf'
    path.write_text(text)
    warnings = []
    unexpressed = Unexpressed()
    assert _read_optional('xl.conf', str(path), read_xl_conf, unexpressed, warnings.append) is None
    assert warnings[0].startswith('xl.conf %s: %s: ' % (path, where))
    assert unexpressed.items[0]['what'] == str(path)


class FakeNet:
    """The readers read_network asks, answering from a table (Link/Address as netlink.py makes them)."""

    def __init__(self, links, ports, addresses, defaults):
        self._links, self._ports, self._addresses, self._defaults = links, ports, addresses, defaults

    def links(self):
        return self._links

    def ports(self, index):
        return self._ports.get(index, [])

    def addresses(self, index):
        return self._addresses.get(index, [])

    def routes(self, index):
        return []

    def default_route_devices(self):
        return self._defaults


def test_read_network_tells_vifs_from_physical_ports():
    options = dict(stp=0, forward_delay=1500, nf_call_iptables=0)
    links = [Link(1, 'lo', None, '00:00:00:00:00:00', 65536, True, None, None),
             Link(2, 'eth0', 'veth', '02:00:00:00:00:10', 1500, True, 5, None),
             Link(3, 'web-0', 'veth', 'fe:ff:ff:ff:ff:ff', 1500, True, 5, None),
             Link(4, 'vif7.1-emu', 'tun', 'fe:ff:ff:ff:ff:ff', 1500, True, 5, None),
             Link(5, 'xenbr0', 'bridge', '02:00:00:00:00:10', 1500, True, None, options)]
    net = FakeNet(links, {5: ['eth0', 'vif7.1-emu', 'web-0']}, {5: [Address(2, '192.0.2.10', 24, True, False)]}, [5, 5])
    found = read_network(net, {'web-0'})
    assert found['default_route_devices'] == ['xenbr0']
    assert found['masters'] == {'eth0': 'xenbr0', 'web-0': 'xenbr0', 'vif7.1-emu': 'xenbr0'}
    assert found['addresses'] == {'xenbr0': ['192.0.2.10/24']}
    (bridge,) = found['bridges']
    assert (bridge['physical_ports'], bridge['vifs'], bridge['forward_delay'], bridge['addresses']) == (
        ['eth0'], ['vif7.1-emu', 'web-0'], 15.0, ['192.0.2.10/24'])
    assert find_uplink(found, None) == ('eth0', 'the physical port of xenbr0, which holds the default route')


# Values a hand, a script or an attacker may leave on a dom0: each breaks a rule of the collection, so it reaches
# no variable; it is an unexpressed item showing it escaped (one line, ASCII) and cut short.
HOSTILE = ['eth0\nansible_connection: local', 'x: y', '{{ lookup("pipe" ~ "id") }}', '!!python/object/apply:os.system ["id"]',
           '&anchor', 'x\u2028ansible_host: evil', 'x\x85y', 'b' * 5000, 'br\u00fccke']


def flat(host_vars):
    """Every string in host_vars, keys included."""
    if isinstance(host_vars, dict):
        return [text for key, value in host_vars.items() for text in [key] + flat(value)]
    if isinstance(host_vars, list):
        return [text for value in host_vars for text in flat(value)]
    return [host_vars] if isinstance(host_vars, str) else []


def assert_shown_safely(items):
    for item in items:
        assert item['what'].isascii() and item['what'].isprintable() and len(item['what']) < 200, item['what']


@pytest.mark.parametrize('value', HOSTILE)
@pytest.mark.parametrize('key', ['bridge', 'vifname', 'mac', 'ip', 'script', 'rate', 'gatewaydev', 'model', 'backend'])
def test_a_hostile_vif_value_leaves_its_guest_out(key, value):
    if key == 'model' and value == 'b' * 5000:
        pytest.skip('a model is any word qemu takes, however long')
    hostile = dict(FULL, **{key: [value] if key == 'ip' else value})
    net = network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24'])], default=['xenbr0'])
    _topology, host_vars, unexpressed = adopt(net, [guest('web', FULL), guest('evil', hostile)])
    assert [one['name'] for one in host_vars['xenfleet_guests']] == ['web']
    assert all(value not in text for text in flat(host_vars))
    refused = [item for item in unexpressed if item['what'].startswith('config /etc/xen/evil.cfg: vif 0 ')]
    assert refused and refused[0]['why'].endswith('its guest is left out (site.yml leaves its config alone)')
    assert_shown_safely(unexpressed)


@pytest.mark.parametrize('value', HOSTILE)
def test_a_hostile_guest_name_or_config_path_leaves_the_guest_out(value):
    named = dict(guest('web', FULL), name=value)
    placed = dict(guest('db', dict(FULL, mac='02:00:c0:00:02:16', vifname='db-0', ip=['192.0.2.22'])), config='/etc/xen/%s.cfg' % value)
    _topology, host_vars, unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]), [named, placed])
    if '{{' in value or '\n' in value or '\x85' in value or '\u2028' in value or len(value) > 64 or '!' in value or '&' in value:
        assert host_vars['xenfleet_guests'] == [] or host_vars['xenfleet_guests'][0]['config'] == placed['config']
    assert all(value not in text for text in flat(host_vars)[:2])
    assert value not in [one['name'] for one in host_vars['xenfleet_guests']]
    assert_shown_safely(unexpressed)


def test_a_config_path_with_a_template_mark_is_refused():
    placed = dict(guest('db', FULL), config='/etc/xen/{{ lookup("pipe", "id") }}.cfg')
    _topology, host_vars, unexpressed = adopt(network([bridge('xenbr0', ports=['eth0'])]), [placed])
    assert host_vars['xenfleet_guests'] == []
    assert 'which Ansible would evaluate as a template on the controller' in unexpressed[0]['why']


@pytest.mark.parametrize('value', HOSTILE)
def test_a_hostile_bridge_name_from_the_host_legacy_file_or_xl_conf_is_left_out(value):
    net = network([bridge('xenbr0', ports=['eth0'], addresses=['192.0.2.10/24']), bridge(value, vifs=['web-0'])], default=['xenbr0'])
    legacy = dict(present=True, path='/etc/xen/xend-config.sxp', calls=[dict(script='network-bridge', args=dict(bridge=value + '2', netdev='eth1'))],
                  vif_script=None, wrapper=None, notes=[])
    xl_conf = dict(path='/etc/xen/xl.conf', present=True, defaults=dict(bridge=value + '3'))
    _topology, host_vars, unexpressed = adopt(net, [guest('web', dict(FULL, bridge=None))], xl_conf=xl_conf, legacy=legacy)
    names = [entry['name'] for entry in host_vars['xenfleet_bridges']]
    assert all(value not in name for name in names) and 'xenbr0' in names
    assert all(value not in text for text in flat(host_vars))
    assert_shown_safely(unexpressed)


@pytest.mark.parametrize('value', HOSTILE)
def test_a_hostile_uplink_is_no_variable(value):
    unexpressed = Unexpressed()
    uplink, reason = checked_uplink(value, 'netdev= of the legacy network script', unexpressed)
    assert uplink is None and 'netdev= of the legacy network script' in reason
    assert reason.isprintable()
    assert unexpressed.items[0]['what'].startswith('uplink "') and 'set xenfleet_uplink by hand' in unexpressed.items[0]['why']
    assert_shown_safely(unexpressed.items)


def test_a_good_uplink_is_kept():
    assert checked_uplink('eth0', 'the device of the default route', Unexpressed()) == ('eth0', 'the device of the default route')
