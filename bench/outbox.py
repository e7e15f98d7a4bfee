"""Compose and dispatch 10,000 messages to a local fake SendGrid; prints compose_per_s, dispatch_per_s, peak_rss_mb."""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import resource
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from pydantic import SecretStr
from sqlalchemy.orm import Session

from cadence.demo.fakes.sendgrid_server import FakeSendGrid
from models.db import make_engine, upgrade
from tasks.messaging import DispatchPolicy, dispatch, enqueue
from tasks.messaging.compose import Preferences, client_message, client_update_context, compose
from tasks.messaging.outbox import Window
from tasks.transports import SendGridTransport

KEY = "SG.bench-key"
MONDAY_MORNING = dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.timezone.utc)  # 10:00 in Shanghai


def messages(n: int):
    """`n` stand-up client updates across languages, tones, roles and detail levels."""
    variants = itertools.cycle(itertools.product(("en", "zh", "ru"), ("formal", "friendly"),
                                                 ("decision_maker", "operator"), ("summary", "campaign")))
    kpis = {"spend": Decimal("12345.60"), "impressions": 1_200_000, "clicks": 35_000, "ctr": 0.0292,
            "cpc": Decimal("0.35"), "conversions": Decimal(123), "cpa": Decimal("100.37")}
    previous = {**kpis, "spend": Decimal("11000"), "cpa": Decimal("110")}
    campaigns = [{"name": f"Campaign {i}", "spend": Decimal(1000 * i), "conversions": 10 * i,
                  "cpa": Decimal("95.5"), "ctr": 0.03} for i in range(1, 6)]
    for i, (language, tone, role, detail) in zip(range(n), variants, strict=False):
        prefs = Preferences(email=f"contact{i}@client{i % 300}.example", name=f"Contact {i}", language=language,
                            tone=tone, detail=detail, role=role, channel="email",
                            window=Window("Asia/Shanghai", "CN", dt.time(9), dt.time(18)))
        context = client_update_context(
            prefs, {"name": f"Client {i % 300}", "currency": "CNY"}, (dt.date(2026, 11, 23), dt.date(2026, 11, 26)),
            kpis, previous, {"low": Decimal(80), "high": Decimal(120)}, campaigns,
            ["Paused two keywords", "Raised bids on brand search", "New creatives", "Narrowed geo"],
            ["Test video ads"], {"name": "Anna", "email": "anna@agency.example"})
        yield client_message(flow="bench", kind="update", period="2026-11-26", client_slug=f"client-{i % 300}",
                             client_id=None, contact_id=None, prefs=prefs,
                             composed=compose("client_update", prefs, context),
                             now=MONDAY_MORNING, tier="regular", settings={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(args.database_url or f"sqlite:///{tmp}/bench.db")
        upgrade(engine)
        started = time.perf_counter()
        batch: list[dict] = []
        for message in messages(args.messages):
            batch.append(message)
            if len(batch) == 1_000:
                with Session(engine) as s, s.begin():
                    enqueue(s, batch)
                batch = []
        if batch:
            with Session(engine) as s, s.begin():
                enqueue(s, batch)
        composed = time.perf_counter()
        with FakeSendGrid(api_key=KEY, keep_bodies=False) as fake:
            transport = SendGridTransport(SecretStr(KEY), fake.url, "cadence@agency.example")
            report = dispatch(engine, transport, now=MONDAY_MORNING, policy=DispatchPolicy())
            dispatched = time.perf_counter()
            delivered = fake.total_delivered()
        engine.dispose()
    if report.sent != args.messages or delivered != args.messages:
        sys.exit(f"error: sent {report.sent}, fake received {delivered}, expected {args.messages}")
    print(f"messages: {args.messages}")
    print(f"compose_per_s: {args.messages / (composed - started):.0f}")
    print(f"dispatch_per_s: {args.messages / (dispatched - composed):.0f}")
    print(f"peak_rss_mb: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f}")


if __name__ == "__main__":
    main()
