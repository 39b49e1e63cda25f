"""The simulator's deterministic synthetic market: the one source of every number it serves.

Same `SimConfig` (seed, universe, start) + same clock = same data. The clock is `config.now`
when set, else the wall clock, in Asia/Seoul. The daily history runs from `config.start` to
the last completed KRX session (a trading day counts once 15:30 KST has passed).

What lives where:
- `krx_calendar`: holidays, business/trading/settlement days, the session clock;
- `market_universe`: listings (real large caps first, then synthetic names) and splits;
- `market_prices`: the numpy (days x symbols) raw OHLCV book, built lazily, once;
- `market_bars`, `market_quotes`: daily bars and snapshot figures read off that book;
- `market_indices`, `market_flows`, `market_fundamentals`, `market_overseas`: the rest.

The book is generated through the end of the calendar year of the next session, so the
session being played by the WebSocket app (`session_bar`) is already known; methods named
after history (`bar`, `daily_bars`, `prices_frame`, ...) never reveal a day past the last
completed session. Corporate events are fixed in the model whatever the clock and appear
once their date has passed. Splits (new shares per old): 005930 2018-05-04 x50, 035420
2018-10-12 x5, 035720 2021-04-15 x5, and the synthetic names at universe positions 40
(2020-06-15 x10), 47 (2023-09-11 x5), 300 (2016-08-22 x10) and 1200 (2022-03-14 x5); bonus
issues (무상증자, new shares per 100 old) at positions 44 (ex 2025-04-15, 100) and 46 (ex
2026-02-10, 50), priced like splits (the base divided by 1 + rate / 100, the shares grown by
it) but keeping the par value; a capital reduction (감자) at position 45, 10 old shares to 1
relisted 2025-09-22, priced like a reverse split (the base the last close / 0.1) at the same
par; a rights issue (유상증자) at position 43, 30 new shares per 100 old at 20 % below the
cum-rights close, ex 2025-06-17 (the base the theoretical ex-rights price, the shares grown by
1.3); a merger at position 42 absorbing an unlisted company, 3,600,000 new shares listed
2025-11-03 at an unchanged base; an event on or before the first history day is dropped. The
halt before the relisting is in the KSD schedule only: the sessions of it keep their bars.

Conventions for the bar fields (SPEC §7.3): on a split day `prev_close` is the reset base
(previous close / ratio, on the tick grid), `flng_cls_code` is "01", `prtt_rate` is the base
price over the previous close (1/ratio, e.g. 0.02 for 1:50) and `revl_issu_reas` is "99"
(a bonus or rights issue's ex-rights day: the same "01" and rate, `revl_issu_reas` ""; a capital
reduction's relisting day: "00", the rate (10.0 for 10:1) and `revl_issu_reas` "02");
ex-dividend days carry "02" (year-end) or "05" (interim/quarterly). Other days: "00", 0.0, "".
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

import numpy as np
import polars as pl

from kis_pipeline.common import krx_calendar as cal
from kis_pipeline.common.clock import KST
from kis_pipeline.simulator.config import SimConfig
from kis_pipeline.simulator.market_activity import Activity, ActivityModel, MarketProgram
from kis_pipeline.simulator.market_bars import (
    adjustment,
    bar_at,
    bars_frame,
    ordinals,
    ranked,
    split_factor,
)
from kis_pipeline.simulator.market_bonus import bonus_schedule
from kis_pipeline.simulator.market_capred import capital_reduction_schedule
from kis_pipeline.simulator.market_delisted import DelistedBook, LaterDelisting
from kis_pipeline.simulator.market_elws import BY_CODE as ELW_BY_CODE
from kis_pipeline.simulator.market_elws import ElwBar, elw_bars, lookback
from kis_pipeline.simulator.market_etfs import EtfBar, EtfSeries, build_etfs
from kis_pipeline.simulator.market_flows import FlowModel
from kis_pipeline.simulator.market_fundamentals import (
    EX_DIVIDEND_CODE,
    Fundamentals,
    visible_dividend,
)
from kis_pipeline.simulator.market_indices import INDEX_CODES, IndexSeries, build_indices, members
from kis_pipeline.simulator.market_mergers import merger_schedule
from kis_pipeline.simulator.market_overseas import (
    EXCHANGES,
    OVERSEAS,
    OverseasModel,
    last_completed_day,
    open_days,
)
from kis_pipeline.simulator.market_prices import PriceBook, SplitEvent
from kis_pipeline.simulator.market_quotes import quote_stats
from kis_pipeline.simulator.market_rights import rights_schedule
from kis_pipeline.simulator.market_ticks import price_limits, tick_size
from kis_pipeline.simulator.market_types import (
    BonusIssue,
    CapitalReduction,
    CorporateAction,
    DailyBar,
    Dividend,
    FinancialPeriod,
    IndexBar,
    InvestorFlow,
    Listing,
    Merger,
    OverseasBar,
    QuoteStats,
    RightsIssue,
)
from kis_pipeline.simulator.market_universe import SymbolSpec, build_specs, split_plans

RANKING_KINDS = ("volume", "rise", "fall", "market_cap")

__all__ = [
    "INDEX_CODES",
    "OVERSEAS",
    "RANKING_KINDS",
    "Activity",
    "CorporateAction",
    "DailyBar",
    "Dividend",
    "FinancialPeriod",
    "IndexBar",
    "InvestorFlow",
    "Listing",
    "Market",
    "OverseasBar",
    "QuoteStats",
    "price_limits",
    "tick_size",
]


T = TypeVar("T")


class Market:
    """Deterministic synthetic KRX market (plus a few overseas tickers); thread-safe reads."""

    INDEX_CODES: dict[str, str] = INDEX_CODES
    OVERSEAS: list[tuple[str, str, str]] = OVERSEAS

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self._specs: list[SymbolSpec] = build_specs(config.universe, config.start)
        self._column = {spec.symbol: i for i, spec in enumerate(self._specs)}
        self._lock = threading.RLock()
        self._book: PriceBook | None = None
        self._derived: dict[str, Any] = {}  # models read off the book, built once per book
        self._overseas = OverseasModel(config.seed, config.start)
        self._history_cache: tuple[dt.date, list[dt.date]] | None = None
        self._ex_codes: dict[int, dict[dt.date, str]] = {}
        self._last_split = max(
            (plan.date for plan in split_plans(self._specs)), default=config.start
        )

    # --- clock and calendar -----------------------------------------------------------

    def now(self) -> dt.datetime:
        if self.config.now is not None:
            return cal.to_kst(self.config.now)
        return dt.datetime.now(KST)

    def today(self) -> dt.date:
        return self.now().date()

    def last_completed_session(self, now: dt.datetime | None = None) -> dt.date:
        return cal.last_completed_session(now or self.now())

    def first_day(self) -> dt.date:
        """The first trading day of the history (config.start or the next trading day)."""
        day = self.config.start
        return day if cal.is_trading_day(day) else cal.next_trading_day(day)

    def history_days(self) -> list[dt.date]:
        last = self.last_completed_session()
        cached = self._history_cache
        if cached is not None and cached[0] == last:
            return list(cached[1])
        days = cal.trading_days(self.config.start, last)
        self._history_cache = (last, days)
        return list(days)

    def is_trading_day(self, day: dt.date) -> bool:
        return cal.is_trading_day(day)

    def is_business_day(self, day: dt.date) -> bool:
        return cal.is_business_day(day)

    def is_settlement_day(self, day: dt.date) -> bool:
        return cal.is_settlement_day(day)

    def trading_days(self, start: dt.date, end: dt.date) -> list[dt.date]:
        first = max(start, self.config.start)
        last = min(end, self.last_completed_session())
        return cal.trading_days(first, last) if first <= last else []

    def next_session(self, now: dt.datetime | None = None) -> dt.date:
        """The session being played now (today if a trading day not yet closed) or next."""
        local = cal.to_kst(now or self.now())
        today = local.date()
        if cal.is_trading_day(today) and local.time() < cal.session_hours(today)[1]:
            return today
        return cal.next_trading_day(today)

    # --- universe -----------------------------------------------------------------------

    @cached_property
    def listings(self) -> list[Listing]:
        last = self.last_completed_session()
        out = []
        for i, spec in enumerate(self._specs):
            factor = split_factor(self.book, i, after=last)
            par_factor = split_factor(self.book, i, after=last, par=True)
            out.append(
                Listing(
                    spec.symbol,
                    spec.name,
                    spec.market,
                    round(spec.final_shares / factor),
                    int(spec.final_par * par_factor),
                    spec.list_date,
                    spec.sector,
                )
            )
        return out

    def listing(self, symbol: str) -> Listing | None:
        i = self._column.get(symbol)
        return None if i is None else self.listings[i]

    def symbols(self) -> list[str]:
        return [spec.symbol for spec in self._specs]

    def delisted(self, symbol: str) -> LaterDelisting | None:
        """A name listed and delisted inside the history (`market_delisted`), by code."""
        return self._delisted_book().names.get(symbol)

    def _delisted_book(self) -> DelistedBook:
        last = self.last_completed_session()
        with self._lock:
            book = self._derived.get("delisted")
            if book is None or book[0] != last:
                book = (last, DelistedBook(self.config.seed, self.first_day(), last))
                self._derived["delisted"] = book
            return book[1]

    def delisted_last_close(self, symbol: str) -> int:
        return self._delisted_book().last_close(symbol)

    def index_members(self, code: str) -> list[str]:
        """Constituents of index `code` ("0001", "1001", "2001"), in universe order."""
        mask = members(self.book).get(code)
        if mask is None:
            return []
        return [spec.symbol for spec, m in zip(self._specs, mask, strict=True) if m]

    # --- the lazily built model ---------------------------------------------------------

    @property
    def book(self) -> PriceBook:
        """The raw price book; covers the history and the rest of the next session's year."""
        with self._lock:
            # Through the last planned split too, so that the raw history never depends on
            # the clock (a split the clock has not reached yet is still in the model).
            horizon = dt.date(max(self.next_session().year, self._last_split.year), 12, 31)
            book = self._book
            if book is None or book.days[-1] < cal.previous_trading_day(horizon):
                book = self._build(horizon)
            return book

    def _build(self, horizon: dt.date) -> PriceBook:
        start = self.first_day()
        days = cal.trading_days(start, max(horizon, start))
        index = {day: i for i, day in enumerate(days)}
        events = []
        for plan in split_plans(self._specs):
            day = plan.date if cal.is_trading_day(plan.date) else cal.next_trading_day(plan.date)
            if day in index and index[day] > 0:
                column = self._column[plan.symbol]
                events.append(
                    SplitEvent(
                        plan.symbol,
                        column,
                        index[day],
                        day,
                        plan.ratio,
                        plan.kind,
                        plan.shares_ratio,
                    )
                )
        book = PriceBook(self.config.seed, self._specs, days, events)
        self._book = book
        self._derived = {}
        self._ex_codes = {}
        return book

    def _row(self, day: dt.date, *, allow_future: bool = False) -> int | None:
        if not allow_future and day > self.last_completed_session():
            return None
        return self.book.day_index.get(day)

    def _model(self, name: str, build: Callable[[PriceBook], T]) -> T:
        """The model `name` read off the current book, built on first use."""
        book = self.book
        with self._lock:
            if name not in self._derived:
                self._derived[name] = build(book)
            return self._derived[name]

    @property
    def _index_series(self) -> dict[str, IndexSeries]:
        return self._model("indices", build_indices)

    @property
    def _etf_series(self) -> dict[str, EtfSeries]:
        return self._model(
            "etfs", lambda book: build_etfs(self.config.seed, book.days, self._index_series)
        )

    @property
    def _flow_model(self) -> FlowModel:
        return self._model("flows", lambda book: FlowModel(self.config.seed, book))

    @property
    def _fund(self) -> Fundamentals:
        return self._model("fundamentals", lambda book: Fundamentals(self.config.seed, book))

    # --- daily bars ---------------------------------------------------------------------

    def bar(self, symbol: str, day: dt.date) -> DailyBar | None:
        column = self._column.get(symbol)
        row = self._row(day)
        if column is None or row is None:
            return None
        return self._bar(row, column)

    def session_bar(self, symbol: str, day: dt.date) -> DailyBar | None:
        """The full bar of any modelled trading day, including today's or a future session.

        For the WebSocket app: the session it plays ends on this bar (same open, high, low,
        close, volume), so ticks agree with the history once the day completes.
        """
        column = self._column.get(symbol)
        row = self._row(day, allow_future=True)
        if column is None or row is None:
            return None
        return self._bar(row, column)

    def _bar(self, row: int, column: int) -> DailyBar:
        return bar_at(self.book, row, column, self._ex_dividend_codes(column))

    def daily_bars(self, symbol: str, start: dt.date, end: dt.date) -> list[DailyBar]:
        column = self._column.get(symbol)
        if column is None:
            return self._delisted_book().bars(
                symbol, start, min(end, self.last_completed_session())
            )
        rows = self._rows_between(start, end)
        return [self._bar(row, column) for row in rows]

    def _rows_between(self, start: dt.date, end: dt.date) -> range:
        book = self.book
        last = min(end, self.last_completed_session())
        if last < start or not book.days:
            return range(0)
        lo = int(np.searchsorted(ordinals(book), start.toordinal(), side="left"))
        hi = int(np.searchsorted(ordinals(book), last.toordinal(), side="right"))
        return range(lo, hi)

    def prices_frame(
        self, start: dt.date, end: dt.date, symbols: list[str] | None = None
    ) -> pl.DataFrame:
        """Raw bars for many symbols at once, date-major: date, symbol, open ... value."""
        if symbols is None:
            columns = np.arange(len(self._specs))
        else:
            columns = np.array(
                [self._column[s] for s in symbols if s in self._column], dtype=np.int64
            )
        names = [self._specs[c].symbol for c in columns]
        rows = self._rows_between(start, end)
        return bars_frame(self.book, rows, columns, names, whole=symbols is None)

    # --- corporate actions --------------------------------------------------------------

    def corporate_actions(self, symbol: str) -> list[CorporateAction]:
        last = self.last_completed_session()
        return [
            CorporateAction(e.date, e.symbol, e.kind, float(e.ratio))
            for e in self.book.splits
            if e.symbol == symbol and e.date <= last
        ]

    def bonus_issues(self) -> list[BonusIssue]:
        """Every bonus issue of the model announced by today, by record date."""
        return [b for b in bonus_schedule(self.book) if b.announced <= self.today()]

    def capital_reductions(self) -> list[CapitalReduction]:
        """Every capital reduction of the model announced by today, by record date."""
        return [c for c in capital_reduction_schedule(self.book) if c.announced <= self.today()]

    def rights_issues(self) -> list[RightsIssue]:
        """Every rights issue of the model announced by today, by record date."""
        return [r for r in rights_schedule(self.book) if r.announced <= self.today()]

    def mergers(self) -> list[Merger]:
        """Every merger of the model announced by today, by record date."""
        return [m for m in merger_schedule(self.book) if m.announced <= self.today()]

    def adj_factor(self, symbol: str, day: dt.date) -> float:
        """Multiply a raw price of `day` by this to get today's adjusted price."""
        column = self._column.get(symbol)
        if column is None:
            return 1.0
        return adjustment(self.book, column, day, self.last_completed_session())

    def _ex_dividend_codes(self, column: int) -> dict[dt.date, str]:
        with self._lock:
            codes = self._ex_codes.get(column)
            if codes is None:
                codes = {
                    d.ex_date: EX_DIVIDEND_CODE[d.kind]
                    for d in self._fund.dividends(column)
                    if d.ex_date is not None
                }
                self._ex_codes[column] = codes
            return codes

    # --- indices ------------------------------------------------------------------------

    def index_bars(self, code: str, start: dt.date, end: dt.date) -> list[IndexBar]:
        series = self._index_series.get(code)
        if series is None:
            return []
        book = self.book
        return [
            IndexBar(
                book.days[r],
                float(series.open[r]),
                float(series.high[r]),
                float(series.low[r]),
                float(series.close[r]),
                int(series.volume[r]),
                int(series.value[r]),
                float(series.prev_close[r]),
            )
            for r in self._rows_between(start, end)
        ]

    # --- ETFs ---------------------------------------------------------------------------

    def etf_bars(self, code: str, start: dt.date, end: dt.date) -> list[EtfBar]:
        """The sessions of an ETF of `market_etfs.ETFS` in [start, end], oldest first (none
        for another code)."""
        series = self._etf_series.get(code)
        if series is None:
            return []
        bars = (series.bar(row) for row in self._rows_between(start, end))
        return [bar for bar in bars if bar is not None]

    def etf_bar(self, code: str, day: dt.date) -> EtfBar | None:
        bars = self.etf_bars(code, day, day)
        return bars[0] if bars else None

    # --- ELWs ---------------------------------------------------------------------------

    def elw_bars(self, code: str, start: dt.date, end: dt.date) -> list[ElwBar]:
        """The sessions of a warrant of `market_elws.ELWS` in [start, end], oldest first, from
        its listing to the session before its expiry (none for another code)."""
        elw = ELW_BY_CODE.get(code)
        if elw is None:
            return []
        stock = self.daily_bars(elw.underlying, lookback(start), end)
        return elw_bars(self.config.seed, elw, stock, start)

    def elw_bar(self, code: str, day: dt.date) -> ElwBar | None:
        bars = self.elw_bars(code, day, day)
        return bars[0] if bars else None

    # --- overseas -----------------------------------------------------------------------

    def overseas_last_day(self, excd: str) -> dt.date:
        """Exchange-local date of the exchange's last completed session."""
        return last_completed_day(excd, self.now())

    def overseas_days(self, excd: str, start: dt.date, end: dt.date) -> list[dt.date]:
        if excd not in EXCHANGES:
            return []
        last = min(end, self.overseas_last_day(excd))
        return open_days(excd, max(start, self.config.start), last)

    def overseas_bars(
        self, excd: str, symbol: str, start: dt.date, end: dt.date
    ) -> list[OverseasBar]:
        if excd not in EXCHANGES:
            return []
        return self._overseas.bars(
            excd, symbol, max(start, self.config.start), end, self.overseas_last_day(excd)
        )

    def overseas_session_bar(self, excd: str, symbol: str, day: dt.date) -> OverseasBar | None:
        """The full bar of any modelled session of the exchange, the one in progress or to come
        included: what the WebSocket's overseas tape ends on (`overseas_ticks`)."""
        if excd not in EXCHANGES or day < self.config.start:
            return None
        bars = self._overseas.bars(excd, symbol, day, day, day)
        return bars[0] if bars else None

    # --- investor flows -----------------------------------------------------------------

    def activity(self, symbol: str, day: dt.date) -> Activity | None:
        """Program trading, short sales, volume by side and the balances of `symbol` on
        `day` (`market_activity`); None off-history, on a closed day or for an unknown code."""
        column = self._column.get(symbol)
        row = self._row(day)
        return None if column is None or row is None else self._activity.activity(row, column)

    def market_program(self, market: str, day: dt.date) -> MarketProgram | None:
        """The program trading of `market` (KOSPI, KOSDAQ) on `day`, its stocks' summed."""
        row = self._row(day)
        return None if row is None else self._activity.market_program(row, market)

    @property
    def _activity(self) -> ActivityModel:
        return self._model("activity", lambda book: ActivityModel(self.config.seed, book))

    def investor_flow(self, symbol: str, day: dt.date) -> InvestorFlow | None:
        column = self._column.get(symbol)
        row = self._row(day)
        if column is None or row is None:
            return None
        return self._flow_model.symbol_flow(row, column)

    def market_investor_flow(self, market: str, day: dt.date) -> InvestorFlow | None:
        row = self._row(day)
        if row is None:
            return None
        return self._flow_model.market_flow(row, market)

    def investor_flow_detail(self, key: str, day: dt.date) -> dict[str, tuple[int, int, int, int]]:
        """KIS sub-groups of one symbol's (or one market's) flows on `day`.

        Keys are the KIS field prefixes: institution parts "scrt", "ivtr", "pe_fund", "bank",
        "insu", "mrbn", "fund" (they add up to the institution totals) and foreign parts
        "frgn_reg", "frgn_nreg" (they add up to the foreign totals); values are (buy volume,
        sell volume, buy value KRW, sell value KRW). Empty when there is no such day or key.
        """
        row = self._row(day)
        return {} if row is None else self._flow_model.detail_of(row, key, self._column.get(key))

    # --- rankings and market cap --------------------------------------------------------

    def ranking(self, day: dt.date, kind: str) -> list[str]:
        """Every symbol, best first, by `kind` (see RANKING_KINDS); ties by symbol code."""
        if kind not in RANKING_KINDS:
            raise ValueError(f"unknown ranking kind {kind!r}; known: {', '.join(RANKING_KINDS)}")
        row = self._row(day)
        if row is None:
            return []
        return ranked(self.book, row, kind, [spec.symbol for spec in self._specs])

    def market_cap(self, symbol: str, day: dt.date) -> int:
        column = self._column.get(symbol)
        row = self._row(day)
        if column is None or row is None:
            return 0
        shares = round(float(self.book.shares_rows(row, row + 1)[0, column]))
        return int(self.book.close[row, column]) * shares

    def listed_shares(self, symbol: str, day: dt.date) -> int:
        """Listed shares on `day` (before a split day: the old count)."""
        column = self._column.get(symbol)
        if column is None:
            return 0
        return round(float(self._fund.shares_on(column, day)))

    def par_value(self, symbol: str, day: dt.date) -> int:
        column = self._column.get(symbol)
        return 0 if column is None else self._fund.par_on(column, day)

    # --- fundamentals -------------------------------------------------------------------

    def financials(self, symbol: str, as_of: dt.date | None = None) -> list[FinancialPeriod]:
        """Periods published by `as_of` (default: today), newest first, annual before quarter."""
        column = self._column.get(symbol)
        if column is None:
            return []
        cutoff = as_of or self.today()
        rows = [p for p in self._fund.statements(column) if p.published <= cutoff]
        return sorted(rows, key=lambda p: (p.period, p.period_type == "annual"), reverse=True)

    def dividends(self, symbol: str, as_of: dt.date | None = None) -> list[Dividend]:
        """Dividends with record dates up to `as_of` (default: the last session), oldest first."""
        column = self._column.get(symbol)
        if column is None:
            return []
        cutoff = as_of or self.last_completed_session()
        today = self.today()
        return [
            visible_dividend(d, today)
            for d in self._fund.dividends(column)
            if d.record_date <= cutoff
        ]

    # --- current-price snapshot figures (SPEC §7.1) -------------------------------------

    def quote_stats(self, symbol: str, day: dt.date) -> QuoteStats | None:
        """52-week / 250-day / year highs and lows, limits, valuation as of session `day`.

        Highs and lows are split-adjusted to `day`'s share basis. PER/PBR/EPS/BPS use the
        latest annual statement published by `day` on `day`'s share count.
        """
        column = self._column.get(symbol)
        row = self._row(day, allow_future=True)
        if column is None or row is None:
            return None
        return quote_stats(self.book, self._fund, self._specs[column].market, column, row)
