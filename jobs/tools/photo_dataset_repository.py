"""Photo datasets' records (on the records package): the review's pending
edits (keep/drop flips and crop boxes not applied yet), one row per dataset
record, keyed by the dataset's id (a dataset made again under the same name
starts with none). Revision 0003 created the table and imported the
``.pending-edits.json`` files the tab kept before.
"""

from __future__ import annotations

import json
import time
from typing import Any

from jobs import records
from jobs.records.sql import Column, Float, Table, Text, delete, insert, select
from jobs.records.tables import metadata

pending_edits = Table(
    "photo_pending_edits",
    metadata,
    Column("dataset_id", Text, primary_key=True),
    Column("edits", Text, nullable=False, server_default="{}"),
    Column("updated_at", Float, nullable=False),
)
_c = pending_edits.c


def read(dataset_id: str) -> dict[str, Any]:
    raw = records.scalar(select(_c.edits).where(_c.dataset_id == dataset_id))
    return json.loads(raw) if raw else {}


def replace(dataset_id: str, edits: dict[str, Any] | None) -> None:
    """The dataset's pending edits become ``edits`` (none: cleared), in one transaction."""
    with records.transaction() as conn:
        conn.execute(delete(pending_edits).where(_c.dataset_id == dataset_id))
        if edits:
            row = {"dataset_id": dataset_id, "edits": json.dumps(edits), "updated_at": time.time()}
            conn.execute(insert(pending_edits).values(row))
