"""Ticks: the WebSocket collector job and its market-hours sensor, per-segment persistence runs
started by `tick_segments_sensor`, and the daily compaction of the tick tables."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.ticks.collector import tick_collector_job, tick_collector_sensor
from kis_pipeline.defs.ticks.compaction import (
    tick_compaction,
    tick_compaction_job,
    tick_compaction_schedule,
)
from kis_pipeline.defs.ticks.persist import TICK_ASSETS, tick_segment_job, tick_segments_sensor

defs = dg.Definitions(
    assets=[*TICK_ASSETS, tick_compaction],
    jobs=[tick_collector_job, tick_segment_job, tick_compaction_job],
    sensors=[tick_collector_sensor, tick_segments_sensor],
    schedules=[tick_compaction_schedule],
)

__all__ = [
    "defs",
    "tick_collector_job",
    "tick_collector_sensor",
    "tick_compaction",
    "tick_compaction_job",
    "tick_compaction_schedule",
    "tick_segment_job",
    "tick_segments_sensor",
]
