# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Values a writer must refuse or carry exactly: the hostile device names, and what the formats read specially."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile import HOSTILE_NAMES

HOSTILE_VALUES = HOSTILE_NAMES + [
    'x%ny',          # a systemd specifier
    'a\\b',          # an escape in nft, systemd and xl strings; a line continuation in ifupdown
    'x\ry',          # a carriage return
    '$HOME',         # a systemd or shell variable
    'x\x7fy',        # DEL
    'x,y',           # a list separator for dnsmasq and xl
    'x#y',           # a comment for dnsmasq after white space
]
