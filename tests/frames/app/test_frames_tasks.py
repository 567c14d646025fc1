"""A task's recordings keep one order: recordings added to the same task at the
same time (two tabs, two REST clients) each get their own place, numbered
1, 2, 3 … with no number given twice and none skipped (issue 20: the order
number is read and written in one transaction). On SQLite and on PostgreSQL
(``database_url``)."""

from __future__ import annotations

import threading

import pytest

from jobs.access import User

pytestmark = pytest.mark.usefixtures("database_url")
ANA = User("ana")


def test_concurrent_adds_to_one_task_get_distinct_gap_free_order_numbers(studio_home):
    from jobs.tools.frames import records as fr
    from jobs.tools.frames import tasks as fr_tasks

    task = fr_tasks.create_task("race", ANA)
    ids = [fr.create_video(f"clip{k}.mp4", ANA.name).id for k in range(12)]
    start = threading.Barrier(len(ids))
    results: list[dict] = []
    errors: list[BaseException] = []

    def add(video_id: str) -> None:
        try:
            start.wait()
            results.append(fr_tasks.add_videos(task.id, ANA, [video_id]))
        except BaseException as exc:  # reported below: a thread's error must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=add, args=(vid,)) for vid in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(r["added_count"] for r in results) == [1] * len(ids)
    members = fr_tasks.task_videos(task.id, ANA)
    assert sorted(tv.video.id for tv in members) == sorted(ids)
    assert [tv.order for tv in members] == list(range(1, len(ids) + 1))


def test_a_recording_named_twice_or_already_in_the_task_is_reported_not_added(studio_home):
    from jobs.tools.frames import records as fr
    from jobs.tools.frames import tasks as fr_tasks

    task = fr_tasks.create_task("twice", ANA)
    a, b = (fr.create_video(f"{n}.mp4", ANA.name).id for n in ("a", "b"))
    first = fr_tasks.add_videos(task.id, ANA, [a, a, "missing"])
    assert first["added"] == [a]
    assert [f["video_id"] for f in first["failed_videos"]] == [a, "missing"]
    assert first["failed_videos"][0]["reason"] == "already in the task"
    second = fr_tasks.add_videos(task.id, ANA, [b, a])
    assert second["added"] == [b]
    assert fr_tasks.task_video_ids(task.id, ANA) == [a, b]
    assert [tv.order for tv in fr_tasks.task_videos(task.id, ANA)] == [1, 2]
