"""Issue 22 (seed 004, round 3): STEADYDANCER_DATA_DIR, job inputs as
snapshots, Celery's answer for an unknown task, and what a user of the service
expects (paging, PATCH, downloads, several seeds, low-level cancel and log)."""

from __future__ import annotations

import io
import os
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.dance.app.conftest import BASE, wait_ready, wait_state


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


def _pair_folder(api, dance_env, pid, headers=None, frames: int = 9) -> str:
    """A pair folder on the server as SteadyDancer reads it (a photo and its pose
    frames; made without preprocessing), relative to the allowed root."""
    from PIL import Image

    folder = dance_env["root"] / "pairs" / f"pair-{frames}"
    if not folder.exists():
        for sub in ("positive", "negative"):
            (folder / sub).mkdir(parents=True)
            for i in range(frames):
                Image.new("RGB", (64, 64), (i * 20, 40, 80)).save(folder / sub / f"{i:04d}.jpg")
        Image.new("RGB", (64, 64), (200, 100, 50)).save(folder / "ref_image.png")
        (folder / "prompt.txt").write_text("a dancer")
    return f"pairs/{folder.name}"


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


# -- 6. job inputs are snapshots ------------------------------------------------------------


def _experiment_from(api, pid, source_input_dir, headers=None, **config):
    r = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": f"from {source_input_dir}",
            "source_input_dir": source_input_dir,
            "config": {"size": "256*256", "frame_num": 9, "sample_steps": 4, **config},
        },
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.slow
def test_preparing_again_never_changes_what_a_job_runs_on(api, dance_env, start_worker):
    start_worker()
    pid = _project(api)["id"]
    ref, motion = _ref(api, pid), _motion(api, pid)
    first = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={
            "name": "poses",
            "reference_id": ref["id"],
            "motion_id": motion["id"],
            "config": {"size": "256*256", "frame_num": 9},
        },
    ).json()
    ready = wait_ready(api, pid, first["id"])
    assert ready["preprocess"]["state"] == "SUCCESS", ready
    pair = dance_env["root"] / "pairs" / "example"
    shutil.copytree(ready["input_dir"], pair)
    (pair / "prompt.txt").write_text("the old prompt")
    exp = _experiment_from(api, pid, "pairs/example")
    assert wait_ready(api, pid, exp["id"])["preprocess"]["state"] == "SUCCESS"
    jobs_url = f"{BASE}/projects/{pid}/steadydancer/jobs"
    # a slow job holds the GPU lane, so the next ones stay queued while the input changes
    blocker = api.post(
        f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs",
        json={"prompt_override": "[slow] hold the lane"},
    ).json()
    wait_state(api, f"{jobs_url}/{blocker['job_id']}", states=("STARTED",))
    from_exp = api.post(
        f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs", json={}
    ).json()
    from_folder = api.post(jobs_url, json={"input_dir": "pairs/example", "frame_num": 9}).json()
    job_inputs = {
        j["job_id"]: dance_env["home"] / "projects" / pid / "jobs" / j["job_id"] / "input"
        for j in (from_exp, from_folder)
    }
    for folder in job_inputs.values():  # copied when the job was made
        assert (folder / "prompt.txt").read_text() == "the old prompt"
    frame = (job_inputs[from_exp["job_id"]] / "positive" / "0000.jpg").read_bytes()

    # the user rewrites the server folder in place and prepares the experiment again
    (pair / "prompt.txt").write_text("the new prompt")
    (pair / "positive" / "0000.jpg").write_bytes((pair / "positive" / "0001.jpg").read_bytes())
    again = api.post(f"{BASE}/projects/{pid}/experiments/{exp['id']}/preprocess")
    assert again.status_code == 202, again.text
    assert wait_ready(api, pid, exp["id"])["preprocess"]["state"] == "SUCCESS"
    assert (Path(exp["input_dir"]) / "prompt.txt").read_text() == "the new prompt"
    for job_id, folder in job_inputs.items():
        assert (folder / "prompt.txt").read_text() == "the old prompt", job_id
    assert (job_inputs[from_exp["job_id"]] / "positive" / "0000.jpg").read_bytes() == frame

    api.post(f"{jobs_url}/{blocker['job_id']}/cancel")
    for job_id in job_inputs:
        status = wait_state(api, f"{jobs_url}/{job_id}")
        assert status["state"] == "SUCCESS", status
        assert "prompt='the old prompt'" in status["result"]["stdout"]
        assert f"jobs/{job_id}/input" in status["result"]["stdout"]
        saved = api.get(f"{jobs_url}/{job_id}/result.json")  # 8: the job's result.json
        assert saved.status_code == 200 and saved.headers["content-type"] == "application/json"
        assert "attachment" in saved.headers["content-disposition"]
        assert saved.json()["success"] is True
        assert saved.json()["video_path"] == status["result"]["video_path"]

    # 8: the experiment's pose preview and its pair folder as a ZIP (streamed)
    preview = api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}/preview")
    assert preview.status_code == 200 and preview.headers["content-type"] == "video/mp4"
    assert "attachment" in preview.headers["content-disposition"]
    api.patch(f"{BASE}/projects/{pid}/experiments/{exp['id']}", json={"name": "角色 A 跳舞"})
    with api.stream("GET", f"{BASE}/projects/{pid}/experiments/{exp['id']}/download") as r:
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert (
            "filename*=utf-8''%E8%A7%92%E8%89%B2-A-%E8%B7%B3%E8%88%9E_"
            in (r.headers["content-disposition"])
        )
        assert "content-length" not in r.headers  # sent as it is made
        data = b"".join(r.iter_bytes())
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        root = names[0].split("/")[0]
        assert root == f"角色-A-跳舞_{exp['id'][:8]}"
        assert archive.read(f"{root}/prompt.txt") == b"the new prompt"
        assert (
            archive.read(f"{root}/positive/0008.jpg")
            == (Path(exp["input_dir"]) / "positive" / "0008.jpg").read_bytes()
        )
        on_disk = {
            str(p.relative_to(exp["input_dir"]))
            for p in Path(exp["input_dir"]).rglob("*")
            if p.is_file()
        }
        assert {n.split("/", 1)[1] for n in names} == on_disk
    # a later job runs on the new input; a retry of an old one on its own copy
    new = api.post(
        f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs", json={}
    ).json()
    assert (
        "prompt='the new prompt'"
        in wait_state(api, f"{jobs_url}/{new['job_id']}")["result"]["stdout"]
    )
    api.post(f"{jobs_url}/{from_exp['job_id']}/retry")
    status = wait_state(api, f"{jobs_url}/{from_exp['job_id']}", states=("SUCCESS", "FAILURE"))
    assert "prompt='the old prompt'" in status["result"]["stdout"]


