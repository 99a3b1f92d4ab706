"""The writing modules crash.py kills: for each, two declared states (A and B) it alternates between, the paths it
writes (every one inside the lab's workdir: the lab dom0 shares this machine's /etc), and what the lab needs first.

A case is a function of the lab's workdir returning a dict:
    name, module          the case's name (the summary's row) and the module it runs
    A, B                  the module's arguments for the two states
    paths                 files and directories whose content is compared with the clean run's
    volatile              name patterns of files under paths compared by presence only (optional)
    setup                 shell lines run in dom0's namespace before the baseline (optional)
    files                 {path: text} written before the baseline (optional)
    reset                 shell lines run in dom0's namespace after a failed kill, once the module ran towards B:
                          what the failure may have lost, put back (optional)
    final                 argument sets run once, un-killed, after the kills: leave the lab as it was (optional)
    kept                  (state, why, shell lines): states a kill once left, rebuilt in dom0 from the other state
                          and then repaired and checked like a kill (optional)
    focus_until           (audit event, text): the focus window ends at the first such event (optional)
    ssh                   an SSH session into dom0 is watched through every kill (optional)
"""

import os
import shlex

CONNECTIVITY_TIMEOUT = 10  # xen_bridge's default


def xen_xl_defaults(work):
    path = os.path.join(work, 'xen', 'xl.conf')
    return dict(
        name='xen_xl_defaults', module='xen_xl_defaults', paths=[os.path.join(work, 'xen')],
        files={path: '## Global XL config file ##\n# the administrator keeps this comment\nautoballoon = "off"\n'},
        A=dict(path=path, vif_script='vif-bridge', vif_bridge='xenbr0'),
        B=dict(path=path, vif_bridge='xenbr1', vif_gatewaydev='eth0', absent=['vif_script']),
    )


def xen_vif(work):
    directory = os.path.join(work, 'xen-vif')
    vif = dict(domain='crash-web', config_dir=directory, devid=0, mac='02:00:0a:00:01:0a', vifname='crash-web-0',
               live=True)
    return dict(
        name='xen_vif', module='xen_vif', paths=[directory],
        files={os.path.join(directory, 'crash-web.cfg'):
               'name = "crash-web"\n# written by hand\nmemory = 512\n'
               'vif = [ "mac=02:00:0a:00:01:0a,bridge=xenbr0,ip=10.0.1.10,vifname=crash-web-0" ]\n'},
        A=dict(vif, bridge='xenbr0', ip=['10.0.1.10']),
        B=dict(vif, bridge='xenbr1', ip=['10.0.1.11'], rate='10Mb/s'),
    )


def xen_guest_vifs(work):
    directory = os.path.join(work, 'xen-guests')
    files = {}
    for number, guest in enumerate(('crash-a', 'crash-b', 'crash-c'), 1):
        files[os.path.join(directory, guest + '.cfg')] = (
            'name = "%s"\nmemory = 256\n# the first vif, by hand\nvif = [ "bridge=xenbr0" ]\n'
            'disk = [ "phy:/dev/vg0/%s,xvda,w" ]\n' % (guest, guest))

    def guests(bridge, offset):
        return [dict(name=guest, vifs=[dict(mac='02:00:0a:00:02:%02x' % (number + offset), bridge=bridge,
                                            ip=['10.0.2.%d' % (number + offset)], vifname='%s-0' % guest)])
                for number, guest in enumerate(('crash-a', 'crash-b', 'crash-c'), 1)]
    return dict(
        name='xen_guest_vifs', module='xen_guest_vifs', paths=[directory], files=files,
        A=dict(config_dir=directory, live=True, guests=guests('xenbr0', 0)),
        B=dict(config_dir=directory, live=True, guests=guests('xenbr1', 16)),
    )


def xen_antispoof(work):
    common = dict(persist_path=os.path.join(work, 'antispoof.nft'), boot_unit_dir=os.path.join(work, 'systemd-antispoof'),
                  cache_dir=os.path.join(work, 'antispoof-cache'), manage_sysctl=False, trusted_ports=['eth0'], purge=True)
    return dict(
        name='xen_antispoof', module='xen_antispoof',
        paths=[common['persist_path'], common['boot_unit_dir'], common['cache_dir']],
        volatile=['antispoof-nft-*.json'],  # the tables as last listed, with the kernel's handles
        A=dict(common, vifs=[dict(name='vif1.0', mac=['02:00:c0:00:02:15'], ipv4=['192.0.2.21'], ipv6=['2001:db8:1::21']),
                             dict(name='vif2.0', mac=['02:00:c0:00:02:16'], ipv4=['192.0.2.22', '192.0.2.48/28'])]),
        B=dict(common, vifs=[dict(name='vif1.0', mac=['02:00:c0:00:02:25'], ipv4=['192.0.2.25'], dhcp=True)]),
        final=[dict(common, state='absent')],
    )


