"""What `kis-pipeline backfill` will do: the request checked (dates, asset names, symbols, settled
sessions) before any API call, and the runs planned in dependency order, with the reference and
calendar partitions a range needs added (`backfill.py` runs them).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import dagster as dg

from kis_pipeline.cli import dagster_runner as runner
from kis_pipeline.cli.symbol_checks import SymbolError, check_listed, check_spelling
from kis_pipeline.common.clock import KST, now_kst
from kis_pipeline.defs.backend import open_warehouse
from kis_pipeline.defs.calendar.sessions import SETTLES_AT, days_between, not_ready, unsettled
from kis_pipeline.ingest.derived_lists import DERIVATIONS
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.lib.run_context import ONCE_IN_BACKFILL, SYMBOLS_TAG, tagged_symbols

DATA_START = dt.date(2015, 1, 2)


class BackfillError(ValueError):
    """A request that cannot run; the message is one line saying what to change."""


@dataclass(frozen=True)
class BackfillRequest:
    start: dt.date
    end: dt.date
    assets: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    missing: bool = False
    allow_incomplete: bool = False


def split_list(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))


# -- validation -----------------------------------------------------------------------------


# Tick tables come from the WebSocket stream, not from the API over a date range: a backfill
# touches them only when named.
STREAM_GROUPS = frozenset({"ticks"})
# Minute bars cost 4 calls per symbol-day, 400 a day for the default watchlist: a backfill of
# every asset over a year would spend most of its 100,000 calls on them; the index bars exist
# for the newest session only. Both are fetched only when named.
NAMED_ONLY_GROUPS = frozenset({"intraday"})
NAMED_ONLY_REASON = (
    "minute bars cost 4 calls per symbol-day, about 99,000 for a year of the 100 most traded "
    "names, and KIS serves the index bars of the newest session only; name them, e.g. "
    "--assets minute_bars --symbols 005930"
)


def _ranged(defs: dg.Definitions) -> list[tuple[str, str | None]]:
    """(name, group) of every materializable asset partitioned by time."""
    graph = defs.resolve_asset_graph()
    return sorted(
        (key.to_user_string(), graph.get(key).group_name)
        for key in graph.materializable_asset_keys
        if isinstance(graph.get(key).partitions_def, dg.TimeWindowPartitionsDefinition)
    )


# The ranking screens derived for past days (`DERIVATIONS`) rank a day on the sessions
# of prices before it, which a range's first days lack: a backfill of every asset would fetch
# prices before the range the user did not ask for, so they too come only when named.
DERIVED_SCREENS = frozenset(DERIVATIONS)
DERIVED_REASON = (
    "each day is derived from the 20 sessions of daily_prices up to it, which the backfill adds "
    "before the range where the warehouse lacks them; name them, e.g. --assets "
    "disparity_rankings"
)


def date_partitioned_assets(defs: dg.Definitions) -> list[str]:
    """The default selection: every materializable asset partitioned by time, except the
    stream's and those fetched only when named."""
    skipped = STREAM_GROUPS | NAMED_ONLY_GROUPS
    return [
        name
        for name, group in _ranged(defs)
        if group not in skipped and name not in DERIVED_SCREENS
    ]


def named_only_assets(defs: dg.Definitions) -> list[str]:
    return [name for name, group in _ranged(defs) if group in NAMED_ONLY_GROUPS]


def left_out(defs: dg.Definitions) -> list[str]:
    """The lines a backfill of every asset prints about the batch assets it leaves out."""
    derived = [name for name, _ in _ranged(defs) if name in DERIVED_SCREENS]
    return [
        f"not in a range backfill: {', '.join(snapshot_assets(defs))} ({SNAPSHOT_REASON})",
        f"only when named: {', '.join(named_only_assets(defs))} ({NAMED_ONLY_REASON})",
        f"only when named: {', '.join(derived)} ({DERIVED_REASON})",
    ]


def once_assets(defs: dg.Definitions) -> list[str]:
    """Assets without date partitions that a backfill runs once, before the assets reading
    them (`ONCE_IN_BACKFILL`: `listings`); part of the default selection."""
    graph = defs.resolve_asset_graph()
    return sorted(
        key.to_user_string()
        for key in graph.materializable_asset_keys
        if graph.get(key).metadata.get(ONCE_IN_BACKFILL) == "true"
    )


