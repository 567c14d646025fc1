"""Issue 19.11: video edit's ``output_dir``.

- STUDIO_ALLOWED_ROOTS are read-only inputs: a user may not write an edit into them; an
  admin writes only inside the writable output folders (STUDIO_OUTPUT_ROOTS).
- A folder another queued or running edit uses is refused, at submit and again when a
  retried job runs.
- A malformed ``status.json`` in the folder is a 4xx that says so, never a 500."""

from __future__ import annotations

import pytest

from jobs import queue, store
from jobs.kinds import JobContext, get_kind
from jobs.reporter import Reporter
from jobs.settings import reset_settings
from pipelines.errors import Conflict
from tests.security.conftest import as_
from tests.video_edit.app.conftest import FAST, allowed_root, studio_models  # noqa: F401
from tests.video_edit.conftest import clips, models_root, tiny_ip2p  # noqa: F401


def _body(root, **changes):
    return {
        "input_video_path": str(root / "person.mp4"),
        "mask_prompt": "person",
        "edit_prompt": "make the person red",
        "params": FAST,
        **changes,
    }


@pytest.fixture
def writable(tmp_path, monkeypatch, allowed_root):  # noqa: F811
    folder = tmp_path / "edits"
    folder.mkdir()
    monkeypatch.setenv("STUDIO_OUTPUT_ROOTS", str(folder))
    reset_settings()
    return folder


def test_users_may_not_write_into_the_input_folders(secured, allowed_root, studio_models):  # noqa: F811
    out = allowed_root / "results"
    resp = secured.post(
        "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(out)), headers=as_("alice")
    )
    assert resp.status_code == 403, resp.text
    assert "for admins" in resp.json()["detail"]
    resp = secured.post(
        "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(out)), headers=as_("root")
    )
    assert resp.status_code == 422 and "STUDIO_OUTPUT_ROOTS" in resp.json()["detail"], resp.text
    assert not out.exists()
    assert secured.get("/api/v1/jobs", headers=as_("root")).json()["total"] == 0


def test_admins_write_only_inside_the_writable_output_folders(
    secured,
    allowed_root,  # noqa: F811
    studio_models,  # noqa: F811
    writable,
):
    inside = writable / "run1"
    ok = secured.post(
        "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(inside)), headers=as_("root")
    )
    assert ok.status_code == 201, ok.text
    for bad in (allowed_root / "run2", writable):
        resp = secured.post(
            "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(bad)), headers=as_("root")
        )
        assert resp.status_code == 422 and "outside the writable" in resp.json()["detail"]
    busy = secured.post(
        "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(inside)), headers=as_("root")
    )
    assert busy.status_code == 409 and "still queued" in busy.json()["detail"], busy.text


@pytest.mark.parametrize("content", ["{not json", '{"job_id": 5, "status": "weird"}', "[]"])
def test_a_malformed_status_json_is_a_clear_4xx(
    secured,
    allowed_root,  # noqa: F811
    studio_models,  # noqa: F811
    writable,
    content,
):
    folder = writable / "broken"
    folder.mkdir()
    (folder / "status.json").write_text(content)
    resp = secured.post(
        "/api/v1/video/edit", json=_body(allowed_root, output_dir=str(folder)), headers=as_("root")
    )
    assert resp.status_code == 422, resp.text
    assert "status.json" in resp.json()["detail"] and "not a video edit status" in resp.text


def test_a_retried_edit_checks_again_that_its_folder_is_free(
    secured,
    allowed_root,  # noqa: F811
    studio_models,  # noqa: F811
    writable,
):
    folder = writable / "shared"
    first = secured.post(
        "/api/v1/video/edit",
        json=_body(allowed_root, output_dir=str(folder), job_id="first"),
        headers=as_("root"),
    ).json()
    store.update_job(first["studio_job_id"], status="failed", error="out of memory")
    second = secured.post(
        "/api/v1/video/edit",
        json=_body(allowed_root, output_dir=str(folder), job_id="second"),
        headers=as_("root"),
    )
    assert second.status_code == 201, second.text  # the first one ended: the folder was free
    with pytest.raises(Conflict, match="used by video edit second"):  # refused at the retry
        queue.retry(first["studio_job_id"])
    assert store.get_job(first["studio_job_id"])["status"] == "failed"
    # and checked again when the job runs (taken between the retry and the run)
    store.update_job(first["studio_job_id"], status="queued")
    job = store.claim_job(first["studio_job_id"], "test")
    assert job is not None
    with pytest.raises(Conflict, match="used by video edit second"):
        get_kind(job["kind"]).fn(JobContext(job=job, progress=Reporter(job["id"])))
    assert not (folder / "first_output.mp4").exists()
