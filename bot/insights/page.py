"""The insights page: one self-contained HTML file (plotly.js inlined, no network) and one CSV per table.

Everything shown comes from a protected `Report`: charts plot shown counts only, hidden cells are left out.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader, select_autoescape
from plotly.offline import get_plotlyjs

from bot.insights.report import Report, Table, as_rows

TEMPLATES = Path(__file__).with_name("templates")
PLOT_CONFIG = {"displaylogo": False, "responsive": True, "toImageButtonOptions": {"format": "png"}}
BLUE, ORANGE, GREEN, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"
FONT = "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    note: str
    figure: go.Figure | None


def charts(report: Report) -> list[Chart]:
    """The four charts, each from the protected report only."""
    return [
        Chart(
            "onderwerpen",
            "Vragen per onderwerp, per week",
            "Elke kleur is een onderwerp. Onderwerpen met een klein aantal staan niet in de grafiek.",
            _stacked(report.table("onderwerpen"), "aantal vragen"),
        ),
        Chart(
            "doelgroep",
            "Wie vroeg: ouders, jongeren, professionals",
            "Het aantal vragen per doelgroep, per week.",
            _stacked(report.table("doelgroep"), "aantal vragen"),
        ),
        Chart(
            "wachttijd",
            "Hoe snel kwam er een hulpverlener?",
            "Minuten tussen de melding in de groep en het oppakken: de helft was sneller dan de blauwe lijn (p50), "
            "9 van de 10 sneller dan de oranje lijn (p90). Een schatting uit groepen, niet per casus.",
            _claim_times(report),
        ),
        Chart(
            "nuttig",
            "Welke antwoorden helpen minder?",
            "Per antwoord en week: hoe vaak mensen zeiden dat het antwoord nuttig (👍) of niet nuttig (👎) was. "
            "Bovenaan het grootste deel niet nuttig.",
            _feedback(report),
        ),
    ]


def _layout(figure: go.Figure, y_title: str, **extra: Any) -> go.Figure:
    figure.update_layout(
        template="plotly_white",
        font={"family": FONT, "size": 14},
        margin={"l": 60, "r": 20, "t": 20, "b": 60},
        legend={"orientation": "h", "y": -0.2},
        yaxis_title=y_title,
        **extra,
    )
    return figure


def _stacked(table: Table, y_title: str) -> go.Figure | None:
    traces = []
    for row in table.rows:
        values = [table.cell(row, week).value for week in table.weeks]
        if any(values):
            traces.append(go.Bar(name=table.row_labels[row], x=table.weeks, y=values))
    if not traces:
        return None
    return _layout(go.Figure(traces), y_title, barmode="stack")


def _claim_times(report: Report) -> go.Figure | None:
    weeks = [times.week for times in report.claim_times]
    p50 = [times.p50.minutes if times.p50 else None for times in report.claim_times]
    p90 = [times.p90.minutes if times.p90 else None for times in report.claim_times]
    if not any(value is not None for value in p50):
        return None
    figure = go.Figure(
        [
            go.Scatter(
                name="p50 (de helft)", x=weeks, y=p50, mode="lines+markers", line={"color": BLUE}, connectgaps=False
            ),
            go.Scatter(
                name="p90 (9 van de 10)",
                x=weeks,
                y=p90,
                mode="lines+markers",
                line={"color": ORANGE},
                connectgaps=False,
            ),
        ]
    )
    return _layout(figure, "minuten", yaxis_rangemode="tozero")


def _feedback(report: Report) -> go.Figure | None:
    items = [item for item in report.feedback if item.up.value is not None or item.down.value is not None]
    items.sort(key=lambda item: item.down_share if item.down_share is not None else -1.0)
    if not items:
        return None
    names = [f"{item.answer} ({item.week})" for item in items]
    figure = go.Figure(
        [
            go.Bar(
                name="nuttig (👍)", y=names, x=[item.up.value for item in items], orientation="h", marker_color=GREEN
            ),
            go.Bar(
                name="niet nuttig (👎)",
                y=names,
                x=[item.down.value for item in items],
                orientation="h",
                marker_color=RED,
            ),
        ]
    )
    return _layout(figure, "", barmode="group", height=max(360, 60 + 40 * len(items)), xaxis_title="aantal")


def claim_time_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["week", "wachttijd (minuten)", "aantal"]]
    for times in report.claim_times:
        rows.extend([times.week, bucket, count] for bucket, count in times.buckets)
    return rows


def claim_estimate_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["week", "p50 (minuten)", "p90 (minuten)"]]
    for times in report.claim_times:
        if times.p50 is not None and times.p90 is not None:
            rows.append(
                [
                    times.week,
                    _estimate(times.p50.minutes, times.p50.open_ended),
                    _estimate(times.p90.minutes, times.p90.open_ended),
                ]
            )
    return rows


def _estimate(minutes: float, open_ended: bool) -> str:
    return f"> {minutes:.0f}" if open_ended else f"{minutes:.0f}"


def feedback_rows(report: Report) -> list[list[Any]]:
    rows: list[list[Any]] = [["week", "antwoord", "nuttig (👍)", "niet nuttig (👎)", "aandeel 👎"]]
    for item in report.feedback:
        share = "" if item.down_share is None else f"{item.down_share:.0%}"
        rows.append([item.week, item.answer, item.up.shown, item.down.shown, share])
    return rows


LOW_HELPFULNESS = 0.5
"""An answer is listed as helping little when at least this share of its ratings in a week was 👎."""


def low_helpfulness_rows(report: Report) -> list[list[Any]]:
    """The answers that helped least, worst first: only where both counts are shown exactly (a share worked out
    from a hidden count would give it away)."""
    rows: list[list[Any]] = [["week", "antwoord", "aandeel 👎", "niet nuttig (👎)", "nuttig (👍)"]]
    low = [item for item in report.feedback if (item.down_share or 0.0) >= LOW_HELPFULNESS]
    for item in sorted(low, key=lambda item: (-(item.down_share or 0.0), item.week, item.answer)):
        rows.append([item.week, item.answer, f"{item.down_share:.0%}", item.down.shown, item.up.shown])
    return rows


def tables(report: Report) -> list[tuple[str, str, list[list[Any]]]]:
    """(file stem, Dutch title, rows) for every table the page and the CSV files show."""
    result = [(table.name, table.title, as_rows(table)) for table in report.tables]
    result.append(("wachttijd", "Wachttijd tot oppakken, in groepen", claim_time_rows(report)))
    result.append(("wachttijd_schatting", "Wachttijd: p50 en p90", claim_estimate_rows(report)))
    result.append(("nuttig", "Nuttig of niet, per antwoord", feedback_rows(report)))
    result.append(
        ("minder_nuttig", "Antwoorden die minder helpen (minstens de helft 👎)", low_helpfulness_rows(report))
    )
    return result


def write(report: Report, out: Path, today: date) -> list[Path]:
    """Write DIR/index.html and DIR/<table>.csv; returns the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    listed = tables(report)
    for stem, _, rows in listed:
        path = out / f"{stem}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            csv.writer(handle).writerows(rows)
        written.append(path)
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"]))
    html = environment.get_template("index.html.j2").render(
        first_week=report.weeks[0],
        last_week=report.weeks[-1],
        made_on=today.strftime("%d-%m-%Y"),
        minimum=report.minimum,
        plotly_js=get_plotlyjs(),
        charts=[_chart_view(chart) for chart in charts(report)],
        tables=[{"name": stem, "title": title, "file": f"{stem}.csv", "rows": rows} for stem, title, rows in listed],
    )
    index = out / "index.html"
    index.write_text(html, encoding="utf-8")
    return [index, *written]


def _chart_view(chart: Chart) -> dict[str, str]:
    html = ""
    if chart.figure is not None:
        html = chart.figure.to_html(
            full_html=False, include_plotlyjs=False, config=PLOT_CONFIG, div_id=f"plot-{chart.name}"
        )
    return {"name": chart.name, "title": chart.title, "note": chart.note, "html": html}


def figures_data(report: Report) -> dict[str, Sequence[Any]]:
    """The numbers each chart plots (for tests and checks): chart name -> list of traces' values."""
    result: dict[str, Sequence[Any]] = {}
    for chart in charts(report):
        if chart.figure is not None:
            result[chart.name] = [list(trace.y if trace.orientation != "h" else trace.x) for trace in chart.figure.data]
    return result
