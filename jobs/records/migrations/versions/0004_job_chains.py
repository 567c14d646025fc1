"""Job chains: a job may wait for another job (``submit(..., after=job)``).

``jobs.after`` is the id of the job it waits for (null for a job that waits
for none); its index answers "the jobs waiting for this one" when a job ends.
``jobs.waited_on`` (0/1) says that some job was submitted after this one, so the
end of a job nothing waits for costs no extra statement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("after", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("waited_on", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("jobs_after", "jobs", ["after"])


def downgrade() -> None:
    op.drop_index("jobs_after", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("waited_on")
        batch.drop_column("after")
