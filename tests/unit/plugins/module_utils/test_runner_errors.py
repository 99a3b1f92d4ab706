# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Faults the modules meet on a real host end in a failed result naming the step and the object, never
in an exception escaping as a MODULE FAILURE traceback, and change nothing."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.antispoof import runner as antispoof_runner
from ansible_collections.xenfleet.network.plugins.module_utils.bridge import runner as bridge_runner
from ansible_collections.xenfleet.network.plugins.module_utils.common import locks, netlink
from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import Nft, NftError
from ansible_collections.xenfleet.network.plugins.module_utils.common.plan import Plan, PlanFailed, fail_with_rollback
from ansible_collections.xenfleet.network.plugins.module_utils.nat import runner as nat_runner
from ansible_collections.xenfleet.network.plugins.module_utils.vif import runner as vif_runner
from ansible_collections.xenfleet.network.tests.unit.plugins.module_utils.module_testing import Failed, FakeModule

CONFIG = b'name = "web"\nvif = [ "mac=02:00:0a:00:00:05,bridge=xenbr0" ]\n'


@pytest.fixture(autouse=True)
def lock_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(locks, 'LOCK_DIR', str(tmp_path / 'run-lock'))


def denied(path):
    def raise_denied(*args, **kwargs):
        raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
    return raise_denied


# ---------------------------------------------------------------- xen_vif

def vif_params(directory, **extra):
    params = dict(domain='web', config=None, config_dir=str(directory), devid=1, match=None, mac=None, bridge='xenbr0',
                  ip=None, vifname=None, script=None, rate=None, mtu=None, model=None, type=None, gatewaydev=None,
                  backend=None, state='present', replace=False, live=False, backup=False, mac_prefix='02:00',
                  bridge_subnets=None, claims=None)
    params.update(extra)
    return params


@pytest.fixture
def xen_dir(tmp_path):
    directory = tmp_path / 'xen'
    directory.mkdir()
    (directory / 'web.cfg').write_bytes(CONFIG)
    return directory


def test_vif_eacces_on_write_fails_naming_the_file_and_leaves_it(xen_dir, monkeypatch):
    config = str(xen_dir / 'web.cfg')
    monkeypatch.setattr(vif_runner, 'write_atomic', denied(config))
    with pytest.raises(Failed) as caught:
        vif_runner.run_vif_module(FakeModule(vif_params(xen_dir)))
    result = caught.value.result
    assert result['msg'] == 'writing %s: Permission denied; %s was not changed' % (config, config)
    assert result['changed'] is False and result['config'] == config
    assert (xen_dir / 'web.cfg').read_bytes() == CONFIG


def test_vif_enospc_on_write_fails_naming_the_file(xen_dir, monkeypatch):
    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(vif_runner, 'write_atomic', full)
    with pytest.raises(Failed, match=r'^writing .*/web.cfg: No space left on device; .*/web.cfg was not changed$'):
        vif_runner.run_vif_module(FakeModule(vif_params(xen_dir)))


def test_vif_unreadable_config_fails_naming_it(xen_dir, monkeypatch):
    config = str(xen_dir / 'web.cfg')
    monkeypatch.setattr(vif_runner, 'read_bytes', denied(config))
    with pytest.raises(Failed, match=r'^reading %s: Permission denied; %s was not changed$' % (config, config)):
        vif_runner.run_vif_module(FakeModule(vif_params(xen_dir)))


def test_vif_unreadable_config_dir_fails_instead_of_checking_nothing(xen_dir, monkeypatch):
    listdir = os.listdir

    def guarded(path='.'):
        if str(path) == str(xen_dir):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES), path)
        return listdir(path)
    monkeypatch.setattr(os, 'listdir', guarded)
    with pytest.raises(Failed) as caught:
        vif_runner.run_vif_module(FakeModule(vif_params(xen_dir)))
    assert caught.value.result['msg'] == (
        'reading the config directory %s (to check that MACs, addresses and vif names are unique): Permission denied; '
        '%s was not changed' % (xen_dir, xen_dir / 'web.cfg'))
    assert (xen_dir / 'web.cfg').read_bytes() == CONFIG


