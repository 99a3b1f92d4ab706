"""Tests of the lab's reboot: reading units, sysctl and xl files, and a dom0 booted from files only (root)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import xenlab  # noqa: E402
from pytest_xenlab import lab_fixture, requires_root  # noqa: E402

BRIDGE = 'xlbootbr0'  # a name no root namespace has: the test shows it appears only inside dom0


# ---------------------------------------------------------------- reading files (no root needed)

def test_unit_words_split_like_systemd():
    assert xenlab.unit_words('/usr/sbin/nft -f "/a b/c.nft"') == ['/usr/sbin/nft', '-f', '/a b/c.nft']
    assert xenlab.unit_words("x 'one two' three\\x41 \"q\\\"x\" 100%% $$HOME") == ['x', 'one two', 'threeA', 'q"x', '100%', '$HOME']
    with pytest.raises(xenlab.BootError, match='does not expand'):
        xenlab.unit_words('nft -f $FILE')
    with pytest.raises(xenlab.BootError, match='does not expand'):
        xenlab.unit_words('nft -f %h/x.nft')
    with pytest.raises(xenlab.BootError, match='unterminated'):
        xenlab.unit_words('nft -f "x')


def test_exec_prefixes():
    assert xenlab.exec_command('-/usr/sbin/modprobe br_netfilter') == (True, ['/usr/sbin/modprobe', 'br_netfilter'])
    assert xenlab.exec_command('nft -f x') == (False, ['nft', '-f', 'x'])
    with pytest.raises(xenlab.BootError, match='prefix'):
        xenlab.exec_command('+nft -f x')


def test_only_firewall_and_net_sysctl_loaders_run(tmp_path):
    for argv in (['nft', '-f', 'x'], ['/usr/sbin/iptables-restore', '--noflush', 'x'], ['ebtables-restore'],
                 ['modprobe', 'br_netfilter'], ['sysctl', '-w', 'net.ipv4.ip_forward=1'],
                 ['sysctl', '-q', 'net/ipv4/conf/vif1.0/forwarding=1']):
        xenlab.check_boot_command(argv)
    good = tmp_path / 'good.conf'
    good.write_text('# comment\nnet.ipv4.ip_forward = 1\n-net/ipv6/conf/all/forwarding=1\n')
    xenlab.check_boot_command(['sysctl', '-p', str(good)])
    bad = tmp_path / 'bad.conf'
    bad.write_text('net.ipv4.ip_forward = 1\nkernel.panic = 1\n')
    for argv in (['rm', '-rf', '/'], ['sh', '-c', 'nft -f x'], ['ifup', '-a'], ['sysctl', '-w', 'kernel.panic=1'],
                 ['sysctl', '--system'], ['sysctl', '-p', str(bad)], ['sysctl', 'vm.swappiness=1']):
        with pytest.raises(xenlab.BootError, match='refusing'):
            xenlab.check_boot_command(argv)


def write_unit(directory, name, text, wanted_by='sysinit.target'):
    (directory / name).write_text(text)
    wants = directory / (wanted_by + '.wants')
    wants.mkdir(exist_ok=True)
    (wants / name).symlink_to(directory / name)


def test_boot_units_in_start_order_with_drop_ins(tmp_path):
    write_unit(tmp_path, 'b.service', '[Unit]\nDefaultDependencies=no\nBefore=network-pre.target\n[Service]\nType=oneshot\n'
                                      'ExecStart=nft -f /b.nft\n')
    write_unit(tmp_path, 'a.service', '[Unit]\nAfter=b.service\n[Service]\nExecStartPre=-modprobe x\n'
                                      'ExecStart=nft \\\n  -f /a.nft\nExecStart=\nExecStart=nft -f /a2.nft\n')
    (tmp_path / 'a.service.d').mkdir()
    (tmp_path / 'a.service.d' / 'extra.conf').write_text('[Service]\nExecStartPost=sysctl -w net.ipv4.ip_forward=0\n')
    units = xenlab.boot_units(str(tmp_path))
    assert [unit['name'] for unit in units] == ['b.service', 'a.service']
    assert units[0]['before'] == ['network-pre.target'] and not units[0]['default_dependencies']
    assert [(command['key'], command['ignore_failure'], command['argv']) for command in units[1]['commands']] == [
        ('ExecStartPre', True, ['modprobe', 'x']), ('ExecStart', False, ['nft', '-f', '/a2.nft']),
        ('ExecStartPost', False, ['sysctl', '-w', 'net.ipv4.ip_forward=0'])]
    assert xenlab.boot_units(str(tmp_path), 'multi-user.target') == []


def test_boot_units_refuse_a_cycle_and_a_dangling_link(tmp_path):
    write_unit(tmp_path, 'a.service', '[Unit]\nAfter=b.service\n[Service]\nExecStart=nft -f a\n')
    write_unit(tmp_path, 'b.service', '[Unit]\nAfter=a.service\n[Service]\nExecStart=nft -f b\n')
    with pytest.raises(xenlab.BootError, match='cycle'):
        xenlab.boot_units(str(tmp_path))
    other = tmp_path / 'other'
    other.mkdir()
    (other / 'sysinit.target.wants').mkdir()
    (other / 'sysinit.target.wants' / 'gone.service').symlink_to(other / 'nowhere.service')
    with pytest.raises(xenlab.BootError, match='neither'):
        xenlab.boot_units(str(other))


def test_xl_vifs_and_defaults(tmp_path):
    config = tmp_path / 'g1.cfg'
    config.write_text('name = "g1"\n# vif = [ "commented" ]\nvif = [ \'mac=02:00:c0:00:02:32,script=vif-route,ip=192.0.2.50 192.0.2.60,'
                      'vifname=g1-0\',\n  "bridge=xenbr1,vifname=g1-1" ]\nmemory = 512\n')
    assert xenlab.read_xl_vifs(str(config)) == [
        {'mac': '02:00:c0:00:02:32', 'script': 'vif-route', 'ip': '192.0.2.50 192.0.2.60', 'vifname': 'g1-0'},
        {'bridge': 'xenbr1', 'vifname': 'g1-1'}]
    conf = tmp_path / 'xl.conf'
    conf.write_text('autoballoon="off"\nvif.default.bridge = "xenbr0"  # comment\n')
    assert xenlab.read_xl_conf(str(conf)) == {'autoballoon': 'off', 'vif.default.bridge': 'xenbr0'}
    assert xenlab.read_xl_conf(str(tmp_path / 'missing')) == {}


def test_sysctl_files_by_name_first_path_wins(tmp_path):
    (tmp_path / 'd').mkdir()
    (tmp_path / 'd' / '70-b.conf').write_text('')
    (tmp_path / 'd' / '10-a.conf').write_text('')
    (tmp_path / 'd' / 'ignored.txt').write_text('')
    (tmp_path / '50-c.conf').write_text('')
    (tmp_path / 'e').mkdir()
    (tmp_path / 'e' / '10-a.conf').write_text('')
    assert xenlab.sysctl_files([str(tmp_path / 'd'), str(tmp_path / '50-c.conf'), str(tmp_path / 'e')]) == [
        str(tmp_path / 'd' / '10-a.conf'), str(tmp_path / '50-c.conf'), str(tmp_path / 'd' / '70-b.conf')]


# ---------------------------------------------------------------- booting a lab dom0 (root)

def root_has_link(name):
    return subprocess.run(['ip', 'link', 'show', 'dev', name], capture_output=True, check=False).returncode == 0


@requires_root
def test_reboot_builds_everything_inside_dom0_from_files_only(tmp_path):
    spec = {'guests': [{'name': 'g1', 'vif': 'g1-0', 'ipv4': ['192.0.2.21/24']},
                       {'name': 'g2', 'vif': 'g2-0', 'ipv4': ['192.0.2.50/32'], 'gateway4': '192.0.2.10'}]}
    assert not root_has_link(BRIDGE)
    run_network = sorted(os.listdir('/run/network')) if os.path.isdir('/run/network') else None
    with lab_fixture(spec) as lab:
        work = lab.workdir
        seen = os.path.join(work, 'seen')
        with open(os.path.join(work, 'network', 'interfaces'), 'w', encoding='utf-8') as handle:
            handle.write('source %s/network/interfaces.d/*\nauto lo\niface lo inet loopback\n'
                         'allow-hotplug eth0\niface eth0 inet manual\n' % work)
        with open(os.path.join(work, 'network', 'interfaces.d', BRIDGE), 'w', encoding='utf-8') as handle:
            # the up/pre-up lines record which hooks ifup finds: only bridge-utils' one
            handle.write('auto %s\niface %s inet static\n    bridge_ports eth0\n    bridge_fd 0\n    bridge_maxwait 0\n'
                         '    bridge_hw 02:00:00:00:00:10\n    address 192.0.2.10/24\n    gateway 192.0.2.1\n'
                         '    pre-up ls -A /etc/network/if-pre-up.d /etc/network/if-up.d >%s\n' % (BRIDGE, BRIDGE, seen))
        units = os.path.join(work, 'systemd')
        os.makedirs(os.path.join(units, 'sysinit.target.wants'))
        with open(os.path.join(work, 'fw.nft'), 'w', encoding='utf-8') as handle:
            handle.write('table inet xenfleet_boot_test\ndelete table inet xenfleet_boot_test\n'
                         'table inet xenfleet_boot_test { chain c { type filter hook input priority 0; policy accept; }; }\n')
        write_unit(__import__('pathlib').Path(units), 'fw.service',
                   '[Unit]\nDefaultDependencies=no\nBefore=network-pre.target\n[Service]\nType=oneshot\n'
                   'ExecStart=nft -f %s/fw.nft\n' % work)
        os.makedirs(os.path.join(work, 'sysctl.d'))
        with open(os.path.join(work, 'sysctl.d', '60-test.conf'), 'w', encoding='utf-8') as handle:
            handle.write('net/ipv4/conf/%s/forwarding = 1\nnet/ipv4/conf/g2-0/forwarding = 1\n' % BRIDGE)
        os.makedirs(os.path.join(work, 'xen'))
        with open(os.path.join(work, 'xen', 'g1.cfg'), 'w', encoding='utf-8') as handle:
            handle.write("vif = [ 'mac=02:00:c0:00:02:15,bridge=%s,vifname=g1-0' ]\n" % BRIDGE)
        with open(os.path.join(work, 'xen', 'g2.cfg'), 'w', encoding='utf-8') as handle:
            handle.write("vif = [ 'mac=02:00:c0:00:02:32,script=vif-route,gatewaydev=%s,ip=192.0.2.50,vifname=g2-0' ]\n" % BRIDGE)

        hooks = os.path.join(work, 'xen', 'scripts', 'vif-post.d')
        os.makedirs(hooks)
        with open(os.path.join(hooks, 'record.hook'), 'w', encoding='utf-8') as handle:
            handle.write('echo "$dev $vif $command $type_if [$ip]" >>%s/hooks.log\n' % work)
        os.chmod(os.path.join(hooks, 'record.hook'), 0o755)  # Xen's call_hooks sources only executable hooks
        with open(os.path.join(hooks, 'not-executable.hook'), 'w', encoding='utf-8') as handle:
            handle.write('echo skipped >>%s/hooks.log\n' % work)

        report = lab.reboot(units=units, interfaces=os.path.join(work, 'network', 'interfaces'),
                            sysctl=[os.path.join(work, 'sysctl.d')], xl_dir=os.path.join(work, 'xen'), vif_hooks=hooks)
        assert report['failed'] == 0, json.dumps(report, indent=1)
        steps = [step['step'] for step in report['steps']]
        assert steps.index('fw.service ExecStart') < steps.index('networking.service: ifup -a') < steps.index('ssh.service')

        links = {link['ifname']: link for link in json.loads(lab.run('dom0', ['ip', '-j', 'link', 'show']).stdout)}
        assert links['eth0']['master'] == BRIDGE and links['g1-0']['master'] == BRIDGE
        assert links[BRIDGE]['address'] == '02:00:00:00:00:10'
        assert not root_has_link(BRIDGE)
        assert '192.0.2.10/24' in lab.run('dom0', ['ip', '-br', 'addr', 'show', BRIDGE]).stdout
        assert lab.run('dom0', ['cat', '/proc/sys/net/ipv4/conf/%s/forwarding' % BRIDGE]).stdout.strip() == '1'
        assert lab.run('dom0', ['cat', '/proc/sys/net/ipv4/conf/g2-0/forwarding']).stdout.strip() == '1'
        assert 'xenfleet_boot_test' in lab.run('dom0', ['nft', 'list', 'tables']).stdout
        # ifupdown's state went to the lab's state dir, and the hooks ifup saw were bridge-utils' alone
        with open(os.path.join(work, 'boot', 'ifstate', 'ifstate'), encoding='utf-8') as handle:
            assert '%s=%s' % (BRIDGE, BRIDGE) in handle.read()
        with open(seen, encoding='utf-8') as handle:
            assert handle.read().split() == ['/etc/network/if-pre-up.d:', 'bridge', '/etc/network/if-up.d:']
        assert (sorted(os.listdir('/run/network')) if os.path.isdir('/run/network') else None) == run_network
        # the guests started: vif-bridge and vif-route, each as its xl config says
        assert lab.ping('g1', '192.0.2.1')
        assert 'dev g2-0 scope link src 192.0.2.10 metric 2' in lab.run('dom0', ['ip', 'route', 'show', '192.0.2.50']).stdout
        assert lab.ping('upstream', '192.0.2.10')
        assert '192.0.2.10' in lab.ssh(['ip', '-br', 'addr', 'show', BRIDGE]).stdout
        # each vif's hotplug script ended with the vif-post.d hooks, as Xen's do
        with open(os.path.join(work, 'hooks.log'), encoding='utf-8') as handle:
            assert handle.read().splitlines() == ['g1-0 g1-0 online vif []', 'g2-0 g2-0 online vif [192.0.2.50]']
        # hooks from outside the workdir are refused
        refused = lab.hotplug(os.path.join(work, 'xen'), vif_hooks='/etc/xen/scripts/vif-post.d')
        assert any('outside the lab workdir' in step['output'] for step in refused['steps'] if not step['ok'])


@requires_root
def test_ifupdown_refuses_to_run_outside_dom0():
    with lab_fixture({'ssh': False}) as lab:
        interfaces = lab.write_interfaces()
        # The shell's own check: run in dom0 but told to expect upstream's namespace, it stops before anything.
        guarded = subprocess.run(['ip', 'netns', 'exec', lab.ns('dom0'), 'unshare', '--mount', '--propagation', 'private',
                                  '/bin/sh', '-c', xenlab.IFUPDOWN_SCRIPT, 'test', lab.ns('upstream'), '/nonexistent', 'true'],
                                 capture_output=True, text=True, check=False)
        assert guarded.returncode == 97 and 'refusing' in guarded.stderr
        with pytest.raises(xenlab.LabError, match='not rm'):
            lab._ifupdown(['rm', '-a'], interfaces)  # pylint: disable=protected-access
        result = lab._ifupdown(['ifquery', '--list', '--allow', 'hotplug'], interfaces)  # pylint: disable=protected-access
        assert result.returncode == 0 and result.stdout.split() == ['eth0']
