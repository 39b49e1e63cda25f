"""A small warehouse for the research notebook and the README's examples: daily tables over two
stretches of years (prices, flows, program trading, margin balances, short sales), rankings,
two collector sessions of trade ticks, a session of minute bars, a year of broker reports, and
a cohort's prices around a delisting with the `listings` that knows it."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.common.clock import KST
from kis_pipeline.ingest.corporate_actions import factors
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_company import opinions
from kis_pipeline.simulator.market_delisted import LATER_DELISTINGS
from kis_pipeline.simulator.market_minutes import minute_bars
from kis_pipeline.warehouse import TABLES, Warehouse

START, END = dt.date(2018, 4, 2), dt.date(2018, 6, 29)
# Years later the warehouse holds another stretch: nothing was fetched in between.
LATER = (dt.date(2026, 10, 5), dt.date(2026, 11, 20))
# Daily prices of a cohort around the delisting of a name the simulator lists and delists
# inside its history (when its clock has passed it), and the `listings` that knows it.
COHORT_SPAN = (dt.date(2022, 11, 1), dt.date(2023, 6, 30))
COHORT = slice(5, 10)
# A short ranking, so the rank axis spans only a few ranks (where fractional ticks appear).
RANKED = 4
# Two collector sessions on END, the second 20 minutes after the first stopped.
SESSIONS = [
    ("seg-1", dt.datetime(2018, 6, 29, 9, 0, tzinfo=KST), 300),
    ("seg-2", dt.datetime(2018, 6, 29, 9, 55, tzinfo=KST), 200),
]


def frame_like(table: str, columns: dict[str, list[object]]) -> pl.DataFrame:
    """A frame of `table`'s exact schema: the given columns, nulls elsewhere."""
    schema = TABLES[table].schema
    height = len(next(iter(columns.values())))
    data = {
        name: pl.Series(name, columns.get(name, [None] * height)).cast(dtype)
        for name, dtype in schema.items()
    }
    return pl.DataFrame(data)


def seed(warehouse: Warehouse, market: Market) -> None:
    symbols = ["005930", "000660", "035420"]
    days = [*market.trading_days(START, END), *market.trading_days(*LATER)]
    for day in days:
        bars = [market.bar(s, day) for s in symbols]
        rows = {
            "date": [day] * 3,
            "symbol": symbols,
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "value": [b.value for b in bars],
        }
        key = day.isoformat()
        warehouse.write_partition("daily_prices", key, frame_like("daily_prices", rows))
        factors = [market.adj_factor(s, day) for s in symbols]
        adjusted = {
            **rows,
            "close": [round(b.close * f) for b, f in zip(bars, factors, strict=True)],
            "adj_factor": factors,
        }
        warehouse.write_partition(
            "daily_prices_adjusted",
            key,
            frame_like("daily_prices_adjusted", adjusted),
        )
        flows = [market.investor_flow(s, day) for s in symbols]
        warehouse.write_partition(
            "investor_flows",
            key,
            frame_like(
                "investor_flows",
                {
                    "date": [day] * 3,
                    "symbol": symbols,
                    "individual_net_value": [f.individual_net_value for f in flows],
                    "foreign_net_value": [f.foreign_net_value for f in flows],
                    "institution_net_value": [f.institution_net_value for f in flows],
                },
            ),
        )
        _seed_activity(warehouse, market, day, symbols)
        kinds = ("volume", "rise")
        ranked = {kind: market.ranking(day, kind)[:RANKED] for kind in kinds}
        warehouse.write_partition(
            "rankings",
            key,
            frame_like(
                "rankings",
                {
                    "date": [day] * sum(len(r) for r in ranked.values()),
                    "ranking": [kind for kind in kinds for _ in ranked[kind]],
                    "rank": [i for kind in kinds for i in range(1, len(ranked[kind]) + 1)],
                    "symbol": [s for kind in kinds for s in ranked[kind]],
                    "source": ["derived"] * sum(len(r) for r in ranked.values()),
                },
            ),
        )
    _seed_cohort(warehouse, market)
    _seed_adjustment(warehouse, market, symbols)
    _seed_minutes(warehouse, market, "005930", LATER[1])
    _seed_opinions(warehouse, market, "005930", [(START, END), LATER])
    for segment, first, count in SESSIONS:
        times = [first + dt.timedelta(seconds=7 * i) for i in range(count)]
        warehouse.write_partition(
            "trade_ticks",
            END.isoformat(),
            frame_like(
                "trade_ticks",
                {
                    "date": [END] * count,
                    "ts": times,
                    "received_at": times,
                    "symbol": ["005930"] * count,
                    "price": [46000 + (i % 17) * 50 for i in range(count)],
                    "volume": [10 + i % 7 for i in range(count)],
                    "tr_id": ["H0STCNT0"] * count,
                    "segment_id": [segment] * count,
                    "seq": list(range(count)),
                    "record": [0] * count,
                },
            ),
            part=segment,
        )


