# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Optional third-party libraries, imported once, in one place.

Private to the collection: may change without notice.
A module asks for what it needs with require(); a missing library fails the
task with missing_required_lib and the original import traceback. Code that
uses a library takes it from load() (None when it is missing).

Libraries are imported on first use, not when this file is imported:
pyroute2 alone takes a quarter of a second to import, which a module that
only edits a file should not pay. IMPORT_ERRORS holds the traceback of
every library that was asked for and could not be imported.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import traceback

from ansible.module_utils.basic import missing_required_lib

# The libraries this collection may use; asking for another one is a bug.
LIBRARIES = ('pyroute2', 'netaddr', 'jmespath')
IMPORT_ERRORS = {}
_LOADED = {}


def load(library):
    """The imported library, or None when it cannot be imported (the traceback goes to IMPORT_ERRORS)."""
    if library not in LIBRARIES:
        raise ValueError("'%s' is not one of the optional libraries %s" % (library, ', '.join(LIBRARIES)))
    if library not in _LOADED:
        try:
            _LOADED[library] = importlib.import_module(library)
        except ImportError:
            _LOADED[library] = None
            IMPORT_ERRORS[library] = traceback.format_exc()
    return _LOADED[library]


def has(library):
    """True when library can be imported."""
    return load(library) is not None


def require(module, *libraries):
    """Fail the task cleanly when one of the named libraries is missing."""
    for library in libraries:
        if not has(library):
            module.fail_json(msg=missing_required_lib(library), exception=IMPORT_ERRORS[library])
