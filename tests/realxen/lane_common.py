"""What the real-Xen lane's configurations share: dom0's upstream network at boot, counting what reaches it, a guest's
forged source, and reading Ansible's output."""

import re

# The network beyond dom0's uplink: the image's unit xenfleet-realxen-upstream.service makes it at every boot
# (dom0/usr/local/lib/xenfleet-realxen/upstream.sh, in the mode upstream.env names), the internet's HTTP server
# (xf-internet.service) with it; extra runs once, after the unit's first start.
UPSTREAM_SETUP = """
set -e
mkdir -p /etc/xenfleet-realxen
printf '%s\\n' {settings} > /etc/xenfleet-realxen/upstream.env
systemctl enable --now xenfleet-realxen-upstream.service xf-internet.service
{extra}
"""


def upstream_setup(mode, extra='', route_back=None):
    """The shell commands that set dom0's upstream up in mode (bridged or routed), now and at every boot."""
    settings = ['MODE=%s' % mode] + (['ROUTE_BACK=%s' % route_back] if route_back else [])
    return UPSTREAM_SETUP.format(settings=' '.join(settings), extra=extra)


def changed_tasks(output):
    """The tasks of an ansible-playbook output that reported changed, by name."""
    found, task = [], None
    for line in output.splitlines():
        heading = re.match(r'^TASK \[(.*)\]', line)
        if heading:
            task = heading.group(1)
        elif line.startswith('changed:') and task not in found:
            found.append(task)
    return found


def diff_of_changed(output):
    """The output (with --diff) of each task that reported changed, from its heading to its result."""
    blocks = re.split(r'^(?=TASK \[)', output, flags=re.M)
    return '\n'.join(block.strip()[-4000:] for block in blocks if re.search(r'^changed:', block, re.M))


def upstream_echo_requests(lane):
    """The echo requests the upstream namespace has received (its ICMP InEchos), or None when unreadable."""
    snmp = lane.dom0('ip netns exec upstream cat /proc/net/snmp').stdout
    rows = [line.split() for line in snmp.splitlines() if line.startswith('Icmp:')]
    return int(dict(zip(rows[0][1:], rows[1][1:]))['InEchos']) if len(rows) >= 2 else None


def forge_source(lane, guest, vif, router, forged_address):
    """A guest pings the router from its own address, then five times from forged_address; returns the upstream's
    echo-request counts before, after the legitimate pings and after the forged ones, the packets its vif received
    from the forged pings, and the legitimate ping's (status, output)."""
    before = upstream_echo_requests(lane)
    status, output = lane.guest(guest, 'ping -c 2 -W 3 %s' % router, timeout=60)
    legit = upstream_echo_requests(lane)
    rx_before = lane.vif_rx_packets(vif)
    lane.guest(guest, 'ip addr add %s/32 dev eth0; ping -c 5 -W 1 -I %s %s; ip addr del %s/32 dev eth0' % (
        forged_address, forged_address, router, forged_address), timeout=60)
    sent = lane.vif_rx_packets(vif) - rx_before
    return dict(before=before, legit=legit, forged=upstream_echo_requests(lane), sent=sent, status=status, output=output)
