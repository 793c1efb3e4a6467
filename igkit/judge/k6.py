"""G5: judge a k6 scenario from window-table snapshots (never from the raw file).

A scenario FAILs when ``consecutive_failing_windows`` windows in a row fail (p95 over target
or error rate over the limit, each window with enough samples), or when the whole-run p95
or error rate fails. A thin window, a damaged file, or a scenario absent from every file
makes it NO_DATA; a file that could not be read makes it ERROR.
"""

from __future__ import annotations

import math

import numpy as np

from igkit.snapshots import ALL, K6Snapshot, K6SummarySnapshot, K6Table, params_for
from igkit.spec.models import K6Objective, K6Settings, Threshold
from igkit.timeutil import short_time
from igkit.units import Unit, fmt, from_base, to_base
from igkit.verdicts import ObjectiveVerdict, SeriesVerdict, Status, worst


def _ms(seconds: float | None, unit: Unit) -> str:
    return fmt(None if seconds is None else from_base(seconds, unit), unit)


def _judge_table(
    table: K6Table, obj: K6Objective, settings: K6Settings, max_err: Threshold, label: str
) -> tuple[Status, str, float | None, int, dict[str, bool]]:
    """(status, reason, observed p95 in threshold unit or error rate, failing windows,
    whole-run checks: ``latency``/``errors`` -> held).

    Every objective judges the error rate (``failed_metric``) and, with ``p95``, the latency
    (``latency_metric``): a judged metric without points, a table that cannot be judged,
    or a window without enough samples of a judged metric is NO_DATA, never PASS."""
    wins = table.windows
    n = len(wins)
    unusable = _unusable(table, obj, settings)
    if unusable:
        return Status.NO_DATA, f"{label}: {unusable}", None, 0, {}
    samples = np.array([w.latency_samples for w in wins])
    p95 = np.array([w.p95_seconds if w.p95_seconds is not None else np.nan for w in wins])
    req = np.array([w.requests for w in wins], dtype=np.float64)
    err = np.divide(
        np.array([w.failed for w in wins], dtype=np.float64),
        req,
        out=np.zeros_like(req),
        where=req > 0,
    )
    err_limit = to_base(max_err.value, max_err.unit)
    thin, slow, erring = window_flags(table, obj, settings, max_err)
    bad = slow | erring
    need = settings.consecutive_failing_windows
    run = longest = 0
    end_idx = -1
    for i, b in enumerate(bad.tolist()):
        run = run + 1 if b else 0
        if run > longest:
            longest, end_idx = run, i
    whole_err = table.failed / table.requests if table.requests else None
    whole: dict[str, bool] = {}
    if obj.p95 is not None and table.p95_seconds is not None:
        whole["latency"] = table.p95_seconds <= to_base(obj.p95.value, obj.p95.unit)
    if whole_err is not None:
        whole["errors"] = whole_err <= err_limit
    reasons = []
    status = Status.PASS
    unit = obj.p95.unit if obj.p95 else Unit.MS
    if (
        obj.p95 is not None
        and table.p95_seconds is not None
        and table.p95_seconds > to_base(obj.p95.value, obj.p95.unit)
    ):
        status = Status.FAIL
        reasons.append(f"whole-run p95 {_ms(table.p95_seconds, unit)} > {fmt(obj.p95.value, unit)}")
    if whole_err is not None and whole_err > err_limit:
        status = Status.FAIL
        reasons.append(
            f"whole-run error rate {fmt(from_base(whole_err, max_err.unit), max_err.unit)} > "
            f"{fmt(max_err.value, max_err.unit)} ({table.failed} of {table.requests} requests)"
        )
    if longest >= need:
        status = Status.FAIL
        start = end_idx - longest + 1
        what = []
        if slow[start : end_idx + 1].any():
            worst_p95 = float(np.nanmax(p95[start : end_idx + 1]))
            what.append(
                f"p95 up to {_ms(worst_p95, unit)} > {fmt(obj.p95.value, unit)}" if obj.p95 else ""
            )
        if erring[start : end_idx + 1].any():
            worst_err = float(err[start : end_idx + 1].max())
            what.append(f"error rate up to {fmt(from_base(worst_err, max_err.unit), max_err.unit)}")
        reasons.append(
            f"{longest} consecutive failing {int(settings.window.total_seconds())}s windows "
            f"({short_time(wins[start].start.timestamp())}–{short_time(wins[end_idx].end.timestamp())} UTC): "
            + ", ".join(w for w in what if w)
        )
    if status is Status.PASS:
        if table.latency_samples == 0 and table.requests == 0:
            return (
                Status.NO_DATA,
                f"{label}: no samples of this scenario in the file",
                None,
                int(bad.sum()),
                whole,
            )
        if thin.any():
            idx = np.flatnonzero(thin)
            status = Status.NO_DATA
            first = idx[0]
            held = int(min(samples[first], req[first])) if obj.p95 is not None else int(req[first])
            reasons.append(
                f"{len(idx)} of {n} windows hold fewer than {settings.min_samples_per_window} samples "
                f"(first at {short_time(wins[first].start.timestamp())} UTC, {held} samples)"
            )
        else:
            parts = []
            if obj.p95 is not None:
                parts.append(f"p95 {_ms(table.p95_seconds, unit)} <= {fmt(obj.p95.value, unit)}")
            if whole_err is not None:
                parts.append(f"error rate {fmt(from_base(whole_err, max_err.unit), max_err.unit)}")
            blips = f"; {int(bad.sum())} isolated failing window(s) tolerated" if bad.any() else ""
            reasons.append(
                f"{', '.join(parts)} over {table.latency_samples} samples in {n} windows{blips}"
            )
    observed = None
    if obj.p95 is not None and table.p95_seconds is not None:
        observed = from_base(table.p95_seconds, obj.p95.unit)
    elif obj.p95 is None and whole_err is not None:
        observed = from_base(whole_err, max_err.unit)
    if status is Status.PASS and observed is None:  # nothing was judged: never a PASS
        status = Status.NO_DATA
        reasons.append("no observed value")
    return status, f"{label}: " + "; ".join(reasons), observed, int(bad.sum()), whole


