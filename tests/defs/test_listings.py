"""The point-in-time universe against the simulator's truth: the KSD listing schedule names the
IPOs of stocks since delisted, `listings` learns their delisting dates from KIS, and a backfill
of the past then prices the universe of that day, delisted names included, where before it
priced only today's survivors. A listing that the master snapshots miss only because a run was
limited to some symbols is not taken for a delisting."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.defs.prices import daily_prices
from kis_pipeline.defs.universe.listings import listing_events, listings
from kis_pipeline.ingest.listings import combine
from kis_pipeline.ingest.reference import Universe
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints import listing_events as endpoint
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator import rest_company
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.market_delisted import LATER_DELISTINGS
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG, own_simulator, sim_environ

SHIPPING, GAMES = LATER_DELISTINGS  # delisted 2020-06-15 and 2023-03-31
# Around the shipping line's delisting: it traded until Friday 2020-06-12.
JUNE = (dt.date(2020, 6, 1), dt.date(2020, 6, 19))
CONFIG = seed.fast_config(SIM_CONFIG, universe=12, start=dt.date(2015, 1, 2))


server, market = own_simulator(CONFIG)


@pytest.fixture
def wh(server: SimulatorServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    warehouse = seed.use_simulator(monkeypatch, server, tmp_path)
    monkeypatch.setenv("KIS_RATE_LIMIT", str(seed.FAST_RATE * 0.9))
    return warehouse


def _prices(wh: Warehouse) -> pl.DataFrame:
    days = [d.isoformat() for d in pl.date_range(*JUNE, eager=True).to_list()]
    return wh.read("daily_prices", [d for d in days if d in wh.partitions("daily_prices")])


def _backfill_june() -> None:
    seed.run_assets([daily_prices], partition_range=tuple(d.isoformat() for d in JUNE))


def test_a_past_backfill_prices_the_names_delisted_since_once_listings_knows_them(
    wh: Warehouse, market: Market
) -> None:
    seed.seed_calendar(wh, market, years=[2020])
    listed_today = seed.seed_symbols(wh, market)
    assert SHIPPING.symbol not in listed_today

    # Without a listings snapshot: today's survivors only, the bias a backtest must not have.
    _backfill_june()
    assert set(_prices(wh)["symbol"].to_list()) == set(listed_today)

    for year in ("2016", "2017", "2018"):
        result = seed.run_assets([listing_events], partition_key=year)
        assert all(e.passed for e in seed.check_evaluations(result).values())
    ipos = wh.select("listing_events", "reason = '신규상장'")
    assert ipos.select("date", "symbol").rows() == [
        (SHIPPING.list_date, SHIPPING.symbol),
        (GAMES.list_date, GAMES.symbol),
    ]

    result = seed.run_assets([listings])
    assert all(e.passed for e in seed.check_evaluations(result).values())
    meta = seed.materialization_metadata(result, "listings")
    # KIS is asked only about the two codes no master file lists.
    assert meta["calls_planned"] == seed.tr_calls(meta, "CTPF1002R") == 2
    known = {row["symbol"]: row for row in wh.read("listings").iter_rows(named=True)}
    assert set(known) == {*listed_today, SHIPPING.symbol, GAMES.symbol}
    for gone in (SHIPPING, GAMES):
        row = known[gone.symbol]
        assert (row["listed_on"], row["delisted_on"]) == (gone.list_date, gone.delist_date)
        assert row["source"] == "stock_info,ksd" and row["name"] == gone.name
    assert all(known[s]["delisted_on"] is None for s in listed_today)

    # The next night: KIS's delistings are final, nobody is asked again, nothing is lost.
    again = seed.run_assets([listings])
    meta = seed.materialization_metadata(again, "listings")
    assert meta["calls_planned"] == seed.tr_calls(meta, "CTPF1002R") == 0
    assert (
        wh.read("listings")
        .drop("as_of")
        .sort("symbol")
        .equals(
            pl.DataFrame(list(known.values()))
            .drop("as_of")
            .sort("symbol")
            .cast(dict(wh.read("listings").drop("as_of").schema))
        )
    )

    # The same backfill again: the shipping line's last sessions are there, and nothing after.
    _backfill_june()
    stored = _prices(wh).filter(pl.col("symbol") == SHIPPING.symbol)
    truth = market.daily_bars(SHIPPING.symbol, *JUNE)
    assert stored["date"].to_list() == [b.date for b in truth]
    assert stored["date"].max() == dt.date(2020, 6, 12)
    assert stored["close"].to_list() == [b.close for b in truth]
    # The games maker, listed in 2018 and delisted in 2023, traded all that June.
    assert set(_prices(wh)["symbol"].to_list()) == {*listed_today, SHIPPING.symbol, GAMES.symbol}


def test_the_universe_of_a_day_counts_a_name_from_its_ipo_to_its_delisting(
    wh: Warehouse, market: Market
) -> None:
    seed.seed_symbols(wh, market)
    as_of = dt.date(2026, 11, 20)
    frame = pl.DataFrame(
        {
            "as_of": [as_of] * 2,
            "symbol": [SHIPPING.symbol, GAMES.symbol],
            "listed_on": [SHIPPING.list_date, GAMES.list_date],
            "delisted_on": [SHIPPING.delist_date, GAMES.delist_date],
        }
    )
    wh.write_partition("listings", as_of.isoformat(), _listings_like(frame))

    def has(day: dt.date, symbol: str, **kwargs: bool) -> bool:
        return symbol in Universe(wh, **kwargs).on(day)

    assert not has(dt.date(2018, 11, 19), GAMES.symbol, delisted=True)
    assert has(dt.date(2018, 11, 20), GAMES.symbol, delisted=True)
    assert has(dt.date(2023, 3, 30), GAMES.symbol, delisted=True)
    assert not has(dt.date(2023, 3, 31), GAMES.symbol, delisted=True)
    # Other families keep the listed universe until KIS serves delisted names' data for them.
    assert not has(dt.date(2020, 1, 2), GAMES.symbol)
    # A delisted code may be named like any other, for the days it traded.
    only = Universe(wh, only=[SHIPPING.symbol], delisted=True)
    assert only.on(dt.date(2020, 6, 12)) == [SHIPPING.symbol]
    assert only.on(dt.date(2020, 6, 15)) == []


def _listings_like(partial: pl.DataFrame) -> pl.DataFrame:
    schema = TABLES["listings"].schema
    return (
        partial.with_columns(
            *(
                pl.lit(None, dtype=dtype).alias(name)
                for name, dtype in schema.items()
                if name not in partial.columns
            )
        )
        .select(list(schema))
        .cast(dict(schema))
    )


def test_kis_describing_a_name_as_listed_outweighs_a_snapshot_without_it() -> None:
    """A snapshot of a run limited to some symbols lacks the others: no delisting for them."""
    columns = {k: TABLES["listings"].schema[k] for k in ("symbol", "name", "market", "kind")}
    dates = {"listed_on": pl.Date, "delisted_on": pl.Date}
    master = pl.DataFrame(
        {
            "symbol": ["000660"],
            "name": ["SK하이닉스"],
            "market": ["KOSPI"],
            "kind": ["stock"],
            "listed_on": [None],
            "delisted_on": [dt.date(2026, 11, 3)],
        },
        schema={**columns, **dates},
    )
    described = master.with_columns(
        listed_on=pl.lit(dt.date(1996, 12, 26)), delisted_on=pl.lit(None, dtype=pl.Date)
    )
    ksd = master.clear()
    out = combine(dt.date(2026, 11, 20), master, described, ksd)
    assert out.select("symbol", "listed_on", "delisted_on", "source").rows() == [
        ("000660", dt.date(1996, 12, 26), None, "stock_info,master")
    ]
    # Without KIS's word, the snapshots' evidence stands.
    out = combine(dt.date(2026, 11, 20), master, described.clear(), ksd)
    assert out["delisted_on"].to_list() == [dt.date(2026, 11, 3)]


def test_a_full_answer_is_split_until_every_listing_is_fetched(
    server: SimulatorServer, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KIS answers at most 100 rows and its continuation does not page: the window halves."""
    monkeypatch.setattr(rest_company, "LIST_INFO_ROWS", 2)
    monkeypatch.setattr(endpoint, "ROWS_PER_CALL", 2)
    monkeypatch.setattr(endpoint, "WINDOW_DAYS", 366)
    settings = KisSettings.from_env(sim_environ(server, tmp_path / "state"))
    year = (dt.date(2018, 1, 1), dt.date(2018, 12, 31))
    truth = [
        (a.date, a.symbol)
        for x in market.listings
        for a in market.corporate_actions(x.symbol)
        if year[0] <= a.date <= year[1]
    ] + [(GAMES.list_date, GAMES.symbol)]
    assert len(truth) >= 3, "the test needs more events than one answer holds"
    with KisClient(settings, backoff_base_s=0.01) as client:
        frame, cut = endpoint.fetch_listing_events(client, *year)
        calls = client.stats.calls_by_tr_id[endpoint.LISTING_EVENTS_TR_ID]
    assert sorted(frame.select("date", "symbol").rows()) == sorted(truth)
    assert cut == []
    # The full year, then its halves, and so on down to windows of at most one listing less.
    assert calls > 1


