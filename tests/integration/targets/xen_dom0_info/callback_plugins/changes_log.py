# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: one JSON line per task result (and per loop item) to $CHANGES_LOG, so the target can tell what changed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = '''
name: changes_log
type: aggregate
short_description: record every task result as a JSON line
description: Test helper of the xen_dom0_info target.
'''

import json
import os

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'changes_log'
    CALLBACK_NEEDS_ENABLED = True

    def _log(self, result, status, item=None):
        path = os.environ.get('CHANGES_LOG')
        if not path:
            return
        data = result._result
        entry = dict(task=result._task.get_name(), host=result._host.get_name(), status=status,
                     changed=bool(data.get('changed')), item=item, loop='results' in data,
                     result=dict((key, value) for key, value in data.items() if key in ('msg', 'changed_guests', 'guests', 'diff')))
        with open(path, 'a') as handle:
            handle.write(json.dumps(entry, default=str) + '\n')

    def v2_runner_on_ok(self, result):
        self._log(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._log(result, 'failed')

    def v2_runner_item_on_ok(self, result):
        self._log(result, 'item', result._result.get('_ansible_item_label', result._result.get('item')))
