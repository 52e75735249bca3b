"""A build killed at any point leaves reports/ as the previous complete set or the new one, and
the next build leaves nothing behind; hostile text in any free-text column is either refused in
one line or comes out inert in the page, the CSVs, the XLSX and the DOCX.

Kill points (200 in all, or more when the publish phase has more steps):
* an injected failure (an exception) at every step of the publish phase — each file opened,
  written, fsync'd, closed and chmod-ed in staging, each link, folder, rename and the swap;
* a real SIGKILL of a forked build process at sampled steps of the same phase, and at random
  moments of it (a timer in the parent);
* a real SIGKILL of ``python -m evsynth build`` at random moments of a whole run.
"""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evsynth.cli.main import main
from evsynth.core import publish
from evsynth.core.csv_text import FORMULA_START
from evsynth.core.project import Project
from evsynth.report import state as build_state
from evsynth.report.build import owned, render_files
from evsynth.report.changes import snapshot
from evsynth.report.compute import compute
from tests.test_review_xss import ALL_SHEETS, hostile_columns

TOTAL_KILL_POINTS = 200
SUBPROCESS_KILLS = 2
TIMER_KILLS = 8
USER_FILE = "included.ris"  # a file the build does not own: it must survive every publish


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _leftovers(project: Path) -> list[str]:
    """Staging folders, old trees and hidden temporary files a killed build could leave."""
    found = [p.name for p in project.iterdir() if publish.STAGING_TAG in p.name or publish.OLD_TAG in p.name]
    reports = project / "reports"
    if reports.is_dir():
        found += [p.relative_to(project).as_posix() for p in reports.rglob(".*")]
    return found


class Steps:
    """Stands in for the ``os`` module inside evsynth.core.publish: counts each step of the
    publish phase and, at step ``fail_at``, raises or SIGKILLs the process."""

    COUNTED = ("open", "write", "fsync", "close", "chmod", "link", "mkdir", "rename")

    def __init__(self, fail_at: int | None = None, kill: bool = False) -> None:
        self.count = 0
        self.fail_at = fail_at
        self.sigkill = kill  # not "kill": this object stands in for os, whose os.kill publish calls
        self.failed = False

    def step(self) -> None:
        self.count += 1
        if self.count == self.fail_at and not self.failed:
            self.failed = True
            if self.sigkill:
                os.kill(os.getpid(), signal.SIGKILL)
            raise OSError(5, "injected failure")

    def __getattr__(self, name: str):
        real = getattr(os, name)
        if name not in self.COUNTED:
            return real

        def counted(*args, **kwargs):
            self.step()
            if name == "fsync":
                return None  # a kill is not a power cut: durability is not what is tested here
            return real(*args, **kwargs)

        return counted


@pytest.fixture
def two_sets(project):
    """reports/ holding the set of a real build (A), and the rendered files of a different build (B)."""
    assert main(["build", "--root", str(project)]) == 0
    (project / "reports" / USER_FILE).write_text("TY  - JOUR\nER  - \n")
    old = _snapshot(project / "reports")
    studies = project / "extracted" / "studies.csv"
    rows = list(csv.reader(io.StringIO(studies.read_text(encoding="utf-8"))))
    rows[1][rows[0].index("citation_as_printed")] += " (corrected)"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    studies.write_text(buffer.getvalue(), encoding="utf-8")
    result = compute(project)
    reports = project / "reports"
    state = build_state.advance(build_state.read(reports / build_state.FILENAME), snapshot(result))
    files = render_files(result, state)
    new = {name: data for name, data in old.items() if not owned(name)} | files
    assert old != new and old["review.html"] != new["review.html"]
    assert old[build_state.FILENAME] != new[build_state.FILENAME]
    return project, old, files, new


def _publish(reports: Path, files: dict[str, bytes], steps: Steps | None = None) -> None:
    if steps is None:
        publish.publish_set(reports, files, owned)
        return
    real_os = publish.os
    publish.os = steps
    try:
        publish.publish_set(reports, files, owned)
    finally:
        publish.os = real_os


