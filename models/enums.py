"""The closed vocabularies of Cadence's domain, stored as their string values."""

from __future__ import annotations

import enum


class Tier(str, enum.Enum):
    STRATEGIC = "strategic"
    POTENTIAL = "potential"
    REGULAR = "regular"


class StaffRole(str, enum.Enum):
    AM = "am"
    OPTIMISER = "optimiser"
    TEAM_LEAD = "team_lead"
    DIRECTOR = "director"
    OPS = "ops"


class ClientStatus(str, enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    CHURNED = "churned"


class Honorific(str, enum.Enum):
    """How a contact is addressed formally: Ms/Mr (also gives Russian its gendered form) or Dr."""

    MS = "ms"
    MR = "mr"
    DR = "dr"


class ContactRole(str, enum.Enum):
    DECISION_MAKER = "decision_maker"
    OPERATOR = "operator"


class Language(str, enum.Enum):
    EN = "en"
    ZH = "zh"
    RU = "ru"


class Tone(str, enum.Enum):
    FORMAL = "formal"
    FRIENDLY = "friendly"


class Detail(str, enum.Enum):
    SUMMARY = "summary"
    CAMPAIGN = "campaign"


class Channel(str, enum.Enum):
    EMAIL = "email"
    PHONE = "phone"
    MESSENGER = "messenger"
    WECHAT = "wechat"
    TELEGRAM = "telegram"


class Platform(str, enum.Enum):
    GENERIC = "generic"
    GOOGLE_ADS = "google_ads"
    META = "meta"
    YANDEX_DIRECT = "yandex_direct"
    VK = "vk"
    OCEAN_ENGINE = "ocean_engine"


class EntityStatus(str, enum.Enum):
    ACTIVE = "active"
    PAUSED = "paused"
    REMOVED = "removed"


class Severity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class FindingStatus(str, enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class NoteKind(str, enum.Enum):
    OPTIMISATION = "optimisation"
    MARKET = "market"
    COMPETITOR = "competitor"


class Direction(str, enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class RequestStatus(str, enum.Enum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    PLANNED = "planned"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class IncidentSource(str, enum.Enum):
    FINDING = "finding"
    SLA = "sla"
    MANUAL = "manual"
    # Waiting for the AM's approval: dispatch never picks it; approval queues (or holds) it.
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"


class IncidentStage(str, enum.Enum):
    OPENED = "opened"
    FACTS = "facts"
    SOLUTION = "solution"
    PREVENTION = "prevention"
    CLOSED = "closed"


class KeyDateKind(str, enum.Enum):
    BIRTHDAY = "birthday"
    ANNIVERSARY = "anniversary"
    LAUNCH = "launch"
    FINANCING = "financing"
    RENEWAL = "renewal"
    MARKET_PEAK = "market_peak"


class Visibility(str, enum.Enum):
    """Who may read a key date: the agency only (AM reminders) or the client too (its documents)."""

    PRIVATE = "private"
    SHAREABLE = "shareable"


class LabelKind(str, enum.Enum):
    """What a display name names: an initiative slug or a key date's (or launch's) stored title."""

    INITIATIVE = "initiative"
    KEY_DATE = "key_date"


class Audience(str, enum.Enum):
    CLIENT = "client"
    INTERNAL = "internal"


class MessageStatus(str, enum.Enum):
    QUEUED = "queued"
    HELD = "held"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    DEAD = "dead"
    UNCERTAIN = "uncertain"
    MANUAL = "manual"
    # Waiting for the AM's approval: dispatch never picks it; approval queues (or holds) it.
    AWAITING_APPROVAL = "awaiting_approval"
    REJECTED = "rejected"


class ReviewAction(str, enum.Enum):
    APPROVE = "approve"
    REJECT = "reject"
    EDIT = "edit"


class ApprovalMode(str, enum.Enum):
    AUTO = "auto"
    AM_APPROVES = "am_approves"


class ReportKind(str, enum.Enum):
    STANDUP = "standup"
    RECAP = "recap"
    STRATEGY_PACK = "strategy_pack"
    REVIEW = "review"
