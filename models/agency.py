"""Who the agency serves and what it runs: staff, clients, contacts, accounts, campaigns, metrics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, Rate, str_enum, utcnow
from models.enums import (
    Channel,
    ClientStatus,
    ContactRole,
    Detail,
    EntityStatus,
    Honorific,
    Language,
    Platform,
    StaffRole,
    Tier,
    Tone,
)

if TYPE_CHECKING:
    from models.sync import PlatformConnection


class Staff(Base):
    """A person at the agency: AM, optimiser, team lead, director or ops."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(str_enum(StaffRole, "staff_role"))
    team: Mapped[str] = mapped_column(String(100), default="default")
    language: Mapped[Language] = mapped_column(str_enum(Language, "staff_language"), default=Language.EN)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    is_active: Mapped[bool] = mapped_column(default=True)


class Client(Base):
    """An advertiser the agency runs accounts for, with its tier, KPI bands and escalation ladder."""

    __tablename__ = "client"
    __table_args__ = (
        CheckConstraint("cpa_min IS NULL OR cpa_max IS NULL OR cpa_min <= cpa_max", name="cpa_band"),
        CheckConstraint("business_hours_start < business_hours_end", name="business_hours"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    industry: Mapped[str] = mapped_column(String(100))
    market: Mapped[str] = mapped_column(String(2), comment="ISO 3166-1 alpha-2 country code")
    time_zone: Mapped[str] = mapped_column(String(64))
    business_hours_start: Mapped[dt.time] = mapped_column(Time, default=dt.time(9, 0))
    business_hours_end: Mapped[dt.time] = mapped_column(Time, default=dt.time(18, 0))
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[ClientStatus] = mapped_column(
        str_enum(ClientStatus, "client_status"), default=ClientStatus.ACTIVE
    )
    tier: Mapped[Tier] = mapped_column(str_enum(Tier, "client_tier"), default=Tier.REGULAR)
    tier_override: Mapped[Tier | None] = mapped_column(str_enum(Tier, "client_tier_override"))
    tier_computed_at: Mapped[dt.datetime | None]
    services: Mapped[list[str]] = mapped_column(default=list, comment="service lines bought: search, social, ...")
    cooperation_start: Mapped[dt.date]
    cpa_min: Mapped[Decimal | None] = mapped_column(comment="lower edge of the acceptable CPA band")
    cpa_max: Mapped[Decimal | None] = mapped_column(comment="upper edge of the acceptable CPA band")
    target_roas: Mapped[Decimal | None] = mapped_column(Rate)
    monthly_budget: Mapped[Decimal | None] = mapped_column(comment="monthly spend commitment")
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict, comment="per-client detector thresholds")
    owner_am_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    team_lead_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    director_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    is_test: Mapped[bool] = mapped_column(default=False, comment="a test or internal client: swept, never written to")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    owner_am: Mapped[Staff] = relationship(foreign_keys=[owner_am_id])
    team_lead: Mapped[Staff | None] = relationship(foreign_keys=[team_lead_id])
    director: Mapped[Staff | None] = relationship(foreign_keys=[director_id])
    contacts: Mapped[list[Contact]] = relationship(back_populates="client", cascade="all, delete-orphan")
    accounts: Mapped[list[AdAccount]] = relationship(back_populates="client", cascade="all, delete-orphan")

    @property
    def effective_tier(self) -> Tier:
        return self.tier_override or self.tier


class Contact(Base):
    """A person at the client, and how they want to be written to."""

    __tablename__ = "contact"
    __table_args__ = (UniqueConstraint("client_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    patronymic: Mapped[str | None] = mapped_column(String(100), comment="Russian formal address: name + patronymic")
    honorific: Mapped[Honorific | None] = mapped_column(str_enum(Honorific, "contact_honorific"))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[ContactRole] = mapped_column(str_enum(ContactRole, "contact_role"))
    language: Mapped[Language] = mapped_column(str_enum(Language, "contact_language"))
    tone: Mapped[Tone] = mapped_column(str_enum(Tone, "contact_tone"), default=Tone.FORMAL)
    detail: Mapped[Detail] = mapped_column(str_enum(Detail, "contact_detail"), default=Detail.SUMMARY)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, "contact_channel"), default=Channel.EMAIL)
    time_zone: Mapped[str | None] = mapped_column(String(64), comment="defaults to the client's")
    business_hours_start: Mapped[dt.time | None] = mapped_column(Time)
    business_hours_end: Mapped[dt.time | None] = mapped_column(Time)
    phone: Mapped[str | None] = mapped_column(String(40))
    messenger: Mapped[str | None] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(default=True)
    glossary_sent: Mapped[list[str]] = mapped_column(default=list, comment="terms already explained to this contact")

    client: Mapped[Client] = relationship(back_populates="contacts")


class AdAccount(Base):
    """An advertising account on one platform, in its own currency and time zone."""

    __tablename__ = "ad_account"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="CASCADE"), index=True)
    platform: Mapped[Platform] = mapped_column(str_enum(Platform, "account_platform"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[EntityStatus] = mapped_column(
        str_enum(EntityStatus, "account_status"), default=EntityStatus.ACTIVE
    )
    paused_by_client_at: Mapped[dt.datetime | None]
    created_on: Mapped[dt.date]
    connection_id: Mapped[int | None] = mapped_column(
        ForeignKey("platform_connection.id", ondelete="SET NULL"), index=True,
        comment="the platform login its metrics are pulled with; NULL: imported from files")
    sync_problem: Mapped[str | None] = mapped_column(String(300), comment="why the morning pull got nothing")
    sync_problem_since: Mapped[dt.datetime | None]

    client: Mapped[Client] = relationship(back_populates="accounts")
    connection: Mapped[PlatformConnection | None] = relationship()
    campaigns: Mapped[list[Campaign]] = relationship(back_populates="account", cascade="all, delete-orphan")


class Campaign(Base):
    """A campaign with its budget, bid and targeting, labelled by the initiative it serves."""

    __tablename__ = "campaign"
    __table_args__ = (
        UniqueConstraint("account_id", "external_id"),
        CheckConstraint("daily_budget IS NULL OR daily_budget >= 0", name="daily_budget_non_negative"),
        CheckConstraint("bid IS NULL OR bid >= 0", name="bid_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("ad_account.id", ondelete="CASCADE"), index=True)
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    status: Mapped[EntityStatus] = mapped_column(
        str_enum(EntityStatus, "campaign_status"), default=EntityStatus.ACTIVE
    )
    daily_budget: Mapped[Decimal | None]
    bid: Mapped[Decimal | None] = mapped_column(Rate)
    bid_strategy: Mapped[str | None] = mapped_column(String(60))
    geo_targeting: Mapped[list[str]] = mapped_column(default=list, comment="empty means no geo targeting set")
    conversion_goal: Mapped[str | None] = mapped_column(String(120))
    initiative: Mapped[str] = mapped_column(String(120), default="unlabelled")
    created_on: Mapped[dt.date]
    edited_at: Mapped[dt.datetime | None]

    account: Mapped[AdAccount] = relationship(back_populates="campaigns")


class DailyMetric(Base):
    """One campaign's delivery on one account-local day."""

    __tablename__ = "daily_metric"
    __table_args__ = (
        CheckConstraint("impressions >= 0", name="impressions_non_negative"),
        CheckConstraint("clicks >= 0", name="clicks_non_negative"),
        CheckConstraint("spend >= 0", name="spend_non_negative"),
        CheckConstraint("conversions >= 0", name="conversions_non_negative"),
        CheckConstraint("conversion_value >= 0", name="conversion_value_non_negative"),
        Index("ix_daily_metric_day", "day"),
        # Clustered by (campaign, day) on SQLite, so a campaign's window is one sequential read.
        {"sqlite_with_rowid": False},
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    # NULL is "the export left it blank": missing, never read as zero (SPEC, "Missing is not zero").
    impressions: Mapped[int | None] = mapped_column(BigInteger, default=0)
    clicks: Mapped[int | None] = mapped_column(BigInteger, default=0)
    spend: Mapped[Decimal | None] = mapped_column(default=Decimal("0"))
    conversions: Mapped[Decimal | None] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    conversion_value: Mapped[Decimal | None] = mapped_column(default=Decimal("0"))
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batch.id", ondelete="SET NULL"))
