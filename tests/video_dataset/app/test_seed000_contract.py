"""Seed 000 as a contract: the document's own client runs against the real studio.

The Python ``requests`` example of ``seeds/000_*.txt`` ("API 调用示例") is copied
here verbatim and run as its own process; the only changes are the base URL
(``http://localhost:8080`` → the test server) and the document's placeholder
folder ``/path/to/videos`` → a server folder that holds two videos. Seed 000 has
no cURL example of its own (it names a PREPROCESSING_API.md that is not part of
the seed), so cURL is used here for the document's endpoint table instead: each
of its five rows is requested by a real ``curl`` process (``/usr/bin/curl``);
where curl is missing the same requests go through ``requests`` (the test says so).

The example asks for ``caption_method: extra_mixed`` (Florence-2 PromptGen) and
``use_qwen_optimize: True`` with no API key: the build must finish offline, so a tiny
random Florence-2 is saved where the studio looks first — a folder named after the
model in ``STUDIO_MODELS_DIR`` — and the rewrite is left out with a note.

Around the example every documented expectation is checked and counted; the test
prints "N of M met" and fails naming the unmet ones. The server is ``python app.py``
with its own worker child, started as ``studio_server`` does but with the allowed
server folder and the models folder set (a session server cannot take them later).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.conftest import run_studio

DOC_BASE = "http://localhost:8080"
DOC_FOLDER = "/path/to/videos"
SEED_STATUS = {"pending", "running", "completed", "failed", "cancelled"}

# -- the document's example, verbatim ------------------------------------------

PYTHON_EXAMPLE = """\
import requests

# 1. 检查数据集
resp = requests.get('http://localhost:8080/api/v1/preprocessing/check/my_dataset')

# 2. 开始预处理
resp = requests.post('http://localhost:8080/api/v1/preprocessing/start', json={
    'dataset_name': 'my_dataset',
    'video_directory': '/path/to/videos',
    'caption_method': 'extra_mixed',
    'use_qwen_optimize': True
})

task_id = resp.json()['data']['preprocessing_id']

# 3. 轮询状态
while True:
    resp = requests.get(f'http://localhost:8080/api/v1/preprocessing/status/{task_id}')
    data = resp.json()['data']
    print(f"进度: {data['progress']['progress_percent']:.1f}%")

    if data['status'] in ['completed', 'failed']:
        break
