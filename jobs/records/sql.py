"""The query vocabulary of the records: SQLAlchemy Core's constructs, handed
out here so that no module outside ``jobs.records`` imports SQLAlchemy or a
driver (``tests/test_layering.py``). A tool's repository defines its tables
with ``Table``/``Column`` from here, on ``jobs.records.tables.metadata``.
Queries are built with these, never written as strings, and compile for
SQLite and PostgreSQL alike::

    from jobs.records import sql
    from jobs.records.tables import jobs

    records.first(sql.update(jobs).where(jobs.c.id == job_id).values(...).returning(*jobs.c))
"""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.sql import Executable

__all__ = [
    "Column",
    "Executable",
    "Float",
    "ForeignKey",
    "Index",
    "Integer",
    "PrimaryKeyConstraint",
    "Table",
    "Text",
    "UniqueConstraint",
    "and_",
    "bindparam",
    "case",
    "delete",
    "distinct",
    "exists",
    "func",
    "insert",
    "literal",
    "not_",
    "or_",
    "select",
    "tuple_",
    "update",
]
