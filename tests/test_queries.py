"""Query files: the seed strategy loads; mistakes are one clear line naming the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evsynth.core.errors import EvsynthError
from evsynth.search.queries import find_query, load_queries, load_query, parse_pubmed_date, term_problem

QUERIES = Path(__file__).resolve().parents[1] / "queries"


def test_seed_query_is_documented():
    (seed,) = [q for q in load_queries(QUERIES) if q.name == "seed-lrt-thyroid-liver"]
    assert seed.database == "pubmed" and seed.version >= 1
    for block in ('"Thyroid Neoplasms"[mh]', '"Liver Neoplasms/secondary"[mh]', "TACE[tiab]",
                  "RFA[tiab]", '"loco-regional treatment"[tiab]', '"loco-regional therapy"[tiab]',
                  "english[la]"):
        assert block in seed.term
    assert seed.term.count(") AND (") == 2
    assert seed.rationale and seed.source
    assert term_problem(seed.term) == ""


@pytest.mark.parametrize("text, message", [
    ('name = "q"\nterm = ', "not valid TOML"),
    ('name = "other"\nterm = "x"', "field 'name': 'other' must equal the file name 'q'"),
    ('name = "q"', "field 'term': required"),
    ('name = "q"\nterm = "(a"', "field 'term': unbalanced parentheses"),
    ('name = "q"\nterm = "a"\ndatetype = "xdat"', "field 'datetype': must be one of"),
    ('name = "q"\nterm = "a"\nmindate = "2020/02/30"', "field 'mindate': '2020/02/30' is not a"),
    ('name = "q"\nterm = "a"\nlanguage = ["english"]', "field 'language': 'english' is not in"),
    ('name = "q"\nterm = "a"\nversion = 0', "field 'version': must be a positive integer"),
    ('name = "q"\nterm = "a"\nterms = "b"', "field 'terms': unknown field"),
])
def test_bad_query_files(tmp_path, text, message):
    path = tmp_path / "q.toml"
    path.write_text(text)
    with pytest.raises(EvsynthError) as err:
        load_query(path)
    assert str(err.value).startswith(f"{path}: ")
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_find_query_lists_known_names(tmp_path):
    (tmp_path / "a.toml").write_text('name = "a"\nterm = "x"\n')
    with pytest.raises(EvsynthError, match=r"no such query \(known: a\)"):
        find_query(tmp_path, "b")


def test_dates():
    assert str(parse_pubmed_date("2020", end=False)) == "2020-01-01"
    assert str(parse_pubmed_date("2020", end=True)) == "2020-12-31"
    assert str(parse_pubmed_date("2020/02", end=True)) == "2020-02-29"
    assert str(parse_pubmed_date("2020/12", end=True)) == "2020-12-31"
    assert parse_pubmed_date("", end=True) is None
