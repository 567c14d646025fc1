"""Dance REST API without a worker: seed 004's records and fields, checks on
input, server paths, owners, deletes, and refusing a job no generator can run."""

from __future__ import annotations

import io
import os
import re
import sqlite3

import pytest

from tests.dance.app.conftest import BASE

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _project(api, name="Demo Project"):
    r = api.post(f"{BASE}/projects", json={"name": name, "description": "可选描述"})
    assert r.status_code == 200, r.text
    return r.json()


def _assets(api, project_id):
    ref = api.post(
        f"{BASE}/projects/{project_id}/refs",
        json={
            "name": "角色 A",
            "source_image_path": "media/astronaut.png",
            "meta": {"prompt": "an astronaut dancing"},
        },
    )
    assert ref.status_code == 200, ref.text
    motion = api.post(
        f"{BASE}/projects/{project_id}/motions",
        json={
            "name": "舞蹈片段 1",
            "source_video_path": "media/dance.mp4",
            "meta": {"style": "hiphop"},
        },
    )
    assert motion.status_code == 200, motion.text
    return ref.json(), motion.json()


def _experiment(api, project_id, ref_id, motion_id, **config):
    r = api.post(
        f"{BASE}/projects/{project_id}/experiments",
        json={
            "name": "角色 A 跳舞蹈片段 1",
            "description": "一图一舞实验",
            "reference_id": ref_id,
            "motion_id": motion_id,
            "config": {"size": "256*256", "frame_num": 9, **config},
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_health_and_models_info(api, dance_env, monkeypatch, tmp_path):
    from jobs.settings import reset_settings

    assert api.get(f"{BASE}/health").json() == {"status": "ok"}
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MODELS_DIR", "./my-models")
    reset_settings()
    info = api.get(f"{BASE}/models/info").json()
    assert info["env_MODELS_DIR"] == "./my-models"
    assert info["models_dir"] == str((tmp_path / "my-models").resolve())
    sd = info["backends"]["steadydancer"]
    assert sd["available"] and sd["ckpt_dir"] == str(
        (tmp_path / "my-models" / "SteadyDancer-14B").resolve()
    )
    assert (
        info["default_backend"] == "steadydancer"
        and not info["backends"]["wan-animate"]["available"]
    )


def test_seed_records_and_tables(api, dance_env):
    project = _project(api)
    assert set(project) >= {"id", "name", "description"} and project["name"] == "Demo Project"
    assert api.get(f"{BASE}/projects").json()[0]["id"] == project["id"]
    assert api.get(f"{BASE}/projects/{project['id']}").json()["description"] == "可选描述"
    ref, motion = _assets(api, project["id"])
    ref_dir = dance_env["home"] / "projects" / project["id"] / "refs" / ref["id"] / "source"
    assert ref["image_path"] == str(ref_dir / "astronaut.png") and os.path.isfile(ref["image_path"])
    assert ref["meta"] == {"prompt": "an astronaut dancing"} and ref["project_id"] == project["id"]
    assert motion["video_path"].startswith(
        str(dance_env["home"] / "projects" / project["id"] / "motions")
    )
    assert motion["info"]["frames"] == 17
    assert api.get(f"{BASE}/projects/{project['id']}/refs/{ref['id']}").json() == ref
    assert [m["id"] for m in api.get(f"{BASE}/projects/{project['id']}/motions").json()] == [
        motion["id"]
    ]
    exp = _experiment(api, project["id"], ref["id"], motion["id"], base_seed=3)
    assert exp["input_dir"] == str(
        dance_env["home"] / "projects" / project["id"] / "experiments" / exp["id"] / "input"
    )
    assert (
        exp["config"]["base_seed"] == 3 and exp["config"]["sample_guide_scale"] == 5.0
    )  # defaults filled in
    assert exp["preprocess"]["state"] == "PENDING" and not exp["ready"]

    db = sqlite3.connect(dance_env["home"] / "studio.db")
    db.row_factory = sqlite3.Row
    columns = {
        t: {r[1] for r in db.execute(f"pragma table_info({t})")}
        for t in ("projects", "reference_assets", "motion_assets", "experiments", "generation_jobs")
    }
    assert columns["projects"] >= {"id", "name", "description", "created_at", "updated_at", "owner"}
    assert columns["generation_jobs"] >= {
        "id",
        "project_id",
        "experiment_id",
        "task_id",
        "job_type",
        "status",
        "input_dir",
        "params",
        "success",
        "result_video_path",
        "error_message",
        "created_at",
        "updated_at",
        "finished_at",
        "owner",
    }
    fks = {
        (r["table"], r["from"], r["on_delete"])
        for r in db.execute("pragma foreign_key_list(experiments)")
    }
    assert fks == {
        ("projects", "project_id", "CASCADE"),
        ("reference_assets", "reference_id", "SET NULL"),
        ("motion_assets", "motion_id", "SET NULL"),
    }
    row = db.execute("select * from experiments").fetchone()
    assert ISO.match(row["created_at"]) and row["config"].startswith("{")
    assert re.match(r"^[0-9a-f-]{36}$", row["id"])


def test_a_job_made_right_after_its_experiment_is_accepted(api, dance_env):
    project = _project(api)
    ref, motion = _assets(api, project["id"])
    exp = _experiment(api, project["id"], ref["id"], motion["id"])
    r = api.post(
        f"{BASE}/projects/{project['id']}/experiments/{exp['id']}/steadydancer/jobs", json={}
    )
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == {"project_id", "job_id", "task_id"}
    status = api.get(
        f"{BASE}/projects/{project['id']}/steadydancer/jobs/{created['job_id']}"
    ).json()
    assert status["state"] == "PENDING" and status["result"] is None
    assert status["params"]["config"] == exp["config"]  # the experiment's config, unchanged
    summary = api.get(f"{BASE}/projects/{project['id']}/steadydancer/jobs").json()
    assert summary[0]["job_type"] == "steadydancer_i2v" and summary[0]["status"] == "PENDING"
    too_many = api.post(
        f"{BASE}/projects/{project['id']}/experiments/{exp['id']}/steadydancer/jobs",
        json={"frame_num": 13},
    )
    assert too_many.status_code == 422 and "9 pose frames" in too_many.json()["detail"]


def test_no_generator_means_the_job_is_refused_with_what_to_install(api, dance_env, monkeypatch):
    from jobs import store
    from jobs.settings import reset_settings

    project = _project(api)
    ref, motion = _assets(api, project["id"])
    exp = _experiment(api, project["id"], ref["id"], motion["id"])
    monkeypatch.delenv("STEADYDANCER_DIR")
    reset_settings()
    r = api.post(
        f"{BASE}/projects/{project['id']}/experiments/{exp['id']}/steadydancer/jobs", json={}
    )
    assert r.status_code == 409
    detail = r.json()["detail"]
    assert "STEADYDANCER_DIR" in detail and "Wan2.2-Animate-14B-Diffusers" in detail
    assert store.list_jobs(kind="dance.generate")[1] == 0
    assert api.get(f"{BASE}/projects/{project['id']}/steadydancer/jobs").json() == []
    r = api.post(
        f"{BASE}/steadydancer/jobs", json={"input_dir": "media", "backend": "steadydancer"}
    )
    assert r.status_code in (409, 422)


def test_bad_input_is_a_4xx_with_a_reason(api, dance_env, tmp_path):
    assert api.post(f"{BASE}/projects", json={"name": "a\x00b"}).status_code == 422
    assert api.post(f"{BASE}/projects", json={"name": "x" * 300}).status_code == 422
    project = _project(api)
    assert api.post(f"{BASE}/projects", json={"name": "Demo Project"}).status_code == 409
    pid = project["id"]
    assert api.get(f"{BASE}/projects/not-a-uuid").status_code == 404
    assert (
        api.get(f"{BASE}/projects/{pid}/refs/00000000-0000-0000-0000-000000000000").status_code
        == 404
    )
    outside = tmp_path / "outside.png"
    outside.write_bytes(b"x")
    r = api.post(
        f"{BASE}/projects/{pid}/refs", json={"name": "r", "source_image_path": str(outside)}
    )
    assert r.status_code == 422 and "outside the allowed server folders" in r.json()["detail"]
    (dance_env["root"] / "escape.png").symlink_to(outside)
    r = api.post(
        f"{BASE}/projects/{pid}/refs", json={"name": "r", "source_image_path": "escape.png"}
    )
    assert r.status_code == 422 and "outside" in r.json()["detail"]
    r = api.post(
        f"{BASE}/projects/{pid}/refs", json={"name": "r", "source_image_path": "media/dance.mp4"}
    )
    assert r.status_code == 422 and "not a readable image" in r.json()["detail"]
    r = api.post(
        f"{BASE}/projects/{pid}/motions",
        json={"name": "m", "source_video_path": "media/astronaut.png"},
    )
    assert r.status_code == 422
    r = api.post(f"{BASE}/projects/{pid}/experiments", json={"name": "e"})
    assert r.status_code == 422 and "reference_id and motion_id" in r.json()["detail"]
    ref, motion = _assets(api, pid)
    r = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": "e",
            "reference_id": ref["id"],
            "motion_id": motion["id"],
            "config": {"frame_num": 80},
        },
    )
    assert r.status_code == 422 and "4n+1" in r.text
    r = api.post(
        f"{BASE}/projects/{pid}/experiments", json={"name": "e", "source_input_dir": "media"}
    )
    assert r.status_code == 422 and "not a SteadyDancer pair folder" in r.json()["detail"]
    other = _project(api, "Other")
    r = api.post(
        f"{BASE}/projects/{other['id']}/experiments",
        json={"name": "e", "reference_id": ref["id"], "motion_id": motion["id"]},
    )
    assert r.status_code == 404  # another project's asset


