"""Revision 0001, first part: the event sequence, accounts, inbox, outbox, delivery ledger, integrations, users."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql  # used by some column types

from flowpilot_shared.migrations import columns as col


def create() -> None:
    """Create the tables (and indexes) of this part, in dependency order."""
    op.execute(sa.schema.CreateSequence(sa.Sequence("event_seq")))
    op.create_table(
        "accounts",
        col.uuid("id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        col.created_at(),
        col.primary_key("accounts"),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        col.uuid("event_id"),
        col.moment("processed_at", default_now=True),
        col.primary_key("inbox", "consumer", "event_id"),
    )
    op.create_table(
        "outbox",
        col.uuid("id"),
        sa.Column("seq", sa.BigInteger(), server_default=sa.text("nextval('event_seq')"), nullable=False),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("(pg_current_xact_id()::text)::bigint"),
            nullable=False,
        ),
        sa.Column("exchange", sa.String(length=100), nullable=False),
        sa.Column("routing_key", sa.String(length=100), nullable=False),
        col.uuid("account_id", nullable=True),
        col.uuid("session_id", nullable=True),
        col.uuid("user_id", nullable=True),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        col.created_at(),
        col.moment("published_at", nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        col.primary_key("outbox"),
    )
    op.create_index("ix_outbox_account_position", "outbox", ["account_id", "txid", "seq"], unique=False)
    op.create_index(
        "ix_outbox_pending", "outbox", ["seq"], unique=False, postgresql_where=sa.text("published_at IS NULL")
    )
    op.create_index("ix_outbox_published_at", "outbox", ["published_at"], unique=False)
    op.create_table(
        "deliveries",
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("session_id", nullable=True),
        col.uuid("handoff_id", nullable=True),
        col.uuid("event_id"),
        sa.Column("event_type", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("external_id", sa.String(length=300), nullable=True),
        col.created_at(),
        col.updated_at(),
        col.owned_by_account("deliveries"),
        col.primary_key("deliveries"),
        col.unique("deliveries", "event_id", "channel", "recipient"),
    )
    op.create_index("ix_deliveries_account_session", "deliveries", ["account_id", "session_id"], unique=False)
    op.create_table(
        "integrations",
        col.uuid("id"),
        col.uuid("account_id"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("config", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("secret_ciphertext", sa.LargeBinary(), nullable=False),
        col.created_at(),
        col.updated_at(),
        col.owned_by_account("integrations"),
        col.primary_key("integrations"),
        col.unique("integrations", "account_id", "kind"),
    )
    op.create_table(
        "users",
        col.uuid("id"),
        col.uuid("account_id"),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        col.moment("deleted_at", nullable=True),
        col.created_at(),
        col.owned_by_account("users"),
        col.primary_key("users"),
    )
    op.create_index(op.f("ix_users_account_id"), "users", ["account_id"], unique=False)
    op.create_index("ix_users_account_role", "users", ["account_id", "role"], unique=False)
    op.create_index("uq_users_email_lower", "users", [sa.text("lower(email)")], unique=True)
