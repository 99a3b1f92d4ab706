# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof.structure import structure_of


def rule(chain, handle, expr, packets=0):
    return {'rule': {'family': 'bridge', 'table': 't', 'chain': chain, 'handle': handle,
                     'expr': expr + [{'counter': {'packets': packets, 'bytes': 0}}]}}


CHECK = [{'match': {'op': '!=', 'left': {'meta': {'key': 'iifname'}}, 'right': '@macs'}}, {'goto': {'target': 'refuse'}}]
ACCEPT = [{'accept': None}]


def test_handles_and_counter_values_do_not_count():
    assert structure_of([rule('c', 2, CHECK, 5), rule('c', 3, ACCEPT)]) == structure_of([rule('c', 7, CHECK), rule('c', 9, ACCEPT, 1)])


def test_the_same_rules_in_another_order_are_another_filter():
    # the final accept moved before the check lets every frame through, though every rule is still there
    assert structure_of([rule('c', 2, CHECK), rule('c', 3, ACCEPT)]) != structure_of([rule('c', 4, ACCEPT), rule('c', 2, CHECK)])


def test_the_order_of_chains_in_the_listing_does_not_count():
    ours = [rule('a', 2, CHECK), rule('b', 3, ACCEPT)]
    assert structure_of(ours) == structure_of(list(reversed(ours)))
