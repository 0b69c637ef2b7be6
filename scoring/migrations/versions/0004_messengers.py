"""every messenger: a DingTalk binding beside Telegram's, events keyed by messenger

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """person.dingtalk_user_id; processed_update becomes processed_event ("tg:<id>")."""
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "dingtalk_user_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True
            )
        )
        batch_op.create_index("ix_person_dingtalk_user_id", ["dingtalk_user_id"], unique=True)
    op.create_table(
        "processed_event",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.execute(
        "INSERT INTO processed_event (key, processed_at) "
        "SELECT 'tg:' || CAST(update_id AS VARCHAR(32)), processed_at FROM processed_update"
    )
    op.drop_table("processed_update")
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.alter_column(
            "used_by",
            existing_type=sa.Integer(),
            type_=sqlmodel.sql.sqltypes.AutoString(length=80),
            existing_nullable=True,
            postgresql_using="CASE WHEN used_by IS NULL THEN NULL ELSE 'tg:' || used_by END",
        )
    op.execute("UPDATE invite SET used_by = 'tg:' || used_by WHERE used_by NOT LIKE '%:%'")


def downgrade() -> None:
    """Revert (DingTalk bindings and DingTalk event keys are dropped)."""
    op.execute("UPDATE invite SET used_by = NULL WHERE used_by NOT LIKE 'tg:%'")
    op.execute("UPDATE invite SET used_by = substr(used_by, 4) WHERE used_by LIKE 'tg:%'")
    with op.batch_alter_table("invite", schema=None) as batch_op:
        batch_op.alter_column(
            "used_by",
            existing_type=sqlmodel.sql.sqltypes.AutoString(length=80),
            type_=sa.Integer(),
            existing_nullable=True,
            postgresql_using="used_by::integer",
        )
    op.create_table(
        "processed_update",
        sa.Column("update_id", sa.Integer(), nullable=False),
        sa.Column("processed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("update_id"),
    )
    op.execute(
        "INSERT INTO processed_update (update_id, processed_at) "
        "SELECT CAST(substr(key, 4) AS INTEGER), processed_at FROM processed_event "
        "WHERE key LIKE 'tg:%'"
    )
    op.drop_table("processed_event")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_index("ix_person_dingtalk_user_id")
        batch_op.drop_column("dingtalk_user_id")
