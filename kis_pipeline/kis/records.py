"""What a KIS record must be to become a row, declared once per output, and the one step that
splits a page into good rows and rejects.

Each endpoint declares a `RecordSpec` per output container: the target table and its schema,
the KIS field -> column map, unit scaling, and the rules a row must meet. `split_rows` applies
the casting rules of `kis.parse` and then those rules to every record, and returns the rows
that pass as a frame and the others as `kis.rejects.Reject`s with the raw record. One bad
record costs that record only.

Rules, checked in this order (the first one broken names the field and the reason):
- `carried`: KIS fields every record must have, even blank (a missing one is a changed format);
- the cast of every mapped field (`kis.parse.cast_value`): a value that is not a number, a
  date or a flag of the column's type is rejected, never nulled;
- `no_trade`: columns that KIS sets to 0 together on a day without trades (open, high, low of
  a daily bar); when all of them are 0 they become null, as "no price" (a lone 0 among real
  prices stays 0 and meets the next rules);
- `required`: columns that must have a value ("" is a reject);
- `positive` (> 0) and `non_negative` (>= 0), for the values present;
- `ordered`: (a, b) pairs with a <= b where both are present (low <= open <= high, ...);
- `patterns`: text columns that must match a regular expression (a `YYYYMM` period, ...).

Impossible values are refused; suspicious ones are stored and flagged: a `JumpRule` marks,
in the `quality_flag` column, a close that moved beyond the daily price limit from the
previous row of the same series without a corporate-action flag (`flag_jumps`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from kis_pipeline.kis.errors import PayloadError
from kis_pipeline.kis.parse import Row, caster, parse_date
from kis_pipeline.kis.rejects import Reject, RejectLog, now_kst, raw_json

QUALITY_FLAG = "quality_flag"
PRICE_JUMP = "price_jump"
# KRX's daily price limit (±30 % of the base price since 2015-06-15).
DAILY_PRICE_LIMIT = 0.30
# Texts of an event column that mean "no event": blank, 0, KIS's "00" (SPEC §7.3).
NO_EVENT = ("", "0", "00", "0.0")
# Row index -> (KIS field, reason) of the rows a check refused.
Broken = dict[int, tuple[str, str]]


@dataclass(frozen=True)
class JumpRule:
    """Flag `column` when it moves more than `limit` (a fraction) from the previous row of the
    same `by` series, unless one of `events` (corporate-action columns) is set on the row.

    The first row of a series has no previous row in the frame: `change`, when given, is
    KIS's own change against the base price, so `column - change` stands in for it.
    """

    column: str = "close"
    by: str = "symbol"
    limit: float = DAILY_PRICE_LIMIT
    events: tuple[str, ...] = ()
    change: str | None = None


@dataclass(frozen=True)
class RecordSpec:
    """One output container of an endpoint, declared: see the module docstring for the rules.

    `table` names the warehouse table (and `kis.schemas` entry) the rows are for; `symbol` and
    `date` name the columns that identify a record in a reject.
    """

    table: str
    schema: pl.Schema
    fields: Mapping[str, str]
    carried: tuple[str, ...] = ()
    scale: Mapping[str, int] = field(default_factory=dict)
    null_values: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    no_trade: tuple[str, ...] = ()
    required: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    non_negative: tuple[str, ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()
    patterns: Mapping[str, str] = field(default_factory=dict)
    jump: JumpRule | None = None
    symbol: str | None = "symbol"
    date: str | None = "date"

    def __post_init__(self) -> None:
        named = [
            *self.fields.values(),
            *self.scale,
            *self.null_values,
            *self.no_trade,
            *self.required,
            *self.positive,
            *self.non_negative,
            *(c for pair in self.ordered for c in pair),
            *self.patterns,
        ]
        if self.jump is not None:
            named += [self.jump.column, self.jump.by, *self.jump.events, QUALITY_FLAG]
            named += [self.jump.change] if self.jump.change else []
        unknown = sorted({c for c in named if c not in self.schema})
        if unknown:
            raise ValueError(f"{self.table}: columns {unknown} are not in the schema")

    def for_table(self, table: str, schema: pl.Schema | None = None) -> RecordSpec:
        """The same record read for another table (adjusted prices share the raw layout)."""
        return dataclasses.replace(self, table=table, schema=schema or self.schema)

    def kis_name(self, column: str) -> str:
        return next((k for k, c in self.fields.items() if c == column), column)

    @functools.cached_property
    def _present(self) -> tuple[str, ...]:
        """KIS fields every record must carry: `carried`, and those of `required` columns."""
        required = [self.kis_name(c) for c in self.required if c in self.fields.values()]
        return tuple(dict.fromkeys((*self.carried, *required)))

    @functools.cached_property
    def _casters(self) -> list[tuple[str, str, Any]]:
        """(KIS field, column, cast) of every mapped field."""
        return [
            (k, c, caster(self.schema[c], self.scale.get(c, 1))) for k, c in self.fields.items()
        ]


@dataclass(frozen=True)
class Source:
    """Where records come from, for rejects and errors: the endpoint and its TR_ID."""

    endpoint: str
    tr_id: str
    where: str


@dataclass
class Split:
    """A page split into the rows that passed and the records that did not."""

    frame: pl.DataFrame
    rejects: list[Reject] = field(default_factory=list)

    @property
    def received(self) -> int:
        return self.frame.height + len(self.rejects)


@dataclass
class _Record:
    raw: Row
    values: dict[str, Any]


def field_map(text: str) -> dict[str, str]:
    """KIS field -> column, written one pair a line (`kis_field column`), in order."""
    pairs = (line.split() for line in text.splitlines() if line.strip())
    return {kis: column for kis, column in pairs}


def split_rows(
    rows: Iterable[Row],
    spec: RecordSpec,
    source: Source,
    *,
    constants: Mapping[str, Any] | None = None,
) -> Split:
    """Cast and check every record of a page against `spec`; see the module docstring."""
    constants = dict(constants or {})
    received_at = now_kst()
    good: list[_Record] = []
    rejects: list[Reject] = []

    def reject(record: Row, values: Mapping[str, Any], kis_field: str | None, why: str) -> None:
        rejects.append(
            Reject(
                received_at=received_at,
                endpoint=source.endpoint,
                tr_id=source.tr_id,
                table=spec.table,
                symbol=_text(_identity(spec.symbol, record, values, constants, spec)),
                date=_as_date(_identity(spec.date, record, values, constants, spec)),
                field=kis_field,
                reason=why,
                raw=raw_json(record),
            )
        )

    for record in rows:
        values, problem = _cast(record, spec)
        if problem is None:
            good.append(_Record(record, values))
        else:
            reject(record, values, *problem)
    frame = _frame(good, spec, constants)
    frame, broken = _check(frame, spec)
    for index, (kis_field, why) in sorted(broken.items()):
        reject(good[index].raw, good[index].values, kis_field, why)
    keep = [i for i in range(len(good)) if i not in broken]
    if broken:
        frame = frame[keep]
    return Split(frame, rejects)


def parse_page(
    rows: Iterable[Row],
    spec: RecordSpec,
    source: Source,
    log: RejectLog | None,
    *,
    constants: Mapping[str, Any] | None = None,
) -> Split:
    """`split_rows`, with the rejects kept in `log`; without a log the first reject raises
    `PayloadError` instead (a caller that cannot keep rejects must not lose them)."""
    split = split_rows(rows, spec, source, constants=constants)
    if split.rejects and log is None:
        first = split.rejects[0]
        raise PayloadError(f"{source.where}: field {first.field!r}: {first.reason}")
    if log is not None:
        log.add(split.rejects)
    return split


def frame_from_rows(
    rows: Iterable[Mapping[str, str]],
    *,
    rename: Mapping[str, str],
    schema: pl.Schema,
    where: str,
    required: Sequence[str] = (),
    keys: Sequence[str] = (),
    scale: Mapping[str, int] | None = None,
    null_values: Mapping[str, Sequence[str]] | None = None,
    constants: Mapping[str, Any] | None = None,
) -> pl.DataFrame:
    """Cast KIS rows into a frame of `schema` with no rejects log: any bad record raises.

    `rename` maps KIS field -> output column; `required` KIS fields must be present in every
    row and `keys` must also be non-blank; `scale` multiplies an output column (unit
    conversion); `null_values` lists per output column the texts that mean "no value" (KIS
    placeholders such as 99.99); `constants` fills columns the rows do not carry. Columns of
    `schema` that none of these fill stay null for the caller to compute.
    """
    unknown = set(constants or {}) - set(schema.names())
    if unknown:
        raise ValueError(f"{where}: columns {sorted(unknown)} are not in the schema")
    spec = RecordSpec(
        table=where,
        schema=schema,
        fields=rename,
        carried=tuple(required),
        scale=dict(scale or {}),
        null_values={c: tuple(v) for c, v in (null_values or {}).items()},
        required=tuple(rename[k] for k in keys),
        symbol=None,
        date=None,
    )
    return parse_page(rows, spec, Source("", "", where), None, constants=constants).frame


# -- the steps ------------------------------------------------------------------------------


def _cast(record: Row, spec: RecordSpec) -> tuple[dict[str, Any], tuple[str, str] | None]:
    """The record's typed values, and (field, reason) of the first value that does not fit."""
    values: dict[str, Any] = {}
    for name in spec._present:
        if name not in record:
            return values, (name, f"{name} is missing from the record")
    problem = None
    for kis_name, column, cast in spec._casters:
        text = record.get(kis_name, "")
        if text in spec.null_values.get(column, ()):
            text = ""
        try:
            values[column] = cast(text)
        except ValueError as exc:
            values[column] = None
            problem = problem or (kis_name, f"{column}: {exc}")
    return values, problem


