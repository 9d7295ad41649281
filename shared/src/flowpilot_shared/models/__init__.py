"""Every table of FlowPilot, importable from one place (Alembic reads `Base.metadata`)."""

from flowpilot_shared.models.accounts import ENGINEER_OR_ADMIN, OWNER_OR_ADMIN, Account, Role, User
from flowpilot_shared.models.base import Base
from flowpilot_shared.models.documentation import (
    Documentation,
    DocumentationRegeneration,
    EscalationPackage,
)
from flowpilot_shared.models.integrations import Integration, IntegrationKind
from flowpilot_shared.models.lifecycle import EscalationPolicy, EscalationTimer, TimelineEntry
from flowpilot_shared.models.messaging import InboxRecord, OutboxEvent
from flowpilot_shared.models.notifications import Delivery, DeliveryChannel, DeliveryStatus, Notification
from flowpilot_shared.models.preferences import NotificationPreference
from flowpilot_shared.models.psa import PsaPush, PsaPushStatus
from flowpilot_shared.models.sessions import (
    AWAITING_PICKUP,
    AiSession,
    Handoff,
    HandoffIntent,
    SessionStatus,
    SessionStep,
    StepKind,
    Urgency,
)
from flowpilot_shared.models.throttles import AuthThrottle

__all__ = [
    "AWAITING_PICKUP",
    "ENGINEER_OR_ADMIN",
    "OWNER_OR_ADMIN",
    "Account",
    "AiSession",
    "AuthThrottle",
    "Base",
    "Delivery",
    "DeliveryChannel",
    "DeliveryStatus",
    "Documentation",
    "DocumentationRegeneration",
    "EscalationPackage",
    "EscalationPolicy",
    "EscalationTimer",
    "Handoff",
    "HandoffIntent",
    "InboxRecord",
    "Integration",
    "IntegrationKind",
    "Notification",
    "NotificationPreference",
    "OutboxEvent",
    "PsaPush",
    "PsaPushStatus",
    "Role",
    "SessionStatus",
    "SessionStep",
    "StepKind",
    "TimelineEntry",
    "Urgency",
    "User",
]
