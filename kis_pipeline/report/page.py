"""The report as one self-contained HTML file: charts drawn by matplotlib as inline SVG, tables
as HTML, no script and nothing fetched, so it opens anywhere, offline, and can be mailed."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Sequence

import polars as pl

from kis_pipeline.report.sections import Section

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 1em 0; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } svg { max-width: 100%; height: auto; }
"""
MAX_ROWS = 30


def render(sections: Sequence[Section], *, title: str, subtitle: str) -> str:
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>",
        "<ol>",
        *(f"<li><a href='#s{i}'>{html.escape(s.title)}</a></li>" for i, s in enumerate(sections)),
        "</ol>",
    ]
    for number, section in enumerate(sections):
        parts.append(f"<h2 id='s{number}'>{html.escape(section.title)}</h2>")
        parts.extend(f"<p>{html.escape(line)}</p>" for line in section.lines)
        if section.chart is not None and section.chart.width >= 2 and section.chart.height:
            parts.append(f"<figure>{chart_svg(section)}</figure>")
        if section.table is not None and not section.table.is_empty():
            parts.append(table_html(section.table))
    parts.append("</body></html>")
    return "\n".join(parts)


def chart_svg(section: Section) -> str:
    import matplotlib

    matplotlib.use("Agg")  # no display: the page is written, not shown
    import matplotlib.pyplot as plt

    frame = section.chart
    assert frame is not None
    x = frame.to_series(0).to_list()
    figure, axes = plt.subplots(figsize=(9, 3.2))
    series = frame.columns[1:]
    if section.chart_kind == "scatter":
        axes.scatter(x, frame.to_series(1).to_list(), s=12)
        axes.set_xlabel(frame.columns[0])
        low, high = min(x), max(x)
        axes.plot([low, high], [low, high], linewidth=0.8, color="grey", label="equal")
        axes.legend(loc="upper left", fontsize="small")
    elif section.chart_kind == "bar":
        width = 0.8 / len(series)
        positions = range(len(x))
        for i, name in enumerate(series):
            axes.bar([p + i * width for p in positions], frame[name].to_list(), width, label=name)
        step = max(1, len(x) // 12)
        axes.set_xticks(list(positions)[::step], [_label(v) for v in x][::step], rotation=30)
        if len(series) > 1:
            axes.legend(fontsize="small")
    else:
        for name in series:
            axes.plot(x, frame[name].to_list(), marker=".", linewidth=1, label=name)
        axes.legend(fontsize="x-small", ncol=3)
        figure.autofmt_xdate()
    axes.set_ylabel(section.y_label)
    axes.grid(alpha=0.3)
    figure.tight_layout()
    out = io.StringIO()
    figure.savefig(out, format="svg")
    plt.close(figure)
    text = out.getvalue()
    return text[text.index("<svg") :]  # the XML prologue has no place inside HTML


def _label(value: object) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def table_html(frame: pl.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.head(MAX_ROWS).iter_rows():
        cells = "".join(f"<td>{html.escape(_cell(v))}</td>" for v in row)
        rows.append(f"<tr>{cells}</tr>")
    more = (
        f"<p>{frame.height - MAX_ROWS} more rows not shown.</p>" if frame.height > MAX_ROWS else ""
    )
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>{more}"


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value)