def test_uploads(api, dance_env, dance_media):
    pid = _project(api)["id"]
    with open(dance_media["ref"], "rb") as fh:
        r = api.post(
            f"{BASE}/projects/{pid}/refs/upload",
            files={"file": ("me.png", fh, "image/png")},
            data={"name": "Me", "prompt": "a person dancing"},
        )
    assert r.status_code == 201, r.text
    assert r.json()["meta"] == {"prompt": "a person dancing"} and r.json()["image_path"].endswith(
        "/source/me.png"
    )
    with open(dance_media["clip"].path, "rb") as fh:
        r = api.post(
            f"{BASE}/projects/{pid}/motions/upload", files={"file": ("d.mp4", fh, "video/mp4")}
        )
    assert r.status_code == 201 and r.json()["name"] == "d"
    r = api.post(
        f"{BASE}/projects/{pid}/motions/upload",
        files={"file": ("x.mp4", io.BytesIO(b"junk"), "video/mp4")},
    )
    assert r.status_code == 422
    r = api.post(
        f"{BASE}/projects/{pid}/refs/upload",
        files={"file": ("m.png", io.BytesIO(b"junk"), "image/png")},
        data={"meta": "[1, 2]"},
    )
    assert r.status_code == 422
    assert len(api.get(f"{BASE}/projects/{pid}/motions").json()) == 1


