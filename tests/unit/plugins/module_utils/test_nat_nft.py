# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftQuoteError
from ansible_collections.xenfleet.network.plugins.module_utils.nat.nft import (
    fingerprint, normalize_listing, render_table, table_current, table_name)
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import GATEWAY
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.nat_testing import nat_spec as spec


def rules(text):
    return [line.strip() for line in text.splitlines() if line.startswith('\t\t') and 'hook' not in line]


def test_each_instance_has_a_table_of_its_own():
    assert table_name('guests') == 'xenfleet_nat_guests'
    assert render_table(spec(name='lab'), GATEWAY).startswith('table ip xenfleet_nat_lab {\n')


def test_masquerade_network_without_forwards_renders_as_nft_lists_it():
    assert render_table(spec(), GATEWAY) == (
        'table ip xenfleet_nat_guests {\n'
        '\tcomment "xenfleet.network xen_nat guests: managed by Ansible, local changes are replaced"\n'
        '\tchain postrouting {\n'
        '\t\ttype nat hook postrouting priority srcnat; policy accept;\n'
        '\t\toifname "eth0" ip saddr 10.0.1.0/24 masquerade\n'
        '\t}\n'
        '\n'
        '\tchain forward {\n'
        '\t\ttype filter hook forward priority filter; policy accept;\n'
        '\t\tiifname "xenbr1" ip saddr != 10.0.1.0/24 drop\n'
        '\t\toifname "xenbr1" ct state established,related accept\n'
        '\t\toifname "xenbr1" ct status dnat accept\n'
        '\t\toifname "xenbr1" iifname != "xenbr1" drop\n'
        '\t}\n'
        '}\n')


def test_port_forward_from_any_local_address_on_the_uplink_with_masquerade():
    text = render_table(spec(port_forwards=[dict(port=8080, to_ip='10.0.1.5', to_port=80)]), GATEWAY)
    assert 'iifname "eth0" fib daddr type local tcp dport 8080 dnat to 10.0.1.5:80 comment "port forward tcp/8080"' in rules(text)
    assert not any(rule.startswith('iifname "xenbr1" fib') for rule in rules(text))


def test_hairpin_forward_also_from_the_bridge_except_to_the_gateway_and_masquerades_the_guest_leg():
    text = render_table(spec(port_forwards=[dict(port=8080, to_ip='10.0.1.5', to_port=80, hairpin=True)]), GATEWAY)
    assert ('iifname "xenbr1" fib daddr type local ip daddr != 10.0.1.1 tcp dport 8080 dnat to 10.0.1.5:80 '
            'comment "port forward tcp/8080"') in rules(text)
    assert 'oifname "xenbr1" ip saddr 10.0.1.0/24 ct status dnat masquerade' in rules(text)


def test_snat_to_translates_to_and_forwards_from_that_address_only():
    text = render_table(spec(snat_to='192.0.2.20', port_forwards=[dict(proto='udp', port=53, to_ip='10.0.1.5', hairpin=True)]), GATEWAY)
    assert 'oifname "eth0" ip saddr 10.0.1.0/24 snat to 192.0.2.20' in rules(text)
    assert 'iifname "eth0" ip daddr 192.0.2.20 udp dport 53 dnat to 10.0.1.5:53 comment "port forward udp/53"' in rules(text)
    assert 'iifname "xenbr1" ip daddr 192.0.2.20 udp dport 53 dnat to 10.0.1.5:53 comment "port forward udp/53"' in rules(text)
    assert 'oifname "eth0" ip saddr 10.0.1.0/24 masquerade' not in rules(text)


def test_routed_network_has_no_source_nat_and_lets_traffic_in():
    text = render_table(spec(masquerade=False), GATEWAY)
    assert 'chain postrouting' not in text
    assert rules(text) == ['iifname "xenbr1" ip saddr != 10.0.1.0/24 drop']


def test_normalized_listing_drops_handles_and_metainfo():
    listing = [{'metainfo': {'version': '1.0.6'}}, {'table': {'family': 'ip', 'name': 't', 'handle': 4}},
               {'rule': {'family': 'ip', 'table': 't', 'chain': 'c', 'handle': 9, 'expr': [{'accept': None}]}}]
    assert normalize_listing(listing) == [{'table': {'family': 'ip', 'name': 't'}},
                                          {'rule': {'chain': 'c', 'expr': [{'accept': None}], 'family': 'ip', 'table': 't'}}]
    assert normalize_listing(None) is None


def test_table_is_current_only_for_the_same_rendering_and_an_unchanged_listing():
    text = render_table(spec(), GATEWAY)
    listing = [{'table': {'family': 'ip', 'name': 'xenfleet_nat_guests'}}]
    record = dict(fingerprint=fingerprint(text), listing=listing)
    assert table_current(record, listing, text)
    assert not table_current(record, None, text)                                   # table deleted
    assert not table_current(record, listing + [{'rule': {}}], text)               # edited by hand
    assert not table_current(record, listing, render_table(spec(subnet='10.0.2.0/24'), GATEWAY))  # new rendering
    assert not table_current({}, listing, text)                                    # never applied by us


# ---------------------------------------------------------------- hostile values (validation bypassed)

@pytest.mark.parametrize('field', ['uplink', 'bridge'])
@pytest.mark.parametrize('name', ['x";drop#', 'x\nflush ruleset', 'a\\b', 'x\0y', 'b' * 16, 'vif*', ''])
def test_a_device_name_nft_cannot_carry_is_refused_naming_the_field(field, name):
    hostile = spec(port_forwards=[dict(port=80, to_ip='10.0.1.5', hairpin=True)])
    setattr(hostile, field, name)
    with pytest.raises(NftQuoteError) as raised:
        render_table(hostile, GATEWAY)
    assert str(raised.value).startswith('%s %r' % (field, name))


def test_a_name_that_would_leave_the_comment_is_refused():
    hostile = spec()
    hostile.name = 'x" drop'
    with pytest.raises(NftQuoteError, match=r"""name 'x" drop' holds '"'"""):
        render_table(hostile, GATEWAY)


def test_a_protocol_is_written_only_when_it_is_one_nft_knows():
    hostile = spec(port_forwards=[dict(port=80, to_ip='10.0.1.5')])
    hostile.port_forwards[0].proto = 'tcp dport 22 accept; tcp'
    with pytest.raises(NftQuoteError, match="port_forwards proto 'tcp dport 22 accept; tcp' is not one of tcp, udp"):
        render_table(hostile, GATEWAY)