"""

# The document's endpoint table (section 3), as cURL requests.
CURL_TABLE = [
    ("GET", "/api/v1/preprocessing/check/<dataset_name>"),
    ("GET", "/api/v1/preprocessing/datasets"),
    ("GET", "/api/v1/preprocessing/datasets/<dataset_name>"),
    ("GET", "/api/v1/preprocessing/status/<task_id>"),
]


class Expectations:
    def __init__(self) -> None:
        self.results: list[tuple[str, bool]] = []

    def check(self, what: str, ok: object) -> None:
        self.results.append((what, bool(ok)))

    def report(self) -> str:
        met = sum(ok for _, ok in self.results)
        unmet = [what for what, ok in self.results if not ok]
        return f"{met} of {len(self.results)} met" + (f"; unmet: {unmet}" if unmet else "")


@pytest.fixture(scope="module")
def seed_server(tmp_path_factory, clips):
    """``python app.py`` with a server folder of two videos and a tiny Florence-2 PromptGen."""
    from tests.caption_fakes import build_tiny_florence2

    root = tmp_path_factory.mktemp("seed000")
    videos = root / "server" / "videos"
    videos.mkdir(parents=True)
    for key in ("fps30", "fps25"):
        shutil.copy(clips[key], videos / clips[key].name)
    models = root / "models"
    build_tiny_florence2(models / "Florence-2-base-PromptGen-v2.0", word="dancer")
    with run_studio(
        root, STUDIO_ALLOWED_ROOTS=str(root / "server"), STUDIO_MODELS_DIR=str(models)
    ) as (base, home, proc):
        yield base, home, videos, proc


def _curl(method: str, url: str) -> tuple[int, dict]:
    """One request by a real curl process; ``requests`` where curl is missing."""
    if shutil.which("curl"):
        out = subprocess.run(
            ["curl", "-s", "-X", method, "-w", "\n%{http_code}", url],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
        body, _, code = out.rpartition("\n")
        return int(code), json.loads(body or "null")
    print("curl is not installed: the table's requests are sent with requests instead")
    r = requests.request(method, url, timeout=30)
    return r.status_code, r.json()


@pytest.mark.slow
def test_the_documents_python_example_and_endpoint_table(seed_server):
    base, home, videos, _ = seed_server
    e = Expectations()
    code = PYTHON_EXAMPLE.replace(DOC_BASE, base).replace(DOC_FOLDER, str(videos))
    assert code.count(base) == 3 and str(videos) in code  # nothing else changed
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240)
    printed = run.stdout.splitlines()
    e.check("the example runs to its end (exit 0)", run.returncode == 0)
    e.check(
        "the poll loop prints 进度: N.N% lines",
        printed and all(p.startswith("进度: ") and p.endswith("%") for p in printed),
    )
    e.check("the last progress is 100.0%", printed and printed[-1] == "进度: 100.0%")
    percents = [float(p[4:-1]) for p in printed if p.startswith("进度: ")]
    e.check("progress never goes back (实时进度)", percents == sorted(percents))

    api = f"{base}/api/v1/preprocessing"
    datasets = requests.get(f"{api}/datasets", timeout=30).json()
    mine = [d for d in datasets["data"]["datasets"] if d["dataset_name"] == "my_dataset"]
    task_id = mine[0]["preprocessing_id"] if mine else ""
    status = requests.get(f"{api}/status/{task_id}", timeout=30).json()
    data = status.get("data", {})
    e.check("answers carry success, message, data", {"success", "message", "data"} <= set(status))
    e.check("success is true", status.get("success") is True)
    e.check("data.status is completed", data.get("status") == "completed")
    e.check("data.status is one of the document's words", data.get("status") in SEED_STATUS)
    e.check("data.preprocessing_id is the task", data.get("preprocessing_id") == task_id)
    progress = data.get("progress") or {}
    e.check("progress.progress_percent is 100", progress.get("progress_percent") == 100)
    for key in ("current_file", "current_step", "estimated_time_remaining"):
        e.check(f"progress has {key} (进度追踪)", key in progress)
    result = data.get("result") or {}
    notes = " ".join(result.get("notes") or [])
    e.check(
        "use_qwen_optimize without a key: built without it, said in the result",
        "rewrite" in notes.lower() or "qwen" in notes.lower(),
    )

    # the output folder: N.mp4 + N.txt, captions by Florence-2 after the prefix, no first-frame images left
    folder = (
        home / "datasets" / "anonymous" / "my_dataset"
    )  # per-owner names: datasets/<owner>/<name>
    files = sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []
    e.check(
        "the dataset folder holds 1.mp4 1.txt 2.mp4 2.txt",
        [f for f in files if f[0].isdigit()] == ["1.mp4", "1.txt", "2.mp4", "2.txt"],
    )
    e.check(
        "no first-frame images left (清理临时文件)",
        not [f for f in files if f.endswith((".jpg", ".png"))],
    )
    captions = [
        (folder / f"{n}.txt").read_text() for n in (1, 2) if (folder / f"{n}.txt").is_file()
    ]
    e.check(
        'each caption starts "A high quality"',
        len(captions) == 2 and all(c.startswith("A high quality") for c in captions),
    )
    e.check(
        "each caption holds Florence-2's words (extra_mixed)",
        len(captions) == 2 and all("dancer" in c for c in captions),
    )
    e.check(
        "the clips are 16 fps MP4", _fps(folder / "1.mp4") == 16 and _fps(folder / "2.mp4") == 16
    )

    # the document's dataset rules: names are unique (409), check answers exists
    again = requests.post(
        f"{api}/start",
        json={
            "dataset_name": "my_dataset",
            "video_directory": str(videos),
            "caption_method": "extra_mixed",
        },
        timeout=30,
    )
    e.check("a second build of my_dataset is 409", again.status_code == 409)
    outside = requests.post(
        f"{api}/start", json={"dataset_name": "elsewhere", "video_directory": "/etc"}, timeout=30
    )
    e.check(
        "a folder outside the allowed ones is 4xx naming the setting",
        400 <= outside.status_code < 500 and "STUDIO_ALLOWED_ROOTS" in outside.text,
    )

    # the endpoint table, by curl
    fill = {"<dataset_name>": "my_dataset", "<task_id>": task_id}
    for method, path in CURL_TABLE:
        for k, v in fill.items():
            path = path.replace(k, v)
        code_, body = _curl(method, base + path)
        e.check(
            f"{method} {path.split('/preprocessing')[1]} answers 200 in the envelope",
            code_ == 200
            and isinstance(body, dict)
            and body.get("success") is True
            and "data" in body,
        )
        if path.endswith("/check/my_dataset"):
            e.check("check says my_dataset exists", body["data"].get("exists") is True)
        elif path.endswith("/datasets"):
            e.check(
                "the list holds my_dataset",
                "my_dataset" in [d["dataset_name"] for d in body["data"]["datasets"]],
            )
        elif path.endswith("/datasets/my_dataset"):
            e.check(
                "the dataset has 2 videos, status completed",
                body["data"].get("video_count") == 2 and body["data"].get("status") == "completed",
            )
    e.check("POST /start is in the table and answered (the example's own call)", bool(task_id))

    print(f"seed 000: {e.report()}")
    assert all(ok for _, ok in e.results), (
        f"{e.report()}\nexample output:\n{run.stdout[-2000:]}{run.stderr[-3000:]}"
    )


def _fps(path: Path) -> float:
    import av

    if not path.is_file():
        return 0.0
    with av.open(str(path)) as c:
        return float(c.streams.video[0].average_rate or 0)
