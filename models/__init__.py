"""Cadence's data model: typed SQLAlchemy 2 tables; knows nothing of Prefect."""

from models.agency import AdAccount, Campaign, Client, Contact, DailyMetric, Staff
from models.base import Base
from models.ingest import ImportBatch, ImportMapping, QuarantinedRow
from models.messaging import MessageReview, OutboundMessage, Report
from models.service import (
    ClientRequest,
    DisplayName,
    Finding,
    Incident,
    IncidentEvent,
    Interaction,
    KeyDate,
    OptimisationNote,
)
from models.sync import PlatformConnection

__all__ = [
    "AdAccount",
    "Base",
    "Campaign",
    "Client",
    "ClientRequest",
    "Contact",
    "DailyMetric",
    "DisplayName",
    "Finding",
    "ImportBatch",
    "ImportMapping",
    "Incident",
    "IncidentEvent",
    "Interaction",
    "KeyDate",
    "MessageReview",
    "OptimisationNote",
    "OutboundMessage",
    "PlatformConnection",
    "QuarantinedRow",
    "Report",
    "Staff",
]
