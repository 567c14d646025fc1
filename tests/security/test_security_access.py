"""Issue 9.3/9.4 (core): each user reaches only their own jobs — through REST,
the job panel's Gradio endpoints, the Jobs tab and Gradio's file route;
admins reach all. Another user's job is answered exactly like a missing one."""

from __future__ import annotations

import pytest

from jobs import queue, store
from jobs.access import User
from studio import job_panel
from studio.tabs import jobs as jobs_tab
from tests.security.conftest import as_, ui_request

ALICE, BOB, ROOT = User("alice"), User("bob"), User("root", True)


def _finished_job_with_output(owner: str, status: str = "succeeded") -> store.Job:
    """A finished job of ``owner`` with an output file (no worker needed)."""
    job = queue.submit("system.sleep", {"seconds": 0}, owner=owner)
    out = store.job_dir(job["id"]) / "outputs" / "result.txt"
    out.parent.mkdir()  # what a worker running it would have made
    out.write_text(f"{owner}'s secret result")
    store.append_log(job["id"], f"{owner} log line")
    store.add_samples([job["id"]], {"t": 1.0, "cpu_percent": 5.0, "rss_mb": 10.0})
    return store.update_job(
        job["id"], status=status, stage=status, outputs={"files": ["outputs/result.txt"]}
    )


def test_rest_reads_and_writes_of_another_users_job_are_404_like_a_missing_job(secured):
    job = _finished_job_with_output("alice", "failed")
    jid = job["id"]
    reads = [
        f"/api/v1/jobs/{jid}",
        f"/api/v1/jobs/{jid}/log",
        f"/api/v1/jobs/{jid}/samples",
        f"/api/v1/jobs/{jid}/files/outputs/result.txt",
        f"/api/v1/jobs/{jid}/files/status.json",
    ]
    for path in reads:
        assert secured.get(path, headers=as_("alice")).status_code == 200, path
        assert secured.get(path, headers=as_("root")).status_code == 200, path  # admins read all
        theirs = secured.get(path, headers=as_("bob"))
        missing = secured.get(path.replace(jid, "0" * 12), headers=as_("bob"))
        assert theirs.status_code == missing.status_code == 404, path
        assert "alice" not in theirs.text and "secret" not in theirs.text
    assert secured.get(f"/api/v1/jobs/{jid}", headers=as_("bob")).json()["detail"] == secured.get(
        "/api/v1/jobs/000000000000", headers=as_("bob")
    ).json()["detail"].replace("0" * 12, jid)
    for action in ("retry", "cancel"):
        assert secured.post(f"/api/v1/jobs/{jid}/{action}", headers=as_("bob")).status_code == 404
    assert store.get_job(jid)["status"] == "failed"
    assert (
        secured.post(f"/api/v1/jobs/{jid}/retry", headers=as_("root")).json()["status"] == "queued"
    )


def test_lists_show_your_own_jobs_and_admins_may_filter_by_owner(secured):
    mine = secured.post("/api/v1/jobs", json={"kind": "system.sleep"}, headers=as_("alice")).json()
    theirs = secured.post("/api/v1/jobs", json={"kind": "system.sleep"}, headers=as_("bob")).json()
    page = secured.get("/api/v1/jobs", headers=as_("alice")).json()
    assert [j["id"] for j in page["jobs"]] == [mine["id"]] and page["total"] == 1
    # A plain user's owner= filter cannot widen the list.
    assert (
        secured.get("/api/v1/jobs", params={"owner": "bob"}, headers=as_("alice")).json()["total"]
        == 1
    )
    assert secured.get("/api/v1/jobs", headers=as_("root")).json()["total"] == 2
    only_bob = secured.get("/api/v1/jobs", params={"owner": "bob"}, headers=as_("root")).json()
    assert [j["id"] for j in only_bob["jobs"]] == [theirs["id"]]


