# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start a long-running process inside a lab namespace through the lab itself (Lab.spawn),
so that `xenlab.py down` stops it with the lab. Prints its pid.

    python3 lab_spawn.py LAB_TOOL WORKDIR ROLE LOG_NAME -- ARGV...
"""

from __future__ import absolute_import, division, print_function

import os
import sys


def main(argv):
    lab_tool, workdir, role, log_name = argv[1:5]
    command = argv[6:] if argv[5:6] == ['--'] else argv[5:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(lab_tool)))
    import xenlab  # pylint: disable=import-error,import-outside-toplevel
    popen = xenlab.Lab.attach(workdir).spawn(role, command, log_name=log_name)
    print(popen.pid)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
