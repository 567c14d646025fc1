"""Dataset records' table and queries (on the records package): one row per
dataset, unique per owner and name. The files stay in
``STUDIO_HOME/datasets/<owner>/<name>/`` (:mod:`jobs.datasets`); the row says
what it is: its id, kind, owner, latest job and options (JSON text).
Revision 0003 created the table and imported the ``studio-dataset.json``
sidecars of older studios. No ownership checks here: :mod:`jobs.datasets`
checks first.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from jobs import records
from jobs.records.sql import Column, Float, Table, Text, UniqueConstraint, select, update
from jobs.records.sql import delete as delete_
from jobs.records.sql import insert as insert_
from jobs.records.tables import metadata

datasets = Table(
    "datasets",
    metadata,
    Column("id", Text, primary_key=True),
    Column("owner", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("job_id", Text),
    Column("options", Text, nullable=False, server_default="{}"),
    UniqueConstraint("owner", "name", name="datasets_owner_name"),
)
_c = datasets.c


def _decode(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    out["options"] = json.loads(out["options"] or "{}")
    return out


@contextmanager
def insert(row: Mapping[str, Any], taken: Exception) -> Iterator[None]:
    """Insert a dataset row; the block (the folder's creation) runs inside the
    same transaction, so a failing block leaves no row. ``taken`` is raised
    when the owner has a dataset of that name."""
    values = {**row, "options": json.dumps(row.get("options") or {})}
    with records.transaction() as conn:
        records.insert_unique(conn, insert_(datasets).values(values), taken)
        yield


def by_name(owner: str, name: str) -> dict[str, Any] | None:
    return _decode(records.first(select(datasets).where(_c.owner == owner, _c.name == name)))


def named(name: str) -> list[dict[str, Any]]:
    """Every owner's dataset of this name (to find the row of a folder)."""
    return [d for d in map(_decode, records.rows(select(datasets).where(_c.name == name))) if d]


def listed(owner: str | None, kind: str | None) -> list[dict[str, Any]]:
    """Datasets newest first: ``owner``'s (None: everyone's), of ``kind`` if given."""
    query = select(datasets).order_by(_c.created_at.desc())
    if owner is not None:
        query = query.where(_c.owner == owner)
    if kind is not None:
        query = query.where(_c.kind == kind)
    return [d for d in map(_decode, records.rows(query)) if d]


def set_job(dataset_id: str, job_id: str) -> None:
    records.execute(update(datasets).where(_c.id == dataset_id).values(job_id=job_id))


def delete(dataset_id: str) -> None:
    records.execute(delete_(datasets).where(_c.id == dataset_id))
