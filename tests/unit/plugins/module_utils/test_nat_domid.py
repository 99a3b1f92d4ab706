# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.nat.domid import (
    devid_problem, domid_problem, vif_nat_address, vif_nat_hostname)


@pytest.mark.parametrize('domid, devid, address', [
    (1, 0, '10.0.1.1'),
    (5, 1, '10.0.5.2'),
    (255, 0, '10.0.255.1'),
    (256, 0, '10.1.0.1'),
    (300, 2, '10.1.44.3'),
    (32751, 0, '10.127.239.1'),
])
def test_address_is_vif_nat_ip_from_dom(domid, devid, address):
    # vif-nat: "10.$(( domid / 256 )).$(( domid % 256 )).$(( devid + 1 ))"
    assert str(vif_nat_address(domid, devid)) == address


def test_hostname_is_dom_domid_with_the_vif_number_after_the_first():
    assert [vif_nat_hostname(7, devid) for devid in (0, 1, 2)] == ['dom7', 'dom7-2', 'dom7-3']


def test_domid_range():
    assert domid_problem('domid', 1) is None
    assert domid_problem('domid', 0) == "domid '0' is dom0's; guests have domids 1 to 32751"
    assert domid_problem('domid', 32752) == "domid '32752' is not a guest domid; Xen uses 1 to 32751"


def test_devid_leaves_room_for_vif_nat_router():
    assert devid_problem('devid', 127) is None
    assert devid_problem('devid', 128) == "devid '128' must be between 0 and 127 (vif-nat puts the router 127 above the address)"
