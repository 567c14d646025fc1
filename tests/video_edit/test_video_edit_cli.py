"""``python -m pipelines.video_edit``: exit 0 with the files when the job
finished; non-zero with the error (and ``status.json`` saying failed) when not."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.video_edit", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})},
    )


@pytest.mark.slow
def test_cli_edits_a_clip_into_the_default_output_folder(tmp_path, clips, tiny_ip2p):
    done = cli(
        str(clips["person"]),
        "--mask-prompt",
        "person",
        "--edit-prompt",
        "make the person red",
        "--job-id",
        "cli1",
        "--num-inference-steps",
        "1",
        "--working-size",
        "64",
        "--no-smoothing",
        "--max-frames",
        "4",
        env={"INSTRUCT_PIX2PIX_MODEL_PATH": str(tiny_ip2p), "UR_EDIT_OUTPUT_DIR": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "cli1"
    assert (
        "output:" in done.stdout and "extracting" in done.stderr
    )  # the progress bar names the stage
    status = json.loads((out / "status.json").read_text())
    assert status["status"] == "finished" and status["total_frames"] == 4
    assert (out / "cli1_output.mp4").is_file() and (out / "cli1_mask.mp4").is_file()


@pytest.mark.slow
def test_cli_failure_exits_non_zero_and_leaves_a_failed_status(tmp_path, clips, tiny_ip2p):
    done = cli(
        str(clips["empty"]),
        "--mask-prompt",
        "person",
        "--edit-prompt",
        "x",
        "--job-id",
        "cli2",
        "--output-dir",
        str(tmp_path),
        "--model-path",
        str(tiny_ip2p),
    )
    assert done.returncode == 1
    assert "matched nothing in any of the 6 frames" in done.stderr
    status = json.loads((tmp_path / "status.json").read_text())
    assert status["status"] == "failed" and "matched nothing" in status["error"]
    bad = cli(
        str(clips["person"]),
        "--mask-prompt",
        "person",
        "--edit-prompt",
        "x",
        "--job-id",
        "cli3",
        "--output-dir",
        str(tmp_path / "bad"),
        "--smoothing-alpha",
        "7",
    )
    assert bad.returncode == 2 and "smoothing_alpha" in bad.stderr
    assert json.loads((tmp_path / "bad" / "status.json").read_text())["status"] == "failed"
