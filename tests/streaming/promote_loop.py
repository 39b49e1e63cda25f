"""A persistence worker for the kill -9 tests: promote sealed segments until killed.

python -m tests.streaming.promote_loop <warehouse root>
"""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import kis_pipeline.streaming.tables  # noqa: F401  (registers the tick tables)
from kis_pipeline.streaming.promote import SegmentMissing, promote_segment
from kis_pipeline.streaming.spool import Spool
from kis_pipeline.warehouse import Warehouse


def main(root: str) -> None:
    warehouse = Warehouse(Path(root))
    spool = Spool.for_warehouse(Path(root))
    print("ready", flush=True)
    while True:
        for segment_id in spool.sealed_ids():
            with contextlib.suppress(SegmentMissing):  # the other worker took it
                promote_segment(warehouse, spool, segment_id)
        time.sleep(0.02)


if __name__ == "__main__":
    main(sys.argv[1])
