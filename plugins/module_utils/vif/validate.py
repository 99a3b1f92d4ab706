# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks on a vif before it is written: each problem names the guest, the field, the value and the rule.

Private to the collection: may change without notice.

The checks collect every problem instead of stopping at the first, so one
run reports all of them, for example
`guest 'web': vifname 'wiki.xen.prgmr.com' is 18 characters; Linux allows 15`.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import (
    IFNAME_MAX,
    Claims,
    address_key,
    byte_length,
    guest_name_rules,
    interface_name_rules,
    mac_rules as common_mac_rules,
    outside_rules,
    EMU_SUFFIX,
    parse_interface,
    parse_mac,
    parse_network,
    script_rules,
)
from ansible_collections.xenfleet.network.plugins.module_utils.vif.derive import (
    EMULATED_IFNAME_MAX,
    mac_prefix_rules,
)

DEFAULT_BRIDGE = 'xenbr0'
NIC_TYPES = ('vif', 'ioemu')
MTU_RANGE = (68, 65535)
# xl names a vif without vifname `vifDOMID.DEVID` (`...-emu` for its tap).
# rate: RATE/s[@INTERVAL], RATE in bytes or bits with a G/M/K prefix, INTERVAL in s, ms or us.
WORD_RULES = (
    ('rate', re.compile(r'[0-9]+(?:[GMKgmk]?[Bb])?/s(?:@[0-9]+(?:s|ms|us)?)?'), 'is not a rate such as 10Mb/s or 1MB/s@20ms'),
    ('model', re.compile(r'[A-Za-z0-9_.-]+'), "is not a NIC model name (letters, digits, '.', '-' and '_'), such as e1000"),
)
_XL_DEFAULT_NAME_RE = re.compile(r'(vif|tap)[0-9]+\.[0-9]+(-emu)?')


class VifProblem:
    """One broken rule: which guest and vif, which field, which value, and why."""

    def __init__(self, guest, devid, field, value, rule):
        self.guest = guest
        self.devid = devid
        self.field = field
        self.value = value
        self.rule = rule

    def __str__(self):
        where = "guest '%s'" % self.guest
        if self.devid is not None:
            where += ' vif %s' % self.devid
        return "%s: %s '%s' %s" % (where, self.field, self.value, self.rule)

    def __repr__(self):
        return 'VifProblem(%r)' % str(self)

    def __eq__(self, other):
        return isinstance(other, VifProblem) and str(self) == str(other)

    def __hash__(self):
        return hash(str(self))


class VifValidationError(ValueError):
    """Raised with every problem found; str() lists them one per line."""

    def __init__(self, problems):
        self.problems = list(problems)
        super(VifValidationError, self).__init__('\n'.join(str(problem) for problem in self.problems))


def raise_for(problems):
    if problems:
        raise VifValidationError(problems)


def has_emulated_nic(spec, hvm):
    """True when xl also creates a `<vifname>-emu` tap: type=ioemu, or an HVM guest unless type=vif."""
    return spec.type == 'ioemu' or (hvm and spec.type != 'vif')


# ---------------------------------------------------------------- one value

def vifname_rules(vifname, emulated=False):
    """Why vifname cannot name this vif's dom0 device (empty list when it can)."""
    if vifname == '':
        return ['is empty; leave vifname out for xl\'s default name']
    rules = []
    # Besides the rule for every device name: room for the emulated NIC's tap, and not xl's own form.
    too_long_for_emu = emulated and byte_length(vifname) > EMULATED_IFNAME_MAX
    if too_long_for_emu:
        rules.append("is %d characters; its emulated NIC adds '%s', so %d fit in Linux's %d" % (
            byte_length(vifname), EMU_SUFFIX, EMULATED_IFNAME_MAX, IFNAME_MAX))
    rules.extend(interface_name_rules(vifname, check_length=not too_long_for_emu))
    if _XL_DEFAULT_NAME_RE.fullmatch(vifname):
        rules.append("has the form of xl's default names (vifDOMID.DEVID), so another guest's vif can take it")
    return rules


def mac_rules(mac):
    """Why mac cannot be a vif's MAC (empty list when it can)."""
    return common_mac_rules(mac, holder='a vif', xen_or_local=True)


def subnet_problems(guest, devid, bridge_subnets):
    """A bridge_subnets entry that is no network is an error, not a check quietly left out."""
    problems = []
    for bridge, subnets in sorted((bridge_subnets or {}).items()):
        for text in [subnets] if isinstance(subnets, str) else list(subnets or ()):
            if parse_network(text) is None:
                problems.append(VifProblem(guest, devid, 'bridge_subnets', text, 'of bridge %s is not a network in CIDR form such as 10.0.0.0/24' % bridge))
    return problems


def request_problems(guest, match, mac_prefix):
    """The values that select a vif (match) and the MAC prefix: checked even when they end up unused."""
    problems = []
    for key, value in sorted((match or {}).items()):
        if value is None:
            continue
        if key == 'mac':
            rules = [] if parse_mac(value, xl_spelling=True) else mac_rules(value)
        elif key == 'vifname':
            rules = interface_name_rules(value)
        else:
            rules = []
        problems.extend(VifProblem(guest, None, 'match.' + key, value, rule) for rule in rules)
    if mac_prefix is not None:
        problems.extend(VifProblem(guest, None, 'mac_prefix', mac_prefix, rule) for rule in mac_prefix_rules(mac_prefix))
    return problems


