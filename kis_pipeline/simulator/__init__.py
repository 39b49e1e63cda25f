"""A faithful KIS Open API simulator: synthetic market, REST and WebSocket apps, fault injection.

The simulator never imports Dagster. `SimulatorServer` (in `server.py`) runs it in-process on
loopback ports for tests; `kis-pipeline sim` runs it as a standalone server.
"""
