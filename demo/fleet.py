"""The demo's fleet: three lab dom0s, one per topology, and what each should let through.

Each guest is (name, bridge or None for routed, IPv4 address, DHCP?). The
expectations of the reachability matrix follow from the topology:
- multi_bridge: xenbr0 holds the NIC, so its guests share the upstream segment (and the
  internet behind it); xenbr1 has no port and no address: its guests reach only each other.
- brouter: every guest sits on the port-less xenbr0 behind dom0, which masquerades them:
  out to upstream and the internet yes, in from upstream no (even with a route to them).
- routed: dom0 routes every vif (host routes, proxy ARP): everything reaches everything.
"""

import ipaddress
import os

UPSTREAM = '192.0.2.1'
INTERNET = '198.51.100.2'

FLEET = {
    'dom0-mb': {
        'topology': 'multi_bridge',
        'guests': [('web', 'xenbr0', '192.0.2.21', False), ('api', 'xenbr0', '192.0.2.22', False),
                   ('db', 'xenbr1', '10.0.1.3', False), ('cache', 'xenbr1', '10.0.1.4', False)],
    },
    'dom0-br': {
        'topology': 'brouter',
        'guests': [('shop', 'xenbr0', '10.0.2.11', False), ('blog', 'xenbr0', '10.0.2.12', False),
                   ('lease', 'xenbr0', '10.0.2.13', True)],
    },
    'dom0-rt': {
        'topology': 'routed',
        'guests': [('mail', None, '192.0.2.50', False), ('dns', None, '192.0.2.51', False),
                   ('vpn', None, '192.0.2.52', False)],
    },
}


def guests(host):
    return [dict(zip(('name', 'bridge', 'ip', 'dhcp'), guest), vif='%s-0' % guest[0]) for guest in FLEET[host]['guests']]


def _lab_guest(topology, guest, mac):
    spec = {'name': guest['name'], 'vif': guest['vif'], 'mac': mac}
    if guest['dhcp']:
        return spec  # no address until dnsmasq gives it its fixed lease
    if topology == 'routed':
        # As vif-route leaves a guest: a /32 whose gateway is dom0's address on the vif.
        spec.update(ipv4=[guest['ip'] + '/32'], gateway4='192.0.2.10')
    elif topology == 'brouter':
        spec.update(ipv4=[guest['ip'] + '/24'], gateway4='10.0.2.1')
    else:
        spec['ipv4'] = [guest['ip'] + '/24']
        if guest['bridge'] == 'xenbr0':
            spec['gateway4'] = UPSTREAM
    return spec


def lab_spec(host, mac_from_ip):
    topology = FLEET[host]['topology']
    return {'uplink': 'eth0', 'ssh': True, 'internet': True,
            'guests': [_lab_guest(topology, guest, mac_from_ip(guest['ip'])) for guest in guests(host)]}


def host_vars(host, lab, proxy):
    """The inventory of one dom0: its topology, uplink and guests, plus the lab's paths and SSH."""
    workdir = lab.state['workdir']
    ssh = lab.state['ssh']
    topology = FLEET[host]['topology']
    proxy_command = 'ip netns exec %s %s %s %%h %%p' % (lab.ns('upstream'), lab.python, proxy)
    variables = {
        'ansible_host': ssh['host'], 'ansible_port': ssh['port'], 'ansible_user': ssh['user'],
        'ansible_ssh_private_key_file': ssh['private_key'],
        'ansible_ssh_common_args': '-F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null '
                                   '-o ProxyCommand="%s"' % proxy_command,
        # Every lab's dom0 is root@192.0.2.10:22: a control path per lab keeps their connections apart.
        'ansible_control_path_dir': os.path.join(workdir, 'cp'),
        'ansible_python_interpreter': lab.python,
        'xenfleet_topology': topology,
        'xenfleet_uplink': 'eth0',
        # The lab dom0 is a namespace of this machine: apt and /etc/xen/xl.conf are the machine's own.
        'xenfleet_install_packages': False,
        'xenfleet_xl_config_dir': os.path.join(workdir, 'xen'),
        'xenfleet_xl_conf_path': os.path.join(workdir, 'xen', 'xl.conf'),
        'xenfleet_antispoof': {'persist_path': os.path.join(workdir, 'nftables.d', 'xenfleet-antispoof.nft')},
        # What comes back at boot goes to the lab's work dir too: the lab's network/interfaces is dom0's.
        **lab.boot_file_vars(),
        'xenfleet_guests': [{'name': guest['name'],
                             'vifs': [dict({'ip': [guest['ip']], 'vifname': guest['vif']},
                                           **({'bridge': guest['bridge']} if guest['bridge'] else {}))]}
                            for guest in guests(host)],
    }
    if topology == 'multi_bridge':
        variables['xenfleet_bridge_subnets'] = {'xenbr0': '192.0.2.0/24', 'xenbr1': '10.0.1.0/24'}
    elif topology == 'brouter':
        variables.update({
            'xenfleet_brouter_subnet': '10.0.2.0/24', 'xenfleet_brouter_gateway': '10.0.2.1',
            'xenfleet_brouter_dhcp': {'dns_servers': [INTERNET]},
            'xenfleet_brouter_nat_options': {'service_manager': 'pidfile', 'state_dir': os.path.join(workdir, 'nat', 'state'),
                                             'config_dir': os.path.join(workdir, 'nat', 'etc')},
            'xenfleet_brouter_sysctl_path': os.path.join(workdir, 'sysctl.d', '60-xenfleet-brouter.conf'),
        })
    else:
        variables['xenfleet_routed'] = {'sysctl_path': os.path.join(workdir, 'sysctl.d', '60-xenfleet-route.conf'),
                                        'hook_path': os.path.join(workdir, 'xen', 'scripts', 'vif-post.d', 'xenfleet-route.hook'),
                                        'ipv6_data_path': os.path.join(workdir, 'route', 'ipv6-vifs')}
    return variables


def expected(host, source, target):
    """Whether source should reach target: each is a guest dict, 'upstream' or 'internet'."""
    topology = FLEET[host]['topology']
    if topology == 'routed':
        return True
    if topology == 'brouter':
        return source != 'upstream'
    if isinstance(source, dict) and isinstance(target, dict):
        return source['bridge'] == target['bridge']
    guest = source if isinstance(source, dict) else target
    return guest['bridge'] == 'xenbr0'


def forged_address(guest, index):
    """An address of the guest's /24 that belongs to nobody: the source it forges."""
    return str(ipaddress.ip_interface('%s/24' % guest['ip']).network[200 + index])


def probe_target(host, guest):
    """Where a guest sends its forged packets: somewhere it legitimately reaches."""
    topology = FLEET[host]['topology']
    if topology == 'brouter':
        return '10.0.2.1'
    if topology == 'multi_bridge' and guest['bridge'] == 'xenbr1':
        return [other['ip'] for other in guests(host) if other['bridge'] == 'xenbr1' and other is not guest
                and other['name'] != guest['name']][0]
    return UPSTREAM
