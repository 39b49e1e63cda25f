"""`run_stream` (the `kis-pipeline stream` command): progress, summary, exit status."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from kis_pipeline.cli.main import main
from kis_pipeline.cli.stream import run_stream
from kis_pipeline.common.clock import KST
from kis_pipeline.common.overseas_exchanges import EXCHANGES
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.simulator.server import SimulatorServer
from kis_pipeline.simulator.venues import NXT, nxt_on, on_venue
from kis_pipeline.streaming.locks import collector_locks
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse, connect
from tests.helpers.simulator import SIM_NOW, sim_environ
from tests.streaming.helpers import settings_for, stream_persisting


@pytest.fixture
def settings(sim_server: SimulatorServer, tmp_path: Path) -> KisSettings:
    return settings_for(sim_server, tmp_path)


def test_stream_with_persist_leaves_every_sealed_frame_in_the_warehouse(
    sim_server: SimulatorServer, settings: KisSettings
) -> None:
    symbols = [listing.symbol for listing in sim_server.state.market.listings[:3]]
    text = stream_persisting(settings, symbols, 1.2)
    assert "streaming 3 symbols (--symbols) as 6 registrations" in text
    assert "6 of 6 subscriptions active" in text
    assert "stopped (duration)" in text and "persisted" in text
    spool = Spool.for_warehouse(settings.warehouse)
    assert spool.sealed_ids() == [] and spool.done_ids()
    with connect(Warehouse(settings.warehouse)) as con:
        (ticks,) = con.execute("select count(*) from trade_ticks").fetchone() or (0,)
        (sessions,) = con.execute("select count(*) from stream_sessions").fetchone() or (0,)
    assert ticks > 0 and sessions == 1


def test_a_second_collector_refuses_to_start_in_one_line(
    settings: KisSettings, capsys: object
) -> None:
    spool = Spool.for_warehouse(settings.warehouse)
    key_id = settings.key_id
    with collector_locks(settings.state_dir, spool.open_lock(key_id), key_id):
        status = run_stream(settings, duration=1, symbols=["005930"], persist=False)
    assert status == 1
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert err.count("\n") == 1 and err.startswith("error: another collector (pid ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--symbols", "99999X"], "error: unknown symbol(s) 99999X: not in the master files"),
        (["--symbols", "005930,12AB"], "error: malformed symbol(s) 12AB: a symbol is a 6-"),
        (["--symbols", "005930", "--duration", "-5"], "error: --duration -5 is not a positive"),
        (["--symbols", "005930", "--duration", "0"], "error: --duration 0 is not a positive"),
        (
            ["--symbols", "005930", "--overseas", "NAS-AAPL"],
            "error: --overseas has 'NAS-AAPL'; write EXCHANGE:TICKER pairs such as NAS:AAPL",
        ),
        (
            ["--symbols", "005930", "--venue", "NYSE"],
            "error: --venue 'NYSE' is not known; use one of KRX, NXT, KRX+NXT (default KRX)",
        ),
    ],
)
def test_bad_stream_input_is_one_line_exit_2_before_any_connection(
    sim_server: SimulatorServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    environ = sim_environ(sim_server, tmp_path / "state", KIS_WAREHOUSE=str(tmp_path / "wh"))
    monkeypatch.delenv("KIS_SYMBOLS", raising=False)
    monkeypatch.chdir(tmp_path)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert main(["stream", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1, err
    key = environ["KIS_APP_KEY"]
    stats = sim_server.stats()
    assert stats["rest"].get(key, {}).get("served", 0) == 0
    assert stats["approval_keys_issued"].get(key, 0) == 0
    assert stats["ws_sessions_opened"].get(key, 0) == 0


def test_a_nextrade_stream_stores_nextrades_evening_marked_nxt(
    sim_server: SimulatorServer, settings: KisSettings
) -> None:
    market = sim_server.state.market
    day = SIM_NOW.date()
    traded = [x.symbol for x in market.listings if nxt_on(x, day)][:2]
    lines: list[str] = []
    status = run_stream(
        settings,
        duration=1.2,
        symbols=traded,
        persist=True,
        venue="nxt",
        seal_interval_s=0.2,
        echo=lines.append,
    )
    assert status == 0, lines
    assert "as 4 registrations of H0NXCNT0, H0NXASP0" in "\n".join(lines)
    with connect(Warehouse(settings.warehouse)) as con:
        trades = con.execute(
            "select symbol, venue, tr_id, date, price, "
            "strftime(timezone('Asia/Seoul', ts), '%H') as hour from trade_ticks"
        ).pl()
        books = con.execute("select distinct venue, tr_id from orderbook_ticks").fetchall()
        (rejects,) = con.execute("select count(*) from stream_rejects").fetchone() or (0,)
    assert trades.height > 0 and rejects == 0
    # 18:00 is Nextrade's after-market of the day, while KRX has closed.
    assert set(trades.select("venue", "tr_id", "date", "hour").rows()) == {
        ("NXT", "H0NXCNT0", day, "18")
    }
    assert books == [("NXT", "H0NXASP0")]
    for symbol, prices in trades.group_by("symbol").agg("price").iter_rows():
        bar = on_venue(NXT, market.listing(symbol), market.session_bar(symbol, day))
        assert bar is not None
        assert bar.low <= min(prices) <= max(prices) <= bar.high


def test_overseas_delayed_trades_stream_beside_the_domestic_feeds(
    sim_server: SimulatorServer, settings: KisSettings
) -> None:
    market = sim_server.state.market
    lines: list[str] = []
    status = run_stream(
        settings,
        duration=1.2,
        symbols=["005930"],
        persist=True,
        overseas="nas:aapl,HKS:00700,NAS:ZZZZ",
        seal_interval_s=0.2,
        echo=lines.append,
    )
    text = "\n".join(lines)
    assert status == 0, lines
    assert "1 symbols (--symbols) and 3 overseas tickers' delayed trades as 5 registrations" in text
    # A ticker KIS does not know is refused by the server and named; the others stream.
    assert "4 of 4 subscriptions active; refused: HDFSCNT0/DNASZZZZ: OPSP8993" in text
    with connect(Warehouse(settings.warehouse)) as con:
        abroad = con.execute(
            "select venue, symbol, local_date, price, ts, local_time, tr_id from overseas_ticks"
        ).pl()
        (domestic,) = con.execute("select count(*) from trade_ticks").fetchone() or (0,)
        (rejects,) = con.execute("select count(*) from stream_rejects").fetchone() or (0,)
    assert domestic > 0 and rejects == 0
    assert set(abroad.select("venue", "symbol", "tr_id").rows()) == {
        ("NAS", "AAPL", "HDFSCNT0"),
        ("HKS", "00700", "HDFSCNT0"),
    }
    for excd, ticker, day, price, ts, clock, _ in abroad.iter_rows():
        bar = market.overseas_session_bar(excd, ticker, day)
        assert bar is not None and bar.low <= price <= bar.high
        # ts is the Korean time of the exchange's local date and time.
        local = dt.datetime.strptime(f"{day:%Y%m%d}{clock}", "%Y%m%d%H%M%S")
        zone = EXCHANGES[excd].zone
        assert ts == local.replace(tzinfo=zone).astimezone(KST)
