"""Fetching per data family, outside Dagster: plan the calls for a range, fetch them through
the KIS client and hand back frames in the warehouse's table schemas.

Nothing here writes to the warehouse (it may read reference data from a `Warehouse` it is
handed) or imports Dagster; the assets in `kis_pipeline.defs` write what these functions return.
"""
