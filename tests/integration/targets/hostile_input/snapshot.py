# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Print, as JSON, what "the host is unchanged" means for the hostile_input target.

Run inside the lab's dom0 namespace: links (ip -d, without the bridge timers,
which tick), addresses, routes of every table, the whole nft ruleset, and the
sha256 of every file (and the name of every directory) under the directories
given as arguments.
"""

from __future__ import absolute_import, division, print_function

import hashlib
import json
import os
import subprocess
import sys


def ip_json(*argv):
    return json.loads(subprocess.run(('ip', '-j') + argv, capture_output=True, text=True, check=True).stdout or '[]')


def without_timers(value):
    if isinstance(value, dict):
        return dict((key, without_timers(item)) for key, item in value.items() if not key.endswith('_timer'))
    if isinstance(value, list):
        return [without_timers(item) for item in value]
    return value


def files_under(top):
    found = {}
    for directory, names, files in os.walk(top):
        found[os.path.relpath(directory, top) + '/'] = 'dir'
        for name in files:
            path = os.path.join(directory, name)
            with open(path, 'rb') as handle:
                found[os.path.relpath(path, top)] = hashlib.sha256(handle.read()).hexdigest()
    return found


def main():
    print(json.dumps({
        'links': without_timers(ip_json('-d', 'link', 'show')),
        'addresses': ip_json('addr', 'show'),
        'routes4': ip_json('route', 'show', 'table', 'all'),
        'routes6': ip_json('-6', 'route', 'show', 'table', 'all'),
        'nft': subprocess.run(['nft', 'list', 'ruleset'], capture_output=True, text=True, check=True).stdout,
        'files': dict((top, files_under(top)) for top in sys.argv[1:]),
    }, sort_keys=True))


if __name__ == '__main__':
    main()