def test_a_backfill_of_a_past_month_builds_the_universe_of_then_first(
    server: SimulatorServer,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As a user would, on a warehouse with today's universe and nothing of the past: the KSD
    schedule from the data start through the range, then `listings`, then the prices of June
    2020 with the shipping line's last sessions."""
    seed.point_at(server, tmp_path / "wh", tmp_path / "state", monkeypatch)
    monkeypatch.chdir(tmp_path)
    seed.seed(Warehouse(tmp_path / "wh"), market)
    span = ["--from", JUNE[0].isoformat(), "--to", JUNE[1].isoformat()]
    # No master file lists the shipping line: before listings knows it, naming it is refused.
    only = ["--assets", "daily_prices", "--symbols", SHIPPING.symbol]
    assert main(["backfill", *span, *only]) == 1
    assert f"unknown symbol(s) {SHIPPING.symbol}" in capsys.readouterr().err
    assert main(["backfill", *span, "--assets", "listings,daily_prices"]) == 0
    err = capsys.readouterr().err
    assert f"adding listing_events for 2015..{dt.date.today().year}" in err, err

    wh = Warehouse(tmp_path / "wh")
    gone = wh.read("listings").filter(pl.col("delisted_on").is_not_null())
    assert sorted(gone["symbol"].to_list()) == [SHIPPING.symbol, GAMES.symbol]
    shipping = _prices(wh).filter(pl.col("symbol") == SHIPPING.symbol)
    assert shipping["date"].to_list() == [b.date for b in market.daily_bars(SHIPPING.symbol, *JUNE)]

    # Now it can be named, for the days it traded.
    assert main(["backfill", *span, *only]) == 0, capsys.readouterr().err

    # Asked again, the schedule's years are stored: none is fetched twice.
    assert main(["backfill", *span, "--assets", "listings,daily_prices", "--missing"]) == 0
    assert "adding listing_events" not in capsys.readouterr().err
