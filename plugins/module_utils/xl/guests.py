# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The guests a dom0's xl config files describe, and what their vifs claim.

Private to the collection: may change without notice.

xen_vif reads every other config of the dom0 to refuse a MAC, address or
vif name another guest has; xen_vif_info lists them. A file that cannot be
parsed is kept with its error instead of stopping the scan: one broken
config must not keep the others from being checked.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import glob
import os

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes
from ansible_collections.xenfleet.network.plugins.module_utils.vif.claims import claim, effective_devid
from ansible_collections.xenfleet.network.plugins.module_utils.xl.vif_spec import parse_vif
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import (
    XlConfigError,
    decode_config,
    guest_name,
    is_hvm,
    parse_config,
    vif_entries,
)

DEFAULT_CONFIG_DIR = '/etc/xen'
DEFAULT_PATTERN = '*.cfg'

# One config file: `type` is the file's type= (or 'hvm' for builder="hvm"),
# `specs` the VifSpec of each vif entry, `error` why the file was not read.
GuestConfig = collections.namedtuple('GuestConfig', 'path name type hvm specs error')


def read_guest_config(path, data=None):
    """The GuestConfig of one file (data: its bytes, when already read)."""
    try:
        if data is None:
            data = read_bytes(path)
        if data is None:
            return GuestConfig(path, None, None, False, (), 'no such file')
        config = parse_config(decode_config(data))
        specs = tuple(parse_vif(entry) for entry in vif_entries(config))
    except XlConfigError as error:
        return GuestConfig(path, None, None, False, (), str(error))
    except (IOError, OSError) as error:
        return GuestConfig(path, None, None, False, (), 'cannot read it: %s' % (error.strerror or error))
    guest_type = config.string('type') or ('hvm' if config.string('builder') == 'hvm' else None)
    return GuestConfig(path, guest_name(config), guest_type, is_hvm(config), specs, None)


def config_paths(config_dir, pattern=DEFAULT_PATTERN):
    """The files in config_dir matching pattern, sorted, each file once.

    Links to one file (as /etc/xen/auto holds) count once, under the
    file's own name when it is there.
    """
    chosen = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(config_dir), pattern))):
        real = os.path.realpath(path)
        if os.path.isfile(real) and (real not in chosen or os.path.islink(chosen[real]) and not os.path.islink(path)):
            chosen[real] = path
    return sorted(chosen.values())


def scan_config_dir(config_dir, pattern=DEFAULT_PATTERN, skip=None):
    """The GuestConfig of every config in config_dir; skip: a path, or paths, left out (the files being edited)."""
    skipped = set(os.path.realpath(path) for path in ([skip] if isinstance(skip, str) else skip or ()))
    return [read_guest_config(path) for path in config_paths(config_dir, pattern) if os.path.realpath(path) not in skipped]


def display_name(guest):
    """The guest's name, or the file's when the config has no name = '...'."""
    return guest.name or '(%s)' % os.path.basename(guest.path)


def guest_claims(guest, dom0=None):
    """The VifClaim of each vif of a readable GuestConfig."""
    return [claim(dom0, display_name(guest), effective_devid(spec, index), spec, guest.hvm) for index, spec in enumerate(guest.specs)]


def guest_vifs(guest):
    """Each vif as a mapping of xl keys, devid always set (xl numbers vifs by position unless devid= says otherwise)."""
    vifs = []
    for index, spec in enumerate(guest.specs):
        vif = spec.to_dict()
        vif['devid'] = effective_devid(spec, index)
        vifs.append(vif)
    return vifs
