"""Inserting a row whose key must be new: a duplicate is the user's
:class:`pipelines.errors.Conflict` (409), on every dialect (the database's
own integrity error is caught here, inside the records package only)."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql import Executable

from jobs.records.engine import Params, execute
from pipelines.errors import Conflict


def insert_unique(statement: Executable, params: Params, conflict: str) -> int:
    """Run one INSERT (its own transaction); a row with the same key already
    there raises :class:`Conflict` with the message ``conflict``."""
    try:
        return execute(statement, params)
    except IntegrityError:
        raise Conflict(conflict) from None