def _frame(good: Sequence[_Record], spec: RecordSpec, constants: Mapping[str, Any]) -> pl.DataFrame:
    height = len(good)
    data = {
        name: (
            [r.values[name] for r in good]
            if name in spec.fields.values()
            else [constants.get(name)] * height
        )
        for name in spec.schema.names()
    }
    return pl.DataFrame(data, schema=spec.schema)


Check = tuple[pl.Expr, tuple[str, ...], str]


def _check(frame: pl.DataFrame, spec: RecordSpec) -> tuple[pl.DataFrame, Broken]:
    """The frame with idle `no_trade` zeros nulled, and the rows that break a rule.

    `required` is judged on what KIS sent, before the no-trade zeros become null.
    """
    broken = _failures(
        frame, spec, [(pl.col(c).is_null(), (c,), "{0} is blank") for c in spec.required], {}
    )
    if spec.no_trade and frame.height:
        idle = pl.all_horizontal(pl.col(c) == 0 for c in spec.no_trade).fill_null(False)
        frame = frame.with_columns(
            pl.when(idle).then(None).otherwise(pl.col(c)).alias(c) for c in spec.no_trade
        )
    checks: list[Check] = [
        (pl.col(c) <= 0, (c,), "{0} is {v0}, not positive") for c in spec.positive
    ]
    checks += [(pl.col(c) < 0, (c,), "{0} is {v0}, negative") for c in spec.non_negative]
    checks += [
        (pl.col(a) > pl.col(b), (a, b), "{1} {v1} is below {0} {v0}") for a, b in spec.ordered
    ]
    checks += [
        (
            ~pl.col(c).str.contains(rx),
            (c,),
            "{0} {v0!r} does not match " + rx.replace("{", "{{").replace("}", "}}"),
        )
        for c, rx in spec.patterns.items()
    ]
    return frame, _failures(frame, spec, checks, broken)