def _seed_cohort(warehouse: Warehouse, market: Market) -> None:
    """Daily prices of `COHORT_SPAN` for a few listed names and the names delisted in it, and
    the `listings` of the last day of `LATER`."""
    gone = [x for x in LATER_DELISTINGS if market.delisted(x.symbol) is not None]
    listed = market.listings
    symbols = [x.symbol for x in listed[COHORT]] + [
        x.symbol for x in gone if COHORT_SPAN[0] < x.delist_date <= COHORT_SPAN[1]
    ]
    bars = [b for s in symbols for b in market.daily_bars(s, *COHORT_SPAN)]
    owners = [s for s in symbols for _ in market.daily_bars(s, *COHORT_SPAN)]
    frame = frame_like(
        "daily_prices",
        {
            "date": [b.date for b in bars],
            "symbol": owners,
            **{c: [getattr(b, c) for b in bars] for c in ("open", "high", "low", "close")},
            "volume": [b.volume for b in bars],
            "value": [b.value for b in bars],
        },
    )
    for (day,), rows in frame.group_by("date"):
        warehouse.write_partition("daily_prices", day.isoformat(), rows)  # type: ignore[union-attr]
    as_of = LATER[1]
    names = [*listed, *gone]
    warehouse.write_partition(
        "listings",
        as_of.isoformat(),
        frame_like(
            "listings",
            {
                "as_of": [as_of] * len(names),
                "symbol": [x.symbol for x in names],
                "name": [x.name for x in names],
                "market": [x.market for x in names],
                "kind": ["stock"] * len(names),
                "listed_on": [x.list_date for x in names],
                "delisted_on": [getattr(x, "delist_date", None) for x in names],
                "source": ["stock_info"] * len(names),
            },
        ),
    )


def _seed_adjustment(warehouse: Warehouse, market: Market, symbols: list[str]) -> None:
    """The symbols' splits and bonus issues as `corporate_actions`, and the `adj_factors` they
    give, as of the last day of `LATER`."""
    splits = [a for s in symbols for a in market.corporate_actions(s)]
    if not splits:
        return
    actions = frame_like(
        "corporate_actions",
        {
            "symbol": [a.symbol for a in splits],
            "ex_date": [a.date for a in splits],
            "kind": [a.kind for a in splits],
            "ratio": [a.ratio for a in splits],
            "source": ["chart,ksd"] * len(splits),
        },
    )
    for (year,), rows in actions.group_by(pl.col("ex_date").dt.year()):
        warehouse.write_partition("corporate_actions", str(year), rows)
    days = warehouse.read("daily_prices").select("date", "symbol")
    as_of = LATER[1]
    warehouse.write_partition("adj_factors", as_of.isoformat(), factors(days, actions, as_of))


def _seed_activity(warehouse: Warehouse, market: Market, day: dt.date, symbols: list[str]) -> None:
    """Program trading, margin balances and short sales of `day`, as the simulator serves them."""
    bars = [market.bar(s, day) for s in symbols]
    activity = [market.activity(s, day) for s in symbols]
    rows: dict[str, dict[str, list[object]]] = {
        "program_trading": {"net_value": [a.program_net_value for a in activity]},
        "credit_balance": {
            "loan_balance_volume": [a.loan.balance for a in activity],
            "close": [b.close for b in bars],
        },
        "short_sales": {
            "short_volume": [a.short_volume for a in activity],
            "short_volume_share": [
                round(100 * a.short_volume / b.volume, 2)
                for a, b in zip(activity, bars, strict=True)
            ],
        },
    }
    for table, columns in rows.items():
        frame = frame_like(table, {"date": [day] * len(symbols), "symbol": symbols, **columns})
        warehouse.write_partition(table, day.isoformat(), frame)


def _seed_minutes(warehouse: Warehouse, market: Market, symbol: str, day: dt.date) -> None:
    """One session of `symbol`'s minute bars, as the simulator serves them (none when the
    market's history stops before `day`)."""
    bar = market.bar(symbol, day)
    if bar is None:
        return
    bars = minute_bars(market.config.seed, symbol, bar)
    midnight = dt.datetime.combine(day, dt.time(), tzinfo=KST)
    cumulative = [sum(b.value for b in bars[: i + 1]) for i in range(len(bars))]
    frame = frame_like(
        "minute_bars",
        {
            "date": [day] * len(bars),
            "ts": [midnight + dt.timedelta(seconds=b.second) for b in bars],
            "symbol": [symbol] * len(bars),
            "open": [b.open for b in bars],
            "high": [b.high for b in bars],
            "low": [b.low for b in bars],
            "close": [b.close for b in bars],
            "volume": [b.volume for b in bars],
            "value": [b.value for b in bars],
            "cum_value": cumulative,
            "venue": ["KRX"] * len(bars),
        },
    )
    warehouse.write_partition("minute_bars", day.isoformat(), frame)


def _seed_opinions(
    warehouse: Warehouse, market: Market, symbol: str, spans: list[tuple[dt.date, dt.date]]
) -> None:
    """The broker reports on `symbol` dated in `spans`, as of the last day."""
    reports = [r for span in spans for r in opinions(market, symbol, *span)]
    as_of = spans[-1][1]
    frame = frame_like(
        "analyst_opinions",
        {
            "as_of": [as_of] * len(reports),
            "date": [r.date for r in reports],
            "symbol": [r.symbol for r in reports],
            "broker": [r.broker for r in reports],
            "opinion": [r.opinion for r in reports],
            "target_price": [r.target_price for r in reports],
            "prev_close": [r.prev_close for r in reports],
        },
    )
    warehouse.write_partition("analyst_opinions", as_of.isoformat(), frame)
