"""pytest helpers for the namespace lab: every lab they build is torn down, whatever the test does.

From any test module::

    sys.path.insert(0, '<repo>/tests/lab')
    from pytest_xenlab import lab_fixture, requires_root

    @requires_root
    def test_bridge():
        with lab_fixture({'guests': [{'name': 'g1', 'ipv4': ['10.0.0.5/24']}]}) as lab:
            ...

    @pytest.fixture(scope='module')
    def lab():
        with lab_fixture(SPEC) as built:
            yield built

Or load this file as a plugin (``pytest -p pytest_xenlab`` with tests/lab on sys.path, or
``pytest_plugins = ['pytest_xenlab']`` in a conftest.py) to get the ``make_lab`` fixture::

    def test_two_dom0s(make_lab):
        first, second = make_lab(SPEC), make_lab(SPEC)
"""

from __future__ import annotations

import contextlib
import os
import sys

import pytest

_HERE = os.path.dirname(os.path.abspath(__file__))
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from xenlab import Lab  # noqa: E402  (needs the sys.path entry above when imported from elsewhere)

requires_root = pytest.mark.skipif(os.geteuid() != 0, reason='the lab needs root to create network namespaces')


@contextlib.contextmanager
def lab_fixture(spec=None, **kwargs):
    """Build a Lab (kwargs: prefix, workdir, python), yield it, and always take it down."""
    lab = Lab(spec, **kwargs)
    lab.up()
    try:
        yield lab
    finally:
        lab.down()


@pytest.fixture
def make_lab():
    """Factory fixture: make_lab(spec, **kwargs) returns a built Lab; all of them go down after the test."""
    labs = []

    def build(spec=None, **kwargs):
        lab = Lab(spec, **kwargs)
        labs.append(lab)
        return lab.up()

    yield build
    for lab in reversed(labs):
        lab.down()
