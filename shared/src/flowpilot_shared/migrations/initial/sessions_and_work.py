"""Revision 0001, second part: sessions and everything hanging off them (bell, documentation, handoffs, PSA)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql  # used by some column types

from flowpilot_shared.migrations import columns as col


def create() -> None:
    """Create the tables (and indexes) of this part, in dependency order."""
    op.create_table(
        "ai_sessions",
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("owner_id"),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("client_name", sa.String(length=200), nullable=True),
        sa.Column("psa_ticket_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("escalation_reason", sa.Text(), nullable=True),
        col.uuid("escalated_to_id", nullable=True),
        col.uuid("picked_up_by", nullable=True),
        col.created_at(),
        col.updated_at(),
        col.owned_by_account("ai_sessions"),
        col.references("ai_sessions", "escalated_to_id", "users"),
        col.references("ai_sessions", "owner_id", "users"),
        col.references("ai_sessions", "picked_up_by", "users"),
        col.primary_key("ai_sessions"),
    )
    op.create_index("ix_ai_sessions_account_status", "ai_sessions", ["account_id", "status"], unique=False)
    op.create_table(
        "notifications",
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("user_id"),
        col.uuid("event_id"),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        col.uuid("session_id", nullable=True),
        col.uuid("handoff_id", nullable=True),
        col.created_at(),
        col.moment("read_at", nullable=True),
        col.owned_by_account("notifications"),
        col.references("notifications", "user_id", "users"),
        col.primary_key("notifications"),
        col.unique("notifications", "event_id", "user_id", "type"),
    )
    op.create_index("ix_notifications_user_created", "notifications", ["user_id", "created_at"], unique=False)
    op.create_index(
        "ix_notifications_user_unread",
        "notifications",
        ["user_id"],
        unique=False,
        postgresql_where=sa.text("read_at IS NULL"),
    )
    _create_generated(
        "documentation",
        sa.Column("content_markdown", sa.Text(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Integer(), nullable=True),
        sa.Column("fallback_reason", sa.Text(), nullable=True),
    )
    _create_generated(
        "escalation_packages", sa.Column("content", postgresql.JSONB(astext_type=sa.Text()), nullable=False)
    )
    op.create_table(
        "handoffs",
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("session_id"),
        sa.Column("intent", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        col.uuid("from_user_id"),
        col.uuid("target_user_id", nullable=True),
        col.created_at(),
        col.moment("claimed_at", nullable=True),
        col.uuid("claimed_by", nullable=True),
        col.owned_by_account("handoffs"),
        col.references("handoffs", "claimed_by", "users"),
        col.references("handoffs", "from_user_id", "users"),
        col.references("handoffs", "session_id", "ai_sessions", cascade=True),
        col.references("handoffs", "target_user_id", "users"),
        col.primary_key("handoffs"),
    )
    op.create_index(
        "ix_handoffs_open_escalations",
        "handoffs",
        ["account_id", "created_at"],
        unique=False,
        postgresql_where=sa.text("intent = 'escalate' AND claimed_at IS NULL"),
    )
    op.create_index("ix_handoffs_session_created", "handoffs", ["session_id", "created_at"], unique=False)
    op.create_table(
        "psa_pushes",
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("session_id"),
        col.uuid("handoff_id", nullable=True),
        col.uuid("documentation_id"),
        col.uuid("event_id"),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("ticket_id", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("marker", sa.String(length=100), nullable=False),
        sa.Column("external_note_id", sa.String(length=100), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        col.created_at(),
        col.updated_at(),
        col.owned_by_account("psa_pushes"),
        col.references("psa_pushes", "session_id", "ai_sessions"),
        col.primary_key("psa_pushes"),
        col.unique("psa_pushes", "documentation_id"),
    )
    op.create_index("ix_psa_pushes_session", "psa_pushes", ["account_id", "session_id"], unique=False)
    op.create_table(
        "session_steps",
        col.uuid("id"),
        sa.Column("position", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        col.uuid("session_id"),
        col.uuid("author_id"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        col.created_at(),
        col.references("session_steps", "author_id", "users"),
        col.references("session_steps", "session_id", "ai_sessions", cascade=True),
        col.primary_key("session_steps"),
    )
    op.create_index(op.f("ix_session_steps_session_id"), "session_steps", ["session_id"], unique=False)


def _create_generated(table: str, content: sa.Column, *extra: sa.Column) -> None:
    """A table docgen writes per handoff (documentation, escalation package): versioned, `content` its own."""
    op.create_table(
        table,
        col.uuid("id"),
        col.uuid("account_id"),
        col.uuid("session_id"),
        col.uuid("handoff_id", nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        content,
        sa.Column("generated_by", sa.String(length=16), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=True),
        *extra,
        col.created_at(),
        col.owned_by_account(table),
        col.references(table, "session_id", "ai_sessions"),
        col.primary_key(table),
        col.unique(table, "handoff_id", "version"),
    )
    op.create_index(f"ix_{table}_session", table, ["session_id", "created_at"], unique=False)
