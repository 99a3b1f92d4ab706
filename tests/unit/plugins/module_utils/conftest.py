# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures shared by the module_utils tests."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest


class FakeXl:
    """Stands in for AnsibleModule.run_command running xl: records every argv, answers from a table.

    answers maps the arguments after xl's path, as a tuple, to (rc, stdout, stderr).
    """

    def __init__(self, answers):
        self.answers = answers
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv)
        return self.answers[tuple(argv[1:])]


@pytest.fixture
def fake_xl():
    """FakeXl itself: call it with the answers table."""
    return FakeXl


@pytest.fixture(autouse=True)
def sysctl_record_in_tmp(tmp_path, monkeypatch):
    """The shared record of kernel settings (common/sysctls.py) in the test's own directory, never the host's."""
    from ansible_collections.xenfleet.network.plugins.module_utils.common import sysctls
    path = str(tmp_path / 'sysctls.json')
    monkeypatch.setattr(sysctls, 'record_location', lambda: (path, None))
    return path
