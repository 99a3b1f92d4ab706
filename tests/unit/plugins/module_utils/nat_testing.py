# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders shared by the xen_nat unit tests: a valid network with one line per test's difference."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.spec import InvalidSpec, NatSpec

GATEWAY = ipaddress.IPv4Address('10.0.1.1')
DEFAULTS = dict(name='guests', bridge='xenbr1', subnet='10.0.1.0/24', uplink='eth0')


def nat_spec(**params):
    """A NatSpec for guests on xenbr1, 10.0.1.0/24, behind eth0, changed by params."""
    return NatSpec(dict(DEFAULTS, **params))


def nat_problems(**params):
    """The problems such a spec is refused with."""
    with pytest.raises(InvalidSpec) as raised:
        nat_spec(**params)
    return raised.value.problems
