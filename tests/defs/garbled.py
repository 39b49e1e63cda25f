"""One check of a watchlist family against a corrupted simulator: a garbled record is refused
into `rest_rejects` and fails `no_rejects` and `complete`; an inconsistent one is stored and
fails only the row rule it breaks."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import polars as pl
import pytest

from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption
from kis_pipeline.simulator.market import Market
from kis_pipeline.simulator.server import SimulatorServer
from tests.defs import seed
from tests.helpers.simulator import SIM_CONFIG


def assert_caught(
    asset: object,
    table: str,
    corrupt: Corruption,
    *,
    market: Market,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: Mapping[str, str | None],
    night: tuple[str, str],
    rows: int,
    broken: str | None,
) -> None:
    """Run `asset` over `night` with `corrupt` applied; `rows` are the good run's rows, and
    `broken` names the rule an inconsistent value breaks (None: the record is refused)."""
    config = dataclasses.replace(SIM_CONFIG, faults=FaultSpec(corrupt=(corrupt,)))
    with SimulatorServer(config) as server:
        wh = seed.use_simulator(monkeypatch, server, tmp_path)
        for name, value in env.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        seed.seed_calendar(wh, market, years=[2026])
        result = seed.run_assets([asset], partition_range=night, raise_on_error=False)
    refused = broken is None
    checks = seed.check_evaluations(result)
    stored = wh.read(table).select("date", "symbol").rows()
    assert ((corrupt.date, corrupt.symbol) in stored) is not refused
    assert len(stored) == rows - refused
    failed = {name for name, e in checks.items() if not e.passed}
    assert failed == ({f"{table}_no_rejects", f"{table}_complete"} if refused else {broken})
    if broken:
        assert checks[broken].metadata["offending_count"].value == 1
    rejects = wh.read("rest_rejects").filter(pl.col("target_table") == table)
    assert rejects.select("symbol", "date", "field").rows() == (
        [(corrupt.symbol, corrupt.date, corrupt.field)] if refused else []
    )


Case = tuple[str, str, str | None]


def garbled_record_test(
    asset: object,
    table: str,
    tr_id: str,
    *,
    symbol: str,
    day: dt.date,
    night: tuple[str, str],
    rows: int,
    env: Mapping[str, str | None],
    cases: list[Case],
) -> Callable[..., None]:
    """A watchlist family's test of `cases` (field, value, and the rule an inconsistent value
    breaks, None for a refused record), each corrupting `symbol`'s `tr_id` record of `day`."""

    @pytest.mark.parametrize(("field", "value", "broken"), cases)
    def test(
        market: Market,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        field: str,
        value: str,
        broken: str | None,
    ) -> None:
        assert_caught(
            asset,
            table,
            Corruption(field, value, symbol, day, tr_id),
            market=market,
            tmp_path=tmp_path,
            monkeypatch=monkeypatch,
            env=env,
            night=night,
            rows=rows,
            broken=broken,
        )

    return test
