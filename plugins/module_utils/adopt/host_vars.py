# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory host_vars (the xenfleet_* model) that reproduce a dom0 as it was found.

Private to the collection: may change without notice.

Everything is taken as found: a vif keeps exactly the keys its line has, a
bridge the options it runs with where they differ from xen_bridge's
defaults. What the model cannot say is not guessed at but listed in
`unexpressed`, each item with what was found and why it does not fit, so
a user knows what site.yml will change (or not manage) after adoption.

Every value that reaches a variable passes the collection's rule for its
kind (common/validate.py; a vif, vif/validate.py's spec_problems) first:
what breaks one is an `unexpressed` item showing it escaped and cut short,
and its guest or bridge is left out, since the controller's inventory is
read by Ansible as data and as templates.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import json
import os

from ansible_collections.xenfleet.network.plugins.module_utils.adopt.topology import legacy_bridges
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    guest_name_rules, interface_name_rules, path_rules, template_rules)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import spec_problems
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import DECIMAL_KEYS, spec_from_dict

# The vif keys of the model (docs/inventory.md); a vif line's other keys cannot be carried.
MODEL_VIF_KEYS = ('devid', 'bridge', 'ip', 'mac', 'vifname', 'script', 'rate', 'mtu', 'model', 'type', 'gatewaydev', 'backend')
MODEL_GUEST_TYPES = ('pv', 'hvm')
# xen_bridge's defaults: an option equal to them is left out.
BRIDGE_DEFAULTS = dict(stp=False, forward_delay=0, nf_call_iptables=False, mtu=1500)
XL_DEFAULT_BRIDGE = 'xenbr0'
# How much of a refused value a message shows.
SHOWN_MAX = 64


def shown(value):
    """A value read from the dom0 as a message shows it: JSON-escaped (no line break, control or non-ASCII
    character survives) and cut short."""
    text = json.dumps(value if isinstance(value, str) else str(value))[1:-1]
    return text if len(text) <= SHOWN_MAX else text[:SHOWN_MAX] + '...'


class Unexpressed:
    """The list of things found that the model cannot say, in the order found."""

    def __init__(self):
        self.items = []

    def add(self, what, why):
        self.items.append(dict(what=what, why=why))


def _vif_label(guest, vif):
    return 'guest %s vif %s' % (guest, vif.get('devid'))


def adopt_vif(guest, vif, position, unexpressed):
    """The model's vif for one vif of a config: its model keys, as found.

    devid is left out where it is the vif's position, as xl and the model both number vifs by position.
    """
    adopted = dict((key, vif[key]) for key in MODEL_VIF_KEYS if key in vif and not (key == 'devid' and vif[key] == position))
    for key in sorted(set(vif) - set(MODEL_VIF_KEYS)):
        value = ','.join(vif[key]) if isinstance(vif[key], list) else vif[key]
        unexpressed.add('%s: %s=%s' % (_vif_label(guest, vif), shown(key), shown(value)),
                        'the model has no vif key %s; site.yml leaves it in the config but cannot check or set it' % key)
    if 'mac' not in vif:
        unexpressed.add('%s: no mac' % _vif_label(guest, vif),
                        'the model\'s mac defaults to auto: site.yml writes a derived MAC into the config, and the guest '
                        'sees a new MAC at its next start (xl gave it a random one at each start until now)')
    if 'vifname' not in vif:
        unexpressed.add('%s: no vifname' % _vif_label(guest, vif),
                        'the model\'s vifname defaults to auto: site.yml writes a stable name into the config, and the '
                        'dom0 device is renamed at the guest\'s next start (xl named it vifDOMID.DEVID until now)')
    return adopted


