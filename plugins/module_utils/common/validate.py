# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one place that says what a valid name, MAC, address, network and ethertype is, and finds duplicates.

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

import re

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
    return ["%s '%s' %s" % (field, name, rule) for rule in interface_name_rules(name)]


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
