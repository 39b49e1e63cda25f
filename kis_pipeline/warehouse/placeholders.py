"""Empty stand-ins for the declared tables a lake does not hold yet.

A table is created on its first write, so a warehouse where nothing was ever rejected has no
`stream_rejects`, and one made before a table was declared lacks that table. A reader should
still find every table the README lists: a query of one that was never written answers with
no rows, not with "does not exist". The stand-ins are TEMP views of the reading connection
only, with the table's columns and types: they change nothing in the catalog, so they work on
a read-only lake and at a past snapshot too.
"""

from __future__ import annotations

import duckdb

from kis_pipeline.warehouse.lake import ALIAS
from kis_pipeline.warehouse.statements import ident, sql_type
from kis_pipeline.warehouse.tables import TABLES, VIEWS, TableSpec


def present(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The tables and views of the lake's main schema."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = $db "
        "AND schema_name = 'main' UNION ALL SELECT view_name FROM duckdb_views() "
        "WHERE database_name = $db AND schema_name = 'main'",
        {"db": ALIAS},
    ).fetchall()
    return {name for (name,) in rows}


def empty_view_sql(spec: TableSpec) -> str:
    columns = ", ".join(f"NULL::{sql_type(t)} AS {ident(c)}" for c, t in spec.schema.items())
    return f"CREATE TEMP VIEW {ident(spec.name)} AS SELECT {columns} WHERE false"


def placeholder_statements(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The statements that give `con` an empty view for every declared table and `*_latest`
    view the lake lacks."""
    have = present(con)
    statements = [empty_view_sql(spec) for name, spec in TABLES.items() if name not in have]
    statements += [view.sql(temp=True) for name, view in VIEWS.items() if name not in have]
    return statements


def add_placeholders(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    for statement in placeholder_statements(con):
        con.execute(statement)
    return con
