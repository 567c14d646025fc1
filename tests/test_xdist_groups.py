"""The README's test command (``pytest -n 3 --dist loadgroup``) keeps each xdist group in one
worker: the shared studio and browser, the PostgreSQL tests and modules with a module-scoped
fixture (tests/conftest.py). pytest 9.2 with pytest-xdist 3.8 loses the groups without a word
(pytest-dev/pytest-xdist#1386): every worker then sets them all up again."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.xdist_group("xdist-check")


def test_the_xdist_group_reaches_the_test_id(request):
    if not os.environ.get("PYTEST_XDIST_WORKER") or not request.config.getvalue("loadgroup"):
        pytest.skip("checks the README's command: pytest -n 3 --dist loadgroup")
    assert request.node.nodeid.endswith("@xdist-check"), (
        "pytest-xdist's --dist loadgroup did not group this test: this pytest and pytest-xdist "
        "do not work together (pytest-dev/pytest-xdist#1386); install requirements-dev.txt"
    )
