"""Dataset records become rows: a ``datasets`` table (unique per owner and
name), filled from the ``studio-dataset.json`` sidecar of every dataset folder
``STUDIO_HOME/datasets/<owner>/<name>/`` (as revision 0002 left them). The
sidecar files are kept on disk untouched (nothing reads them any more; a
migration's transaction can be rolled back, a removed file cannot). Files stay
files. The photo review's pending edits (``.pending-edits.json`` in a photo
dataset's folder, kept by the tab) become rows of ``photo_pending_edits`` keyed
by the dataset's id (the files are kept too). Frozen: the table below is a copy, never imported from live code.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from alembic import op

from jobs.settings import get_settings

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

META = "studio-dataset.json"
PENDING = ".pending-edits.json"


def upgrade() -> None:
    table = op.create_table(
        "datasets",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("owner", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("job_id", sa.Text),
        sa.Column("options", sa.Text, nullable=False, server_default="{}"),
        sa.UniqueConstraint("owner", "name", name="datasets_owner_name"),
    )
    pending = op.create_table(
        "photo_pending_edits",
        sa.Column("dataset_id", sa.Text, primary_key=True),
        sa.Column("edits", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    root = get_settings().datasets_dir
    if not root.is_dir():
        return
    seen: set[tuple[str, str]] = set()
    for sidecar in sorted(root.glob(f"*/*/{META}")):
        meta = json.loads(sidecar.read_text())
        owner, name = str(meta.get("owner") or "anonymous"), sidecar.parent.name
        if (owner, name) in seen:
            continue
        seen.add((owner, name))
        dataset_id = meta.get("id") or uuid.uuid4().hex
        op.get_bind().execute(
            table.insert().values(
                id=dataset_id,
                owner=owner,
                name=name,
                kind=meta.get("kind") or "photos",
                created_at=float(meta.get("created_at") or sidecar.stat().st_mtime),
                job_id=meta.get("job_id"),
                options=json.dumps(meta.get("options") or {}),
            )
        )
        edits = sidecar.parent / PENDING
        if edits.is_file():
            try:
                kept = json.loads(edits.read_text())
            except ValueError:  # a torn file: the tab read it as no edits too
                continue
            op.get_bind().execute(
                pending.insert().values(
                    dataset_id=dataset_id,
                    edits=json.dumps(kept),
                    updated_at=edits.stat().st_mtime,
                )
            )


def downgrade() -> None:
    op.drop_table("photo_pending_edits")
    op.drop_table("datasets")
