# Everything runs from a project-local virtualenv that the targets create or refresh themselves,
# so a fresh clone needs only Python 3.11+ and make.

VENV  := .venv
BIN   := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# The first interpreter on PATH that is 3.11 or newer.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
	2>/dev/null && { echo $$p; break; }; done)
PYTEST_ARGS ?=

.PHONY: venv demo test test-slow dev bench bench-ci lint format clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.11+ not found on PATH; install it and retry" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/kis-pipeline demo

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

dev: $(STAMP)
	$(BIN)/kis-pipeline dev

# The quick versions; bench/README.md gives the full-size commands and their results.
# The limiter benches on the real Redis (`.ci/services start` sets KIS_TEST_REDIS_URL), short:
# .ci/run runs them after the tests. They fail on a rejection or a second over the limit.
bench-ci: $(STAMP)
	$(BIN)/python bench/redis_limit.py --duration 15 --processes 4 --rounds 1 --acquires 500
	$(BIN)/python bench/rate_limit.py --keys 3 --duration 15

bench: $(STAMP)
	$(BIN)/python bench/rate_limit.py --duration 30
	$(BIN)/python bench/backfill_rate.py --universe 300
	$(BIN)/python bench/backfill_overhead.py --symbols 5
	$(BIN)/python bench/duckdb_layout.py --universe 500 --years 3 --runs 5
	$(BIN)/python bench/stream_persist.py --segments 4 --records 100000
	$(BIN)/python bench/lake_commit.py --days 30
	$(BIN)/python bench/stream_dagster.py --minutes 2
	$(BIN)/python bench/ducklake_layout.py --universe 300 --years 3 --runs 5 --catalog-files 0,500

lint: $(STAMP)
	$(BIN)/ruff check kis_pipeline tests bench
	$(BIN)/ruff format --check kis_pipeline tests bench

format: $(STAMP)
	$(BIN)/ruff format kis_pipeline tests bench
	$(BIN)/ruff check --fix kis_pipeline tests bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .dagster_home warehouse/parquet warehouse/*.duckdb \
		warehouse/lake warehouse/catalog.sqlite*
