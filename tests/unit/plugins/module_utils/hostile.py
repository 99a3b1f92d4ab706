# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Device names an attacker or a slip would give: each must be refused by every option that names a device."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

HOSTILE_NAMES = [
    'Nx;reboot',     # ends an ifupdown 'up' line and starts a command
    'br$(id)',       # command substitution
    'br`id`',        # the old form of it
    'x";drop#',      # leaves an nft string
    "x'y",
    'x\ny',          # a second line in any file
    'x\0y',          # ends a C string early
    'x\ty',
    'x y',
    'b' * 16,        # one byte over IFNAMSIZ - 1
    'brücke',        # non-ASCII
    'é' * 8,         # 8 characters, 16 bytes
    '.',
    '..',
    '',
    'a/b',
    'a:b',
    'vif*',          # a wildcard where one device is meant
]
