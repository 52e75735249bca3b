"""The "what changed" section: snapshots, their comparison, the build state, and builds in a row."""

from __future__ import annotations

import csv
from html.parser import HTMLParser
from pathlib import Path

from evsynth.report import state as build_state
from evsynth.report.state import BuildState
from evsynth.report.changes import Change, compare, flatten, prisma_figures
from evsynth.cli.main import main

# ---------------------------------------------------------------- pure parts

OLD = {"studies": {"S1": "Ann et al. [1]", "S2": "Bo et al. [2]"},
       "counts": {"literature › patients": "10", "literature › patients_by_lrt › RFA": "4"},
       "pooled": {"ORR — GLMM (PLO)": "40.0 % (95 % CI 20.0–60.0), k = 2"},
       "claims": {"L01": "reproduced"}, "searches": {}}


def test_flatten_joins_nested_keys_in_order():
    assert flatten({"a": {"b": 1, "c": {"d": "x"}}, "e": 2}) == {"a › b": "1", "a › c › d": "x", "e": "2"}


def test_prisma_figures_leave_prose_out_and_say_not_reported():
    figures = prisma_figures({"databases": {"identified": {"pubmed": 120}, "screened": None},
                              "is_update": True, "notes": ["a note"], "total_detail": ["x"], "total_studies": 19})
    assert figures == {"databases › identified › pubmed": "120", "databases › screened": "not reported",
                       "is_update": "yes", "total_studies": "19"}


def test_compare_lists_studies_added_removed_and_figures_moved():
    new = {"studies": {"S1": "Ann et al. [1]", "S3": "Cy et al. [3]"},
           "counts": {"literature › patients": "12", "literature › patients_by_lrt › TACE": "2"},
           "pooled": {"ORR — GLMM (PLO)": "45.0 % (95 % CI 22.0–61.0), k = 3"},
           "claims": {"L01": "differs"}, "searches": {"main": "12 records, searched 2026-11-01T10:00:00Z"}}
    changes = compare(OLD, new)
    assert changes.studies_added == (("S3", "Cy et al. [3]"),)
    assert changes.studies_removed == (("S2", "Bo et al. [2]"),)
    assert changes.moved == (
        Change("counts", "literature › patients", "10", "12"),
        Change("counts", "literature › patients_by_lrt › TACE", None, "2"),
        Change("counts", "literature › patients_by_lrt › RFA", "4", None),
        Change("pooled", "ORR — GLMM (PLO)", "40.0 % (95 % CI 20.0–60.0), k = 2", "45.0 % (95 % CI 22.0–61.0), k = 3"),
        Change("claims", "L01", "reproduced", "differs"),
        Change("searches", "main", None, "12 records, searched 2026-11-01T10:00:00Z"),
    )
    assert not changes.empty and len(changes.moved_in("counts")) == 3


def test_compare_reports_a_changed_citation_and_nothing_for_equal_snapshots():
    renamed = {**OLD, "studies": {"S1": "Ann and Bo [1]", "S2": "Bo et al. [2]"}}
    assert compare(OLD, renamed).moved == (Change("studies", "S1", "Ann et al. [1]", "Ann and Bo [1]"),)
    assert compare(OLD, dict(OLD)).empty
    newer = {**OLD, "prisma": {"total_studies": "18"}}  # a section an older evsynth did not record
    assert compare(OLD, newer).empty and compare(newer, OLD).empty


def test_state_advances_only_when_figures_change():
    first = build_state.advance(BuildState(None), OLD)
    assert first == BuildState(OLD, None)
    assert build_state.advance(first, {k: dict(v) for k, v in OLD.items()}) is first
    new = {**OLD, "claims": {"L01": "differs"}}
    second = build_state.advance(first, new)
    assert second == BuildState(new, OLD)
    assert build_state.advance(second, new) is second
    assert build_state.parse(build_state.dumps(second).decode()) == second


def test_malformed_state_counts_as_no_earlier_build(tmp_path):
    path = tmp_path / "build-state.json"
    for text in ("", "{", "[]", '{"format": 1, "current": {"counts": {"a": 1}}}',
                 '{"format": 99, "current": {}}', "\udcff" * 0 + "\x00\x01"):
        path.write_text(text, encoding="utf-8")
        assert build_state.read(path) == BuildState(None), text
    path.write_bytes(b"\xff\xfe not utf-8")
    assert build_state.read(path) == BuildState(None)
    assert build_state.read(tmp_path / "missing.json") == BuildState(None)
    path.write_text('{"format": 1, "current": {"counts": {"a": "1"}}, "previous": "junk"}')
    assert build_state.read(path) == BuildState({"counts": {"a": "1"}}, None)


