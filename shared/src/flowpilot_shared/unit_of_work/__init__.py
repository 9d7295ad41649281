"""The unit of work (`base.UnitOfWork`) and its two implementations: `OrmUnitOfWork` (SQLAlchemy
session) and `DriverUnitOfWork` (asyncpg connection); plus the outbox statements they write with, and
`CommitGroup`, which lets a process' units of work that arrive together share a transaction."""

from flowpilot_shared.unit_of_work.base import (
    INBOX_RECORD_SQL,
    OUTBOX_INSERT,
    StagedEvents,
    UnitOfWork,
    outbox_params,
)
from flowpilot_shared.unit_of_work.driver import DriverUnitOfWork, outbox_args, outbox_sql
from flowpilot_shared.unit_of_work.group import CommitGroup
from flowpilot_shared.unit_of_work.orm import OrmUnitOfWork

__all__ = [
    "INBOX_RECORD_SQL",
    "OUTBOX_INSERT",
    "CommitGroup",
    "DriverUnitOfWork",
    "OrmUnitOfWork",
    "StagedEvents",
    "UnitOfWork",
    "outbox_args",
    "outbox_params",
    "outbox_sql",
]
