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

# Runs the loader ("$@", reading its script from stdin) in a namespace of its own, then lists the table there.
SCRATCH_SCRIPT = 'nft="$0" family="$1" table="$2"; shift 2; "$@" && "$nft" -j list table "$family" "$table"'


def _without_counter_values(value):
    if isinstance(value, dict):
        return dict((key, None if key == 'counter' else _without_counter_values(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_without_counter_values(item) for item in value]
    return value


def rule_body(rule):
    """A rule of a listing as compared: without its handle and counter values."""
    body = dict((key, value) for key, value in rule.items() if key != 'handle')
    body['expr'] = _without_counter_values(body.get('expr'))
    return body


def structure_of(objects):
    """The objects of a table listing with what legitimately varies left out, in a stable order.

    A rule keeps its place in its chain (nft lists a chain's rules in order): the same rules in another order are
    another filter, e.g. the final accept moved before the source check.
    """
    found = []
    rules_seen = {}
    for entry in objects or []:
        for kind in ('table', 'chain', 'rule', 'set', 'map', 'flowtable', 'counter', 'quota', 'ct helper', 'limit'):
            if kind not in entry:
                continue
            if kind == 'rule':
                body = rule_body(entry[kind])
                chain = (body.get('family'), body.get('table'), body.get('chain'))
                body['position'] = rules_seen[chain] = rules_seen.get(chain, -1) + 1
            else:
                body = dict((key, value) for key, value in entry[kind].items() if key not in ('handle', 'elem'))
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
        objects = scratch_listing(self.run_command, self.unshare_path, self.nft_path, family, table,
                                  [self.nft_path, '-f', '-'], replace_table_script(family, table, body))
        result = None if objects is None else structure_of(objects)
        self.cache[family] = result
        return result


def scratch_listing(run_command, unshare_path, nft_path, family, table, loader, script):
    """The objects of one table as the kernel lists it after loader (an argv reading script on stdin) ran in a
    scratch network namespace; None when no such namespace can be had or the loader refused."""
    if not unshare_path or not nft_path:
        return None
    argv = [unshare_path, '--net', '--', '/bin/sh', '-c', SCRATCH_SCRIPT, nft_path, family, table] + list(loader)
    rc, out, dummy = run_command(argv, data=script)
    if rc != 0:
        return None
    try:
        return parse_json_listing(out, 'nft -j list table %s %s (scratch namespace)' % (family, table))
    except NftError:
        return None
