# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import (
    VALUED_KEYS,
    VifSpec,
    parse_vif,
    render_vif,
    spec_from_dict,
)

# Every key xl-network-configuration(5) documents for Xen 4.17 and later.
DOCUMENTED = {'mac', 'bridge', 'gatewaydev', 'type', 'model', 'vifname', 'script', 'ip', 'backend', 'rate', 'devid', 'mtu', 'vlan'}


def test_every_documented_key_is_known():
    assert set(VALUED_KEYS) == DOCUMENTED


def test_issue_example_parses_into_fields():
    spec = parse_vif('mac=00:16:3e:0a:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web0')
    assert spec == VifSpec(mac='00:16:3e:0a:00:05', bridge='xenbr0', ip=('10.0.0.5',), vifname='web0')


def test_issue_example_renders_back_unchanged():
    text = 'mac=00:16:3e:0a:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web0'
    assert render_vif(parse_vif(text)) == text


def test_empty_spec_is_all_defaults():
    assert parse_vif('') == VifSpec()
    assert render_vif(VifSpec()) == ''


def test_keys_render_in_canonical_order_whatever_the_input_order():
    spec = parse_vif('vifname=a,devid=1,mtu=9000,backend=dd,type=ioemu,model=e1000,script=vif-route,bridge=br,mac=02:00:00:00:00:01,'
                     'gatewaydev=eth0,rate=10Mb/s,vlan=10,ip=10.0.0.1')
    assert render_vif(spec) == ('mac=02:00:00:00:00:01,bridge=br,ip=10.0.0.1,vifname=a,type=ioemu,model=e1000,gatewaydev=eth0,'
                                'script=vif-route,backend=dd,rate=10Mb/s,mtu=9000,vlan=10,devid=1')


def test_ip_is_a_space_separated_list():
    spec = parse_vif('ip=10.0.0.5 10.0.0.6/32  2001:db8::5')
    assert spec.ip == ('10.0.0.5', '10.0.0.6/32', '2001:db8::5')
    assert render_vif(spec) == 'ip=10.0.0.5 10.0.0.6/32 2001:db8::5'


def test_netdev_is_read_as_gatewaydev():
    assert parse_vif('netdev=eth0').gatewaydev == 'eth0'
    assert render_vif(parse_vif('netdev=eth0')) == 'gatewaydev=eth0'


def test_the_last_of_a_repeated_key_wins_as_in_xl():
    assert parse_vif('bridge=a,bridge=b').bridge == 'b'
    assert parse_vif('gatewaydev=a,netdev=b').gatewaydev == 'b'
    assert parse_vif('trusted,untrusted').trusted is False


def test_trusted_and_untrusted_are_flags():
    assert parse_vif('trusted').trusted is True
    assert parse_vif('bridge=x,untrusted').trusted is False
    assert render_vif(VifSpec(trusted=True)) == 'trusted'
    assert render_vif(VifSpec(trusted=False)) == 'untrusted'


def test_unknown_keys_are_kept_in_order_after_known_ones():
    spec = parse_vif('accel=x,bridge=xenbr0,forwarddev=eth1,colo_sock_mirror_id=m1,weird')
    assert spec.extra == ('accel=x', 'forwarddev=eth1', 'colo_sock_mirror_id=m1', 'weird')
    assert render_vif(spec) == 'bridge=xenbr0,accel=x,forwarddev=eth1,colo_sock_mirror_id=m1,weird'


def test_a_known_key_without_value_is_kept_as_unknown_like_xl_does():
    # xl matches 'mac=' as a prefix: a bare 'mac' is an unrecognised argument.
    assert parse_vif('mac').extra == ('mac',)
    assert parse_vif('mac').mac is None


def test_empty_pieces_and_leading_spaces_are_ignored_like_strtok():
    spec = parse_vif(' mac=00:16:3e:00:00:01,,  bridge=xenbr0, ')
    assert spec == VifSpec(mac='00:16:3e:00:00:01', bridge='xenbr0')


