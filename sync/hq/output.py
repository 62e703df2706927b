"""How head-office reports leave a function: tables a person reads, CSV for a spreadsheet, JSON for scripts.

A report function returns plain data (dicts and lists, integers for money); :class:`Table` is the
shape the command line and the console both render, so every report has one way to be shown.
"""
from __future__ import annotations

import csv
import io
import json
import unicodedata
from dataclasses import dataclass, field


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)

    def as_dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row)) for row in self.rows]


def table_from_dicts(title: str, items: list[dict], columns: list[str] | None = None) -> Table:
    columns = columns or (list(items[0]) if items else [])
    return Table(title, columns, [[item.get(c, "") for c in columns] for item in items])


def _width(text: str) -> int:
    """Display width: CJK characters take two columns in a terminal."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _cell(value) -> str:
    return "" if value is None else str(value)


def render_text(tables: list[Table]) -> str:
    out = []
    for table in tables:
        cells = [[_cell(v) for v in row] for row in table.rows]
        widths = [max([_width(c)] + [_width(r[i]) for r in cells]) for i, c in enumerate(table.columns)]

        def line(values):
            return "  ".join(v + " " * (w - _width(v)) if not _numeric(v) else " " * (w - _width(v)) + v
                             for v, w in zip(values, widths)).rstrip()
        out += [f"== {table.title} ==", line(table.columns), line(["-" * w for w in widths])]
        out += [line(r) for r in cells] or ["(none)"]
        out.append("")
    return "\n".join(out)


def _numeric(text: str) -> bool:
    return text.lstrip("-").replace(".", "", 1).isdigit()


def render_csv(tables: list[Table]) -> str:
    """One CSV; with several tables each starts with a row naming it (a spreadsheet opens it as is)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for table in tables:
        if len(tables) > 1:
            writer.writerow([f"# {table.title}"])
        writer.writerow(table.columns)
        writer.writerows([[_cell(v) for v in row] for row in table.rows])
    return buf.getvalue()


def render(fmt: str, data, tables: list[Table]) -> str:
    if fmt == "json":
        return json.dumps(data, ensure_ascii=False, sort_keys=True)
    if fmt == "csv":
        return render_csv(tables)
    return render_text(tables)