def guest_problems(guest):
    """Each value of a guest that a rule of the collection refuses, as (field, value, rule)."""
    found = [('name', guest['name'], rule) for rule in guest_name_rules(guest['name'])]
    found.extend(('config', guest['config'], rule) for rule in path_rules(guest['config']) + template_rules(guest['config']))
    for vif in guest['vifs']:
        keys = dict((key, str(vif[key]) if key in DECIMAL_KEYS else vif[key]) for key in MODEL_VIF_KEYS if key in vif)
        try:
            spec = spec_from_dict(keys)
        except ValueError as error:  # a value no vif line can hold (a ','), from a caller other than the parser
            found.append(('vif %s' % shown(vif.get('devid')), ','.join(sorted(keys)), str(error)))
            continue
        found.extend(('vif %s %s' % (shown(vif.get('devid')), problem.field), problem.value, problem.rule)
                     for problem in spec_problems(guest['name'], vif.get('devid'), spec, bool(guest.get('hvm'))))
    return found


def adopt_guests(guests, unexpressed):
    """xenfleet_guests from vif/info-style guest entries (name, config, type, vifs, error)."""
    adopted = []
    for guest in guests:
        if guest.get('error'):
            unexpressed.add('config %s' % shown(guest['config']), 'it cannot be read (%s): its guest is left out' % guest['error'])
            continue
        if not guest.get('name'):
            unexpressed.add('config %s' % shown(guest['config']), 'it has no name = line: the model names every guest, so it is left out')
            continue
        problems = guest_problems(guest)
        if problems:
            for field, value, rule in problems:
                unexpressed.add('config %s: %s "%s"' % (shown(guest['config']), field, shown(value)),
                                '%s: its guest is left out (site.yml leaves its config alone)' % rule)
            continue
        entry = dict(name=guest['name'])
        if guest.get('type') in MODEL_GUEST_TYPES:
            entry['type'] = guest['type']
        elif guest.get('type'):
            unexpressed.add('guest %s: type=%s' % (guest['name'], shown(guest['type'])),
                            'the model\'s type is pv or hvm; left out (only vifs of HVM guests get an emulated -emu tap)')
        entry['config'] = guest['config']
        entry['vifs'] = [adopt_vif(guest['name'], vif, position, unexpressed) for position, vif in enumerate(guest['vifs'])]
        adopted.append(entry)
    return adopted


def _bridge_options(bridge):
    options = {}
    for key, default in sorted(BRIDGE_DEFAULTS.items()):
        value = bridge.get(key)
        if value is not None and value != default:
            options[key] = value
    return options


def bridge_problems(entry):
    """Each name of an adopted bridge that is no interface name the collection takes, as (field, value, rule)."""
    names = [('name', entry['name'])] + ([('uplink', entry['uplink'])] if entry.get('uplink') else [])
    names.extend(('ports', port) for port in entry.get('ports', ()))
    return [(field, value, rule) for field, value in names for rule in interface_name_rules(value)]


def _adopted_bridge(bridges, entry, unexpressed):
    """Add entry to bridges when its names pass the rules, else list each broken rule; whether it was added."""
    problems = bridge_problems(entry)
    for field, value, rule in problems:
        unexpressed.add('bridge %s: %s "%s"' % (shown(entry['name']), field, shown(value)), '%s: the bridge is left out' % rule)
    if not problems:
        bridges.append(entry)
    return not problems


