# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for AnsibleModule: fail_json and exit_json raise, so a test sees the result and any
exception that would have escaped as a traceback fails the test instead."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib


class Failed(Exception):
    def __init__(self, result):
        super(Failed, self).__init__(result.get('msg'))
        self.result = result


class Exited(Exception):
    def __init__(self, result):
        super(Exited, self).__init__('exit_json')
        self.result = result


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False, run_command=None, bin_paths=None, argument_spec=None):
        self.params = dict(params)
        self.argument_spec = dict(argument_spec or {})
        self.params.setdefault('lock_timeout', 0)
        self.check_mode = check_mode
        self._diff = diff
        self.warnings = []
        self._run_command = run_command or (lambda argv, **kwargs: (1, '', 'not available in unit tests'))
        self.bin_paths = bin_paths or {}

    def fail_json(self, **result):
        raise Failed(result)

    def exit_json(self, **result):
        raise Exited(result)

    def warn(self, text):
        self.warnings.append(text)

    def run_command(self, argv, **kwargs):
        return self._run_command(argv, **kwargs)

    def get_bin_path(self, name, required=False, opt_dirs=None):
        path = self.bin_paths.get(name)
        if path is None and required:
            self.fail_json(msg='Failed to find required executable %s' % name)
        return path


class _Captured(Exception):
    pass


def argument_spec_of(name):
    """The argument spec module <name> (xen_vif...) builds in its main(), so that FakeModule checks what the module does."""
    source = importlib.import_module('ansible_collections.xenfleet.network.plugins.modules.%s' % name)
    captured = {}

    def capture(argument_spec, **kwargs):
        captured.update(argument_spec)
        raise _Captured()

    real = source.AnsibleModule
    source.AnsibleModule = capture
    try:
        source.main()
    except _Captured:
        pass
    finally:
        source.AnsibleModule = real
    return captured