def test_vif_waits_for_the_lock_of_the_config_directory_by_its_real_path(xen_dir, tmp_path):
    alias = tmp_path / 'alias'
    alias.symlink_to(xen_dir)
    real = os.path.realpath(str(xen_dir))
    with locks.hold(locks.lock_path('xl', real), 'xen_vif', real, 0):
        with pytest.raises(Failed, match=r'^xen_vif waited 0 s for the lock on %s \(' % real):
            vif_runner.run_vif_module(FakeModule(vif_params(alias)))
    assert (xen_dir / 'web.cfg').read_bytes() == CONFIG


# ---------------------------------------------------------------- nft output

def test_nft_printing_no_json_is_an_nft_error_naming_the_listing():
    nft = Nft(lambda argv, **kwargs: (0, 'Segmentation fault\n', ''), 'nft')
    with pytest.raises(NftError, match=r'^nft -j list table bridge t printed no JSON \(.*\): .Segmentation fault'):
        nft.table_json('bridge', 't')
    nft = Nft(lambda argv, **kwargs: (0, '[1, 2]', ''), 'nft')
    with pytest.raises(NftError, match=r'printed JSON without an "nftables" list'):
        nft.table_json('bridge', 't')


def test_antispoof_fails_naming_the_listing_when_nft_prints_garbage(tmp_path):
    calls = []

    def run(argv, **kwargs):
        calls.append(argv)
        return (0, '<html>', '') if '-j' in argv else (1, '', 'unexpected')
    module = FakeModule(dict(state='present', backend='nftables', purge=False, vifs=[dict(name='vif1.0', mac=['02:00:00:00:00:01'])],
                             trusted_ports=None, unlisted_vifs='drop', vif_patterns=None, persist=True,
                             persist_path=str(tmp_path / 'as.nft'), manage_sysctl=False, cache_dir=None),
                        run_command=run, bin_paths={'nft': '/usr/sbin/nft'})
    with pytest.raises(Failed) as caught:
        antispoof_runner.run_antispoof_module(module)
    assert caught.value.result['msg'].startswith('xen_antispoof: nft -j list table bridge xenfleet_antispoof printed no JSON')
    assert not any('-f' in argv for argv in calls)
    assert not (tmp_path / 'as.nft').exists()


# ---------------------------------------------------------------- xen_nat

class NoLinks:
    def link(self, name):
        return None

    def close(self):
        pass


def nat_module(tmp_path, **extra):
    params = dict(name='guests', state='absent', bridge=None, uplink=None, subnet=None, gateway=None, public_address=None,
                  dhcp=None, forwards=None, state_dir=str(tmp_path / 'state'), config_dir=str(tmp_path / 'etc'),
                  systemd_unit_dir=str(tmp_path / 'units'), service_manager='process', dnsmasq_path='/usr/sbin/dnsmasq')
    params.update(extra)
    return FakeModule(params, run_command=lambda argv, **kwargs: (1, '', 'Error: No such file or directory'),
                      bin_paths={'nft': '/usr/sbin/nft'})


@pytest.mark.parametrize('content, reason', [(b'{"summary": {', 'not JSON: '), (b'[]', 'a JSON list where xen_nat keeps an object')])
def test_nat_corrupt_instance_json_fails_naming_it(tmp_path, monkeypatch, content, reason):
    record = tmp_path / 'state' / 'guests' / 'instance.json'
    record.parent.mkdir(parents=True)
    record.write_bytes(content)
    monkeypatch.setattr(nat_runner, 'Netlink', NoLinks)
    with pytest.raises(Failed) as caught:
        nat_runner.run_nat_module(nat_module(tmp_path))
    assert caught.value.result['msg'].startswith('xen_nat guests: reading %s: %s' % (record, reason))
    assert caught.value.result['msg'].endswith('. Nothing was changed.')
    assert record.read_bytes() == content


def test_nat_corrupt_forwarding_ledger_fails_naming_it(tmp_path, monkeypatch):
    ledger = tmp_path / 'state' / 'forwarding.json'
    ledger.parent.mkdir(parents=True)
    ledger.write_bytes(b'{"interfaces": {"eth0": "yes"}}')
    monkeypatch.setattr(nat_runner, 'Netlink', NoLinks)
    with pytest.raises(Failed, match=r'^xen_nat guests: reading %s: "interfaces" is not a map' % ledger):
        nat_runner.run_nat_module(nat_module(tmp_path))