def snapshot_assets(defs: dg.Definitions) -> list[str]:
    """Batch assets a range backfill leaves out: those not partitioned by day, month or year
    (statements stamped `as_of` the fetch day, the newest master file), which KIS serves only
    as they stand today."""
    graph = defs.resolve_asset_graph()
    ranged = {*(name for name, _ in _ranged(defs)), *once_assets(defs)}
    return sorted(
        name
        for key in graph.materializable_asset_keys
        if (name := key.to_user_string()) not in ranged
        and graph.get(key).group_name not in (*STREAM_GROUPS, "maintenance")
    )


# Why a range backfill holds no snapshot asset, and where they come from instead.
SNAPSHOT_REASON = (
    "KIS serves them only as they stand today, so no past day can be fetched; their weekly "
    "schedule keeps them, or materialize them in `kis-pipeline dev`"
)


def validate_dates(request: BackfillRequest, *, today: dt.date | None = None) -> None:
    """The range must be ordered, hold a weekday, not be in the future and not before the data
    start."""
    today = today or now_kst().date()
    if request.start > request.end:
        raise BackfillError(f"--from {request.start} is after --to {request.end}")
    if request.end > today:
        raise BackfillError(f"--to {request.end} is in the future (today is {today} in Asia/Seoul)")
    if request.start < DATA_START:
        raise BackfillError(f"--from {request.start} is before the data start {DATA_START}")
    # A weekday partition spans the weekend after it, so a weekend alone would select Friday.
    if all(d.weekday() >= 5 for d in days_between(request.start, request.end)):
        raise BackfillError(
            f"--from {request.start} --to {request.end} holds no trading session (a weekend); "
            "nothing to fetch"
        )
    try:
        check_spelling(request.symbols)
    except SymbolError as exc:
        raise BackfillError(str(exc)) from None


def validate_request(
    request: BackfillRequest,
    defs: dg.Definitions,
    settings: KisSettings,
    *,
    now: dt.datetime | None = None,
) -> list[dg.AssetKey]:
    """Check dates, asset names, symbol spelling and that the range's sessions have settled
    (no API call); returns the asset keys."""
    now = now or now_kst()
    validate_dates(request, today=now.date())
    graph = defs.resolve_asset_graph()
    known = sorted(k.to_user_string() for k in graph.materializable_asset_keys)
    names = request.assets or (*date_partitioned_assets(defs), *once_assets(defs))
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BackfillError(
            f"unknown asset(s) {', '.join(unknown)}; known assets: {', '.join(known)}"
        )
    # A named asset without date partitions would be left out of every run: say so instead.
    once = set(once_assets(defs))
    undated = [
        n for n in names if graph.get(dg.AssetKey(n)).partitions_def is None and n not in once
    ]
    snapshots = [n for n in undated if n in snapshot_assets(defs)]
    if snapshots:
        raise BackfillError(f"{', '.join(snapshots)} cannot be backfilled: {SNAPSHOT_REASON}")
    if undated:
        raise BackfillError(
            f"{', '.join(undated)} has no date partitions to backfill; materialize it in "
            "`kis-pipeline dev`"
        )
    if settings.symbols is not None and request.symbols:
        outside = [s for s in request.symbols if s not in settings.symbols]
        if outside:
            raise BackfillError(
                f"symbol(s) {', '.join(outside)} are outside KIS_SYMBOLS "
                f"({', '.join(settings.symbols)})"
            )
    _check_settled(request, names, graph, now)
    return [dg.AssetKey(n) for n in names]


def _check_settled(
    request: BackfillRequest, names: Sequence[str], graph: Any, now: dt.datetime
) -> None:
    """A range ending in a session that has not settled would write partial (or no) rows and
    record them as done: refuse it, saying from when it can be fetched."""
    late: list[str] = []
    day = request.end
    for name in names:
        node = graph.get(dg.AssetKey(name))
        if SETTLES_AT not in node.metadata:
            continue
        # The partition holding --to: a Sunday belongs to Friday's.
        midnight = dt.datetime.combine(request.end, dt.time(), tzinfo=KST)
        day = dt.date.fromisoformat(
            node.partitions_def.get_partition_key_for_timestamp(midnight.timestamp())
        )
        if not_ready([day], now):
            late.append(name)
    if late:
        raise BackfillError(
            f"--to {request.end}: {unsettled(day, now)} ({', '.join(late)}); end the range "
            "the day before, or run it again then"
        )


