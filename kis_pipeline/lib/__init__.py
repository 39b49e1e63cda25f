"""Dagster helpers every domain under `defs/` shares: partition schemes, schedule factories,
quality gates, run context and metadata, the domain-definitions builder, and what the runs
of a command use (progress files, the batched event log)."""