# -- 7. Celery semantics ----------------------------------------------------------------------


def test_an_unknown_task_is_pending_and_another_users_task_answers_the_same(
    api, dance_env, monkeypatch
):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    unknown = "0123456789abcdef0123456789abcdef"
    r = api.get(f"{BASE}/steadydancer/jobs/{unknown}", headers=alice)
    assert r.status_code == 200
    assert r.json()["task_id"] == unknown
    assert r.json()["state"] == "PENDING" and r.json()["result"] is None

    pid = _project(api, **alice)["id"]
    pair = _pair_folder(api, dance_env, pid, alice)
    task_id = api.post(
        f"{BASE}/steadydancer/jobs", json={"input_dir": pair, "frame_num": 5}, headers=alice
    ).json()["task_id"]
    mine = api.get(f"{BASE}/steadydancer/jobs/{task_id}", headers=alice)
    assert mine.status_code == 200 and mine.json()["task_id"] == task_id
    theirs = api.get(f"{BASE}/steadydancer/jobs/{task_id}", headers=bob)
    never = api.get(f"{BASE}/steadydancer/jobs/{unknown}", headers=bob)
    assert theirs.status_code == never.status_code == 200
    assert {**theirs.json(), "task_id": None} == {**never.json(), "task_id": None}
    assert theirs.json()["task_id"] == task_id
    assert api.get(f"{BASE}/steadydancer/jobs/{'x' * 101}", headers=bob).status_code == 422


