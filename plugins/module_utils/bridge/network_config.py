# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which system brings dom0's network up at boot, for persist=auto.

Private to the collection: may change without notice.

A stanza that nothing reads at boot is worse than none: the bridge looks
persisted and is gone after the next reboot. So auto picks ifupdown only
where Debian's ifupdown is what configures the network, and otherwise
stops before anything changes, saying what it found. The evidence is the
files each system leaves (no daemon is asked), so the answer is the same
in check mode and under any root.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os


class UnsupportedNetworkConfig(Exception):
    """auto cannot pick a way to persist; the message says what was found and what to set."""


def _exists(root, path):
    return os.path.exists(os.path.join(root, path.lstrip('/')))


def _has_files(root, directory, suffix):
    full = os.path.join(root, directory.lstrip('/'))
    return os.path.isdir(full) and any(name.endswith(suffix) for name in os.listdir(full))


def findings(root='/'):
    """The network configuration systems present, each with the evidence that gave it away."""
    found = []
    if _exists(root, '/run/NetworkManager'):
        found.append(('NetworkManager', 'it runs (/run/NetworkManager exists)'))
    if _exists(root, '/run/systemd/netif/links') and _has_files(root, '/etc/systemd/network', '.network'):
        found.append(('systemd-networkd', 'it runs and /etc/systemd/network holds .network files'))
    if _exists(root, '/usr/share/ifupdown2'):
        found.append(('ifupdown2', 'it is installed (/usr/share/ifupdown2), and it reads bridge stanzas its own way'))
    elif _exists(root, '/sbin/ifup') or _exists(root, '/usr/sbin/ifup'):
        found.append(('ifupdown', 'ifup is installed'))
    return found


def resolve_auto(interfaces_path, root='/'):
    """'ifupdown' when Debian's ifupdown alone configures the network, else UnsupportedNetworkConfig."""
    found = findings(root)
    names = [name for name, dummy in found]
    said = '; '.join('%s: %s' % pair for pair in found) or 'no ifupdown, NetworkManager or systemd-networkd'
    if names == ['ifupdown']:
        if not _exists(root, interfaces_path):
            raise UnsupportedNetworkConfig('persist=auto: ifup is installed but %s does not exist, so ifupdown configures '
                                           'nothing at boot; nothing was changed. Set persist to ifupdown once it exists, '
                                           'or to none' % interfaces_path)
        return 'ifupdown'
    raise UnsupportedNetworkConfig(
        'persist=auto found %s. xen_bridge persists bridges only for Debian\'s ifupdown, as the one system configuring '
        'the network; nothing was changed. Set persist to ifupdown if ifupdown alone brings up this uplink at boot, or '
        'to none and make the bridge persistent with the tool that manages the network' % said)