def validate_symbols(symbols: Sequence[str], settings: KisSettings) -> None:
    """Every symbol must be listed (see `symbol_checks`)."""
    try:
        check_listed(symbols, settings, delisted=True)
    except SymbolError as exc:
        raise BackfillError(str(exc)) from None


# -- planning -------------------------------------------------------------------------------


# The master files describe only today's listing, so a backfill of the past needs one
# snapshot of the newest session; these are the assets that make it.
REFERENCE_ASSETS = ("index_daily", "trading_calendar", "symbols")
REFERENCE_DAYS = 10


def plan(
    request: BackfillRequest,
    defs: dg.Definitions,
    assets: Sequence[dg.AssetKey],
    instance: dg.DagsterInstance,
    *,
    settings: KisSettings | None = None,
    stream: TextIO | None = None,
) -> list[runner.RunSpec]:
    graph = defs.resolve_asset_graph()
    keys_by_asset: dict[dg.AssetKey, list[str]] = {}
    selected = list(assets)
    wanted = request.symbols or (settings.symbols if settings is not None else None) or ()
    partial = _runs_short_of(instance, wanted) if request.missing else set()
    for key in selected:
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            continue
        keys = runner.partition_keys_in_range(partitions_def, request.start, request.end)
        if request.missing:
            done = instance.get_materialized_partitions(key)
            if partial:
                done = done - _last_written_by(instance, key, partial)
            keys = [k for k in keys if k not in done]
        keys_by_asset[key] = keys
    if settings is not None:
        derived, why_derived, first_needed = _derivation_keys(graph, selected, settings, request)
        # The calendar must cover the prices the derivations add before the range too.
        calendar_request = dataclasses.replace(request, start=min(request.start, first_needed))
        prerequisites = (
            (
                _reference_keys(graph, selected, settings),
                "the warehouse has no symbols snapshot, and only the newest session's can be "
                "captured",
            ),
            (
                _calendar_keys(graph, selected, settings, calendar_request),
                f"the daily assets need the trading calendar of {request.start}..{request.end}",
            ),
            (
                _daily_price_keys(graph, selected, settings, request),
                "minute_bars takes each day's watchlist from the day's traded names",
            ),
            (derived, why_derived),
            (
                _schedule_years(graph, selected, settings, "listing_events", LISTING_READERS),
                "listings and corporate_actions learn the IPOs and splits since 2015 from the "
                "KSD listing schedule",
            ),
            (
                _schedule_years(graph, selected, settings, "bonus_issues", ACTION_READERS),
                "corporate_actions learns the bonus issues since 2015 from the KSD bonus-issue "
                "schedule",
            ),
            (
                _schedule_years(graph, selected, settings, "capital_reductions", ACTION_READERS),
                "corporate_actions learns the capital reductions since 2015 from the KSD "
                "capital-reduction schedule",
            ),
            (
                _schedule_years(graph, selected, settings, "rights_issues", ACTION_READERS),
                "corporate_actions learns the rights issues since 2015 from the KSD "
                "rights-issue schedule",
            ),
            (
                _schedule_years(graph, selected, settings, "mergers", ACTION_READERS),
                "corporate_actions learns the mergers since 2015 from the KSD merger schedule",
            ),
        )
        for extra, reason in prerequisites:
            for key, keys in extra.items():
                if key not in keys_by_asset:
                    selected.append(key)
                merged = set(keys_by_asset.get(key, [])) | set(keys)
                keys_by_asset[key] = sorted(merged)
                if stream is not None:
                    span = keys[0] if len(keys) == 1 else f"{keys[0]}..{keys[-1]}"
                    stream.write(f"adding {key.to_user_string()} for {span}: {reason}\n")
    return runner.plan_runs(defs, selected, keys_by_asset)


