"""Writes tests/fixtures/focus/*.csv: one small FOCUS 1.1 export per case of issue 13.

Run from the repository root: ``python tests/finops/make_focus_fixtures.py``. The files are
committed; the tests compute their expected figures by hand, not from this script.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "focus"
COLUMNS = [
    "BillingPeriodStart",
    "BillingPeriodEnd",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ChargeCategory",
    "ChargeClass",
    "ServiceName",
    "BilledCost",
    "BillingCurrency",
    "ConsumedQuantity",
    "ConsumedUnit",
    "CommitmentDiscountId",
    "Tags",
]
APRIL = datetime(2025, 4, 1, tzinfo=UTC)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def row(
    day: datetime,
    cost: float,
    *,
    category: str = "Usage",
    service: str = "Amazon EC2",
    tags: dict[str, str] | None = None,
    currency: str = "USD",
    charge_class: str = "",
    billing: datetime = APRIL,
    effective: float | None = None,
    quantity: str = "",
    unit: str = "",
    commitment: str = "",
) -> dict[str, str]:
    out = {
        "BillingPeriodStart": _iso(billing),
        "BillingPeriodEnd": _iso((billing + timedelta(days=32)).replace(day=1)),
        "ChargePeriodStart": _iso(day),
        "ChargePeriodEnd": _iso(day + timedelta(days=1)),
        "ChargeCategory": category,
        "ChargeClass": charge_class,
        "ServiceName": service,
        "BilledCost": f"{cost:.2f}",
        "BillingCurrency": currency,
        "ConsumedQuantity": quantity,
        "ConsumedUnit": unit,
        "CommitmentDiscountId": commitment,
        "Tags": json.dumps(tags) if tags is not None else "",
    }
    if effective is not None:
        out["EffectiveCost"] = f"{effective:.2f}"
    return out


def days(n: int, start: datetime = APRIL) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(n)]


INFRA = {"budget": "infra", "component": "ingest"}


def write(name: str, rows: list[dict[str, str]]) -> None:
    columns = COLUMNS + (["EffectiveCost"] if "EffectiveCost" in rows[0] else [])
    with (OUT / name).open("w", newline="") as fh:
        writer = csv.DictWriter(fh, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    write("currency_eur.csv", [row(d, 100, tags=INFRA, currency="EUR") for d in days(10)])
    write(
        "credits.csv",
        [row(d, 100, tags=INFRA) for d in days(10)]
        + [
            row(APRIL + timedelta(days=4), -150, category="Credit", tags=INFRA),
            row(datetime(2025, 3, 20, tzinfo=UTC), -500, category="Credit", tags=INFRA),
        ],
    )
    write(
        "amortized_purchase.csv",
        [row(d, 100, tags=INFRA) for d in days(10)]
        + [row(APRIL, 3650, category="Purchase", tags=INFRA, commitment="ri-1")],
    )
    write(
        "amortized_effective.csv",
        [row(d, 0, tags=INFRA, effective=100, commitment="ri-1") for d in days(10)]
        + [row(APRIL, 3650, category="Purchase", tags=INFRA, effective=0, commitment="ri-1")],
    )
    write(
        "tax.csv",
        [row(d, 100, tags=INFRA) for d in days(10)]
        + [row(d, 10, category="Tax", service="Tax", tags=INFRA) for d in days(10)],
    )
    write(
        "correction.csv",
        [row(d, 100, tags=INFRA) for d in days(10)]
        + [
            row(
                datetime(2025, 3, 15, tzinfo=UTC),
                -200,
                category="Adjustment",
                charge_class="Correction",
                tags=INFRA,
            )
        ],
    )
    write(
        "untagged.csv",
        [row(d, 100, tags=INFRA, quantity="2000000", unit="Events") for d in days(10)]
        + [row(d, 50, service="Azure OpenAI") for d in days(10)]
        + [row(d, 20, service="Support") for d in days(10)],
    )
    write(
        "stepup.csv",
        [row(d, 365, tags=INFRA) for d in days(11)]
        + [row(d, 1077, tags=INFRA) for d in days(7, APRIL + timedelta(days=11))]
        + [row(d, 100, service="Azure OpenAI") for d in days(18)],
    )
    realistic()


FOCUS_11 = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "ConsumedQuantity",
    "ConsumedUnit",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "SubAccountId",
    "Tags",
    "x_CostCenter",
]


def realistic() -> None:
    """A FOCUS 1.1 export in EUR with every case at once, UTF-8 BOM and CRLF line ends."""
    out: list[dict[str, str]] = []

    def add(
        day: datetime, category: str, service: str, billed: float, effective: float, **kw: str
    ) -> None:
        r = dict.fromkeys(FOCUS_11, "")
        r.update(
            BilledCost=f"{billed:.2f}",
            EffectiveCost=f"{effective:.2f}",
            ListCost=f"{max(billed, effective):.2f}",
            ContractedCost=f"{effective:.2f}",
            BillingAccountId="ba-1",
            BillingAccountName="IntelGraph",
            BillingCurrency="EUR",
            BillingPeriodStart=_iso(kw.pop("billing", APRIL)),
            BillingPeriodEnd="2025-05-01T00:00:00Z",
            ChargeCategory=category,
            ChargeFrequency="Usage-Based",
            ChargePeriodStart=_iso(day),
            ChargePeriodEnd=_iso(day + timedelta(days=1)),
            InvoiceIssuerName="Cloud",
            ProviderName="Cloud",
            PublisherName="Cloud",
            RegionId="eu-west-1",
            ServiceCategory="Compute",
            ServiceName=service,
            SubAccountId="sa-1",
        )
        r.update(kw)
        out.append(r)

    infra = json.dumps({"budget": "infra", "component": "ingest"})
    storage = json.dumps({"budget": "infra", "component": "storage"})
    for d in days(10):
        add(
            d,
            "Usage",
            "Amazon EC2",
            0,
            50,
            Tags=infra,
            CommitmentDiscountId="ri-1",
            CommitmentDiscountStatus="Used",
            ConsumedQuantity="1000000",
            ConsumedUnit="Events",
        )
        add(
            d,
            "Usage",
            "Amazon EC2",
            0,
            5,
            Tags=infra,
            CommitmentDiscountId="ri-1",
            CommitmentDiscountStatus="Unused",
        )
        add(d, "Usage", "Amazon S3", 20, 20, Tags=storage, x_CostCenter="cc-7")
        add(d, "Usage", "Azure OpenAI", 30, 30)
        add(d, "Usage", "Support", 4, 4)
        add(d, "Tax", "Amazon EC2", 2, 2, Tags=infra, ChargeDescription="VAT")
    add(
        APRIL,
        "Purchase",
        "Amazon EC2",
        1825,
        0,
        Tags=infra,
        CommitmentDiscountId="ri-1",
        ChargeFrequency="One-Time",
    )
    add(APRIL + timedelta(days=5), "Credit", "Amazon EC2", -30, -30, Tags=infra)
    add(
        datetime(2025, 3, 20, tzinfo=UTC),
        "Adjustment",
        "Azure OpenAI",
        -15,
        -15,
        ChargeClass="Correction",
    )
    with (OUT / "realistic_focus_1_1.csv").open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.DictWriter(fh, FOCUS_11, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(out)


if __name__ == "__main__":
    main()
