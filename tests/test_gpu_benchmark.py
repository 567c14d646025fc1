"""``benchmarks/gpu.py --dry-run``: the GPU benchmark's own code on the CPU, tiny configs.

The dry run is what CI can run of the script that a GPU machine runs once for
real: every pipeline goes through the studio's loaders and pipeline code on a
tiny random-weight model, and every row still carries the real-size model's
parameter count (built on the meta device).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# pipeline -> (low, high) of the real-size parameter count of the model it counts
REAL_SIZES = {
    "video edit: InstructPix2Pix": (0.85e9, 0.87e9),  # SD 1.5 UNet, 8 input channels
    "video edit: SAM3 video mask": (0.8e9, 0.9e9),
    "video edit: CLIPSeg mask": (0.145e9, 0.16e9),
    "captions: Florence-2-base": (0.22e9, 0.24e9),
    "captions: Qwen2.5-VL-3B": (3.7e9, 3.8e9),
    "dance: Wan2.2-Animate-14B": (14e9, 18e9),  # the 14B DiT plus its face and motion encoders
}


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("gpu-bench")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "gpu.py"),
            "--dry-run",
            "--out",
            str(out / "gpu.md"),
            "--json",
            str(out / "gpu.json"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    rows = json.loads((out / "gpu.json").read_text())
    return proc.stdout, (out / "gpu.md").read_text(), rows


def test_every_pipeline_prints_its_real_parameter_count(dry_run):
    stdout, markdown, rows = dry_run
    for pipeline, (low, high) in REAL_SIZES.items():
        mine = [r for r in rows if r["pipeline"] == pipeline]
        assert mine, f"no row for {pipeline}"
        for row in mine:
            assert low <= row["params"] <= high, (pipeline, row["params"])
            shown = f"{row['params']:,}"
            assert any(pipeline in line and shown in line for line in stdout.splitlines()), (
                pipeline,
                shown,
            )
            assert f"| {pipeline} |" in markdown and shown in markdown
    wan = next(r for r in rows if r["pipeline"].startswith("dance: Wan2.2-Animate"))
    assert wan["params"] >= 14e9 and wan["total"] > wan["params"]  # + UMT5-XXL, CLIP-H, VAE


def test_every_pipeline_ran_through_the_studio_code_on_a_tiny_model(dry_run):
    _, _, rows = dry_run
    for pipeline in REAL_SIZES:
        ran = [r for r in rows if r["pipeline"] == pipeline and r["per_unit_s"] is not None]
        assert len(ran) == 1, (pipeline, ran)  # the studio's default variant
        row = ran[0]
        assert row["per_unit_s"] > 0 and row["load_s"] is not None and row["warmup_s"] > 0
        assert 0 < row["run_params"] < row["params"] / 100, row  # tiny, not the real size
        assert row["unit"].startswith("s/")
        assert row["peak_gb"] is None  # no GPU memory figure on the CPU
        assert "failed" not in row["note"]


def test_gpu_only_variants_are_listed_and_said_to_need_cuda(dry_run):
    _, _, rows = dry_run
    variants = {(r["pipeline"], r["variant"]): r for r in rows}
    for key in [
        ("video edit: InstructPix2Pix", "bf16"),
        ("video edit: InstructPix2Pix", "fp16 + model CPU offload"),
        ("dance: Wan2.2-Animate-14B", "bf16 + offload_model"),
    ]:
        assert key in variants, key
        assert variants[key]["note"] == "CUDA only: not run in a dry run"
        assert variants[key]["per_unit_s"] is None


def test_steadydancer_is_not_run_but_its_timing_command_is_given(dry_run):
    stdout, markdown, _ = dry_run
    for text in (stdout, markdown):
        assert "generate_dancer.py --task i2v-14B --size '1024*576'" in text
        assert "--frame_num 81" in text and "--base_seed 106060" in text
        assert "--cond_pos_folder $PAIR/positive/" in text


def test_without_a_gpu_the_real_run_refuses_with_a_message():
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "gpu.py")],
        cwd=ROOT,
        env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},  # no GPU, even on a GPU runner
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "no CUDA device here" in proc.stderr and "--dry-run" in proc.stderr
