"""Saved scenarios: a script (Python or shell) with the metrics to watch while
it runs. Each run is a ``monitor.scenario`` job; its samples chart live in the
Jobs / Monitor tab.

A scenario script is code the worker runs as the studio's own OS user, so:

- only admins may write, read and run scenarios (STUDIO_ADMINS);
- in an open studio (no STUDIO_AUTH / STUDIO_API_TOKENS, where everyone is an
  admin) they are off, unless STUDIO_ALLOW_SCENARIO_SCRIPTS=1 turns them on
  (a private single-user install); STUDIO_ALLOW_SCENARIO_SCRIPTS=0 turns them
  off everywhere.

Every function here takes the acting :class:`jobs.access.User`, checks that
first (:func:`check_scripts_allowed`, 403), then the owner of the scenario
(``jobs.access``: another admin's scenario is visible to admins; 404 otherwise).

Names are per owner (the table's key is ``(owner, name)``; the table and its
queries are in :mod:`.repository`): a name addresses the
caller's own scenario, or with ``owner=`` (admins) another user's. A run's job
holds a copy of the script, so it never looks the scenario up by name again.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from jobs.access import User, check_owner, owner_filter
from jobs.settings import get_settings
from jobs.tools.monitor import repository as repo
from pipelines.errors import BadInput, Conflict, NotFound, Refused
from pipelines.names import validate_dataset_name

LANGUAGES = ("python", "bash")
MAX_CODE_CHARS = 256 * 1024


class ScenarioExists(Conflict):
    pass


class ScenarioNotFound(NotFound):
    pass


class ScriptsOff(Refused):
    """Scenario scripts are not allowed for this caller (403)."""


def scripts_refusal(user: User) -> str | None:
    """Why ``user`` may not use scenario scripts, or None when they may."""
    settings = get_settings()
    if settings.demo_mode:
        return (
            "Scenario scripts are off in the public demo: a script is code run on the server. "
            "Run the studio yourself (with logins, or on 127.0.0.1) to use them."
        )
    if settings.allow_scenario_scripts is False:
        return (
            "Scenario scripts are switched off in this studio (STUDIO_ALLOW_SCENARIO_SCRIPTS=0). "
            "Runs already made stay readable in the Jobs list."
        )
    if settings.open_studio and settings.allow_scenario_scripts is not True:
        return (
            "Scenario scripts are off in an open studio (no logins): a script is code run on the server. "
            "The admin turns them on by configuring logins (STUDIO_AUTH or STUDIO_API_TOKENS) and "
            "STUDIO_ADMINS, or, for a private single-user install, STUDIO_ALLOW_SCENARIO_SCRIPTS=1."
        )
    if not user.is_admin:
        return (
            "Scenario scripts are code run on the server, so only admins (STUDIO_ADMINS) may write, "
            "read and run them. Ask an admin to run your scenario."
        )
    return None


def check_scripts_allowed(user: User) -> None:
    """:class:`ScriptsOff` (403) with the reason unless ``user`` may use scenario scripts."""
    reason = scripts_refusal(user)
    if reason:
        raise ScriptsOff(reason)


def _decode(row: Mapping[str, Any]) -> dict[str, Any]:
    return {**row, "metrics": json.loads(row["metrics"])}


def _check(language: str, code: str) -> None:
    if language not in LANGUAGES:
        raise BadInput(f"language must be one of {LANGUAGES}.")
    if not code.strip():
        raise BadInput("The scenario script is empty.")
    if len(code) > MAX_CODE_CHARS:
        raise BadInput(
            f"The scenario script is {len(code) // 1024} KB; the limit is {MAX_CODE_CHARS // 1024} KB."
        )
    if "\x00" in code:
        raise BadInput("The scenario script holds a NUL byte.")


def _row(name: str, owner: str) -> Mapping[str, Any] | None:
    if len(name) > 200:
        return None
    return repo.row(owner, name)


def create(
    name: str,
    code: str,
    *,
    user: User,
    language: str = "python",
    metrics: list[str] | None = None,
    interval_s: float = 0.5,
    timeout_s: float = 600,
    target: str = "",
) -> dict[str, Any]:
    check_scripts_allowed(user)
    name = validate_dataset_name(name)
    _check(language, code)
    now = time.time()
    row = {
        "name": name,
        "language": language,
        "code": code,
        "metrics": json.dumps(metrics or ["cpu_percent", "rss_mb", "threads"]),
        "interval_s": interval_s,
        "timeout_s": timeout_s,
        "target": target,
        "owner": user.name,
        "created_at": now,
        "updated_at": now,
    }
    if not repo.insert_new(row):
        raise ScenarioExists(
            f"A scenario named {name!r} already exists among yours; choose another name or update it."
        )
    return get(name, user)


def get(name: str, user: User, owner: str | None = None) -> dict[str, Any]:
    """``user``'s scenario of this name, or with ``owner`` that user's (admins);
    404 for a missing one and for another user's, the same answer."""
    check_scripts_allowed(user)
    owner = owner or user.name
    missing = f"scenario named {name[:100]!r}"
    check_owner(owner, user, missing)
    row = _row(name, owner)
    if row is None:
        raise ScenarioNotFound(f"No {missing}.")
    return _decode(row)


def list_all(user: User, owner: str | None = None) -> list[dict[str, Any]]:
    """The scenarios ``user`` may see, newest change first."""
    check_scripts_allowed(user)
    wanted = owner_filter(user, owner)
    return [_decode(r) for r in repo.rows(wanted)]


def update(name: str, user: User, owner: str | None = None, **fields: Any) -> dict[str, Any]:
    current = get(name, user, owner)
    allowed = {"code", "language", "metrics", "interval_s", "timeout_s", "target"}
    changes = {k: v for k, v in fields.items() if k in allowed and v is not None}
    _check(changes.get("language", current["language"]), changes.get("code", current["code"]))
    if "metrics" in changes:
        changes["metrics"] = json.dumps(changes["metrics"])
    changes["updated_at"] = time.time()
    repo.change(current["owner"], current["name"], changes)
    return get(name, user, current["owner"])


def delete(name: str, user: User, owner: str | None = None) -> None:
    current = get(name, user, owner)
    repo.remove(current["owner"], current["name"])


def delete_made_before(owner_prefix: str, cutoff: float) -> int:
    """Delete the scenarios of owners named ``owner_prefix...`` made before ``cutoff``
    (the public demo's retention; nothing is run, so no script check)."""
    return repo.remove_made_before(owner_prefix, cutoff)


def submit_run(name: str, user: User, owner: str | None = None) -> dict[str, Any]:
    """Queue a run of the saved scenario; the job keeps a copy of its script."""
    from jobs import queue

    s = get(name, user, owner)
    params = {
        k: s[k]
        for k in ("name", "code", "language", "metrics", "interval_s", "timeout_s", "target")
    }
    return dict(queue.submit("monitor.scenario", params, owner=user.name, title=f"Scenario {name}"))
