"""Issue 19.9: processes the studio starts for users get a clean environment
(``pipelines.child_env.clean_env``), like scenario scripts: a job's child (system jobs,
SteadyDancer's generate_dancer.py through ``JobContext.run_child``) and the ffmpeg
conversions never see STUDIO_AUTH, API tokens or API keys of the worker, so their output
(which reaches the job log) cannot show them. What the child needs still passes: PATH,
locale, HOME, the GPUs and the Hugging Face cache settings."""

from __future__ import annotations

import json
import sys

import pytest

from jobs import queue, store
from jobs.kinds import JobContext
from jobs.reporter import Reporter
from pipelines.child_env import clean_env
from pipelines.dance.config import DanceConfig
from pipelines.dance.steadydancer import child_env

SECRETS = {
    "STUDIO_AUTH": "alice:pw-alice-secret",
    "STUDIO_API_TOKENS": "tok-secret-123:alice",
    "STUDIO_API_KEY": "sk-studio-secret",
    "OPENAI_API_KEY": "sk-openai-secret",
    "HF_TOKEN": "hf_secret_token",
    "AWS_SECRET_ACCESS_KEY": "aws-secret",
}
NEEDED = {"HF_HOME": "/models/hf", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "0"}
PRINT_ENV = "import json, os; print(json.dumps(dict(os.environ)))"


@pytest.fixture
def worker_env(studio_home, monkeypatch):
    for name, value in {**SECRETS, **NEEDED}.items():
        monkeypatch.setenv(name, value)


def _context(job_id: str) -> JobContext:
    job = store.claim_job(job_id, "test")
    assert job is not None
    return JobContext(job=job, progress=Reporter(job_id))


def _child_env_of(ctx: JobContext) -> dict[str, str]:
    return json.loads((ctx.dir / "child.stdout.txt").read_text().strip().splitlines()[-1])


def test_a_jobs_child_gets_no_secret_of_the_worker(worker_env):
    job = queue.submit("system.sleep", {"seconds": 0, "child": True}, owner="alice")
    ctx = _context(job["id"])
    assert ctx.run_child([sys.executable, "-c", PRINT_ENV]) == 0
    env = _child_env_of(ctx)
    assert not set(SECRETS) & set(env), sorted(env)
    output = (ctx.dir / "child.stdout.txt").read_text() + store.read_log(job["id"])
    for value in SECRETS.values():
        assert value not in output
    assert {k: env.get(k) for k in NEEDED} == NEEDED  # what a model's child needs passes
    assert env["PATH"] and not any(k.startswith("STUDIO_") for k in env)


def test_steadydancers_child_gets_its_gpus_and_no_secret(worker_env):
    job = queue.submit("system.sleep", {"seconds": 0}, owner="alice")
    ctx = _context(job["id"])
    extra = child_env(DanceConfig(cuda_visible_devices="1"))
    assert ctx.run_child([sys.executable, "-c", PRINT_ENV], env=extra) == 0
    env = _child_env_of(ctx)
    assert env["CUDA_VISIBLE_DEVICES"] == "1" and env["TOKENIZERS_PARALLELISM"] == "false"
    assert env["HF_HUB_OFFLINE"] == "1" and not set(SECRETS) & set(env)


def test_the_one_rule_drops_secret_names_even_when_asked_for(worker_env, tmp_path):
    env = clean_env(home=tmp_path, keep=["OPENAI_API_KEY", "HF_HOME"], extra={"HF_TOKEN": "x"})
    assert env["HF_HOME"] == NEEDED["HF_HOME"] and env["HOME"] == str(tmp_path)
    assert not set(SECRETS) & set(env)
