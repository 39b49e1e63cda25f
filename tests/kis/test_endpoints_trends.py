"""The per-symbol daily trends as the client sends and reads them: the symbol where the family
marks it, a range endpoint's first day, 10-character dates where the portal documents them, the
credit balance walked back by settlement date, and KIS's units into shares and KRW."""

from __future__ import annotations

import datetime as dt

from kis_pipeline.kis.endpoints.credit_balance import CREDIT_BALANCE
from kis_pipeline.kis.endpoints.market_program_trading import MARKET_PROGRAM_TRADING
from kis_pipeline.kis.endpoints.member_flows import MEMBER_FLOWS
from kis_pipeline.kis.endpoints.program_trading import PROGRAM_TRADING
from kis_pipeline.kis.endpoints.trade_volume import DAILY_TRADE_VOLUME
from tests.kis.endpoint_fakes import FakeClient, ok

D = dt.date


def _sides(day: str) -> dict[str, str]:
    return {"stck_bsop_date": day, "total_seln_qty": "1200", "total_shnu_qty": "800"}


def test_a_range_endpoint_sends_its_first_day_and_walks_back_only_past_its_cap() -> None:
    # A full page of 100 records does not reach the start: the next window ends before it.
    days = [D(2024, 6, 28) - dt.timedelta(days=i) for i in range(100)]
    full = ok(output1={}, output2=[_sides(f"{d:%Y%m%d}") for d in days])
    rest = ok(output1={}, output2=[_sides(d) for d in ("20240320", "20240319", "20240318")])
    client = FakeClient.scripted([full, rest])
    frame = DAILY_TRADE_VOLUME.fetch(client, "005930", D(2024, 3, 18), D(2024, 6, 28))
    assert [(c.params["FID_INPUT_DATE_1"], c.params["FID_INPUT_DATE_2"]) for c in client.calls] == [
        ("20240318", "20240628"),
        ("20240318", "20240320"),
    ]
    assert {c.params["FID_INPUT_ISCD"] for c in client.calls} == {"005930"}
    assert frame.height == 103
    assert frame.row(0) == (D(2024, 3, 18), "005930", 800, 1200, "KRX")


def _program(day: str) -> dict[str, str]:
    return {
        "stck_bsop_date": day,
        "stck_clpr": "70000",
        "prdy_vrss": "500",
        "prdy_ctrt": "0.72",
        "acml_vol": "1000",
        "acml_tr_pbmn": "70000000",
        "whol_smtn_seln_vol": "300",
        "whol_smtn_shnu_vol": "450",
        "whol_smtn_ntby_qty": "150",
        "whol_smtn_seln_tr_pbmn": "21000000",
        "whol_smtn_shnu_tr_pbmn": "31500000",
        "whol_smtn_ntby_tr_pbmn": "10500000",
        "whol_ntby_vol_icdc": "-20",
        "whol_ntby_tr_pbmn_icdc2": "-1400000",
    }


def test_program_trading_sends_ten_character_dates_and_keeps_kis_units() -> None:
    client = FakeClient.scripted([ok(output=[_program("20240308"), _program("20240307")])])
    frame = PROGRAM_TRADING.fetch(client, "005930", D(2024, 3, 7), D(2024, 3, 8))
    assert client.calls[0].params == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_INPUT_ISCD": "005930",
        "FID_INPUT_DATE_1": "0020240308",
    }
    first = frame.row(0, named=True)
    assert (first["buy_volume"], first["sell_volume"], first["net_volume"]) == (450, 300, 150)
    assert (first["buy_value"], first["net_value"], first["venue"]) == (
        31_500_000,
        10_500_000,
        "KRX",
    )


def _credit(deal: str, settled: str) -> dict[str, str]:
    return {
        "deal_date": deal,
        "stlm_date": settled,
        "stck_prpr": "70000",
        "acml_vol": "1000",
        "whol_loan_rmnd_stcn": "5000",
        "whol_stln_rmnd_stcn": "40",
    }


def test_the_credit_balance_walks_by_settlement_date_and_keeps_trade_dates() -> None:
    # 30 records a call; the window is a settlement date, two sessions after the trade.
    deals = [D(2024, 3, 29) - dt.timedelta(days=i) for i in range(30)]
    first = [_credit(f"{d:%Y%m%d}", f"{d + dt.timedelta(days=2):%Y%m%d}") for d in deals]
    second = [_credit("20240228", "20240301"), _credit("20240227", "20240229")]
    client = FakeClient.scripted([ok(output=first), ok(output=second)])
    frame = CREDIT_BALANCE.fetch(client, "005930", D(2024, 2, 28), D(2024, 3, 28))
    sent = [c.params["fid_input_date_1"] for c in client.calls]
    # The first window reaches past the end by the settlement lag; the next one ends the day
    # before the oldest settlement date seen (2024-03-02).
    assert sent == ["20240409", "20240301"]
    assert frame["date"].min() == D(2024, 2, 28) and frame["date"].max() == D(2024, 3, 28)
    assert frame.height == 30
    assert frame.filter(frame["date"] == D(2024, 3, 1))["settlement_date"].to_list() == [
        D(2024, 3, 3)
    ]


