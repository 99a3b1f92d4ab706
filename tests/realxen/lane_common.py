"""What the real-Xen lane's configurations share: dom0's upstream network at boot, and reading Ansible's output."""

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
