"""Exactly once under faults: a dispatcher SIGKILLed at random points, run again; nothing lost, nothing doubled."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from cadence.demo.fakes.sendgrid_server import FakeSendGrid
from messaging_helpers import API_KEY, put, rows, transport
from models import OutboundMessage
from models.enums import MessageStatus
from tasks.messaging import DispatchPolicy, dispatch

# A thousand messages through dispatchers SIGKILLed ten times, each a subprocess.
pytestmark = pytest.mark.slow
MESSAGES = 1_000
ROUNDS = 10
ROOT = Path(__file__).resolve().parents[2]
# Leases of zero: the next run treats whatever the killed one left in `sending` as interrupted at once.
CHILD = """
import sys, datetime as dt
from pydantic import SecretStr
from models.db import make_engine
from tasks.messaging import DispatchPolicy, dispatch
from tasks.transports import SendGridTransport
url, base, key = sys.argv[1:4]
dispatch(make_engine(url), SendGridTransport(SecretStr(key), base, "cadence@agency.example"),
         policy=DispatchPolicy(max_per_second=0, stale_after=dt.timedelta(0)))
"""


def _spawn(db_url: str, base: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.Popen([sys.executable, "-c", CHILD, db_url, base, API_KEY], cwd=ROOT, env=env)


def test_killed_dispatches_deliver_every_message_once_or_flag_it_uncertain(engine, db_url):
    rng = random.Random(20261124)
    put(engine, rows(MESSAGES))
    kills = Counter()
    with FakeSendGrid(api_key=API_KEY, keep_bodies=False) as fake:
        for round_ in range(ROUNDS):
            target = fake.total_delivered() + rng.randint(1, 60)
            child = _spawn(db_url, fake.url)
            if round_ % 2 == 0:
                # Killed inside the provider's accept: it has the message, our commit never happens (the accept
                # answers only once the child is dead).
                def kill_at_target(_key: str, child=child, target=target) -> None:
                    if fake.total_delivered() >= target and child.poll() is None:
                        os.kill(child.pid, signal.SIGKILL)
                        child.wait(timeout=30)

                fake.on_accept = kill_at_target
            else:
                # Killed from outside once the target is reached: the accept has answered, and the child is
                # wherever it got to by then (committing, claiming the next batch, sending).
                reached = threading.Event()

                def note_target(_key: str, target=target, reached=reached) -> None:
                    if fake.total_delivered() >= target:
                        reached.set()

                fake.on_accept = note_target
                for _ in range(60):  # at most 30 s: the target is reached, or the child ended on its own
                    if reached.wait(timeout=0.5) or child.poll() is not None:
                        break
                if child.poll() is None:
                    child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
            kills["killed" if child.returncode == -signal.SIGKILL else "finished"] += 1
        fake.on_accept = None
        from datetime import timedelta

        dispatch(engine, transport(fake.url), policy=DispatchPolicy(max_per_second=0, stale_after=timedelta(0)))
        delivered = Counter(fake.deliveries)

    with Session(engine) as s:
        status = dict(s.execute(select(OutboundMessage.idempotency_key, OutboundMessage.status)).all())
    assert kills["killed"] == ROUNDS, kills
    assert len(status) == MESSAGES
    assert max(delivered.values()) == 1, "a message was delivered twice"
    assert set(delivered) <= set(status)
    by_status = Counter(status.values())
    assert set(by_status) <= {MessageStatus.SENT, MessageStatus.UNCERTAIN}, by_status
    for key, state in status.items():
        if state == MessageStatus.SENT:
            assert delivered[key] == 1, key
    uncertain = [k for k, v in status.items() if v == MessageStatus.UNCERTAIN]
    in_flight = DispatchPolicy().workers
    assert 0 < len(uncertain) <= ROUNDS * in_flight, "at most the messages in flight at a kill are uncertain"
    assert sum(delivered[k] for k in uncertain) >= ROUNDS // 2, (
        "the kills inside the accept left accepted, uncommitted messages")
    assert by_status[MessageStatus.SENT] + len(uncertain) == MESSAGES