def test_queue_cancel_and_retry_check_the_owner(logins):
    job = queue.submit("system.sleep", {}, owner="alice")
    with pytest.raises(store.JobNotFound):
        queue.cancel(job["id"], BOB)
    assert queue.cancel(job["id"], ALICE)["status"] == "cancelled"
    with pytest.raises(store.JobNotFound):
        queue.retry(job["id"], BOB)
    assert queue.retry(job["id"], ROOT)["status"] == "queued"


def test_the_job_panel_shows_and_acts_on_your_own_jobs_only(logins):
    job = _finished_job_with_output("alice")
    status, log, files, result, _cancel, _retry = job_panel.render(job["id"], ui_request("alice"))
    assert "succeeded" in status and "alice log line" in log
    assert (
        f"api/v1/jobs/{job['id']}/files/outputs/result.txt" in files
    )  # a checked link, not a path
    assert str(store.job_dir(job["id"])) not in files
    status, log, files, result, _cancel, _retry = job_panel.render(job["id"], ui_request("bob"))
    assert "No job with id" in status and log == "" and "result.txt" not in files and result is None
    assert "succeeded" in job_panel.render(job["id"], ui_request("root"))[0]
    job_panel._retry(job["id"], ui_request("bob"))
    assert store.get_job(job["id"])["status"] == "succeeded"  # bob's retry did nothing


def test_the_jobs_tab_lists_your_own_jobs_and_charts_only_yours(logins):
    mine = queue.submit("system.sleep", {}, owner="alice")
    theirs = _finished_job_with_output("bob")
    table, summary = jobs_tab.list_jobs("", "", "", 1, ui_request("alice"))
    assert list(table["id"]) == [mine["id"]] and summary.startswith("1 jobs")
    table, _ = jobs_tab.list_jobs(
        "", "", "bob", 1, ui_request("alice")
    )  # the owner filter is for admins
    assert list(table["id"]) == [mine["id"]]
    table, _ = jobs_tab.list_jobs("", "", "bob", 1, ui_request("root"))
    assert list(table["id"]) == [theirs["id"]]
    assert len(jobs_tab.job_timeline(theirs["id"], ui_request("alice"))[0]) == 0
    assert len(jobs_tab.job_timeline(theirs["id"], ui_request("bob"))[0]) == 1


def _login(client, user: str) -> None:
    from tests.security.conftest import USERS

    assert (
        client.post("/login", data={"username": user, "password": USERS[user]}).status_code == 200
    )


def test_gradio_file_route_serves_no_studio_file_and_downloads_use_the_ui_login(logins):
    """/gradio_api/file=<job folder> fails for everyone (even the owner: outputs are
    served by the checked route); the panel's links work with the UI login cookie."""
    from fastapi.testclient import TestClient

    from studio.server import create_app

    job = _finished_job_with_output("alice")
    path = store.job_dir(job["id"]) / "outputs" / "result.txt"
    app = create_app()
    with TestClient(app) as bob_browser, TestClient(app) as alice_browser:
        _login(bob_browser, "bob")
        _login(alice_browser, "alice")
        for client in (bob_browser, alice_browser):
            for url in (
                f"/gradio_api/file={path}",
                f"/gradio_api/file/{path}",
                f"/gradio_api/file={store.job_dir(job['id'])}/../{job['id']}/outputs/result.txt",
                f"/gradio_api/file={path.parent.parent.parent.parent / 'studio.db'}",
            ):
                answer = client.get(url)
                assert answer.status_code in (403, 404), url
                assert "secret" not in answer.text
        link = f"/api/v1/jobs/{job['id']}/files/outputs/result.txt"
        assert alice_browser.get(link).text == "alice's secret result"
        assert bob_browser.get(link).status_code == 404
        assert (
            bob_browser.post(f"/api/v1/jobs/{job['id']}/retry").status_code == 401
        )  # cookies: reads only
        with TestClient(app) as stranger:
            assert stranger.get(link).status_code == 401
