"""The trading days and the listed universe the price assets work from, read from the
warehouse (`trading_calendar`, `symbols`), never from the API; and the newest day a price
table holds.

The master files only describe today's listing, so a `symbols` snapshot exists only for the
days the symbols asset ran. A day older than the oldest snapshot is answered from that oldest
snapshot: the best knowledge there is. A symbol counts as listed on a day when it is in that
day's snapshot and its `list_date` is not after the day. Asked with `delisted`, the names
the newest `listings` snapshot shows as delisted count too, on the days they were listed: the
universe of that day, as far as the warehouse knows it.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from kis_pipeline.ingest.listings import listed_between
from kis_pipeline.warehouse import Warehouse
from kis_pipeline.warehouse.lookups import MissingReference, trading_days


@dataclass(frozen=True)
class _Listings:
    """A snapshot's symbols in order of listing date (the same length, sorted by date)."""

    dates: list[dt.date]
    symbols: list[str]


class Universe:
    """Listed symbols per day, restricted to `only` (KIS_SYMBOLS / --symbols)."""

    def __init__(
        self,
        warehouse: Warehouse,
        *,
        only: Sequence[str] | None = None,
        delisted: bool = False,
    ) -> None:
        self._warehouse = warehouse
        self._dates = warehouse.partitions("symbols")
        if not self._dates:
            raise MissingReference(
                "no symbols snapshot in the warehouse; materialize the symbols asset first"
            )
        self._frames: dict[str, pl.DataFrame] = {}
        self._by_list_date: dict[str, _Listings] = {}
        self._answers: dict[tuple[str, int], list[str]] = {}
        self.only = None if only is None else tuple(dict.fromkeys(only))
        newest = self._snapshot(self._dates[-1])
        self._gone = (
            self._delisted(warehouse, set(newest["symbol"].to_list())) if delisted else None
        )
        if self.only is not None:
            known = set(newest["symbol"].to_list())
            if self._gone is not None:
                known |= set(self._gone["symbol"].to_list())
                self._gone = self._gone.filter(pl.col("symbol").is_in(self.only))
            unknown = sorted(set(self.only) - known)
            if unknown:
                raise MissingReference(
                    f"unknown symbols {', '.join(unknown)} (not in the {self._dates[-1]} "
                    f"universe of {newest.height} listed symbols)"
                )

    def _snapshot(self, date: str) -> pl.DataFrame:
        frame = self._frames.get(date)
        if frame is None:
            frame = self._warehouse.read("symbols", [date]).select("symbol", "list_date")
            self._frames[date] = frame
        return frame

    def snapshot_date(self, day: dt.date) -> str:
        i = bisect.bisect_right(self._dates, day.isoformat())
        return self._dates[max(i - 1, 0)]

    @staticmethod
    def _delisted(warehouse: Warehouse, listed: set[str]) -> pl.DataFrame | None:
        """The names of the newest `listings` that have left the market, None without one."""
        dates = warehouse.partitions("listings")
        if not dates:
            return None
        frame = warehouse.read("listings", [dates[-1]])
        return frame.filter(
            pl.col("delisted_on").is_not_null() & ~pl.col("symbol").is_in(sorted(listed))
        ).select("symbol", "listed_on", "delisted_on")

    @property
    def with_delisted(self) -> bool:
        """Whether delisted names count (a `listings` snapshot exists and was asked for)."""
        return self._gone is not None

    def on(self, day: dt.date) -> list[str]:
        """Symbols listed on `day`, sorted (with the names delisted since, if asked for)."""
        listings = self._listings(self.snapshot_date(day))
        # Days between two listings in a snapshot share one answer: a range asks for each day.
        count = bisect.bisect_right(listings.dates, day)
        key = (self.snapshot_date(day), count)
        if key not in self._answers:
            self._answers[key] = sorted(listings.symbols[:count])
        if self._gone is None:
            return list(self._answers[key])
        return sorted({*self._answers[key], *listed_between(self._gone, day)})

    def _listings(self, date: str) -> _Listings:
        found = self._by_list_date.get(date)
        if found is None:
            frame = self._snapshot(date)
            if self.only is not None:
                frame = frame.filter(pl.col("symbol").is_in(self.only))
            # A symbol without a list date was listed all along.
            rows = sorted(
                (listed or dt.date.min, symbol)
                for symbol, listed in frame.select("symbol", "list_date").iter_rows()
            )
            found = _Listings([d for d, _ in rows], [s for _, s in rows])
            self._by_list_date[date] = found
        return found

    def expected(self, days: Sequence[dt.date]) -> pl.DataFrame:
        """(date, symbol) of every listed symbol on each of `days`."""
        pairs = [(day, symbol) for day in days for symbol in self.on(day)]
        return pl.DataFrame(pairs, schema={"date": pl.Date, "symbol": pl.String}, orient="row")


