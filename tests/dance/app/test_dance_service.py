"""Issue 22 (seed 004, round 3): STEADYDANCER_DATA_DIR, job inputs as
snapshots, Celery's answer for an unknown task, and what a user of the service
expects (paging, PATCH, downloads, several seeds, low-level cancel and log)."""

from __future__ import annotations

import os

from tests.dance.app.conftest import BASE


def _project(api, name="Demo Project", **headers):
    r = api.post(f"{BASE}/projects", json={"name": name}, headers=headers or None)
    assert r.status_code == 200, r.text
    return r.json()


def _ref(api, pid, name="角色 A", **headers):
    r = api.post(
        f"{BASE}/projects/{pid}/refs",
        json={"name": name, "source_image_path": "media/astronaut.png"},
        headers=headers or None,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _motion(api, pid, name="舞蹈片段 1", **headers):
    r = api.post(
        f"{BASE}/projects/{pid}/motions",
        json={"name": name, "source_video_path": "media/dance.mp4"},
        headers=headers or None,
    )
    assert r.status_code == 200, r.text
    return r.json()


# -- 5. STEADYDANCER_DATA_DIR ---------------------------------------------------------------


def test_steadydancer_data_dir_holds_the_seeds_layout(api, dance_env, monkeypatch, tmp_path):
    from jobs.settings import reset_settings

    data = tmp_path / "dancer-data"
    monkeypatch.setenv("STEADYDANCER_DATA_DIR", str(data))
    reset_settings()
    pid = _project(api)["id"]
    ref, motion = _ref(api, pid), _motion(api, pid)
    assert ref["image_path"] == str(
        data / "projects" / pid / "refs" / ref["id"] / "source" / "astronaut.png"
    )
    assert motion["video_path"] == str(
        data / "projects" / pid / "motions" / motion["id"] / "source" / "dance.mp4"
    )
    exp = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={"name": "e", "reference_id": ref["id"], "motion_id": motion["id"]},
    ).json()
    assert exp["input_dir"] == str(data / "projects" / pid / "experiments" / exp["id"] / "input")
    assert os.path.isfile(ref["image_path"]) and os.path.isfile(motion["video_path"])
    assert not (dance_env["home"] / "projects" / pid).exists()


def test_projects_made_before_the_data_dir_was_set_are_still_found(
    api, dance_env, monkeypatch, tmp_path
):
    from jobs.settings import reset_settings

    old_pid = _project(api, "Before")["id"]  # default: inside STUDIO_HOME, as before
    old_ref = _ref(api, old_pid)
    old_folder = dance_env["home"] / "projects" / old_pid
    assert old_ref["image_path"].startswith(str(old_folder))
    monkeypatch.setenv("STEADYDANCER_DATA_DIR", str(tmp_path / "dancer-data"))
    reset_settings()
    assert api.get(f"{BASE}/projects/{old_pid}/refs/{old_ref['id']}").json() == old_ref
    assert os.path.isfile(old_ref["image_path"])
    more = _motion(api, old_pid)  # new files of an old project go beside its old ones
    assert more["video_path"].startswith(str(old_folder))
    assert not (tmp_path / "dancer-data" / "projects" / old_pid).exists()
    assert api.delete(f"{BASE}/projects/{old_pid}").status_code == 204
    assert not old_folder.exists()
