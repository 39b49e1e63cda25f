"""`corrupt=FIELD:VALUE:SYMBOL[:YYYYMMDD[:TR_ID]]`: one field of one symbol's records."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.simulator.config import FaultSpec
from kis_pipeline.simulator.corrupt import Corruption, corrupt_body


def chart(*days: str) -> dict[str, object]:
    rows = [{"stck_bsop_date": d, "stck_clpr": "71000", "acml_vol": "1200"} for d in days]
    return {"output1": {"stck_prpr": "71000"}, "output2": rows, "rt_cd": "0"}


QUERY = {"fid_input_iscd": "005930", "FID_INPUT_DATE_2": "20240607"}


def test_faults_take_several_corruptions_and_describe_them() -> None:
    spec = FaultSpec.parse(
        "http500=0.1,corrupt=stck_clpr::005930:20240605,corrupt=acml_vol:x10:000660"
    )
    assert spec.http500 == 0.1
    assert spec.corrupt == (
        Corruption("stck_clpr", "", "005930", dt.date(2024, 6, 5)),
        Corruption("acml_vol", "x10", "000660"),
    )
    assert FaultSpec.parse(spec.describe()) == spec


@pytest.mark.parametrize("text", ["corrupt=stck_clpr", "corrupt=a:b:c:2024-06-05", "corrupt=::x"])
def test_a_malformed_corruption_says_the_format(text: str) -> None:
    with pytest.raises(ValueError, match=r"FIELD:VALUE:SYMBOL\[:YYYYMMDD|not a YYYYMMDD"):
        FaultSpec.parse(text)


def test_only_the_chosen_day_of_the_chosen_symbol_changes() -> None:
    body = chart("20240607", "20240605", "20240604")
    out = corrupt_body(body, QUERY, [Corruption("stck_clpr", "1e3", "005930", dt.date(2024, 6, 5))])
    assert [r["stck_clpr"] for r in out["output2"]] == ["71000", "1e3", "71000"]  # type: ignore[index]
    other = corrupt_body(body, QUERY, [Corruption("stck_clpr", "1e3", "000660")])
    assert other == body
    assert body["output2"][1]["stck_clpr"] == "71000"  # type: ignore[index]


def test_a_corruption_for_one_tr_id_leaves_other_answers_alone() -> None:
    body = chart("20240607")
    flows_only = [Corruption("stck_clpr", "0", "005930", None, "FHPTJ04160001")]
    assert corrupt_body(body, QUERY, flows_only, tr_id="FHKST03010100") == body
    hit = corrupt_body(body, QUERY, flows_only, tr_id="FHPTJ04160001")
    assert hit["output2"][0]["stck_clpr"] == "0"  # type: ignore[index]


def test_values_multiply_drop_and_vanish() -> None:
    body = chart("20240607", "20240605")
    spike = corrupt_body(body, QUERY, [Corruption("stck_clpr", "x10", "005930")])
    assert [r["stck_clpr"] for r in spike["output2"]] == ["710000", "710000"]  # type: ignore[index]
    dropped = corrupt_body(body, QUERY, [Corruption("*", "!drop", "005930", dt.date(2024, 6, 5))])
    assert [r["stck_bsop_date"] for r in dropped["output2"]] == ["20240607"]  # type: ignore[index]
    absent = corrupt_body(body, QUERY, [Corruption("acml_vol", "!absent", "005930")])
    assert all("acml_vol" not in r for r in absent["output2"])  # type: ignore[union-attr]
