"""Ad platform connectors: each platform's own client library behind one protocol (see base.py).

CONNECTORS maps a platform value to a factory `(connection, secrets) -> Connector`: `connection` is a
ConnectionInfo (the stored login's options, and a `throttle` to call before every platform request), `secrets` a
Secrets (`get(role)`, `save(role, value)` for a rotated refresh token). Factories import their client library
lazily, so a missing optional library fails only the platform that needs it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tasks.connectors.base import Connector
from tasks.errors import CadenceError


@dataclass(frozen=True)
class ConnectionInfo:
    """A stored platform login as a connector needs it: options only (secret values come through Secrets)."""

    id: int
    platform: str
    label: str
    options: dict[str, Any] = field(default_factory=dict)
    throttle: Callable[[], None] | None = field(default=None, compare=False)


class Secrets:
    """The login's secrets, read at run time from Prefect Secret blocks ("block:NAME") or the environment
    ("env:NAME")."""

    def __init__(self, names: dict[str, str], values: dict[str, str] | None = None) -> None:
        self.names = dict(names)
        self._values = dict(values or {})

    def get(self, role: str, default: str | None = None) -> str | None:
        if role in self._values:
            return self._values[role]
        ref = self.names.get(role)
        if ref is None:
            return default
        value = read_secret(ref)
        self._values[role] = value
        return value

    def require(self, role: str) -> str:
        value = self.get(role)
        if not value:
            raise CadenceError(f"secret {role!r} is not set ({self.names.get(role, 'no name stored')})")
        return value

    def save(self, role: str, value: str) -> None:
        """Store a rotated value back where it was read from (a block; an environment variable cannot be)."""
        self._values[role] = value
        ref = self.names.get(role)
        if ref is not None:
            write_secret(ref, value)


def read_secret(ref: str) -> str:
    kind, _, name = ref.partition(":")
    if kind == "env":
        value = os.environ.get(name)
        if value is None:
            raise CadenceError(f"environment variable {name} is not set")
        return value
    if kind == "block":
        from prefect.blocks.system import Secret

        try:
            return str(Secret.load(name).get())
        except ValueError:
            raise CadenceError(f"no Prefect Secret block named {name!r}: `cadence account connect` stores it") from None
    raise CadenceError(f"secret reference {ref!r} is neither block:NAME nor env:NAME")


def write_secret(ref: str, value: str) -> None:
    kind, _, name = ref.partition(":")
    if kind == "block":
        from prefect.blocks.system import Secret

        Secret(value=value).save(name, overwrite=True)
    elif kind == "env":
        os.environ[name] = value  # this process only: the environment's owner must update it


def _yandex(connection: ConnectionInfo, secrets: Secrets) -> Connector:
    from tasks.connectors.yandex import API, OAUTH, YandexDirect

    options = connection.options
    return YandexDirect(
        secrets.require("token"), agency=bool(options.get("agency")), base_url=options.get("base_url", API),
        oauth_url=options.get("oauth_url", OAUTH), refresh_token=secrets.get("refresh_token"),
        client_id=options.get("oauth_client_id"), client_secret=secrets.get("client_secret"),
        on_token=lambda access, refresh: (secrets.save("token", access), secrets.save("refresh_token", refresh)),
        throttle=connection.throttle, processing_mode=options.get("processing_mode", "auto"))


class _Throttled:
    """A connector whose library makes its own requests: the platform's rate-limit slot is taken before each call,
    and a refresh token the platform rotated is saved back after it."""

    def __init__(self, inner: Any, connection: ConnectionInfo, secrets: Secrets) -> None:
        self.inner, self.connection, self.secrets = inner, connection, secrets
        self.platform = inner.platform
        self.restatement_days = inner.restatement_days
        self.weekly_restatement_days = inner.weekly_restatement_days

    def _call(self, method: str, *args: Any) -> Any:
        if self.connection.throttle is not None:
            self.connection.throttle()
        try:
            return getattr(self.inner, method)(*args)
        finally:
            rotated = getattr(self.inner, "rotated_secrets", None)
            for role, value in (rotated() if rotated else {}).items():
                if value and value != self.secrets.get(role):
                    self.secrets.save(role, value)

    def accounts(self) -> Any:
        return self._call("accounts")

    def campaigns(self, account: Any) -> Any:
        return self._call("campaigns", account)

    def daily_metrics(self, account: Any, start: Any, end: Any) -> Any:
        return self._call("daily_metrics", account, start, end)


def _google_ads(connection: ConnectionInfo, secrets: Secrets) -> Connector:
    from tasks.connectors.google_ads import connect

    values = {role: secrets.get(role) or "" for role in SECRET_ROLES["google_ads"]}
    return _Throttled(connect(connection.options, values), connection, secrets)  # type: ignore[return-value]


def _meta(connection: ConnectionInfo, secrets: Secrets) -> Connector:
    from tasks.connectors.meta import connect

    values = {role: secrets.get(role) for role in SECRET_ROLES["meta"]}
    return _Throttled(connect(connection.options, values), connection, secrets)  # type: ignore[return-value]


CONNECTORS: dict[str, Callable[[ConnectionInfo, Secrets], Connector]] = {
    "yandex_direct": _yandex,
    "google_ads": _google_ads,
    "meta": _meta,
}

# Which secrets `cadence account connect PLATFORM` asks for, the first one required.
SECRET_ROLES: dict[str, tuple[str, ...]] = {
    "yandex_direct": ("token", "refresh_token", "client_secret"),
    "google_ads": ("refresh_token", "developer_token", "client_id", "client_secret"),
    "meta": ("access_token", "app_secret"),
}


def connector_for(connection: ConnectionInfo, secrets: Secrets) -> Connector:
    factory = CONNECTORS.get(connection.platform)
    if factory is None:
        raise CadenceError(f"no connector for {connection.platform}: connected platforms are "
                           f"{', '.join(sorted(CONNECTORS))}")
    return factory(connection, secrets)
