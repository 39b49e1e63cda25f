"""The batch subcommands of `kis-pipeline`: `backfill` and `dev` (argument parsing
stays in `main.py`). Each returns the process exit code and prints errors as one line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from kis_pipeline.cli.writable import Place, diagnose, places, reporting, require_writable
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.kis.shared_state import require_reachable

if TYPE_CHECKING:
    from kis_pipeline.cli.backfill_plan import BackfillRequest

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKSPACE = """\
load_from:
  - python_module:
      module_name: kis_pipeline.definitions
      attribute: defs
"""


def backfill_command(args: argparse.Namespace, *, err: TextIO | None = None) -> int:
    from kis_pipeline.cli.backfill import run_backfill
    from kis_pipeline.cli.backfill_plan import BackfillError, BackfillRequest, split_list
    from kis_pipeline.cli.stopping import Stopped
    from kis_pipeline.warehouse.lookups import MissingReference

    err = err or sys.stderr
    named = args.follow or args.cancel
    if named and (args.start or args.end or args.assets or args.symbols or args.missing):
        print(
            "error: --follow and --cancel take a backfill id only; the range was set when it "
            "was submitted",
            file=err,
        )
        return 2
    if not named and (args.start is None or args.end is None):
        print(
            "error: --from and --to are required (or --follow/--cancel ID for a submitted "
            "backfill)",
            file=err,
        )
        return 2
    request = None
    if not named:
        request = BackfillRequest(
            start=args.start,
            end=args.end,
            assets=split_list(args.assets),
            symbols=split_list(args.symbols),
            missing=args.missing,
            allow_incomplete=args.allow_incomplete,
        )
    wanted = batch_places(KisSettings.from_env())
    try:
        with reporting(wanted):
            if request is None or args.submit:
                return _handed_to_dagster(args, request, err)
            summary = run_backfill(request, stream=err)
    except (BackfillError, MissingReference) as exc:
        print(f"error: {exc}", file=err)
        return 1
    except Stopped as exc:
        print(str(exc), file=err)
        return exc.exit_code
    if summary.ok:
        return 0
    # A step that could not write fails its run, not the command: say why once, at the end.
    cause = diagnose(wanted, (error for run in summary.runs for error in run.errors))
    if cause:
        print(f"error: {cause}", file=err)
    return 1


def _handed_to_dagster(
    args: argparse.Namespace, request: BackfillRequest | None, err: TextIO
) -> int:
    """`--submit`, `--follow ID`, `--cancel ID`: the backfill is the Dagster daemon's."""
    from kis_pipeline.cli import submitted
    from kis_pipeline.cli.stopping import Stopped

    if args.cancel:
        if not submitted.cancel(args.cancel, stream=err):
            return 0  # nothing would end it now: following would wait for a daemon
        backfill_id = args.cancel
    elif request is None:
        backfill_id = args.follow
    else:
        from kis_pipeline.lib.executors import require_broker

        require_broker()
        backfill_id = submitted.new_id()
        try:
            submitted.submit(request, backfill_id, stream=err)
        except KeyboardInterrupt:
            if submitted.exists(backfill_id):
                raise Stopped(signal.SIGINT, submitted.detached(backfill_id)) from None
            raise
    try:
        followed = submitted.follow(backfill_id, stream=err)
    except KeyboardInterrupt:
        # Ctrl-C between the submission and the progress line: the backfill is the daemon's.
        raise Stopped(signal.SIGINT, submitted.detached(backfill_id)) from None
    if args.cancel and followed.status != "CANCELED":
        # Its runs ended before the daemon acted on the cancel: nothing is left running.
        err.write(f"backfill {backfill_id} ended before the cancel reached it\n")
    return 0 if followed.ok or followed.status == "CANCELED" else 1


def batch_places(settings: KisSettings) -> list[Place]:
    """Check that the warehouse, the state dir and Dagster's home (made in the warehouse) can
    be written, and that KIS_STATE_URL and an `s3://` warehouse's object store answer, before
    any run; returns them for `reporting`."""
    from kis_pipeline.cli.dagster_runner import dagster_home

    require_writable(places(settings))
    wanted = places(settings, dagster_home=dagster_home(settings))
    require_writable(wanted[-1:])
    require_reachable(settings)
    if settings.data_url:
        from kis_pipeline.defs.backend import open_warehouse
        from kis_pipeline.warehouse.lake import check_store

        check_store(open_warehouse(settings).lake)
    return wanted


def dev_command(host: str, port: int, *, err: TextIO | None = None, debug: bool = False) -> int:
    """`dagster dev` on the warehouse until it exits, or until SIGINT/SIGTERM: then every
    process it started (webserver, daemon, code servers, runs, the tick collector) is stopped
    before this one exits 130/143 with one line (process_group.py)."""
    from kis_pipeline.cli.dagster_runner import dagster_home
    from kis_pipeline.cli.process_group import ProcessGroup
    from kis_pipeline.cli.stopping import StopOnSignal
    from kis_pipeline.defs.backend import backend
    from kis_pipeline.defs.resources import deployment_environ

    err = err or sys.stderr
    settings = KisSettings.from_env()
    wanted = batch_places(settings)
    with reporting(wanted), backend(settings) as live, StopOnSignal() as stop:
        home = dagster_home(live)
        workspace = REPO_ROOT / "workspace.yaml"
        if not workspace.is_file():
            workspace = home / "workspace.yaml"
            workspace.write_text(WORKSPACE)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            # Code servers run elsewhere: give them absolute paths to the same data.
            "KIS_WAREHOUSE": str(live.warehouse.resolve()),
            "KIS_STATE_DIR": str(live.state_dir.resolve()),
            # A tick collector a Dagster run starts stops itself once this command is gone.
            "KIS_OWNER_PID": str(os.getpid()),
        }
        if settings.needs_embedded_simulator:
            # The simulator started here: Dagster's processes resolve its URLs as resource values.
            env.update(deployment_environ(live))
        executable = Path(sys.executable).with_name("dagster")
        command = [
            str(executable) if executable.exists() else "dagster",
            "dev",
            "-w",
            str(workspace),
            "-h",
            host,
            "-p",
            str(port),
        ]
        print(
            f"Dagster UI on http://{host}:{port} (DAGSTER_HOME={home}, "
            f"warehouse {env['KIS_WAREHOUSE']}, KIS {live.rest_url})",
            file=err,
        )
        # The working directory stays the user's: its .env configures the code servers too.
        group = ProcessGroup(command, env, keep_output_on_stop=debug)
        try:
            code = group.wait()
        except KeyboardInterrupt:
            signum = stop.poll() or signal.SIGINT
            everyone = group.stop(signum)
            killed = "" if everyone else "; those still running after 30 s were killed"
            name = signal.Signals(signum).name
            print(
                f"stopped ({name}): Dagster, its runs and the tick collector are down{killed}",
                file=err,
            )
            return 128 + signum
        # Dagster ended by itself: what it started goes with it.
        group.stop(signal.SIGTERM)
        return code
