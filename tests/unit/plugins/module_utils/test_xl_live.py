# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The xl command lines xen_vif runs for live: true, and the reading of xl's output.

There is no Xen here: these tests pin the exact argument lists; the real-Xen
lane proves that xl accepts them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.vif.plan import plan_vif_change
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import parse_vif
from ansible_collections.xenfleet.network.plugins.module_utils.xl.live import (
    LivePlanError,
    LiveVif,
    XlOutputError,
    attach_command,
    backend_differences,
    parse_backend,
    xenstore_rate,
    command_line,
    detach_command,
    live_vif_dict,
    parse_list,
    parse_network_list,
    plan_live,
    read_live,
)

XL = '/usr/sbin/xl'
WEB = """name = "web"
vif = [ 'mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0',
        'bridge=xenbr1' ]
"""


def network_list(*rows):
    """What xl_vif.c's main_networklist prints, with its printf formats."""
    lines = ['%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s' % (
        'Idx', 'BE', 'Mac Addr.', 'handle', 'state', 'evt-ch', 'tx-', 'rx-ring-ref', 'BE-path')]
    for devid, mac, state in rows:
        lines.append('%-3d %-2d ' % (devid, 0) + mac + '%6d %5d %6d %5d/%-11d %-30s' % (
            devid, state, 17 + devid, 768 + 2 * devid, 769 + 2 * devid, '/local/domain/0/backend/vif/7/%d' % devid))
    return '\n'.join(lines) + '\n'


def live(*rows):
    return parse_network_list(network_list(*rows))


# ---------------------------------------------------------------- commands

def test_attach_passes_each_key_as_its_own_argument_with_the_devid():
    spec = parse_vif('mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5 10.0.0.6,vifname=web-0')
    assert attach_command(XL, 'web', spec, 1) == [
        XL, 'network-attach', 'web', 'mac=02:00:0a:00:00:05', 'bridge=xenbr0', 'ip=10.0.0.5 10.0.0.6', 'vifname=web-0', 'devid=1']


def test_attach_keeps_a_devid_the_entry_gives_and_unknown_keys():
    spec = parse_vif('devid=4,bridge=xenbr0,trusted,accel=netfront')
    assert attach_command(XL, 'db', spec, 4) == [XL, 'network-attach', 'db', 'bridge=xenbr0', 'devid=4', 'trusted', 'accel=netfront']


def test_detach_by_devid_or_mac():
    assert detach_command(XL, 'web', 1) == [XL, 'network-detach', 'web', '1']
    assert detach_command(XL, 'web', '02:00:0a:00:00:05') == [XL, 'network-detach', 'web', '02:00:0a:00:00:05']


def test_command_line_quotes_what_a_shell_would_split():
    assert command_line(['xl', 'network-attach', 'web', 'ip=10.0.0.5 10.0.0.6', 'bridge=xenbr0']) == \
        "xl network-attach web 'ip=10.0.0.5 10.0.0.6' bridge=xenbr0"


# ---------------------------------------------------------------- output

def test_network_list_output_is_read_column_by_column():
    text = network_list((0, '02:00:0a:00:00:05', 4), (1, '00:16:3e:5e:6c:00', 4))
    assert parse_network_list(text) == [
        LiveVif(0, 0, '02:00:0a:00:00:05', 0, 4, 17, 768, 769, '/local/domain/0/backend/vif/7/0'),
        LiveVif(1, 0, '00:16:3e:5e:6c:00', 1, 4, 18, 770, 771, '/local/domain/0/backend/vif/7/1'),
    ]


