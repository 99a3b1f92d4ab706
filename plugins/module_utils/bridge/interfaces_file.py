# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Debian's /etc/network/interfaces as ifup reads it: which files it sources, and the uplink's own stanzas.

Private to the collection: may change without notice.

A bridge stanza is only half of a boot that works. The installer's
`iface eth0 inet static` (or dhcp) stanza is still there beside it, so at
boot the address would come up on the NIC and on the bridge at once; and a
stanza in a directory the main file does not source is a file nothing
reads. So before the first write, the module reads the file tree as ifup
does (interfaces(5): `source` globs, `source-directory`, paths relative to
the file that names them), refuses a stanza directory nothing sources, and
turns the uplink's own stanzas into `iface <uplink> inet manual` (the
bridge's ports need no address), keeping the original as a backup beside
the file it came from. A construct it does not rewrite safely (a `mapping`,
`inherits`, a `rename`, a `source` it cannot read) stops the run before
anything changes, naming the file and the line.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import glob
import os
import re

from ansible_collections.xenfleet.network.plugins.module_utils.bridge.ifupdown import port_without_slaac

BACKUP_SUFFIX = '.xenfleet-backup'
# The first line of every stanza file xen_bridge writes (ifupdown.HEADER): such files are the bridges' own.
OWN_FILE_START = '# Managed by xenfleet.network (xen_bridge)'
# interfaces(5): source-directory reads only file names made of these.
SOURCE_DIRECTORY_NAME = re.compile(r'[A-Za-z0-9_-]+')
STANZA_STARTS = ('iface', 'mapping', 'auto', 'source', 'source-directory', 'rename', 'no-auto-down', 'no-scripts', 'template')
MAX_SOURCE_DEPTH = 8


class InterfacesFileError(Exception):
    """The interfaces file tree cannot be taken over safely; the message names the file and the line."""


class Line:
    """One logical line (continuations joined), with the file and the number of its first physical line."""

    def __init__(self, path, number, physical, text):
        self.path = path
        self.number = number
        self.physical = physical  # the physical lines, newline kept
        self.text = text

    @property
    def words(self):
        return self.text.split()

    def where(self):
        return '%s line %d' % (self.path, self.number)


def logical_lines(path, text):
    lines, pending, start = [], [], None
    for number, physical in enumerate(text.splitlines(True), 1):
        if start is None:
            start = number
        pending.append(physical)
        stripped = physical.rstrip('\n')
        if stripped.endswith('\\') and not stripped.lstrip().startswith('#'):
            continue
        joined = ''.join(part.rstrip('\n').rstrip('\\') for part in pending)
        lines.append(Line(path, start, pending, joined))
        pending, start = [], None
    if pending:
        lines.append(Line(path, start, pending, ''.join(pending)))
    return lines


def is_stanza_start(line):
    words = line.words
    return bool(words) and not words[0].startswith('#') and (words[0] in STANZA_STARTS or words[0].startswith('allow-'))


def read_tree(main_path, read, depth=0):
    """[(path, text)] of the main file and everything it sources, in ifup's reading order; read(path) -> str or None."""
    if depth > MAX_SOURCE_DEPTH:
        raise InterfacesFileError('%s: sources nest deeper than %d levels' % (main_path, MAX_SOURCE_DEPTH))
    text = read(main_path)
    if text is None:
        return []
    found = [(main_path, text)]
    for line in logical_lines(main_path, text):
        words = line.words
        if not words or words[0] not in ('source', 'source-directory'):
            continue
        if len(words) != 2:
            raise InterfacesFileError('%s: %r takes one path' % (line.where(), line.text.strip()))
        for path in sourced_paths(main_path, words[0], words[1]):
            found.extend(read_tree(path, read, depth + 1))
    return found


def _resolved(main_path, pattern):
    return pattern if os.path.isabs(pattern) else os.path.join(os.path.dirname(main_path), pattern)


def sourced_paths(main_path, keyword, pattern):
    pattern = _resolved(main_path, pattern)
    if keyword == 'source':
        return sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    if not os.path.isdir(pattern):
        return []
    return sorted(os.path.join(pattern, name) for name in os.listdir(pattern)
                  if SOURCE_DIRECTORY_NAME.fullmatch(name) and os.path.isfile(os.path.join(pattern, name)))


def reads(tree, path):
    """Whether ifup, reading this tree, would read a file at path (once it exists)."""
    for source_path, text in tree:
        for line in logical_lines(source_path, text):
            words = line.words
            if len(words) != 2:
                continue
            if words[0] == 'source' and fnmatch.fnmatchcase(path, _resolved(source_path, words[1])):
                return True
            if words[0] == 'source-directory' and os.path.dirname(path) == os.path.normpath(_resolved(source_path, words[1])) \
                    and SOURCE_DIRECTORY_NAME.fullmatch(os.path.basename(path)):
                return True
    return False


