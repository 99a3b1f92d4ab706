# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ifup's file tree: what it sources, the uplink's stanzas taken over, and what auto persistence picks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.bridge import interfaces_file as ifile
from ansible_collections.xenfleet.network.plugins.module_utils.bridge.network_config import UnsupportedNetworkConfig, resolve_auto

INSTALLER = """# This file describes the network interfaces available on your system
# and how to activate them. For more information, see interfaces(5).

source /etc/network/interfaces.d/*

# The loopback network interface
auto lo
iface lo inet loopback

# The primary network interface
allow-hotplug eth0
iface eth0 inet static
\taddress 192.0.2.10/24
\tgateway 192.0.2.1
\t# dns-* options are implemented by the resolvconf package, if installed
\tdns-nameservers 192.0.2.53

iface eth0 inet6 static
\taddress 2001:db8:1::10/64
\tgateway 2001:db8:1::1
"""


def reader(files):
    return files.get


def test_the_installers_stanzas_for_the_uplink_become_inet_manual():
    tree = [('/etc/network/interfaces', INSTALLER)]
    changed = ifile.takeover(tree, 'eth0', 'xenbr0')
    text = changed['/etc/network/interfaces']
    assert 'iface eth0 inet manual\n' + PORT_LINE in text
    assert 'address' not in text and 'gateway' not in text and 'inet6' not in text and 'dns-nameservers' not in text
    assert 'allow-hotplug eth0\n' in text and 'iface lo inet loopback\n' in text
    assert 'source /etc/network/interfaces.d/*\n' in text
    assert 'moved to xenbr0 (the original is in interfaces.xenfleet-backup)' in text
    assert ifile.takeover([('/etc/network/interfaces', text)], 'eth0', 'xenbr0') == {}


def test_other_interfaces_and_comments_are_kept_byte_for_byte():
    text = INSTALLER + '\nauto eth1\niface eth1 inet dhcp\n  # keep me\n  up echo hi \\\n     there\n'
    new = ifile.takeover([('/etc/network/interfaces', text)], 'eth0', 'xenbr0')['/etc/network/interfaces']
    assert new.endswith('\nauto eth1\niface eth1 inet dhcp\n  # keep me\n  up echo hi \\\n     there\n')


PORT_LINE = '    pre-up sysctl -q -w net/ipv6/conf/eth0/accept_ra=0\n'


def test_a_manual_stanza_with_commands_loses_them_and_takes_no_slaac_address():
    text = 'iface eth0 inet manual\n    up ip link set eth0 promisc on\n'
    assert ifile.takeover([('/x', text)], 'eth0', 'xenbr0')['/x'].endswith('iface eth0 inet manual\n' + PORT_LINE)
    plain = 'iface eth0 inet manual\n\nauto lo\n'
    assert ifile.takeover([('/x', plain)], 'eth0', 'xenbr0')['/x'].startswith('# xenfleet.network')
    done = 'iface eth0 inet manual\n' + PORT_LINE + '\nauto lo\n'
    assert ifile.takeover([('/x', done)], 'eth0', 'xenbr0') == {}


def test_the_bridges_own_stanza_files_are_not_taken_over():
    own = '# Managed by xenfleet.network (xen_bridge): this file is rewritten on every run.\nauto xenbr0\niface eth0 inet static\n'
    assert ifile.takeover([('/etc/network/interfaces.d/xenbr0', own)], 'eth0', 'xenbr0') == {}


@pytest.mark.parametrize('text, words', [
    ('mapping eth0\n    script /usr/local/sbin/map-scheme\n', 'a mapping stanza picks the configuration of eth0'),
    ('iface eth0 inet static inherits base\n    address 192.0.2.10/24\n', "uses inherits"),
    ('rename eth7=eth0\n', 'renames eth0 at boot'),
    ('iface eth0 inet\n', 'is not a whole iface line'),
])
def test_a_construct_it_does_not_rewrite_stops_the_run_naming_file_and_line(text, words):
    with pytest.raises(ifile.InterfacesFileError, match=r'^/etc/network/interfaces line 2: .*%s' % words):
        ifile.takeover([('/etc/network/interfaces', '# first\n' + text)], 'eth0', 'xenbr0')


