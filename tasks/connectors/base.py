"""The one protocol every platform connector speaks, and the errors it may raise.

A connector reads; it never writes to Cadence's database. The platform-sync flow turns what it returns into
the same rows a file import produces and loads them through the same validate/plan/write path, so a re-pull
is idempotent and every row is accounted for.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tasks.errors import CadenceError


@dataclass(frozen=True)
class AccountInfo:
    """An advertising account as the platform describes it (money in `currency`, days in `time_zone`)."""

    platform: str  # models.enums.Platform value: "google_ads", "meta", "yandex_direct", ...
    external_id: str  # the platform's id: Google customer id without dashes, Meta "act_<id>", Yandex client login
    name: str
    currency: str  # ISO 4217
    time_zone: str  # IANA name


@dataclass(frozen=True)
class CampaignSettings:
    """What the detectors need to know about a campaign; None where the platform does not say."""

    external_id: str
    name: str
    status: str  # "active" | "paused" | "removed"
    daily_budget: Decimal | None  # in the account's currency (major units), None when the platform has none
    bid_strategy: str | None
    bid: Decimal | None
    geo_targeting: tuple[str, ...] | None  # () means "none set", None means "unknown"
    conversion_goal: str | None  # None when none is set or unknown (see conversion_goal_known)
    conversion_goal_known: bool
    created_on: dt.date | None


@dataclass(frozen=True)
class DailyRow:
    """One campaign on one account-local day. None is missing (not zero); a pulled day with no delivery is zeros."""

    campaign_external_id: str
    campaign_name: str
    day: dt.date
    impressions: int | None
    clicks: int | None
    spend: Decimal | None  # major units of the account's currency (Google's cost_micros / 1e6)
    conversions: Decimal | None
    conversion_value: Decimal | None


class Connector(Protocol):
    """One platform under one set of credentials (a manager / agency / system-user login)."""

    platform: str
    # Days before "yesterday" re-pulled every morning because the platform restates them; a weekly pull goes back
    # `weekly_restatement_days`.
    restatement_days: int
    weekly_restatement_days: int

    def accounts(self) -> list[AccountInfo]:
        """The client accounts these credentials reach (Google: customer_client under the manager)."""
        ...

    def campaigns(self, account: AccountInfo) -> list[CampaignSettings]:
        """Every campaign of the account, removed ones included when the platform lists them."""
        ...

    def daily_metrics(self, account: AccountInfo, start: dt.date, end: dt.date) -> Iterable[DailyRow]:
        """Rows for start..end inclusive (account-local days). A campaign that existed on a pulled day but had no
        delivery gets an explicit zero row, so that "no row" keeps meaning "not arrived"."""
        ...


class ConnectorError(CadenceError):
    """A platform call failed in a way the sync reports per account (the other accounts go on)."""


class QuotaExceeded(ConnectorError):
    """The platform's rate limit or quota: retry after `retry_after` seconds (None: the connector's backoff)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ReportPending(ConnectorError):
    """The platform is still building the report: ask again after `retry_after` seconds (the worker moves on)."""

    def __init__(self, message: str, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AuthExpired(ConnectorError):
    """The token expired or was revoked: a person must reconnect the account (`cadence account connect`)."""


class MalformedResponse(ConnectorError):
    """The platform answered something that does not parse: nothing of that pull is written."""