def _market_program(day: str) -> dict[str, str]:
    parts = {
        "arbt": ("100", "40", "60", "7000", "2800"),
        "nabt": ("900", "1000", "-100", "63000", "70000"),
    }
    row = {"stck_bsop_date": day}
    for part, (buy, sell, net, buy_value, sell_value) in parts.items():
        row |= {
            f"{part}_smtn_shnu_vol": buy,
            f"{part}_smtn_seln_vol": sell,
            f"{part}_smtn_ntby_qty": net,
            f"{part}_smtn_shnu_tr_pbmn": buy_value,
            f"{part}_smtn_seln_tr_pbmn": sell_value,
            f"{part}_smtn_ntby_tr_pbmn": str(int(buy_value) - int(sell_value)),
        }
    return row | {
        "whol_smtn_shnu_vol": "1000",
        "whol_smtn_seln_vol": "1040",
        "whol_smtn_shnu_tr_pbmn": "70000",
        "whol_smtn_seln_tr_pbmn": "72800",
    }


def test_a_markets_program_trading_sends_its_market_code_and_stores_its_name() -> None:
    client = FakeClient.scripted([ok(output=[_market_program("20240308")])])
    frame = MARKET_PROGRAM_TRADING.fetch(client, "KOSDAQ", D(2024, 3, 8), D(2024, 3, 8))
    assert client.calls[0].params == {
        "FID_COND_MRKT_DIV_CODE": "J",
        "FID_MRKT_CLS_CODE": "Q",
        "FID_INPUT_DATE_1": "20240308",
        "FID_INPUT_DATE_2": "",
    }
    row = frame.row(0, named=True)
    assert (row["date"], row["market"], row["venue"]) == (D(2024, 3, 8), "KOSDAQ", "KRX")
    assert (row["arbitrage_net_volume"], row["non_arbitrage_net_value"]) == (60, -7000)
    assert (row["buy_volume"], row["sell_value"]) == (1000, 72800)


def test_a_markets_program_trading_names_the_days_older_than_kis_keeps() -> None:
    today = D(2026, 11, 20)
    days = [D(2026, 3, 23), D(2026, 3, 24), D(2026, 3, 25), D(2026, 4, 1)]
    assert MARKET_PROGRAM_TRADING.too_old(days[2:], today) is None
    assert MARKET_PROGRAM_TRADING.kept_days(days, today) == days[2:]
    assert MARKET_PROGRAM_TRADING.too_old(days, today) == (
        "market_program_trading: KIS keeps 240 days of market program trading (SPEC §9.8): "
        "2 day(s) from 2026-03-23 to 2026-03-24 are older than 2026-03-25 and are skipped, "
        "nothing is stored for them"
    )


def _member(day: str) -> dict[str, str]:
    return {
        "stck_bsop_date": day,
        "total_seln_qty": "300",
        "total_shnu_qty": "450",
        "ntby_qty": "150",
        "stck_prpr": "70000",
        "acml_vol": "1000",
    }


def test_member_flows_ask_once_per_member_and_store_its_code(monkeypatch) -> None:
    monkeypatch.setenv("KIS_MEMBERS", "00044, 00003,00044")
    client = FakeClient.scripted([ok(output=[_member("20240308")])] * 2)
    frame = MEMBER_FLOWS.fetch(client, "005930", D(2024, 3, 8), D(2024, 3, 8))
    assert [c.params for c in client.calls] == [
        {
            "FID_COND_MRKT_DIV_CODE": "J",
            "FID_INPUT_ISCD": "005930",
            "FID_SCTN_CLS_CODE": "",
            "FID_INPUT_ISCD_2": member,
            "FID_INPUT_DATE_1": "20240308",
            "FID_INPUT_DATE_2": "20240308",
        }
        for member in ("00044", "00003")
    ]
    assert frame.select("symbol", "member", "buy_volume", "net_volume").rows() == [
        ("005930", "00044", 450, 150),
        ("005930", "00003", 450, 150),
    ]
    assert MEMBER_FLOWS.calls(30) == 2