def _failures(frame: pl.DataFrame, spec: RecordSpec, checks: list[Check], broken: Broken) -> Broken:
    """`broken` plus the rows failing one of `checks` (null never fails), first failure kept."""
    if not frame.height or not checks:
        return broken
    masks = frame.select(
        *(test.fill_null(False).alias(f"_{n}") for n, (test, _, _) in enumerate(checks))
    )
    for n, (_, columns, template) in enumerate(checks):
        for index in masks[f"_{n}"].arg_true().to_list():
            if index in broken:
                continue
            shown = {f"v{i}": frame[c][index] for i, c in enumerate(columns)}
            why = template.format(*columns, **shown)
            broken[index] = (",".join(spec.kis_name(c) for c in columns), why)
    return broken


def flag_jumps(frame: pl.DataFrame, rule: JumpRule) -> pl.DataFrame:
    """`frame` with `quality_flag` set to `price_jump` on rows that break `rule`.

    A lone outlier moves the series twice, away and back: only the first move of a run of
    consecutive jumps, and every other one after it, is flagged, so the bar after a spike is
    not blamed for returning to the level it always had.
    """
    if frame.is_empty():
        return frame
    order = frame.with_row_index("_row").sort(rule.by, "date")
    value = pl.col(rule.column)
    previous = value.shift(1).over(rule.by)
    if rule.change is not None:
        previous = previous.fill_null(value - pl.col(rule.change))
    moved = ((value / previous - 1).abs() > rule.limit).fill_null(False)
    jump = moved
    if rule.events:
        event = pl.any_horizontal(
            pl.col(c).is_not_null() & ~pl.col(c).cast(pl.String).is_in(NO_EVENT)
            for c in rule.events
        )
        jump = moved & ~event
    order = order.with_columns(_jump=jump)
    run = (pl.col("_jump") != pl.col("_jump").shift(1).over(rule.by)).fill_null(True).cum_sum()
    order = order.with_columns(_run=run)
    position = pl.int_range(pl.len()).over(rule.by, "_run")
    flagged = pl.col("_jump") & (position % 2 == 0)
    existing = pl.col(QUALITY_FLAG)
    flag = (
        pl.when(flagged)
        .then(pl.concat_str([existing, pl.lit(PRICE_JUMP)], separator=",", ignore_nulls=True))
        .otherwise(existing)
    )
    return order.with_columns(flag.alias(QUALITY_FLAG)).sort("_row").select(frame.columns)


def _identity(
    column: str | None,
    record: Row,
    values: Mapping[str, Any],
    constants: Mapping[str, Any],
    spec: RecordSpec,
) -> Any:
    """A reject's symbol or date: the typed value, else the constant, else the raw text."""
    if column is None:
        return None
    if values.get(column) is not None:
        return values[column]
    if constants.get(column) is not None:
        return constants[column]
    return record.get(spec.kis_name(column)) or None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _as_date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            return None
    return None