# ---------------------------------------------------------------- builds in a row

class _Section(HTMLParser):
    """The text of ``<section id="changes">`` and the rows of each of its tables (as lists of cell texts)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.text: list[str] = []
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section" and attrs.get("id") == "changes":
            self.depth = 1
        elif self.depth and tag == "section":
            self.depth += 1
        if not self.depth:
            return
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if not self.depth:
            return
        if tag == "section":
            self.depth -= 1
        elif tag == "td" and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            if self._row:
                self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self.depth:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def changes_section(project: Path) -> _Section:
    parser = _Section()
    parser.feed((project / "reports" / "review.html").read_text(encoding="utf-8"))
    return parser


def snapshot_files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def build(project: Path) -> None:
    assert main(["build", "--root", str(project)]) == 0


def add_study(project: Path) -> None:
    """A study added after the seed (no reference number) with one 2-patient RFA cohort."""
    sheets = project / "extracted"
    with open(sheets / "studies.csv", "a", encoding="utf-8") as f:
        f.write("S99,,Newauthor,Newauthor et al.,2024,,,,,,yes,,,2026-12,complete,,\n")
    with open(sheets / "cohorts.csv", "a", encoding="utf-8") as f:
        f.write("C99,S99,19,RFA,assigned,percutaneous,MTC,2,2,0,0,0,0,single,value,20,,,,not reported,,"
                "reported,yes,0,1,1,0,0,0,none,not stated,no,\n")


def moved_rows(project: Path) -> dict[tuple[str, str], tuple[str, str]]:
    """(section, figure) -> (previous, now) of the "numbers that moved" table."""
    return {(row[0], row[1]): (row[2], row[3]) for row in changes_section(project).tables["changes_moved"]}


def test_builds_in_a_row_list_what_changed_and_stay_byte_identical(project):
    """One story, five builds (each costs ~2 s): first, a study added, unchanged, a note edited, reverted."""
    original = {p.name: p.read_bytes() for p in (project / "extracted").iterdir()}
    build(project)
    first = changes_section(project)
    assert "There is no earlier build" in " ".join(first.text) and first.tables == {}

    add_study(project)
    build(project)
    section = changes_section(project)
    assert section.tables["changes_added"] == [["S99", "Newauthor et al. 2024"]]
    assert "changes_removed" not in section.tables
    moved = moved_rows(project)
    assert moved[("Counts (reports/counts.json)", "literature › studies")] == ("17", "18")
    assert moved[("Counts (reports/counts.json)", "literature › patients")] == ("75", "77")
    # the seed's claims are checked on the seed's studies: a study added later moves none of them
    assert not [key for key in moved if key[0] == "Claims check (status)"]
    before, after = moved[("Pooled estimates (with their CIs)", "Partial response — primary, crude proportion (below the small-k rule)")]
    assert before.endswith("k = 2") and after.endswith("k = 3") and before != after  # the new 2-patient series
    assert ("Counts (reports/counts.json)", "case_series › patients") not in moved  # unchanged figures stay out
    second = snapshot_files(project / "reports")

    build(project)  # same sheets: the same comparison (previous -> current), byte for byte
    assert snapshot_files(project / "reports") == second

    path = project / "extracted" / "studies.csv"  # an edit that moves no figure keeps the comparison
    path.write_text(path.read_text(encoding="utf-8").replace("Two printed rows", "Two rows"), encoding="utf-8")
    build(project)
    assert moved_rows(project) == moved
    assert (project / "reports" / "build-state.json").read_bytes() == second["build-state.json"]

    for name, data in original.items():  # back to the seed: the study is removed, the numbers move back
        (project / "extracted" / name).write_bytes(data)
    build(project)
    section = changes_section(project)
    assert section.tables["changes_removed"] == [["S99", "Newauthor et al. 2024"]]
    assert "changes_added" not in section.tables
    assert moved_rows(project)[("Counts (reports/counts.json)", "literature › patients")] == ("77", "75")
