"""Per-owner names (security round 3): scenarios are keyed by (owner, name), and
datasets move from ``datasets/<name>/`` to ``datasets/<owner>/<name>/``, each
record given an id and the jobs made for it bound to it (``dataset_ref``).

The dataset step works on files: it is safe to run again after a crash (first
every old folder is set aside as ``.moving-<name>``, then each is moved). Jobs of
that name made before the dataset was created, or by another owner, stay unbound:
their retry is refused. Frozen: the helpers below are a copy of the rule of that
day (``jobs.datasets.owner_dir``), never imported from live code.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

from jobs.settings import get_settings

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

META = "studio-dataset.json"
REF = "dataset_ref"
MOVING = ".moving-"
PLAIN_OWNER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@+-]{0,63}")
DATASET_KINDS = ("photo_dataset.%", "video_dataset.%", "dataset.%")


def upgrade() -> None:
    bind = op.get_bind()
    _scenarios_by_owner(bind)
    _datasets_by_owner(bind)


def downgrade() -> None:
    raise NotImplementedError("Per-owner names are not undone: restore a backup.")


def _scenarios_by_owner(bind: sa.Connection) -> None:
    meta = sa.MetaData()
    text, real = sa.Text, sa.Float
    new = sa.Table(
        "scenarios_by_owner",
        meta,
        sa.Column("name", text, nullable=False),
        sa.Column("language", text, nullable=False),
        sa.Column("code", text, nullable=False),
        sa.Column("metrics", text, nullable=False),
        sa.Column("interval_s", real, nullable=False),
        sa.Column("timeout_s", real, nullable=False),
        sa.Column("target", text, nullable=False, server_default=""),
        sa.Column("owner", text, nullable=False),
        sa.Column("created_at", real, nullable=False),
        sa.Column("updated_at", real, nullable=False),
        sa.PrimaryKeyConstraint("owner", "name"),
    )
    new.create(bind)
    old = sa.Table("scenarios", sa.MetaData(), autoload_with=bind)
    names = [c.name for c in new.columns]
    bind.execute(new.insert().from_select(names, sa.select(*[old.c[n] for n in names])))
    op.drop_table("scenarios")
    op.rename_table("scenarios_by_owner", "scenarios")


def _owner_dir(owner: str) -> str:
    if PLAIN_OWNER.fullmatch(owner):
        return owner
    return "~" + hashlib.sha256(owner.encode()).hexdigest()[:32]


def _read(path: Path) -> dict[str, Any]:
    return json.loads((path / META).read_text())


def _write(path: Path, meta: dict[str, Any]) -> None:
    tmp = path / f".{META}.tmp"
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(path / META)


def _datasets_by_owner(bind: sa.Connection) -> None:
    root = get_settings().datasets_dir
    if not root.is_dir():
        return
    for old in sorted(root.iterdir()):
        if (old / META).is_file() and not old.name.startswith(MOVING):
            meta = _read(old)
            meta.setdefault("id", uuid.uuid4().hex)
            meta["owner"] = meta.get("owner") or "anonymous"
            _write(old, meta)
            old.rename(root / f"{MOVING}{old.name}")
    jobs = sa.Table("jobs", sa.MetaData(), autoload_with=bind)
    for staged in sorted(root.glob(f"{MOVING}*")):
        meta = _read(staged)
        target = root / _owner_dir(meta["owner"]) / meta["name"]
        target.parent.mkdir(parents=True, exist_ok=True)
        staged.rename(target)
        _bind_jobs(bind, jobs, meta)


def _bind_jobs(bind: sa.Connection, jobs: sa.Table, meta: dict[str, Any]) -> None:
    """The owner's dataset jobs of that name made since the dataset was get its ``dataset_ref``."""
    ref = {"id": meta["id"], "owner": meta["owner"], "name": meta["name"]}
    found = bind.execute(
        sa.select(jobs.c.id, jobs.c.params).where(
            jobs.c.owner == meta["owner"],
            jobs.c.created_at >= meta.get("created_at", 0) - 1,
            sa.or_(*[jobs.c.kind.like(pattern) for pattern in DATASET_KINDS]),
        )
    )
    for job_id, raw in found.all():
        params = json.loads(raw or "{}")
        if (params.get("name") or params.get("dataset")) != meta["name"]:
            continue
        params[REF] = ref
        bind.execute(jobs.update().where(jobs.c.id == job_id).values(params=json.dumps(params)))