# -- 8. what a user of the service expects ------------------------------------------------------


def _newest_first_pages(api, url: str, ids_oldest_first: list[str]) -> None:
    newest = list(reversed(ids_oldest_first))
    whole = api.get(url)
    assert whole.status_code == 200 and [x["id"] for x in whole.json()] == newest, url
    first = api.get(url, params={"limit": 2}).json()
    rest = api.get(url, params={"limit": 2, "offset": 2}).json()
    assert isinstance(first, list) and [x["id"] for x in first] == newest[:2], url
    assert [x["id"] for x in rest] == newest[2:4], url
    assert api.get(url, params={"offset": len(newest)}).json() == []
    for bad in ({"limit": 0}, {"limit": 1001}, {"offset": -1}, {"limit": "x"}):
        assert api.get(url, params=bad).status_code == 422, (url, bad)


def test_every_list_pages_newest_first(api, dance_env):
    import time

    def made(make):
        time.sleep(0.003)  # created_at has milliseconds: keep the order unambiguous
        return make()["id"]

    projects = [made(lambda n=n: _project(api, f"P{n}")) for n in range(3)]
    _newest_first_pages(api, f"{BASE}/projects", projects)
    pid = projects[-1]
    refs = [made(lambda n=n: _ref(api, pid, f"r{n}")) for n in range(3)]
    motions = [made(lambda n=n: _motion(api, pid, f"m{n}")) for n in range(3)]
    _newest_first_pages(api, f"{BASE}/projects/{pid}/refs", refs)
    _newest_first_pages(api, f"{BASE}/projects/{pid}/motions", motions)
    pair = _pair_folder(api, dance_env, pid)
    exps = [made(lambda n=n: _experiment_from(api, pid, pair, frame_num=5)) for n in range(3)]
    _newest_first_pages(api, f"{BASE}/projects/{pid}/experiments", exps)

    def job():
        r = api.post(
            f"{BASE}/projects/{pid}/experiments/{exps[0]}/steadydancer/jobs",
            json={"input_dir": pair, "frame_num": 5},
        )
        assert r.status_code == 200, r.text
        return {"id": r.json()["job_id"]}

    jobs = [made(job) for _ in range(3)]
    _newest_first_pages(api, f"{BASE}/projects/{pid}/steadydancer/jobs", jobs)
    _newest_first_pages(api, f"{BASE}/projects/{pid}/experiments/{exps[0]}/steadydancer/jobs", jobs)


