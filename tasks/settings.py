"""One Settings object, read from CADENCE_* environment variables (and a .env file) at run time."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_HOME = Path(".cadence")
LOGO_TYPES = {".png": "image/png", ".svg": "image/svg+xml"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CADENCE_", env_file=".env", extra="ignore")

    home: Path = Field(default=DEFAULT_HOME, description="where the embedded defaults keep their files")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default: SQLite under home")
    outbox_dir: Path | None = Field(default=None, description="the file outbox; default: home/outbox")
    reports_dir: Path | None = Field(default=None, description="rendered reports; default: home/reports")
    reports_port: int = Field(default=4201, ge=1, le=65535, description="the report server's port (`cadence server`, "
                              "`cadence reports serve`)")
    reports_url: str | None = Field(default=None, description="the reports' address as browsers reach it, for the "
                                    "links in artifacts; default: the local report server, "
                                    "http://127.0.0.1:<reports_port>")
    sendgrid_api_key: SecretStr | None = Field(default=None, description="with a key, mail goes out through SendGrid")
    sendgrid_base_url: str = "https://api.sendgrid.com"
    sender_email: str = "cadence@agency.example"
    sender_name: str = "Cadence"
    agency_time_zone: str = "Asia/Shanghai"
    agency_name: str = Field(default="Cadence Agency", description="the agency's name as clients see it: after the AM's"
                             " name as the sender of client mail, and in report headers and footers")
    brand_colour: str = Field(default="#4c72b0", description="the agency's colour (#rrggbb) for report headings and "
                              "charts")
    logo_path: Path | None = Field(default=None, description="the agency's logo (PNG or SVG) in report headers")
    inbox_dir: Path | None = Field(default=None, description="the drop folder: <inbox>/<account external id>/<export>; "
                                   "default: home/inbox")
    inbox_urls: list[str] = Field(default_factory=list, description="more drop folders as fsspec URLs "
                                  "(s3://bucket/inbox, …), laid out the same way")
    dask_address: str | None = Field(default=None, description="a Dask scheduler (tcp://host:8786) for the sweep's "
                                     "and the sync's chunks; default: on the flow's own machine")
    sweep_processes: int = Field(default=0, ge=0, description="without a Dask scheduler, the worker processes a "
                                 "sweep of many chunks runs them in; 0: threads in the flow's process")
    debug: bool = Field(default=False, description="the CLI shows an unexpected error's traceback, not one line")

    @field_validator("brand_colour")
    @classmethod
    def _hex_colour(cls, value: str) -> str:
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise ValueError(f"brand colour {value!r} is not of the form #rrggbb")
        return value.lower()

    @field_validator("reports_url")
    @classmethod
    def _web_address(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"https?://[^/?#\s]+(/[^?#\s]*)?", value.strip()):
            raise ValueError(f"reports URL {value!r} is not an http:// or https:// address")
        return value.strip().rstrip("/") if value is not None else None

    @field_validator("logo_path")
    @classmethod
    def _logo_kind(cls, value: Path | None) -> Path | None:
        if value is not None and value.suffix.lower() not in LOGO_TYPES:
            raise ValueError(f"logo {value} is not a PNG or SVG file")
        return value

    @field_validator("agency_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'cadence.db').resolve()}"

    @property
    def outbox_path(self) -> Path:
        return (self.outbox_dir or self.home / "outbox").resolve()

    @property
    def reports_path(self) -> Path:
        return (self.reports_dir or self.home / "reports").resolve()

    @property
    def reports_base_url(self) -> str:
        return self.reports_url or f"http://127.0.0.1:{self.reports_port}"

    @property
    def inbox_roots(self) -> list[str]:
        return [str((self.inbox_dir or self.home / "inbox").resolve()), *self.inbox_urls]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.agency_time_zone)


@lru_cache
def get_settings() -> Settings:
    return Settings()
