# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that says what a valid name, MAC, address, network, ethertype, path and hotplug script is, and finds duplicates.

Private to the collection: may change without notice.

Every module, module_util and filter takes its rules from here, so one rule
has one wording everywhere. Two shapes serve the two message styles in use:
`*_rules(value)` returns the rule texts a value breaks ("is 18 characters;
Linux allows 15"), for callers that put guest and vif in front themselves
(xen_vif's VifProblem); `*_problems(field, value)` returns whole messages
"<field> '<value>' <rule>" for the others. Both return an empty list when
the value is fine.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re


class InvalidSpec(Exception):
    """One or more options are wrong; str() lists every problem."""

    def __init__(self, problems):
        self.problems = problems
        super(InvalidSpec, self).__init__('; '.join(problems))


# ---------------------------------------------------------------- interface names

# IFNAMSIZ is 16 bytes with the terminating NUL; a longer name is cut short by the kernel.
IFNAME_MAX = 15
IFNAME_CHARACTERS = "letters, digits, '.', '-' and '_'"
# Stricter than the kernel (which refuses only '/', ':' and white space): these names reach ifupdown
# lines run by a root shell, nft scripts, dnsmasq and systemd files, hotplug scripts and udev, and in
# this set none of them needs quoting.
IFNAME_FORBIDDEN = re.compile(r'[^A-Za-z0-9_.-]')
_PLAIN_IFNAME = re.compile(r'[A-Za-z0-9_.-]{1,%d}' % IFNAME_MAX)
_RESERVED_IFNAMES = ('.', '..')


def byte_length(text):
    """The length of text as the kernel counts it: UTF-8 bytes."""
    return len(text.encode('utf-8', 'surrogateescape'))


def is_interface_name(name):
    """True when name keeps every interface-name rule (one regex: cheap enough for thousands of vifs)."""
    return isinstance(name, str) and _PLAIN_IFNAME.fullmatch(name) is not None and name not in _RESERVED_IFNAMES


def length_rule(text, limit, what='Linux allows'):
    """'is 18 characters; Linux allows 15' when text is longer than limit (in bytes), else None."""
    size = byte_length(text)
    if size <= limit:
        return None
    unit = 'characters' if size == len(text) else 'bytes'
    return 'is %d %s; %s %d' % (size, unit, what, limit)


def character_rule(text, forbidden, allowed, what='an interface name'):
    """'holds ' ', '$'; an interface name may hold only ...' when text holds a forbidden character, else None."""
    bad = sorted(set(forbidden.findall(text)))
    if not bad:
        return None
    return 'holds %s; %s may hold only %s' % (', '.join(repr(character) for character in bad), what, allowed)


def interface_name_rules(name, check_length=True):
    """The rules name breaks as the name of a network device (empty list when it breaks none).

    check_length=False leaves the length to the caller, which has a tighter
    limit of its own (a vif with an emulated NIC) and words it itself.
    """
    if is_interface_name(name):
        return []
    if not isinstance(name, str):
        return ['is not a string']
    if name == '':
        return ['is empty; an interface name needs 1 to %d characters' % IFNAME_MAX]
    rules = [length_rule(name, IFNAME_MAX) if check_length else None,
             character_rule(name, IFNAME_FORBIDDEN, IFNAME_CHARACTERS)]
    if name in _RESERVED_IFNAMES:
        rules.append('is reserved by Linux')
    return [rule for rule in rules if rule]


def interface_name_problems(field, name):
    """Each rule name breaks as a device name, as "<field> '<name>' <rule>"."""
    if is_interface_name(name):
        return []
    return ["%s '%s' %s" % (field, name, rule) for rule in interface_name_rules(name)]


# An HVM guest's emulated NIC is a tap QEMU plugs beside the vif. libxl names it vif<domid>.<devid>-emu
# (libxl__device_nic_devname, TAP_DEVICE_SUFFIX), which QEMU cuts to IFNAMSIZ-1 characters (net/tap-linux.c,
# pstrcpy into ifr_name); with a vifname, vif-common.sh renames it <vifname>-emu, which `ip` refuses when it is
# longer than 15 characters: the script then stops before the tap joins a bridge or gets a route.
EMU_SUFFIX = '-emu'
XEN_VIF_NAME = re.compile(r'vif[0-9]+\.[0-9]+')


def emulated_twin(name):
    """The name the emulated NIC of vif `name` gets in dom0, or None when it can get none of its own:
    `<name>-emu` when that fits in 15 characters, else QEMU's cut of it for xl's vif<domid>.<devid> names."""
    twin = name + EMU_SUFFIX
    if len(twin) <= IFNAME_MAX:
        return twin
    if XEN_VIF_NAME.fullmatch(name) and twin[:IFNAME_MAX] != name:
        return twin[:IFNAME_MAX]
    return None


def interface_pattern_problems(field, pattern):
    """A device name with an optional trailing '*' wildcard ('vif*'), as nftables and iptables ('+') take it."""
    if is_interface_name(pattern):
        return []
    if isinstance(pattern, str) and pattern.endswith('*'):
        if pattern == '*':
            return ["%s '%s' would match every port; name at least one leading character" % (field, pattern)]
        return ["%s '%s' %s" % (field, pattern, rule) for rule in interface_name_rules(pattern[:-1])]
    return interface_name_problems(field, pattern)


# ---------------------------------------------------------------- guest (domain) names

# xl itself takes almost any text as a domain name, but reads one made of digits only as a domid, and
# xen_vif makes a file name of it (<config_dir>/<domain>.cfg): '/' or a leading '.' would leave the
# directory, and a leading '-' reads as an option on an xl command line.
GUEST_NAME_MAX = 64
GUEST_NAME_CHARACTERS = "letters, digits, '.', '-' and '_'"
GUEST_NAME_FORBIDDEN = IFNAME_FORBIDDEN
_PLAIN_GUEST_NAME = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,%d}' % (GUEST_NAME_MAX - 1))


def guest_name_rules(name):
    """The rules name breaks as a guest (domain) name (empty list when it breaks none)."""
    if isinstance(name, str) and _PLAIN_GUEST_NAME.fullmatch(name) and not name.isdigit():
        return []
    if not isinstance(name, str):
        return ['is not a string']
    if name == '':
        return ['is empty; a guest needs a name']
    rules = [length_rule(name, GUEST_NAME_MAX, 'a guest name may have'),
             character_rule(name, GUEST_NAME_FORBIDDEN, GUEST_NAME_CHARACTERS, 'a guest name')]
    if name[0] in '._-':
        rules.append('starts with %r; a guest name starts with a letter or digit' % name[0])
    if name.isdigit():
        rules.append('is only digits, which xl reads as a domain id')
    return [rule for rule in rules if rule]


def guest_name_problems(field, name):
    """Each rule name breaks as a guest name, as "<field> '<name>' <rule>"."""
    return ["%s '%s' %s" % (field, name, rule) for rule in guest_name_rules(name)]


# ---------------------------------------------------------------- MAC addresses

XEN_OUI = '00:16:3e'
MAC_EXAMPLE = '02:00:0a:00:00:05'
# What options take: six octets of two hex digits, colon-separated, either case (and what xl prints).
MAC_REGEX = r'[0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5}'
_MAC = re.compile(MAC_REGEX)
# What xl takes in a config file it reads (strtoul per octet): one or two hex digits, ':' or '-'.
_XL_MAC = re.compile(r'[0-9A-Fa-f]{1,2}(?:[:-][0-9A-Fa-f]{1,2}){5}')
_MAC_SEPARATOR = re.compile('[:-]')
# Well formed and unicast (even first octet) in one regex, for is_unicast_mac.
_UNICAST_MAC = re.compile(r'[0-9A-Fa-f][02468aceACE](?::[0-9A-Fa-f]{2}){5}')
_ZERO_MAC = '00:00:00:00:00:00'
# Plain regexes and int(), not netaddr's EUI: EUI takes spellings xl does not (Cisco's 0200.0a00.0005,
# twelve bare digits), so a regex would still stand in front of it; and it costs 15.6 ms for 5000 MACs
# against 1.2 ms for the regex (bench/bench_validate.py), a third of xen_antispoof's whole validation,
# while xen_bridge, xen_nat and xen_antispoof need no netaddr at all. The unit tests prove both read
# every accepted spelling as the same address, with netaddr 0.8.0 (Debian 12's) and the current one.


def parse_mac(text, xl_spelling=False):
    """text as a MAC in canonical form (lower case, colons, two digits an octet), or None when it is none.

    xl_spelling=True also takes what xl reads in a config file: one-digit
    octets, '-' separators and white space around (`0:16:3E:a:0:5 `).
    """
    if not isinstance(text, str):
        return None
    if _MAC.fullmatch(text):
        return text.lower()
    if xl_spelling and _XL_MAC.fullmatch(text.strip()):
        return ':'.join('%02x' % int(octet, 16) for octet in _MAC_SEPARATOR.split(text.strip()))
    return None


def is_unicast_mac(text):
    """True when text is a MAC as options take it, unicast and not all zeros: what mac_rules(text) finds no fault with.

    One regex, for the thousands of MACs of xen_antispoof: for 5000 MACs it takes 1.1 ms, mac_problems
    through parse_mac 4.8 ms, about 5 % of the whole validation (bench/bench_validate.py, least CPU time).
    """
    return isinstance(text, str) and _UNICAST_MAC.fullmatch(text) is not None and text != _ZERO_MAC


def mac_rules(text, holder='a vif', xen_or_local=False):
    """The rules text breaks as the MAC of holder (empty list when it breaks none).

    xen_or_local: the MAC must also be in Xen's 00:16:3e block or locally
    administered, as a guest's vif MAC must (nobody else hands those out).
    """
    if not xen_or_local and is_unicast_mac(text):
        return []
    mac = parse_mac(text)
    if mac is None:
        return ['is not six octets of two hex digits, such as %s' % MAC_EXAMPLE]
    first = int(mac[:2], 16)
    if first & 0x01:
        return ['is a multicast address (odd first octet); %s needs a unicast one' % holder]
    if mac == _ZERO_MAC:
        return ['is all zeros']
    if xen_or_local and not first & 0x02 and not mac.startswith(XEN_OUI + ':'):
        return ["is neither in Xen's %s block nor locally administered (second hex digit 2, 6, a or e)" % XEN_OUI]
    return []


def mac_problems(field, text, holder='a vif', xen_or_local=False):
    """Each rule text breaks as a MAC, as "<field> '<text>' <rule>"."""
    return ["%s '%s' %s" % (field, text, rule) for rule in mac_rules(text, holder, xen_or_local)]


def link_local(mac):
    """(number, text) of the modified EUI-64 link-local address (RFC 4291) a guest derives from a canonical MAC.

    fe80::/64, then the MAC with the universal/local bit flipped and ff:fe in the middle. By hand rather
    than netaddr's EUI(mac).ipv6_link_local(): 6.6 ms against 39.9 ms for 5000 MACs, and the text
    without ipaddress (bench/bench_validate.py); xen_antispoof derives one for every vif. The unit tests
    compare both with netaddr and with str() of ipaddress, which the text equals: groups 1-3 are zero
    and groups 5 and 6 (..ff, fe..) never are, so the one run '::' stands for starts at group 1 and
    takes group 4 too when that is zero.
    """
    value = int(mac.replace(':', ''), 16)
    head = (value >> 24) ^ 0x020000
    number = 0xfe80 << 112 | head << 40 | 0xfffe << 24 | (value & 0xffffff)
    groups = (head >> 8, (head & 0xff) << 8 | 0xff, 0xfe00 | (value >> 16 & 0xff), value & 0xffff)
    return number, ('fe80::%x:%x:%x:%x' % groups if groups[0] else 'fe80::%x:%x:%x' % groups[1:])


def link_local_from_mac(mac):
    """The modified EUI-64 link-local address a guest derives from a canonical MAC, as text."""
    return link_local(mac)[1]


# ---------------------------------------------------------------- ethertypes

# One table for the spec (names users write), the iptables renderer and the nft state reader
# (names nft prints): name -> number, aliases included.
ETHERTYPES = {'ipv4': 0x0800, 'arp': 0x0806, 'ipv6': 0x86dd, 'vlan': 0x8100, '8021ad': 0x88a8, 'lldp': 0x88cc}
ETHERTYPE_ALIASES = {'ip': 'ipv4', 'ip6': 'ipv6', '8021q': 'vlan'}
ETHERTYPE_NUMBERS = dict(ETHERTYPES)
ETHERTYPE_NUMBERS.update((alias, ETHERTYPES[name]) for alias, name in ETHERTYPE_ALIASES.items())
ETHERTYPE_MIN = 0x0601  # 0x0600 and below are 802.3 lengths, not types


def parse_ethertype(text):
    """The number of an ethertype name or alias (any case) or hex number 0x0601-0xffff, or None."""
    name = str(text).lower()
    if name in ETHERTYPE_NUMBERS:
        return ETHERTYPE_NUMBERS[name]
    try:
        number = int(name, 16) if name.startswith('0x') else None
    except ValueError:
        return None
    return number if number is not None and ETHERTYPE_MIN <= number <= 0xffff else None


def ethertype_problems(field, text):
    if parse_ethertype(text) is not None:
        return []
    return ["%s '%s' is not an ethertype: use one of %s or a hex number from 0x%04x to 0xffff" % (
        field, text, ', '.join(sorted(ETHERTYPES)), ETHERTYPE_MIN)]


# ---------------------------------------------------------------- addresses and networks

def parse_interface(text):
    """An address with or without a prefix ('10.0.0.5', '10.0.0.5/24') as an ipaddress interface, or None.

    A scope id ('fe80::1%eth0', which Python 3.9 and later parse) names a device of the host that reads
    it, not an address a guest owns: refused.
    """
    if '%' in str(text):
        return None
    try:
        return ipaddress.ip_interface(str(text))
    except ValueError:
        return None


def address_key(text):
    """The address an entry claims, for duplicate checks: '10.0.0.5/24' and '10.0.0.5' are one; text when it is none.

    The address alone when the prefix is a plain length: an ipaddress interface parses the text twice
    (address and network), which made xen_vif's check against 2000 other vifs 10 % slower.
    """
    text = str(text)
    address, _slash, prefix = text.partition('/')
    if '%' not in address and (not prefix or (prefix.isdigit() and int(prefix) <= 128)):
        try:
            parsed = ipaddress.ip_address(address)
        except ValueError:
            return text
        if not prefix or int(prefix) <= parsed.max_prefixlen:
            return str(parsed)
    interface = parse_interface(text)
    return str(interface.ip) if interface is not None else text


def address_problems(field, text):
    """One address, no prefix."""
    try:
        ipaddress.ip_address(str(text))
    except ValueError:
        return ["%s '%s' is not an IPv4 or IPv6 address" % (field, text)]
    return []


def parse_network(text):
    """A network as written ('10.0.0.0/24', or an address of it such as '10.0.0.1/24'), or None."""
    try:
        return ipaddress.ip_network(str(text), strict=False)
    except ValueError:
        return None


def cidr_problems(field, text):
    """An address with its prefix length, as a device carries it (host bits allowed)."""
    if '/' not in str(text):
        return ["%s '%s' has no prefix length; write it as a CIDR such as 192.0.2.1/24" % (field, text)]
    try:
        ipaddress.ip_interface(str(text))
    except ValueError as error:
        return ["%s '%s' is not a valid address/prefix: %s" % (field, text, error)]
    return []


def outside_rules(interface, subnets):
    """'is outside ...' when interface lies in none of the subnets (ipaddress networks) of its own family."""
    same_family = [subnet for subnet in subnets if subnet.version == interface.version]
    if same_family and not any(interface.network.subnet_of(subnet) for subnet in same_family):
        return ["is outside the bridge's subnet %s" % ' '.join(str(subnet) for subnet in same_family)]
    return []


# ---------------------------------------------------------------- paths

# Every path option ends up on a line: of an ifupdown stanza, a dnsmasq configuration, a systemd unit,
# an nft include, a message. A control character would end that line or hide part of it, NUL ends a C
# string early; no file this collection writes or reads needs one in its name. Relative paths would be
# resolved against whatever directory Ansible runs the module in, so they are refused too.
_CONTROL_CHARACTER = re.compile(r'[\x00-\x1f\x7f]')


def control_character_rule(text, what):
    """'holds the control character '\\n'; <what> may not' when text holds one, else None."""
    bad = sorted(set(_CONTROL_CHARACTER.findall(text)))
    if not bad:
        return None
    return 'holds the control character%s %s; %s may not' % ('s' if len(bad) > 1 else '', ', '.join(repr(character) for character in bad), what)


def path_rules(path):
    """The rules path breaks as a path option (empty list when it breaks none).

    An empty string breaks none: the modules read it as "not given" (the default, or skip the file where
    their documentation says so).
    """
    if not isinstance(path, str):
        return ['is not a string']
    if path == '':
        return []
    rules = [control_character_rule(path, 'a path')]
    if not path.startswith('/'):
        rules.append('is not an absolute path; a relative one would depend on where Ansible runs the module')
    return [rule for rule in rules if rule]


# Ansible evaluates these marks in any string of the inventory it reads, on the controller.
TEMPLATE_MARKS = ('{{', '{%', '{#')


def template_rules(text):
    """The rule a string breaks when it would reach an inventory: it may not hold a Jinja mark."""
    marks = [mark for mark in TEMPLATE_MARKS if mark in text]
    return ["holds %s, which Ansible would evaluate as a template on the controller" % ' and '.join(marks)] if marks else []


def path_problems(field, path):
    """Each rule path breaks as a path option, as "<field> '<path>' <rule>"."""
    return ["%s '%s' %s" % (field, path, rule) for rule in path_rules(path)]


def path_option_problems(argument_spec, params, prefix=''):
    """path_problems of every option of type path in params, suboptions (lists of dicts too) included.

    Driven by the module's own argument spec, so that an option added later is checked without being listed
    anywhere; a module calls it before it reads or writes anything.
    """
    problems = []
    for name, option in argument_spec.items():
        value = (params or {}).get(name)
        if value is None:
            continue
        field = prefix + name
        if option.get('type') == 'path':
            problems.extend(path_problems(field, value))
        elif option.get('options'):
            if isinstance(value, dict):
                problems.extend(path_option_problems(option['options'], value, field + '.'))
            elif isinstance(value, list):
                for index, item in enumerate(value):
                    if isinstance(item, dict):
                        problems.extend(path_option_problems(option['options'], item, '%s[%d].' % (field, index)))
    return problems


def checked_options(module, build=None, problems=()):
    """Fail the module with every problem of its options, before anything is read or written: the path
    options' (path_option_problems), the caller's own (problems, whole messages) and those of
    build(module.params), a spec class that raises InvalidSpec. Else the spec build made (None without build)."""
    problems = path_option_problems(module.argument_spec, module.params) + list(problems)
    spec = None
    try:
        spec = build(module.params) if build is not None else None
    except InvalidSpec as error:
        problems.extend(error.problems)
    if problems:
        # A spec may apply the path rule itself as well (it stands alone in its unit tests): each message once.
        problems = sorted(set(problems), key=problems.index)
        module.fail_json(msg='Invalid options: %s' % '; '.join(problems), problems=problems, changed=False)
    return spec


def file_pattern_problems(field, pattern):
    """A shell pattern of file names in one directory ('*.cfg'): no '/', which would leave the directory, no control character."""
    if not isinstance(pattern, str):
        return ["%s '%s' is not a string" % (field, pattern)]
    rules = [control_character_rule(pattern, 'a file name pattern')]
    if '/' in pattern:
        rules.append("holds '/'; a pattern names files of the directory itself")
    if pattern == '':
        rules.append('is empty; it would match no file')
    return ["%s '%s' %s" % (field, pattern, rule) for rule in rules if rule]


# ---------------------------------------------------------------- hotplug scripts

# xl hands a vif's script to libxl, which runs a bare name from /etc/xen/scripts and an absolute path as
# it is (vif.default.script in xl.conf too). Stricter than xl, which splits a vif spec only at ',': a name
# or an absolute path whose every part is such a name. No '..' (it would leave the directory a name is
# looked up in), no part starting with '-' or '.', nothing a shell, xl's string syntax or a vif spec
# (',', '=', quotes, white space, control characters) reads specially.
SCRIPT_PART = r'[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}'
_SCRIPT = re.compile(r'%s|(?:/%s)+' % (SCRIPT_PART, SCRIPT_PART))
SCRIPT_RULE = ("is not a script name or absolute path made of names of letters, digits, '.', '-' and '_' "
               "(each starting with a letter, digit or '_', at most 64), such as vif-bridge or /etc/xen/scripts/vif-route")


def script_rules(script):
    """The rules script breaks as a vif's hotplug script (empty list when it breaks none)."""
    if isinstance(script, str) and _SCRIPT.fullmatch(script):
        return []
    if not isinstance(script, str):
        return ['is not a string']
    return [SCRIPT_RULE]


def script_problems(field, script):
    """Each rule script breaks as a hotplug script, as "<field> '<script>' <rule>"."""
    return ["%s '%s' %s" % (field, script, rule) for rule in script_rules(script)]


# ---------------------------------------------------------------- duplicates

class Claims:
    """Who holds which value: claim() each (holder, kind, value); duplicates() tells each value held twice.

    A holder is whatever names the claimant in a message (a vif index, a
    (guest, devid) pair, a row); kind says what the value is ('mac', 'ip',
    'vifname', ...), so equal values of different kinds never meet.
    """

    def __init__(self):
        self._holders = {}  # (kind, value) -> [holder, ...] in claim order

    def claim(self, holder, kind, value):
        """Record the claim; the holders that claimed (kind, value) before, in order."""
        holders = self._holders.setdefault((kind, value), [])
        earlier = list(holders)
        holders.append(holder)
        return earlier

    def holders(self, kind, value):
        return list(self._holders.get((kind, value), ()))

    def duplicates(self, kind=None):
        """(kind, value, holders) for every value held more than once, in the order first claimed."""
        return [(claimed_kind, value, list(holders)) for (claimed_kind, value), holders in self._holders.items()
                if len(holders) > 1 and kind in (None, claimed_kind)]
