# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one nft quoting helper: what it refuses, and that what it writes nft reads back as the value."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import subprocess

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError, NftQuoteError, nft_ifname, nft_string
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.hostile_values import HOSTILE_VALUES


@pytest.mark.parametrize('value', ['x";drop#', 'a\\b', 'x\ny', 'x\ry', 'x\0y', 'x\ty', 'x\x7fy', '"'])
def test_a_string_that_would_leave_its_quotes_is_refused(value):
    with pytest.raises(NftQuoteError) as raised:
        nft_string(value, 'comment')
    assert str(raised.value).startswith('comment %r holds' % value)
    assert isinstance(raised.value, NftError)  # the runners turn it into a failed result


@pytest.mark.parametrize('value', ['x;reboot', 'br$(id)', 'br`id`', "x'y", 'x y', 'x%n', 'brücke', 'x,y', 'x#y', '{}', ''])
def test_other_text_is_quoted_as_it_is(value):
    assert nft_string(value) == '"%s"' % value


@pytest.mark.parametrize('name', HOSTILE_VALUES)
def test_an_interface_name_is_refused_or_one_quoted_name_of_at_most_15_bytes(name):
    try:
        text = nft_ifname(name, 'uplink')
    except NftQuoteError as error:
        assert str(error).startswith('uplink %r' % name)
        return
    assert text == '"%s"' % name and 0 < len(name.encode('utf-8')) <= 15 and not name.endswith('*')


def test_only_a_pattern_may_end_in_the_wildcard():
    assert nft_ifname('vif*', 'vif_patterns', wildcard=True) == '"vif*"'
    with pytest.raises(NftQuoteError, match="ends in '\\*', which nft reads as a wildcard"):
        nft_ifname('vif*', 'vif name')


@pytest.mark.skipif(not shutil.which('nft') or not shutil.which('unshare') or os.geteuid() != 0,
                    reason='needs nft, unshare and root (nft --check in a network namespace of its own)')
@pytest.mark.parametrize('value', ['x;reboot', 'br$(id)', 'br`id`', "x'y", 'x y', 'x%n', 'brücke', 'x#y', 'a{b}'])
def test_nft_parses_what_the_helper_quotes_as_one_string(value):
    script = 'table inet xfquote {\n\tchain c {\n\t\tiifname %s accept comment %s\n\t}\n}\n' % (nft_ifname(value), nft_string(value))
    done = subprocess.run(['unshare', '--net', 'nft', '--check', '-f', '-'], input=script, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
