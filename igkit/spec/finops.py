"""The matrix's ``finops:`` section: how cost data becomes budget figures (issue 13).

Budgets and their limits stay G6's ``budget_burn`` objectives; this section says in which
currency they are, how FOCUS rows map to budgets, what counts toward burn and how a month is
projected. Every field has a default, so a matrix without the section means: USD, no
conversion, the ``budget``/``component`` tags, tax reported apart, the higher of the linear
and the 7-day run-rate projection, no projection from less than a day.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from igkit.spec.models import Duration, RealNumber

_CURRENCY = r"^[A-Z]{3}$"
_KEY = re.compile(r"(tag:.+|[A-Za-z][A-Za-z0-9_]*)")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AllocationRule(_Strict):
    """Rows whose fields all match (regular expressions, full match) go to ``budget``.

    Keys are FOCUS columns (``ServiceName``, ``SubAccountName``, ...), provider ``x_``
    columns, or ``tag:KEY`` for a key of the ``Tags`` JSON object."""

    match: dict[str, str] = Field(min_length=1)
    budget: str = Field(min_length=1)
    component: str | None = Field(
        default=None, description="fixed component; default: the component tag, else ServiceName"
    )

    @field_validator("match")
    @classmethod
    def _patterns(cls, value: dict[str, str]) -> dict[str, str]:
        for key, pattern in value.items():
            if not _KEY.fullmatch(key):
                raise ValueError(f"match key {key!r}: a FOCUS column, x_ column or tag:KEY")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(
                    f"match[{key}]: {pattern!r} is not a regular expression: {exc}"
                ) from None
        return value


class FinopsSpec(_Strict):
    """``finops:`` — currency, conversion, allocation, burn and projection settings."""

    currency: str = Field(default="USD", pattern=_CURRENCY, description="the budgets' currency")
    rates: dict[str, RealNumber] = Field(
        default_factory=dict,
        description="explicit conversion: 1 unit of KEY = VALUE budget currency; recorded "
        "in the evidence when used; a currency not listed is an ERROR",
    )
    allocation: list[AllocationRule] = Field(
        default_factory=list, description="FOCUS row -> budget; the first matching rule wins"
    )
    budget_tag: str | None = Field(
        default="budget", description="tag naming the budget when no rule matched (null: none)"
    )
    component_tag: str | None = Field(default="component")
    tax_in_burn: bool = False
    run_rate_days: int = Field(default=7, ge=1, le=31)
    projection: Literal["max", "linear", "run_rate"] = Field(
        default="max", description="which projection drives the ladder; max: the higher"
    )
    min_history: Duration = Field(default=timedelta(hours=24))
    max_lag: Duration = Field(
        default=timedelta(days=2),
        description="FOCUS data ending longer than this before the evaluation time: NO_DATA",
    )
    unallocated_max_share: RealNumber | None = Field(
        default=None, ge=0, le=1, description="unallocated / total month-to-date above this fails"
    )
    commitment_term: Duration = Field(
        default=timedelta(days=365),
        description="amortization term of a Purchase row without EffectiveCost",
    )

    @field_validator("rates")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        for code, rate in value.items():
            if not re.fullmatch(_CURRENCY, code):
                raise ValueError(f"rates: {code!r} is not a currency code (ISO 4217, e.g. EUR)")
            if not rate > 0:
                raise ValueError(f"rates.{code}: must be > 0, not {rate}")
        return value

    @field_validator("commitment_term", "min_history")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration")
        return value
