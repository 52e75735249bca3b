"""Versions of the review: review.toml's [[versions]], studies' added_in, claims per version, releases."""

from __future__ import annotations

import csv
import json
import tomllib
from pathlib import Path

import pytest

from evsynth.screening.known import previous_from_rows
from evsynth.screening.files import ReviewFiles
from evsynth.review.load import read_studies
from evsynth.cli.main import main
from evsynth.core.errors import EvsynthError
from evsynth.core.settings import VersionSpec, append_version, load_settings
from evsynth.report import release as release_module
from evsynth.report.release import release
from evsynth.review.claims import verify_claims
from evsynth.review.load import load_review, validate
from evsynth.screening.prisma import review_prisma_counts
from tests.support.living_helpers import decided, entry
from evsynth.screening.log import save_log

SEED = ["S8", "S11", "S12", "S13"] + [f"S{n}" for n in range(16, 29)]
NEW_STUDY = "S29,,Newauthor,Newauthor et al.,2024,,,,,,yes,,,2026-12,complete,,\n"
NEW_COHORT = ("C29,S29,19,RFA,assigned,percutaneous,MTC,2,2,0,0,0,0,single,value,20,,,,not reported,,"
              "reported,yes,0,1,1,0,0,0,none,not stated,no,\n")


def append(project: Path, sheet: str, line: str) -> None:
    with open(project / "extracted" / sheet, "a", encoding="utf-8") as f:
        f.write(line)


def width(project: Path, sheet: str) -> int:
    """The number of columns of a sheet of *project* (its header)."""
    with open(project / "extracted" / sheet, newline="", encoding="utf-8") as f:
        return len(next(csv.reader(f)))


def edit_cells(path: Path, key: str, values: dict[str, str]) -> None:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    for row in rows[1:]:
        if row[0] == key:
            for column, value in values.items():
                row[rows[0].index(column)] = value
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


# ------------------------------------------------------------------ review.toml

def test_the_bundled_review_names_the_seed_version_with_its_17_studies():
    settings = load_settings(Path(__file__).parents[1])
    seed = settings.seed_version
    assert seed is not None and settings.versions[0] == seed
    assert [v.name for v in settings.versions] == ["2021", "2026-12"]  # the first update, released
    assert (seed.name, seed.date, seed.doi) == ("2021", "2021", "10.1007/s12029-021-00646-6")
    assert "J Gastrointest Cancer 2021;52(3):823-832" in seed.citation
    assert sorted(seed.studies) == sorted(SEED)


@pytest.mark.parametrize("table, message", [
    ('versions = "2021"', "must be tables"),
    ('[[versions]]\nname = "2021"\nstudies = []', r"versions\[1\]: missing date"),
    ('[[versions]]\nname = "a b"\ndate = "2021"\nstudies = []', "use letters, digits"),
    ('[[versions]]\nname = "v"\ndate = "21/12/2026"\nstudies = []', "must be YYYY, YYYY-MM or YYYY-MM-DD"),
    ('[[versions]]\nname = "v"\ndate = "2021"\nstudies = "S1"', "studies must be a list of study ids"),
    ('[[versions]]\nname = "v"\ndate = "2021"\nstudies = ["S1", "S1"]', "lists a study twice"),
    ('[[versions]]\nname = "v"\ndate = "2021"\nstudies = []\ncolour = "red"', "unknown key 'colour'"),
    ('[[versions]]\nname = "v"\ndate = "2022"\nstudies = []\n[[versions]]\nname = "v"\ndate = "2023"\nstudies = []',
     "already the name of an earlier version"),
    ('[[versions]]\nname = "a"\ndate = "2022-05"\nstudies = []\n[[versions]]\nname = "b"\ndate = "2021"\nstudies = []',
     "earlier than the previous version"),
])
def test_bad_versions_are_one_line_errors(tmp_path, table, message):
    (tmp_path / "review.toml").write_text(table)
    with pytest.raises(EvsynthError, match=message):
        load_settings(tmp_path)