def claim_problems(guest, devid, dom0_claims):
    """The claims a task passes (mappings) name guests, vif names and MACs by the same rules as the vif itself."""
    problems = []
    for index, item in enumerate(dom0_claims or ()):
        if not isinstance(item, dict):
            continue  # read from the dom0's own config files: what is, not what a task asks for
        field = 'claims[%d].' % index
        checks = [('guest', item.get('guest'), guest_name_rules)]
        if item.get('vifname') is not None:
            checks.append(('vifname', item['vifname'], interface_name_rules))
        if item.get('mac') is not None:
            checks.append(('mac', item['mac'], lambda mac: [] if parse_mac(mac, xl_spelling=True) else mac_rules(mac)))
        for key, value, rules in checks:
            problems.extend(VifProblem(guest, devid, field + key, value, rule) for rule in rules(value))
    return problems


def ip_rules(entry, subnets=()):
    """Why one ip entry is no address or CIDR, or lies outside every known subnet of its family.

    subnets: networks (text); one that is no network is subnet_problems' to report.
    """
    interface = parse_interface(entry)
    if interface is None:
        return ['is not an IPv4 or IPv6 address or CIDR']
    return outside_rules(interface, [network for network in (parse_network(text) for text in subnets) if network is not None])


def _decimal_rule(value, lowest, highest=None):
    if not re.match('^[0-9]+$', value) or int(value) < lowest or (highest is not None and int(value) > highest):
        limit = 'from %d to %d' % (lowest, highest) if highest is not None else 'of %d or more' % lowest
        return ['is not a whole number %s' % limit]
    return []


# ---------------------------------------------------------------- one vif

def spec_problems(guest, devid, spec, hvm=False, subnets=()):
    """Every problem of one vif spec on its own (uniqueness is duplicate_problems')."""
    problems = []

    def add(field, value, rules):
        problems.extend(VifProblem(guest, devid, field, value, rule) for rule in rules)

    if spec.vifname is not None:
        add('vifname', spec.vifname, vifname_rules(spec.vifname, has_emulated_nic(spec, hvm)))
    # Device names the hotplug scripts hand to a shell and to ip/brctl.
    for field in ('bridge', 'gatewaydev'):
        if getattr(spec, field) is not None:
            add(field, getattr(spec, field), interface_name_rules(getattr(spec, field)))
    if spec.backend is not None and not spec.backend.isdigit():  # a domid, or a domain by name
        add('backend', spec.backend, guest_name_rules(spec.backend))
    # Handed to the hotplug scripts and qemu: only the forms xl-network-configuration(5) documents.
    for field, pattern, rule in WORD_RULES:
        value = getattr(spec, field)
        if value is not None and not pattern.fullmatch(value):
            add(field, value, [rule])
    if spec.script is not None:
        add('script', spec.script, script_rules(spec.script))
    if spec.mac is not None:
        add('mac', spec.mac, mac_rules(spec.mac))
    for entry in spec.ip or ():
        add('ip', entry, ip_rules(entry, subnets))
    if spec.type is not None and spec.type not in NIC_TYPES:
        add('type', spec.type, ["is not one of %s" % ', '.join(NIC_TYPES)])
    if spec.mtu is not None:
        add('mtu', spec.mtu, _decimal_rule(spec.mtu, *MTU_RANGE))
    if spec.devid is not None:
        add('devid', spec.devid, _decimal_rule(spec.devid, 0))
    return problems


def occupied_names(vifname, emulated):
    """The dom0 device names a vif takes: its vifname and, with an emulated NIC, `<vifname>-emu`."""
    if not vifname:
        return ()
    return (vifname, vifname + EMU_SUFFIX) if emulated else (vifname,)


def duplicate_problems(guest, devid, spec, emulated, others):
    """Problems of spec's vifname, mac and ip already held by another vif on the dom0.

    others: claims (objects with guest, devid, mac, names, ips) of every
    other vif on the dom0, this one left out.
    """
    claims = Claims()
    for other in others:
        holder = "guest '%s' vif %s" % (other.guest, other.devid)
        for kind, value in vif_claims(other.names, other.mac, other.ips):
            claims.claim(holder, kind, value)
    problems = []
    for kind, value in vif_claims(occupied_names(spec.vifname, emulated), spec.mac, spec.ip or ()):
        for holder in claims.holders(kind, value):
            if kind == 'vifname':
                problems.append(VifProblem(guest, devid, 'vifname', spec.vifname, 'is taken: %s already uses %s' % (holder, value)))
            else:
                problems.append(VifProblem(guest, devid, kind, value, 'is taken: %s already uses it' % holder))
    return problems


def vif_claims(names, mac, ips):
    """(kind, value) of what one vif holds on its dom0: device names, MAC, addresses ('10.0.0.5/24' is 10.0.0.5)."""
    found = [('vifname', name) for name in sorted(set(names))]
    if mac is not None:
        found.append(('mac', mac))
    found.extend(('ip', address) for address in sorted(set(address_key(entry) for entry in ips)))
    return found
