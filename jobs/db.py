"""Retired: records live in :mod:`jobs.records` (SQLAlchemy Core, Alembic).

``database()`` stays for the tools' record modules not yet ported (frames,
dance, monitor, video edit): their sqlite-utils connection to the same file.
The schema is no longer migrated here: ``jobs.records.upgrade`` runs the
Alembic revisions once at start.
"""

from __future__ import annotations

from jobs.records.legacy import database

__all__ = ["database"]