def test_append_version_keeps_the_file_and_reads_back(project):
    before = (project / "review.toml").read_bytes()
    spec = VersionSpec("2026-12", "2026-12-15", ("S8", "S29"), citation='An "update"\nof it', figures="versions/2026-12.json")
    append_version(project, spec)
    after = (project / "review.toml").read_bytes()
    assert after.startswith(before)
    assert load_settings(project).versions[-1] == spec


# ------------------------------------------------------------------ added_in and claims' versions

def test_a_study_added_after_the_seed_needs_no_reference_and_breaks_no_seed_claim(project):
    statuses = {c.claim_id: (c.status, c.computed) for c in verify_claims(load_review(project))}
    append(project, "studies.csv", NEW_STUDY)
    append(project, "cohorts.csv", NEW_COHORT)
    review = load_review(project)
    assert len(review.studies) == 18 and review.seed_version == "2021"
    results = verify_claims(review)
    assert {c.claim_id: (c.status, c.computed) for c in results} == statuses
    assert {c.version for c in results} == {"2021"}
    seed = review.version_review("2021")
    assert "S29" not in set(seed.studies["study_id"]) and "C29" not in set(seed.cohorts["cohort_id"])
    assert int(review.cohorts["n_patients"].sum()) == 77 and int(seed.cohorts["n_patients"].sum()) == 75
    assert len(seed.adverse_events) == len(review.adverse_events)  # the seed's events all stay


