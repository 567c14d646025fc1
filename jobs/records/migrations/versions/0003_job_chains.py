"""Job chains: a job may wait for another job (``submit(..., after=job)``).

``jobs.after`` is the id of the job it waits for (null for a job that waits
for none); its index answers "the jobs waiting for this one" when a job ends.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("after", sa.Text(), nullable=True))
    op.create_index("jobs_after", "jobs", ["after"])


def downgrade() -> None:
    op.drop_index("jobs_after", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("after")
