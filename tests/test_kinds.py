"""Job kinds are found whatever was imported first: a process that imported one
tool's module directly still finds every other tool's kinds."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_a_kind_is_found_after_another_tool_registered_first():
    code = (
        "import jobs.tools.monitor\n"  # registers monitor's kinds only
        "from jobs.kinds import get_kind\n"
        "print(get_kind('system.sleep').name)\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "system.sleep"