def test_patch_renames_and_redescribes(api, dance_env, monkeypatch):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    project = _project(api, "Demo", **alice)
    pid = project["id"]
    _project(api, "Taken", **alice)
    url = f"{BASE}/projects/{pid}"
    r = api.patch(url, json={"name": "  Renamed  ", "description": "新的描述"}, headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed" and r.json()["description"] == "新的描述"
    assert r.json()["updated_at"] > project["updated_at"]
    assert api.get(url, headers=alice).json()["name"] == "Renamed"
    r = api.patch(url, json={"description": None}, headers=alice)  # only what is sent changes
    assert r.json()["name"] == "Renamed" and r.json()["description"] is None
    assert api.patch(url, json={"name": "Taken"}, headers=alice).status_code == 409
    assert api.patch(url, json={"name": "Renamed"}, headers=alice).status_code == 200  # its own
    for bad in (
        {"name": "x" * 201},
        {"name": "a\nb"},
        {"name": ""},
        {"name": "   "},
        {"name": None},
        {"description": "d" * 4001},
        {"description": "a\x00b"},
        {"owner": "bob"},
        {},
    ):
        r = api.patch(url, json=bad, headers=alice)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["detail"]

    ref, motion = _ref(api, pid, **alice), _motion(api, pid, **alice)
    pair = _pair_folder(api, dance_env, pid)
    exp = api.post(
        f"{BASE}/projects/{pid}/experiments",
        json={"name": "e", "source_input_dir": pair},
        headers=alice,
    ).json()
    targets = {
        f"{url}/refs/{ref['id']}": {"name": "角色 B", "meta": {"prompt": "a dancer in blue"}},
        f"{url}/motions/{motion['id']}": {"name": "舞蹈片段 2", "meta": {"style": "jazz"}},
        f"{url}/experiments/{exp['id']}": {"name": "e2", "description": "一图一舞"},
    }
    for target, change in targets.items():
        assert api.patch(target, json=change, headers=bob).status_code == 404, target
        r = api.patch(target, json=change, headers=alice)
        assert r.status_code == 200, (target, r.text)
        assert {k: r.json()[k] for k in change} == change
        assert {k: api.get(target, headers=alice).json()[k] for k in change} == change
        assert api.patch(target, json={"name": "n" * 201}, headers=alice).status_code == 422
        assert api.patch(target, json={"project_id": "x"}, headers=alice).status_code == 422
    assert (
        api.patch(f"{url}/refs/{ref['id']}", json={"meta": [1]}, headers=alice).status_code == 422
    )
    assert api.patch(url, json={"name": "x"}, headers=bob).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        api.patch(f"{url}/motions/{missing}", json={"name": "x"}, headers=alice).status_code == 404
    )


def test_downloads_of_sources_and_what_is_not_there_yet(api, dance_env, monkeypatch):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    pid = _project(api, **alice)["id"]
    ref, motion = _ref(api, pid, **alice), _motion(api, pid, **alice)
    media = dance_env["root"] / "media"
    for kind, asset, source, mime in (
        ("refs", ref, media / "astronaut.png", "image/png"),
        ("motions", motion, media / "dance.mp4", "video/mp4"),
    ):
        url = f"{BASE}/projects/{pid}/{kind}/{asset['id']}/download"
        r = api.get(url, headers=alice)
        assert r.status_code == 200 and r.content == source.read_bytes(), url
        assert r.headers["content-type"] == mime
        assert r.headers["content-disposition"].startswith("attachment")
        assert source.name in r.headers["content-disposition"]
        assert api.get(url, headers=bob).status_code == 404
    missing = "00000000-0000-0000-0000-000000000000"
    assert (
        api.get(f"{BASE}/projects/{pid}/refs/{missing}/download", headers=alice).status_code == 404
    )
    os.remove(ref["image_path"])
    r = api.get(f"{BASE}/projects/{pid}/refs/{ref['id']}/download", headers=alice)
    assert r.status_code == 404 and "no longer on disk" in r.json()["detail"]

    pair = _pair_folder(api, dance_env, pid)
    exp = _experiment_from(api, pid, pair, alice, frame_num=5)
    r = api.get(f"{BASE}/projects/{pid}/experiments/{exp['id']}/download", headers=alice)
    assert r.status_code == 404 and "no prepared input" in r.json()["detail"]  # not run yet
    job = api.post(
        f"{BASE}/projects/{pid}/steadydancer/jobs",
        json={"input_dir": pair, "frame_num": 5},
        headers=alice,
    ).json()
    url = f"{BASE}/projects/{pid}/steadydancer/jobs/{job['job_id']}/result.json"
    r = api.get(url, headers=alice)
    assert r.status_code == 404 and "not ended" in r.json()["detail"]
    assert api.get(url, headers=bob).status_code == 404


