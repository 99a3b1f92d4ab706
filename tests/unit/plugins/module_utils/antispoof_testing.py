# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Builders shared by the xen_antispoof unit tests, and the kernel's own output as fixtures.

tests/unit/fixtures/antispoof/ holds a policy (the one the integration targets
apply) and what a real kernel held with it: `nft -j list table` of both tables
and `*-nft-save -c` of the iptables backend.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.spec import AntispoofSpec, InvalidSpec

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'fixtures', 'antispoof')


def fixture_text(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return handle.read()


def fixture_policy():
    return json.loads(fixture_text('policy.json'))


def vif(name='vif1.0', **params):
    """One vif's options, as the module's argument spec fills them in, changed by params."""
    options = dict(name=name, mac=['02:00:c0:00:02:15'], ipv4=['192.0.2.21'], ipv6=['2001:db8:1::21'], ipv6_link_local=True,
                   dhcp=True, dhcp_server=False, router=False, ethertypes=['ipv4', 'arp', 'ipv6'], routed=False)
    options.update(params)
    return options


def spec(vifs=None, **params):
    """An AntispoofSpec of the fixture policy (or of vifs), changed by params."""
    options = dict(fixture_policy(), state='present', backend='nftables', purge=False, unlisted_vifs='drop',
                   vif_patterns=['vif*', 'tap*'])
    options.pop('_comment')
    if vifs is not None:
        options['vifs'] = vifs
    options.update(params)
    return AntispoofSpec(options)


def problems(vifs=None, **params):
    """The problems such a spec is refused with."""
    with pytest.raises(InvalidSpec) as raised:
        spec(vifs, **params)
    return raised.value.problems
