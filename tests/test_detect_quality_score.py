"""bench/detect_quality.py's scoring counts right on hand-made cases (the bench itself is not run here)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_path = Path(__file__).resolve().parent.parent / "bench" / "detect_quality.py"
_spec = importlib.util.spec_from_file_location("detect_quality", _path)
dq = importlib.util.module_from_spec(_spec)
sys.modules["detect_quality"] = dq  # dataclasses look their module up by name
_spec.loader.exec_module(dq)
Cause, Expect, Found, score = dq.Cause, dq.Expect, dq.Found, dq.score

TRACKING = Cause("tracking", "problem", "acme", "A1", expect=(Expect("tracking_broken"),), critical_ok=True)
STOP = Cause("stop", "problem", "acme", "A2", "c9", expect=(Expect("stopped_delivering", "campaign"),))
PEAK = Cause("peak", "lookalike", "shop", None, allow=(Expect("anomaly", "any", ("info",)),))
CAUSES = [TRACKING, STOP, PEAK]


def f(client, account, campaign, detector, severity, i=0):
    return Found(i, client, account, campaign, detector, severity)


@pytest.mark.parametrize(("findings", "expected"), [
    # The target: one finding per true cause, the peak at info, nothing else.
    ([f("acme", "A1", None, "tracking_broken", "critical"), f("acme", "A2", "c9", "stopped_delivering", "warning"),
      f("shop", "S1", "x", "anomaly", "info")],
     {"recall": 1.0, "precision": 1.0, "false_critical": 0, "findings_per_cause": 1.0, "missed": []}),
    # Many alarms for one cause: the cause is found, the campaign criticals are strays and false criticals.
    ([f("acme", "A1", None, "tracking_broken", "critical"),
      f("acme", "A1", "c1", "spend_without_conversions", "critical"),
      f("acme", "A1", "c2", "spend_without_conversions", "critical"), f("acme", "A1", "c3", "anomaly", "warning")],
     {"recall": 0.5, "precision": 0.25, "false_critical": 2, "findings_per_cause": 4.0,
      "missed": ["stop (stopped_delivering@campaign)"]}),
    # The right detector on the wrong subject does not answer; a critical on a look-alike is a false critical;
    # findings outside every labelled account are background, outside precision.
    ([f("acme", "A2", "c8", "stopped_delivering", "warning"), f("shop", "S2", "y", "anomaly", "critical"),
      f("other", "Z", None, "budget_pacing", "critical")],
     {"recall": 0.0, "precision": 0.0, "false_critical": 1, "findings_per_cause": 1.0,
      "missed": ["tracking (tracking_broken@account)", "stop (stopped_delivering@campaign)"]}),
    # Per-campaign alarms without the account-level answer: missed, and still three findings for one cause.
    ([f("acme", "A1", "c1", "anomaly", "warning"), f("acme", "A1", "c2", "anomaly", "warning"),
      f("acme", "A1", "c3", "anomaly", "warning"), f("acme", "A2", "c9", "stopped_delivering", "warning")],
     {"recall": 0.5, "precision": 0.25, "false_critical": 0, "findings_per_cause": 2.0,
      "missed": ["tracking (tracking_broken@account)"]}),
    # A critical where the cause does not allow one is false even when it answers the cause.
    ([f("acme", "A2", "c9", "stopped_delivering", "critical")],
     {"recall": 0.5, "precision": 1.0, "false_critical": 1, "findings_per_cause": 1.0,
      "missed": ["tracking (tracking_broken@account)"]}),
    ([], {"recall": 0.0, "precision": 1.0, "false_critical": 0, "findings_per_cause": 0.0,
          "missed": ["tracking (tracking_broken@account)", "stop (stopped_delivering@campaign)"]}),
])
def test_score_counts_recall_precision_false_criticals_and_findings_per_cause(findings, expected):
    s = score(CAUSES, findings)
    assert {k: getattr(s, k) for k in expected} == expected


def test_background_is_reported_apart_and_the_report_prints_name_value_lines():
    s = score(CAUSES, [f("other", "Z", None, "budget_pacing", "critical"), f("other", "Z", "q", "anomaly", "warning")])
    assert (s.scoped_findings, s.background_findings, s.background_critical) == (0, 2, 1)
    lines = dq.report(s)
    assert lines[:4] == ["recall: 0.000", "precision: 1.000", "false_critical: 0", "findings_per_cause: 0.00"]
    assert "missed_stopped_delivering: 1" in lines and "missed_tracking_broken: 1" in lines
    assert "background_findings: 2 (anomaly:warning 1, budget_pacing:critical 1)" in lines
    assert all(": " in line for line in lines)
