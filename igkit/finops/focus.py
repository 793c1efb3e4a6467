"""FOCUS 1.0/1.1 cost exports (CSV) -> cost frame, with the FOCUS semantics that matter for a
budget (https://focus.finops.org):

* **currency**: ``BillingCurrency`` must be the matrix's ``finops.currency``; another currency
  is an error naming it, unless ``finops.rates`` lists it (then converted and recorded);
* **cost**: ``EffectiveCost`` when the file has it (amortized: commitment purchase rows carry
  0 there and the covered usage rows carry their share, so nothing is counted twice), else
  ``BilledCost`` with every ``Purchase`` row spread evenly per day over
  ``finops.commitment_term`` from its ``ChargePeriodStart``;
* **ChargeCategory**: Usage counts; Credit and Adjustment count (negative) in the period they
  apply to; Tax is its own category (burn only with ``finops.tax_in_burn``);
* **ChargeClass** ``Correction``: counted in its ``BillingPeriodStart`` month;
* **allocation**: ``finops.allocation`` rules (first match wins), then ``finops.budget_tag``;
  a row nothing maps, or mapped to a budget the matrix does not have, is ``unallocated``.

Malformed input (duplicate columns, a missing column, NaN or non-numeric cost, an unparseable
date, an unknown category, Tags that are not a JSON object) raises :class:`CostDataError`
with one line naming the file, row and column.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from igkit.errors import IgkitError
from igkit.finops.costs import COST_COLUMNS, UNALLOCATED, CostDataError
from igkit.spec.finops import FinopsSpec
from igkit.strictdoc import load_json

REQUIRED = (
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "BilledCost",
    "BillingCurrency",
    "ChargeCategory",
)
_CATEGORY = {
    "usage": "usage",
    "credit": "credit",
    "adjustment": "adjustment",
    "purchase": "purchase",
    "tax": "tax",
}
_DAY = pd.Timedelta(days=1)


@dataclass(frozen=True)
class FocusCosts:
    """A FOCUS export read for the budgets: the cost frame, the rows with a consumed quantity
    for unit costs (``time, end, budget, component, quantity, unit, cost``), the conversions applied (currency ->
    rate and row count: evidence), the end of the data, and the file's SHA-256."""

    costs: pd.DataFrame
    usage: pd.DataFrame
    path: str
    sha256: str
    currency: str
    conversions: dict[str, dict[str, float]] = field(default_factory=dict)
    data_end: pd.Timestamp | None = None

    def lag_problem(self, at: pd.Timestamp | str, spec: FinopsSpec) -> str | None:
        """Why the file cannot say month-to-date at ``at``: it ends more than
        ``finops.max_lag`` before it (None when recent enough)."""
        at_ts = pd.Timestamp(at)
        at_ts = at_ts.tz_localize("UTC") if at_ts.tzinfo is None else at_ts
        if self.data_end is None:
            return f"{self.path}: no rows; spend unknown"
        lag = at_ts - self.data_end
        if lag > pd.Timedelta(spec.max_lag):
            return (
                f"{self.path}: FOCUS data ends {self.data_end:%Y-%m-%d %H:%M} UTC, "
                f"{lag} before {at_ts:%Y-%m-%d %H:%M} UTC (finops.max_lag {spec.max_lag}); "
                "month-to-date spend unknown"
            )
        return None


def _rows(mask: np.ndarray) -> str:
    idx = np.flatnonzero(mask) + 1
    shown = ", ".join(str(i) for i in idx[:5])
    return f"row {shown}" if len(idx) == 1 else f"rows {shown}" + (" ..." if len(idx) > 5 else "")


