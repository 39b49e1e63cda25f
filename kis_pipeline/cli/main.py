"""The `kis-pipeline` command: parse arguments, call the layers, print.

Errors a person can fix are printed as one line saying what is wrong and what to do; the
traceback is shown only with `--debug`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

from kis_pipeline.cli.writable import NotWritable, explain
from kis_pipeline.common.ranking_schemas import RANKING_LISTS
from kis_pipeline.ingest.derived_lists import DERIVATIONS
from kis_pipeline.kis.errors import KisError
from kis_pipeline.simulator import config as sim_config
from kis_pipeline.warehouse.errors import WarehouseError
from kis_pipeline.warehouse.lake import LakeError


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kis-pipeline",
        description="Market-data ingestion and warehousing for the KIS Open API.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    commands.add_parser("demo", help="run the end-to-end demo on the simulator")

    sim = commands.add_parser(
        "sim",
        help="run the KIS simulator as a server",
        description="Serve a faithful KIS simulator (REST + WebSocket) until stopped.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=FAULTS_HELP,
    )
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--rest-port", type=int, default=18443)
    sim.add_argument("--ws-port", type=int, default=18000)
    sim.add_argument("--seed", type=int, default=sim_config.DEFAULT_SEED)
    sim.add_argument(
        "--universe",
        type=int,
        default=sim_config.DEFAULT_UNIVERSE,
        help=f"number of listed stocks (1..{sim_config.MAX_UNIVERSE})",
    )
    sim.add_argument(
        "--start", type=_date, default=sim_config.DEFAULT_START, help="first day of history"
    )
    sim.add_argument(
        "--rate-limit",
        type=float,
        default=sim_config.DEFAULT_RATE_LIMIT,
        help="REST requests per second allowed per app key (KIS: 18)",
    )
    sim.add_argument(
        "--tick-rate",
        type=float,
        default=sim_config.DEFAULT_TICK_RATE,
        help="WebSocket records per second across all subscriptions",
    )
    sim.add_argument(
        "--faults", default="", help="faults to inject, e.g. http500=0.01,latency_ms=20"
    )
    sim.add_argument(
        "--token-lifetime",
        type=float,
        default=sim_config.DEFAULT_TOKEN_LIFETIME_S,
        help="access-token lifetime in seconds (KIS: 86400)",
    )

    backfill = commands.add_parser("backfill", help="materialize batch assets over a date range")
    # Required unless --follow or --cancel names a submitted backfill (`backfill_command`).
    backfill.add_argument("--from", dest="start", type=_date)
    backfill.add_argument("--to", dest="end", type=_date)
    backfill.add_argument(
        "--assets",
        default="",
        help="comma-separated asset names (default: every date-partitioned asset; not the "
        "snapshots stamped as_of, the statements balance_sheet, income_statement and "
        "financial_ratios, the ratio tables profit_ratios, other_ratios, stability_ratios and "
        "growth_ratios, stock_info, stock_status, analyst_opinions, analyst_estimates, "
        "condition_results, news_titles, overseas_minute_bars, bond_info and KIS's ranking screens "
        f"{', '.join(t for t in RANKING_LISTS if t not in DERIVATIONS)}, which KIS serves "
        "only as they stand today; minute_bars, 4 calls per symbol-day, only when named; and "
        f"{', '.join(DERIVATIONS)}, derived from the prices of the sessions before each day, "
        "only when named)",
    )
    backfill.add_argument(
        "--symbols", default="", help="comma-separated symbols (default: the universe)"
    )
    backfill.add_argument(
        "--missing", action="store_true", help="only partitions not yet materialized"
    )
    backfill.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="succeed although rows are missing or records were rejected (they still warn)",
    )
    handed = backfill.add_mutually_exclusive_group()
    handed.add_argument(
        "--submit",
        action="store_true",
        help="hand the range to the Dagster instance's daemon as one backfill and follow it "
        "(Ctrl-C detaches; it goes on); without it the runs execute in this process",
    )
    handed.add_argument("--follow", metavar="ID", help="follow a submitted backfill until it ends")
    handed.add_argument(
        "--cancel", metavar="ID", help="cancel a submitted backfill and terminate its runs"
    )

    stream = commands.add_parser("stream", help="run the WebSocket tick collector")
    stream.add_argument("--duration", type=float)
    stream.add_argument("--symbols", default="")
    stream.add_argument("--persist", action="store_true")
    stream.add_argument(
        "--feeds",
        default="",
        help="comma-separated feeds among trades, quotes (the order book), expected (expected "
        "executions of the auctions), market_status (market and VI status), program "
        "(program trading); default trades,quotes",
    )
    stream.add_argument(
        "--venue",
        default=None,
        help="whose feeds: KRX, NXT (Nextrade, 08:00-20:00) or KRX+NXT (the two combined); "
        "default KIS_VENUE, else KRX",
    )
    stream.add_argument(
        "--overseas",
        default=None,
        help="EXCHANGE:TICKER pairs (NAS:AAPL,HKS:00700) whose delayed trades stream beside "
        "the domestic feeds into overseas_ticks; default KIS_OVERSEAS_TICK_SYMBOLS",
    )
    # Tuning for tests and benches: faster sealing.
    stream.add_argument(
        "--seal-interval", type=float, default=None, help="seconds between sealed spool segments"
    )

    sql = commands.add_parser("sql", help="run SQL on the warehouse (read-only)")
    sql.add_argument("query")
    sql.add_argument(
        "--format",
        dest="fmt",
        choices=("table", "csv", "json"),
        default="table",
        help="table for people; csv, or json (one array of row objects) for scripts",
    )
    when = sql.add_mutually_exclusive_group()
    when.add_argument(
        "--snapshot", type=int, help="answer from lake snapshot N (a run's lake_snapshot)"
    )
    when.add_argument(
        "--as-of",
        dest="as_of",
        help="answer from the lake as it was at this time, e.g. '2026-11-20 18:00:00+09'",
    )

    commands.add_parser("shell", help="open the DuckDB command line on the warehouse, read-only")

    lake = commands.add_parser("warehouse", help="warehouse upkeep")
    lake_commands = lake.add_subparsers(dest="warehouse_command", required=True)
    lake_commands.add_parser(
        "migrate", help="copy a warehouse of the manifest layout (before DuckLake) into the lake"
    )

    report = commands.add_parser(
        "report", help="write the data-quality report of a span of days as one HTML page"
    )
    report.add_argument("--out", type=Path, default=Path("kis-report.html"))
    report.add_argument("--from", dest="start", type=_date, help="default: 90 days before --to")
    report.add_argument("--to", dest="end", type=_date, help="default: today (KST)")

    dev = commands.add_parser("dev", help="start the Dagster UI on the warehouse")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=3000)
    return parser


FAULTS_HELP = """\
faults (--faults, comma-separated; probabilities are per REST request):
  http500=P          answer HTTP 500 with no KIS body
  egw00201=P         answer EGW00201 (rate exceeded) even below the limit
  egw00201_burst=N   each EGW00201 fault lasts N consecutive requests
  latency_ms=MS      add latency to every REST answer
  timeout=P          hang the request for timeout_s seconds (timeout_s=S, default 30)
  truncated=P        cut the JSON body short
  token_revoke=P     revoke the caller's token (EGW00121 until it issues a new one)
  ws_drop_every_s=S  close every WebSocket session after S seconds
  extra_column       append one unexpected field to every WebSocket record
  corrupt=FIELD:VALUE:SYMBOL[:YYYYMMDD[:TR_ID]]
                     replace KIS field FIELD of SYMBOL's records (of that day only, with a
                     date; in answers of that TR_ID only, with one) by VALUE in REST answers
                     and master files; VALUE xN multiplies the value sent, !drop removes the
                     record, !absent removes the field; repeat corrupt=... for more
