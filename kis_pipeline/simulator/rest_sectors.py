"""All sub-indices of an index category, inquire-index-category-price FHPUP02140000 (SPEC §12.4).

One call per category answers the last completed session: `output1` the parent index (KOSPI
`0001` with `FID_MRKT_CLS_CODE` `K`, KOSDAQ `1001` with `Q`), `output2` one record per sector
sub-index (`market_indices.sub_indices`), its level, change and volume, in KIS's index units
(thousands of shares, KRW millions) and its weight in the parent's volume and value (%).
`FID_BLNG_CLS_CODE` `0` (all sectors) and `3` (by business type) answer the sectors; the other
groupings (by capital size, venture, ...) are not modelled and answer none. KOSPI200's
category (`2001`, `K2`) has no sector sub-indices here either.
"""

from __future__ import annotations

from kis_pipeline.simulator.rest_charts import index_levels
from kis_pipeline.simulator.rest_common import Endpoint, Params, Reply, dec, invalid_param, ok, rate
from kis_pipeline.simulator.rest_market import MarketView

CATEGORIES = {"0001": "K", "1001": "Q", "2001": "K2"}
_SECTOR_GROUPS = ("0", "3")


def index_category(view: MarketView, params: Params, tr_cont: str) -> Reply:
    params.choice("FID_COND_MRKT_DIV_CODE", ("U",))
    parent = params.choice("FID_INPUT_ISCD", tuple(CATEGORIES), max_len=12)
    params.choice("FID_COND_SCR_DIV_CODE", ("20214",), max_len=5)
    if params.choice("FID_MRKT_CLS_CODE", tuple(CATEGORIES.values())) != CATEGORIES[parent]:
        raise invalid_param("FID_MRKT_CLS_CODE")
    group = params.choice("FID_BLNG_CLS_CODE", ("0", "1", "2", "3"))
    day = view.session()
    top = view.index_bar(parent, day)
    if top is None:
        raise invalid_param("FID_INPUT_ISCD")
    summary = {
        **index_levels(top),
        "bstp_nmix_oprc": dec(top.open),
        "bstp_nmix_hgpr": dec(top.high),
        "bstp_nmix_lwpr": dec(top.low),
    }
    rows = []
    if group in _SECTOR_GROUPS:
        for code, (name, of) in view.sub_indices().items():
            bar = view.index_bar(code, day) if of == parent else None
            if bar is not None:
                rows.append(
                    {
                        "bstp_cls_code": code,
                        "hts_kor_isnm": name,
                        **index_levels(bar),
                        "acml_vol_rlim": rate(bar.volume, top.volume),
                        "acml_tr_pbmn_rlim": rate(bar.value, top.value),
                    }
                )
    return Reply(ok(output1=summary, output2=rows))


ENDPOINTS = (
    Endpoint(
        "/uapi/domestic-stock/v1/quotations/inquire-index-category-price",
        "FHPUP02140000",
        index_category,
    ),
)