def test_trailing_spaces_of_a_value_are_kept_since_xl_keeps_them():
    assert parse_vif('bridge=xenbr0 ').bridge == 'xenbr0 '


def test_value_may_hold_equals_signs():
    assert parse_vif('script=/x/y=z').script == '/x/y=z'


def test_mac_is_made_canonical():
    assert parse_vif('mac=00:16:3E:A:0:5').mac == '00:16:3e:0a:00:05'
    assert parse_vif('mac=00-16-3e-0a-00-05').mac == '00:16:3e:0a:00:05'
    assert parse_vif('mac=00:16:3e:0a:00:05 ').mac == '00:16:3e:0a:00:05'


def test_an_invalid_mac_is_kept_for_validation_to_report():
    assert parse_vif('mac=zz:16').mac == 'zz:16'


def test_numbers_lose_leading_zeros_but_words_are_kept():
    assert parse_vif('mtu=01500').mtu == '1500'
    assert parse_vif('mtu=big').mtu == 'big'


def test_to_dict_gives_lists_and_numbers():
    spec = parse_vif('mac=00:16:3e:0a:00:05,ip=10.0.0.5,mtu=9000,devid=2,trusted,accel=1')
    assert spec.to_dict() == {'mac': '00:16:3e:0a:00:05', 'ip': ['10.0.0.5'], 'mtu': 9000, 'devid': 2, 'trusted': True, 'extra': ['accel=1']}


def test_spec_from_dict_accepts_numbers_lists_aliases_and_extra_mapping():
    spec = spec_from_dict({'netdev': 'eth0', 'mtu': 9000, 'ip': ['10.0.0.5', '10.0.0.6'], 'extra': {'accel': 'x', 'flag': None}, 'rate': None})
    assert spec == VifSpec(gatewaydev='eth0', mtu='9000', ip=('10.0.0.5', '10.0.0.6'), extra=('accel=x', 'flag'))


def test_spec_from_dict_refuses_unknown_keys_with_a_hint():
    with pytest.raises(ValueError, match="'colour' is not a vif key xl documents; put it under 'extra'"):
        spec_from_dict({'colour': 'blue'})


def test_spec_from_dict_refuses_alias_and_key_together():
    with pytest.raises(ValueError, match='both set gatewaydev'):
        spec_from_dict({'netdev': 'eth0', 'gatewaydev': 'eth1'})


@pytest.mark.parametrize('fields, message', [
    ({'bridge': 'a,b'}, "vif field 'bridge' value 'a,b' holds ','"),
    ({'ip': ['10.0.0.1,10.0.0.2']}, "vif field 'ip' value '10.0.0.1,10.0.0.2' holds ','"),
    ({'vifname': True}, "vif field 'vifname' must be a string"),
    ({'trusted': 'yes'}, "vif field 'trusted' must be true, false or absent"),
    ({'extra': ['bridge=x']}, "vif extra entry 'bridge=x' sets the documented key 'bridge'"),
    ({'extra': ['untrusted']}, "vif extra entry 'untrusted' sets the documented key 'trusted'"),
])
def test_a_spec_xl_could_not_read_back_is_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        VifSpec(**fields)


def test_xls_own_ip_string_is_split_at_white_space():
    assert VifSpec(ip='10.0.0.1  10.0.0.2').ip == ('10.0.0.1', '10.0.0.2')
    assert parse_vif('ip=10.0.0.1 10.0.0.2').ip == ('10.0.0.1', '10.0.0.2')


@pytest.mark.parametrize('entry', ['10.0.0.1 10.0.0.2', 'x y', 'x\ny', 'x\ry', 'x\ty', ' 10.0.0.1', '10.0.0.1\n'])
def test_an_ip_list_entry_holding_white_space_is_refused_whole(entry):
    # An address never holds white space: the entry is named as given, not split into values nobody wrote.
    with pytest.raises(ValueError) as error:
        VifSpec(ip=['10.0.0.3', entry])
    assert "vif field 'ip' value %r holds white space" % entry in str(error.value)


