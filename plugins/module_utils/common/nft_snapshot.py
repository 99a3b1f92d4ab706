# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Knowing, without listing a table, that nobody changed the nftables ruleset since we wrote it.

Private to the collection: may change without notice.

Listing a table of 35,000 set elements with `nft -j` takes a third of a
second; the kernel can say in a millisecond whether anything changed. It
numbers every committed nftables transaction of a network namespace (the
ruleset generation, NFT_MSG_GETGEN, read over netlink with pyroute2), and
SO_NETNS_COOKIE names the namespace uniquely until the next boot. A
snapshot saved with the boot id, the cookie and the generation its own
transaction produced is the kernel's state for as long as all three still
match: any later transaction, by anyone, moves the generation on and the
snapshot is ignored. A mismatch only costs a full listing; a snapshot is
never trusted on a guess.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import socket

from ansible_collections.xenfleet.network.plugins.module_utils.common import deps
from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes, remove_file, write_atomic

BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id'
NETNS_DIR = '/run/netns'  # where `ip netns add` keeps namespaces that no process is in
SO_NETNS_COOKIE = getattr(socket, 'SO_NETNS_COOKIE', 71)  # Linux 5.14; Python names it from 3.12 on
FORMAT = 1


def ruleset_generation():
    """The namespace's nftables generation, or None when pyroute2 or the kernel cannot tell."""
    if deps.load('pyroute2') is None:
        return None
    nftsocket = importlib.import_module('pyroute2.netlink.nfnetlink.nftsocket')
    netlink = importlib.import_module('pyroute2.netlink')
    try:
        sock = nftsocket.NFTSocket()
        try:
            replies = sock.request_get(nftsocket.nft_gen_msg(), nftsocket.NFT_MSG_GETGEN, netlink.NLM_F_REQUEST)
            generations = [reply.get_attr('NFTA_GEN_ID') for reply in replies]
        finally:
            sock.close()
    except Exception:  # pylint: disable=broad-except  # an old kernel or library: the caller lists the tables instead
        return None
    return next((generation for generation in generations if generation is not None), None)


def namespace_cookie():
    """This network namespace's cookie, never reused while the machine runs; None on kernels before 5.14."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        return int.from_bytes(probe.getsockopt(socket.SOL_SOCKET, SO_NETNS_COOKIE, 8), 'little')
    except OSError:
        return None
    finally:
        probe.close()


def namespace_identity():
    """'boot id/namespace cookie', unique to this network namespace until reboot; None on kernels before 5.14."""
    boot_id = read_bytes(BOOT_ID_PATH)
    cookie = namespace_cookie()
    if not boot_id or cookie is None:
        return None
    return '%s/%d' % (boot_id.decode('ascii', 'replace').strip(), cookie)


def _namespace_inode(path):
    try:
        return os.stat(path).st_ino
    except OSError:
        return None


def current_namespace_inode():
    """The inode of this process's network namespace: unique among the namespaces that exist now."""
    return _namespace_inode('/proc/self/ns/net')


def live_namespace_inodes():
    """Inodes of the network namespaces that still exist: those of running processes and those kept by `ip netns`."""
    paths = ['/proc/%s/ns/net' % pid for pid in os.listdir('/proc') if pid.isdigit()]
    if os.path.isdir(NETNS_DIR):
        paths.extend(os.path.join(NETNS_DIR, name) for name in os.listdir(NETNS_DIR))
    return set(inode for inode in map(_namespace_inode, paths) if inode is not None)


def remove_files_of_gone_namespaces(directory, prefix):
    """Remove the files <prefix><inode>.json in directory whose network namespace no longer exists."""
    live = live_namespace_inodes()
    for name in os.listdir(directory):
        inode = name[len(prefix):-len('.json')] if name.startswith(prefix) and name.endswith('.json') else ''
        if inode.isdigit() and int(inode) not in live:
            remove_file(os.path.join(directory, name))


class SnapshotStore:
    """Snapshots of one owner's tables, one file per network namespace under directory.

    A file is named by its namespace's inode, so a namespace has one file at most; the identity inside it
    (boot id and cookie; an inode is reused) is what load() trusts. Saving removes the files of namespaces
    that are gone: labs and containers come and go, and a dom0 keeps running.
    """

    def __init__(self, directory, owner):
        self.directory = directory
        self.owner = owner
        self.identity = namespace_identity()
        self.inode = current_namespace_inode()

    def _path(self, inode=None):
        return os.path.join(self.directory, '%s-%d.json' % (self.owner, self.inode if inode is None else inode))

    def load(self, generation):
        """The saved data if it was saved at this generation of this namespace, else None."""
        if self.identity is None or self.inode is None or generation is None:
            return None
        text = read_bytes(self._path())
        if not text:
            return None
        try:
            saved = json.loads(text.decode('utf-8'))
        except ValueError:
            return None
        if not isinstance(saved, dict):
            return None
        if saved.get('format') != FORMAT or saved.get('namespace') != self.identity or saved.get('generation') != generation:
            return None
        return saved.get('data')

    def save(self, generation, data):
        """Remember data as the state at generation; never fails the caller (a lost snapshot costs one listing)."""
        if self.identity is None or self.inode is None or generation is None:
            return
        text = json.dumps({'format': FORMAT, 'namespace': self.identity, 'generation': generation, 'data': data}, separators=(',', ':'))
        try:
            write_atomic(self._path(), text.encode('utf-8'), mode=0o600)
            self._remove_those_of_gone_namespaces()
        except (IOError, OSError):
            self.forget()

    def _remove_those_of_gone_namespaces(self):
        remove_files_of_gone_namespaces(self.directory, self.owner + '-')

    def forget(self):
        if self.inode is None:
            return
        try:
            remove_file(self._path())
        except (IOError, OSError):
            pass
