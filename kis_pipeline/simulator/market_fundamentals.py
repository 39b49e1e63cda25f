"""Financial statements and dividends of the synthetic companies, in KIS units.

Statements (SPEC §10.1-§10.3) are quarterly, amounts in KRW 100 million (억원); quarterly
income figures are year-to-date cumulative, as KIS reports them. The lines KIS leaves
unpopulated come back as the 99.99 placeholder KIS uses. A period is published 45 days after
a Q1-Q3 quarter end and 75 days after the fiscal year end.

Dividends follow the KSD schedule (SPEC §10.8): year-end ("결산") record date on the last
trading day of the year, quarterly ("분기") payers also at the end of March/June/September,
interim ("중간") payers at the end of June; the stock goes ex-dividend one trading day before
the record date (T+2 settlement). Amounts come from the close on the record date.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.simulator.market_bars import split_factor
from kis_pipeline.simulator.market_prices import PriceBook, seed_words
from kis_pipeline.simulator.market_types import Dividend, FinancialPeriod

STREAM_FINANCIALS = 6
PLACEHOLDER = 99.99  # KIS's value for statement lines it does not populate
QUARTER_LAG_DAYS = 45
ANNUAL_LAG_DAYS = 75
YEAR_END_PAY_KNOWN_DAYS = 60  # the AGM fixes the year-end payment date
STATEMENT_CACHE = 256
_YTD_KEYS = ("sale_account", "sale_cost", "operating", "ordinary", "net")

_NO_DIVIDEND = frozenset({"373220", "207940", "293490", "091990", "247540"})
_QUARTERLY = frozenset({"005930", "105560", "055550", "086790"})

EX_DIVIDEND_CODE = {"결산": "02", "분기": "05", "중간": "05"}


@dataclass(frozen=True)
class _Quarter:
    year: int
    quarter: int  # 1..4
    revenue: float  # single quarter, 억원
    cost: float
    operating: float
    ordinary: float
    net: float
    assets: float
    liabilities: float
    current_assets: float
    current_liabilities: float

    @property
    def end(self) -> dt.date:
        month = self.quarter * 3
        return dt.date(self.year, month, 30 if month in (6, 9) else 31)

    @property
    def published(self) -> dt.date:
        lag = ANNUAL_LAG_DAYS if self.quarter == 4 else QUARTER_LAG_DAYS
        return self.end + dt.timedelta(days=lag)


def quarter_ends(start: dt.date, last: dt.date) -> list[tuple[int, int]]:
    out = []
    for year in range(start.year - 1, last.year + 1):
        for q in range(1, 5):
            out.append((year, q))
    return out


class Fundamentals:
    """Statements and dividends per symbol, generated on first use and cached."""

    def __init__(self, seed: int, book: PriceBook) -> None:
        self.seed = seed
        self.book = book
        # Statements are cheap to rebuild and heavy to keep for thousands of symbols.
        self._statements: OrderedDict[int, list[FinancialPeriod]] = OrderedDict()
        self._dividends: dict[int, list[Dividend]] = {}

    # --- shares and par on a date -----------------------------------------------------

    def shares_on(self, column: int, day: dt.date) -> float:
        return self.book.final_shares[column] / split_factor(self.book, column, after=day)

    def par_on(self, column: int, day: dt.date) -> int:
        final_par = self.book.specs[column].final_par
        return round(float(final_par * split_factor(self.book, column, after=day, par=True)))

    # --- statements ---------------------------------------------------------------------

    def _quarters(self, column: int) -> list[_Quarter]:
        book = self.book
        spec = book.specs[column]
        u = book.params.uniform[column]
        rng = np.random.default_rng([*seed_words(self.seed), STREAM_FINANCIALS, column])
        first = book.days[0]
        cap0 = spec.start_price * book.final_shares[column] / 1e8  # 억원
        # Anchor the books on the market: price-to-book 0.4-3, then leverage and turnover.
        pbr = float(np.exp(np.log(0.4) + u[0] * np.log(3.0 / 0.4)))
        debt = 0.3 + 1.5 * float(u[5])  # liabilities / equity
        equity0 = cap0 / pbr
        assets0 = equity0 * (1.0 + debt)
        yearly = assets0 * (0.4 + 1.0 * float(u[4]))  # revenue per year
        growth = -0.03 + 0.15 * float(u[1])
        cost_ratio = 0.62 + 0.22 * float(u[2])
        sgna = 0.06 + 0.12 * float(u[3])
        current_share = 0.3 + 0.3 * float(u[6])
        seasonal = np.array([0.96, 1.0, 0.99, 1.05])
        out: list[_Quarter] = []
        last = max(book.days[-1], first)
        periods = quarter_ends(first, last)
        draws = rng.standard_normal((len(periods), 3))
        for k, (year, q) in enumerate(periods):
            t = k / 4.0
            z = draws[k]
            revenue = yearly / 4.0 * seasonal[q - 1] * np.exp(growth * t + 0.05 * z[0])
            cost = revenue * min(max(cost_ratio + 0.02 * z[1], 0.3), 0.98)
            operating = revenue - cost - revenue * sgna
            ordinary = operating + revenue * 0.02 * z[2]
            net = ordinary * 0.78 if ordinary > 0 else ordinary
            assets = assets0 * np.exp(growth * t)
            liabilities = assets * debt / (1.0 + debt)
            out.append(
                _Quarter(
                    year,
                    q,
                    float(revenue),
                    float(cost),
                    float(operating),
                    float(ordinary),
                    float(net),
                    float(assets),
                    float(liabilities),
                    float(assets * current_share),
                    float(liabilities * (0.5 + 0.3 * float(u[7]))),
                )
            )
        return out

    def statements(self, column: int) -> list[FinancialPeriod]:
        """Every period from the start, oldest first, both annual and quarterly rows."""
        cached = self._statements.get(column)
        if cached is not None:
            self._statements.move_to_end(column)
            return cached
        quarters = self._quarters(column)
        symbol = self.book.specs[column].symbol
        first = self.book.days[0]
        ytd: dict[tuple[int, int], dict[str, float]] = {}
        out: list[FinancialPeriod] = []
        for q in quarters:
            before = ytd.get((q.year, q.quarter - 1), dict.fromkeys(_YTD_KEYS, 0.0))
            step = (q.revenue, q.cost, q.operating, q.ordinary, q.net)
            income = {k: before[k] + v for k, v in zip(_YTD_KEYS, step, strict=True)}
            ytd[(q.year, q.quarter)] = income
            if q.end < first:
                continue
            prior = ytd.get((q.year - 1, q.quarter))
            shares = self.shares_on(column, q.end)
            par = self.par_on(column, q.end)
            period = f"{q.year}{q.quarter * 3:02d}"
            balance, inc, ratios = _period_fields(q, income, prior, shares, par)
            kinds = ("quarter", "annual") if q.quarter == 4 else ("quarter",)
            for kind in kinds:
                out.append(FinancialPeriod(symbol, period, kind, balance, inc, ratios, q.published))
        self._statements[column] = out
        if len(self._statements) > STATEMENT_CACHE:
            self._statements.popitem(last=False)
        return out

    def latest_annual(self, column: int, as_of: dt.date) -> FinancialPeriod | None:
        for period in reversed(self.statements(column)):
            if period.period_type == "annual" and period.published <= as_of:
                return period
        return None

    # --- dividends ----------------------------------------------------------------------

    def dividends(self, column: int) -> list[Dividend]:
        """All dividends whose record date falls inside the book, oldest first."""
        cached = self._dividends.get(column)
        if cached is not None:
            return cached
        book = self.book
        spec = book.specs[column]
        u = book.params.uniform[column]
        out: list[Dividend] = []
        payer = spec.symbol not in _NO_DIVIDEND and (spec.real or u[8] < 0.65)
        if payer:
            if spec.symbol in _QUARTERLY or (not spec.real and u[9] < 0.06):
                schedule = {
                    3: ("분기", 0.25),
                    6: ("분기", 0.25),
                    9: ("분기", 0.25),
                    12: ("결산", 0.25),
                }
            elif not spec.real and u[9] < 0.16:
                schedule = {6: ("중간", 1 / 3), 12: ("결산", 2 / 3)}
            else:
                schedule = {12: ("결산", 1.0)}
            dividend_yield = 0.008 + 0.035 * float(u[10])
            for year in range(book.days[0].year, book.days[-1].year + 1):
                for month, (kind, share) in schedule.items():
                    div = self._dividend(column, year, month, kind, share, dividend_yield)
                    if div is not None:
                        out.append(div)
        self._dividends[column] = out
        return out

    def _dividend(
        self, column: int, year: int, month: int, kind: str, share: float, dividend_yield: float
    ) -> Dividend | None:
        book = self.book
        month_end = dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)
        record = month_end if cal.is_trading_day(month_end) else cal.previous_trading_day(month_end)
        row = book.day_index.get(record)
        if row is None or row == 0:
            return None
        close = float(book.close[row, column])
        amount = close * dividend_yield * share
        unit = 50 if amount >= 5_000 else 10 if amount >= 500 else 5 if amount >= 50 else 1
        dps = max(round(amount / unit) * unit, 1)
        face = self.par_on(column, record)
        lag = 112 if kind == "결산" else 40
        pay = record + dt.timedelta(days=lag)
        while not cal.is_business_day(pay):
            pay += dt.timedelta(days=1)
        return Dividend(
            symbol=book.specs[column].symbol,
            record_date=record,
            pay_date=pay,
            kind=kind,
            dividend_per_share=dps,
            cash_rate=round(dps / face * 100.0, 2),
            stock_rate=0.0,
            face_value=face,
            ex_date=cal.previous_trading_day(record),
            high_dividend=dividend_yield > 0.03,
        )


def visible_dividend(div: Dividend, today: dt.date) -> Dividend:
    """The dividend as known on `today`: a year-end pay date is unknown until the AGM."""
    if div.kind == "결산" and today < div.record_date + dt.timedelta(days=YEAR_END_PAY_KNOWN_DAYS):
        return Dividend(
            div.symbol,
            div.record_date,
            None,
            div.kind,
            div.dividend_per_share,
            div.cash_rate,
            div.stock_rate,
            div.face_value,
            div.ex_date,
            div.stock_kind,
            div.high_dividend,
        )
    return div


def _growth(now: float, before: float | None) -> float:
    """KIS growth rate: 0 when either side is a loss (turning, or continuing)."""
    if before is None or before <= 0 or now <= 0:
        return 0.0
    return round((now / before - 1.0) * 100.0, 2)


def _period_fields(
    q: _Quarter, income: dict[str, float], prior: dict[str, float] | None, shares: float, par: int
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    capital = par * shares / 1e8
    equity = q.assets - q.liabilities
    balance = {
        "cras": round(q.current_assets),
        "fxas": round(q.assets - q.current_assets),
        "total_aset": round(q.assets),
        "flow_lblt": round(q.current_liabilities),
        "fix_lblt": round(q.liabilities - q.current_liabilities),
        "total_lblt": round(q.liabilities),
        "cpfn": round(capital),
        "cfp_surp": PLACEHOLDER,
        "prfi_surp": PLACEHOLDER,
        "total_cptl": round(equity),
    }
    balance = {k: float(v) for k, v in balance.items()}
    # Totals are derived from the rounded parts so the statement adds up as printed.
    balance["total_aset"] = balance["cras"] + balance["fxas"]
    balance["total_lblt"] = balance["flow_lblt"] + balance["fix_lblt"]
    balance["total_cptl"] = balance["total_aset"] - balance["total_lblt"]
    revenue = float(round(income["sale_account"]))
    cost = float(round(income["sale_cost"]))
    inc = {
        "sale_account": revenue,
        "sale_cost": cost,
        "sale_totl_prfi": revenue - cost,
        "depr_cost": PLACEHOLDER,
        "sell_mang": PLACEHOLDER,
        "bsop_prti": float(round(income["operating"])),
        "bsop_non_ernn": PLACEHOLDER,
        "bsop_non_expn": PLACEHOLDER,
        "op_prfi": float(round(income["ordinary"])),
        "spec_prfi": PLACEHOLDER,
        "spec_loss": PLACEHOLDER,
        "thtr_ntin": float(round(income["net"])),
    }
    per_share = 1e8 / shares
    ratios = {
        "grs": _growth(income["sale_account"], prior["sale_account"] if prior else None),
        "bsop_prfi_inrt": _growth(income["operating"], prior["operating"] if prior else None),
        "ntin_inrt": _growth(income["net"], prior["net"] if prior else None),
        "roe_val": round(income["net"] / equity * 100.0, 2) if equity > 0 else 0.0,
        "eps": round(income["net"] * per_share),
        "sps": round(income["sale_account"] * per_share),
        "bps": round(equity * per_share),
        "rsrv_rate": round((equity - capital) / capital * 100.0, 2) if capital > 0 else 0.0,
        "lblt_rate": round(q.liabilities / equity * 100.0, 2) if equity > 0 else 0.0,
    }
    return balance, inc, {k: float(v) for k, v in ratios.items()}
