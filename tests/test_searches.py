"""Search dates for the page header: the newest finished run of each query, read defensively."""

from __future__ import annotations

import json
from pathlib import Path

from evsynth.cli.main import main
from evsynth.search.search_dates import latest_runs


def manifest(name: str, searched: str, count: int, **extra) -> dict:
    """A manifest shaped as the harvester writes it (query as an object)."""
    return {"format": 1, "query": {"name": name, "version": "1"}, "count": count, "records": count,
            "searched_utc": searched, "started_utc": searched, "finished_utc": searched.replace(":00Z", ":09Z"),
            "mindate": "2000/01/01", "maxdate": "2026/11/01", **extra}


def write_run(root: Path, query: str, stamp: str, content: dict | str | None) -> Path:
    folder = root / "queries" / "runs" / query / stamp
    folder.mkdir(parents=True)
    if content is not None:
        text = content if isinstance(content, str) else json.dumps(content)
        (folder / "manifest.json").write_text(text, encoding="utf-8")
    return folder


def test_no_queries_folder_means_no_searches(tmp_path):
    assert latest_runs(tmp_path) == ()


def test_newest_usable_run_of_each_query(tmp_path):
    write_run(tmp_path, "lrt", "20261101T100000Z", manifest("lrt", "2026-11-01T10:00:00Z", 120))
    write_run(tmp_path, "lrt", "20261120T080000Z", manifest("lrt", "2026-11-20T08:00:00Z", 131))
    write_run(tmp_path, "lrt", "20261120T080000Z-2", manifest("lrt", "2026-11-20T08:00:30Z", 132))
    write_run(tmp_path, "lrt", "20261125T090000Z", None)  # unfinished: no manifest yet
    write_run(tmp_path, "lrt", "20261125T100000Z", "{not json")  # malformed: ignored
    write_run(tmp_path, "mtc", "20261002T000000Z", {"query": "mtc", "count": 7, "started_utc": "2026-10-02T00:00:00Z",
                                                    "finished_utc": "2026-10-02T00:00:05Z"})
    write_run(tmp_path, "odd", "20261003T000000Z", ["a", "list"])  # not an object
    write_run(tmp_path, "dateless", "20261003T000000Z", {"query": "dateless", "count": 3})
    runs = latest_runs(tmp_path)
    assert [r.query for r in runs] == ["lrt", "mtc"]
    lrt, mtc = runs
    assert (lrt.folder, lrt.searched_utc, lrt.count) == (
        "queries/runs/lrt/20261120T080000Z-2", "2026-11-20T08:00:30Z", 132)
    assert (lrt.mindate, lrt.maxdate) == ("2000/01/01", "2026/11/01")
    assert (mtc.searched_utc, mtc.finished_utc, mtc.count, mtc.records) == (
        "2026-10-02T00:00:00Z", "2026-10-02T00:00:05Z", 7, None)


def test_wrongly_typed_fields_are_left_out(tmp_path):
    write_run(tmp_path, "q", "20261101T000000Z", {"query": {"name": 5}, "count": "many", "records": True,
                                                  "searched_utc": ["2026"], "finished_utc": "2026-11-01T00:00:09Z"})
    (run,) = latest_runs(tmp_path)
    assert (run.query, run.count, run.records, run.searched_utc, run.finished_utc) == (
        "q", None, None, "", "2026-11-01T00:00:09Z")


def test_build_shows_search_dates_and_survives_broken_manifests(project):
    write_run(project, "thyroid_lrt", "20261120T080000Z", manifest("thyroid_lrt", "2026-11-20T08:00:00Z", 131))
    write_run(project, "broken", "20261121T080000Z", "\x00garbage")
    (project / "queries" / "runs" / "stray-file.txt").write_text("not a query folder")
    assert main(["build", "--root", str(project)]) == 0
    html = (project / "reports" / "review.html").read_text(encoding="utf-8")
    header = html[html.index("<header>"):html.index("</header>")]
    assert "<strong>thyroid_lrt</strong> searched 2026-11-20T08:00:00Z" in header
    assert "131 records found" in header and "broken" not in header
    assert 'title="Source: queries/runs/thyroid_lrt/20261120T080000Z/manifest.json"' in header


def test_reads_what_the_harvester_writes(eutils_server, fast_client, tmp_path):
    """A real harvest run (against the loopback E-utilities server) is found and read back."""
    from tests.support.eutils_server import make_corpus

    from evsynth.search.harvest import SearchSpec, new_run_dir, run_query
    from evsynth.core.project import Project

    server = eutils_server(make_corpus(30), rate_limit=None)
    spec = SearchSpec(term="thyroid[tiab]", query_name="thyroid_lrt", query_version=2,
                      mindate="2000/01/01", maxdate="2026/11/01")
    run_dir = new_run_dir(Project(tmp_path).runs, "thyroid_lrt")
    result = run_query(fast_client(server), spec, run_dir)
    (run,) = latest_runs(tmp_path)
    assert run.query == "thyroid_lrt" and run.folder == run_dir.relative_to(tmp_path).as_posix()
    assert run.count == result.manifest["count"] > 0 and run.records == result.manifest["records"] == len(result.records)
    assert run.searched_utc == result.manifest["searched_utc"] and run.searched_utc.endswith("Z")
    assert run.finished_utc == result.manifest["finished_utc"]
    assert (run.mindate, run.maxdate) == ("2000/01/01", "2026/11/01")
