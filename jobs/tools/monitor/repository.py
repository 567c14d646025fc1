"""The monitor's saved scenarios on the records package: the ``scenarios``
table (keyed by ``(owner, name)`` since records revision 0002; the definition
matches the migrated one) and its queries. What a scenario may hold and who
may reach it is :mod:`.scenarios`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jobs import records
from jobs.records.sql import (
    Column,
    Float,
    PrimaryKeyConstraint,
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    update,
)
from jobs.records.tables import metadata

Row = Mapping[Any, Any]  # a row as the records package hands it back (RowMapping)

scenarios = Table(
    "scenarios",
    metadata,
    Column("name", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("code", Text, nullable=False),
    Column("metrics", Text, nullable=False),
    Column("interval_s", Float, nullable=False),
    Column("timeout_s", Float, nullable=False),
    Column("target", Text, nullable=False, server_default=""),
    Column("owner", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("owner", "name"),
)

_c = scenarios.c


def _key(owner: str, name: str) -> tuple[Any, ...]:
    return (_c.owner == owner, _c.name == name)


def insert_new(row: Row) -> bool:
    """Insert the scenario unless its owner has one of that name (checked in the
    same transaction, under the write lock); whether it was inserted."""
    with records.transaction() as conn:
        there = conn.execute(select(_c.name).where(*_key(row["owner"], row["name"]))).first()
        if there is not None:
            return False
        conn.execute(insert(scenarios).values(**row))
    return True


def row(owner: str, name: str) -> Row | None:
    return records.first(select(scenarios).where(*_key(owner, name)))


def rows(owner: str | None) -> Sequence[Row]:
    """The scenarios (of ``owner``, or all), newest change first."""
    query = select(scenarios)
    if owner is not None:
        query = query.where(_c.owner == owner)
    return records.rows(query.order_by(_c.updated_at.desc()))


def change(owner: str, name: str, values: Row) -> None:
    records.execute(update(scenarios).where(*_key(owner, name)).values(**values))


def remove(owner: str, name: str) -> None:
    records.execute(delete(scenarios).where(*_key(owner, name)))


def remove_made_before(owner_prefix: str, cutoff: float) -> int:
    """Delete the scenarios of owners whose name starts with ``owner_prefix``
    made before ``cutoff``; how many went."""
    return records.execute(
        delete(scenarios).where(
            func.substr(_c.owner, 1, len(owner_prefix)) == owner_prefix,
            _c.created_at < cutoff,
        )
    )
