"""The `kis-pipeline` command: argument parsing and dispatch (`main.py`), one module per group of
subcommands (`batch.py`, `lake.py`, `stream.py`, `demo.py`), backfill planning and running, and
the process handling a long command needs (stopping on a signal, writable folders, child
processes)."""
