"""Render a report `Document` as one self-contained HTML page (inline CSS; PNGs by relative path)
and as Markdown with the same tables and figure links. Every text is escaped.
"""

from __future__ import annotations

from html import escape
from string import Template

from climb.report.document import Document, Figure, Note, Section, Table

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; color: #1d2430;
       background: #f6f7f9; font-size: 15px; line-height: 1.45; }
main { max-width: 1320px; margin: 0 auto; padding: 24px 32px 64px; background: #fff; }
h1 { font-size: 28px; margin: 0 0 8px; }
h2 { font-size: 22px; margin-top: 40px; padding-bottom: 6px; border-bottom: 2px solid #d8dde6; }
nav { margin: 8px 0 20px; font-size: 14px; }
nav a { margin-right: 14px; color: #2a5d9f; text-decoration: none; }
.note { margin: 10px 0; }
.box { padding: 12px 16px; border-radius: 6px; margin: 14px 0; border-left: 6px solid; }
.info { background: #eef4fb; border-color: #3b75af; }
.warning { background: #fff6e5; border-color: #e1a32c; }
.danger { background: #fdecec; border-color: #c03d3e; color: #7a1416; font-weight: 600; }
.demo { font-size: 20px; text-align: center; }
table { border-collapse: collapse; margin: 10px 0 26px; font-size: 13.5px; }
caption { caption-side: top; text-align: left; font-weight: 600; padding: 4px 0; color: #34405a; }
th, td { border: 1px solid #d8dde6; padding: 5px 9px; text-align: left; vertical-align: top; }
th { background: #eef1f5; }
tbody tr:nth-child(even) { background: #fafbfc; }
tr.leak td { background: #fbe3e3; color: #7a1416; }
tr.failed td { background: #fff1d6; }
td.num { font-variant-numeric: tabular-nums; white-space: nowrap; }
td.num .ci { display: block; font-size: 12px; color: #5a6678; }
tr.leak td.num .ci { color: #7a1416; }
.table-wrap { overflow-x: auto; }
td.gain { background: #e3f4e6; color: #14532d; font-weight: 600; }
td.loss { background: #fbe3e3; color: #7a1416; font-weight: 600; }
td.leak { background: #fbe3e3; color: #7a1416; }
table.matrix th:first-child, table.matrix td:first-child { position: sticky; left: 0; background: #eef1f5;
  font-weight: 600; }
details { margin: 6px 0 18px; }
details > summary { cursor: pointer; font-weight: 600; color: #34405a; padding: 4px 0; }
details > summary .rows { font-weight: 400; color: #5a6678; }
figure { margin: 18px 0 28px; }
figure img { max-width: 100%; border: 1px solid #e3e6eb; }
figcaption { font-size: 13.5px; color: #4a5568; margin-top: 4px; }
"""

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>$css</style>
</head>
<body>
<main>
<h1>$title</h1>
<nav>$nav</nav>
$body
</main>
</body>
</html>
""")


def _is_number(text: str) -> bool:
    head = text.split(" ", 1)[0]
    try:
        float(head)
    except ValueError:
        return False
    return True


def render_html(doc: Document) -> str:
    nav = "".join(f'<a href="#{escape(s.anchor)}">{escape(s.title)}</a>' for s in doc.sections)
    body = "\n".join(_section_html(s) for s in doc.sections)
    return PAGE.substitute(title=escape(doc.title), css=CSS, nav=nav, body=body)


def _section_html(section: Section) -> str:
    parts = [f'<section id="{escape(section.anchor)}">', f"<h2>{escape(section.title)}</h2>"]
    for block in section.blocks:
        if isinstance(block, Note):
            parts.append(_note_html(block))
        elif isinstance(block, Table):
            parts.append(_table_html(block))
        elif isinstance(block, Figure):
            parts.append(_figure_html(block))
    parts.append("</section>")
    return "\n".join(parts)


def _note_html(note: Note) -> str:
    if note.kind == "plain":
        return f'<p class="note">{escape(note.text)}</p>'
    extra = " demo" if note.kind == "danger" and "DEMO" in note.text else ""
    return f'<div class="box {escape(note.kind)}{extra}">{escape(note.text)}</div>'


def _table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = []
    for i, row in enumerate(table.rows):
        cls = f' class="{escape(table.row_class(i))}"' if table.row_class(i) else ""
        cells = "".join(_cell_html(c, table.cell_class(i, j)) for j, c in enumerate(row))
        rows.append(f"<tr{cls}>{cells}</tr>")
    table_class = ' class="matrix"' if table.cell_classes else ""
    if table.folded:  # the caption becomes the <summary> line that unfolds the table
        return (f'<details><summary>{escape(table.caption)} <span class="rows">({_rows(table)})</span>'
                f'</summary><div class="table-wrap"><table><thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table></div></details>")
    caption = f"<caption>{escape(table.caption)}</caption>" if table.caption else ""
    return (f'<div class="table-wrap"><table{table_class}>{caption}<thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _rows(table: Table) -> str:
    return f"{len(table.rows)} row" + "s" * (len(table.rows) != 1)


def _cell_html(text: str, extra_class: str = "") -> str:
    """Numbers right-aligned; an estimate's interval on its own line (same text content)."""
    if not _is_number(text):
        cls = f' class="{escape(extra_class)}"' if extra_class else ""
        return f"<td{cls}>{escape(text)}</td>"
    value, sep, interval = text.partition(" [")
    ci = f' <span class="ci">[{escape(interval)}</span>' if sep else ""
    return f'<td class="{escape(" ".join(["num", extra_class]).strip())}">{escape(value)}{ci}</td>'


def _figure_html(fig: Figure) -> str:
    return (f'<figure><img src="{escape(fig.relative, quote=True)}" alt="{escape(fig.caption, quote=True)}">'
            f"<figcaption>{escape(fig.caption)}</figcaption></figure>")


# ---------------------------------------------------------------- Markdown


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(doc: Document) -> str:
    lines = [f"# {doc.title}", ""]
    for section in doc.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            lines += _block_markdown(block) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _block_markdown(block: Note | Table | Figure) -> list[str]:
    if isinstance(block, Note):
        prefix = {"danger": "> **WARNING:** ", "warning": "> **Note:** ", "info": "> "}.get(block.kind, "")
        return [prefix + block.text]
    if isinstance(block, Figure):
        return [f"![{_md_cell(block.caption)}]({block.relative})", "", f"*{_md_cell(block.caption)}*"]
    lines = [f"**{_md_cell(block.caption)}**", ""] if block.caption and not block.folded else []
    lines.append("| " + " | ".join(_md_cell(c) or " " for c in block.columns) + " |")
    lines.append("|" + "---|" * len(block.columns))
    for i, row in enumerate(block.rows):
        cells = [_md_cell(c) for c in row]
        cells = [f"**{c}**" if c and block.cell_class(i, j) in ("gain", "loss") else c for j, c in enumerate(cells)]
        if block.row_class(i) == "leak":
            cells[0] = f"**LABEL LEAK** {cells[0]}"
        lines.append("| " + " | ".join(cells) + " |")
    if block.folded:  # GitHub and most Markdown viewers fold a <details> block
        return [f"<details><summary>{escape(block.caption)} ({_rows(block)})</summary>", "", *lines, "",
                "</details>"]
    return lines


__all__ = ["render_html", "render_markdown"]
