"""Find secrets and client email addresses in logs and artifacts: plain strings in, where each leak is out."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Any email-shaped text; a masked form such as a***@example.com does not match (no word character before @).
ANY_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
SENDGRID_KEY = re.compile(r"SG\.[\w-]{10,}")
# Google OAuth access tokens (ya29.…) and refresh tokens (1//…), Meta long-lived tokens (EAA…).
GOOGLE_TOKEN = re.compile(r"\bya29\.[\w-]{20,}|(?<![\w/])1//[\w-]{20,}")
META_TOKEN = re.compile(r"\bEAA[A-Za-z0-9]{30,}")
PLATFORM_TOKENS = (GOOGLE_TOKEN, META_TOKEN)


def _masked(value: str) -> str:
    """Enough of a secret to recognise it in a failure message, not enough to use it."""
    return f"{value[:3]}… ({len(value)} chars)" if len(value) > 6 else f"*** ({len(value)} chars)"


def _email_pattern(emails: Iterable[str]) -> re.Pattern[str] | None:
    """The addresses in any case, also percent-encoded, but not as the tail of a longer address (jo+ann@...);
    one pattern for all of them, so thousands of contacts cost one pass over each text."""
    forms = sorted({re.escape(f) for e in emails if e for f in (e, e.replace("@", "%40"))}, key=len, reverse=True)
    if not forms:
        return None
    return re.compile(rf"(?<![\w.+%-])(?:{'|'.join(forms)})(?![\w-]|\.[\w-])", re.IGNORECASE)


def find_leaks(texts: Iterable[tuple[str, str]], secrets: Iterable[str | None] = (), emails: Iterable[str] = (),
               patterns: Iterable[re.Pattern[str] | str] = (),
               secret_patterns: Iterable[re.Pattern[str] | str] = ()) -> list[str]:
    """Every occurrence, as "<where> at <offset>: <what>", in texts of (where, text) pairs, of: a secret (exact
    text; empty ones ignored), a client email (any case), a pattern such as ANY_EMAIL (the match shown) or a
    secret pattern such as SENDGRID_KEY (the match masked)."""
    checks: list[tuple[re.Pattern[str], str | None, bool]] = []
    checks += [(re.compile(re.escape(s)), f"secret {_masked(s)}", True) for s in dict.fromkeys(secrets) if s]
    emails_at_once = _email_pattern(emails)
    checks += [(emails_at_once, "email", False)] if emails_at_once else []
    checks += [(re.compile(p), None, False) for p in patterns]
    checks += [(re.compile(p), None, True) for p in secret_patterns]
    found = []
    for where, text in texts:
        for pattern, label, secret in checks:
            for match in pattern.finditer(text):
                shown = _masked(match.group(0)) if secret else repr(match.group(0))
                if label is None:
                    what = f"{pattern.pattern!r} matched {shown}"
                else:
                    what = label if secret else f"{label} as {shown}"
                found.append(f"{where} at {match.start()}: {what}")
    return found