def test_nat_netlink_that_cannot_open_fails_the_module(tmp_path, monkeypatch):
    def refuse():
        raise OSError(errno.EPERM, 'Operation not permitted')
    monkeypatch.setattr(netlink, 'IPRoute', refuse)
    with pytest.raises(Failed, match=r'^xen_nat guests: open a netlink socket: .*Operation not permitted. Nothing was changed.$'):
        nat_runner.run_nat_module(nat_module(tmp_path))


# ---------------------------------------------------------------- xen_bridge

class BrokenIPRoute:
    """Opens, then refuses every read."""

    def link_lookup(self, **kwargs):
        raise OSError(errno.EPERM, 'Operation not permitted')

    def close(self):
        pass


def bridge_module():
    return FakeModule(dict(name='xenbr0', state='present', uplink='eth0', mac=None, ports=[], addresses=None, routes=None,
                           stp=False, forward_delay=0, nf_call_iptables=False, mtu=None, persist='none', persist_path=None,
                           connectivity_check=None, connectivity_timeout=5))


def refuse_netlink():
    raise OSError(errno.EPERM, 'Operation not permitted')


class BridgeOnly:
    """The few spec fields the runner reads before the host refuses."""

    def __init__(self, params):
        self.name, self.uplink, self.ports, self.persist, self.state = params['name'], params['uplink'], [], 'none', 'present'


@pytest.mark.parametrize('iproute, message', [
    (refuse_netlink, 'open a netlink socket: '),
    (BrokenIPRoute, 'look up link xenbr0: '),
])
def test_bridge_netlink_errors_fail_the_module(monkeypatch, iproute, message):
    monkeypatch.setattr(netlink, 'IPRoute', iproute)
    monkeypatch.setattr(bridge_runner, 'BridgeSpec', BridgeOnly)
    with pytest.raises(Failed) as caught:
        bridge_runner.run_bridge_module(bridge_module())
    assert caught.value.result['msg'].startswith('xen_bridge xenbr0: ' + message)
    assert 'Operation not permitted' in caught.value.result['msg']


# ---------------------------------------------------------------- rollback

def test_a_rollback_reports_what_it_undid_what_needed_no_undo_and_what_failed():
    done = []
    plan = Plan()
    plan.add('create bridge b', lambda: done.append('create'), lambda: done.append('delete'))
    plan.add('bring b up', lambda: done.append('up'))
    plan.add('set MTU of eth0', lambda: done.append('mtu'), lambda: 1 / 0)
    plan.add('enslave eth0', lambda: done.append('enslave'), lambda: done.append('release'))
    plan.add('check the gateway', lambda: 1 / 0)
    with pytest.raises(PlanFailed) as caught:
        plan.apply()
    error = caught.value
    assert error.rolled_back == ['enslave eth0', 'create bridge b']
    assert error.no_undo == ['bring b up']
    assert error.rollback_errors == ["undo of 'set MTU of eth0': division by zero"]
    assert done == ['create', 'up', 'mtu', 'enslave', 'release', 'delete']
    assert str(error) == ("step 'check the gateway' failed: division by zero; rolled back 'enslave eth0', 'create bridge b'; "
                          "'bring b up' needed no undo; rollback incomplete: undo of 'set MTU of eth0': division by zero")
    with pytest.raises(Failed) as failed:
        fail_with_rollback(FakeModule({}), 'xen_bridge b', error, plan)
    result = failed.value.result
    assert 'left as it was' not in result['msg']
    assert result['failed_step'] == 'check the gateway' and result['plan'] == plan.names()


def test_a_complete_rollback_says_the_host_is_as_it_was():
    plan = Plan()
    plan.add('write f', lambda: None, lambda: None)
    plan.add('start dnsmasq', lambda: 1 / 0)
    with pytest.raises(PlanFailed) as caught:
        plan.apply()
    with pytest.raises(Failed) as failed:
        fail_with_rollback(FakeModule({}), 'xen_nat n', caught.value, plan)
    assert failed.value.result['msg'] == ("xen_nat n: step 'start dnsmasq' failed: division by zero; rolled back 'write f'. "
                                          "The host was left as it was before this task.")
    assert failed.value.result['rolled_back'] == ['write f'] and failed.value.result['rollback_errors'] == []
