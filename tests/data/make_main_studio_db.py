"""Make ``tests/data/studio-main.db``: a studio.db written by the studio as it was
before the records package (its ``jobs`` package from the ``main`` branch at
898861d, whose ``jobs.db`` migrated lazily with ``schema_migrations``), with a
few jobs and a row in every tool's tables. ``tests/test_migrations.py`` upgrades
a copy of it. Run once, from the checkout, with the old package first::

    rm -rf /tmp/jobs_main && mkdir /tmp/jobs_main
    git archive 898861d jobs | tar -x -C /tmp/jobs_main
    PYTHONPATH=/tmp/jobs_main .venv/bin/python tests/data/make_main_studio_db.py
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
OUT = HERE / "studio-main.db"
T0 = 1_780_000_000.0  # fixed times: the file is the same on every run


def main() -> None:
    home = Path(tempfile.mkdtemp())
    os.environ["STUDIO_HOME"] = str(home)
    sys.path.append(str(ROOT))  # pipelines/ from this checkout; jobs/ from PYTHONPATH
    import jobs.db

    if hasattr(jobs.db, "migration") is False:
        raise SystemExit("Put the old jobs package first on PYTHONPATH (see the docstring).")
    from jobs import store
    from jobs.db import database
    from jobs.kinds import load_tools

    load_tools()  # every tool's migration steps registered, as in the old app
    db = database()

    ids = []
    for i, (kind, lane, owner) in enumerate(
        [
            ("system.sleep", "cpu", "ana"),
            ("photo_dataset.build", "cpu", "bob"),
            ("video_edit.run", "gpu", "ana"),
        ]
    ):
        job = store.create_job(kind, lane, owner, {"n": i}, f"job {i}", 3, job_id=f"main{i}")
        ids.append(job["id"])
    store.update_job(
        "main0",
        status="succeeded",
        stage="succeeded",
        progress=1.0,
        outputs={"files": ["a.txt"]},
        started_at=T0 + 1,
        finished_at=T0 + 2,
    )
    store.update_job("main1", status="failed", stage="failed", error="boom", attempts=3)
    store.add_samples(["main0"], {"t": T0 + 1.5, "cpu_percent": 50.0, "rss_mb": 100.0})
    for job_id, created in zip(ids, (T0, T0 + 10, T0 + 20), strict=True):
        db.execute("update jobs set created_at=? where id=?", [created, job_id])

    db.table("fr_videos").insert(
        {
            "id": "vid1",
            "filename": "clip.mp4",
            "owner": "ana",
            "path": "/media/clip.mp4",
            "status": "completed",
            "first_frame": 3,
            "last_frame": 90,
            "review_status": "reviewed",
            "created_at": T0,
            "updated_at": T0,
        }
    )
    for which, frame in (("first", 3), ("last", 90)):
        db.table("fr_marks").insert(
            {
                "video_id": "vid1",
                "which": which,
                "to_frame": frame,
                "method": "manual",
                "user": "ana",
                "at": T0,
            }
        )
    db.table("fr_tasks").insert(
        {"id": "task1", "name": "Batch", "created_by": "ana", "created_at": T0, "updated_at": T0}
    )
    db.table("fr_task_videos").insert(
        {"task_id": "task1", "video_id": "vid1", "ord": 1, "added_at": T0}
    )
    stamp = "2026-06-01T00:00:00+00:00"
    db.table("projects").insert(
        {"id": "p1", "owner": "ana", "name": "Dance", "created_at": stamp, "updated_at": stamp}
    )
    db.table("generation_jobs").insert(
        {
            "id": "g1",
            "project_id": "p1",
            "owner": "ana",
            "task_id": "main2",
            "job_type": "generate",
            "backend": "steadydancer",
            "status": "queued",
            "input_dir": "/in",
            "params": json.dumps({"steps": 4}),
            "created_at": stamp,
            "updated_at": stamp,
        }
    )
    db.table("scenarios").insert(
        {
            "name": "warmup",
            "language": "python",
            "code": "print(1)",
            "metrics": json.dumps(["cpu_percent"]),
            "interval_s": 1.0,
            "timeout_s": 60.0,
            "owner": "ana",
            "created_at": T0,
            "updated_at": T0,
        }
    )
    db.table("video_edit_jobs").insert(
        {
            "job_id": "main2",
            "studio_job_id": "main2",
            "owner": "ana",
            "what": "run",
            "created_at": T0,
        }
    )
    db.conn.execute("pragma wal_checkpoint(truncate)")
    db.conn.execute("pragma journal_mode=delete")  # one self-contained file
    db.conn.close()
    shutil.copyfile(home / "studio.db", OUT)
    shutil.rmtree(home)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
