"""Fixtures for the dance REST API and jobs: a stand-in for SteadyDancer's
``generate_dancer.py`` in a temporary STEADYDANCER_DIR, an allowed server root
holding the test media, and the dance router (the real one)."""

from __future__ import annotations

import shutil
import time

import pytest

# The stand-in parses generate_dancer.py's real arguments, reads the folders the
# way the real one does (a missing frame is a FileNotFoundError), logs INFO
# lines on stdout and a tqdm bar on stderr, and writes an MP4 of the pose
# frames. Markers in the prompt pick a variant: [fail] exits 1 with a CUDA
# out-of-memory traceback and no file; [garbage] exits 0 with a broken file (its
# writer swallows errors); [slow] starts a helper process (pids in pids.txt
# next to the output) and takes 2 s a step.
STANDIN = r"""
import argparse
import logging
import os
import subprocess
import sys
import time
from pathlib import Path


def main():
    p = argparse.ArgumentParser(description="stand-in for SteadyDancer's generate_dancer.py")
    p.add_argument("--task", default="t2v-14B", choices=["t2v-14B", "t2v-1.3B", "i2v-14B", "t2i-14B"])
    p.add_argument("--size", default="1280*720")
    p.add_argument("--frame_num", type=int, default=None)
    p.add_argument("--ckpt_dir", default=None)
    p.add_argument("--offload_model", default=None)
    p.add_argument("--t5_cpu", action="store_true", default=False)
    p.add_argument("--save_file", default=None)
    p.add_argument("--prompt", default=None)
    p.add_argument("--base_seed", type=int, default=-1)
    p.add_argument("--image", default=None)
    p.add_argument("--cond_pos_folder", default=None)
    p.add_argument("--cond_neg_folder", default=None)
    p.add_argument("--sample_steps", type=int, default=None)
    p.add_argument("--sample_guide_scale", type=float, default=5.0)
    p.add_argument("--condition_guide_scale", type=float, default=1.5)
    p.add_argument("--end_cond_cfg", type=float, default=0.4)
    args = p.parse_args()
    assert args.ckpt_dir is not None, "Please specify the checkpoint directory."
    args.frame_num = args.frame_num or 81
    args.sample_steps = args.sample_steps or 4
    logging.basicConfig(level=logging.INFO, format="[%(asctime)s] %(levelname)s: %(message)s",
                        handlers=[logging.StreamHandler(stream=sys.stdout)])
    logging.info(f"Generation job args: {args}")
    logging.info(f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')}")
    if "[fail]" in args.prompt:
        print("Traceback (most recent call last):\n  File \"generate_dancer.py\", line 463, in <module>\n"
              "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 20.00 GiB", file=sys.stderr)
        sys.exit(1)
    from PIL import Image

    img = Image.open(args.image).convert("RGB")
    logging.info(f"Input prompt: {args.prompt}")
    logging.info(f"Input image: {args.image}")
    frames = [Image.open(os.path.join(args.cond_pos_folder, "", f"{i:04d}.jpg")).convert("RGB")
              for i in range(args.frame_num)]
    for i in range(args.frame_num):
        Image.open(os.path.join(args.cond_neg_folder, "", f"{i:04d}.jpg")).convert("RGB")
    logging.info("Creating WanI2V pipeline.")
    slow = "[slow]" in args.prompt
    if slow:
        helper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        Path(args.save_file).with_name("pids.txt").write_text(f"{os.getpid()} {helper.pid}")
    logging.info("Generating video ...")
    n = args.sample_steps
    for k in range(n + 1):
        bar = "#" * k + " " * (n - k)
        sys.stderr.write(f"\r{100 * k // n:3d}%|{bar}| {k}/{n} [00:0{k}<00:00,  1.00it/s]")
        sys.stderr.flush()
        time.sleep(2.0 if slow else 0.05)
    sys.stderr.write("\n")
    logging.info(f"Saving generated video to {args.save_file}")
    if "[garbage]" in args.prompt:
        Path(args.save_file).write_bytes(b"\x00\x01broken" * 50)
        print("cache_video failed, error: [Errno 32] Broken pipe", flush=True)
    else:
        import av
        import numpy as np

        w, h = img.size[0] // 2 * 2, img.size[1] // 2 * 2
        with av.open(args.save_file, "w") as out:
            stream = out.add_stream("libx264", rate=16)
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            for frame in frames:
                blend = Image.blend(img.resize((w, h)), frame.resize((w, h)), 0.5)
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.asarray(blend), format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    logging.info("Finished.")


if __name__ == "__main__":
    main()
"""


@pytest.fixture
def standin_dir(tmp_path):
    folder = tmp_path / "SteadyDancer"
    folder.mkdir()
    (folder / "generate_dancer.py").write_text(STANDIN)
    return folder


@pytest.fixture
def shared_root(tmp_path, dance_media):
    """STUDIO_ALLOWED_ROOTS' first root, with the test media in it."""
    root = tmp_path / "shared"
    (root / "media").mkdir(parents=True)
    for key in ("ref", "clip", "empty"):
        source = dance_media[key] if key == "ref" else dance_media[key].path
        shutil.copyfile(source, root / "media" / source.name)
    return root


@pytest.fixture
def dance_env(studio_home, monkeypatch, standin_dir, shared_root, tmp_path):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STEADYDANCER_DIR", str(standin_dir))
    monkeypatch.setenv("STUDIO_ALLOWED_ROOTS", str(shared_root))
    monkeypatch.setenv("MODELS_DIR", str(tmp_path / "models"))
    for name in (
        "STEADYDANCER_PYTHON",
        "STEADYDANCER_CKPT_DIR",
        "STUDIO_WAN_ANIMATE_MODEL",
        "STUDIO_MODELS_DIR",
        "STEADYDANCER_DATA_DIR",
        "STUDIO_STEADYDANCER_DATA_DIR",
    ):
        monkeypatch.delenv(name, raising=False)
    reset_settings()
    return {"root": shared_root, "standin": standin_dir, "home": studio_home}


def make_app():
    from fastapi import FastAPI

    from studio import errors
    from studio.api import dance as dance_api
    from studio.api import jobs as jobs_api

    app = FastAPI()
    errors.install(app)
    app.include_router(jobs_api.router, prefix="/api/v1")
    app.include_router(dance_api.router, prefix="/api/v1")
    return app


@pytest.fixture
def api(dance_env):
    """The dance router over the test's STUDIO_HOME (no worker: start one with start_worker)."""
    from fastapi.testclient import TestClient

    with TestClient(make_app()) as client:
        yield client


BASE = "/api/v1/dance"
FINAL = ("SUCCESS", "FAILURE", "REVOKED")


def wait_state(client, url: str, states=FINAL, timeout: float = 90, key: str = "state") -> dict:
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body.get(key) in states:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{url} stayed {body.get(key)} (wanted {states}): {body}")


def wait_ready(client, project_id: str, experiment_id: str, timeout: float = 90) -> dict:
    url = f"{BASE}/projects/{project_id}/experiments/{experiment_id}"
    deadline = time.monotonic() + timeout
    body = {}
    while time.monotonic() < deadline:
        body = client.get(url).json()
        if body["preprocess"]["state"] in FINAL:
            return body
        time.sleep(0.2)
    raise AssertionError(f"experiment {experiment_id} preprocessing stayed {body['preprocess']}")
