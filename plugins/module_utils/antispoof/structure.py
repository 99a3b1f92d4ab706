# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a table's rules, chains and set definitions are exactly what xen_antispoof writes.

Private to the collection: may change without notice.

The layout fingerprint (a comment on the first rule, and the number of rules
per chain) tells a table of an older layout from the current one, but not a
rule replaced by hand: `nft replace rule ... handle N accept` on the IPv4
source check keeps both, and every guest could forge its source while the
module reported ok. So the whole structure is compared: every chain (type,
hook, priority, policy), every rule's expressions and comment, every set's
and map's definition; only what legitimately varies is left out (handles,
counter values, set elements, which the element plan compares on its own).

The reference is the kernel's own reading of what the module writes: the
table, with empty sets, is loaded into a scratch network namespace (`unshare
--net`) and listed there with the same nft, so nft and kernel versions can
never make a false difference.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.xenfleet.network.plugins.module_utils.common.nft import NftError, parse_json_listing, replace_table_script

# Loads the script from stdin in a namespace of its own, then lists the table there; "$0" is nft.
SCRATCH_SCRIPT = '"$0" -f - && "$0" -j list table "$1" "$2"'


def _without_counter_values(value):
    if isinstance(value, dict):
        return dict((key, None if key == 'counter' else _without_counter_values(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_without_counter_values(item) for item in value]
    return value


def structure_of(objects):
    """The objects of a table listing with what legitimately varies left out, in a stable order."""
    found = []
    for entry in objects or []:
        for kind in ('table', 'chain', 'rule', 'set', 'map', 'flowtable', 'counter', 'quota', 'ct helper', 'limit'):
            if kind not in entry:
                continue
            body = dict((key, value) for key, value in entry[kind].items() if key not in ('handle', 'elem'))
            if kind == 'rule':
                body['expr'] = _without_counter_values(body.get('expr'))
            found.append(json.dumps({kind: body}, sort_keys=True))
    return sorted(found)


class ScratchReference:
    """The structure of each family's table as the kernel reads what the module writes, loaded once per run."""

    def __init__(self, run_command, nft_path, unshare_path):
        self.run_command = run_command
        self.nft_path = nft_path
        self.unshare_path = unshare_path
        self.cache = {}

    def available(self):
        return bool(self.unshare_path)

    def structure(self, family, table, body):
        """The reference for one family, or None when no scratch namespace can be had (then nothing is compared)."""
        if family in self.cache:
            return self.cache[family]
        result = None
        if self.unshare_path:
            argv = [self.unshare_path, '--net', '--', '/bin/sh', '-c', SCRATCH_SCRIPT, self.nft_path, family, table]
            rc, out, dummy = self.run_command(argv, data=replace_table_script(family, table, body))
            if rc == 0:
                try:
                    result = structure_of(parse_json_listing(out, 'nft -j list table %s %s (scratch namespace)' % (family, table)))
                except NftError:
                    result = None
        self.cache[family] = result
        return result