def adopt_bridges(network, uplink, guest_bridges, legacy, unexpressed):
    """xenfleet_bridges: every bridge that holds the uplink or carries guests, with its options as found."""
    bridges = []
    found = dict((bridge['name'], bridge) for bridge in network['bridges'])
    for name in sorted(found):
        bridge = found[name]
        if uplink not in bridge['physical_ports'] and name not in guest_bridges and not bridge['vifs']:
            unexpressed.add('bridge %s' % shown(name), 'it neither holds the uplink nor carries guests (another tool\'s bridge?): left out')
            continue
        entry = dict(name=name)
        ports = [port for port in bridge['physical_ports'] if port != uplink]
        if uplink in bridge['physical_ports']:
            entry['uplink'] = uplink
        elif bridge['addresses']:
            entry['addresses'] = list(bridge['addresses'])
        if ports:
            entry['ports'] = ports
        entry.update(_bridge_options(bridge))
        _adopted_bridge(bridges, entry, unexpressed)
    legacy_made = legacy_bridges((legacy or {}).get('calls') or [], uplink)
    for name, netdev in legacy_made:
        if name not in found:
            entry = dict(name=name)
            if netdev:
                entry['uplink'] = netdev
            if _adopted_bridge(bridges, entry, unexpressed):
                unexpressed.add('bridge %s' % name, 'made by %s but not on the host now: adopted from the legacy network script'
                                % shown((legacy or {}).get('wrapper') or (legacy or {}).get('path')))
    known = set(found) | set(name for name, _netdev in legacy_made)
    for name in sorted(set(guest_bridges) - known):
        if _adopted_bridge(bridges, dict(name=name), unexpressed):
            unexpressed.add('bridge %s' % name, 'guests name it but it does not exist: adopted as a bridge without a physical port')
    return bridges


def vif_bridge(vif, xl_defaults):
    """The bridge a vif joins: its own bridge=, else xl.conf's default, else xl's built-in xenbr0."""
    return vif.get('bridge') or xl_defaults.get('bridge') or XL_DEFAULT_BRIDGE


def guest_bridge_names(guests, xl_defaults):
    return sorted(set(vif_bridge(vif, xl_defaults) for guest in guests if not guest.get('error') for vif in guest['vifs']
                      if (vif.get('script') or xl_defaults.get('script') or 'vif-bridge').split('/')[-1] not in ('vif-route', 'vif-nat')))


def bridge_subnets(bridges, network, guests, xl_defaults, unexpressed):
    """bridge -> the IPv4 subnet of its first IPv4 address, where every guest address on it lies inside."""
    subnets = {}
    addresses = dict((bridge['name'], bridge['addresses']) for bridge in network['bridges'])
    for bridge in bridges:
        ipv4 = [ipaddress.ip_interface(cidr) for cidr in addresses.get(bridge['name'], []) if ':' not in cidr]
        if not ipv4:
            continue
        subnet = ipv4[0].network
        outside = [entry for guest in guests for vif in guest['vifs'] if vif_bridge(vif, xl_defaults) == bridge['name']
                   for entry in vif.get('ip', []) if ':' not in entry and ipaddress.ip_interface(entry).ip not in subnet]
        if outside:
            unexpressed.add('subnet of %s' % bridge['name'],
                            'its address says %s but guests on it use %s: xenfleet_bridge_subnets would refuse them, so it is left out'
                            % (subnet, ', '.join(outside)))
            continue
        subnets[bridge['name']] = str(subnet)
    return subnets


def brouter_networks(bridges, subnets, uplink):
    """xen_nat networks that route each port-less guest bridge with a subnet through the uplink, as found."""
    return [dict(name=bridge['name'], bridge=bridge['name'], subnet=subnets[bridge['name']], uplink=uplink, masquerade=False,
                 dhcp=dict(enabled=False))
            for bridge in bridges if 'uplink' not in bridge and bridge['name'] in subnets and uplink]


def legacy_items(legacy, unexpressed):
    """What a xend-config.sxp says that xl and the model no longer carry."""
    if not legacy or not legacy.get('present'):
        return
    for call in legacy.get('calls') or []:
        if call['script'] == 'network-nat':
            unexpressed.add('%s: network-nat' % shown(legacy.get('wrapper') or legacy['path']),
                            'xenfleet_nat is not derived: write it by hand (name, bridge, subnet, uplink, dhcp); see docs/adopt.md')
        for key in sorted(set(call['args']) - {'bridge', 'netdev', 'vifnum', 'antispoof'}):
            unexpressed.add('%s: %s %s=%s' % (legacy['path'], shown(call['script']), shown(key), shown(call['args'][key])),
                            'the model has no place for it; see docs/adopt.md')
    vif_script = legacy.get('vif_script')
    if vif_script:
        words = [shown(vif_script['script'])] + ['%s=%s' % (shown(key), shown(value)) for key, value in sorted(vif_script['args'].items())]
        unexpressed.add('%s: (vif-script %s)' % (legacy['path'], ' '.join(words)),
                        'xl never reads xend-config.sxp: a vif line without script= runs xl.conf\'s vif.default.script '
                        '(vif-bridge unless set), and the topology role sets that default')
    if legacy.get('wrapper'):
        unexpressed.add('wrapper %s' % shown(legacy['wrapper']),
                        'only its calls of Xen\'s network scripts were read; any other logic in it is not carried over')
    for note in legacy.get('notes') or []:
        unexpressed.add(legacy['path'], note)


