# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""nftables tables that the collection owns, read and replaced atomically.

Each change is one `nft -f` run, which the kernel applies as one transaction:
either the whole new table is in place or the old one is untouched. Only
tables named by the caller are ever read, replaced or deleted, so the host's
own ruleset (firewalld, Docker, a hand-written one) is never touched.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json


class NftError(Exception):
    """nft refused a script or a listing; carries nft's own message."""


def replace_table_script(family, name, body):
    """A script that swaps a table's whole content in one transaction.

    Declaring the table first makes the delete valid when it does not exist
    yet; nothing in between is ever visible to packets.
    """
    return 'table %s %s\ndelete table %s %s\ntable %s %s {\n%s}\n' % (
        family, name, family, name, family, name, body)


def delete_table_script(family, name):
    return 'table %s %s\ndelete table %s %s\n' % (family, name, family, name)


def parse_json_listing(out, command):
    """The objects of an `nft -j` listing; NftError naming the command when it printed something else."""
    try:
        listing = json.loads(out)
    except ValueError as error:
        raise NftError('%s printed no JSON (%s): %r' % (command, error, out[:200]))
    if not isinstance(listing, dict) or not isinstance(listing.get('nftables', []), list):
        raise NftError('%s printed JSON without an "nftables" list: %r' % (command, out[:200]))
    return listing.get('nftables', [])


class Nft:
    """Runs nft through a run_command(argv, data=None) -> (rc, out, err) callable
    (AnsibleModule.run_command in modules)."""

    def __init__(self, run_command, nft_path='nft'):
        self.run_command = run_command
        self.nft_path = nft_path

    def _run(self, argv, data=None, what='nft'):
        if data is None:
            rc, out, err = self.run_command([self.nft_path] + argv)
        else:
            rc, out, err = self.run_command([self.nft_path] + argv, data=data, binary_data=True)
        if rc != 0:
            raise NftError('%s failed (rc=%s): %s' % (what, rc, (err or out).strip()))
        return out

    def table_json(self, family, name):
        """The table as nft's JSON objects (list), or None when it does not exist."""
        rc, out, err = self.run_command([self.nft_path, '-j', 'list', 'table', family, name])
        if rc != 0:
            if 'No such file or directory' in (err or ''):
                return None
            raise NftError('listing table %s %s failed: %s' % (family, name, (err or out).strip()))
        return parse_json_listing(out, 'nft -j list table %s %s' % (family, name))

    def table_text(self, family, name):
        """The table as nft prints it (for diffs), or '' when it does not exist."""
        rc, out, err = self.run_command([self.nft_path, 'list', 'table', family, name])
        if rc != 0:
            if 'No such file or directory' in (err or ''):
                return ''
            raise NftError('listing table %s %s failed: %s' % (family, name, (err or out).strip()))
        return out

    def check(self, script):
        """Parse and validate a script against the running kernel without applying it."""
        self._run(['-c', '-f', '-'], data=script, what='nft --check')

    def apply(self, script):
        """Apply a script as one transaction."""
        self._run(['-f', '-'], data=script, what='nft -f')
