"""Corrupted records, end to end through `kis-pipeline backfill`: every record the simulator
sends is either stored correctly or rejected into `rest_rejects` with its raw payload.

One simulator sends the market of a clean one except for one field of one record per case
(`--faults corrupt=...`): blank, 0, negative, 30 digits, "1000.7", "1e3", garbage text, high
below low, a close outside its bar, a 10x spike, a missing field, a bad date, over daily prices
(raw and adjusted), index bars, investor flows per stock and per market, and the master file.
The same backfill runs against both; the corrupted warehouse must equal the clean one except
for exactly the cases, each with its documented outcome: refused with its raw record, stored
and flagged, or stored by a documented rule. The exit status and the gates are in
`tests/test_quality_gates.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import io
import json
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl
import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.kis.records import PRICE_JUMP
from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.warehouse import TABLES, Warehouse
from tests.defs.seed import FAST_RATE, fast_config, seed, use_simulator
from tests.helpers.simulator import SIM_CONFIG

warnings.filterwarnings("ignore", category=dg.BetaWarning)

CONFIG = fast_config(SIM_CONFIG)
MARKET = Market(CONFIG)
START, END = dt.date(2025, 3, 3), dt.date(2025, 3, 25)
DAYS = MARKET.trading_days(START, END)
NEWEST = MARKET.last_completed_session()
# Symbols without corporate actions: their adjusted bars are their raw bars.
PLAIN = [x.symbol for x in MARKET.listings if not MARKET.corporate_actions(x.symbol)]
A, B, C = PLAIN[:3]
CHART, INDEX, FLOWS, MARKET_FLOWS = (
    "FHKST03010100",
    "FHKUP03500100",
    "FHPTJ04160001",
    "FHPTJ04040000",
)
PRICE_TABLES = ("daily_prices", "daily_prices_adjusted")
ASSETS = (*PRICE_TABLES, "index_daily", "investor_flows", "market_investor_flows")
THIRTY = "123456789012345678901234567890"
SPIKE = {f: "x10" for f in ("stck_oprc", "stck_hgpr", "stck_lwpr", "stck_clpr")}
INDEX_SPIKE = {
    f: "x10" for f in ("bstp_nmix_oprc", "bstp_nmix_hgpr", "bstp_nmix_lwpr", "bstp_nmix_prpr")
}
ABSENT, DROP = "!absent", "!drop"

Row = dict[str, Any]


@dataclass(frozen=True)
class Case:
    """One corrupted record: where it goes, what was changed, and what must become of it."""

    tables: tuple[str, ...]
    key: str  # the table's symbol, index code or market
    code: str  # the code the request names
    day: dt.date
    changes: dict[str, str]
    tr_id: str
    # None: rejected; else the clean row -> the row that must be stored.
    stored: Callable[[Row], Row] | None = None
    name: str = field(default="", compare=False)

    def corruptions(self) -> list[Corruption]:
        return [Corruption(f, v, self.code, self.day, self.tr_id) for f, v in self.changes.items()]


def changed(**values: Any) -> Callable[[Row], Row]:
    return lambda row: {**row, **values}


def spiked(row: Row) -> Row:
    prices = {c: row[c] * 10 for c in ("open", "high", "low", "close")}
    return {**row, **prices, "quality_flag": PRICE_JUMP}


def chart(symbol: str, n: int, changes: dict[str, str], stored: Any = None) -> Case:
    return Case(PRICE_TABLES, symbol, symbol, DAYS[n], changes, CHART, stored)


def index(code: str, n: int, changes: dict[str, str], stored: Any = None) -> Case:
    return Case(("index_daily",), code, code, DAYS[n], changes, INDEX, stored)


def flows(n: int, changes: dict[str, str], stored: Any = None) -> Case:
    return Case(("investor_flows",), C, C, DAYS[n], changes, FLOWS, stored)


def market_flows(market: str, n: int, changes: dict[str, str]) -> Case:
    code = {"KOSPI": "0001", "KOSDAQ": "1001"}[market]
    return Case(("market_investor_flows",), market, code, DAYS[n], changes, MARKET_FLOWS)


def close_of(symbol: str, n: int) -> int:
    bar = MARKET.bar(symbol, DAYS[n])
    assert bar is not None
    return int(bar.close)


_CASES: dict[str, Case] = {
    "blank close": chart(A, 0, {"stck_clpr": ""}),
    "blank volume": chart(A, 1, {"acml_vol": ""}),
    "all prices 0": chart(A, 2, dict.fromkeys(SPIKE, "0")),
    "no-trade open/high/low 0": chart(
        A,
        3,
        dict.fromkeys(("stck_oprc", "stck_hgpr", "stck_lwpr"), "0"),
        changed(open=None, high=None, low=None),
    ),
    "close 0": chart(A, 4, {"stck_clpr": "0"}),
    "negative close": chart(A, 5, {"stck_clpr": "-100"}),
    "negative volume": chart(A, 6, {"acml_vol": "-5"}),
    "30-digit close": chart(A, 7, {"stck_clpr": THIRTY}),
    "30-digit volume": chart(A, 8, {"acml_vol": THIRTY}),
    "fractional volume": chart(A, 9, {"acml_vol": "1000.7"}),
    "exponent volume": chart(A, 10, {"acml_vol": "1e3"}),
    "garbage close": chart(A, 11, {"stck_clpr": "abc"}),
    "high below low": chart(A, 12, {"stck_hgpr": "1"}),
    "close ten times, alone": chart(A, 13, {"stck_clpr": "x10"}),
    "fractional value": chart(A, 14, {"acml_tr_pbmn": "1000.7"}),
    "10x spike": chart(B, 1, SPIKE, spiked),
    "blank date": chart(B, 3, {"stck_bsop_date": ""}),
    "impossible date": chart(B, 5, {"stck_bsop_date": "20251340"}),
    "missing close": chart(B, 7, {"stck_clpr": ABSENT}),
    "lone open 0": chart(B, 9, {"stck_oprc": "0"}),
    "whole close with zero fraction": chart(
        B, 11, {"stck_clpr": f"{close_of(B, 11)}.00"}, changed()
    ),
    "garbage value": chart(B, 13, {"acml_tr_pbmn": "abc"}),
    "index blank close": index("2001", 0, {"bstp_nmix_prpr": ""}),
    "index close 0": index("2001", 2, {"bstp_nmix_prpr": "0"}),
    "index negative close": index("2001", 4, {"bstp_nmix_prpr": "-100"}),
    "index 30-digit close": index("2001", 6, {"bstp_nmix_prpr": THIRTY}),
    "index garbage close": index("2001", 8, {"bstp_nmix_prpr": "abc"}),
    "index high below low": index("2001", 10, {"bstp_nmix_hgpr": "1"}),
    "index 10x spike": index("2001", 12, INDEX_SPIKE, spiked),
    "index blank date": index("2001", 14, {"stck_bsop_date": ""}),
    "index exponent volume": index("1001", 1, {"acml_vol": "1e3"}),
    "index volume in thousands with a fraction": index(
        "1001", 3, {"acml_vol": "1000.7"}, changed(volume=1_000_700)
    ),
    "index negative volume": index("1001", 5, {"acml_vol": "-5"}),
    "flows blank net": flows(0, {"prsn_ntby_qty": ""}),
    "flows fractional net volume": flows(1, {"frgn_ntby_qty": "1000.7"}),
    "flows exponent net volume": flows(2, {"orgn_ntby_qty": "1e3"}),
    "flows 30-digit net volume": flows(3, {"prsn_ntby_qty": THIRTY}),
    "flows garbage net value": flows(4, {"prsn_ntby_tr_pbmn": "abc"}),
    "flows close 0": flows(5, {"stck_clpr": "0"}),
    "flows negative volume": flows(6, {"acml_vol": "-5"}),
    "flows net value in millions with a fraction": flows(
        7, {"frgn_ntby_tr_pbmn": "1000.7"}, changed(foreign_net_value=1_000_700_000)
    ),
    "flows negative net volume": flows(
        8, {"prsn_ntby_qty": "-100"}, changed(individual_net_volume=-100)
    ),
    "flows high below low": flows(9, {"stck_hgpr": "1"}),
    "flows impossible date": flows(10, {"stck_bsop_date": "20251340"}),
    "flows missing net value": flows(11, {"orgn_ntby_tr_pbmn": ABSENT}),
    "market garbage net": market_flows("KOSPI", 0, {"prsn_ntby_qty": "abc"}),
    "market blank net": market_flows("KOSDAQ", 2, {"frgn_ntby_qty": ""}),
    "market index close 0": market_flows("KOSPI", 4, {"bstp_nmix_prpr": "0"}),
    "market exponent net value": market_flows("KOSDAQ", 6, {"orgn_ntby_tr_pbmn": "1e3"}),
}
CASES = {name: dataclasses.replace(case, name=name) for name, case in _CASES.items()}

# Master file: the line of a symbol (not one the price cases use) -> (KIS field, value).
MASTER_CASES: dict[str, tuple[str, str, str]] = {
    "master ?????? symbol": (PLAIN[3], "mksc_shrn_iscd", "??????"),
    "master blank symbol": (PLAIN[4], "mksc_shrn_iscd", ""),
    "master garbage listed shares": (PLAIN[5], "lstn_stcn", "abc"),
    "master impossible list date": (PLAIN[6], "stck_lstn_date", "20241340"),
}


def faulty_config() -> Any:
    corruptions = [c for case in CASES.values() for c in case.corruptions()]
    corruptions += [Corruption(f, v, s) for s, f, v in MASTER_CASES.values()]
    return dataclasses.replace(CONFIG, faults=FaultSpec(corrupt=tuple(corruptions)))


@dataclass
class Outcome:
    warehouse: Warehouse
    codes: list[int]
    summary: str


def backfill(config: Any, root: Path, *args: str) -> Outcome:
    """The price backfill, then the newest symbols snapshot, as a user would run them."""
    codes = []
    with SimulatorServer(config) as server, pytest.MonkeyPatch.context() as mp:
        wh = use_simulator(mp, server, root, KIS_RATE_LIMIT=str(FAST_RATE * 0.9))
        mp.delenv("DAGSTER_HOME", raising=False)
        mp.chdir(root)
        seed(wh, MARKET)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            codes.append(
                main(
                    [
                        "backfill",
                        *("--from", START.isoformat(), "--to", END.isoformat()),
                        *("--assets", ",".join(ASSETS), "--symbols", f"{A},{B},{C}"),
                        *args,
                    ]
                )
            )
            day = NEWEST.isoformat()
            codes.append(
                main(["backfill", "--from", day, "--to", day, "--assets", "symbols", *args])
            )
    return Outcome(wh, codes, out.getvalue())


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return backfill(CONFIG, tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    return backfill(faulty_config(), tmp_path_factory.mktemp("faulty"), "--allow-incomplete")


def key_column(table: str) -> str:
    return {"index_daily": "index_code", "market_investor_flows": "market"}.get(table, "symbol")


def rows_by_key(wh: Warehouse, table: str) -> dict[tuple[dt.date, str], Row]:
    frame = wh.read(table).filter(pl.col("date").is_between(START, END))
    column = key_column(table)
    return {(row["date"], row[column]): row for row in frame.to_dicts()}


def same_row(got: Row, want: Row) -> bool:
    def close(a: Any, b: Any) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return a == pytest.approx(b, rel=1e-9)
        return bool(a == b)

    return got.keys() == want.keys() and all(close(got[k], want[k]) for k in want)


def rejects(wh: Warehouse) -> list[Row]:
    return wh.read("rest_rejects").to_dicts()


def find_reject(found: list[Row], table: str, case: Case) -> Row | None:
    """The reject of `case` in `table`: by its key and day, or, when the corrupted field is the
    date itself, by the date text of its raw record."""
    for reject in found:
        if reject["target_table"] != table or reject["symbol"] != case.key:
            continue
        raw = json.loads(reject["raw"])
        if "stck_bsop_date" in case.changes:
            if (
                reject["date"] is None
                and raw.get("stck_bsop_date") == case.changes["stck_bsop_date"]
            ):
                return reject
        elif reject["date"] == case.day:
            return reject
    return None


def test_the_sweep_covers_at_least_thirty_rest_cases_over_every_family() -> None:
    families = {table for case in CASES.values() for table in case.tables}
    assert families == set(ASSETS)
    assert len(CASES) >= 30
    assert len({(c.tr_id, c.code, c.day) for c in CASES.values()}) == len(CASES)


def test_a_corrupted_run_stores_every_healthy_record_exactly_as_a_clean_run(
    clean: Outcome, faulty: Outcome
) -> None:
    assert clean.codes == [0, 0], clean.summary
    assert faulty.codes == [0, 0], faulty.summary
    by_record = {(t, c.key, c.day): c for c in CASES.values() for t in c.tables}
    for table in ASSETS:
        want, got = rows_by_key(clean.warehouse, table), rows_by_key(faulty.warehouse, table)
        assert want, table
        assert set(got) <= set(want), (table, sorted(set(got) - set(want))[:3])
        for key, row in want.items():
            case = by_record.get((table, key[1], key[0]))
            if case is None:
                assert key in got and same_row(got[key], row), (table, key)
            elif case.stored is None:
                assert key not in got, (case.name, table)
            else:
                assert key in got and same_row(got[key], case.stored(row)), (case.name, table)


@pytest.mark.parametrize("name", list(CASES))
def test_every_refused_record_is_in_rest_rejects_with_its_raw_payload(
    name: str, faulty: Outcome
) -> None:
    case = CASES[name]
    found = rejects(faulty.warehouse)
    for table in case.tables:
        reject = find_reject(found, table, case)
        if case.stored is not None:
            assert reject is None, (name, table)
            continue
        assert reject is not None, (name, table)
        assert set(reject["field"].split(",")) & set(case.changes), (name, reject)
        assert reject["reason"], name
        raw = json.loads(reject["raw"])
        for kis_field, value in case.changes.items():
            if value == ABSENT:
                assert kis_field not in raw
            elif not value.startswith("x"):
                assert raw[kis_field] == value, (name, kis_field)
        assert reject["tr_id"] == case.tr_id


def test_master_records_are_refused_alone_and_the_rest_of_the_universe_is_kept(
    clean: Outcome, faulty: Outcome
) -> None:
    want = clean.warehouse.read("symbols", [NEWEST.isoformat()])
    got = faulty.warehouse.read("symbols", [NEWEST.isoformat()])
    broken = [symbol for symbol, _, _ in MASTER_CASES.values()]
    assert got.sort("symbol").equals(want.filter(~pl.col("symbol").is_in(broken)).sort("symbol"))
    found = [r for r in rejects(faulty.warehouse) if r["target_table"] == "symbols"]
    assert len(found) == len(MASTER_CASES)
    for symbol, kis_field, value in MASTER_CASES.values():
        [reject] = [r for r in found if r["field"] == kis_field and symbol[1:] in r["raw"]]
        assert reject["endpoint"].endswith("_code.mst")
        assert value in reject["raw"]


def test_the_summary_counts_the_rejects_and_the_waived_gates(faulty: Outcome) -> None:
    summary = faulty.summary
    assert "records rejected: " in summary and "(see the rest_rejects table)" in summary
    assert "daily_prices_no_rejects" in summary and "daily_prices_complete" in summary
    assert "checks warned:" in summary
    assert TABLES["rest_rejects"].partition_column == "received_date"