def test_several_seeds_in_one_request_make_one_job_each(api, dance_env):
    pid = _project(api)["id"]
    pair = _pair_folder(api, dance_env, pid)
    exp = _experiment_from(api, pid, pair, frame_num=5)
    jobs_url = f"{BASE}/projects/{pid}/steadydancer/jobs"
    r = api.post(
        f"{BASE}/projects/{pid}/experiments/{exp['id']}/steadydancer/jobs",
        json={"base_seeds": [1, 2, 3], "sample_guide_scale": 4.0},
    )
    assert r.status_code == 200, r.text
    created = r.json()
    assert len(created["jobs"]) == 3 and created["job_id"] == created["jobs"][0]["job_id"]
    assert {"project_id", "job_id", "task_id"} <= set(created)
    for job, seed in zip(created["jobs"], (1, 2, 3), strict=True):
        status = api.get(f"{jobs_url}/{job['job_id']}").json()
        assert status["task_id"] == job["task_id"] and status["experiment_id"] == exp["id"]
        assert status["params"]["config"]["base_seed"] == seed
        assert status["params"]["config"]["sample_guide_scale"] == 4.0
    assert len(api.get(jobs_url).json()) == 3

    r = api.post(jobs_url, json={"input_dir": pair, "frame_num": 5, "base_seeds": [7, 8]})
    assert r.status_code == 200 and len(r.json()["jobs"]) == 2
    r = api.post(
        f"{BASE}/steadydancer/jobs", json={"input_dir": pair, "frame_num": 5, "base_seeds": [5, 6]}
    )
    assert r.status_code == 200 and len(r.json()["task_ids"]) == 2
    assert r.json()["task_id"] == r.json()["task_ids"][0]
    one = api.post(jobs_url, json={"input_dir": pair, "frame_num": 5}).json()
    assert set(one) == {"project_id", "job_id", "task_id"}  # the seed's answer, unchanged
    count = len(api.get(jobs_url).json())
    for bad in (
        {"base_seeds": []},
        {"base_seeds": list(range(17))},
        {"base_seeds": [1, -2]},
        {"base_seeds": [1, "x"]},
        {"base_seeds": [1, 2], "base_seed": 3},
    ):
        r = api.post(jobs_url, json={"input_dir": pair, "frame_num": 5, **bad})
        assert r.status_code == 422 and r.json()["detail"], bad
    assert len(api.get(jobs_url).json()) == count  # a refused request makes no job


def test_low_level_tasks_have_cancel_log_and_result_under_dance(api, dance_env, monkeypatch):
    from jobs.settings import reset_settings

    monkeypatch.setenv("STUDIO_API_TOKENS", "ta:alice,tb:bob")
    reset_settings()
    alice, bob = {"Authorization": "Bearer ta"}, {"Authorization": "Bearer tb"}
    pid = _project(api, **alice)["id"]
    pair = _pair_folder(api, dance_env, pid)
    task_id = api.post(
        f"{BASE}/steadydancer/jobs", json={"input_dir": pair, "frame_num": 5}, headers=alice
    ).json()["task_id"]
    url = f"{BASE}/steadydancer/jobs/{task_id}"
    unknown = f"{BASE}/steadydancer/jobs/0123456789abcdef0123456789abcdef"
    for suffix, method in (("/cancel", "post"), ("/log", "get"), ("/result.json", "get")):
        theirs = getattr(api, method)(url + suffix, headers=bob)
        never = getattr(api, method)(unknown + suffix, headers=bob)
        assert theirs.status_code == never.status_code == 404, suffix
    assert api.get(url, headers=alice).json()["state"] == "PENDING"  # bob's cancel did nothing
    r = api.post(f"{url}/cancel", headers=alice)
    assert r.status_code == 200 and r.json()["task_id"] == task_id
    assert r.json()["state"] == "REVOKED"  # it was still queued: cancelled at once
    assert api.get(url, headers=alice).json()["state"] == "REVOKED"
    assert api.post(f"{url}/cancel", headers=alice).status_code == 409  # already ended
    log = api.get(f"{url}/log", headers=alice)
    assert log.status_code == 200 and "cancel asked by alice" in log.text
    assert api.get(f"{url}/log", params={"tail": 0}, headers=alice).status_code == 422
    r = api.get(f"{url}/result.json", headers=alice)
    assert r.status_code == 404 and "cancelled before it ran" in r.json()["detail"]