def _check_old_or_new(reports: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    now = _snapshot(reports)
    assert now in (old, new), "reports/ is a mixture: " + ", ".join(
        sorted(n for n in set(now) | set(old) | set(new) if not (now.get(n) == old.get(n) or now.get(n) == new.get(n))))
    return "old" if now == old else "new"


def _back_to_old(project: Path, old: dict[str, bytes]) -> None:
    _publish(project / "reports", {n: d for n, d in old.items() if owned(n)}, Steps())
    assert _snapshot(project / "reports") == old and _leftovers(project) == []


def _recover_and_check(project: Path, files: dict[str, bytes], new: dict[str, bytes]) -> None:
    """The next publish completes the new set and leaves nothing behind."""
    _publish(project / "reports", files, Steps())  # Steps() only skips the fsyncs, to keep the test fast
    assert _snapshot(project / "reports") == new
    assert _leftovers(project) == []


def test_kill_at_200_points_leaves_old_or_new_and_no_leftovers(two_sets):
    project, old, files, new = two_sets
    reports = project / "reports"
    counter = Steps()
    _publish(reports, files, counter)
    steps = counter.count
    _back_to_old(project, old)
    in_process = steps
    # every step of the publish phase is a kill point (their number grows with the supplementary files:
    # one per declared sheet since issue 19), and at least 10 forked kills besides
    forked = max(10, TOTAL_KILL_POINTS - in_process - TIMER_KILLS - SUBPROCESS_KILLS)
    assert 60 < steps, f"{steps} steps in the publish phase"
    outcomes = {"old": 0, "new": 0}
    started = time.monotonic()

    # 1. an injected failure at every step
    for fail_at in range(1, steps + 1):
        try:  # a failed hard link falls back to a copy: that step's failure is absorbed
            _publish(reports, files, Steps(fail_at))
        except (OSError, publish.PublishError) as exc:
            assert "injected failure" in str(exc)
        outcomes[_check_old_or_new(reports, old, new)] += 1
        _recover_and_check(project, files, new)
        _back_to_old(project, old)

    phase1 = time.monotonic() - started

    # 2. real SIGKILLs of a forked publishing process: at sampled steps, then at random moments
    rng = random.Random(14)
    points = [("step", s) for s in sorted(rng.sample(range(1, steps + 1), min(forked, steps)))]
    points += [("step", rng.randint(1, steps)) for _ in range(forked - len(points))]
    points += [("timer", rng.uniform(0.0, 0.4)) for _ in range(TIMER_KILLS)]
    for kind, where in points:
        pid = os.fork()
        if pid == 0:  # the child publishes and is killed
            try:
                _publish(reports, files, Steps(where, kill=True) if kind == "step" else None)
            finally:
                os._exit(0)
        if kind == "timer":
            time.sleep(where)
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) or kind == "timer", f"child not killed at step {where}"
        outcomes[_check_old_or_new(reports, old, new)] += 1
        _recover_and_check(project, files, new)
        _back_to_old(project, old)

    phase2 = time.monotonic() - started - phase1

    # 3. real SIGKILLs of whole `evsynth build` runs at random moments
    for _ in range(SUBPROCESS_KILLS):
        run = subprocess.Popen([sys.executable, "-m", "evsynth", "build", "--root", str(project)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, 3.0))
        run.kill()
        run.wait()
        outcomes[_check_old_or_new(reports, old, new)] += 1
        _recover_and_check(project, files, new)  # what the next build publishes (the same files)
        _back_to_old(project, old)
    total = sum(outcomes.values())
    assert total == max(TOTAL_KILL_POINTS, in_process + forked + TIMER_KILLS + SUBPROCESS_KILLS)
    assert outcomes["old"] > 0 and outcomes["new"] > 0  # the kill points straddle the swap
    print(f"\n{total} kill points ({steps} publish steps): {outcomes['old']} left the old set, "
          f"{outcomes['new']} the new one; {time.monotonic() - started:.1f} s "
          f"(injected {phase1:.1f} s, forked {phase2:.1f} s)")


