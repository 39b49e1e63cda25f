"""`rest_rejects`: the REST records (and master-file lines) KIS sent that broke their table's
rules, kept raw with the reason (`warehouse.rejects` writes and reads it)."""

from __future__ import annotations

import polars as pl

from kis_pipeline.common.clock import KST_NAME
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

REST_REJECTS = pl.Schema(
    {
        # The day the record was received (KST); the record's own date is `date`.
        "received_date": pl.Date,
        "received_at": pl.Datetime("us", KST_NAME),
        # One batch per client session: the rejects one run's fetching produced.
        "batch_id": pl.String,
        "record": pl.Int64,
        "endpoint": pl.String,
        "tr_id": pl.String,
        "target_table": pl.String,
        "symbol": pl.String,
        "date": pl.Date,
        "field": pl.String,
        "reason": pl.String,
        "raw": pl.String,
    }
)

register_table(
    TableSpec(
        "rest_rejects",
        REST_REJECTS,
        "date",
        "received_date",
        ("batch_id", "record"),
        ("received_at", "record"),
        "One row per REST record (or master-file line) KIS sent that broke its table's rules: "
        "why, and the record as received. Nothing KIS sends is dropped silently.",
    )
)