@pytest.mark.parametrize('text', [
    # Copied by hand from mailing lists and guides, spacing as printed.
    'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path\n'
    '0   0  00:16:3e:43:38:e2     0     1     -1    -1/-1          /local/domain/0/backend/vif/13/0\n',
    'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path\n'
    '0   0  00:16:3E:43:38:E2 0      1     -1      -1/-1         /local/domain/0/backend/vif/13/0\n',
])
def test_network_list_output_of_a_guest_that_is_still_booting(text):
    vif, = parse_network_list(text)
    assert (vif.devid, vif.mac, vif.state, vif.evtch, vif.tx_ring_ref) == (0, '00:16:3e:43:38:e2', 1, -1, -1)
    assert live_vif_dict(vif)['state_name'] == 'initialising'


def test_a_guest_without_vifs_prints_only_the_header():
    assert parse_network_list(network_list()) == []


def test_output_that_is_no_vif_line_is_an_error_naming_the_line():
    with pytest.raises(XlOutputError, match="line 2: cannot read 'libxl: error: something'"):
        parse_network_list(network_list() + 'libxl: error: something\n')


def test_xl_list_output_names_running_domains():
    text = ('Name                                        ID   Mem VCPUs\tState\tTime(s)\n'
            'Domain-0                                     0  2048     4     r-----     811.6\n'
            'web                                          7  1024     2     -b----      33.1\n'
            'my guest                                    12   512     1     --p---       0.0\n')
    assert [(domain.name, domain.domid, domain.state) for domain in parse_list(text)] == [
        ('Domain-0', 0, 'r-----'), ('web', 7, '-b----'), ('my guest', 12, '--p---')]


# ---------------------------------------------------------------- reading

def test_without_xl_nothing_is_run(fake_xl):
    view = read_live(fake_xl({}), None, 'web')
    assert not view.running
    assert view.note == 'xl is not installed on this host'


def test_a_guest_that_is_not_running_is_asked_about_once(fake_xl):
    xl = fake_xl({('list', 'web'): (1, '', "xl: web is an invalid domain identifier (rc=-6)\n")})
    view = read_live(xl, XL, 'web')
    assert xl.calls == [[XL, 'list', 'web']]
    assert not view.running
    assert view.note == "guest 'web' is not running (/usr/sbin/xl list web: rc 1: xl: web is an invalid domain identifier (rc=-6))"


def test_a_running_guest_is_listed(fake_xl):
    xl = fake_xl({('list', 'web'): (0, 'Name ...\nweb 7 1024 2 -b---- 3.0\n', ''),
                 ('network-list', 'web'): (0, network_list((0, '02:00:0a:00:00:05', 4)), '')})
    view = read_live(xl, XL, 'web')
    assert xl.calls == [[XL, 'list', 'web'], [XL, 'network-list', 'web']]
    assert view.running and view.vifs[0].mac == '02:00:0a:00:00:05'


def test_a_failing_network_list_is_an_error(fake_xl):
    xl = fake_xl({('list', 'web'): (0, '', ''), ('network-list', 'web'): (1, '', 'permission denied')})
    with pytest.raises(XlOutputError, match='/usr/sbin/xl network-list web failed .rc 1.: permission denied'):
        read_live(xl, XL, 'web')


# ---------------------------------------------------------------- planning

def argvs(steps):
    return [step.argv for step in steps]


def test_a_new_vif_is_attached_with_its_devid():
    plan = plan_vif_change(WEB, devid=2, desired={'bridge': 'xenbr0', 'mac': '02:00:0a:00:00:07', 'vifname': 'web-2'})
    steps = plan_live(XL, 'web', live((0, '02:00:0a:00:00:05', 4), (1, '00:16:3e:00:00:01', 4)), plan, 'present')
    assert argvs(steps) == [[XL, 'network-attach', 'web', 'mac=02:00:0a:00:00:07', 'bridge=xenbr0', 'vifname=web-2', 'devid=2']]
    assert steps[0].description == 'attach vif 2 to running guest web'


def test_a_vif_the_guest_runs_with_its_mac_needs_nothing():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0'})
    assert plan_live(XL, 'web', live((0, '02:00:0a:00:00:05', 4)), plan, 'present') == []


