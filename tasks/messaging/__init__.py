"""Client and internal messaging: compose into the outbox under a key, dispatch in a separate step."""

from tasks.messaging.outbox import (
    DispatchPolicy,
    DispatchReport,
    dispatch,
    enqueue,
    idempotency_key,
    plan_delivery,
    release,
    retry,
)

__all__ = [
    "DispatchPolicy",
    "DispatchReport",
    "dispatch",
    "enqueue",
    "idempotency_key",
    "plan_delivery",
    "release",
    "retry",
]
