"""The columns and constraints every migration spells the same way, so each table says only what is its own.

Constraint names are the models' naming convention (`pk_<table>`, `fk_<table>_<column>_<referred>`,
`uq_<table>_<columns>`) written out through `op.f`: a released migration's DDL must not follow later
changes to the convention.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


def uuid(name: str, *, nullable: bool = False) -> sa.Column:
    """A UUID column (an id or a reference to one), NOT NULL unless told otherwise."""
    return sa.Column(name, sa.UUID(), nullable=nullable)


def moment(name: str, *, nullable: bool = False, default_now: bool = False) -> sa.Column:
    """A `timestamptz` column, NOT NULL unless told otherwise; `default_now` makes the database stamp it."""
    default = sa.text("now()") if default_now else None
    return sa.Column(name, sa.DateTime(timezone=True), server_default=default, nullable=nullable)


def created_at() -> sa.Column:
    """When the row was written, stamped by the database."""
    return moment("created_at", default_now=True)


def updated_at() -> sa.Column:
    """When the row last changed, stamped by the database on insert."""
    return moment("updated_at", default_now=True)


def primary_key(table: str, *columns: str) -> sa.PrimaryKeyConstraint:
    """The table's primary key, on `id` unless other columns are named."""
    return sa.PrimaryKeyConstraint(*(columns or ("id",)), name=op.f(f"pk_{table}"))


def references(table: str, column: str, referred: str, *, cascade: bool = False) -> sa.ForeignKeyConstraint:
    """`table.column` references `referred.id`; `cascade` deletes the row with what it references."""
    return sa.ForeignKeyConstraint(
        [column],
        [f"{referred}.id"],
        name=op.f(f"fk_{table}_{column}_{referred}"),
        ondelete="CASCADE" if cascade else None,
    )


def owned_by_account(table: str) -> sa.ForeignKeyConstraint:
    """The tenant: the row belongs to `account_id` and goes when the account does."""
    return references(table, "account_id", "accounts", cascade=True)


def unique(table: str, *columns: str) -> sa.UniqueConstraint:
    """A unique constraint on `columns`, named for them."""
    return sa.UniqueConstraint(*columns, name=op.f(f"uq_{table}_{'_'.join(columns)}"))