def test_a_vif_in_the_file_but_not_in_the_guest_is_attached_even_when_the_file_is_unchanged():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0'})
    assert not plan.changed
    assert argvs(plan_live(XL, 'web', [], plan, 'present')) == [
        [XL, 'network-attach', 'web', 'mac=02:00:0a:00:00:05', 'bridge=xenbr0', 'ip=10.0.0.5', 'vifname=web-0', 'devid=0']]


@pytest.mark.parametrize('bridge, running_mac, reason', [
    ('xenbr0', '00:16:3e:11:22:33', '(its MAC is 00:16:3e:11:22:33, the config says 02:00:0a:00:00:05)'),
    # xl cannot change a running vif in place
    ('xenbr2', '02:00:0a:00:00:05', '(its config entry changed)'),
])
def test_a_running_vif_that_differs_from_its_entry_is_replugged(bridge, running_mac, reason):
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': bridge})
    steps = plan_live(XL, 'web', live((0, running_mac, 4)), plan, 'present')
    assert argvs(steps) == [
        [XL, 'network-detach', 'web', '0'],
        [XL, 'network-attach', 'web', 'mac=02:00:0a:00:00:05', 'bridge=%s' % bridge, 'ip=10.0.0.5', 'vifname=web-0', 'devid=0']]
    assert steps[0].description == 'detach vif 0 from running guest web %s' % reason


def test_a_vif_without_mac_in_the_config_is_judged_by_its_devid():
    plan = plan_vif_change(WEB, devid=1, desired={'bridge': 'xenbr1'})
    assert plan_live(XL, 'web', live((1, '00:16:3e:aa:bb:cc', 4)), plan, 'present') == []


def test_attaching_a_mac_the_guest_has_on_another_vif_is_refused():
    plan = plan_vif_change(WEB, devid=2, desired={'mac': '02:00:0a:00:00:09'})
    with pytest.raises(LivePlanError, match="running guest 'web' has MAC 02:00:0a:00:00:09 on vif 0 already"):
        plan_live(XL, 'web', live((0, '02:00:0a:00:00:09', 4)), plan, 'present')


def test_a_removed_entry_is_detached_by_its_mac():
    plan = plan_vif_change(WEB, devid=0, state='absent')
    assert argvs(plan_live(XL, 'web', live((0, '02:00:0a:00:00:05', 4)), plan, 'absent')) == [
        [XL, 'network-detach', 'web', '02:00:0a:00:00:05']]


def test_a_removed_entry_without_mac_is_detached_by_its_devid():
    plan = plan_vif_change(WEB, devid=1, state='absent')
    assert argvs(plan_live(XL, 'web', live((1, '00:16:3e:aa:bb:cc', 4)), plan, 'absent')) == [[XL, 'network-detach', 'web', '1']]


def test_a_removed_entry_whose_mac_the_guest_does_not_run_detaches_nothing():
    plan = plan_vif_change(WEB, devid=0, state='absent')
    assert plan_live(XL, 'web', live((0, '00:16:3e:aa:bb:cc', 4)), plan, 'absent') == []


def test_an_entry_already_gone_from_the_file_is_still_detached_by_the_matched_mac():
    plan = plan_vif_change(WEB, match={'mac': '02:00:0a:00:00:99'}, state='absent')
    assert not plan.changed
    assert argvs(plan_live(XL, 'web', live((3, '02:00:0a:00:00:99', 4)), plan, 'absent', match_mac='02:00:0a:00:00:99')) == [
        [XL, 'network-detach', 'web', '02:00:0a:00:00:99']]
    assert plan_live(XL, 'web', [], plan, 'absent', match_mac='02:00:0a:00:00:99') == []


# ---------------------------------------------------------------- the backend's xenstore entries (issue 18 item 8)

