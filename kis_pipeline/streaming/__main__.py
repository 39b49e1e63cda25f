"""`python -m kis_pipeline.streaming`: the `stream` command with tuning flags for tests and benches.

Same behaviour as `kis-pipeline stream`; the extra flags (`--trs`, `--seal-interval`) are for
scripts that need other feeds or faster sealing. Settings come from the environment (KIS_*).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from kis_pipeline.kis.errors import KisError
from kis_pipeline.kis.settings import KisSettings
from kis_pipeline.streaming.cli import run_stream


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kis_pipeline.streaming")
    parser.add_argument("--duration", type=float)
    parser.add_argument("--symbols", default="")
    parser.add_argument("--persist", action="store_true")
    parser.add_argument("--trs", default="", help="comma-separated TR ids (default trades+book)")
    parser.add_argument("--seal-interval", type=float, default=None)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = KisSettings.from_env()
    except KisError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return run_stream(
        settings,
        duration=args.duration,
        symbols=[s for s in args.symbols.split(",") if s.strip()] or None,
        persist=args.persist,
        trs=[t.strip() for t in args.trs.split(",") if t.strip()] or None,
        seal_interval_s=args.seal_interval,
    )


if __name__ == "__main__":
    sys.exit(main())
