"""`listings`: the point-in-time universe, every stock the warehouse has evidence of, listed or
delisted, with the day it came to market and the day it left.

Three sources, each where it knows best:

- `symbols`, the nightly master-file snapshots: a name in one snapshot and missing from every
  later one left the market between the two (delisted on the first snapshot without it, to
  within the nights not captured); a name first seen after the first snapshot came then.
- `stock_info` and the §10.9 calls this asset makes itself: KIS's own listing and delisting
  dates, which win wherever they are given.
- `listing_events`, the KSD listing schedule: the IPO date of every name listed in the years
  fetched, including names delisted since, which are the codes no master file shows any more.

The names no master file lists today are asked about (§10.9), one call each, so a name known
only from the KSD schedule or an old snapshot gets its delisting date; they are few (the names
that left the market), so this costs a handful of calls a night.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from kis_pipeline.kis.endpoints.listing_events import NEW_LISTING
from kis_pipeline.warehouse import TABLES, Warehouse

SCHEMA = TABLES["listings"].schema
# Ordinary stocks of the master files (`symbols` holds only these).
STOCK_KINDS = ("stock", "foreign_stock", "depositary_receipt")


def previous_listings(wh: Warehouse) -> pl.DataFrame:
    """The newest `listings` snapshot (empty without one)."""
    earlier = wh.partitions("listings")
    return wh.read("listings", [earlier[-1]]) if earlier else pl.DataFrame(schema=SCHEMA)


def unlisted_codes(wh: Warehouse, master: pl.DataFrame, previous: pl.DataFrame) -> list[str]:
    """Codes the warehouse has seen that the newest master snapshot does not list, the names
    whose delisting date this asset asks KIS for: those of earlier snapshots (`master`, from
    `from_snapshots`: a name of the newest has no delisting) and the KSD IPOs. A delisting KIS
    already gave (`previous` has it from stock_info) is final: not asked again, so the calls
    stay those of the names that left since."""
    listed = set(master.filter(pl.col("delisted_on").is_null())["symbol"].to_list())
    codes = set(master["symbol"].to_list())
    if wh.partitions("listing_events"):
        ipos = wh.select("listing_events", "reason = ?", [NEW_LISTING])
        codes |= set(ipos["symbol"].to_list())
    codes |= set(previous["symbol"].to_list())
    settled = previous.filter(
        pl.col("delisted_on").is_not_null() & pl.col("source").str.contains("stock_info")
    )
    return sorted(codes - listed - set(settled["symbol"].to_list()))


def from_snapshots(wh: Warehouse) -> pl.DataFrame:
    """symbol, name, market, kind, listed_on, delisted_on as the master snapshots show them."""
    dates = wh.partitions("symbols")
    empty = pl.DataFrame(schema={k: SCHEMA[k] for k in _COLUMNS})
    if not dates:
        return empty
    spans = wh.query(
        """SELECT symbol, arg_max(name, date) AS name, arg_max(market, date) AS market,
                  min(date) AS first_seen, max(date) AS last_seen,
                  min(list_date) AS list_date
           FROM "symbols" GROUP BY symbol"""
    )
    first = dt.date.fromisoformat(dates[0])
    days = pl.Series("d", [dt.date.fromisoformat(d) for d in dates], dtype=pl.Date)
    after = {last: _next(days, last) for last in spans["last_seen"].unique().to_list()}
    return spans.select(
        "symbol",
        "name",
        "market",
        pl.lit("stock").alias("kind"),
        # The master's listing date, else the first snapshot that held a name it did not.
        pl.coalesce(
            "list_date",
            pl.when(pl.col("first_seen") > first).then(pl.col("first_seen")),
        ).alias("listed_on"),
        pl.col("last_seen").replace_strict(after, return_dtype=pl.Date).alias("delisted_on"),
    ).cast({k: SCHEMA[k] for k in _COLUMNS})


_COLUMNS = ("symbol", "name", "market", "kind", "listed_on", "delisted_on")


def _next(days: pl.Series, day: dt.date) -> dt.date | None:
    """The first snapshot after `day`, None when `day` is the newest."""
    later = days.filter(days > day)
    return later.min() if later.len() else None  # type: ignore[return-value]


def from_stock_info(frames: list[pl.DataFrame]) -> pl.DataFrame:
    """The newest §10.9 description of each stock among `frames` (`stock_info` rows)."""
    rows = pl.concat([f for f in frames if f.height], how="vertical") if frames else None
    if rows is None or rows.is_empty():
        return pl.DataFrame(schema={k: SCHEMA[k] for k in _COLUMNS})
    rows = rows.filter(pl.col("product_kind").is_in(STOCK_KINDS) | pl.col("product_kind").is_null())
    newest = rows.sort("as_of").group_by("symbol", maintain_order=True).last()
    return newest.select(
        "symbol", "name", "market", pl.col("product_kind").alias("kind"), "listed_on", "delisted_on"
    ).cast({k: SCHEMA[k] for k in _COLUMNS})


def from_listing_events(wh: Warehouse) -> pl.DataFrame:
    """symbol, name and IPO date of every new listing in the KSD schedule fetched so far."""
    if not wh.partitions("listing_events"):
        return pl.DataFrame(schema={k: SCHEMA[k] for k in _COLUMNS})
    ipos = wh.select("listing_events", "reason = ?", [NEW_LISTING])
    first = ipos.sort("date").group_by("symbol", maintain_order=True).first()
    return first.select(
        "symbol",
        "name",
        pl.lit(None, dtype=pl.String).alias("market"),
        pl.lit("stock").alias("kind"),
        pl.col("date").alias("listed_on"),
        pl.lit(None, dtype=pl.Date).alias("delisted_on"),
    ).cast({k: SCHEMA[k] for k in _COLUMNS})


def combine(
    as_of: dt.date,
    master: pl.DataFrame,
    described: pl.DataFrame,
    ksd: pl.DataFrame,
    previous: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """One row per symbol: KIS's description first, then the previous `listings` snapshot (a
    delisting KIS gave before), then the master snapshots, then the KSD schedule; the name,
    market, kind and listing date from the first that has them, the delisting from the first
    that knows the name; `source` names every source that knows it, in that order."""
    earlier = previous if previous is not None else pl.DataFrame(schema=SCHEMA)
    sources = (
        ("stock_info", described),
        ("previous", earlier.select(_COLUMNS)),
        ("master", master),
        ("ksd", ksd),
    )
    kept = dict(zip(earlier["symbol"], earlier["source"], strict=True))
    tagged = [
        frame.with_columns(
            _rank=pl.lit(rank, dtype=pl.Int32),
            # A carried row keeps the sources it had; one row per source, for `source` below.
            _source=(
                pl.col("symbol").replace_strict(kept, default="", return_dtype=pl.String)
                if name == "previous"
                else pl.lit(name)
            ).str.split(","),
        ).explode("_source")
        for rank, (name, frame) in enumerate(sources)
    ]
    out = (
        pl.concat(tagged, how="vertical")
        .sort("symbol", "_rank", maintain_order=True)
        .group_by("symbol", maintain_order=True)
        .agg(
            *(pl.col(c).drop_nulls().first() for c in ("name", "market", "kind", "listed_on")),
            # A delisting only from the best source that knows the name: KIS describing a name
            # as listed outweighs a master snapshot without it (a run limited to some symbols).
            pl.col("delisted_on").first(),
            pl.col("_source")
            .filter(pl.col("_source") != "")
            .unique(maintain_order=True)
            .str.join(",")
            .alias("source"),
        )
        .with_columns(as_of=pl.lit(as_of, dtype=pl.Date))
    )
    return out.select(list(SCHEMA)).cast(dict(SCHEMA)).sort("symbol")


def listed_between(listings: pl.DataFrame, day: dt.date) -> list[str]:
    """The symbols of a `listings` frame listed on `day`: listed on or before it (or since
    before anything known) and not delisted by then."""
    return (
        listings.filter(
            (pl.col("listed_on").is_null() | (pl.col("listed_on") <= day))
            & (pl.col("delisted_on").is_null() | (pl.col("delisted_on") > day))
        )["symbol"]
        .sort()
        .to_list()
    )