def open_days(warehouse: Warehouse, days: Sequence[dt.date]) -> set[dt.date]:
    """Which of `days` KRX traded, per `trading_calendar` (MissingReference if uncovered)."""
    if not days:
        return set()
    return set(trading_days(warehouse, min(days), max(days)))


def previous_trading_day(warehouse: Warehouse, day: dt.date, *, lookback: int = 20) -> dt.date:
    """The trading day before `day` (looking back at most `lookback` calendar days)."""
    start = day - dt.timedelta(days=lookback)
    days = [d for d in trading_days(warehouse, start, day - dt.timedelta(days=1))]
    if not days:
        raise MissingReference(f"no trading day in the {lookback} days before {day}")
    return days[-1]


# The multi-quote is the day's summary once the after-hours sessions end (SPEC §7.11): KRX's
# at 18:00, NXT's evening session at 20:00 (for NXT and the combined market).
SESSION_FINAL = dt.time(18, 0)
FINAL_BY_MARKET = {"J": SESSION_FINAL, "NX": dt.time(20, 0), "UN": dt.time(20, 0)}


def session_final(market: str) -> dt.time:
    return FINAL_BY_MARKET.get(market, SESSION_FINAL)


def latest_session(
    warehouse: Warehouse, now: dt.datetime, *, final: dt.time = SESSION_FINAL
) -> dt.date | None:
    """The newest trading day whose quotes are final at `now` (KST, after `final`), per the
    calendar."""
    today = now.date()
    try:
        days = trading_days(warehouse, today - dt.timedelta(days=20), today)
    except MissingReference:
        return None
    if days and days[-1] == today and now.time() < final:
        days = days[:-1]
    return days[-1] if days else None


def nxt_names(warehouse: Warehouse) -> list[str]:
    """The listed symbols the newest `stock_info` snapshot describes as tradable on Nextrade."""
    dates = warehouse.partitions("stock_info")
    if not dates:
        raise MissingReference(
            "KIS_VENUE=NXT prices the names tradable on Nextrade, which stock_info records "
            "(is_nxt_tradable); materialize stock_info first"
        )
    frame = warehouse.read("stock_info", [dates[-1]])
    # stock_info is weekly: a name it still flags may have left the newest master snapshot.
    snapshots = warehouse.partitions("symbols")
    listed = warehouse.read("symbols", snapshots[-1:])["symbol"].to_list() if snapshots else []
    tradable = pl.col("is_nxt_tradable").fill_null(False) & pl.col("symbol").is_in(listed)
    return frame.filter(tradable)["symbol"].sort().to_list()


def newest_nonempty(warehouse: Warehouse, table: str) -> dt.date | None:
    """The newest partition of a daily price table that has rows (closed days are empty)."""
    for key in reversed(warehouse.partitions(table)):
        if not warehouse.read(table, [key]).is_empty():
            return dt.date.fromisoformat(key)
    return None
