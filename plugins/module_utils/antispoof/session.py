# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether the policy would drop the SSH session that runs this task.

Private to the collection: may change without notice.

Once host_interfaces are declared, every interface that is not a vif with a policy, trusted, lo or dom0's own is
dropped; a management NIC the inventory does not describe (the routed topology leaves it alone, as it should) would
go dark in the middle of the play, with no way back but a console. So the interface the task's SSH client is
reached through must be one the policy lets pass, or the task fails before any change, naming it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch


def ssh_client(environ):
    """The address of the SSH client this task runs for (sshd's SSH_CONNECTION), or None."""
    fields = (environ.get('SSH_CONNECTION') or '').split()
    return fields[0] if len(fields) == 4 else None


def _matches(name, patterns):
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns or ())


def dropped_session_device(spec, device):
    """Why the policy would drop frames arriving on device, or None when they pass (a trailing '*' is a wildcard)."""
    if device is None or device == 'lo' or not closes(spec):
        return None
    own = list(spec.trusted_ports or []) + list(spec.host_interfaces or [])
    if _matches(device, own) or device in spec.vif_names():
        return None
    return 'it is not in host_interfaces or trusted_ports'


def closes(spec):
    """Whether the policy drops interfaces by not being declared, which is what can cut a session."""
    return spec.state == 'present' and spec.host_interfaces is not None and spec.unlisted_vifs != 'accept'