BACKEND = '/local/domain/0/backend/vif/7/0'
# What libxl__set_xenstore_nic (Xen 4.17) writes for web's vif 0, as `xenstore-ls -f` prints it.
WEB_BACKEND = dict(**{'frontend-id': '7', 'online': '1', 'state': '4', 'hotplug-status': 'connected'},
                   script='/etc/xen/scripts/vif-bridge', vifname='web-0', mac='02:00:0a:00:00:05', ip='10.0.0.5', bridge='xenbr0',
                   handle='0', type='vif')


def xenstore_ls(entries, path=BACKEND):
    return ''.join('%s/%s = "%s"\n' % (path, key, value) for key, value in entries.items())


def test_xenstore_ls_output_is_read_and_unsanitised():
    text = xenstore_ls(dict(WEB_BACKEND, ip='10.0.0.5 10.0.0.6', odd='a\\nb\\x41\\101\\\\')) + BACKEND + '/statistics/rx = "5"\n'
    entries = parse_backend(text, BACKEND)
    assert entries['ip'] == '10.0.0.5 10.0.0.6' and entries['odd'] == 'a\nbAA\\'
    assert 'statistics/rx' not in entries and entries['bridge'] == 'xenbr0'


def test_xenstore_ls_output_of_another_path_is_an_error():
    with pytest.raises(XlOutputError, match='line 1: cannot read'):
        parse_backend('/local/domain/0/backend/vif/8/0/mac = "x"\n', BACKEND)


@pytest.mark.parametrize('rate, entry', [
    ('10Mb/s@20ms', '25000,20000'), ('1MB/s', '50000,50000'), ('100Mb/s', '625000,50000'), ('5KB/s@2s', '10000,2000000'),
    ('1GB/s@100us', '100000,100'), ('8b/s@1', '1,1000000'), ('010Mb/s', None), ('fast', None),
])
def test_rate_as_libxl_writes_it(rate, entry):
    assert xenstore_rate(rate) == entry


def running(**entries):
    return live((0, '02:00:0a:00:00:05', 4))[0]._replace(backend=dict(WEB_BACKEND, **entries))


def test_a_vif_whose_backend_matches_its_entry_needs_nothing():
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0'})
    assert plan_live(XL, 'web', [running()], plan, 'present') == []
    # libxl's default MTU may be written or not; a relative script is looked for under Xen's script directory
    spec = parse_vif('mac=02:00:0a:00:00:05,bridge=xenbr0,ip=10.0.0.5,vifname=web-0,script=vif-bridge,mtu=1500')
    assert backend_differences(spec, dict(WEB_BACKEND, mtu='1500')) == backend_differences(spec, WEB_BACKEND) == []


@pytest.mark.parametrize('entries, reason', [
    (dict(bridge='xenbr1'), 'its bridge is xenbr1, the config says xenbr0'),
    (dict(vifname='vif7.0'), 'its vifname is vif7.0, the config says web-0'),
    (dict(ip='10.0.0.99'), 'its ip is 10.0.0.99, the config says 10.0.0.5'),
    (dict(rate='25000,20000'), 'its rate is 25000,20000, the config says none'),
    (dict(mtu='9000'), 'its mtu is 9000, the config says 1500'),
    (dict(bridge='xenbr1', vifname='old-0'), 'its bridge is xenbr1, the config says xenbr0; its vifname is old-0, the config says web-0'),
])
def test_a_running_vif_left_on_its_old_bridge_name_or_address_is_replugged(entries, reason):
    # the config was written by a run killed before xl: the file no longer changes
    plan = plan_vif_change(WEB, devid=0, desired={'bridge': 'xenbr0'})
    assert not plan.changed
    steps = plan_live(XL, 'web', [running(**entries)], plan, 'present')
    assert argvs(steps) == [
        [XL, 'network-detach', 'web', '0'],
        [XL, 'network-attach', 'web', 'mac=02:00:0a:00:00:05', 'bridge=xenbr0', 'ip=10.0.0.5', 'vifname=web-0', 'devid=0']]
    assert steps[0].description == 'detach vif 0 from running guest web (%s)' % reason


