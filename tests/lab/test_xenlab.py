"""Tests of the namespace lab itself: topology, Xen look-alikes, sshd, isolation and cleanup (root only)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xenlab  # noqa: E402
from pytest_xenlab import lab_fixture, requires_root  # noqa: E402

pytestmark = requires_root

XENLAB = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'xenlab.py')

SPEC = {
    'internet': True,
    'guests': [
        {'name': 'g1', 'vif': 'vif1.0', 'mac': '02:00:0a:00:00:05', 'ipv4': ['10.0.0.5/24'], 'ipv6': ['2001:db8:10::5/64'], 'gateway4': '10.0.0.1'},
        {'name': 'g2', 'vif': 'vif2.0', 'ipv4': ['10.0.0.6/24'], 'ipv6': ['2001:db8:10::6/64']},
    ],
}
SMALL_SPEC = {'ssh': False, 'guests': [{'name': 'g1', 'ipv4': ['10.0.0.5/24']}]}


@pytest.fixture(scope='module')
def lab():
    with lab_fixture(SPEC) as built:
        yield built


def lab_namespaces(prefix):
    listed = subprocess.run(['ip', 'netns', 'list'], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(prefix + '-')]


def links(lab, role):
    return {link['ifname']: link for link in json.loads(lab.run(role, ['ip', '-j', '-d', 'link', 'show']).stdout)}


def assert_gone(prefix, workdir, pids=()):
    assert lab_namespaces(prefix) == []
    assert not os.path.exists(xenlab._marker_path(prefix))
    assert workdir is None or not os.path.exists(workdir)
    for pid in pids:
        stat = xenlab._proc_stat(pid)
        assert stat is None or stat.state == 'Z'


def cli(*args, check=True):
    return subprocess.run([sys.executable, XENLAB] + list(args), capture_output=True, text=True, check=check, timeout=60)


def dead_pid():
    process = subprocess.Popen(['true'])
    process.wait()
    return process.pid


# ------------------------------------------------------------------ topology

def test_dom0_reaches_upstream_over_ipv4_and_ipv6(lab):
    assert lab.ping('dom0', '192.0.2.1')
    assert lab.ping('dom0', '2001:db8:1::1')
    assert lab.ping('upstream', '192.0.2.10')
    uplink = links(lab, 'dom0')['eth0']
    assert uplink['address'] == '02:00:00:00:00:10'
    routes = lab.run('dom0', ['ip', '-6', 'route', 'show', 'default']).stdout
    assert 'via 2001:db8:1::1' in routes


def test_guest_vifs_exist_in_dom0_unattached(lab):
    dom0 = links(lab, 'dom0')
    for guest in ('g1', 'g2'):
        vif = dom0[lab.guest(guest)['vif']]
        assert 'master' not in vif
        assert 'UP' in vif['flags']
    assert set(dom0) >= {'vif1.0', 'vif2.0'}
    eth0 = links(lab, 'g1')['eth0']
    assert eth0['address'] == '02:00:0a:00:00:05'
    assert '10.0.0.5/24' in lab.run('g1', ['ip', '-4', 'addr', 'show', 'eth0']).stdout
    assert 'default via 10.0.0.1' in lab.run('g1', ['ip', 'route']).stdout


def test_plugged_guests_ping_each_other_over_a_dom0_bridge(lab):
    lab.run('dom0', ['ip', 'link', 'add', 'xenbr0', 'type', 'bridge'])
    lab.run('dom0', ['ip', 'link', 'set', 'xenbr0', 'up'])
    try:
        assert not lab.ping('g1', '10.0.0.6', timeout=1)  # unattached vifs carry nothing
        lab.plug('g1', 'xenbr0')
        lab.plug('g2', 'xenbr0')
        assert links(lab, 'dom0')['vif1.0']['master'] == 'xenbr0'
        assert lab.state['guests']['g1']['bridge'] == 'xenbr0'
        assert lab.ping('g1', '10.0.0.6')
        assert lab.ping('g2', '2001:db8:10::5')
    finally:
        lab.unplug('g1')
        lab.unplug('g2')
        lab.run('dom0', ['ip', 'link', 'del', 'xenbr0'])


def test_internet_is_reachable_through_upstream(lab):
    assert lab.ping('upstream', '198.51.100.2')
    # The route back to dom0's segment goes through upstream's forwarding.
    assert lab.ping('internet', '192.0.2.10')
    assert lab.ping('dom0', '198.51.100.2')


def test_sshd_answers_from_upstream(lab):
    key = lab.state['ssh']['private_key']
    command = lab.controller_prefix() + ['ssh', '-F', '/dev/null', '-i', key, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                                         '-o', 'UserKnownHostsFile=/dev/null', 'root@192.0.2.10', 'true']
    assert subprocess.run(command, capture_output=True, timeout=30, check=False).returncode == 0
    # It listens on dom0's uplink address only.
    listening = lab.run('dom0', ['ss', '-Hltn']).stdout.split()
    assert '192.0.2.10:22' in listening and '0.0.0.0:22' not in listening
    # The command runs in dom0's namespace, so it sees the vifs.
    assert 'vif1.0' in lab.ssh(['ip', '-br', 'link']).stdout


def test_restart_guest_recreates_the_veth(lab):
    before = links(lab, 'dom0')['vif1.0']['ifindex']
    lab.restart_guest('g1')
    after = links(lab, 'dom0')['vif1.0']
    assert after['ifindex'] != before
    assert 'master' not in after
    assert links(lab, 'g1')['eth0']['address'] == '02:00:0a:00:00:05'
    assert lab.ping('g1', '10.0.0.5')
    assert 'default via 10.0.0.1' in lab.run('g1', ['ip', 'route']).stdout


def test_restart_guest_can_replug(lab):
    lab.run('dom0', ['ip', 'link', 'add', 'xenbr1', 'type', 'bridge'])
    try:
        lab.plug('g2', 'xenbr1')
        lab.restart_guest('g2', replug=True)
        assert links(lab, 'dom0')['vif2.0']['master'] == 'xenbr1'
    finally:
        lab.unplug('g2')
        lab.run('dom0', ['ip', 'link', 'del', 'xenbr1'])


# ------------------------------------------------------------------ state, inventory, wrapper

def test_state_json_and_inventory(lab):
    state = lab.state
    with open(os.path.join(lab.workdir, 'state.json'), encoding='utf-8') as handle:
        assert json.load(handle)['namespaces'] == state['namespaces']
    assert state['guests']['g2']['vif'] == 'vif2.0'
    assert state['namespaces']['internet'] == lab.ns('internet')
    with open(state['inventory'], encoding='utf-8') as handle:
        inventory = handle.read()
    assert '[lab_local]\ndom0 ansible_connection=local' in inventory
    assert 'dom0_ssh ansible_host=192.0.2.10' in inventory
    assert 'lab_prefix=%s' % lab.prefix in inventory


def test_inventory_parses_with_ansible(lab):
    ansible_inventory = os.path.join(os.path.dirname(sys.executable), 'ansible-inventory')
    if not os.path.exists(ansible_inventory):
        pytest.skip('ansible-inventory is not installed next to this Python')
    result = subprocess.run([ansible_inventory, '-i', lab.state['inventory'], '--list'], capture_output=True, text=True, check=True, timeout=60)
    hostvars = json.loads(result.stdout)['_meta']['hostvars']
    assert hostvars['dom0']['lab_prefix'] == lab.prefix
    assert [guest['vif'] for guest in hostvars['dom0']['lab_guests']] == ['vif1.0', 'vif2.0']
    assert json.loads(hostvars['dom0_ssh']['lab_guests_json'])[0]['name'] == 'g1'


def test_python_wrapper_runs_inside_dom0(lab):
    wrapper = lab.state['python_wrapper']
    names = subprocess.run([wrapper, '-c', 'import socket; print(sorted(n for _, n in socket.if_nameindex()))'],
                           capture_output=True, text=True, check=True, timeout=30).stdout
    assert 'vif1.0' in names and 'eth0' in names


# ------------------------------------------------------------------ isolation and cleanup

def test_two_labs_at_once_do_not_collide(lab):
    with lab_fixture(SPEC) as second:
        assert second.prefix != lab.prefix
        assert not set(second.state['namespaces'].values()) & set(lab.state['namespaces'].values())
        second.run('dom0', ['ip', 'link', 'set', 'vif1.0', 'down'])
        assert lab.ping('dom0', '192.0.2.1') and second.ping('dom0', '192.0.2.1')
        assert 'UP' in links(lab, 'dom0')['vif1.0']['flags']
        assert second.ssh(['true']).returncode == 0
    assert lab.ping('dom0', '192.0.2.1')


def test_down_removes_everything_even_when_the_block_raised():
    seen = {}
    with pytest.raises(RuntimeError, match='test failure'):
        with xenlab.Lab(SPEC) as built:
            seen.update(prefix=built.prefix, workdir=built.workdir, sshd=built.state['ssh']['pid'])
            assert len(lab_namespaces(built.prefix)) == 5
            raise RuntimeError('test failure')
    assert_gone(seen['prefix'], seen['workdir'], [seen['sshd']])
    built.down()  # a second down is harmless


def test_failed_up_tears_down_what_it_built(monkeypatch):
    def broken_sshd(_lab):
        raise xenlab.LabError('sshd broke')

    monkeypatch.setattr(xenlab.Lab, '_start_sshd', broken_sshd)
    broken = xenlab.Lab(SMALL_SPEC | {'ssh': True})
    with pytest.raises(xenlab.LabError, match='sshd broke'):
        broken.up()
    assert_gone(broken.prefix, None)


def test_spec_mistakes_are_reported():
    with pytest.raises(xenlab.LabError, match='unknown spec keys'):
        xenlab.Lab({'guest': []})
    with pytest.raises(xenlab.LabError, match='not a usable interface name'):
        xenlab.Lab({'guests': [{'vif': 'vif-with-a-long-name'}]})
    with pytest.raises(xenlab.LabError, match='used twice'):
        xenlab.Lab({'guests': [{'vif': 'vif1.0'}, {'vif': 'vif1.0'}]})


def test_cli_up_exec_plug_restart_down(tmp_path):
    spec = tmp_path / 'spec.json'
    spec.write_text(json.dumps(SPEC))
    workdir = str(tmp_path / 'lab')
    up = cli('up', '--spec', str(spec), '--workdir', workdir)
    assert up.stdout.strip().splitlines() == [workdir]
    try:
        cli('exec', '--workdir', workdir, 'dom0', '--', 'ip', 'link', 'add', 'xenbr0', 'type', 'bridge')
        cli('plug', '--workdir', workdir, 'g1', 'xenbr0')
        assert 'master xenbr0' in cli('exec', '--workdir', workdir, 'dom0', '--', 'ip', 'link', 'show', 'vif1.0').stdout
        cli('restart-guest', '--workdir', workdir, 'g1')
        assert 'master' not in cli('exec', '--workdir', workdir, 'dom0', '--', 'ip', 'link', 'show', 'vif1.0').stdout
        assert cli('exec', '--workdir', workdir, 'g1', '--', 'false', check=False).returncode == 1
    finally:
        prefix = json.loads(cli('state', '--workdir', workdir).stdout)['prefix']
        cli('down', '--prefix', prefix)
    assert_gone(prefix, workdir)
    assert cli('down', '--workdir', workdir).returncode == 0


def test_sweep_removes_only_orphaned_stamped_labs(lab):
    orphan = cli('up', '--owner-pid', str(dead_pid()))
    orphan_state = json.loads(cli('state', '--workdir', orphan.stdout.strip()).stdout)
    # A marker naming a namespace the lab never stamped: sweep drops the marker but keeps the namespace.
    decoy_prefix = 'xltest%d' % os.getpid()
    decoy = decoy_prefix + '-dom0'
    subprocess.run(['ip', 'netns', 'add', decoy], check=True)
    xenlab._claim_marker(decoy_prefix, {'prefix': decoy_prefix, 'spec': {'ssh': False}, 'owner': {'pid': dead_pid(), 'starttime': 0}})
    try:
        removed = xenlab.sweep(only={orphan_state['prefix'], lab.prefix, decoy_prefix})
        assert sorted(removed) == sorted([orphan_state['prefix'], decoy_prefix])
        assert_gone(orphan_state['prefix'], orphan_state['workdir'], [orphan_state['ssh']['pid']])
        assert lab.ping('dom0', '192.0.2.1')  # the live lab was left alone
        assert lab_namespaces(decoy_prefix) == [decoy]
        assert not os.path.exists(xenlab._marker_path(decoy_prefix))
    finally:
        subprocess.run(['ip', 'netns', 'del', decoy], check=True)
        if os.path.exists(xenlab._marker_path(decoy_prefix)):
            os.unlink(xenlab._marker_path(decoy_prefix))
