# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Does dom0 still reach its neighbours? Asked after the uplink moves."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time


class Unreachable(Exception):
    """No answer from some targets within the timeout."""


def make_ping_checker(run_command, ping_path='ping', clock=time.monotonic, sleep=time.sleep):
    """A checker that pings each target until all answered or the timeout passed.

    run_command is AnsibleModule.run_command (argv list in, (rc, out, err) out),
    so the module's environment and logging apply.
    """

    def check(targets, timeout):
        deadline = clock() + timeout
        waiting = list(targets)
        while waiting:
            waiting = [target for target in waiting if run_command([ping_path, '-n', '-c', '1', '-W', '1', target])[0] != 0]
            if not waiting:
                return
            if clock() >= deadline:
                raise Unreachable('%s did not answer within %s s' % (', '.join(waiting), timeout))
            sleep(0.2)

    return check
