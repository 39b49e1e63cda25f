"""Jobs a test runs on the celery executor: module-level functions, so that a celery worker in
another process can rebuild the job from its name (`dg.reconstructable`)."""

from __future__ import annotations

import dagster as dg


def daily_prices_job() -> dg.JobDefinition:
    # Built anew: `kis_pipeline.definitions.defs` may have been imported by an earlier test,
    # before this one set KIS_EXECUTOR.
    from kis_pipeline.definitions import build_defs

    return build_defs().resolve_job_def("daily_prices_job")
