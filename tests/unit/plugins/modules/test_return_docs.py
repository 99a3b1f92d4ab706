# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every key a module can return is in its RETURN block.

The keys are read from the code itself: the keyword arguments of every exit_json and fail_json call,
the keys of the result dicts the runners build (`result = dict(...)`, `result['key'] = ...`,
`result.update(...)`, `return dict(...)`), in the module's runner and in the shared helpers it calls
(PlanFailed.result, module_locks). A key added there without documentation fails this test.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import importlib
import os

import pytest
import yaml

ROOT = os.path.join(os.path.dirname(__file__), '..', '..', '..', '..', 'plugins')
# Keys Ansible itself documents for every module.
COMMON = {'msg', 'changed', 'failed', 'diff', 'warnings', 'invocation'}
RUNNERS = {
    'xen_vif': ['module_utils/vif/runner.py'],
    'xen_vif_info': ['module_utils/vif/info.py'],
    'xen_bridge': ['module_utils/bridge/runner.py'],
    'xen_antispoof': ['module_utils/antispoof/runner.py'],
    'xen_nat': ['module_utils/nat/runner.py'],
    'xen_route': ['module_utils/route/runner.py'],
}
SHARED = {
    'fail_with_rollback': 'module_utils/common/plan.py',
    'apply_plan': 'module_utils/common/plan.py',
    'module_locks': 'module_utils/common/locks.py',
}


def _dict_keys(node):
    """Keyword names of a dict(...) call or string keys of a {...} literal."""
    if isinstance(node, ast.Call) and getattr(node.func, 'id', None) == 'dict':
        return set(keyword.arg for keyword in node.keywords if keyword.arg)
    if isinstance(node, ast.Dict):
        return set(key.value for key in node.keys if isinstance(key, ast.Constant) and isinstance(key.value, str))
    return set()


def returned_keys(path):
    with open(os.path.join(ROOT, path)) as handle:
        tree = ast.parse(handle.read())
    keys = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (getattr(node.func, 'attr', None) in ('exit_json', 'fail_json')
                                           or getattr(node.func, 'attr', None) == 'update' and getattr(node.func.value, 'id', None) == 'result'):
            keys.update(keyword.arg for keyword in node.keywords if keyword.arg)
            for argument in node.args:
                keys.update(_dict_keys(argument))
        elif isinstance(node, ast.Assign) and any(getattr(target, 'id', None) == 'result' for target in node.targets):
            keys.update(_dict_keys(node.value))
        elif isinstance(node, ast.Assign) and any(isinstance(target, ast.Subscript) and getattr(target.value, 'id', None) == 'result'
                                                  and isinstance(target.slice, ast.Constant) for target in node.targets):
            keys.update(target.slice.value for target in node.targets if isinstance(target, ast.Subscript))
        elif isinstance(node, ast.FunctionDef) and node.name in ('result', 'gather', 'converge'):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Return) and inner.value is not None:
                    keys.update(_dict_keys(inner.value))
    return keys


def module_keys(name):
    keys = set()
    for path in RUNNERS[name]:
        keys |= returned_keys(path)
        with open(os.path.join(ROOT, path)) as handle:
            source = handle.read()
        for function, shared in SHARED.items():
            if function in source:
                keys |= returned_keys(shared)
    return keys - COMMON


@pytest.mark.parametrize('name', sorted(RUNNERS))
def test_every_returned_key_is_documented(name):
    module = importlib.import_module('ansible_collections.xenfleet.network.plugins.modules.%s' % name)
    documented = set(yaml.safe_load(module.RETURN))
    assert sorted(module_keys(name) - documented) == []


def test_the_scan_sees_the_keys_it_must():
    assert {'failed_step', 'rolled_back', 'rollback_errors', 'no_undo', 'plan', 'lock', 'lock_holder', 'apply_seconds',
            'problems'} <= module_keys('xen_bridge')
    assert {'backup_file', 'live_done', 'rc', 'cmd', 'config', 'lock'} <= module_keys('xen_vif')
