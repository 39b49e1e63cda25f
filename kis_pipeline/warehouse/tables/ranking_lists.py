"""The snapshot rankings of SPEC §8.4-§8.16 (`common.ranking_schemas`): one table per KIS
screen, one row per (date, ranking, rank), a day's partition per session captured."""

from __future__ import annotations

from kis_pipeline.common.ranking_schemas import RANKING_LISTS
from kis_pipeline.warehouse.tables.spec import TableSpec, register_table

for _name, _schema in RANKING_LISTS.items():
    register_table(
        TableSpec(
            _name,
            _schema,
            "date",
            "date",
            ("date", "ranking", "rank"),
            ("ranking", "rank", "date"),
            f"One row per (date, ranking, rank): KIS's {_name.replace('_', ' ')} screen as it "
            "stood after the session.",
            gates=("unique_keys", "no_rejects"),
        )
    )
