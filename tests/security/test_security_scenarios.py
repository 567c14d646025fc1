"""Issue 9.2: no code runs for users who may not run code. Scenario scripts are
for admins, off in an open studio unless STUDIO_ALLOW_SCENARIO_SCRIPTS=1; the
script runs with a clean environment, its own working folder and the limits
of the run; the Dockerfile runs the studio as a non-root user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobs import store
from jobs.access import User
from jobs.kinds import JobContext, get_kind
from jobs.reporter import Reporter
from jobs.settings import reset_settings
from jobs.tools.monitor import scenarios
from pipelines.monitor.scenario import ScenarioOptions, run_scenario
from tests.security.conftest import as_

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = {"name": "probe", "code": "print('hello')"}


def _app() -> TestClient:
    from tests.conftest import studio_app

    return TestClient(studio_app())


def test_an_open_studio_runs_no_scenario_scripts(studio_home):
    with _app() as client:
        refused = client.post("/api/v1/scenarios", json=SCRIPT)
        assert refused.status_code == 403 and "open studio" in refused.json()["detail"]
        assert "STUDIO_ALLOW_SCENARIO_SCRIPTS=1" in refused.json()["detail"]
        for method, path in (
            ("get", "/api/v1/scenarios"),
            ("get", "/api/v1/scenarios/probe"),
            ("post", "/api/v1/scenarios/probe/run"),
            ("delete", "/api/v1/scenarios/probe"),
        ):
            assert getattr(client, method)(path).status_code == 403, path
        # The generic job route cannot start a scenario run (or any tool's kind) either.
        sneaky = client.post(
            "/api/v1/jobs", json={"kind": "monitor.scenario", "params": {"code": "print(1)"}}
        )
        assert sneaky.status_code == 422 and "POST /jobs takes" in sneaky.json()["detail"]
        assert client.get("/api/v1/jobs").json()["total"] == 0
        kinds = {k["kind"]: k["public"] for k in client.get("/api/v1/kinds").json()}
        assert kinds["system.sleep"] is True and kinds["monitor.scenario"] is False


def test_the_scenario_tab_says_why_instead_of_showing_the_editor(studio_home):
    from studio.tabs import monitor

    assert "open studio" in monitor.scripts_off_everywhere()
    blocks = _built_ui()
    config = blocks.get_config_file()
    ids = {c.get("props", {}).get("elem_id") for c in config["components"]}
    assert "scenario-off" in ids and "scenario-code" not in ids and "scenario-run" not in ids
    names = {d.get("api_name") for d in config["dependencies"]}
    assert "scenario_run" not in names and "scenario_save" not in names


def _built_ui():
    from studio.server import build_ui

    return build_ui()


def test_an_open_studio_may_turn_scripts_on_explicitly(studio_home, monkeypatch):
    monkeypatch.setenv("STUDIO_ALLOW_SCENARIO_SCRIPTS", "1")
    reset_settings()
    with _app() as client:
        assert client.post("/api/v1/scenarios", json=SCRIPT).status_code == 201
        assert client.post("/api/v1/scenarios/probe/run").status_code == 201


def test_with_logins_only_admins_write_read_and_run_scripts(secured):
    refused = secured.post("/api/v1/scenarios", json=SCRIPT, headers=as_("alice"))
    assert refused.status_code == 403 and "only admins" in refused.json()["detail"]
    assert secured.post("/api/v1/scenarios", json=SCRIPT, headers=as_("root")).status_code == 201
    for method, path in (
        ("get", "/api/v1/scenarios/probe"),
        ("put", "/api/v1/scenarios/probe"),
        ("post", "/api/v1/scenarios/probe/run"),
        ("delete", "/api/v1/scenarios/probe"),
    ):
        kwargs = {"json": {"code": "print(2)"}} if method == "put" else {}
        assert getattr(secured, method)(path, headers=as_("bob"), **kwargs).status_code == 403, path
    assert scenarios.get("probe", User("root", True))["code"] == "print('hello')"
    assert secured.post("/api/v1/scenarios/probe/run", headers=as_("root")).status_code == 201


def test_the_scenario_tab_events_check_on_the_server_too(logins):
    import gradio as gr

    from studio.tabs import monitor
    from tests.security.conftest import ui_request

    root = User("root", True)
    scenarios.create("probe", "print(1)", user=root)
    for call in (
        lambda r: monitor.run("probe", r),
        lambda r: monitor.load("probe", r),
        lambda r: monitor.save("x", "print(2)", "python", [], 0.5, 60, "", r),
        lambda r: monitor.remove("probe", r),
    ):
        with pytest.raises(gr.Error, match="only admins"):
            call(ui_request("bob"))
    assert monitor.load("probe", ui_request("root"))[1] == "print(1)"
    notice, editor, _picker = monitor.shown_for(ui_request("bob"))
    assert (
        notice["visible"] is True
        and "only admins" in notice["value"]
        and editor["visible"] is False
    )
    assert monitor.shown_for(ui_request("root"))[1]["visible"] is True
    assert scenarios.list_all(root)[0]["name"] == "probe"


def test_scripts_switched_off_refuse_even_admins(logins, monkeypatch):
    monkeypatch.setenv("STUDIO_ALLOW_SCENARIO_SCRIPTS", "0")
    reset_settings()
    with pytest.raises(scenarios.ScriptsOff, match="switched off"):
        scenarios.create("x", "print(1)", user=User("root", True))


def _run_in_process(job_id: str) -> dict:
    """Run a job's body here (as the worker would), without a worker process."""
    job = store.claim_job(job_id, "test")
    assert job is not None
    return get_kind(job["kind"]).fn(JobContext(job=job, progress=Reporter(job_id)))


