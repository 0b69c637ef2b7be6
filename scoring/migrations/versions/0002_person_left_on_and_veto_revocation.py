"""person left_on and veto revocation

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 07:09:33.084291
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """A person's leaving day; a veto revoked by a revoking veto row."""
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("left_on", sa.Date(), nullable=True))
    with op.batch_alter_table("veto", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revokes_id", sa.Integer(), nullable=True))
        batch_op.create_unique_constraint("uq_veto_revokes_id", ["revokes_id"])
        batch_op.create_foreign_key("fk_veto_revokes_id", "veto", ["revokes_id"], ["id"])


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("veto", schema=None) as batch_op:
        batch_op.drop_constraint("fk_veto_revokes_id", type_="foreignkey")
        batch_op.drop_constraint("uq_veto_revokes_id", type_="unique")
        batch_op.drop_column("revokes_id")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("left_on")