def xen_route(work):
    common = dict(uplink='eth0', sysctl_path=os.path.join(work, 'sysctl.d', '60-xenfleet-route.conf'),
                  hook_path=os.path.join(work, 'vif-post.d', 'xenfleet-route.hook'),
                  ipv6_data_path=os.path.join(work, 'route', 'ipv6-vifs'))
    return dict(
        name='xen_route', module='xen_route',
        paths=[os.path.join(work, 'sysctl.d'), os.path.join(work, 'vif-post.d'), os.path.join(work, 'route')],
        A=dict(common, routes=[dict(vif='vif1.0', addresses=['192.0.2.50', '2001:db8:1::50']),
                               dict(vif='vif2.0', addresses=['192.0.2.51'])]),
        B=dict(common, routes=[dict(vif='vif1.0', addresses=['192.0.2.50'])]),
        # after a failed kill: the IPv6 sysctls as B wants them (kills towards B have left them at 1)
        reset=['sysctl -qw net.ipv6.conf.all.forwarding=0', 'sysctl -qw net.ipv6.conf.default.forwarding=0',
               'sysctl -qw net.ipv6.conf.eth0.proxy_ndp=0'],
        final=[dict(common, routes=[])],
    )


def xen_nat(work):
    common = dict(name='crash', bridge='xenbr1', subnet='10.0.1.0/24', uplink='eth0', service_manager='pidfile',
                  state_dir=os.path.join(work, 'nat', 'state'), config_dir=os.path.join(work, 'nat', 'etc'),
                  systemd_unit_dir=os.path.join(work, 'systemd-nat'))
    present = dict(common, port_forwards=[dict(proto='tcp', port=8080, to_ip='10.0.1.10', to_port=80, hairpin=True)],
                   dhcp=dict(range_start='10.0.1.100', range_end='10.0.1.150',
                             hosts=[dict(mac='02:00:0a:00:01:0a', ip='10.0.1.10', hostname='web')]))
    return dict(
        name='xen_nat', module='xen_nat',
        paths=[os.path.join(work, 'nat'), common['systemd_unit_dir']],
        volatile=['.lock', 'dnsmasq.pid'],
        setup=['ip link add xenbr1 type bridge', 'ip addr add 10.0.1.1/24 dev xenbr1', 'ip link set xenbr1 up'],
        A=present, B=dict(common, state='absent'), final=[dict(common, state='absent')],
    )


def xen_bridge(work):
    common = dict(name='xenbr0', uplink='eth0', persist='ifupdown', interfaces_path=os.path.join(work, 'network', 'interfaces'),
                  persist_path=os.path.join(work, 'network', 'interfaces.d', 'xenbr0'),
                  connectivity_timeout=CONNECTIVITY_TIMEOUT)
    return dict(
        name='xen_bridge', module='xen_bridge', paths=[os.path.join(work, 'network')],
        # a route of the administrator's through the uplink, which the move must carry along
        setup=['ip route add 198.18.0.0/15 via 192.0.2.1 dev eth0 metric 7'],
        # after a failed kill, with the bridge gone: the uplink's routes as the lab made them
        reset=['ip route replace default via 192.0.2.1 dev eth0', 'ip -6 route replace default via 2001:db8:1::1 dev eth0',
               'ip route replace 198.18.0.0/15 via 192.0.2.1 dev eth0 metric 7'],
        A=common, B=dict(common, state='absent'),
        # Seed 20261208, XENFLEET_CRASH_REPLAY=xen_bridge:B:0.0560 (or :0.0548): the run towards absent was killed
        # after it gave eth0 the addresses back and released it, before it moved the routes; the next run deleted the
        # bridge and with it both default routes and the administrator's route (dom0 left without a default route,
        # and a rerun reports changed=false). Kept here as the state that kill left, so it is tested every time.
        kept=[('B', 'killed after releasing eth0, before moving the routes back',
               ['ip addr add 192.0.2.10/24 dev eth0', 'ip -6 addr add 2001:db8:1::10/64 dev eth0 nodad',
                'ip link set eth0 nomaster'])],
        focus_until=('subprocess.Popen', 'ping'), ssh=True, connectivity_timeout=CONNECTIVITY_TIMEOUT,
    )


CASES = (xen_xl_defaults, xen_vif, xen_guest_vifs, xen_antispoof, xen_route, xen_nat, xen_bridge)


def prepare(lab, case):
    """The case's files and dom0's setup lines, and the fake xl (no guest running: live=true reads `xl list`)."""
    fake_xl = os.path.join(lab.workdir, 'fake_xl')
    if not os.path.exists(os.path.join(fake_xl, 'xl')):
        os.makedirs(os.path.join(fake_xl, 'running'))
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'setup_fake_xl', 'files', 'xl')
        with open(source) as handle, open(os.path.join(fake_xl, 'xl'), 'w') as copy:
            copy.write(handle.read())
        os.chmod(os.path.join(fake_xl, 'xl'), 0o755)
    for path, text in case.get('files', {}).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as handle:
            handle.write(text)
    for line in case.get('setup', ()):
        lab.run('dom0', shlex.split(line))
