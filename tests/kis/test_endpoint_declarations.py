"""An `Endpoint` declaration drives its call: the container and rows it declares parse the
answer, its `window_end` parameters carry each window of a walk, and a declaration missing a
part says which endpoint lacks what."""

from __future__ import annotations

import datetime as dt

import pytest

from kis_pipeline.kis.endpoints._base import Endpoint
from kis_pipeline.kis.endpoints.index import INDEX_BARS
from tests.kis.endpoint_fakes import FakeClient, ok

D = dt.date
BAR = {
    "bstp_nmix_oprc": "2700.00",
    "bstp_nmix_hgpr": "2720.00",
    "bstp_nmix_lwpr": "2690.00",
    "bstp_nmix_prpr": "2710.00",
    "acml_vol": "400000",
    "acml_tr_pbmn": "9000000",
    "mod_yn": "N",
}
WALKING = Endpoint(
    "test-chart",
    "/test/chart",
    "TEST0001",
    container="output2",
    rows=INDEX_BARS,
    window_end=("END_A", "END_B"),
    page_rows=2,
)


def test_a_walk_sets_every_declared_window_end_and_parses_the_declared_container() -> None:
    pages = [
        ok(output2=[{**BAR, "stck_bsop_date": d} for d in ("20240607", "20240606")]),
        ok(output2=[{**BAR, "stck_bsop_date": "20240605"}]),
    ]
    client = FakeClient.scripted(pages)
    frame = WALKING.walk(
        client, {"FIXED": "x"}, D(2024, 6, 1), D(2024, 6, 7), constants={"index_code": "0001"}
    )
    assert frame["date"].to_list() == [D(2024, 6, 5), D(2024, 6, 6), D(2024, 6, 7)]
    assert [call.params for call in client.calls] == [
        {"FIXED": "x", "END_A": "20240607", "END_B": "20240607"},
        {"FIXED": "x", "END_A": "20240605", "END_B": "20240605"},
    ]


def test_a_declaration_missing_a_part_names_the_endpoint() -> None:
    bare = Endpoint("test-snapshot", "/test/snapshot", "TEST0002")
    with pytest.raises(TypeError, match="TEST0002 test-snapshot declares no RecordSpec"):
        bare.fetch(FakeClient.scripted([]), {})
    with pytest.raises(TypeError, match="TEST0002 test-snapshot declares no window_end"):
        bare.walk(FakeClient.scripted([]), {}, D(2024, 6, 1), D(2024, 6, 7))
