# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""xen_dom0_info's one call: read a dom0 as it is and answer with the host_vars that reproduce it.

Private to the collection: may change without notice.

Read-only. A file that cannot be parsed (xl.conf, xend-config.sxp, a
guest's config) does not stop the reading: it becomes a warning and an
`unexpressed` item naming the path, line and column, since adopting the
rest of the dom0 is still worth it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.adopt.host_vars import (
    Unexpressed, build_host_vars, checked_uplink, guest_bridge_names)
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.live import Dom0Netlink, read_forwarding, read_network
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.topology import from_host, recognise
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.xend_sxp import read_legacy_config, read_text
from ansible_collections.xenfleet.network.plugins.module_utils.adopt.xl_conf import read_xl_conf
from ansible_collections.xenfleet.network.plugins.module_utils.common.deps import require
from ansible_collections.xenfleet.network.plugins.module_utils.common.netlink import NetlinkError
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import checked_options, file_pattern_problems
from ansible_collections.xenfleet.network.plugins.module_utils.vif.info import gather
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import XlConfigError


def find_uplink(network, legacy):
    """dom0's NIC and how it was found: the physical port of the bridge with the default route,
    the default route's own device, or the legacy network script's netdev."""
    bridges = dict((bridge['name'], bridge) for bridge in network['bridges'])
    for device in network['default_route_devices']:
        if device in bridges:
            ports = bridges[device]['physical_ports']
            if ports:
                return ports[0], 'the physical port of %s, which holds the default route' % device
            continue
        return device, 'the device of the default route'
    for bridge in network['bridges']:
        if bridge['addresses'] and len(bridge['physical_ports']) == 1:
            return bridge['physical_ports'][0], 'the physical port of %s, which holds dom0\'s address' % bridge['name']
    for call in (legacy or {}).get('calls') or []:
        if call['args'].get('netdev') and call['script'] == 'network-bridge':
            return call['args']['netdev'], 'netdev= of the legacy network script'
    return None, 'no default route, no bridge with a physical port and dom0\'s address, no netdev= in a legacy network script'


def vif_scripts(guests, xl_defaults):
    return [vif.get('script') or xl_defaults.get('script') or 'vif-bridge'
            for guest in guests if not guest.get('error') for vif in guest['vifs']]


def _read_optional(what, path, reader, unexpressed, warn):
    """reader(path), or None with a warning and an unexpressed item naming the path, line and column."""
    try:
        return reader(path)
    except XlConfigError as error:  # SxpError too
        message = '%s %s: line %d, column %d: %s' % (what, path, error.line, error.column, error.message)
    except (IOError, OSError) as error:
        message = '%s %s: cannot read it: %s' % (what, path, error.strerror or error)
    warn(message)
    unexpressed.add(path, message + ' (left out of the adoption)')
    return None


def adopt(net, params, warn):
    """The module's whole answer (without changed)."""
    unexpressed = Unexpressed()
    guests = gather(params['config_dir'], params['pattern'])['guests']
    xl_conf = _read_optional('xl.conf', params['xl_conf'], read_xl_conf, unexpressed, warn) if params['xl_conf'] else None
    legacy = (_read_optional('xend config', params['xend_config'],
                             lambda path: read_legacy_config(path, params['scripts_dir']), unexpressed, warn)
              if params['xend_config'] else None)
    xl_defaults = (xl_conf or {}).get('defaults', {})
    vifnames = set(vif['vifname'] for guest in guests for vif in guest['vifs'] if vif.get('vifname'))
    network = read_network(net, vifnames)
    forwarding = read_forwarding(read_text)
    uplink, uplink_reason = checked_uplink(*find_uplink(network, legacy), unexpressed=unexpressed)
    host = from_host(network, uplink, guest_bridge_names(guests, xl_defaults), vif_scripts(guests, xl_defaults), forwarding)
    topology = recognise(host, legacy)
    host_vars = build_host_vars(topology, uplink, network, guests, xl_conf, legacy, params['config_dir'], unexpressed)
    for note in topology.notes:
        warn(note)
    return dict(
        host_vars=host_vars,
        topology=dict(name=topology.name, reason=topology.reason, source=topology.source, notes=topology.notes),
        uplink=dict(name=uplink, reason=uplink_reason),
        unexpressed=unexpressed.items,
        bridges=network['bridges'],
        default_route_devices=network['default_route_devices'],
        forwarding=forwarding,
        guests=guests,
        xl_conf=xl_conf,
        xend_config=legacy,
    )


def run_dom0_info_module(module):
    checked_options(module, problems=file_pattern_problems('pattern', module.params['pattern']))
    require(module, 'pyroute2')
    try:
        net = Dom0Netlink()
    except NetlinkError as error:
        module.fail_json(msg='xen_dom0_info: %s' % error)
    try:
        result = adopt(net, module.params, module.warn)
    except NetlinkError as error:
        module.fail_json(msg='xen_dom0_info: reading the network failed: %s' % error)
    finally:
        net.close()
    module.exit_json(changed=False, **result)
