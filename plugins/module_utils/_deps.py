# -*- coding: utf-8 -*-
# Copyright: xenfleet.network contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Optional third-party libraries, imported once, in one place.

Private module_utils (leading underscore): may change without notice.
A module asks for what it needs with require(); a missing library fails the
task with missing_required_lib and the original import traceback.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import traceback

from ansible.module_utils.basic import missing_required_lib

IMPORT_ERRORS = {}

try:
    import pyroute2  # noqa: F401 pylint: disable=unused-import
except ImportError:
    IMPORT_ERRORS['pyroute2'] = traceback.format_exc()

try:
    import netaddr  # noqa: F401 pylint: disable=unused-import
except ImportError:
    IMPORT_ERRORS['netaddr'] = traceback.format_exc()

try:
    import jmespath  # noqa: F401 pylint: disable=unused-import
except ImportError:
    IMPORT_ERRORS['jmespath'] = traceback.format_exc()


def require(module, *libraries):
    """Fail the task cleanly when one of the named libraries is missing."""
    for library in libraries:
        if library in IMPORT_ERRORS:
            module.fail_json(msg=missing_required_lib(library), exception=IMPORT_ERRORS[library])
