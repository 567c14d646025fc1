"""The command line: JSON on stdout, per-file errors, exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cli_json_reports_results_and_errors(recordings, bad_files, tmp_path):
    good = recordings["30fps"]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.frames",
            "analyze",
            good.path,
            str(bad_files[1]),
            "--json",
            "--work-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1  # one file failed
    out = json.loads(proc.stdout)  # stdout is pure JSON (progress goes to stderr)
    ok, bad = out
    assert ok["ok"] and ok["frame_count"] == good.frame_count and ok["fps"] == 30
    assert (
        abs(ok["first"]["index"] - good.first_index) <= 1
        and abs(ok["last"]["index"] - good.last_index) <= 1
    )
    assert ok["first"]["time"] == round(good.times[ok["first"]["index"]], 6)
    assert 0 < ok["confidence"] <= 1 and 1 <= len(ok["last_candidates"]) <= 5
    assert not bad["ok"] and "random.mp4" in bad["error"]
