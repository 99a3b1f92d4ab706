# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):

    # The option every module that reads, decides and writes shared state takes (common/locks.py LOCK_OPTIONS).
    DOCUMENTATION = r'''
options:
  lock_timeout:
    description:
      - Seconds to wait for another run that changes the same state to finish.
      - From reading the host to the last write, the module holds an exclusive lock, so that two runs at once (two
        playbooks, an AWX job and a person) never plan against the same old state and silently undo each other's change.
        Check mode takes it too, as it reads and decides like a real run.
      - M(xenfleet.network.xen_vif) locks the directory of the xl configs (uniqueness is checked over all of it),
        M(xenfleet.network.xen_antispoof) the network namespace's tables, M(xenfleet.network.xen_bridge) the bridge
        and its uplink, M(xenfleet.network.xen_nat) its O(xenfleet.network.xen_nat#module:state_dir). Lock files are in
        C(/run/lock/xenfleet/) (C(<state_dir>/.lock) for xen_nat); each names its holder's PID, module and start time.
      - The lock directory must be this run's user's own, mode 0700, and no symlink; a lock file is opened without
        following symlinks and must be a regular file of that user with one name. Anything else there (planted by
        another local user in the world-writable C(/run/lock)) fails the task, naming the path, and is never written.
      - When the wait runs out the task fails, naming the lock, the run holding it and its PID, and changes nothing.
        V(0) tries once without waiting.
    type: int
    default: 60
'''
