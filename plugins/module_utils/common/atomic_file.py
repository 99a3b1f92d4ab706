# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Atomic file replacement: readers see the old file or the new one, never half of either."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil
import tempfile
import time


def read_bytes(path):
    """The file's content, or None when it does not exist."""
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as error:
        if getattr(error, 'errno', None) == 2:
            return None
        raise


def write_atomic(path, data, mode=None, backup=False):
    """Write data to path through a temporary file in the same directory and rename it.

    The temporary file lives beside the target so the rename stays on one
    filesystem and is atomic. Returns the backup path when one was made.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    backup_path = None
    if backup and os.path.exists(path):
        backup_path = '%s.%s~' % (path, time.strftime('%Y%m%d%H%M%S'))
        shutil.copy2(path, backup_path)
    if mode is None:
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
    handle, temporary = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(handle, 'wb') as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, mode)
        os.rename(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return backup_path


def remove_file(path):
    """Remove path if present; True when something was removed."""
    try:
        os.unlink(path)
        return True
    except OSError as error:
        if error.errno == 2:
            return False
        raise
