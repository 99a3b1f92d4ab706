# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The per-vif defaults of /etc/xen/xl.conf.

Private to the collection: may change without notice.

xl.conf has the syntax of a domain config, so xl/config.py reads it. Only
the three vif.default.* keys matter for networking: a vif line without
script=, bridge= or gatewaydev= takes them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.xenfleet.network.plugins.module_utils.common.atomic_file import read_bytes
from ansible_collections.xenfleet.network.plugins.module_utils.xl.config import decode_config, parse_config

DEFAULT_KEYS = ('script', 'bridge', 'gatewaydev')


def read_xl_conf(path):
    """{path, present, defaults: {script, bridge, gatewaydev} (only those set)}; raises XlConfigError."""
    data = read_bytes(path)
    if data is None:
        return dict(path=path, present=False, defaults={})
    config = parse_config(decode_config(data))
    defaults = {}
    for key in DEFAULT_KEYS:
        value = config.string('vif.default.' + key)
        if value is not None:
            defaults[key] = value
    return dict(path=path, present=True, defaults=defaults)
