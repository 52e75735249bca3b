"""The PRISMA 2020 flow diagram as a standalone SVG.

Layout after the PRISMA 2020 flow-diagram templates (Page et al. 2021, BMJ
372:n71, figure 1; the "updated reviews" template adds the previous-studies
column): phases Identification, Screening and Included down the left; one
column per identification route, with exclusion boxes to the right of each
main box. Counts that are not reported read "not reported".

The output is deterministic (no random ids, no timestamps, fixed layout
computed from the text only, coordinates at a fixed precision by
:mod:`evsynth.report.svg_precision`), so a rebuild gives the same bytes, and every
piece of text is XML-escaped.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from evsynth.report.svg_precision import fix_precision
from evsynth.screening.prisma import FlowColumn, PrismaCounts, format_count

#: How sources are named in the diagram.
SOURCE_LABELS: dict[str, str] = {
    "pubmed": "PubMed", "embase": "Embase", "scopus": "Scopus", "wos": "Web of Science",
    "central": "Cochrane CENTRAL", "cross-referencing": "Manual cross-referencing",
    "citation chasing": "Citation searching (references and cited-by)",
}

FONT = "Helvetica, Arial, sans-serif"
FONT_SIZE = 12
LINE = 15
PAD = 8
BOX_W = 230
GAP_X = 30
GAP_Y = 28
BAND_W = 26
CHARS = 34  # characters per line at 12 px in a 230 px box


@dataclass(frozen=True)
class Box:
    """A box: position, width, and its wrapped lines (first line bold when *heading*)."""

    x: int
    row: int
    lines: tuple[str, ...]
    width: int = BOX_W
    heading: bool = False
    shade: str = "#ffffff"


def source_label(source: str) -> str:
    """Display name of a source (``wos`` -> ``Web of Science``)."""
    return SOURCE_LABELS.get(source, source[:1].upper() + source[1:])


def _keep_together(line: str) -> str:
    """No line break inside ``(n = 4)`` or ``(not reported)``: no-break spaces there."""
    return line.replace("n = ", "n\u00a0=\u00a0").replace("not reported", "not\u00a0reported")


def _wrap(lines: list[str], width: int = BOX_W) -> tuple[str, ...]:
    chars = max(12, CHARS * width // BOX_W)
    out: list[str] = []
    for line in lines:
        out.extend(textwrap.wrap(_keep_together(line), chars, subsequent_indent="  ") or [""])
    return tuple(out)


def _identified(col: FlowColumn) -> list[str]:
    lines = ["Records identified from:"]
    lines += [f"{source_label(s)} ({format_count(n)})" for s, n in col.identified.items()]
    if not col.identified:
        lines.append("none (n = 0)")
    if len(col.identified) > 1:
        lines.append(f"Total ({format_count(col.identified_total)})")
    return lines


def _excluded_reasons(col: FlowColumn) -> list[str]:
    lines = [f"Reports excluded ({format_count(col.excluded_assessment)})"]
    if col.excluded_reasons:
        lines += [f"{reason} (n = {n})" for reason, n in col.excluded_reasons.items()]
    if col.awaiting_assessment:
        lines.append(f"Awaiting assessment (n = {col.awaiting_assessment})")
    return lines


#: Rows of each column's main chain: the databases column has every box; the
#: "other methods" column of PRISMA 2020 goes from identification straight to
#: the reports sought (no duplicate-removal or record-screening boxes).
CHAIN = {"databases": (0, 1, 2, 3, 4), "other": (0, 2, 3, 4)}


def _column_boxes(col: FlowColumn, x: int, key: str = "databases") -> list[Box]:
    side = x + BOX_W + GAP_X
    screened = [f"Records excluded ({format_count(col.excluded_screening)})"]
    if col.awaiting_screening:
        screened.append(f"Awaiting screening (n = {col.awaiting_screening})")
    sought = [f"Reports sought for retrieval ({format_count(col.sought)})"]
    if key == "other" and col.excluded_screening:
        sought.append(f"(after {col.excluded_screening} excluded on title/abstract)")
    boxes = [Box(x, 0, _wrap(_identified(col)))]
    if key == "databases":
        boxes += [
            Box(side, 0, _wrap(["Records removed before screening:",
                                f"Duplicate records removed ({format_count(col.duplicates_removed)})"])),
            Box(x, 1, _wrap([f"Records screened ({format_count(col.screened)})"])),
            Box(side, 1, _wrap(screened)),
        ]
    return boxes + [
        Box(x, 2, _wrap(sought)),
        Box(side, 2, _wrap([f"Reports not retrieved ({format_count(col.not_retrieved)})"])),
        Box(x, 3, _wrap([f"Reports assessed for eligibility ({format_count(col.assessed)})"])),
        Box(side, 3, _wrap(_excluded_reasons(col))),
    ]


def _layout(counts: PrismaCounts) -> tuple[list[Box], list[tuple[str, int, int]], int, dict[str, int]]:
    """Boxes, column headers (text, x, width), total width, and column x positions."""
    x = BAND_W + 2 * PAD
    xs: dict[str, int] = {}
    if counts.is_update:
        xs["previous"] = x
        x += BOX_W + GAP_X
    xs["databases"] = x
    xs["other"] = x + 2 * (BOX_W + GAP_X)
    width = xs["other"] + 2 * BOX_W + GAP_X + 2 * PAD
    new = "new " if counts.is_update else ""
    headers = [(f"Identification of {new}studies via databases and registers",
                xs["databases"], 2 * BOX_W + GAP_X),
               (f"Identification of {new}studies via other methods", xs["other"], 2 * BOX_W + GAP_X)]
    boxes = _column_boxes(counts.databases, xs["databases"], "databases") + _column_boxes(
        counts.other_methods, xs["other"], "other")
    span = xs["other"] + BOX_W - xs["databases"]
    if counts.is_update:
        headers.insert(0, ("Previous studies", xs["previous"], BOX_W))
        printed = counts.previous_as_printed
        boxes.append(Box(xs["previous"], 0, _wrap([
            f"Studies included in previous version of review: {printed}" if printed else
            f"Studies included in previous version of review ({format_count(counts.previous_studies)})",
            *([] if printed else counts.previous_detail),
            f"Reports of studies included in previous version ({format_count(counts.previous_reports)})"
            if not printed else "Reports: those of the studies above"])))
        boxes.append(Box(xs["databases"], 4, _wrap([
            f"New studies included in review ({format_count(counts.new_studies)})",
            f"Reports of new included studies ({format_count(counts.new_studies)})"], span),
            width=span))
        boxes.append(Box(xs["previous"], 4, _wrap([
            f"Total studies included in review ({format_count(counts.total_studies)})",
            f"Reports of total included studies ({format_count(counts.total_reports)})"]),
            heading=True, shade="#eef4fb"))
    else:
        printed = counts.previous_as_printed
        boxes.append(Box(xs["databases"], 4, _wrap([
            f"Studies included in review: {printed}" if printed else
            f"Studies included in review ({format_count(counts.total_studies)})",
            *([] if printed else counts.total_detail),
            "Reports: those of the studies above" if printed else
            f"Reports of included studies ({format_count(counts.total_reports)})"], span),
            width=span, heading=True, shade="#eef4fb"))
    return boxes, headers, width, xs


#: The phase bands: label, first row, last row.
PHASES: tuple[tuple[str, int, int], ...] = (
    ("Identification", 0, 0), ("Screening", 1, 3), ("Included", 4, 4))


def _row_geometry(boxes: list[Box], top: int) -> list[tuple[int, int]]:
    """(y, height) of each of the five rows; a one-row phase is tall enough for its label."""
    minimum = {first: len(label) * 8 + 2 * PAD for label, first, last in PHASES if first == last}
    rows: list[tuple[int, int]] = []
    y = top
    for row in range(5):
        height = max(len(b.lines) for b in boxes if b.row == row) * LINE + 2 * PAD
        height = max(height, minimum.get(row, 0))
        rows.append((y, height))
        y += height + GAP_Y
    return rows


def _text(x: int, y: int, text: str, *, bold: bool = False, anchor: str = "start",
          size: int = FONT_SIZE, extra: str = "") -> str:
    weight = ' font-weight="bold"' if bold else ""
    return (f'<text x="{x}" y="{y}" font-size="{size}" text-anchor="{anchor}"{weight}{extra}>'
            f"{escape(text)}</text>")


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#333" stroke-width="1.2" '
            'marker-end="url(#prisma-arrow)"/>')


def render_svg(counts: PrismaCounts, title: str = "PRISMA 2020 flow diagram") -> str:
    """The flow diagram of *counts* as SVG text (UTF-8, no XML declaration, deterministic)."""
    boxes, headers, width, xs = _layout(counts)
    header_h = 2 * LINE + 2 * PAD
    top = PAD + 2 * LINE + header_h + GAP_Y // 2
    rows = _row_geometry(boxes, top)
    notes = [line for note in counts.notes
             for line in (textwrap.wrap(note, (width - 2 * PAD) // 6) or [""])]
    bottom = rows[-1][0] + rows[-1][1] + PAD
    height = bottom + (len(notes) * LINE + 2 * PAD if notes else PAD)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family={quoteattr(FONT)} role="img" '
           'aria-labelledby="prisma-title">',
           f'<title id="prisma-title">{escape(title)}</title>',
           '<defs><marker id="prisma-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M 0 0 L 10 5 L 0 10 z" fill="#333"/></marker></defs>',
           f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
           _text(width // 2, PAD + LINE, title, bold=True, anchor="middle", size=14)]
    # Column headers.
    hy = PAD + 2 * LINE
    for text, x, w in headers:
        out.append(f'<rect x="{x}" y="{hy}" width="{w}" height="{header_h}" rx="6" '
                   'fill="#f6c667" stroke="#8a6d1f"/>')
        for i, line in enumerate(_wrap([text], w)):
            out.append(_text(x + w // 2, hy + PAD + LINE * (i + 1) - 3, line, bold=True, anchor="middle"))
    # Phase bands.
    for label, first, last in PHASES:
        y0 = rows[first][0]
        y1 = rows[last][0] + rows[last][1]
        cx, cy = PAD + BAND_W // 2, (y0 + y1) // 2
        out.append(f'<rect x="{PAD}" y="{y0}" width="{BAND_W}" height="{y1 - y0}" rx="6" '
                   'fill="#a9c6e8" stroke="#4a6d94"/>')
        out.append(_text(cx, cy, label, bold=True, anchor="middle",
                         extra=f' dominant-baseline="middle" transform="rotate(-90 {cx} {cy})"'))
    # Boxes.
    for box in boxes:
        y, h = rows[box.row]
        out.append(f'<rect x="{box.x}" y="{y}" width="{box.width}" height="{h}" '
                   f'fill="{box.shade}" stroke="#333"/>')
        for i, line in enumerate(box.lines):
            out.append(_text(box.x + PAD, y + PAD + LINE * (i + 1) - 3, line,
                             bold=box.heading and i == 0))
    # Arrows: down each main column, across to each exclusion box.
    for key in ("databases", "other"):
        x = xs[key]
        mid = x + BOX_W // 2
        chain = CHAIN[key]
        for row, below in zip(chain, chain[1:]):
            y, h = rows[row]
            if any(b.row == row and b.x == x + BOX_W + GAP_X for b in boxes):
                out.append(_arrow(x + BOX_W, y + h // 2, x + BOX_W + GAP_X, y + h // 2))
            out.append(_arrow(mid, y + h, mid, rows[below][0]))
    if counts.is_update:
        px = xs["previous"] + BOX_W // 2
        out.append(_arrow(px, rows[0][0] + rows[0][1], px, rows[4][0]))
        y4, h4 = rows[4]
        out.append(_arrow(xs["databases"], y4 + h4 // 2, xs["previous"] + BOX_W, y4 + h4 // 2))
    for i, line in enumerate(notes):
        out.append(_text(PAD, bottom + PAD + LINE * (i + 1) - 3, line, size=11))
    out.append("</svg>")
    return fix_precision("\n".join(out) + "\n")
