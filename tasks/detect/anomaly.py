"""Spikes and drops against the same weekday of previous weeks, on campaigns and across accounts."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from tasks.detect.evidence import _currency, _empty, _findings, _money, _num
from tasks.detect.window import METRICS, SweepWindow, _account_stopped, _divide, _stopped, _text
from tasks.rules import WINDOW_DAYS

# Ratio metrics: (numerator, denominator, the numerator's volume floor). Only their falls are alarms.
RATES = {"ctr": ("clicks", "impressions", "anomaly_min_clicks"),
         "cvr": ("conversions", "clicks", "anomaly_min_conversions")}
METRIC_NAMES = {"impressions": "impressions", "clicks": "clicks", "spend": "spend", "conversions": "conversions",
                "ctr": "CTR", "cvr": "conversion rate"}
ANOMALY_ADVICE = {
    "impressions_up_ctr_down": "Impressions rose without the clicks: likely bot or placement traffic, or a reporting"
                               " glitch. Check the placement report, exclude the apps and sites that brought the"
                               " impressions, and check the platform's invalid-click report",
    "spend_up_conversions_flat": "Spend rose without the conversions: check bid changes and automated bidding, broad"
                                 " match and the search terms report, and whether a budget cap was lifted",
    "clicks_up_cvr_down": "Clicks rose but convert worse: check the landing page, the conversion tracking and the"
                          " quality of the new traffic (search terms, placements, audiences)",
    "cvr_drop": "Check the landing page (errors, speed, stock, prices), the checkout and the conversion tracking",
    "ctr_drop": "The ads draw fewer clicks per impression: check disapproved or changed ads, new placements or"
                " audiences, and competitors' activity in the auction",
    "conversions_drop": "The traffic held but did not convert: check the conversion tracking (tag or pixel, goals),"
                        " the landing page and the checkout",
    "drop": "Check ad approvals, budget caps, bids, billing and the landing page",
    "spike": "Check whether a bid or budget change or a lifted cap explains it, and whether the extra volume converts",
    "beyond_peak": "Check that budgets and bids were raised on purpose for it and that the extra spend converts",
    "missed_peak": "It is missing the peak: check budgets and caps, bids, ad approvals and billing so it can take"
                   " the peak's demand",
    "expected_peak": "No action needed; keep budgets ready for the rest of the peak",
}
WARNING_PATTERNS = {"impressions_up_ctr_down", "spend_up_conversions_flat", "clicks_up_cvr_down", "cvr_drop",
                    "conversions_drop", "beyond_peak", "missed_peak"}


def _change(ratio: float, weekday: str) -> str:
    """A move as people say it: 2.5x for rises, a percentage for falls (never "0.0x")."""
    if ratio >= 1:
        return f"jumped to {ratio:.1f}x its usual {weekday}"
    if ratio <= 0:
        return f"fell to zero from its usual {weekday}"
    return f"fell {(1 - ratio) * 100:.0f}% below its usual {weekday}"


def _shown(metric: str, value: float, currency: str) -> str:
    if metric == "spend":
        return _money(value, currency)
    if metric in RATES:
        return f"{value * 100:.2f}%"
    return f"{value:,.0f}"


def _anomalies(w: SweepWindow, level: str) -> pd.DataFrame:
    """Each metric on D against the mean of the same weekday over the previous weeks, campaigns or accounts.

    Baseline weeks are days the subject existed, had volume, no blank metric and no expected peak. On the
    client's peak days the expected level is the usual one times last year's uplift (or, without history, the
    spike threshold is widened): a peak within the band is at most info, beyond it or a drop a warning.
    """
    campaign = level == "campaign"
    cube = w.cube if campaign else w.account_cube
    frame = w.campaigns if campaign else w.accounts
    max_weeks = (WINDOW_DAYS - 1) // 7
    weeks = w.ints("anomaly_weeks", 1, max_weeks, level)
    need = np.minimum(w.ints("anomaly_min_weeks", 1, max_weeks, level), weeks)
    columns = 7 * np.arange(1, max_weeks + 1)
    volume = w.volume if campaign else w.account_volume
    gaps = np.logical_or.reduce([(w.missing if campaign else w.account_missing)[m] for m in METRICS])
    client_pos = frame["client_pos"].to_numpy()
    baseline_peaks = w.peak_days[:, columns][client_pos]  # only the baseline weeks' columns, not all 56
    # Zero-volume days say nothing about the usual level (paused, capped, not yet live), days with a blank metric
    # say nothing at all, days before the subject existed were not days at all, and a peak is not the usual: all out.
    usable = (np.arange(1, max_weeks + 1)[None, :] <= weeks[:, None]) & volume[:, columns] & ~gaps[:, columns] \
        & ~baseline_peaks & (columns[None, :] <= frame["life"].to_numpy()[:, None])
    count = usable.sum(axis=1)
    stopped = _stopped(w) if campaign else _account_stopped(w)
    idx = np.flatnonzero(~stopped & volume[:, 0] & ~gaps[:, 0] & (count >= need))
    if not len(idx):
        return _empty()
    usable, count = usable[idx], count[idx]

    def value(key: str) -> np.ndarray:
        return w.client_values(key, level)[idx]

    spike, drop, min_z = value("anomaly_spike"), value("anomaly_drop"), value("anomaly_min_z")
    peak = w.peak_days[client_pos[idx], 0]
    uplift = np.where(peak, w.clients["peak_uplift"].to_numpy(dtype="float64")[client_pos[idx]], np.nan)
    known = np.isfinite(uplift)
    # The level D is expected at, as a multiple of the usual one; the thresholds then apply to today / expected.
    factor = np.where(known, np.maximum(1 + uplift, 0.1), 1.0)
    spike_at = np.where(known, np.maximum(value("anomaly_peak_band"), spike / factor),
                        np.where(peak, spike * value("anomaly_peak_spike_multiple"), spike))
    drop_at = np.where(known & (factor > 1), value("anomaly_peak_miss"), drop)
    sums = {m: np.where(usable, cube[m][idx][:, columns], 0.0).sum(axis=1) for m in METRICS}
    stats, flagged, usual_hit, deltas, rising, scale = {}, {}, {}, {}, {}, {}
    clicks_base = sums["clicks"] / count
    for metric in METRICS:
        today, baseline = cube[metric][idx, 0], sums[metric] / count
        ratio = _divide(today, baseline)
        expected = baseline * factor
        relative = _divide(today, expected)
        if metric == "spend":
            # Spend is clicks times price, so its noise is the clicks' relative noise.
            z = np.abs(relative - 1) * np.sqrt(np.maximum(clicks_base * factor, 1))
            z_usual = np.abs(ratio - 1) * np.sqrt(np.maximum(clicks_base, 1))
        else:
            z = _divide(np.abs(today - expected), np.sqrt(expected))
            z_usual = _divide(np.abs(today - baseline), np.sqrt(baseline))
        enough = baseline >= value(f"anomaly_min_{metric}")
        stats[metric] = (today, baseline, ratio)
        rising[metric] = enough & (z >= min_z) & (relative >= spike_at)
        # A known peak is missed when spend (what last year's uplift measures) falls short of it, or when any
        # metric of an expected dip falls further; other drops are judged against the usual level.
        against_expected = known & ((metric == "spend") | (factor <= 1))
        falling = enough & np.where(against_expected, (relative <= drop_at) & (z >= min_z),
                                    (ratio <= drop) & (z_usual >= min_z))
        flagged[metric] = rising[metric] | falling
        usual_hit[metric] = enough & (z_usual >= min_z) & ((ratio >= spike) | (ratio <= drop))
        # What the move is measured against, so an account's change can be split among its campaigns.
        scale[metric] = np.where(rising[metric] | against_expected, factor, 1.0)
        deltas[metric] = today - baseline * scale[metric]
    rate_drop = value("anomaly_rate_drop")
    for rate, (num, den, floor) in RATES.items():
        base_rate = _divide(sums[num], sums[den])
        today_rate = _divide(cube[num][idx, 0], cube[den][idx, 0])
        ratio = _divide(today_rate, base_rate)
        # The noise guard counts the numerator: the clicks (or conversions) today's volume should have brought.
        expected = np.nan_to_num(base_rate) * cube[den][idx, 0]
        z = _divide(expected - cube[num][idx, 0], np.sqrt(expected))
        enough = (sums[num] / count >= value(floor)) & (expected >= value(floor))
        stats[rate] = (today_rate, base_rate, ratio)
        # A rate is news when its volume rose and did not bring the clicks (conversions) along: on steady volume a
        # falling rate is the numerator's own drop, judged by its thresholds. A wider reach on a peak day lowers
        # CTR by design, so CTR is not judged then.
        rose = stats[den][2] >= value("anomaly_rate_volume_rise")
        fell = flagged[num] & (stats[num][2] < 1)
        flagged[rate] = enough & (z >= min_z) & (ratio <= rate_drop) & rose & ~fell & ~(peak & (rate == "ctr"))
        usual_hit[rate] = np.zeros(len(idx), dtype=bool)
        deltas[rate] = cube[num][idx, 0] - expected
    if not campaign:
        _keep_account_wide(w, idx, usable, count, flagged, deltas, scale)
        ones = {m: np.ones(len(idx)) for m in METRICS}
        _keep_account_wide(w, idx, usable, count, usual_hit,
                           {m: stats[m][0] - stats[m][1] for m in METRICS}, ones)
    any_flag = np.logical_or.reduce([flagged[m] for m in flagged])
    expected_peak = peak & ~any_flag & np.logical_or.reduce([usual_hit[m] for m in METRICS])
    rows = np.flatnonzero(any_flag | expected_peak)
    if not len(rows):
        return _empty()
    conv_ok = stats["conversions"][1] >= value("anomaly_min_conversions")
    return _anomaly_findings(w, level, idx, rows, count, stats, flagged, usual_hit, rising, expected_peak, peak,
                             factor, uplift, spike_at, conv_ok, rate_drop, drop)


def _keep_account_wide(w: SweepWindow, idx: np.ndarray, usable: np.ndarray, count: np.ndarray,
                       flagged: dict[str, np.ndarray], deltas: dict[str, np.ndarray],
                       scale: dict[str, np.ndarray]) -> None:
    """Unflag account moves one campaign makes: an account finding is for what moved across the account.

    The account's change (today - baseline x scale) is the sum of its campaigns' on the same baseline days; a
    metric stays flagged when no campaign makes more than anomaly_account_max_share of it.
    """
    share_max = w.client_values("anomaly_account_max_share", "account")[idx]
    account_pos = w.campaigns["account_pos"].to_numpy()
    row_of = np.full(len(w.accounts), -1, dtype=np.int64)
    moved = np.logical_or.reduce([flagged[m] for m in flagged])
    row_of[idx[moved]] = np.flatnonzero(moved)
    members = np.flatnonzero(row_of[account_pos] >= 0)
    if not len(members):
        for m in flagged:
            flagged[m][:] = False
        return
    r = row_of[account_pos[members]]
    columns = 7 * np.arange(1, usable.shape[1] + 1)
    sub = usable[r]
    for metric in flagged:
        if not flagged[metric].any():
            continue
        if metric in RATES:
            num, den, _ = RATES[metric]
            base_num = np.where(sub, w.cube[num][members[:, None], columns], 0.0).sum(axis=1)
            base_den = np.where(sub, w.cube[den][members[:, None], columns], 0.0).sum(axis=1)
            # Each campaign's shortfall against the account's usual rate; they add up to the account's.
            sums_num = np.bincount(r, weights=base_num, minlength=len(idx))
            sums_den = np.bincount(r, weights=base_den, minlength=len(idx))
            account_rate = np.nan_to_num(_divide(sums_num, sums_den))[r]
            part = w.cube[num][members, 0] - account_rate * w.cube[den][members, 0]
        else:
            base = np.where(sub, w.cube[metric][members[:, None], columns], 0.0).sum(axis=1) / count[r]
            part = w.cube[metric][members, 0] - base * scale[metric][r]
        largest = np.zeros(len(idx))
        np.maximum.at(largest, r, np.abs(part))
        total = np.abs(deltas[metric])
        flagged[metric] &= largest <= share_max * total


def _anomaly_pattern(f: dict[str, bool], direction: dict[str, str], peak: bool, expected: bool,
                     conversions_flat: bool, traffic_held: bool) -> str:
    """A short code for what moved together, first match wins; peaks have their own codes (never bot traffic)."""
    spikes = {m for m in METRICS if f[m] and direction[m] == "spike"}
    drops = {m for m in METRICS if f[m] and direction[m] == "drop"}
    if peak:
        if expected:
            return "expected_peak"
        if drops:
            return "missed_peak"
        if spikes:
            return "beyond_peak"
        return "cvr_drop"
    if "impressions" in spikes and f["ctr"]:
        return "impressions_up_ctr_down"
    if "spend" in spikes and "conversions" not in spikes and (f["cvr"] or "conversions" in drops or conversions_flat):
        return "spend_up_conversions_flat"
    if "clicks" in spikes and f["cvr"]:
        return "clicks_up_cvr_down"
    if drops == {"conversions"} and traffic_held:
        return "conversions_drop"
    if drops:
        return "drop"
    if f["cvr"]:
        return "cvr_drop"
    if f["ctr"]:
        return "ctr_drop"
    return "spike"


def _anomaly_findings(w: SweepWindow, level: str, idx: np.ndarray, rows: np.ndarray, count: np.ndarray,
                      stats: Mapping[str, tuple[np.ndarray, ...]], flagged: dict[str, np.ndarray],
                      usual_hit: dict[str, np.ndarray], rising: dict[str, np.ndarray], expected_peak: np.ndarray,
                      peak: np.ndarray, factor: np.ndarray, uplift: np.ndarray, spike_at: np.ndarray,
                      conv_ok: np.ndarray, rate_drop: np.ndarray, drop: np.ndarray) -> pd.DataFrame:
    campaign = level == "campaign"
    positions = idx[rows]
    weekday = w.day.day_name()
    currency = _currency(w, campaigns=positions) if campaign else _currency(w, accounts=positions)
    client_pos = (w.campaigns if campaign else w.accounts)["client_pos"].to_numpy()[positions]
    names = w.clients["peak_name"].to_numpy()[client_pos]
    metrics = [*METRICS, *RATES]
    table = {m: [np.round(stats[m][0][rows], 5 if m in RATES else 2).tolist(),
                 np.round(stats[m][1][rows], 5 if m in RATES else 2).tolist(),
                 np.round(stats[m][2][rows], 3).tolist(), flagged[m][rows].tolist(), usual_hit[m][rows].tolist(),
                 rising[m][rows].tolist() if m in rising else [False] * len(rows)]
             for m in metrics}
    evidence, words, severity = [], [], []
    for i, r in enumerate(rows.tolist()):
        cur, on_peak, as_expected = currency[i], bool(peak[r]), bool(expected_peak[r])
        f = {m: table[m][4][i] if as_expected else table[m][3][i] for m in metrics}
        # On a peak day a fall short of the expected level is a drop even above the usual one.
        direction = {m: "spike" if (table[m][5][i] if not as_expected else table[m][2][i] >= 1) else "drop"
                     for m in metrics}
        # Conversions "flat": on a countable baseline, they rose less than half as much as spend (CPA doubled).
        conv_ratio, spend_ratio = table["conversions"][2][i], table["spend"][2][i]
        flat = bool(conv_ok[r]) and conv_ratio == conv_ratio and conv_ratio <= spend_ratio * rate_drop[r]
        # The traffic "held": clicks stayed above halfway between the usual level and a drop.
        clicks_ratio = table["clicks"][2][i]
        held = clicks_ratio == clicks_ratio and clicks_ratio >= (1 + drop[r]) / 2
        pattern = _anomaly_pattern(f, direction, on_peak, as_expected, flat, held)
        listed, phrases = [], []
        for m in metrics:
            if not f[m]:
                continue
            today, baseline, ratio = table[m][0][i], table[m][1][i], table[m][2][i]
            listed.append({"metric": m, "today": today, "baseline": baseline, "ratio": ratio,
                           "direction": direction[m]})
            move = (f"{(ratio - 1) * 100:+.0f}% against the usual {weekday}" if as_expected
                    else _change(ratio, weekday))
            phrases.append(f"{METRIC_NAMES[m]} {move} ({_shown(m, today, cur)} against {_shown(m, baseline, cur)})")
        known = bool(np.isfinite(uplift[r]))
        peak_ev = None
        if on_peak:
            peak_ev = {"name": _text(names[i]) or "key date", "expected_uplift": _num(uplift[r], 3),
                       "expected_ratio": _num(factor[r], 3) if known else None,
                       "band_ratio": _num(spike_at[r] * factor[r], 3)}
        evidence.append({"weekday": weekday, "baseline_weeks": int(count[r]), "metrics": listed, "pattern": pattern,
                         "peak": peak_ev, "currency": cur})
        text = ("" if campaign else "across the account, ") + "; ".join(phrases)
        if on_peak:
            assert peak_ev is not None  # set above on a peak day
            last_year = (f", last year's brought {uplift[r] * 100:+.0f}%" if known
                         else ", no earlier year to compare with")
            lead = f"{peak_ev['name']} ({w.day.date().isoformat()}{last_year}): "
            text = f"{lead}{text}{', as expected' if as_expected else ''}"
        else:
            text = f"{text[0].upper()}{text[1:]}"
        words.append(f"{text}. {ANOMALY_ADVICE[pattern]}.")
        money = any(m["metric"] in ("spend", "conversions", "cvr") for m in listed)
        severity.append("info" if as_expected
                        else "warning" if money or pattern in WARNING_PATTERNS else "info")
    target = {"campaigns": positions} if campaign else {"accounts": positions}
    return _findings(w, "anomaly", severity, evidence, words, **target)


def detect_anomaly(w: SweepWindow) -> pd.DataFrame:
    """Spikes and drops against the same weekday over the previous weeks: campaigns, and account-wide moves."""
    frames = [frame for frame in (_anomalies(w, "campaign"), _anomalies(w, "account")) if len(frame)]
    if not frames:
        return _empty()
    return pd.concat(frames, ignore_index=True)
