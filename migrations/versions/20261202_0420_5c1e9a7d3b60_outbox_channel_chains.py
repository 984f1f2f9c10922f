"""Notifications that reach people: each outbox message carries its chain of channels and the
trail of what was tried, whether it spent a subscribe grant, a queue key for per-recipient order (with the partial index the claim
reads), WeChat's msgid and delivery receipt; the customer-service channel (the channel CHECK
widens); users who block template messages."""

# Created 2026-12-02T04:20+00:00.
# Revisions import only alembic and sqlalchemy, never `app`: enum values are frozen here.

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c1e9a7d3b60"
down_revision: str | Sequence[str] | None = "b6d2f81c4e57"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_CHANNELS_BEFORE = ("subscribe", "template", "wecom")
_CHANNELS_AFTER = (*_CHANNELS_BEFORE, "customer_service")
_STATUSES = ("pending", "sending", "sent", "dead", "skipped")
_CHECK = "ck_outbox_messages_channel"
_OPEN = "status IN ('pending', 'sending')"
_HAS_MSGID = "wechat_msgid IS NOT NULL"


def _enum(values: Sequence[str], name: str) -> sa.Enum:
    return sa.Enum(*values, name=op.f(name), native_enum=False, create_constraint=True, length=32)


def _outbox(channels: Sequence[str], *, extended: bool) -> sa.Table:
    """outbox_messages as a revision leaves it: SQLite's batch mode copies from this instead of
    reflecting (which would need a database for --sql)."""
    columns = [
        sa.Column("id", _ID, nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("channel", _enum(channels, _CHECK), nullable=False),
        sa.Column("template_key", sa.String(length=32), nullable=False),
        sa.Column("recipient_user_id", _ID, nullable=True),
        sa.Column("recipient", sa.String(length=128), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("order_id", _ID, nullable=True),
        sa.Column("status", _enum(_STATUSES, "ck_outbox_messages_status"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
    ]
    if extended:
        columns += _new_columns()
    return sa.Table(
        "outbox_messages",
        sa.MetaData(),
        *columns,
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name="fk_outbox_messages_order_id_orders", ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"], ["users.id"], name="fk_outbox_messages_recipient_user_id_users", ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_outbox_messages"),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_messages_dedupe_key"),
        sa.Index("ix_outbox_messages_recipient_user_id", "recipient_user_id"),
        sa.Index("ix_outbox_messages_status_next_attempt_at", "status", "next_attempt_at"),
    )


_PAUSE_CHECK = "ck_channel_pauses_channel"


def _pauses(channels: Sequence[str]) -> sa.Table:
    return sa.Table(
        "channel_pauses",
        sa.MetaData(),
        sa.Column("channel", _enum(channels, _PAUSE_CHECK), nullable=False),
        sa.Column("paused_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("channel", name="pk_channel_pauses"),
    )


def _allow_pauses(before: Sequence[str], after: Sequence[str]) -> None:
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f(_PAUSE_CHECK), "channel_pauses", type_="check")
        op.create_check_constraint(op.f(_PAUSE_CHECK), "channel_pauses", sa.column("channel").in_(after))
        return
    with op.batch_alter_table("channel_pauses", copy_from=_pauses(before), recreate="always") as batch_op:
        batch_op.alter_column("channel", existing_type=_enum(before, _PAUSE_CHECK), type_=_enum(after, _PAUSE_CHECK))


def _new_columns() -> list[sa.Column]:
    return [
        sa.Column("chain", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("queue_key", sa.String(length=160), nullable=False, server_default=""),
        sa.Column("trail", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("grant_taken", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("wechat_msgid", sa.String(length=64), nullable=True),
        sa.Column("receipt", sa.String(length=64), nullable=True),
    ]


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        for column in _new_columns():
            op.add_column("outbox_messages", column)
        op.drop_constraint(op.f(_CHECK), "outbox_messages", type_="check")
        op.create_check_constraint(op.f(_CHECK), "outbox_messages", sa.column("channel").in_(_CHANNELS_AFTER))
    else:
        # One copy of the table on SQLite for the new columns and the wider CHECK together.
        with op.batch_alter_table(
            "outbox_messages", copy_from=_outbox(_CHANNELS_BEFORE, extended=False), recreate="always"
        ) as batch_op:
            for column in _new_columns():
                batch_op.add_column(column)
            batch_op.alter_column(
                "channel", existing_type=_enum(_CHANNELS_BEFORE, _CHECK), type_=_enum(_CHANNELS_AFTER, _CHECK)
            )
    # Messages queued before chains existed: their one channel is their chain; their queue is
    # their recipient's.
    op.execute(
        "UPDATE outbox_messages SET "
        "queue_key = CASE WHEN recipient_user_id IS NULL THEN 'robot:' || recipient "
        "ELSE 'user:' || CAST(recipient_user_id AS VARCHAR(20)) END"
    )
    op.execute("UPDATE outbox_messages SET chain = '[\"subscribe\"]' WHERE channel = 'subscribe'")
    op.execute("UPDATE outbox_messages SET chain = '[\"template\"]' WHERE channel = 'template'")
    op.execute("UPDATE outbox_messages SET chain = '[\"wecom\"]' WHERE channel = 'wecom'")
    op.create_index(
        "ix_outbox_messages_open_queue_key_id",
        "outbox_messages",
        ["queue_key", "id"],
        unique=False,
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    op.create_index(
        "ix_outbox_messages_wechat_msgid",
        "outbox_messages",
        ["wechat_msgid"],
        unique=False,
        postgresql_where=sa.text(_HAS_MSGID),
        sqlite_where=sa.text(_HAS_MSGID),
    )
    op.add_column("users", sa.Column("oa_blocked_at", sa.DateTime(timezone=True), nullable=True))
    _allow_pauses(_CHANNELS_BEFORE, _CHANNELS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM channel_pauses WHERE channel = 'customer_service'")
    _allow_pauses(_CHANNELS_AFTER, _CHANNELS_BEFORE)
    op.drop_column("users", "oa_blocked_at")
    op.drop_index(
        "ix_outbox_messages_wechat_msgid",
        table_name="outbox_messages",
        postgresql_where=sa.text(_HAS_MSGID),
        sqlite_where=sa.text(_HAS_MSGID),
    )
    op.drop_index(
        "ix_outbox_messages_open_queue_key_id",
        table_name="outbox_messages",
        postgresql_where=sa.text(_OPEN),
        sqlite_where=sa.text(_OPEN),
    )
    # Late bot replies cannot be kept under the old rule.
    op.execute("DELETE FROM outbox_messages WHERE channel = 'customer_service'")
    if op.get_context().dialect.name == "postgresql":
        op.drop_constraint(op.f(_CHECK), "outbox_messages", type_="check")
        op.create_check_constraint(op.f(_CHECK), "outbox_messages", sa.column("channel").in_(_CHANNELS_BEFORE))
        for column in reversed(_new_columns()):
            op.drop_column("outbox_messages", column.name)
        return
    with op.batch_alter_table(
        "outbox_messages", copy_from=_outbox(_CHANNELS_AFTER, extended=True), recreate="always"
    ) as batch_op:
        for column in reversed(_new_columns()):
            batch_op.drop_column(column.name)
        batch_op.alter_column(
            "channel", existing_type=_enum(_CHANNELS_AFTER, _CHECK), type_=_enum(_CHANNELS_BEFORE, _CHECK)
        )