def xl_default_items(xl_conf, guests, unexpressed):
    for key, value in sorted((xl_conf or {}).get('defaults', {}).items()):
        users = ['%s/%s' % (shown(guest['name']), vif.get('devid')) for guest in guests if not guest.get('error') for vif in guest['vifs'] if key not in vif]
        unexpressed.add('%s: vif.default.%s = "%s"' % (xl_conf['path'], shown(key), shown(value)),
                        'the model has no variable for xl.conf\'s vif defaults (the topology role writes its own); '
                        'vifs that rely on it: %s' % (', '.join(users) or 'none'))


def antispoof_setting(legacy):
    """{} when the legacy network script asked for antispoof=yes, else false: the dom0 filters nothing now."""
    for call in (legacy or {}).get('calls') or []:
        if call['args'].get('antispoof') in ('yes', 'true', '1'):
            return {}
    return False


def checked_uplink(uplink, reason, unexpressed):
    """(uplink, reason) as found, or (None, why) when the name is no interface name the collection takes."""
    rules = interface_name_rules(uplink) if uplink else []
    for rule in rules:
        unexpressed.add('uplink "%s"' % shown(uplink), '%s (found as %s): left out; set xenfleet_uplink by hand' % (rule, reason))
    return (None, 'found "%s" (%s), which %s' % (shown(uplink), reason, rules[0])) if rules else (uplink, reason)


def build_host_vars(topology, uplink, network, guests, xl_conf, legacy, config_dir, unexpressed):
    """The host_vars dict; keys the model defaults well (or that were not found) are left out."""
    xl_defaults = (xl_conf or {}).get('defaults', {})
    host_vars = {}
    if topology.name:
        host_vars['xenfleet_topology'] = topology.name
    else:
        unexpressed.add('topology', topology.reason + ': set xenfleet_topology by hand')
    if uplink:
        host_vars['xenfleet_uplink'] = uplink
    guest_bridges = guest_bridge_names(guests, xl_defaults) if topology.name != 'routed' else []
    bridges = adopt_bridges(network, uplink, guest_bridges, legacy, unexpressed) if topology.name != 'routed' else []
    host_vars['xenfleet_bridges'] = bridges
    host_vars['xenfleet_guests'] = adopt_guests(guests, unexpressed)
    host_vars['xenfleet_xl_config_dir'] = os.path.normpath(config_dir)
    # Only adopted guests: a refused one may hold an ip that is no address at all.
    subnets = bridge_subnets(bridges, network, host_vars['xenfleet_guests'], xl_defaults, unexpressed)
    if subnets:
        host_vars['xenfleet_bridge_subnets'] = subnets
    host_vars['xenfleet_antispoof'] = antispoof_setting(legacy)
    if topology.name == 'brouter':
        nat = brouter_networks(bridges, subnets, uplink)
        if nat:
            host_vars['xenfleet_nat'] = nat
        unexpressed.add('routing of %s' % ', '.join(bridge['name'] for bridge in bridges),
                        'masquerading and DHCP are not read: xenfleet_nat routes each guest network without either '
                        '(masquerade: false, dhcp disabled), and site.yml adds xen_nat\'s forwarding guard; '
                        'set masquerade and dhcp where the host does them')
    xl_default_items(xl_conf, guests, unexpressed)
    legacy_items(legacy, unexpressed)
    return host_vars