def _read_table(path: Path) -> tuple[pd.DataFrame, bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CostDataError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CostDataError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), skipinitialspace=True) if r]
    except csv.Error as exc:
        raise CostDataError(f"{path}: malformed CSV: {exc}") from None
    header = rows[0] if rows else []
    names = [h.strip() for h in header]
    dup = sorted({h for h in names if names.count(h) > 1})
    if dup:
        raise CostDataError(f"{path}: duplicate column(s) {', '.join(dup)}")
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise CostDataError(f"{path}: not a FOCUS export, missing column(s) {', '.join(missing)}")
    widths = np.fromiter((len(r) for r in rows[1:]), dtype=np.int64, count=len(rows) - 1)
    ragged = widths != len(names)
    if ragged.any():
        i = int(np.flatnonzero(ragged)[0])
        raise CostDataError(
            f"{path}: {_rows(ragged)}: {widths[i]} fields, the header has {len(names)}"
        )
    return pd.DataFrame(rows[1:], columns=names, dtype=object), data


def _dates(raw: pd.DataFrame, column: str, path: Path, *, required: np.ndarray) -> pd.Series:
    text = raw[column]
    parsed = pd.to_datetime(text.where(text != ""), utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy() & required
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CostDataError(
            f"{path}: {_rows(bad)}: {column} {text.iloc[i]!r} is not a date (ISO 8601)"
        )
    return parsed


def _numbers(raw: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    text = raw[column]
    values = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CostDataError(
            f"{path}: {_rows(bad)}: {column} {text.iloc[i]!r} is not a finite number"
        )
    return values


def _tags(raw: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The Tags JSON objects as columns (missing key: ""); each distinct text parsed once,
    strictly (duplicate keys, NaN, depth), an error naming its first row."""
    if "Tags" not in raw.columns:
        return pd.DataFrame(index=raw.index)
    codes, texts = pd.factorize(raw["Tags"], sort=False)
    _, first = np.unique(codes, return_index=True)
    parsed: list[dict[str, str]] = []
    for j, text in enumerate(texts.tolist()):
        row = int(first[j]) + 1
        if text == "":
            parsed.append({})
            continue
        try:
            value = load_json(text, where=f"{path}: row {row}: Tags")
        except IgkitError as exc:
            raise CostDataError(str(exc).splitlines()[0]) from None
        if not isinstance(value, dict):
            raise CostDataError(f"{path}: row {row}: Tags is not a JSON object")
        parsed.append({str(k): "" if v is None else str(v) for k, v in value.items()})
    distinct = pd.DataFrame(parsed, dtype=object).fillna("")
    if distinct.shape[1] == 0:
        return pd.DataFrame(index=raw.index)
    out = distinct.iloc[codes].reset_index(drop=True)
    out.index = raw.index
    return out


def _field(raw: pd.DataFrame, tags: pd.DataFrame, key: str) -> pd.Series | None:
    if key.startswith("tag:"):
        name = key.removeprefix("tag:")
        return tags[name].astype(str) if name in tags.columns else None
    return raw[key] if key in raw.columns else None


def _allocate(
    raw: pd.DataFrame, tags: pd.DataFrame, spec: FinopsSpec, budgets: Collection[str] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Budget and component per row: the first matching rule, then the budget tag."""
    n = len(raw)
    budget = np.full(n, None, dtype=object)
    fixed_component = np.full(n, None, dtype=object)
    for rule in spec.allocation:
        mask = np.ones(n, dtype=bool)
        for key, pattern in rule.match.items():
            values = _field(raw, tags, key)
            if values is None:
                mask[:] = False
                break
            mask &= values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        take = mask & pd.isna(budget)
        budget[take] = rule.budget
        if rule.component is not None:
            fixed_component[take] = rule.component
    if spec.budget_tag is not None and spec.budget_tag in tags.columns:
        tagged = tags[spec.budget_tag].to_numpy(dtype=object)
        take = pd.isna(budget) & (tagged != "")
        budget[take] = tagged[take]
    budget = np.where(pd.isna(budget), UNALLOCATED, budget)
    if budgets is not None:
        budget = np.where(np.isin(budget, list(budgets)), budget, UNALLOCATED)
    service = raw["ServiceName"] if "ServiceName" in raw.columns else pd.Series("", index=raw.index)
    component = service.to_numpy(dtype=object)
    if spec.component_tag is not None and spec.component_tag in tags.columns:
        tagged = tags[spec.component_tag].to_numpy(dtype=object)
        component = np.where(tagged != "", tagged, component)
    component = np.where(pd.isna(fixed_component), component, fixed_component)
    return budget.astype(object), component.astype(object)


def _convert(
    raw: pd.DataFrame, cost: np.ndarray, spec: FinopsSpec, path: Path
) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    currency = raw["BillingCurrency"].str.upper().to_numpy(dtype=object)
    conversions: dict[str, dict[str, float]] = {}
    out = cost.copy()
    for code in sorted(set(currency.tolist()) - {spec.currency}):
        rows = currency == code
        if code not in spec.rates:
            shown = repr(code) if code else "(empty)"
            raise CostDataError(
                f"{path}: {_rows(rows)}: BillingCurrency {shown}, but the budgets are in "
                f"{spec.currency}; no silent conversion (list an explicit rate in finops.rates)"
            )
        out[rows] = cost[rows] * spec.rates[code]
        conversions[code] = {"rate": spec.rates[code], "rows": float(rows.sum())}
    return out, conversions


def _amortize(frame: pd.DataFrame, term: pd.Timedelta) -> pd.DataFrame:
    """Every purchase row -> one row per day of ``term`` from its time, amount spread evenly
    by duration (the last day may be partial)."""
    purchase = frame["category"].to_numpy() == "purchase"
    if not purchase.any():
        return frame
    rows = frame[purchase]
    days = math.ceil(term / _DAY)
    offsets = np.arange(days)
    weight = np.minimum(1.0, (term / _DAY) - offsets) / (term / _DAY)
    spread = rows.loc[rows.index.repeat(days)].reset_index(drop=True)
    spread["time"] = spread["time"] + pd.to_timedelta(np.tile(offsets, len(rows)), unit="D")
    spread["cost"] = spread["cost"].to_numpy() * np.tile(weight, len(rows))
    out: pd.DataFrame = pd.concat([frame[~purchase], spread], ignore_index=True)
    return out


def read_focus(
    path: str | Path, spec: FinopsSpec | None = None, *, budgets: Collection[str] | None = None
) -> FocusCosts:
    """Read a FOCUS CSV export into a cost frame in ``spec.currency`` (see the module doc).

    ``budgets``: the matrix's budget names; a row allocated to any other name is unallocated."""
    spec = spec or FinopsSpec()
    path = Path(path)
    raw, data = _read_table(path)
    n = len(raw)
    everywhere = np.ones(n, dtype=bool)
    category_text = raw["ChargeCategory"].str.lower()
    category = category_text.map(_CATEGORY)
    bad = category.isna().to_numpy()
    if bad.any():
        value = raw["ChargeCategory"].iloc[int(np.flatnonzero(bad)[0])]
        raise CostDataError(
            f"{path}: {_rows(bad)}: ChargeCategory {value!r} is not Usage, Purchase, Tax, "
            "Credit or Adjustment"
        )
    start = _dates(raw, "ChargePeriodStart", path, required=everywhere)
    end = _dates(raw, "ChargePeriodEnd", path, required=everywhere)
    backwards = (end < start).to_numpy()
    if backwards.any():
        raise CostDataError(
            f"{path}: {_rows(backwards)}: ChargePeriodEnd is before ChargePeriodStart"
        )
    time = start.copy()
    if "ChargeClass" in raw.columns:
        correction = (raw["ChargeClass"].str.lower() == "correction").to_numpy()
        if correction.any():
            if "BillingPeriodStart" not in raw.columns:
                raise CostDataError(
                    f"{path}: {_rows(correction)}: ChargeClass Correction needs BillingPeriodStart"
                )
            billing = _dates(raw, "BillingPeriodStart", path, required=correction)
            time = time.where(~correction, billing)
    effective = "EffectiveCost" in raw.columns
    cost = _numbers(raw, "EffectiveCost" if effective else "BilledCost", path)
    positive_credit = (category == "credit").to_numpy() & (cost > 0)
    if positive_credit.any():
        raise CostDataError(
            f"{path}: {_rows(positive_credit)}: a Credit with a positive cost (FOCUS credits are negative)"
        )
    cost, conversions = _convert(raw, cost, spec, path)
    tags = _tags(raw, path)
    budget, component = _allocate(raw, tags, spec, budgets)
    frame = pd.DataFrame(
        {
            "time": time.astype("datetime64[ns, UTC]"),
            "budget": budget,
            "component": component,
            "category": category.to_numpy(dtype=object),
            "cost": cost,
            "source": "focus",
        },
        columns=COST_COLUMNS,
    )
    if effective:
        _no_double_count(raw, frame, path)
    else:
        frame = _amortize(frame, pd.Timedelta(spec.commitment_term))
    usage = _usage(raw, time, end, cost, budget, component, path)
    frame = frame.sort_values("time", kind="stable").reset_index(drop=True)
    return FocusCosts(
        costs=frame,
        usage=usage,
        path=str(path),
        sha256=hashlib.sha256(data).hexdigest(),
        currency=spec.currency,
        conversions=conversions,
        data_end=end.max() if n else None,
    )


def _no_double_count(raw: pd.DataFrame, frame: pd.DataFrame, path: Path) -> None:
    """With EffectiveCost a commitment's purchase row must carry 0 (FOCUS: its cost is
    amortized onto the usage it covers); a non-zero one would be counted twice."""
    if "CommitmentDiscountId" not in raw.columns:
        return
    twice = (
        (frame["category"].to_numpy() == "purchase")
        & (raw["CommitmentDiscountId"].to_numpy() != "")
        & (frame["cost"].to_numpy() != 0)
    )
    if twice.any():
        raise CostDataError(
            f"{path}: {_rows(twice)}: a commitment Purchase with a non-zero EffectiveCost would be "
            "counted twice (FOCUS: 0 on the purchase, amortized onto the usage it covers)"
        )


def _usage(
    raw: pd.DataFrame,
    time: pd.Series,
    end: pd.Series,
    cost: np.ndarray,
    budget: np.ndarray,
    component: np.ndarray,
    path: Path,
) -> pd.DataFrame:
    columns = ["time", "end", "budget", "component", "quantity", "unit", "cost"]
    if "ConsumedQuantity" not in raw.columns:
        return pd.DataFrame(columns=columns)
    text = raw["ConsumedQuantity"]
    quantity = pd.to_numeric(text.where(text != ""), errors="coerce").to_numpy(dtype=np.float64)
    bad = (text != "").to_numpy() & ~np.isfinite(quantity)
    if bad.any():
        value = text.iloc[int(np.flatnonzero(bad)[0])]
        raise CostDataError(
            f"{path}: {_rows(bad)}: ConsumedQuantity {value!r} is not a finite number"
        )
    unit = raw["ConsumedUnit"] if "ConsumedUnit" in raw.columns else pd.Series("", index=raw.index)
    out = pd.DataFrame(
        {
            "time": time,
            "end": end,
            "budget": budget,
            "component": component,
            "quantity": quantity,
            "unit": unit,
            "cost": cost,
        }
    )
    kept: pd.DataFrame = out[np.isfinite(quantity)].reset_index(drop=True)
    return kept


def read_focus_csv(
    path: str | Path, spec: FinopsSpec | None = None, *, budgets: Collection[str] | None = None
) -> pd.DataFrame:
    """The cost frame of :func:`read_focus` alone."""
    return read_focus(path, spec, budgets=budgets).costs
