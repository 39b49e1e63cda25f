"""`rankings` of the latest session as KIS shows them: volume, rise, fall and market cap."""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.kis import schemas
from kis_pipeline.kis.client import KisClient
from kis_pipeline.kis.endpoints.rankings import (
    fetch_fluctuation_ranking,
    fetch_market_cap_ranking,
    fetch_volume_ranking,
)


def capture_from_kis(client: KisClient, day: dt.date) -> pl.DataFrame:
    """The four rankings as KIS shows them now; they describe session `day`."""
    frames = [
        fetch_volume_ranking(client, day),
        fetch_fluctuation_ranking(client, day, direction="rise"),
        fetch_fluctuation_ranking(client, day, direction="fall"),
        fetch_market_cap_ranking(client, day),
    ]
    return pl.concat(frames, how="vertical").select(list(schemas.RANKINGS))
