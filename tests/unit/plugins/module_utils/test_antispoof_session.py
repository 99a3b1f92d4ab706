# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import session

from antispoof_testing import spec


def test_the_client_comes_from_sshd():
    assert session.ssh_client({'SSH_CONNECTION': '10.0.2.2 50412 10.0.2.15 22'}) == '10.0.2.2'
    assert session.ssh_client({}) is None
    assert session.ssh_client({'SSH_CONNECTION': 'garbage'}) is None


def test_a_management_nic_the_policy_does_not_know_is_refused_once_it_closes():
    # the real-Xen lane's routed dom0: SSH rides eth0, the model knows only the uplink up0
    closed = spec(host_interfaces=['up0'], trusted_ports=['up1'])
    assert session.closes(closed)
    assert 'host_interfaces' in session.dropped_session_device(closed, 'eth0')


@pytest.mark.parametrize('device, extra', [
    ('lo', {}),
    ('eth0', {'host_interfaces': ['up0', 'eth0']}),
    ('eth0', {'host_interfaces': ['up0'], 'trusted_ports': ['eth*']}),
    ('wg0', {'host_interfaces': ['wg*']}),
    (None, {}),
])
def test_what_passes_keeps_the_session(device, extra):
    params = dict({'host_interfaces': ['up0'], 'trusted_ports': ['up1']}, **extra)
    assert session.dropped_session_device(spec(**params), device) is None


@pytest.mark.parametrize('params', [{}, {'host_interfaces': ['up0'], 'unlisted_vifs': 'accept'}, {'host_interfaces': ['up0'], 'state': 'absent'}])
def test_a_policy_that_closes_nothing_cuts_nothing(params):
    assert not session.closes(spec(**params))
    assert session.dropped_session_device(spec(**params), 'eth0') is None
