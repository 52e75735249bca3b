"""`evsynth screen --serve` in Debian's Chromium: keyboard screening, reload, blind second
reviewer and conflicts with Cohen's kappa, hostile record text, the flagged-record gate."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from evsynth.workbench.app import WorkbenchServer
from evsynth.screening.dual import agreement_pairs, cohens_kappa
from evsynth.screening.files import ReviewFiles
from evsynth.screening.log import load_log
from evsynth.workbench.session import ScreeningSession
from tests.support.screening_project import corpus, make_project
from tests.test_browser import PAYLOADS

HOSTILE = " ".join(PAYLOADS)


@pytest.fixture(scope="module")
def template_project(tmp_path_factory) -> Path:
    records = corpus(26)
    records[5] = dataclasses.replace(
        records[5], title=escape("Hostile title " + HOSTILE),
        abstract=(("", escape("Hostile abstract " + HOSTILE)),),
        journal="Hostile journal " + HOSTILE,
        mesh=(("Hostile MeSH " + HOSTILE, False, ()),))
    root = make_project(tmp_path_factory.mktemp("screening-template"), records)
    # these tests follow records by id, so they screen in the log's order; the ranked
    # order is tested in test_page_offers_records_in_ranked_order
    with (root / "review.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[screening]\norder = "log"\n')
    return root


@pytest.fixture
def project(template_project, tmp_path) -> Path:
    import shutil
    shutil.copytree(template_project, tmp_path / "review")
    return tmp_path / "review"


@pytest.fixture
def serve() -> Iterator:
    servers: list[WorkbenchServer] = []

    def start(root: Path, reviewer: str, second: str | None = None) -> WorkbenchServer:
        session = ScreeningSession.open(ReviewFiles(root / "extracted"), reviewer, second,
                                        clock=lambda: "2025-03-04")
        server = WorkbenchServer(session)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def origin(server: WorkbenchServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def current_id(page) -> str:
    return page.locator("#rid").inner_text()


def wait_saved(page, before: str) -> None:
    """Wait until the page shows another record (or none) after a decision on *before*."""
    page.wait_for_function(
        "before => { const c = document.getElementById('card'); "
        "return c.hidden || document.getElementById('rid').textContent !== before; }",
        arg=before, timeout=10_000)


def screen_by_keyboard(page, count: int, plan) -> list[tuple[str, str, str]]:
    """Decide *count* records with keys; *plan(i, record_id)* gives (keys, decision, reason)."""
    done = []
    for i in range(count):
        rid = current_id(page)
        keys, decision, reason = plan(i, rid)
        for key in keys:
            page.keyboard.press(key)
        wait_saved(page, rid)
        done.append((rid, decision, reason))
    return done


def stopping_line(project: Path) -> list[str]:
    """The stopping status of the log on disk and its heuristic, as ``evsynth screen`` says them."""
    from evsynth.prioritise.pending import stopping_status

    status = stopping_status(load_log(project / "extracted" / "screening.csv",
                                      reasons=ReviewFiles(project / "extracted").reasons),
                             order="log")  # the project screens in log order (see above)
    return [status.describe(), status.heuristic()]


def test_screen_20_records_with_the_keyboard_reload_and_nothing_is_lost(chromium, project, serve):
    server = serve(project, "AB")
    page = chromium.live_page(origin(server))
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(server.url)
        page.wait_for_selector("#card:not([hidden])")
        assert page.locator("#progress").inner_text().startswith("0 of 26 decided")
        marks = page.locator("#title mark")  # the query's terms, highlighted
        assert [marks.nth(i).inner_text() for i in range(marks.count())] == \
            ["liver", "metastases", "thyroid carcinoma"]

        def plan(i: int, rid: str):
            if rid == "R00004":  # flagged retracted by the retraction watch: not an include
                return ["e"], "exclude", ""
            if i % 4 == 0:
                return ["1", "e"], "exclude", "wrong population"  # optional reason, chosen by key
            if i % 4 == 1:
                return ["e"], "exclude", ""                        # no reason at title/abstract
            if i % 4 == 2:
                return ["m"], "maybe", ""
            return ["i"], "include", ""

        # Where the review stands, before any decision and after each one.
        assert page.locator("#where").is_visible()
        assert page.locator("#stopping").inner_text() == stopping_line(project)[0]
        assert page.locator("#stopping").inner_text().startswith(
            "0 of 26 records screened at title/abstract, 0 includes found. Stopping criterion not met")
        # this project screens in log order, and the status says what that means for the promise
        assert page.locator("#stopping").inner_text().endswith(
            "what this criterion promises was measured for ranked and random orders only.")
        assert page.locator("#heuristic").is_visible()
        assert page.locator("#heuristic").inner_text().startswith("Heuristic only, no guarantee:")
        started = time.perf_counter()
        done = screen_by_keyboard(page, 1, plan)
        assert page.locator("#stopping").inner_text().startswith(
            "1 of 26 records screened at title/abstract, 0 includes found.")
        assert page.locator("#heuristic").inner_text() == \
            "Heuristic only, no guarantee: the last record screened was excluded."
        done += screen_by_keyboard(page, 19, lambda i, rid: plan(i + 1, rid))
        seconds = time.perf_counter() - started
        assert [page.locator(f"#{n}").inner_text() for n in ("stopping", "heuristic")] == \
            stopping_line(project)
        assert page.locator("#stopping").inner_text().startswith(
            f"{sum(1 for _, d, _ in done if d in ('include', 'exclude'))} of 26 records "
            "screened at title/abstract, "
            f"{sum(1 for _, d, _ in done if d == 'include')} includes found.")
        print(f"\nscreening page: 20 records by keyboard in {seconds:.2f} s "
              f"({seconds / 20 * 1000:.0f} ms per record)")
        # Everything is on disk already: read the log the page wrote.
        log = {e.record_id: e for e in load_log(project / "extracted" / "screening.csv",
                                               reasons=ReviewFiles(project / "extracted").reasons)}
        for rid, decision, reason in done:
            assert (log[rid].decision, log[rid].reason, log[rid].reviewer, log[rid].date) == \
                (decision, reason, "AB", "2025-03-04"), rid
        page.reload()
        page.wait_for_selector("#card:not([hidden])")
        decided = sum(1 for _, d, _ in done if d == "exclude")
        assert page.locator("#progress").inner_text().startswith(f"{decided} of 26 decided")
        # Undo restores the last row as it was.
        last = done[-1][0]
        page.keyboard.press("u")
        page.wait_for_function("id => document.getElementById('rid').textContent === id", arg=last)
        assert {e.record_id: e for e in load_log(project / "extracted" / "screening.csv",
                reasons=ReviewFiles(project / "extracted").reasons)}[last].decision == "pending"
        assert not errors, errors
    finally:
        page.close()


def test_full_text_needs_a_reason_and_a_flagged_record_needs_a_note(chromium, project, serve):
    server = serve(project, "AB")
    page = chromium.live_page(origin(server))
    try:
        page.goto(server.url)
        page.wait_for_selector("#card:not([hidden])")
        for _ in range(3):   # R00001-R00003 included at title/abstract
            rid = current_id(page)
            page.keyboard.press("i")
            wait_saved(page, rid)
        assert current_id(page) == "R00004"
        assert "RETRACTED" in page.locator("#flag").inner_text()
        page.keyboard.press("i")
        assert page.locator("#allow").is_visible()
        assert "flagged retracted" in page.locator("#message").inner_text()
        page.fill("#note", "kept for the sensitivity analysis")
        page.click("#include-anyway")
        wait_saved(page, "R00004")
        row = load_log(project / "extracted" / "screening.csv",
                       reasons=ReviewFiles(project / "extracted").reasons)[3]
        assert row.decision == "include" and "kept for the sensitivity analysis" in row.notes
        # Skip the rest of title/abstract: the full texts come after them.
        for _ in range(22):
            rid = current_id(page)
            page.keyboard.press("e")
            wait_saved(page, rid)
        assert current_id(page) == "R00001" and "full text" in page.locator("#stage").inner_text()
        page.keyboard.press("e")
        assert "required at full text" in page.locator("#message").inner_text()
        page.keyboard.press("3")
        page.keyboard.press("e")
        wait_saved(page, "R00001")
        row = load_log(project / "extracted" / "screening.csv",
                       reasons=ReviewFiles(project / "extracted").reasons)[0]
        assert (row.stage, row.decision, row.reason) == ("full text", "exclude", "wrong study design")
    finally:
        page.close()


def test_blind_second_reviewer_and_the_conflicts_view_with_kappa(chromium, project, serve):
    main_server = serve(project, "AB")
    page = chromium.live_page(origin(main_server))
    try:
        page.goto(main_server.url)
        page.wait_for_selector("#card:not([hidden])")
        # AB includes R00001-R00003 and R00005, excludes R00004 (flagged) and R00006-R00008.
        screen_by_keyboard(page, 8, lambda i, rid: (["i"], "", "") if i in (0, 1, 2, 4)
                           else (["e"], "", ""))
    finally:
        page.close()
    second = serve(project, "CD", "cd")
    page = chromium.live_page(origin(second))
    try:
        page.goto(second.url)
        page.wait_for_selector("#card:not([hidden])")
        # Blind: the first record is offered pending although the main log decided it.
        assert current_id(page) == "R00001"
        assert page.locator("#progress").inner_text().startswith("0 of 26 decided")
        assert "Conflicts" not in page.locator("nav").inner_text()
        seen = set()
        # CD includes R00001-R00002 and R00005-R00006, excludes R00003-R00004 and R00007-R00008.
        def plan(i, rid):
            seen.add(rid)
            return (["i"], "", "") if i in (0, 1, 4, 5) else (["e"], "", "")
        screen_by_keyboard(page, 8, plan)
        assert seen == {f"R0000{n}" for n in range(1, 9)}
        assert page.goto(second.url + "conflicts").status == 403
    finally:
        page.close()
    files = ReviewFiles(project / "extracted")
    pairs = agreement_pairs(files.load_log(), files.load_log(files.extracted / "screening-cd.csv"))
    assert len(pairs) == 8 and sum(a == b for a, b in pairs) == 6
    # Both include 3, both exclude 3, one each way: p_o = 6/8; each includes 4 of 8, so
    # p_e = .5 * .5 + .5 * .5 = .5; kappa = (.75 - .5) / (1 - .5) = .5.
    assert cohens_kappa(pairs) == pytest.approx(0.5, abs=1e-12)
    page = chromium.live_page(origin(main_server))
    try:
        page.goto(main_server.url + "conflicts")
        text = page.locator("main").inner_text()
        assert "Cohen's κ = 0.50" in text and "decisions made by both: 8; agreed on 6" in text
        rows = page.locator("table.conflicts tbody tr")
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(rows.count())] == \
            ["R00003", "R00006"]
    finally:
        page.close()


def test_hostile_record_text_is_shown_as_text_and_runs_nothing(chromium, project, serve):
    server = serve(project, "AB")
    page = chromium.live_page(origin(server))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(server.url)
        page.wait_for_selector("#card:not([hidden])")
        for _ in range(5):
            rid = current_id(page)
            page.keyboard.press("m")
            wait_saved(page, rid)
        assert current_id(page) == "R00006"
        page.wait_for_timeout(200)
        assert page.evaluate("typeof window.__xss") == "undefined"
        assert page.evaluate("document.querySelectorAll('img, svg, main script').length") == 0
        assert dialogs == []
        assert page.locator("#title").inner_text() == "Hostile title " + HOSTILE
        assert page.locator("#abstract").inner_text() == "Hostile abstract " + HOSTILE
        assert page.locator("#journal").inner_text() == "Hostile journal " + HOSTILE
        assert ("Hostile MeSH " + HOSTILE) in page.locator("#mesh").inner_text()
        page.keyboard.press("m")   # decide it; then the conflicts view shows it from a second file
        wait_saved(page, "R00006")
    finally:
        page.close()
    second = load_log(project / "extracted" / "screening.csv",
                      reasons=ReviewFiles(project / "extracted").reasons)
    from evsynth.screening.log import save_log
    save_log(project / "extracted" / "screening-xy.csv",
             [dataclasses.replace(e, decision="exclude", reviewer="XY", date="2025-03-05")
              for e in second[5:6]])
    page = chromium.live_page(origin(server))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        page.goto(server.url + "conflicts")
        assert "Hostile title " + HOSTILE in page.locator("table.conflicts").inner_text()
        assert page.evaluate("typeof window.__xss") == "undefined" and dialogs == []
    finally:
        page.close()


def test_page_offers_records_in_ranked_order(tmp_path):
    """With the default ``[screening] order = "ranked"``, the page's queue is the ranking's order."""
    from evsynth.screening.log import decide, load_log, save_log
    from evsynth.prioritise.pending import rank_pending, record_texts

    root = make_project(tmp_path / "review", corpus(26))
    files = ReviewFiles(root / "extracted")
    entries = load_log(files.screening)
    entries = decide(entries, entries[0].record_id, "include", reviewer="A", date="2025-03-04")
    entries = decide(entries, entries[1].record_id, "exclude", reviewer="A", date="2025-03-04")
    save_log(files.screening, entries)
    session = ScreeningSession.open(files, "A", clock=lambda: "2025-03-04")
    ranked = rank_pending(load_log(files.screening), record_texts(session.records.values()), 0)
    queue = [e.record_id for e in session.queue() if e.decision == "pending"]
    assert queue == ranked[:len(queue)] and len(queue) == 24
    assert queue != sorted(queue)  # the ranking, not the log's order
