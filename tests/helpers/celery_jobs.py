"""Jobs a test runs on the celery executor: module-level functions, so that a celery worker in
another process can rebuild the job from its name (`dg.reconstructable`)."""

from __future__ import annotations

import dagster as dg


def daily_prices_job() -> dg.JobDefinition:
    from kis_pipeline.definitions import defs

    return defs.resolve_job_def("daily_prices_job")
