"""Ticks: the WebSocket collector job and its market-hours sensor, and per-segment persistence
runs started by `tick_segments_sensor`. The tick tables' files are merged by the lake's daily
maintenance (defs/maintenance)."""

from __future__ import annotations

import dagster as dg

from kis_pipeline.defs.ticks.collector import tick_collector_job, tick_collector_sensor
from kis_pipeline.defs.ticks.persist import TICK_ASSETS, tick_segment_job, tick_segments_sensor

defs = dg.Definitions(
    assets=[*TICK_ASSETS],
    jobs=[tick_collector_job, tick_segment_job],
    sensors=[tick_collector_sensor, tick_segments_sensor],
)

__all__ = [
    "defs",
    "tick_collector_job",
    "tick_collector_sensor",
    "tick_segment_job",
    "tick_segments_sensor",
]
