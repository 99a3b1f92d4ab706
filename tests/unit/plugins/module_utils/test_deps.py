# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one guard for optional libraries (deps) and the code that relies on it."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os
import subprocess
import sys

import pytest

from ansible_collections.xenfleet.network.plugins.module_utils.common import deps
from ansible_collections.xenfleet.network.plugins.module_utils.common.validate import address_key
from ansible_collections.xenfleet.network.plugins.module_utils.vif.validate import ip_rules


class FailJson(Exception):
    pass


class FakeModule:
    def fail_json(self, **kwargs):
        raise FailJson(kwargs)


@pytest.fixture
def netaddr_missing(monkeypatch):
    """As if netaddr were not installed: its import raises ImportError."""
    real_import = importlib.import_module

    def import_module(name, *args):
        if name == 'netaddr':
            raise ImportError('No module named netaddr')
        return real_import(name, *args)

    # Other files hold these dicts by reference: change them in place.
    saved = dict(deps.IMPORT_ERRORS), dict(deps._LOADED)
    for table in (deps.IMPORT_ERRORS, deps._LOADED):
        table.clear()
    monkeypatch.setattr(deps.importlib, 'import_module', import_module)
    yield
    for table, content in zip((deps.IMPORT_ERRORS, deps._LOADED), saved):
        table.clear()
        table.update(content)


def test_an_installed_library_is_loaded_once():
    assert deps.has('netaddr')
    assert deps.load('netaddr') is deps.load('netaddr') is importlib.import_module('netaddr')
    assert 'netaddr' not in deps.IMPORT_ERRORS


def test_asking_for_a_library_the_collection_does_not_use_is_a_bug():
    with pytest.raises(ValueError, match="'yaml' is not one of the optional libraries"):
        deps.load('yaml')


def test_a_missing_library_keeps_its_traceback(netaddr_missing):
    assert deps.load('netaddr') is None
    assert not deps.has('netaddr')
    assert 'No module named netaddr' in deps.IMPORT_ERRORS['netaddr']


def test_require_fails_the_task_with_missing_required_lib(netaddr_missing):
    with pytest.raises(FailJson) as raised:
        deps.require(FakeModule(), 'netaddr')
    assert 'netaddr' in raised.value.args[0]['msg']
    assert 'No module named netaddr' in raised.value.args[0]['exception']


def test_require_passes_when_every_library_is_there():
    deps.require(FakeModule(), 'netaddr', 'jmespath')


def test_ip_checks_need_no_netaddr(netaddr_missing):
    # Addresses are checked with the standard library's ipaddress, as in every other module.
    assert ip_rules('10.0.0.5', ['10.0.0.0/24']) == []
    assert address_key('10.0.0.5/24') == '10.0.0.5'


def test_importing_the_guard_imports_no_library():
    # pyroute2 takes a quarter of a second to import; a module editing a file must not pay for it.
    program = ('import sys; import ansible_collections.xenfleet.network.plugins.module_utils.vif.validate; '
               'print(sorted(set(sys.modules).intersection(%r)))' % (deps.LIBRARIES,))
    completed = subprocess.run([sys.executable, '-c', program], env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)),
                               stdout=subprocess.PIPE, check=True)
    assert completed.stdout.strip() == b'[]'
