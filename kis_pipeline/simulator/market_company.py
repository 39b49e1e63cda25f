"""What the simulated market knows of companies beyond their prices: the names delisted
before the history starts (SPEC §10.9 still describes them), brokers' opinions (§10.12) and KIS
Research's estimates (§10.11), all derived from the market and a stable hash, never stored.

- Former listings: a KOSPI and a KOSDAQ name delisted before the default history start
  (2015-01-02). They never trade in the modelled history, so every price endpoint treats their
  codes as unknown; the reference endpoint answers for them with their listing and delisting
  dates. A history starting before a delisting leaves that name out. The names listed and
  delisted inside the history (`market_delisted`) are described the same way.
- Opinions: each covered symbol (the real large caps and about a quarter of the others) gets,
  per broker and session, a report with probability `REPORT_ODDS`; its target price comes from
  the previous close and the opinion, its previous opinion is the broker's report before it.
- Estimates: about 160 covered symbols (the real large caps, then 5 % of the others), as of the
  first day of the month: the last three annual statements published by then (actuals) and two
  years ahead grown from the last one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kis_pipeline.simulator.market_types import Listing
from kis_pipeline.simulator.market_universe import LARGE_CAP_SYMBOLS
from kis_pipeline.simulator.rest_market import noise


@dataclass(frozen=True)
class FormerListing(Listing):
    """A listing as it stood on its last day, and that day."""

    delist_date: dt.date
    last_close: int


# code, name, market, shares and par value on the last day, listing date, sector, delisting
# date, last close.
FORMER_LISTINGS: tuple[FormerListing, ...] = (
    FormerListing(
        "002140",
        "시뮬조선",
        "KOSPI",
        31_000_000,
        5_000,
        dt.date(1988, 3, 2),
        "운수장비",
        dt.date(2013, 7, 5),
        415,
    ),
    FormerListing(
        "004410",
        "시뮬바이오텍",
        "KOSDAQ",
        12_500_000,
        500,
        dt.date(2001, 8, 17),
        "의약품",
        dt.date(2014, 4, 30),
        1_020,
    ),
)


def former_listing(market: Any, symbol: str) -> FormerListing | None:
    """A name no longer listed, by code: delisted before the market's first history day, or
    listed and delisted inside it (`market_delisted`)."""
    first = market.first_day()
    found = next((f for f in FORMER_LISTINGS if f.symbol == symbol and f.delist_date < first), None)
    if found is not None:
        return found
    later = market.delisted(symbol)
    if later is None:
        return None
    return FormerListing(
        later.symbol,
        later.name,
        later.market,
        later.listed_shares,
        later.par_value,
        later.list_date,
        later.sector,
        later.delist_date,
        market.delisted_last_close(symbol),
    )


# ---- §10.12 broker opinions ------------------------------------------------------------

BROKERS = (
    "삼성증권",
    "미래에셋증권",
    "NH투자증권",
    "한국투자증권",
    "KB증권",
    "키움증권",
    "신한투자증권",
    "하나증권",
    "메리츠증권",
    "대신증권",
)
# A broker's chance of a report on a covered symbol in one session: about one a week in all.
REPORT_ODDS = 0.02
OPINION_COVERAGE = 0.25
# (opinion text, class code, cumulative probability, target over the previous close: low, span)
_OPINIONS = (
    ("매수", "1", 0.70, 1.10, 0.30),
    ("Trading Buy", "1", 0.80, 1.05, 0.15),
    ("중립", "2", 0.97, 0.95, 0.15),
    ("매도", "3", 1.00, 0.70, 0.20),
)
# How far back a broker's previous report on a symbol is looked for.
PREVIOUS_LOOKBACK = dt.timedelta(days=400)


@dataclass(frozen=True)
class Opinion:
    date: dt.date
    symbol: str
    broker: str
    opinion: str
    code: str
    previous: str
    previous_code: str
    target_price: int
    prev_close: int


def covers_opinions(symbol: str) -> bool:
    return symbol in LARGE_CAP_SYMBOLS or noise(symbol, "opinions") < OPINION_COVERAGE


def _reports(symbol: str, broker: str, day: dt.date) -> tuple[str, str, float, float] | None:
    """(opinion, code, target low, span) of the broker's report of that session, if any."""
    if noise(symbol, broker, day, "report") >= REPORT_ODDS:
        return None
    draw = noise(symbol, broker, day, "opinion")
    for text, code, upto, low, span in _OPINIONS:
        if draw < upto:
            return text, code, low, span
    return None