def test_each_user_sees_only_their_own_work(api, dance_env, monkeypatch):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob,tc:carol")
    monkeypatch.setenv("STUDIO_ADMINS", "carol")
    reset_settings()
    alice, bob, carol = ({"Authorization": f"Bearer {t}"} for t in ("ta", "tb", "tc"))
    pid = api.post(f"{BASE}/projects", json={"name": "A"}, headers=alice).json()["id"]
    ref = api.post(
        f"{BASE}/projects/{pid}/refs",
        json={"name": "r", "source_image_path": "media/astronaut.png"},
        headers=alice,
    ).json()
    motion = api.post(
        f"{BASE}/projects/{pid}/motions",
        json={"name": "m", "source_video_path": "media/dance.mp4"},
        headers=alice,
    ).json()
    exp = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": "e",
            "reference_id": ref["id"],
            "motion_id": motion["id"],
            "config": {"frame_num": 9},
        },
        headers=alice,
    ).json()
    job = api.post(
        f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs", json={}, headers=alice
    ).json()
    for url in (
        f"/projects/{pid}",
        f"/projects/{pid}/refs",
        f"/projects/{pid}/refs/{ref['id']}",
        f"/projects/{pid}/experiments/{exp['id']}",
        f"/projects/{pid}/steadydancer/jobs/{job['job_id']}",
        f"/projects/{pid}/steadydancer/jobs/{job['job_id']}/download",
    ):  # (the low-level task answers like an unknown one: test_dance_service)
        assert api.get(BASE + url, headers=bob).status_code == 404, url
        assert api.get(BASE + url, headers=carol).status_code in (200, 404), (
            url
        )  # admin: found (or no video yet)
    assert (
        api.get(
            f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}", headers=carol
        ).status_code
        == 200
    )
    assert api.get(f"{BASE}/projects", headers=bob).json() == []
    assert [p["id"] for p in api.get(f"{BASE}/projects", headers=carol).json()] == [pid]
    assert api.delete(f"{BASE}/projects/{pid}", headers=bob).status_code == 404
    assert (
        api.post(
            f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}/cancel", headers=bob
        ).status_code
        == 404
    )
    assert api.get(f"{BASE}/projects").status_code == 401


def test_deletes_follow_the_seeds_rules(api, dance_env):
    from jobs import queue

    project = _project(api)
    pid = project["id"]
    ref, motion = _assets(api, pid)
    exp = _experiment(api, pid, ref["id"], motion["id"])
    assert api.delete(f"{BASE}/projects/{pid}").status_code == 409  # its preprocessing is queued
    queue.cancel(exp["preprocess"]["job_id"])
    assert api.delete(f"{BASE}/projects/{pid}/refs/{ref['id']}").status_code == 204
    assert (
        api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}").json()["reference_id"] is None
    )  # SET NULL
    assert not os.path.exists(ref["image_path"])
    assert api.delete(f"{BASE}/projects/{pid}").status_code == 204
    assert api.get(f"{BASE}/projects/{pid}").status_code == 404
    assert not (dance_env["home"] / "projects" / pid).exists()
    db = sqlite3.connect(dance_env["home"] / "studio.db")
    for table in ("reference_assets", "motion_assets", "experiments", "generation_jobs"):
        assert (
            db.execute(f"select count(*) from {table} where project_id=?", [pid]).fetchone()[0] == 0
        )


@pytest.mark.parametrize(
    "field,value", [("sample_guide_scale", -1), ("size", "big"), ("cuda_visible_devices", "x")]
)
def test_job_fields_are_checked(api, dance_env, field, value):
    r = api.post(f"{BASE}/steadydancer/jobs", json={"input_dir": "media", field: value})
    assert r.status_code == 422
