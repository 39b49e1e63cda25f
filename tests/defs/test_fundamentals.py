"""Fundamentals against the simulator: statements stamped with the run date (reruns replace
that day, the `*_latest` views pick the newest figures), dividends by record year fetched the
cheaper way (per symbol or all issues)."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.common.clock import today_kst
from kis_pipeline.defs.fundamentals import (
    balance_sheet,
    dividends,
    financial_ratios,
    income_statement,
)
from kis_pipeline.defs.fundamentals.statements import (
    growth_ratios,
    other_ratios,
    profit_ratios,
    stability_ratios,
)
from kis_pipeline.kis.endpoints.dividends import DIVIDEND_KINDS
from kis_pipeline.lib.run_context import SYMBOLS_TAG
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.rest_finance import derived_ratios
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import Warehouse, connect
from tests.defs.seed import (
    check_evaluations,
    materialization_metadata,
    run_assets,
    seed_symbols,
    tr_calls,
    use_simulator,
)

SYMBOLS = ("005930", "000660", "035720")
# KIS field -> column, per statement (SPEC §10.1-§10.3).
FIELDS = {
    "balance_sheet": ("balance", {"total_aset": "total_assets", "total_cptl": "total_equity"}),
    "income_statement": ("income", {"sale_account": "revenue", "thtr_ntin": "net_income"}),
    "financial_ratios": ("ratios", {"roe_val": "roe", "eps": "eps", "lblt_rate": "debt_ratio"}),
}
TR_IDS = {
    "balance_sheet": "FHKST66430100",
    "income_statement": "FHKST66430200",
    "financial_ratios": "FHKST66430300",
}


@pytest.fixture
def wh(wh: Warehouse, market: Market, monkeypatch: pytest.MonkeyPatch) -> Warehouse:
    """The shared warehouse with the universe seeded and the run limited to `SYMBOLS`."""
    monkeypatch.setenv("KIS_SYMBOLS", ",".join(SYMBOLS))
    seed_symbols(wh, market, dt.date(2026, 11, 20))
    return wh


def test_statements_equal_the_market_and_reruns_replace_the_day(
    wh: Warehouse, market: Market
) -> None:
    assets = [balance_sheet, income_statement, financial_ratios]
    result = run_assets(assets)
    assert all(e.passed for e in check_evaluations(result).values())
    as_of = today_kst()
    for table, (section, fields) in FIELDS.items():
        meta = materialization_metadata(result, table)
        assert tr_calls(meta, TR_IDS[table]) == 2 * len(SYMBOLS)
        frame = wh.read(table)
        assert wh.partitions(table) == [as_of.isoformat()]
        assert set(frame["as_of"].to_list()) == {as_of}
        for symbol in SYMBOLS:
            truth = {(p.period, p.period_type): p for p in market.financials(symbol)}
            rows = frame.filter(pl.col("symbol") == symbol)
            assert set(rows.select("period", "period_type").iter_rows()) == set(truth)
            for row in rows.iter_rows(named=True):
                values = getattr(truth[(row["period"], row["period_type"])], section)
                for kis_name, column in fields.items():
                    # Statement items are KRW 100 million at KIS and KRW here; ratios as is.
                    scale = 1e8 if section != "ratios" else 1
                    assert row[column] == pytest.approx(values[kis_name] * scale), column

    before = {t: wh.read(t) for t in FIELDS}
    run_assets(assets)
    for table, frame in before.items():
        assert wh.read(table).sort(frame.columns).equals(frame.sort(frame.columns))
        assert len(wh.partitions(table)) == 1


# KIS field -> column of the ratio families (SPEC §10.4-§10.7), and their TR_IDs.
RATIO_FIELDS = {
    "profit_ratios": ("FHKST66430400", {"self_cptl_ntin_inrt": "return_on_equity"}),
    "other_ratios": ("FHKST66430500", {"ebitda": "ebitda", "ev_ebitda": "ev_ebitda"}),
    "stability_ratios": ("FHKST66430600", {"crnt_rate": "current_ratio"}),
    "growth_ratios": ("FHKST66430800", {"totl_aset_inrt": "total_assets_growth"}),
}


def test_the_ratio_families_equal_the_market_with_amounts_in_krw(
    wh: Warehouse, market: Market
) -> None:
    assets = [profit_ratios, other_ratios, stability_ratios, growth_ratios]
    result = run_assets(assets)
    assert all(e.passed for e in check_evaluations(result).values())
    for table, (tr_id, fields) in RATIO_FIELDS.items():
        assert tr_calls(materialization_metadata(result, table), tr_id) == 2 * len(SYMBOLS)
        frame = wh.read(table)
        for symbol in SYMBOLS:
            periods = market.financials(symbol)
            truth = {(p.period, p.period_type): p for p in periods}
            rows = frame.filter(pl.col("symbol") == symbol)
            assert set(rows.select("period", "period_type").iter_rows()) == set(truth)
            for row in rows.iter_rows(named=True):
                period = truth[(row["period"], row["period_type"])]
                prior = truth.get(
                    (f"{int(row['period'][:4]) - 1}{row['period'][4:]}", row["period_type"])
                )
                values = derived_ratios(period, prior)
                for kis_name, column in fields.items():
                    # EBITDA is KRW 100 million at KIS and KRW here; the ratios as they are.
                    scale = 1e8 if column == "ebitda" else 1
                    assert row[column] == pytest.approx(round(values[kis_name], 2) * scale), column
    # KIS's own abnormal payout ratio is not kept.
    assert "payout_ratio" not in wh.read("other_ratios").columns
    with connect(wh) as con:
        latest = con.execute("SELECT count(*) FROM growth_ratios_latest").fetchone()
    assert latest is not None and latest[0] == wh.read("growth_ratios").height


def test_latest_view_prefers_the_newest_as_of(wh: Warehouse) -> None:
    run_assets([balance_sheet])
    current = wh.read("balance_sheet")
    # A week-old refresh with different figures for the same periods.
    older = current.with_columns(
        as_of=pl.lit(today_kst() - dt.timedelta(days=7)), total_assets=pl.lit(1, dtype=pl.Int64)
    )
    wh.write_partition("balance_sheet", (today_kst() - dt.timedelta(days=7)).isoformat(), older)
    with connect(wh) as con:
        latest = con.execute(
            "SELECT min(total_assets), count(*) FROM balance_sheet_latest"
        ).fetchone()
    assert latest is not None
    assert latest[1] == current.height and latest[0] > 1


def test_dividends_per_symbol_for_a_short_list(wh: Warehouse, market: Market) -> None:
    result = run_assets([dividends], partition_key="2025")
    meta = materialization_metadata(result, "dividends")
    assert meta["fetched"] == "per symbol"
    assert tr_calls(meta, "HHKDB669102C0") == len(SYMBOLS)
    assert all(e.passed for e in check_evaluations(result).values())
    frame = wh.read("dividends", ["2025"])
    truth = [d for s in SYMBOLS for d in market.dividends(s) if d.record_date.year == 2025]
    assert frame.height == len(truth) > 0
    got = set(
        frame.select("symbol", "record_date", "dividend_kind", "dividend_per_share").iter_rows()
    )
    assert got == {
        (d.symbol, d.record_date, DIVIDEND_KINDS[d.kind], d.dividend_per_share) for d in truth
    }


def test_dividends_of_all_issues(
    sim_server: SimulatorServer, market: Market, tmp_path, monkeypatch
) -> None:
    wh = use_simulator(monkeypatch, sim_server, tmp_path)
    result = run_assets([dividends], partition_key="2026")
    meta = materialization_metadata(result, "dividends")
    assert meta["fetched"] == "all issues"
    assert tr_calls(meta, "HHKDB669102C0") == 12
    truth = [
        d for x in market.listings for d in market.dividends(x.symbol) if d.record_date.year == 2026
    ]
    frame = wh.read("dividends", ["2026"])
    assert sorted(frame.select("symbol", "record_date").iter_rows()) == sorted(
        (d.symbol, d.record_date) for d in truth
    )


@pytest.mark.parametrize(
    ("asset", "partition"),
    [(balance_sheet, None), (dividends, "2025")],
    ids=["statements", "dividends"],
)
def test_a_run_for_some_symbols_replaces_only_theirs(
    wh: Warehouse, asset: dg.AssetsDefinition, partition: str | None
) -> None:
    table = asset.key.path[0]
    run_assets([asset], partition_key=partition)
    before = wh.read(table).sort(wh.read(table).columns)
    assert before.filter(pl.col("symbol") != SYMBOLS[0]).height > 0
    run_assets([asset], partition_key=partition, tags={SYMBOLS_TAG: SYMBOLS[0]})
    assert wh.read(table).sort(before.columns).equals(before)
