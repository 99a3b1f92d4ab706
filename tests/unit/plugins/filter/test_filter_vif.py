# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.xenfleet.network.plugins.filter.vif import FilterModule

FILTERS = FilterModule().filters()


def test_every_filter_is_exposed():
    assert set(FILTERS) == {'mac_from_ip', 'mac_from_name', 'mac_auto', 'vifname_auto', 'render_vif', 'parse_vif'}


def test_mac_filters():
    assert FILTERS['mac_from_ip']('10.0.0.5') == '02:00:0a:00:00:05'
    assert FILTERS['mac_from_ip'](['192.0.2.7/24'], '06:1a') == '06:1a:c0:00:02:07'
    assert FILTERS['mac_from_name']('backup', 1).startswith('00:16:3e:')
    assert FILTERS['mac_auto']('web', 0, '10.0.0.5') == '02:00:0a:00:00:05'
    assert FILTERS['mac_auto']('web', 0) == FILTERS['mac_from_name']('web', 0)


def test_vifname_filter():
    assert FILTERS['vifname_auto']('web', 0) == 'web-0'
    assert FILTERS['vifname_auto']('web', 0, taken=['web-0']) != 'web-0'
    assert len(FILTERS['vifname_auto']('windows-2019', 0, emulated=True)) <= 11


def test_render_and_parse_are_inverses():
    vif = {'bridge': 'xenbr0', 'ip': ['10.0.0.5'], 'mac': '02:00:0a:00:00:05', 'vifname': 'web-0'}
    text = FILTERS['render_vif'](vif)
    assert text == 'mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0'
    assert FILTERS['parse_vif'](text) == vif


def test_render_normalises_a_vif_string():
    assert FILTERS['render_vif']('bridge=xenbr0, mac=00:16:3E:00:00:01') == 'mac=00:16:3e:00:00:01,bridge=xenbr0'


@pytest.mark.parametrize('name, args, message', [
    ('mac_from_ip', ('2001:db8::1',), 'mac_from_ip: ip '),
    ('mac_from_ip', ('10.0.0.5', '01:00'), 'mac_from_ip: mac prefix'),
    ('mac_from_name', ('',), "mac_from_name: guest '' is empty; a guest needs a name"),
    ('mac_auto', ('../../etc/x', 0), "mac_auto: guest '../../etc/x' holds '/'"),
    ('vifname_auto', ('web;id', 0), "vifname_auto: guest 'web;id' holds ';'"),
    ('vifname_auto', ('web', 0, 4), 'vifname_auto: vifname length 4'),
    ('render_vif', ({'mac': 'auto'},), "render_vif: mac is 'auto'"),
    ('render_vif', ({'colour': 'blue'},), "render_vif: 'colour' is not a vif key"),
    ('render_vif', ({'bridge': 'a,b'},), 'holds'),
    ('parse_vif', (['bridge=x'],), 'parse_vif: expects an xl vif string'),
])
def test_filter_errors_name_the_filter(name, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        FILTERS[name](*args)
