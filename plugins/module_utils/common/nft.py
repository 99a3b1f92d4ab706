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
import re

# What nft's scanner cannot carry inside a "quoted string": the quote ends it, a backslash
# starts an escape (nft >= 1.0 reads `\*` as a literal star), a newline or ';' outside
# the string would start a new command, and other control characters have no business in
# names or comments. Checked with one precompiled search, as antispoof quotes 5,000 names a run.
NFT_UNQUOTABLE = re.compile(r'["\\\x00-\x1f\x7f]')
# nft stores interface names in 16-byte fields (IFNAMSIZ, the NUL included).
NFT_IFNAME_MAX_BYTES = 15
# The usual name passes this one match and is quoted at once; anything else takes the full checks.
_PLAIN_NFT_IFNAME = re.compile(r'[A-Za-z0-9_.@-]{1,%d}' % NFT_IFNAME_MAX_BYTES)


class NftError(Exception):
    """nft refused a script or a listing; carries nft's own message."""


class NftQuoteError(NftError, ValueError):
    """A value cannot be written into an nft script safely; names the field and the value."""


def nft_string(value, field='value'):
    """value as an nft quoted string, or NftQuoteError when a quoted string cannot carry it."""
    bad = NFT_UNQUOTABLE.search(value)
    if bad is not None:
        raise NftQuoteError('%s %r holds %r, which an nft quoted string cannot carry' % (field, value, bad.group()))
    return '"%s"' % value


def nft_ifname(name, field='interface name', wildcard=False):
    """An interface name as nft matches it (`iifname "vif1.0"`).

    A trailing '*' is nft's prefix wildcard: only a pattern (wildcard=True)
    may end in one, or 'vif*' given as a name would match every vif.
    """
    if _PLAIN_NFT_IFNAME.fullmatch(name):
        return '"%s"' % name
    text = nft_string(name, field)
    size = len(name.encode('utf-8', 'surrogateescape'))
    if not 0 < size <= NFT_IFNAME_MAX_BYTES:
        raise NftQuoteError('%s %r is %d bytes; nft interface names have 1 to %d' % (field, name, size, NFT_IFNAME_MAX_BYTES))
    if name.endswith('*') and not wildcard:
        raise NftQuoteError("%s %r ends in '*', which nft reads as a wildcard matching every name that starts with %r"
                            % (field, name, name[:-1]))
    return text


def replace_table_script(family, name, body):
    """A script that swaps a table's whole content in one transaction.

    Declaring the table first makes the delete valid when it does not exist
    yet; nothing in between is ever visible to packets.
    """
    return 'table %s %s\ndelete table %s %s\ntable %s %s {\n%s}\n' % (
        family, name, family, name, family, name, body)


def boot_script(writer, script):
    """A script the collection keeps for `nft -f` at boot, with the header that says whose it is."""
    return ('#!/usr/sbin/nft -f\n# Written by xenfleet.network %s; loaded at boot with nft -f.\n'
            '# Replaces only the tables named here, in one transaction.\n' % writer) + script


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
