"""Several machines: which machine ran a job, and each GPU lane's device and lease.

``jobs.host`` is the machine (``STUDIO_WORKER_HOST`` or the host name) of the
worker that claimed the job, ``jobs.gpus`` the GPU devices it ran on.
``workers.gpu`` is the device a GPU lane is pinned to (``CUDA_VISIBLE_DEVICES``),
``workers.load`` its last resource sample (JSON), ``workers.held_by`` the job
using its device (a multi-GPU job leases its sibling lanes' devices too).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("jobs", sa.Column("host", sa.Text(), nullable=True))
    op.add_column("jobs", sa.Column("gpus", sa.Text(), nullable=True))
    op.add_column("workers", sa.Column("gpu", sa.Text(), nullable=True))
    op.add_column("workers", sa.Column("load", sa.Text(), nullable=False, server_default="{}"))
    op.add_column("workers", sa.Column("held_by", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workers") as batch:
        batch.drop_column("held_by")
        batch.drop_column("load")
        batch.drop_column("gpu")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("gpus")
        batch.drop_column("host")