def opinions(market: Any, symbol: str, start: dt.date, end: dt.date) -> list[Opinion]:
    """Reports on `symbol` dated in [start, end] (sessions up to the last completed one),
    newest first, brokers in `BROKERS` order within a day."""
    if market.listing(symbol) is None or not covers_opinions(symbol):
        return []
    out: list[Opinion] = []
    for day in reversed(market.trading_days(start, end)):
        for broker in BROKERS:
            report = _reports(symbol, broker, day)
            bar = market.bar(symbol, day) if report is not None else None
            if report is None or bar is None:
                continue
            text, code, low, span = report
            target = bar.prev_close * (low + span * noise(symbol, broker, day, "target"))
            previous = _previous(market, symbol, broker, day)
            out.append(
                Opinion(
                    day,
                    symbol,
                    broker,
                    text,
                    code,
                    previous[0],
                    previous[1],
                    max(100, round(target / 100) * 100),
                    bar.prev_close,
                )
            )
    return out


def _previous(market: Any, symbol: str, broker: str, day: dt.date) -> tuple[str, str]:
    for earlier in reversed(market.trading_days(day - PREVIOUS_LOOKBACK, day - dt.timedelta(1))):
        report = _reports(symbol, broker, earlier)
        if report is not None:
            return report[0], report[1]
    return "", ""


# ---- §10.11 KIS Research estimates -----------------------------------------------------

ESTIMATE_COVERAGE = 0.05
ACTUAL_YEARS = 3
ESTIMATE_YEARS = 2


@dataclass(frozen=True)
class Estimate:
    """One fiscal year, in KIS's units: amounts in KRW 100 million, EBITDA in KRW billion,
    EPS in KRW, rates in percent, multiples in times."""

    period: str
    revenue: float
    revenue_growth: float
    operating_profit: float
    operating_profit_growth: float
    net_income: float
    net_income_growth: float
    ebitda: float
    eps: float
    eps_growth: float
    per: float
    ev_ebitda: float
    roe: float
    debt_ratio: float
    interest_coverage: float


def covers_estimates(symbol: str) -> bool:
    return symbol in LARGE_CAP_SYMBOLS or noise(symbol, "estimates") < ESTIMATE_COVERAGE


def _growth(now: float, before: float) -> float:
    return (now / before - 1.0) * 100.0 if before > 0 and now > 0 else 0.0


def estimates(market: Any, symbol: str, today: dt.date) -> list[Estimate]:
    """The five fiscal years KIS Research shows for `symbol` this month, oldest first; empty
    for a symbol it does not cover or that has no annual statement yet."""
    if market.listing(symbol) is None or not covers_estimates(symbol):
        return []
    month = today.replace(day=1)
    annual = [p for p in market.financials(symbol, as_of=month) if p.period_type == "annual"]
    annual = sorted(annual, key=lambda p: p.period)[-(ACTUAL_YEARS + 1) :]
    if not annual:
        return []
    bars = market.daily_bars(symbol, month - dt.timedelta(days=20), month - dt.timedelta(days=1))
    close = bars[-1].close if bars else 0
    shares = market.listed_shares(symbol, month)
    years = [
        (
            p.period,
            p.income["sale_account"],
            p.income["bsop_prti"],
            p.income["thtr_ntin"],
            p.ratios["roe_val"],
            p.ratios["lblt_rate"],
        )
        for p in annual
    ]
    last = years[-1]
    for ahead in range(1, ESTIMATE_YEARS + 1):
        grow = 1.0 - 0.05 + 0.25 * noise(symbol, month, ahead, "growth")
        year = int(last[0][:4]) + ahead
        revenue, operating, net = (v * grow**ahead for v in last[1:4])
        years.append((f"{year}{last[0][4:]}", revenue, operating, net, last[4], last[5]))
    out: list[Estimate] = []
    for i, (period, revenue, operating, net, roe, debt) in enumerate(years[1:], start=1):
        before = years[i - 1]
        eps = net * 1e8 / shares if shares else 0.0
        eps_before = before[3] * 1e8 / shares if shares else 0.0
        ebitda = operating * (1.15 + 0.1 * noise(symbol, period, "ebitda")) / 10
        out.append(
            Estimate(
                period=period,
                revenue=revenue,
                revenue_growth=_growth(revenue, before[1]),
                operating_profit=operating,
                operating_profit_growth=_growth(operating, before[2]),
                net_income=net,
                net_income_growth=_growth(net, before[3]),
                ebitda=ebitda,
                eps=eps,
                eps_growth=_growth(eps, eps_before),
                per=close / eps if eps > 0 else 0.0,
                ev_ebitda=close * shares / (ebitda * 1e9) if ebitda > 0 else 0.0,
                roe=roe,
                debt_ratio=debt,
                interest_coverage=2.0 + 28.0 * noise(symbol, period, "coverage"),
            )
        )
    return out[-(ACTUAL_YEARS + ESTIMATE_YEARS) :]