def window_flags(
    table: K6Table, obj: K6Objective, settings: K6Settings, max_err: Threshold
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per window of ``table``: (thin, slow, erring). Thin: too few samples of a judged
    metric to judge it; slow: p95 over ``obj.p95``; erring: error rate over ``max_err``. A
    thin window is neither slow nor erring. The judge and the reports' window table both use
    this, so a report can never mark a window differently from the verdict."""
    wins = table.windows
    samples = np.array([w.latency_samples for w in wins], dtype=np.float64)
    p95 = np.array([np.nan if w.p95_seconds is None else w.p95_seconds for w in wins])
    req = np.array([w.requests for w in wins], dtype=np.float64)
    failed = np.array([w.failed for w in wins], dtype=np.float64)
    err = np.divide(failed, req, out=np.zeros_like(req), where=req > 0)
    thin = req < settings.min_samples_per_window
    if obj.p95 is not None:
        thin |= (samples < settings.min_samples_per_window) | np.isnan(p95)
    slow = np.zeros(len(wins), dtype=bool)
    if obj.p95 is not None:
        with np.errstate(invalid="ignore"):
            slow = ~thin & (p95 > to_base(obj.p95.value, obj.p95.unit))
    erring = (req > 0) & (err > to_base(max_err.value, max_err.unit)) & ~thin
    return thin, slow, erring


def window_statuses(
    snap: K6Snapshot, table: K6Table, obj: K6Objective, settings: K6Settings
) -> list[Status]:
    """Each window's status as the reports show it: FAIL (slow or erring), NO_DATA (thin,
    or the table or file cannot be judged as a whole), ERROR (cut with other settings than
    the matrix's), else PASS. Fail closed: a window is PASS only where the judge could
    have judged it."""
    n = len(table.windows)
    if snap.params != params_for(settings):
        return [Status.ERROR] * n
    thin, slow, erring = window_flags(
        table, obj, settings, obj.max_error_rate or settings.max_error_rate
    )
    usable = _unusable(table, obj, settings) is None and snap.complete
    return [
        Status.FAIL if b else Status.NO_DATA if t or not usable else Status.PASS
        for t, b in zip(thin.tolist(), (slow | erring).tolist(), strict=True)
    ]


def _unusable(table: K6Table, obj: K6Objective, settings: K6Settings) -> str | None:
    """Why a table cannot be judged for ``obj`` (a judged metric has no points, no windows,
    too many windows, impossible counts or a missing/NaN p95), or None."""
    if obj.p95 is not None and table.latency_samples == 0:
        return f"no {settings.latency_metric} points for this scenario in the file"
    if table.requests == 0:
        return (
            f"no {settings.failed_metric} points for this scenario in the file (error rate unknown)"
        )
    if not table.windows:
        return (
            f"the scenario's windows hold fewer than {settings.min_samples_per_window} samples "
            f"on average ({table.latency_samples} latency samples, {table.requests} requests "
            "in the whole run): too few to judge its windows"
        )
    if len(table.windows) > settings.max_windows:
        return (
            f"{len(table.windows):,} windows exceed k6.max_windows {settings.max_windows:,}: "
            "damaged or mixed file"
        )
    counts = [(table.latency_samples, table.requests, table.failed)] + [
        (w.latency_samples, w.requests, w.failed) for w in table.windows
    ]
    if any(s < 0 or r < 0 or not 0 <= f <= r for s, r, f in counts) or (
        sum(w.requests for w in table.windows) != table.requests
        or sum(w.failed for w in table.windows) != table.failed
        or sum(w.latency_samples for w in table.windows) != table.latency_samples
    ):
        return "the window table's counts are inconsistent (negative, failed > requests, or windows do not add up)"
    if obj.p95 is not None and (table.p95_seconds is None or math.isnan(table.p95_seconds)):
        return f"whole-run p95 of {settings.latency_metric} is missing"
    return None


def evaluate_k6(
    gate_id: str,
    obj: K6Objective,
    settings: K6Settings,
    snapshots: list[K6Snapshot],
    summaries: list[K6SummarySnapshot],
) -> ObjectiveVerdict:
    target = obj.scenario or ALL
    max_err = obj.max_error_rate or settings.max_error_rate
    shown = obj.p95 or max_err
    base = {
        "name": obj.name,
        "description": obj.description
        or (f"k6 scenario {obj.scenario}" if obj.scenario else "all k6 requests"),
        "threshold": shown.value,
        "unit": shown.unit.value,
        "comparison": "<=",
        "rule": (
            f"k6 windows of {int(settings.window.total_seconds())}s: FAIL on {settings.consecutive_failing_windows} "
            f"consecutive failing windows or a failing whole run; error rate <= {fmt(max_err.value, max_err.unit)}"
        ),
        "snapshots": [s.id for s in snapshots] + [s.id for s in summaries],
    }
    what = f"{gate_id} {obj.name}"
    if not snapshots:
        return ObjectiveVerdict(
            status=Status.NO_DATA,
            reasons=[f"{what}: no k6 results were given (igkit go-no-go --k6 FILE)"],
            **base,
        )
    expected = params_for(settings)
    statuses: list[Status] = []
    whole_runs: list[dict[str, bool]] = []
    reasons: list[str] = []
    series: list[SeriesVerdict] = []
    observed: list[float] = []
    for snap in snapshots:
        label = f"{what} [{snap.file}]"
        if snap.status == "error":
            statuses.append(Status.ERROR)
            reasons.append(f"{label}: {snap.error} (snapshot {snap.id})")
            continue
        if snap.status == "no_data":
            statuses.append(Status.NO_DATA)
            reasons.append(f"{label}: {snap.error} (snapshot {snap.id})")
            continue
        if snap.params != expected:
            statuses.append(Status.ERROR)
            reasons.append(
                f"{label}: snapshot was cut with {snap.params.model_dump()} but the matrix now says "
                f"{expected.model_dump()}; evaluate the k6 file again (snapshot {snap.id})"
            )
            continue
        table = snap.overall if target == ALL else snap.scenarios.get(target)
        if table is None and target == ALL:
            statuses.append(Status.NO_DATA)
            reasons.append(
                f"{label}: no {settings.latency_metric} or {settings.failed_metric} points "
                f"in the file (snapshot {snap.id})"
            )
            continue
        if table is None:
            continue
        status, reason, obs, n_bad, whole = _judge_table(table, obj, settings, max_err, label)
        whole_runs.append(whole)
        if not snap.complete and status is not Status.FAIL:
            status = Status.NO_DATA
            reason += f"; the file is incomplete ({'; '.join(snap.problems) or 'lines skipped'})"
        statuses.append(status)
        if obs is not None:
            observed.append(obs)
        if status is not Status.PASS or len(snapshots) == 1:
            reasons.append(f"{reason} (snapshot {snap.id})")
        series.append(
            SeriesVerdict(
                labels={"file": snap.file, "scenario": target},
                status=status,
                observed=obs,
                coverage=1.0 if status is not Status.NO_DATA else 0.0,
                steps_expected=len(table.windows),
                steps_present=sum(
                    w.latency_samples >= settings.min_samples_per_window for w in table.windows
                ),
                steps_violating=n_bad,
                reason=reason,
            )
        )
    if not statuses:
        files = ", ".join(s.file for s in snapshots)
        return ObjectiveVerdict(
            status=Status.NO_DATA,
            reasons=[f"{what}: scenario {target!r} named in the matrix is absent from {files}"],
            **base,
        )
    status = worst(statuses)
    if status is Status.PASS and not observed:  # a PASS always rests on an observed value
        status = Status.NO_DATA
        reasons.append(f"{what}: no observed value in any file")
    merged = {
        k: all(w[k] for w in whole_runs if k in w)
        for k in ("latency", "errors")
        if any(k in w for w in whole_runs)
    }
    warnings = _k6_disagreement(what, obj, settings, merged, summaries)
    return ObjectiveVerdict(
        warnings=warnings,
        status=status,
        observed=max(observed) if observed else None,
        coverage=min((s.coverage for s in series), default=0.0),
        reasons=(reasons or [f"{what}: PASS in every file"]) + warnings,
        series=series,
        details={
            f"k6 threshold {t.metric}: {t.expression}": "ok" if t.ok else "failed"
            for s in summaries
            for t in s.thresholds
            if concerns(t.metric, obj, settings)
        },
        **base,
    )


def concerns(metric_key: str, obj: K6Objective, settings: K6Settings) -> bool:
    """Whether a k6 threshold's metric key (``http_req_duration{scenario:x}``) is about what
    ``obj`` judges: its latency or failed metric, for its scenario (untagged: every request)."""
    metric, _, tags = metric_key.partition("{")
    if metric not in (settings.latency_metric, settings.failed_metric):
        return False
    if obj.scenario is None:
        return not tags
    return tags.rstrip("}") == f"{settings.scenario_tag}:{obj.scenario}"


def _k6_disagreement(
    what: str,
    obj: K6Objective,
    settings: K6Settings,
    verdict: dict[str, bool],
    summaries: list[K6SummarySnapshot],
) -> list[str]:
    """Compare k6's own thresholds with igkit's whole-run judgement of the same statistic:
    a p95 threshold on the latency metric with igkit's p95 check, a rate threshold on the
    failed metric with its error-rate check. Say so when they point different ways."""
    out = []
    for s in summaries:
        for t in s.thresholds:
            if not concerns(t.metric, obj, settings):
                continue
            stat = t.expression.replace(" ", "")
            if t.metric.startswith(settings.latency_metric) and stat.startswith("p(95)"):
                mine = verdict.get("latency")
            elif t.metric.startswith(settings.failed_metric) and stat.startswith("rate"):
                mine = verdict.get("errors")
            else:
                continue
            if mine is not None and mine != t.ok:
                out.append(
                    f"{what}: k6 disagrees — its threshold {t.metric} {t.expression} "
                    f"{'passed' if t.ok else 'failed'} in {s.file}, igkit's whole-run check "
                    f"{'passed' if mine else 'failed'} (snapshot {s.id})"
                )
    return out