def test_an_unwritable_folder_is_one_line_and_nothing_is_replaced(project, capsys, monkeypatch):
    assert main(["build", "--root", str(project)]) == 0
    before = _snapshot(project / "reports")
    (project / "extracted" / "claims.csv").write_text(
        (project / "extracted" / "claims.csv").read_text(encoding="utf-8").replace("Results", "Results (rev.)", 1),
        encoding="utf-8")
    supplementary = Project(project).supplementary
    real_open = os.open

    def read_only(path, flags, *args, **kwargs):  # what a read-only mount answers, even to root
        if Path(path).parent == supplementary and flags & os.O_CREAT:
            raise OSError(30, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(publish.os, "open", read_only)
    assert main(["build", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{supplementary}: cannot write here (Read-only file system); nothing was replaced" in err
    assert _snapshot(project / "reports") == before and _leftovers(project) == []


def _read_only(folder: Path) -> tuple[list[str], list[str]] | None:
    """Commands that make *folder* read-only for this user and undo it: permissions for a
    user, the immutable attribute for root (whom permissions do not stop); ``None`` when
    root cannot set it here (no ``chattr``, or a file system without the attribute)."""
    if os.geteuid() != 0:
        return ["chmod", "555", str(folder)], ["chmod", "755", str(folder)]
    if shutil.which("chattr") is None:
        return None
    probe = subprocess.run(["chattr", "+i", str(folder)], capture_output=True)
    if probe.returncode != 0:
        return None
    subprocess.run(["chattr", "-i", str(folder)], check=True)
    return ["chattr", "+i", str(folder)], ["chattr", "-i", str(folder)]


def test_a_read_only_folder_by_permissions(project, capsys):
    assert main(["build", "--root", str(project)]) == 0
    before = _snapshot(project / "reports")
    supplementary = project / "reports" / "supplementary"
    commands = _read_only(supplementary)
    if commands is None:
        pytest.skip("root here cannot make a folder read-only (no chattr +i); the probe test "
                    "above covers the refusal")
    lock, unlock = commands
    subprocess.run(lock, check=True)
    try:
        assert main(["build", "--root", str(project)]) == 1
    finally:
        subprocess.run(unlock, check=True)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{supplementary}: cannot write here" in err and "nothing was replaced" in err
    assert _snapshot(project / "reports") == before and _leftovers(project) == []


def test_stale_files_of_older_builds_are_removed(project):
    reports = project / "reports"
    assert main(["build", "--root", str(project)]) == 0
    (reports / "supplementary" / ".table2_literature.csv.x1y2.tmp").write_text("half")
    (project / f".reports{publish.STAGING_TAG}999999999").mkdir()
    (project / f".reports{publish.OLD_TAG}999999998").mkdir()
    assert main(["build", "--root", str(project)]) == 0
    assert _leftovers(project) == []


def test_a_target_lost_between_two_renames_is_restored(project):
    """The fallback without an exchange call: killed between its renames, the old set comes back."""
    reports = project / "reports"
    assert main(["build", "--root", str(project)]) == 0
    before = _snapshot(reports)
    reports.rename(project / f".reports{publish.OLD_TAG}999999997")
    assert publish.clean_stale(reports)
    assert _snapshot(reports) == before and _leftovers(project) == []


# --- hostile text -------------------------------------------------------------------------------

HOSTILE_TEXT = st.one_of(
    st.sampled_from(["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1",
                     "<script>alert(1)</script>", "</td></tr></table><b>x", "&amp;&lt;", "\u202eevil\u202c",
                     "\u200f\u05e9\u05dc\u05d5\u05dd", "a\x00b", "\x07\x1b[31m", "x" * 10_000]),
    st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40),
    st.text(alphabet="=+-@\t\r<>&\"'\u202e\x0b", min_size=1, max_size=12),
)
#: Elements that run, load or submit something.
ACTIVE_TAGS = ("script", "iframe", "img", "object", "embed", "link", "base", "form", "input", "svg")
COLUMNS = [(spec, column) for spec in ALL_SHEETS for column in hostile_columns(spec)]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, int] = {}
        self.events = 0
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.events += sum(1 for name, _ in attrs if name.startswith("on"))
        self.links += [value or "" for name, value in attrs if name in ("href", "src", "action")]


def _tags(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def clean_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile-base")
    repo = Path(__file__).resolve().parents[1]
    shutil.copytree(repo / "extracted", root / "extracted")
    for path in repo.glob("*.toml"):  # the project's review, sheets and analysis plan
        if path.name != "pyproject.toml":
            shutil.copy2(path, root / path.name)
    shutil.copytree(repo / "versions", root / "versions")  # the released versions' frozen figures
    assert main(["build", "--root", str(root)]) == 0
    return root, _tags((root / "reports" / "review.html").read_text(encoding="utf-8")).tags


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(column=st.sampled_from(COLUMNS), text=HOSTILE_TEXT, row=st.integers(0, 5))
def test_hostile_text_is_refused_in_one_line_or_inert(clean_copy, tmp_path_factory, column, text, row):
    import openpyxl
    from docx import Document

    base, base_tags = clean_copy
    root = tmp_path_factory.mktemp("hostile")
    shutil.copytree(base / "extracted", root / "extracted")
    for path in base.glob("*.toml"):
        shutil.copy2(path, root / path.name)
    shutil.copytree(base / "versions", root / "versions")
    spec, name = column
    path = root / "extracted" / spec.filename
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    target = rows[1 + row % (len(rows) - 1)]
    target[rows[0].index(name)] = text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    err = io.StringIO()
    with _captured_stderr(err):
        code = main(["build", "--root", str(root)])
    if code != 0:  # a clear one-line error (possibly after the list of sheet problems), nothing built
        assert code == 1 and err.getvalue().count("\n") == 1 and "Traceback" not in err.getvalue()
        assert not (root / "reports").exists()
        return
    reports = root / "reports"
    html = (reports / "review.html").read_text(encoding="utf-8")
    parsed = _tags(html)
    # inert: no event handler, no kind of element the clean page does not have, no more active
    # elements than it has, and markup characters only ever escaped (a cell can add a footnote
    # line or a paragraph, which is why counts of ordinary elements may differ)
    assert parsed.events == 0
    assert set(parsed.tags) <= set(base_tags)
    assert all(parsed.tags.get(t, 0) == base_tags.get(t, 0) for t in ACTIVE_TAGS)
    # a DOI or PMID cell becomes a link: only to the resolver, never a script or another scheme
    assert all(link.startswith(("#", "https://doi.org/", "https://pubmed.ncbi.nlm.nih.gov/")) for link in parsed.links), \
        [link for link in parsed.links if not link.startswith("#")]
    if "<" in text and len(text.strip()) > 1:
        # unescaped, the cell's text appears only where the clean page's own markup has it
        # ("0<" is in "20</span>")
        clean_html = (base / "reports" / "review.html").read_text(encoding="utf-8")
        assert text.strip() not in html or text.strip() in clean_html
    for table in sorted((reports / "supplementary").glob("*.csv")):
        with open(table, encoding="utf-8", newline="") as handle:
            cells = [c for r in csv.reader(handle) for c in r]
        assert not [c for c in cells if c.startswith(FORMULA_START) and not _number(c)], table.name
    book = openpyxl.load_workbook(reports / "supplementary" / "supplementary_tables.xlsx")
    for sheet in book.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                assert cell.data_type != "f" and len(str(cell.value or "")) <= 32_767
    Document(str(reports / "supplementary" / "supplementary_tables.docx"))  # reopens


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


class _captured_stderr:
    def __init__(self, buffer: io.StringIO) -> None:
        self.buffer = buffer

    def __enter__(self):
        self.saved = sys.stderr
        sys.stderr = self.buffer

    def __exit__(self, *exc):
        sys.stderr = self.saved
