"""Company reference and analyst tables (SPEC §10.9, §10.11, §10.12): snapshots as KIS showed
them on `as_of` (the fetch date), one partition per as_of, so every refresh stays visible point
in time. Their schemas are `common.company_schemas`."""

from __future__ import annotations

from kis_pipeline.common.company_schemas import (
    ADJ_FACTORS,
    BONUS_ISSUES,
    CAPITAL_REDUCTIONS,
    COMPANY,
    CORPORATE_ACTIONS,
    LISTING_EVENTS,
    LISTINGS,
    MERGERS,
    RIGHTS_ISSUES,
)
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

# No row twice, and no record KIS sent was refused.
GATES = ("unique_keys", "no_rejects")
KEYS = {
    "stock_info": ("as_of", "symbol"),
    "stock_status": ("as_of", "symbol"),
    "analyst_opinions": ("as_of", "date", "symbol", "broker"),
    "analyst_estimates": ("as_of", "symbol", "period"),
    "condition_results": ("as_of", "condition", "symbol"),
}
DESCRIPTIONS = {
    "stock_info": "listing and delisting dates, shares, par value, sector and product kind, "
    "delisted names included",
    "stock_status": "a stock's trading status after the session: VI, halt, market warning, "
    "short-sale overheating, credit, price limits",
    "analyst_opinions": "a broker's opinion and target price on a symbol, by report date",
    "analyst_estimates": "KIS Research's actual and estimated results of a fiscal year",
    "condition_results": "a name a saved screening condition (KIS_CONDITION) matched, by rank",
}

for _name, _schema in COMPANY.items():
    _key = KEYS[_name]
    register_table(
        TableSpec(
            _name,
            _schema,
            "date",
            "as_of",
            _key,
            (*_key[1:], "as_of"),
            f"One row per ({', '.join(_key)}): {DESCRIPTIONS[_name]}.",
            gates=GATES,
        )
    )

register_table(
    TableSpec(
        "listing_events",
        LISTING_EVENTS,
        "year",
        "date",
        ("date", "symbol", "reason", "shares"),
        ("date", "symbol"),
        "One row per share listing (date, symbol, reason, shares): the KSD listing schedule, "
        "IPOs (`신규상장`) and new shares of listed names, delisted names included.",
        gates=GATES,
    )
)
register_table(
    TableSpec(
        "bonus_issues",
        BONUS_ISSUES,
        "year",
        "record_date",
        ("symbol", "record_date", "share_class"),
        ("record_date", "symbol"),
        "One row per bonus issue (symbol, record_date, share_class): the KSD bonus-issue "
        "schedule, new shares per 100 old (`fix_rate`), the ex-rights date and the listing date "
        "of the new shares.",
        gates=GATES,
    )
)
register_table(
    TableSpec(
        "capital_reductions",
        CAPITAL_REDUCTIONS,
        "year",
        "record_date",
        ("symbol", "record_date", "share_class"),
        ("record_date", "symbol"),
        "One row per capital reduction (symbol, record_date, share_class): the KSD "
        "capital-reduction schedule, shares kept per old share (`kept_ratio`), the trading "
        "halt and the relisting date of the reduced shares.",
        gates=GATES,
    )
)
register_table(
    TableSpec(
        "rights_issues",
        RIGHTS_ISSUES,
        "year",
        "record_date",
        ("symbol", "record_date", "share_class"),
        ("record_date", "symbol"),
        "One row per rights issue (symbol, record_date, share_class): the KSD rights-issue "
        "schedule, new shares per 100 old (`fix_rate`) at `issue_price`, the ex-rights date, "
        "the subscription period and the listing date of the new shares.",
        gates=GATES,
    )
)
register_table(
    TableSpec(
        "mergers",
        MERGERS,
        "year",
        "record_date",
        ("symbol", "record_date", "seq"),
        ("record_date", "symbol"),
        "One row per merger or company split of a listed name (symbol, record_date, seq): the "
        "KSD merger and split schedule, the absorbed and surviving companies, the ratio and the "
        "listing date of the new shares.",
        gates=GATES,
    )
)
register_table(
    TableSpec(
        "listings",
        LISTINGS,
        "date",
        "as_of",
        ("as_of", "symbol"),
        ("symbol", "as_of"),
        "One row per (as_of, symbol): every stock the warehouse knows of, listed or delisted, "
        "with its listing and delisting dates as known on as_of: the point-in-time universe.",
        gates=("unique_keys",),
    )
)
register_table(
    TableSpec(
        "corporate_actions",
        CORPORATE_ACTIONS,
        "year",
        "ex_date",
        ("symbol", "ex_date", "kind"),
        ("symbol", "ex_date"),
        "One row per (symbol, ex_date, kind): a split, reverse split, bonus issue, capital "
        "reduction or rights issue with its ratio (shares after per share before; a rights "
        "issue's issue price and price factor), a merger with its ratio and the absorbed "
        "company, or a cash dividend with its amount per share (KRW), and who reported it "
        "(`chart`, `ksd`).",
        gates=("unique_keys",),
    )
)
register_table(
    TableSpec(
        "adj_factors",
        ADJ_FACTORS,
        "date",
        "as_of",
        ("as_of", "symbol", "date"),
        ("symbol", "date", "as_of"),
        "One row per (as_of, symbol, date) of a symbol whose share count changed: the factor "
        "that puts the raw prices of `date` on the share basis of `as_of` (a symbol without "
        "one has factor 1).",
        gates=("unique_keys",),
    )
)