def _runs_short_of(instance: dg.DagsterInstance, symbols: Sequence[str]) -> set[str]:
    """Runs restricted to some symbols (`--symbols`) that do not cover `symbols` (every symbol
    when empty): a partition they materialized holds only their symbols' rows, so `--missing`
    must not count it as done for a wider request."""
    wanted = set(symbols)
    short: set[str] = set()
    # Only the runs that carry the tag, fetched by value: a long-lived instance holds many runs.
    for _, values in instance.get_run_tags(tag_keys=[SYMBOLS_TAG]):
        for value in values:
            covered = set(tagged_symbols(value) or ())
            if not wanted or not wanted <= covered:
                short.update(instance.get_run_ids(dg.RunsFilter(tags={SYMBOLS_TAG: value})))
    return short


def _last_written_by(instance: dg.DagsterInstance, key: dg.AssetKey, runs: set[str]) -> set[str]:
    """The partitions of `key` whose latest materialization came from one of `runs`."""
    latest: dict[str, str] = {}
    cursor = None
    while True:
        found = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key), limit=1000, cursor=cursor, ascending=True
        )
        for record in found.records:
            if record.partition_key is not None:
                latest[record.partition_key] = record.run_id
        if not found.has_more:
            return {partition for partition, run in latest.items() if run in runs}
        cursor = found.cursor


def _calendar_keys(
    graph: Any, selected: Sequence[dg.AssetKey], settings: KisSettings, request: BackfillRequest
) -> dict[dg.AssetKey, list[str]]:
    """Partitions of the calendar assets a selection needs but the warehouse lacks.

    Daily assets make no calls on closed days, which they learn from `trading_calendar`; a
    range the calendar does not cover would fail them, so it is materialized first, and its
    past comes from the index bars (`index_daily`), which it needs for every weekday of the
    range: a calendar named in `--assets` gets them too. The partitions cover the whole range
    (a weekend at either end falls in the window of the Friday before it).
    """
    from kis_pipeline.warehouse.lookups import calendar_frame

    calendar = dg.AssetKey("trading_calendar")
    if not graph.has(calendar):
        return {}
    needs = calendar in selected or any(
        calendar in runner.selected_ancestors(graph, key, {calendar}) for key in selected
    )
    if not needs:
        return {}
    wh = open_warehouse(settings)
    end = min(request.end, dt.datetime.now(KST).date())
    covered = calendar_frame(wh, request.start, end).height >= (end - request.start).days + 1
    if covered and calendar not in selected:
        return {}
    out: dict[dg.AssetKey, list[str]] = {}
    for name in ("index_daily", "trading_calendar"):
        key = dg.AssetKey(name)
        if not graph.has(key) or key in selected:
            continue
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            continue
        keys = runner.partition_keys_in_range(partitions_def, request.start, end)
        if name == "index_daily":
            # Bars already in the warehouse are the calendar's evidence as they are.
            have = set(wh.partitions(name))
            keys = [k for k in keys if k not in have]
        if keys:
            out[key] = keys
    return out


def _daily_price_keys(
    graph: Any, selected: Sequence[dg.AssetKey], settings: KisSettings, request: BackfillRequest
) -> dict[dg.AssetKey, list[str]]:
    """The `daily_prices` partitions of the range the warehouse lacks, when the backfill builds
    `minute_bars` without them: the day's bars say which names traded."""
    prices, minutes = dg.AssetKey("daily_prices"), dg.AssetKey("minute_bars")
    if minutes not in selected or prices in selected or not graph.has(prices):
        return {}
    have = set(open_warehouse(settings).partitions("daily_prices"))
    keys = runner.partition_keys_in_range(
        graph.get(prices).partitions_def, request.start, request.end
    )
    missing = [k for k in keys if k not in have]
    return {prices: missing} if missing else {}


