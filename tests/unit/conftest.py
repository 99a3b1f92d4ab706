# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Make `import ansible_collections.xenfleet.network...` work wherever pytest runs.

ansible-test and scripts/test.sh run the tests from a tree that already
ends in ansible_collections/xenfleet/network (or with pytest.ini's
pythonpath). A bare `python -m pytest tests/unit` from a plain checkout has
no such tree: then a temporary one is made, holding only a symlink to this
checkout, and put on sys.path for the session.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import atexit
import importlib
import os
import shutil
import sys
import tempfile

COLLECTION = 'ansible_collections.xenfleet.network'


def _importable():
    try:
        importlib.import_module(COLLECTION + '.plugins')
    except ImportError:
        return False
    return True


def _link_checkout():
    checkout = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    root = tempfile.mkdtemp(prefix='xenfleet-unit-')
    namespace = os.path.join(root, 'ansible_collections', 'xenfleet')
    os.makedirs(namespace)
    os.symlink(checkout, os.path.join(namespace, 'network'))
    # rmtree removes the symlink itself, never what it points to.
    atexit.register(shutil.rmtree, root, True)
    sys.path.insert(0, root)
    # The failed import may have left half-made namespace packages behind.
    for name in [name for name in sys.modules if name == 'ansible_collections' or name.startswith('ansible_collections.')]:
        del sys.modules[name]
    importlib.invalidate_caches()


if not _importable():
    _link_checkout()
