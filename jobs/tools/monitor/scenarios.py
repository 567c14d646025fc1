"""Saved scenarios: a script (Python or shell) with the metrics to watch while
it runs. Each run is a ``monitor.scenario`` job; its samples chart live in the
Jobs / Monitor tab."""

from __future__ import annotations

import json
import time
from typing import Any

from jobs.db import database, migration
from pipelines.names import validate_dataset_name

LANGUAGES = ("python", "bash")


class ScenarioExists(ValueError):
    pass


class ScenarioNotFound(LookupError):
    pass


@migration("monitor", 1)
def _schema(db) -> None:
    db.execute(
        """
        create table if not exists scenarios (
            name text primary key,
            language text not null,
            code text not null,
            metrics text not null,
            interval_s real not null,
            timeout_s real not null,
            target text not null default '',
            owner text not null,
            created_at real not null,
            updated_at real not null
        )
        """
    )


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "metrics": json.loads(row["metrics"])}


def _check(language: str, code: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}.")
    if not code.strip():
        raise ValueError("The scenario script is empty.")


def create(name: str, code: str, *, language: str = "python", metrics: list[str] | None = None,
           interval_s: float = 0.5, timeout_s: float = 600, target: str = "", owner: str = "anonymous") -> dict:
    name = validate_dataset_name(name)
    _check(language, code)
    now = time.time()
    row = {"name": name, "language": language, "code": code,
           "metrics": json.dumps(metrics or ["cpu_percent", "rss_mb", "threads"]), "interval_s": interval_s,
           "timeout_s": timeout_s, "target": target, "owner": owner, "created_at": now, "updated_at": now}
    db = database()
    cur = db.execute("insert or ignore into scenarios (%s) values (%s)" % (
        ", ".join(row), ", ".join("?" * len(row))), list(row.values()))
    if cur.rowcount != 1:
        raise ScenarioExists(f"A scenario named {name!r} already exists; choose another name or update it.")
    return get(name)


def get(name: str) -> dict:
    row = next(database().query("select * from scenarios where name=?", [name]), None)
    if row is None:
        raise ScenarioNotFound(f"No scenario named {name!r}.")
    return _decode(row)


def list_all() -> list[dict]:
    return [_decode(r) for r in database().query("select * from scenarios order by updated_at desc")]


def update(name: str, **fields: Any) -> dict:
    current = get(name)
    allowed = {"code", "language", "metrics", "interval_s", "timeout_s", "target"}
    changes = {k: v for k, v in fields.items() if k in allowed and v is not None}
    _check(changes.get("language", current["language"]), changes.get("code", current["code"]))
    if "metrics" in changes:
        changes["metrics"] = json.dumps(changes["metrics"])
    changes["updated_at"] = time.time()
    database()["scenarios"].update(name, changes)
    return get(name)


def delete(name: str) -> None:
    get(name)
    database().execute("delete from scenarios where name=?", [name])


def submit_run(name: str, owner: str) -> dict:
    """Queue a run of the saved scenario; the job keeps a copy of its script."""
    from jobs import queue

    s = get(name)
    params = {k: s[k] for k in ("name", "code", "language", "metrics", "interval_s", "timeout_s", "target")}
    return queue.submit("monitor.scenario", params, owner=owner, title=f"Scenario {name}")