example: --faults http500=0.01,egw00201=0.02,latency_ms=20,ws_drop_every_s=30,extra_column
"""


LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class BriefFormatter(logging.Formatter):
    """A logged failure as one line: the message and the error's own first line; the traceback
    is for `--debug`."""

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info or record.exc_info[1] is None:
            return super().format(record)
        exc = record.exc_info[1]
        said = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        brief = logging.makeLogRecord(
            {**record.__dict__, "msg": f"{record.getMessage()}: {said}", "args": None}
        )
        brief.exc_info = brief.exc_text = None
        return super().format(brief)


def _not_storage_retries(record: logging.LogRecord) -> bool:
    # dagster-postgres logs each retry of an unreachable server; the command's one error line
    # says it once, after the last.
    return not (
        "dagster_postgres" in record.pathname
        and record.getMessage().startswith("Retrying failed database connection")
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.debug:
        # Dagster flags its own beta parameters on every import; they are not the user's concern.
        import dagster as dg

        warnings.filterwarnings("ignore", category=dg.BetaWarning)
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    handler = logging.StreamHandler()
    if not args.debug:
        handler.addFilter(_not_storage_retries)
    handler.setFormatter((logging.Formatter if args.debug else BriefFormatter)(LOG_FORMAT))
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, handlers=[handler])
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except NotWritable as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (KisError, ValueError, OSError, WarehouseError, LakeError) as exc:
        if args.debug:
            raise
        # A refused write the command did not place (no setting known) is still one line.
        print(f"error: {explain(exc, []) or exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    if args.command == "sim":
        from kis_pipeline.simulator.server import run_forever

        config = sim_config.SimConfig(
            seed=args.seed,
            universe=args.universe,
            start=args.start,
            rate_limit=args.rate_limit,
            tick_rate=args.tick_rate,
            faults=sim_config.FaultSpec.parse(args.faults),
            token_lifetime_s=args.token_lifetime,
        )
        stopped_by = run_forever(
            config, host=args.host, rest_port=args.rest_port, ws_port=args.ws_port
        )
        # As a shell reports a process stopped by that signal.
        return 128 + int(stopped_by)
    if args.command == "demo":
        from kis_pipeline.cli.demo import run_demo

        return run_demo()
    if args.command == "backfill":
        from kis_pipeline.cli.batch import backfill_command

        return backfill_command(args)
    if args.command == "sql":
        from kis_pipeline.cli.lake import sql_command

        return sql_command(args.query, fmt=args.fmt, snapshot=args.snapshot, as_of=args.as_of)
    if args.command == "shell":
        from kis_pipeline.cli.lake import shell_command

        return shell_command()
    if args.command == "warehouse":
        from kis_pipeline.cli.lake import migrate_command

        return migrate_command()
    if args.command == "report":
        from kis_pipeline.cli.report import report_command

        return report_command(args.out, args.start, args.end)
    if args.command == "dev":
        from kis_pipeline.cli.batch import dev_command

        return dev_command(args.host, args.port, debug=args.debug)
    if args.command == "stream":
        from kis_pipeline.cli.stream import run_stream
        from kis_pipeline.kis.settings import KisSettings

        symbols = [s.strip().upper() for s in args.symbols.split(",") if s.strip()]
        return run_stream(
            KisSettings.from_env(),
            duration=args.duration,
            symbols=symbols or None,
            persist=args.persist,
            feeds=[f.strip().lower() for f in args.feeds.split(",") if f.strip()] or None,
            venue=args.venue,
            overseas=args.overseas,
            seal_interval_s=args.seal_interval,
        )
    raise AssertionError(f"unhandled command {args.command}")