def test_changing_a_seed_value_a_claim_depends_on_still_fails(project, capsys):
    append(project, "studies.csv", NEW_STUDY)
    append(project, "cohorts.csv", NEW_COHORT)
    edit_cells(project / "extracted" / "cohorts.csv", "C19", {"resp_pr": "0", "resp_sd": "1"})
    assert main(["verify", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "L26  differs" in out and "(paper 2, sheets 1)  REGRESSION" in out


def test_a_claim_may_name_a_later_version(project, capsys):
    """A claims.csv with the optional 'version' column: each claim on its version's studies."""
    path = project / "extracted" / "claims.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[0].append("version")
    for row in rows[1:]:
        row.append("2021" if row[0] == "L02" else "")
    rows.append(["V01", "Update 2026-12", "77 patients", "sum(cohorts.n_patients)", "77", "equal", "", "reproduced", "after S29",
                 "2026-12"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    append(project, "studies.csv", NEW_STUDY)
    append(project, "cohorts.csv", NEW_COHORT)
    assert [str(p) for p in validate(project)] == [
        f"extracted/claims.csv:{len(rows)}:version: '2026-12' is not a version of review.toml (it names: 2021)"]
    append_version(project, VersionSpec("2026-12", "2026-12-15", tuple(SEED) + ("S29",)))
    results = {c.claim_id: c for c in verify_claims(load_review(project))}
    assert (results["L02"].version, results["L02"].computed, results["L02"].status) == ("2021", "75", "reproduced")
    assert (results["V01"].version, results["V01"].computed, results["V01"].status) == ("2026-12", "77", "reproduced")
    assert results["L03"].version == "2021"


@pytest.mark.parametrize("change, expected", [
    (lambda p: edit_cells(p / "extracted" / "studies.csv", "S11", {"added_in": ""}),
     "extracted/studies.csv:3:added_in: name the version that added S11 (review.toml names: 2021; "
     "or the name of the next version)"),
    (lambda p: (append(p, "studies.csv", NEW_STUDY.replace("2026-12", "2021")), append(p, "cohorts.csv", NEW_COHORT)),
     "extracted/studies.csv:19:added_in: S29 is not among the studies of version 2021 in review.toml; "
     "a study added since then names the next version"),
    (lambda p: (append(p, "studies.csv", NEW_STUDY), append(p, "cohorts.csv", NEW_COHORT),
                append(p, "studies.csv", NEW_STUDY.replace("S29", "S30").replace("2026-12", "2027-01")),
                append(p, "cohorts.csv", NEW_COHORT.replace("C29,S29,19", "C30,S30,20"))),
     "extracted/studies.csv:20:added_in: '2027-01' is not a version of review.toml (2021), and the next version "
     "is already called '2026-12': one version is prepared at a time"),
    (lambda p: (p / "review.toml").write_text((p / "review.toml").read_text().replace('"S28"]', '"S28", "S99"]')),
     "review.toml:0:versions.2021: lists S99, which studies.csv does not have"),
])
def test_versions_and_sheets_must_agree(project, change, expected):
    change(project)
    assert [str(p) for p in validate(project)] == [expected]


# ------------------------------------------------------------------ awaiting extraction

def test_an_incomplete_study_is_set_aside_and_its_blanks_listed(project, capsys):
    append(project, "studies.csv", "S29,,Rossi,Rossi et al.,2026,33000001,,,,,,,,2026-12,incomplete,R00001,\n")
    append(project, "cohorts.csv", "C29,S29,19,TARE" + "," * (width(project, "cohorts.csv") - 4) + "\n")
    append(project, "adverse_events.csv", "AE29-1,C29" + "," * (width(project, "adverse_events.csv") - 2) + "\n")
    review = load_review(project)
    assert len(review.studies) == 17 and "C29" not in set(review.cohorts["cohort_id"])
    assert "AE29-1" not in set(review.adverse_events["ae_id"])
    [waiting] = review.awaiting
    items = [str(p) for p in waiting.to_curate]
    assert "extracted/cohorts.csv:20:n_patients: to curate for S29 (added in 2026-12)" in items
    assert "extracted/cohorts.csv:20:lrt:" not in " ".join(items)  # what is typed is not asked again
    assert "extracted/adverse_events.csv:26:event: to curate for S29 (added in 2026-12)" in items
    assert items[-1].startswith("extracted/studies.csv:19:extraction: to curate for S29 (added in 2026-12): set 'complete'")
    assert main(["validate", "--root", str(project)]) == 0
    # a value typed wrongly in a row being curated is still a problem
    edit_cells(project / "extracted" / "cohorts.csv", "C29", {"n_patients": "eight"})
    assert main(["validate", "--root", str(project)]) == 1
    out = capsys.readouterr().out
    assert "extracted/cohorts.csv:20:n_patients: 'eight' must be a whole number >= 1" in out
    # marked complete, the blanks are problems again
    edit_cells(project / "extracted" / "cohorts.csv", "C29", {"n_patients": ""})
    edit_cells(project / "extracted" / "studies.csv", "S29", {"extraction": "complete"})
    assert "extracted/cohorts.csv:20:n_patients: required value is empty" in [str(p) for p in validate(project)]


def test_extract_refuses_what_it_cannot_do(project, capsys):
    run = lambda *a: main(["extract", *a, "--root", str(project)])  # noqa: E731
    assert run("R00001") == 1
    assert "extracted/screening.csv: no screening log yet" in capsys.readouterr().err
    save_log(project / "extracted" / "screening.csv",
             [decided(1, "include", stage="full text", first_author="Ito K", pmid="33000009"), entry(2)])
    assert run("R00009") == 1
    assert "no record 'R00009' in the screening log" in capsys.readouterr().err
    assert run("R00001", "--version", "2021") == 1
    assert "version 2021 is already published (review.toml)" in capsys.readouterr().err
    assert run("R00001", "--today", "2026-07-02") == 0
    out = capsys.readouterr().out
    assert "S29 added to extracted/studies.csv (row 19) from R00001, PMID 33000009: added in 2026-07" in out
    assert "C29 added to extracted/cohorts.csv (row 20)" in out
    edit_cells(project / "extracted" / "studies.csv", "S29", {"extraction": "complete"})
    assert run("R00001") == 1
    assert "R00001 is already in the review as S29 (extracted/studies.csv row 19)" in capsys.readouterr().err
    # a studies.csv whose header predates the columns extract fills (they are optional in sheets.toml)
    path = project / "extracted" / "studies.csv"
    with open(path, newline="", encoding="utf-8") as f:
        rows = [row[:13] for row in csv.reader(f)][:-1]
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    assert run("R00001") == 1
    assert ("extracted/studies.csv:1: no column added_in, extraction, record_id: add them to the header"
            in capsys.readouterr().err)


# ------------------------------------------------------------------ release

def test_release_refuses_unfinished_or_mislabelled_studies(project):
    append(project, "studies.csv", NEW_STUDY.replace("complete", "incomplete"))
    append(project, "cohorts.csv", NEW_COHORT)
    with pytest.raises(EvsynthError, match=r"awaiting extraction: S29 \(extracted/studies.csv row 19, 1 to curate\)"):
        release(project, "2026-12", date="2026-12-15")
    edit_cells(project / "extracted" / "studies.csv", "S29", {"extraction": "complete"})
    with pytest.raises(EvsynthError, match="extracted/studies.csv:19:added_in: S29 is added in '2026-12', "
                                           "not in the version being released \\('2027-01'\\)"):
        release(project, "2027-01", date="2027-01-15")
    with pytest.raises(EvsynthError, match="--date 2020-01-01 is earlier than version 2021"):
        release(project, "2026-12", date="2020-01-01")
    assert not (project / "versions").exists()


def test_a_release_stopped_before_review_toml_is_made_again(project, monkeypatch):
    append(project, "studies.csv", NEW_STUDY)
    append(project, "cohorts.csv", NEW_COHORT)
    toml = (project / "review.toml").read_bytes()

    def killed(root, spec):
        raise KeyboardInterrupt
    monkeypatch.setattr(release_module, "append_version", killed)
    with pytest.raises(KeyboardInterrupt):
        release(project, "2026-12", date="2026-12-15")
    assert (project / "versions" / "2026-12.json").is_file() and (project / "review.toml").read_bytes() == toml
    assert [v.name for v in load_settings(project).versions] == ["2021"]  # not a version until review.toml names it
    monkeypatch.undo()
    done = release(project, "2026-12", date="2026-12-15", citation="Living update 1")
    assert done.added == ("S29",) and done.previous == "2021"
    data = json.loads((project / "versions" / "2026-12.json").read_text())
    assert data["sheet_sha256"] == done.version.sheet_sha256 and data["citation"] == "Living update 1"
    assert data["counts"]["literature"]["patients"] == 77 and data["figures"]["studies"]["S29"] == "Newauthor et al. 2024"
    versions = tomllib.loads((project / "review.toml").read_text())["versions"]
    assert versions[1]["studies"][-1] == "S29" and versions[1]["figures"] == "versions/2026-12.json"
    (project / "versions" / "2026-12.json").write_text("{}")
    with pytest.raises(EvsynthError, match=r"versions/2026-12.json \(version 2026-12 of review.toml\): not a release file"):
        from evsynth.report.compute import compute
        compute(project)


# ------------------------------------------------------------------ PRISMA from the versions

def _prisma(project, **options):
    """The PRISMA counts as the build computes them (studies.csv by the sheet engine, the logs once;
    the bundled review has its own case series)."""
    entries, merges = ReviewFiles(project / "extracted").load()
    return review_prisma_counts(previous_from_rows(read_studies(project)), entries, merges,
                                own_series=True, **options)


def test_prisma_previous_version_and_the_records_settled_by_a_release(project):
    ext = project / "extracted"
    save_log(ext / "screening.csv", [decided(1, "include", stage="full text"), decided(2, "exclude", reason="wrong population"),
                                     entry(3), decided(4, "include")])
    seed = _prisma(project, previous_version=SEED)
    assert (seed.previous_studies, seed.new_studies, seed.total_studies) == (18, 1, 19)
    assert seed.previous_detail == ("17 published studies + the authors' case series",)
    after = _prisma(project, previous_version=SEED + ["S29"], released="2026-12",
                                 settled_records=["R00001", "R00002"])
    assert (after.previous_studies, after.new_studies, after.total_studies) == (19, 0, 19)
    assert after.databases.identified == {"pubmed": 2}  # R00003 (pending) and R00004 (awaiting full text)
    assert (after.databases.awaiting_screening, after.databases.awaiting_assessment) == (1, 1)
    assert after.previous_detail == ("18 studies of version 2026-12 + the authors' case series",) and not after.notes


def test_a_new_blank_project_extracts_a_study_from_its_screening_log(tmp_path, capsys):
    root = tmp_path / "review"
    assert main(["init", str(root), "--template", "blank"]) == 0
    save_log(root / "extracted" / "screening.csv",
             [decided(1, "include", stage="full text", first_author="Ito K", authors="Ito K; Sato Y", pmid="123")])
    capsys.readouterr()
    assert main(["extract", "R00001", "--today", "2026-07-01", "--root", str(root)]) == 0
    assert "S1 added to extracted/studies.csv (row 2) from R00001, PMID 123: added in 2026-07" in capsys.readouterr().out
    assert main(["validate", "--root", str(root)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "extracted/studies.csv:2:extraction: to curate for S1 (added in 2026-07): set 'complete' once every row "
        "of the study is curated",
        "extracted/: all sheets valid; awaiting extraction: S1 (1 to curate)"]


def test_release_lists_records_still_to_screen_and_needs_a_note_to_go_ahead(project, capsys):
    """A version released while records wait in the log says so; without --allow-unscreened and a note it is refused."""
    append(project, "studies.csv", NEW_STUDY)
    append(project, "cohorts.csv", NEW_COHORT)
    save_log(project / "extracted" / "screening.csv",
             [decided(1, "include", stage="full text"), entry(2), entry(3), decided(4, "include")])
    assert main(["release", "2026-12", "--date", "2026-12-15", "--root", str(project)]) == 1
    err = capsys.readouterr().err
    assert ("3 record(s) of extracted/screening.csv still to screen: 2 at title/abstract (R00002, R00003); "
            "1 at full text (R00004)") in err and "--allow-unscreened" in err
    assert not (project / "versions").exists()
    assert main(["release", "2026-12", "--date", "2026-12-15", "--allow-unscreened", "--root", str(project)]) == 1
    assert "--allow-unscreened needs --note" in capsys.readouterr().err
    assert main(["release", "2026-12", "--date", "2026-12-15", "--allow-unscreened",
                 "--note", "records found after the cut-off; screened for the next version", "--root", str(project)]) == 0
    assert "released with 3 record(s) still to screen (records found after the cut-off" in capsys.readouterr().out
    data = json.loads((project / "versions" / "2026-12.json").read_text())
    assert data["screening"]["unscreened"] == ["R00002", "R00003", "R00004"]
    assert data["screening"]["unscreened_note"].startswith("records found after the cut-off")


def test_a_page_whose_sheets_are_the_newest_release_is_compared_with_the_version_before_it():
    from evsynth.core.settings import ReviewSettings, VersionSpec
    from evsynth.report.compute import compared_version
    seed = VersionSpec("2021", "2021", ("S1",))
    update = VersionSpec("2026-12", "2026-12-03", ("S1", "S2"), sheet_sha256="abc", figures="versions/2026-12.json")
    settings = ReviewSettings(versions=(seed, update))
    assert compared_version(settings, "abc") is seed        # the page is version 2026-12: what it added since 2021
    assert compared_version(settings, "def") is update      # sheets changed since the release: since 2026-12
    assert compared_version(settings, "abc", settled=False) is update  # new records since the release: since 2026-12
    assert compared_version(ReviewSettings(versions=(update,)), "abc") is update  # no version before it
    assert compared_version(ReviewSettings(), "abc") is None


def test_the_bundled_review_released_as_2026_12_shows_what_it_added_since_2021():
    import json
    from tests.conftest import REPO
    html = (REPO / "reports" / "review.html").read_text(encoding="utf-8")
    assert "Since the 2021 version" in html
    for citation in ("Puleo et al. 2022", "Kim et al. 2022", "Herchuelz et al. 2020"):
        assert citation in html
    counts = json.loads((REPO / "reports" / "counts.json").read_text(encoding="utf-8"))
    assert counts["versions"]["2021"]["literature"]["patients"] == 75
    assert counts["versions"]["2026-12"]["literature"]["patients"] == counts["current"]["literature"]["patients"] == 85