def test_a_stanza_for_the_bridge_elsewhere_is_refused():
    tree = [('/etc/network/interfaces', INSTALLER + '\nauto xenbr0\niface xenbr0 inet dhcp\n    bridge_ports eth0\n')]
    with pytest.raises(ifile.InterfacesFileError, match=r'/etc/network/interfaces line 23 already has a stanza for xenbr0'):
        ifile.refuse_other_stanzas(tree, 'xenbr0', '/etc/network/interfaces.d/xenbr0')
    ifile.refuse_other_stanzas([('/etc/network/interfaces.d/xenbr0', 'iface xenbr0 inet manual\n')], 'xenbr0',
                               '/etc/network/interfaces.d/xenbr0')


def test_what_ifup_reads():
    tree = [('/etc/network/interfaces', INSTALLER)]
    assert ifile.reads(tree, '/etc/network/interfaces.d/xenbr0')
    assert not ifile.reads(tree, '/etc/network/bridges/xenbr0')
    assert not ifile.reads([('/etc/network/interfaces', 'auto lo\n')], '/etc/network/interfaces.d/xenbr0')
    relative = [('/etc/network/interfaces', 'source interfaces.d/*\n')]
    assert ifile.reads(relative, '/etc/network/interfaces.d/xenbr0')
    directory = [('/etc/network/interfaces', 'source-directory /etc/network/interfaces.d\n')]
    assert ifile.reads(directory, '/etc/network/interfaces.d/xenbr0')
    assert not ifile.reads(directory, '/etc/network/interfaces.d/xenbr0.10'), 'source-directory skips names with a dot'


def test_the_tree_follows_sources_relative_to_the_file(tmp_path):
    (tmp_path / 'interfaces.d').mkdir()
    (tmp_path / 'interfaces.d' / 'eth0').write_text('iface eth0 inet dhcp\n')
    (tmp_path / 'interfaces').write_text('source interfaces.d/*\nauto lo\n')
    tree = ifile.read_tree(str(tmp_path / 'interfaces'), lambda path: open(path).read())
    assert [path for path, dummy in tree] == [str(tmp_path / 'interfaces'), str(tmp_path / 'interfaces.d' / 'eth0')]
    changed = ifile.takeover(tree, 'eth0', 'xenbr0')
    assert list(changed) == [str(tmp_path / 'interfaces.d' / 'eth0')]
    assert ifile.backups(changed, lambda path: open(path).read() if path in (str(tmp_path / 'interfaces.d' / 'eth0'),) else None) == {
        str(tmp_path / 'interfaces.d' / 'eth0.xenfleet-backup'): 'iface eth0 inet dhcp\n'}


def test_a_source_loop_is_refused(tmp_path):
    (tmp_path / 'interfaces').write_text('source %s\n' % (tmp_path / 'interfaces'))
    with pytest.raises(ifile.InterfacesFileError, match='nest deeper'):
        ifile.read_tree(str(tmp_path / 'interfaces'), lambda path: open(path).read())


def make_root(tmp_path, *paths):
    for path in paths:
        target = tmp_path / path.lstrip('/')
        if path.endswith('/'):
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text('x\n')
    return str(tmp_path)


def test_auto_picks_ifupdown_where_it_alone_configures_the_network(tmp_path):
    root = make_root(tmp_path, '/sbin/ifup', '/etc/network/interfaces')
    assert resolve_auto('/etc/network/interfaces', root) == 'ifupdown'


@pytest.mark.parametrize('paths, found', [
    (['/sbin/ifup', '/etc/network/interfaces', '/run/NetworkManager/'], 'NetworkManager: it runs'),
    (['/run/systemd/netif/links/', '/etc/systemd/network/10-eth0.network'], 'systemd-networkd: it runs'),
    (['/sbin/ifup', '/usr/share/ifupdown2/', '/etc/network/interfaces'], 'ifupdown2: it is installed'),
    ([], 'no ifupdown, NetworkManager or systemd-networkd'),
    (['/sbin/ifup'], '/etc/network/interfaces does not exist'),
])
def test_auto_stops_saying_what_it_found(tmp_path, paths, found):
    root = make_root(tmp_path, *paths)
    with pytest.raises(UnsupportedNetworkConfig, match=found):
        resolve_auto('/etc/network/interfaces', root)