def test_a_run_checks_again_when_it_starts(logins, monkeypatch):
    root = User("root", True)
    scenarios.create("probe", "print(1)", user=root)
    job = scenarios.submit_run("probe", root)
    monkeypatch.setenv("STUDIO_ALLOW_SCENARIO_SCRIPTS", "0")  # switched off while it was queued
    reset_settings()
    with pytest.raises(scenarios.ScriptsOff):
        _run_in_process(job["id"])
    assert not (
        store.job_dir(job["id"]) / "outputs" / "output.txt"
    ).exists()  # the script never ran


ENV_PROBE = """
import json, os
print(json.dumps({"env": dict(os.environ), "cwd": os.getcwd()}))
"""


def test_the_script_gets_a_clean_environment_and_its_own_folder(logins, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf-secret")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    root = User("root", True)
    scenarios.create("env", ENV_PROBE, user=root)
    job = scenarios.submit_run("env", root)
    _run_in_process(job["id"])
    output = (store.job_dir(job["id"]) / "outputs" / "output.txt").read_text()
    import json

    seen = json.loads(output.strip().splitlines()[-1])
    assert not [k for k in seen["env"] if k.startswith(("STUDIO_", "GRADIO_", "HF_", "OPENAI"))]
    for secret in ("tok-alice", "pw-root", "hf-secret", "sk-secret"):
        assert secret not in output
    work = (store.job_dir(job["id"]) / "work").resolve()
    assert seen["cwd"] == str(work) and seen["env"]["HOME"] == str(work)
    assert seen["env"]["TMPDIR"].startswith(str(work))


def test_the_script_has_memory_file_size_and_cpu_limits(tmp_path):
    memory = tmp_path / "memory.py"
    memory.write_text("b = bytearray(400 * 2**20)\nprint('allocated')\n")
    result = run_scenario(
        memory, tmp_path / "m", ScenarioOptions(interval_s=0.1, timeout_s=30, memory_limit_mb=200)
    )
    assert result.exit_code == 1 and "MemoryError" in (tmp_path / "m" / "output.txt").read_text()

    big_file = tmp_path / "file.py"
    big_file.write_text("open('big', 'wb').write(b'x' * (3 * 2**20))\n")
    result = run_scenario(
        big_file, tmp_path / "f", ScenarioOptions(interval_s=0.1, timeout_s=30, file_limit_mb=1)
    )
    assert result.exit_code == 1 and "File too large" in (tmp_path / "f" / "output.txt").read_text()
    assert (
        tmp_path / "f" / "work" / "big"
    ).stat().st_size <= 2**20  # written in its own folder, cut at 1 MB


@pytest.mark.slow
def test_cpu_time_is_limited_by_the_run(tmp_path):
    import signal

    spin = tmp_path / "spin.py"
    spin.write_text("while True:\n    pass\n")
    result = run_scenario(
        spin, tmp_path / "c", ScenarioOptions(interval_s=0.2, timeout_s=120, cpu_limit_s=1)
    )
    assert result.exit_code == -signal.SIGXCPU and not result.timed_out


def test_the_dockerfile_runs_the_studio_as_a_non_root_user():
    text = (ROOT / "Dockerfile").read_text()
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1] not in ("root", "0", "0:0")
    last_user = text.rindex("USER ")
    assert text.rindex("CMD") > last_user  # the app starts after the switch
