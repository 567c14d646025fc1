"""Dataset names are unique per owner, reserved at submit, and safe as folder names
(records on SQLite and on PostgreSQL: ``database_url``)."""

from __future__ import annotations

import pytest

from jobs import datasets, queue, store
from jobs.access import SYSTEM, User

pytestmark = pytest.mark.usefixtures("database_url")


def test_names_are_reserved_once_and_must_be_safe(studio_home):
    path = datasets.reserve("ana_v1", "photos", owner="ana", options={"trigger": "ohwx"})
    assert path.is_dir() and path.name == "ana_v1"
    with pytest.raises(datasets.DatasetExists, match="already exists"):
        datasets.reserve("ana_v1", "videos", owner="ana")
    assert datasets.reserve("ana_v1", "videos", owner="bo") != path  # bo's own ana_v1
    for bad in ("", "../up", "a/b", "-x", "x" * 65, "name with space"):
        with pytest.raises(datasets.DatasetNameError):
            datasets.reserve(bad, "photos", owner="ana")


def test_list_get_and_delete_follow_the_job(studio_home):
    datasets.reserve("clips", "videos", owner="ana")
    job = queue.submit("system.sleep", {"seconds": 1})
    datasets.attach_job(datasets.folder("clips", "ana"), job["id"])
    (datasets.folder("clips", "ana") / "1.mp4").write_bytes(b"x")
    got = datasets.get("clips", SYSTEM, owner="ana")
    assert got["status"] == "queued" and got["files"] == ["1.mp4"] and got["kind"] == "videos"
    assert [d["name"] for d in datasets.list_all(SYSTEM, "videos")] == ["clips"]
    assert datasets.list_all(SYSTEM, "photos") == []
    assert datasets.list_all(User("bo"), "videos") == []
    with pytest.raises(datasets.DatasetNotFound):
        datasets.get("clips", User("bo"))
    with pytest.raises(store.JobStateError, match="cancel the job first"):
        datasets.delete("clips", User("ana"))
    queue.cancel(job["id"])
    datasets.delete("clips", User("ana"))
    with pytest.raises(datasets.DatasetNotFound):
        datasets.get("clips", SYSTEM, owner="ana")
