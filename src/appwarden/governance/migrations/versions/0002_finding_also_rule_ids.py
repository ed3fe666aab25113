"""findings keep the other standards' rules merged into them

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30

Report schema 1.1 merges one problem reported under several standards' rules into one finding
(Finding.also_rule_ids); until now the store kept only the primary rule id, so statistics by rule and
notices lost the others.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("also_rule_ids", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_column("also_rule_ids")
