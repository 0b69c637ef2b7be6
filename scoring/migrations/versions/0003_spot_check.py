"""spot checks that found nothing are recorded too

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 07:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """The spot_check table."""
    op.create_table(
        "spot_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=True),
        sa.Column("inspector", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["inspector_id"], ["person.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.create_index("ix_spot_check_day", ["day"], unique=False)


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("spot_check", schema=None) as batch_op:
        batch_op.drop_index("ix_spot_check_day")
    op.drop_table("spot_check")