@pytest.mark.parametrize('line, entries, differs', [
    ('mac=02:00:0a:00:00:05,script=/usr/local/vif-x', dict(script='/etc/xen/scripts/vif-x'), 'its script is /etc/xen/scripts/vif-x'),
    ('mac=02:00:0a:00:00:05,script=vif-route', dict(script='/etc/xen/scripts/vif-bridge'), 'its script is /etc/xen/scripts/vif-bridge'),
    ('mac=02:00:0a:00:00:05,type=ioemu', dict(type='vif'), 'its type is vif, the config says vif_ioemu'),
    ('mac=02:00:0a:00:00:05,gatewaydev=eth1', dict(gatewaydev='eth0'), 'its gatewaydev is eth0, the config says eth1'),
    ('mac=02:00:0a:00:00:05,rate=10Mb/s@20ms', dict(rate='12500,20000'), 'its rate is 12500,20000, the config says 25000,20000'),
    ('mac=02:00:0a:00:00:05,mtu=9000', {}, 'its mtu is 1500, the config says 9000'),
])
def test_each_key_the_backend_carries_is_compared(line, entries, differs):
    backend = dict(mac='02:00:0a:00:00:05', bridge='xenbr0', handle='0', type='vif', script='/etc/xen/scripts/vif-bridge')
    found = backend_differences(parse_vif(line), dict(backend, **entries))
    assert len(found) == 1 and found[0].startswith(differs)


def test_keys_xl_defaults_are_not_compared_when_the_entry_leaves_them_out():
    backend = dict(mac='02:00:0a:00:00:05', bridge='xenbr7', handle='0', type='vif_ioemu', script='/etc/xen/scripts/vif-nat',
                   gatewaydev='eth3')
    assert backend_differences(parse_vif('mac=02:00:0a:00:00:05'), backend) == []


def test_backends_are_read_with_xenstore_ls(fake_xl):
    xl = fake_xl({('list', 'web'): (0, 'Name ...\nweb 7 1024 2 -b---- 3.0\n', ''),
                 ('network-list', 'web'): (0, network_list((0, '02:00:0a:00:00:05', 4)), ''),
                 ('-f', BACKEND): (0, xenstore_ls(WEB_BACKEND), '')})
    view = read_live(xl, XL, 'web', xenstore_ls='/usr/bin/xenstore-ls')
    assert xl.calls[-1] == ['/usr/bin/xenstore-ls', '-f', BACKEND]
    assert view.vifs[0].backend == WEB_BACKEND
    assert live_vif_dict(view.vifs[0])['backend']['bridge'] == 'xenbr0'


def test_a_backend_that_cannot_be_read_is_an_error(fake_xl):
    xl = fake_xl({('list', 'web'): (0, '', ''), ('network-list', 'web'): (0, network_list((0, '02:00:0a:00:00:05', 4)), ''),
                 ('-f', BACKEND): (1, '', 'xenstore-ls: xs_directory (%s): No such file or directory' % BACKEND)})
    with pytest.raises(XlOutputError, match='xenstore-ls -f .*vif/7/0 failed .rc 1.: .*No such file.*the running vif 0 cannot be compared'):
        read_live(xl, XL, 'web', xenstore_ls='/usr/bin/xenstore-ls')


class Warned:
    """Stands in for AnsibleModule's warn."""

    def __init__(self):
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


@pytest.mark.parametrize('xenstore_ls, running, warned', [
    (None, True, 1), ('/usr/bin/xenstore-ls', True, 0), (None, False, 0), (None, [], 0), (None, ['web'], 1)])
def test_without_xenstore_ls_a_running_guest_is_compared_by_mac_only_and_said_so(xenstore_ls, running, warned):
    from ansible_collections.xenfleet.network.plugins.module_utils.vif.runner import warn_unread_backends
    module = Warned()
    warn_unread_backends(module, xenstore_ls, running)
    assert len(module.warnings) == warned
    assert all('compared with their config by MAC only' in text for text in module.warnings)