def _derivation_keys(
    graph: Any, selected: Sequence[dg.AssetKey], settings: KisSettings, request: BackfillRequest
) -> tuple[dict[dg.AssetKey, list[str]], str, dt.date]:
    """The partitions the warehouse lacks that the backfill's derived ranking screens
    (`DERIVATIONS`) read: `daily_prices` of the range and of the sessions before it a
    screen needs to rank a day (`ranked_on`: 20 for disparity; its longer windows are null on the
    first days rather than costing months of prices the user did not ask for), and the range's
    partitions of the other tables a screen reads. Without them the range's days could not be
    ranked."""
    screens = {
        table: derivation
        for table, derivation in DERIVATIONS.items()
        if dg.AssetKey(table) in selected
    }
    if not screens:
        return {}, "", request.start
    sessions = max(d.ranked_on for d in screens.values())
    # A session is a weekday; a fifth more weekdays covers the holidays among them.
    weekdays = sessions + sessions // 5
    # Nothing is kept before the data start.
    first = max(DATA_START, request.start - dt.timedelta(days=weekdays * 7 // 5 + 7))
    warehouse = open_warehouse(settings)
    reads = {"daily_prices": weekdays} | {t: 0 for d in screens.values() for t in d.tables}
    keys_by_asset: dict[dg.AssetKey, list[str]] = {}
    earliest = request.start
    for table, lookback in sorted(reads.items()):
        key = dg.AssetKey(table)
        if not graph.has(key):
            continue
        partitions = graph.get(key).partitions_def
        before = runner.partition_keys_in_range(
            partitions, first, request.start - dt.timedelta(days=1)
        )
        looked_back = before[-lookback:] if lookback else []
        if looked_back:
            earliest = min(earliest, dt.date.fromisoformat(looked_back[0]))
        keys = [
            *looked_back,
            *runner.partition_keys_in_range(partitions, request.start, request.end),
        ]
        have = set(warehouse.partitions(table))
        missing = sorted({k for k in keys if k not in have})
        if missing:
            keys_by_asset[key] = missing
    reason = f"{', '.join(sorted(screens))} derive each day from them"
    if sessions > 1:
        reason += f" (daily_prices: the {sessions} sessions up to it)"
    return keys_by_asset, reason, earliest


# The assets that read a KSD schedule's every year, whatever the range.
ACTION_READERS = ("corporate_actions", "adj_factors")
LISTING_READERS = ("listings", *ACTION_READERS)


def _schedule_years(
    graph: Any,
    selected: Sequence[dg.AssetKey],
    settings: KisSettings,
    table: str,
    readers: Sequence[str],
) -> dict[dg.AssetKey, list[str]]:
    """The years of the KSD schedule `table` not yet stored, from the data start through this
    year, when the backfill builds one of its `readers`: a name listed in 2016 and delisted in
    2020 is known to a backfill of 2020 only by its IPO, and a share-count change after the
    range still changes its adjusted prices (about 12 calls a year, each year once)."""
    events = dg.AssetKey(table)
    wanted = {dg.AssetKey(n) for n in readers}
    if not wanted & set(selected) or not graph.has(events) or settings.env == "paper":
        return {}
    have = set(open_warehouse(settings).partitions(table))
    last = now_kst().year
    years = [str(y) for y in range(DATA_START.year, last + 1) if str(y) not in have]
    return {events: years} if years else {}


def _reference_keys(
    graph: Any, selected: Sequence[dg.AssetKey], settings: KisSettings
) -> dict[dg.AssetKey, list[str]]:
    """Partitions of the reference assets that capture the newest snapshot, when needed."""

    symbols = dg.AssetKey("symbols")
    if not graph.has(symbols) or open_warehouse(settings).partitions("symbols"):
        return {}
    needs = any(
        key == symbols or symbols in runner.selected_ancestors(graph, key, {symbols})
        for key in selected
    )
    if not needs:
        return {}
    now = now_kst()
    today = now.date()
    start = today - dt.timedelta(days=REFERENCE_DAYS)
    out: dict[dg.AssetKey, list[str]] = {}
    for name in REFERENCE_ASSETS:
        key = dg.AssetKey(name)
        if not graph.has(key) or not graph.get(key).is_materializable:
            continue
        partitions_def = graph.get(key).partitions_def
        if partitions_def is None:
            continue
        keys = runner.partition_keys_in_range(partitions_def, start, today)
        if SETTLES_AT in graph.get(key).metadata:
            # Today's index bars are final only after the close; the snapshot needs no more.
            keys = [k for k in keys if not not_ready([dt.date.fromisoformat(k)], now)]
        if keys:
            out[key] = keys
    return out


# -- running --------------------------------------------------------------------------------