# ---------------------------------------------------------------- properties

# Values render_vif writes: anything but a comma (xl splits there), quotes, backslashes and control characters (UNWRITABLE).
VALUES = st.text(alphabet=st.characters(blacklist_characters=',"\'\\', blacklist_categories=('Cs', 'Cc')), max_size=12)
IP_ENTRIES = st.lists(st.text(alphabet=st.characters(blacklist_characters=',"\'\\', blacklist_categories=('Cs', 'Zs', 'Cc', 'Zl', 'Zp')),
                              min_size=1, max_size=10).filter(lambda entry: entry.split() == [entry]), max_size=3)
MACS = st.one_of(VALUES, st.tuples(*[st.integers(0, 255)] * 6).map(lambda octets: ':'.join('%X' % octet for octet in octets)))
NUMBERS = st.one_of(VALUES, st.integers(0, 10 ** 6).map(str), st.integers(0, 999).map(lambda number: '00%d' % number))
EXTRA = st.lists(VALUES.map(lambda token: token.lstrip(' ')).filter(
    lambda token: token and token not in ('trusted', 'untrusted') and token.split('=', 1)[0] not in set(VALUED_KEYS) | {'netdev'}), max_size=3)


def _optional(strategy):
    return st.one_of(st.none(), strategy)


SPECS = st.builds(
    VifSpec,
    mac=_optional(MACS), bridge=_optional(VALUES), ip=_optional(IP_ENTRIES), vifname=_optional(VALUES), type=_optional(VALUES),
    model=_optional(VALUES), gatewaydev=_optional(VALUES), script=_optional(VALUES), backend=_optional(VALUES), rate=_optional(VALUES),
    mtu=_optional(NUMBERS), vlan=_optional(VALUES), devid=_optional(NUMBERS), trusted=_optional(st.booleans()), extra=EXTRA,
)

# Raw vif strings as people write them: known and unknown pieces in any
# order, odd spacing, repeated keys, empty pieces, the old netdev name.
PIECES = st.one_of(
    st.tuples(st.sampled_from(VALUED_KEYS + ('netdev',)), VALUES).map('='.join),
    st.sampled_from(['trusted', 'untrusted', '', ' ', 'accel=x', 'mac', 'colo_x=1=2']),
    VALUES,
)
RAW_SPECS = st.lists(st.tuples(st.sampled_from(['', ' ', '  ']), PIECES).map(''.join), max_size=8).map(','.join)


@settings(max_examples=300, deadline=None)
@given(SPECS)
def test_parse_of_render_gives_the_spec_back(spec):
    assert parse_vif(render_vif(spec)) == spec


@settings(max_examples=300, deadline=None)
@given(RAW_SPECS)
def test_render_of_parse_means_what_the_input_meant(text):
    # Meaning is what xl reads; reading the rendered string must give the same.
    spec = parse_vif(text)
    assert parse_vif(render_vif(spec)) == spec


@settings(max_examples=200, deadline=None)
@given(RAW_SPECS)
def test_rendering_is_idempotent(text):
    once = render_vif(parse_vif(text))
    assert render_vif(parse_vif(once)) == once


@settings(max_examples=200, deadline=None)
@given(SPECS)
def test_to_dict_and_back_gives_the_spec(spec):
    assert spec_from_dict(spec.to_dict()) == spec


UNWRITABLE_CHARACTERS = st.sampled_from(['"', "'", '\\', '\n', '\r', '\0', '\t', '\x1b', '\x7f'])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([key for key in VALUED_KEYS if key != 'ip'] + ['extra']), VALUES, UNWRITABLE_CHARACTERS)
def test_render_refuses_a_value_holding_a_quote_backslash_or_control_character(key, value, character):
    hostile = value + character
    spec = VifSpec(extra=('accel=' + hostile,)) if key == 'extra' else VifSpec(**{key: hostile})
    with pytest.raises(ValueError, match="vif field '%s' value .* holds" % key):
        render_vif(spec)