def refuse_other_stanzas(tree, bridge, own_path):
    """InterfacesFileError when a file other than the bridge's own stanza has an iface stanza for the bridge: ifup would
    refuse the duplicate, or bring the bridge up twice."""
    for path, text in tree:
        if path == own_path:
            continue
        for line in logical_lines(path, text):
            words = line.words
            if len(words) >= 2 and words[0] == 'iface' and words[1] == bridge:
                raise InterfacesFileError('%s already has a stanza for %s (%r); remove it, xen_bridge writes its own'
                                          % (line.where(), bridge, line.text.strip()))


def takeover(tree, uplink, bridge, skip=()):
    """{path: new text} for the files whose stanzas for uplink must become `inet manual`; InterfacesFileError for
    a construct that cannot be rewritten safely. Files in skip (the collection's own stanzas) are left out."""
    changed = {}
    for path, text in tree:
        if path in skip or text.startswith(OWN_FILE_START):
            continue
        new = _takeover_file(path, text, uplink, bridge)
        if new != text:
            changed[path] = new
    return changed


def _takeover_file(path, text, uplink, bridge):
    out, in_uplink_stanza = [], False
    for line in logical_lines(path, text):
        words = line.words
        if is_stanza_start(line):
            in_uplink_stanza = False
            _refuse_unsafe(line, uplink)
            if words[0] == 'iface' and words[1] == uplink:
                in_uplink_stanza = True
                if words[2] == 'inet' and words[3] == 'manual' and _options_after(line, text) == [port_line(uplink)]:
                    out.extend(line.physical)  # taken over already
                    out.append(port_line(uplink, indent=True))
                    continue
                if words[2] == 'inet':
                    out.append('# xenfleet.network (xen_bridge): the configuration of %s moved to %s (the original is in %s)\n'
                               % (uplink, bridge, os.path.basename(path) + BACKUP_SUFFIX))
                    out.append('iface %s inet manual\n' % uplink)
                    out.append(port_line(uplink, indent=True))
                continue
            out.extend(line.physical)
            continue
        if in_uplink_stanza and words and not words[0].startswith('#'):
            continue  # the stanza's options (address, gateway, up lines...) now live in the bridge's stanza
        out.extend(line.physical)
    return ''.join(out)


def port_line(uplink, indent=False):
    """The one option a taken-over uplink stanza carries: no SLAAC address of its own on a bridge port (ifupdown.py)."""
    line = port_without_slaac('pre-up', uplink)
    return '    %s\n' % line if indent else line


def _options_after(line, text):
    """The option lines of the stanza that line opens, comments left out."""
    following = logical_lines(line.path, text)
    index = next(position for position, candidate in enumerate(following) if candidate.number == line.number)
    options = []
    for candidate in following[index + 1:]:
        if is_stanza_start(candidate):
            break
        if candidate.words and not candidate.words[0].startswith('#'):
            options.append(candidate.text.strip())
    return options


def _refuse_unsafe(line, uplink):
    words = line.words
    if words[0] == 'iface' and len(words) >= 2 and words[1] == uplink:
        if len(words) < 4:
            raise InterfacesFileError('%s: %r is not a whole iface line (iface NAME FAMILY METHOD)' % (line.where(), line.text.strip()))
        if len(words) > 4:
            raise InterfacesFileError('%s: %r uses %s, which xen_bridge does not rewrite; give %s a plain stanza or '
                                      'remove it, then run again' % (line.where(), line.text.strip(), words[4], uplink))
    if words[0] == 'mapping' and uplink in words[1:]:
        raise InterfacesFileError('%s: a mapping stanza picks the configuration of %s; xen_bridge does not rewrite '
                                  'mappings: remove it (the bridge takes over %s), then run again' % (line.where(), uplink, uplink))
    if words[0] == 'rename' and any(word.split('=')[0] == uplink or word.endswith('=' + uplink) for word in words[1:]):
        raise InterfacesFileError('%s: %r renames %s at boot, so the bridge stanza would name a port that is not there'
                                  % (line.where(), line.text.strip(), uplink))


def backups(changed, read):
    """{backup path: original text} for each changed file that has no backup yet (the first original is kept)."""
    found = {}
    for path in changed:
        backup = path + BACKUP_SUFFIX
        if read(backup) is None:
            found[backup] = read(path)
    return found
