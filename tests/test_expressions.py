"""The expression language over the sheets (evsynth.sheets.expressions): grammar, values, checks, hostile input."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evsynth.sheets import expressions as ex
from evsynth.sheets.expressions import (MAX_DEPTH, MAX_LENGTH, Condition, ExpressionError, SheetData, check,
                                        parse_condition, parse_expression, typed_row)
from evsynth.sheets.spec import parse_sheet_set

SPEC = parse_sheet_set("""
[vocabularies]
arm = ["A", "B", "C"]
yes_no = ["yes", "no"]

[sheets.studies]
id = "study_id"
columns = [
  { name = "study_id", required = true },
  { name = "ref", type = "int" },
  { name = "design", type = "choice", values = ["cohort", "case series"] },
  { name = "country" },
]

[sheets.arms]
id = "arm_id"
columns = [
  { name = "arm_id", required = true },
  { name = "study_id", required = true, ref = "studies.study_id" },
  { name = "treatment", type = "combination", values = "arm" },
  { name = "n", type = "int" },
  { name = "events", type = "int" },
  { name = "size_mm", type = "number" },
  { name = "size_max_mm", type = "number" },
  { name = "mixed", type = "choice", values = "yes_no" },
  { name = "n odd-ones", type = "int", optional = true },
]

[sheets.harms]
columns = [
  { name = "arm_id", required = true, ref = "arms.arm_id" },
  { name = "event", required = true },
  { name = "patients", type = "int" },
]

[sheets.people]
id = "person_id"
columns = [ { name = "person_id", required = true } ]

[sheets.visits]
columns = [
  { name = "person_id", required = true, ref = "people.person_id" },
  { name = "sequence", type = "int" },
  { name = "status" },
]
""", "test.toml")

STUDIES = [
    {"study_id": "S1", "ref": 11, "design": "cohort", "country": "Italy"},
    {"study_id": "S2", "ref": 12, "design": "case series", "country": None},
    {"study_id": "S3", "ref": None, "design": "cohort", "country": "France"},
]
ARMS = [
    {"arm_id": "A1", "study_id": "S1", "treatment": "A", "n": 10, "events": 4, "size_mm": 20.0,
     "size_max_mm": None, "mixed": "no", "n odd-ones": 1},
    {"arm_id": "A2", "study_id": "S1", "treatment": "A+B", "n": 5, "events": 5, "size_mm": None,
     "size_max_mm": 70.0, "mixed": "no", "n odd-ones": 2},
    {"arm_id": "A3", "study_id": "S2", "treatment": "B;C", "n": 8, "events": 0, "size_mm": 45.5,
     "size_max_mm": None, "mixed": "yes", "n odd-ones": None},
    {"arm_id": "A4", "study_id": "S3", "treatment": "C", "n": 3, "events": None, "size_mm": 12.0,
     "size_max_mm": None, "mixed": "no", "n odd-ones": None},
]
HARMS = [
    {"arm_id": "A1", "event": "Hypertensive crisis", "patients": 1, "_row": 2},
    {"arm_id": "A3", "event": "fever", "patients": None, "_row": 3},
    {"arm_id": "A2", "event": "hypertensive crisis with infarction", "patients": 2, "_row": 4},
]
PEOPLE = [{"person_id": "P1"}, {"person_id": "P2"}, {"person_id": "P3"}]
VISITS = [
    {"person_id": "P1", "sequence": 1, "status": "worse"},
    {"person_id": "P1", "sequence": 2, "status": "treated"},
    {"person_id": "P2", "sequence": 1, "status": "treated"},
    {"person_id": "P2", "sequence": 2, "status": "worse"},
    {"person_id": "P3", "sequence": 1, "status": "stable"},
]


@dataclass(frozen=True)
class Figures:
    estimate: float | None
    ci_lower: float | None
    ci_upper: float | None
    crude: float | None
    k: int


def data(outcomes=None) -> SheetData:
    rows = {"studies": STUDIES, "arms": ARMS, "harms": HARMS, "people": PEOPLE, "visits": VISITS}
    return SheetData(rows, SPEC, outcomes if outcomes is not None else
                     {"pr": Figures(41.25, 30.5, 52.75, 40.0, 7)})


def value(text: str, context: SheetData | None = None):
    expression = parse_expression(text)
    assert check(expression, SPEC, ["pr"]) == [], [str(p) for p in check(expression, SPEC, ["pr"])]
    return expression.evaluate(context or data())


def error(text: str, condition: bool = False) -> ExpressionError:
    with pytest.raises(ExpressionError) as caught:
        (parse_condition if condition else parse_expression)(text)
    return caught.value


# ---------------------------------------------------------------- aggregates

@pytest.mark.parametrize("text, expected", [
    ("count(studies)", 3),
    ("count(arms where n >= 5)", 3),
    ("count(arms where n > 5 and mixed == \"no\")", 1),
    ("count(arms where not (n > 5) or mixed == \"yes\")", 3),
    ("count(arms where n in [3, 10])", 2),
    ("count(arms where n not in [3, 10])", 2),
    ("count(arms where events is empty)", 1),
    ("count(arms where events is not empty)", 3),
    ("count(arms where events == 0)", 1),
    ("count(arms where events != 0)", 3),          # an empty cell equals nothing, so != is true for it
    ("count(arms where events < 100)", 3),         # an empty cell is never less or more than anything
    ("count(arms where treatment has \"A\")", 2),
    ("count(arms where treatment has \"C\")", 2),
    ("count(arms where treatment == \"A\")", 1),   # == compares the whole cell
    ("count(harms where event contains \"HYPERTENSIVE crisis\")", 2),
    ("count(arms where study_id.country == \"Italy\")", 2),
    ("count(arms where arms.n == 10)", 1),
    ("count(studies where country is empty)", 1),
    ("sum(arms.n)", 26),
    ("sum(arms.n where mixed == \"no\")", 18),
    ("sum(arms.n + arms.n)", 52),
    ("sum(arms.events where events is not empty)", 9),
    ("sum(arms.n where n > 100)", 0),
    ("min(arms.n)", 3),
    ("max(arms.n where study_id == \"S1\")", 10),
    ("max(arms.n where n > 100)", None),
    ("max(coalesce(arms.size_mm, arms.size_max_mm))", 70.0),
    ("min(arms.arm_id)", "A1"),
    ("one(arms.n where arm_id == \"A3\")", 8),
    ("values(100 * arms.events / arms.n where study_id == \"S1\")", (40.0, 100.0)),
    ("values(arms.n)", (10, 5, 8, 3)),
    ("distinct(arms.study_id)", frozenset({"S1", "S2", "S3"})),
    ("distinct(arms.study_id.ref where study_id.ref is not empty)", frozenset({11, 12})),
    ("distinct(harms.arm_id.study_id.ref where event contains \"hypertensive\")", frozenset({11})),
    ("distinct(arms.study_id, arms.mixed)", frozenset({("S1", "no"), ("S2", "yes"), ("S3", "no")})),
    ("top(1, arms.study_id by arms.n)", frozenset({"S1"})),
    ("top(2, arms.study_id by arms.n)", frozenset({"S1", "S2"})),
    ("top(1, arms.study_id)", frozenset({"S1"})),          # by rows
    ("count(`arms` where `n odd-ones` == 2)", 1),
    ("count(people where count(visits where person_id == people.person_id) > 1)", 2),
    ("count(people where max(visits.sequence where person_id == people.person_id and status == \"treated\")"
     " > min(visits.sequence where person_id == people.person_id and status == \"worse\"))", 1),
    ("count(studies) + 2 * 3", 9),
    ("(count(studies) + 2) * 3", 15),
    ("10 - 4 - 3", 3),
    ("12 / 4 / 3", 1.0),
    ("-count(studies)", -3),
    ("- -2", 2),
    ("count(studies) == 3", True),
    ("1.5", 1.5),
    ("'it''s'", None),
])
def test_values(text, expected):
    if text == "'it''s'":  # two texts side by side are not one expression
        assert "expected an operator" in error(text).message
        return
    assert value(text) == expected


def test_outcome_figures():
    assert value("pooled(pr)") == 41.25
    assert value("pooled(pr).ci_lower") == 30.5
    assert value("pooled(pr).ci_upper") == 52.75
    assert value("crude(pr)") == 40.0
    assert value("k(pr)") == 7
    assert value("pooled(\"pr\") - crude(pr)") == pytest.approx(1.25)
    assert value("pooled(`pr`)") == 41.25
    assert parse_expression("pooled(pr).ci_upper - k(orr)").outcomes == {"pr", "orr"}
    assert value("pooled(pr)", data({"pr": Figures(None, None, None, 12.5, 1)})) is None


def test_outcome_figures_come_from_a_function_called_once_per_key():
    calls = []

    def figures(key):
        calls.append(key)
        if key != "pr":
            raise KeyError(key)
        return Figures(50.0, 40.0, 60.0, 49.0, 3)

    context = data(figures)
    assert parse_expression("pooled(pr) + pooled(pr).ci_lower + k(pr)").evaluate(context) == 93.0
    assert calls == ["pr"]
    with pytest.raises(ExpressionError, match="no outcome 'orr' in the analysis plan"):
        parse_expression("crude(orr)").evaluate(context)


def test_precedence_and_binds_tighter_than_or_and_not_applies_to_one_comparison():
    rows = [{"a": 1, "b": 0, "c": 0}]
    c = parse_condition("a == 1 or b == 1 and c == 1")
    assert c.test(rows[0]) is True          # a == 1 or (b == 1 and c == 1)
    assert parse_condition("(a == 1 or b == 1) and c == 1").test(rows[0]) is False
    assert parse_condition("not a == 1 or b == 0").test(rows[0]) is True   # (not a == 1) or b == 0
    assert parse_condition("not (a == 1 or b == 0)").test(rows[0]) is False
    assert parse_condition("a + b * 2 == 1").test(rows[0]) is True
    assert parse_condition("a - -1 == 2").test(rows[0]) is True


def test_conditions_on_one_row():
    row = typed_row(SPEC.get("arms"), {"arm_id": "A9", "study_id": "S1", "treatment": "B+C", "n": "7",
                                       "events": "", "size_mm": "1.5", "size_max_mm": None, "mixed": "no"})
    assert row["n"] == 7 and row["events"] is None and row["size_mm"] == 1.5 and row["n odd-ones"] is None
    assert parse_condition("n >= 7 and events is empty and treatment has 'C'").test(row)
    assert not parse_condition("size_mm > 2").test(row)
    assert parse_condition('study_id.design == "cohort"').test(row, data(), "arms")
    assert parse_condition("count(arms where study_id == 'S1') == 2").test(row, data(), "arms")
    c = parse_condition("n > 1 and (events is empty or study_id.country == 'x') and count(harms) > 0")
    assert c.columns == {"n", "events", "study_id"}
    assert isinstance(c, Condition) and parse_expression("sum(arms.n) + count(harms)").sheets == {"arms", "harms"}


def test_a_reference_finds_its_row_whatever_the_two_columns_types():
    rows = {"a": [{"id": 7, "x": "seven"}], "b": [{"a_id": "7"}, {"a_id": None}]}
    spec = parse_sheet_set('[sheets.a]\ncolumns = [{ name = "id", type = "int" }, { name = "x" }]\n'
                           '[sheets.b]\ncolumns = [{ name = "a_id", ref = "a.id" }]\n')
    assert parse_expression("values(b.a_id.x where a_id is not empty)").evaluate(SheetData(rows, spec)) == ("seven",)
    assert parse_expression("count(b where a_id.x is empty)").evaluate(SheetData(rows, spec)) == 1
    rows["b"].append({"a_id": "8"})
    with pytest.raises(ExpressionError, match="b.a_id = '8' names no row of 'a'"):
        parse_expression("count(b where a_id.x == 'seven')").evaluate(SheetData(rows, spec))


def test_strings_numbers_and_names():
    assert value('"say \\"hi\\""') == 'say "hi"'
    assert value("'a\\\\b'") == "a\\b"
    assert value("'TACE' == \"TACE\"") is True
    assert value("2 == 2.0") is True
    assert parse_expression("'2' == 2").evaluate(data()) is False   # check() reports it; evaluation says no
    assert value("0.25 * 4") == 1.0


# ---------------------------------------------------------------- errors while evaluating

@pytest.mark.parametrize("text, message", [
    ("sum(harms.patients)", "sum(...): the value is empty in row 3 of 'harms' (leave such rows out"),
    ("values(arms.events)", "values(...): the value is empty in a row of 'arms'"),
    ("distinct(studies.ref)", "distinct(...): the value is empty"),
    ("one(arms.n where n > 4)", "one(...) needs exactly one row of 'arms', the condition picks 3"),
    ("one(arms.n where n > 40)", "one(...) needs exactly one row of 'arms', the condition picks 0"),
    ("top(1, arms.mixed by arms.events where events is not empty and study_id != 'S1')",
     None),  # S2 has 0 events, S3 is left out: no tie
    ("top(1, harms.event by harms.patients where patients is not empty and patients == 9)", None),
    ("count(arms) / (count(studies) - 3)", "division by zero"),
    ("sum(arms.n where 1 / (n - 10) > 0)", "division by zero"),
])
def test_evaluation_errors(text, message):
    expression = parse_expression(text)
    if message is None:
        expression.evaluate(data())
        return
    with pytest.raises(ExpressionError) as caught:
        expression.evaluate(data())
    assert caught.value.message.startswith(message)


def test_top_refuses_a_tie_at_the_cut():
    rows = {"arms": [dict(ARMS[0], study_id="S1", n=5), dict(ARMS[1], study_id="S2", n=5),
                     dict(ARMS[2], study_id="S3", n=1)]}
    context = SheetData(rows, SPEC)
    with pytest.raises(ExpressionError, match=r"top\(1, \.\.\.\): a tie at place 1 \(S1, S2: 5 each\)"):
        parse_expression("top(1, arms.study_id by arms.n)").evaluate(context)
    assert parse_expression("top(2, arms.study_id by arms.n)").evaluate(context) == {"S1", "S2"}


def test_runtime_type_errors_name_the_values():
    context = SheetData({"t": [{"x": "a", "y": 1}]})
    for text, message in [("sum(t.x)", "sum(...) adds numbers"), ("sum(t.x + t.y)", "'+' needs numbers"),
                          ("count(t where x < 2)", "'<' compares numbers or texts"),
                          ("count(t where y)", "a condition must be true or false"),
                          ("count(t where z == 1)", "unknown column 'z' of 't'"),
                          ("count(u)", "no sheet named 'u'"),
                          ("count(t where x.y == 1)", "t.x declares no reference"),
                          ("pooled(pr)", "no outcome 'pr' in the analysis plan")]:
        with pytest.raises(ExpressionError) as caught:
            parse_expression(text).evaluate(context)
        assert caught.value.message.startswith(message), (text, caught.value.message)


# ---------------------------------------------------------------- static check

@pytest.mark.parametrize("text, message, at", [
    ("count(trials)", "no sheet named 'trials' (sheets: studies, arms, harms, people, visits)", 6),
    ("sum(arms.patients)", "unknown column 'patients' of 'arms'", 4),
    ("count(arms where year > 2000)", "unknown column 'year' of 'arms'", 17),
    ("count(arms where study_id.year > 2000)", "unknown column 'year' of 'studies' (followed from study_id)", 17),
    ("count(arms where n.x == 1)", "arms.n declares no reference", 17),
    ("count(arms where treatment has 'D')", "'D' is not a value of treatment (A, B, C)", 31),
    ("count(arms where treatment == 'A+D')", "'D' is not a value of treatment", 30),
    ("count(arms where mixed in ['yes', 'maybe'])", "'maybe' is not a value of mixed (yes, no)", 34),
    ("count(arms where mixed == 1)", "'==' compares a text with a number", 23),
    ("count(studies where ref == '11')", "'==' compares a number with a text", 24),
    ("count(arms where n in [1, 'two'])", "the list holds a text for a number", 26),
    ("count(arms where n)", "'where' needs a condition, not a number", 17),
    ("count(arms where n has '1')", "'has' reads the items of a list cell", 19),
    ("count(arms where n contains '1')", "'contains' needs a text, not a number", 17),
    ("sum(arms.arm_id)", "sum(...) adds numbers, not a text", 4),
    ("sum(arms.n + arms.mixed)", "'+' needs a number, not a text", 13),
    ("pooled(orr)", "no outcome 'orr' in the analysis plan (outcomes: pr)", 0),
    ("count(visits where people.person_id == 'P1')", "unknown column 'people' of 'visits'", 19),
    ("top(1, arms.study_id by arms.mixed)", "the weight of top(...) needs a number, not a text", 24),
    ("coalesce(1, 'a')", "coalesce(...) mixes a number and a text", 0),
])
def test_check_finds_mistakes_before_evaluation(text, message, at):
    problems = check(parse_expression(text), SPEC, ["pr"])
    assert problems and problems[0].message.startswith(message), [p.message for p in problems]
    assert problems[0].offset == at, problems[0]
    assert str(problems[0]) == f"{problems[0].message} (at character {at + 1})"


def test_check_of_conditions():
    assert check(parse_condition("n > 1 and study_id.design == 'cohort'"), SPEC, sheet="arms") == []
    assert [p.message for p in check(parse_condition("n + 1"), SPEC, sheet="arms")] == \
        ["not a condition: it gives a number (compare it: ==, <, in [...], is empty)"]
    assert [p.message for p in check(parse_condition("n > 1"), SPEC, sheet="nope")] == ["no sheet named 'nope'"]
    problems = check(parse_condition("year > 1 or colour == 'red'"), SPEC, sheet="arms")
    assert [p.message for p in problems] == ["unknown column 'year' of 'arms'", "unknown column 'colour' of 'arms'"]
    # a correlated name reaches the row an enclosing aggregate tests
    assert check(parse_condition("count(arms where study_id == studies.study_id) > 0"), SPEC, sheet="studies") == []


# ---------------------------------------------------------------- syntax errors and hostile input

@pytest.mark.parametrize("text, message, at", [
    ("", "the expression is empty", 0),
    ("   ", "the expression is empty", 0),
    ("count(studies where design = 'cohort')", "unexpected character '=' (use '==' to compare)", 27),
    ("count(studies where a == 1 && b == 2)", "unexpected character '&' (use 'and')", 27),
    ("count(studies", "expected ')' to close count(, found the end of the expression", 13),
    ("count(studies))", "')' without a matching '('", 14),
    ("(1 + 2", "expected ')' to close the '(' at character 1, found the end of the expression", 6),
    ("count(studies where design == 'cohort)", "text opened with ' is not closed", 30),
    ("frobnicate(studies)", "unknown function 'frobnicate' (known: count, sum, min, max, one, values, distinct, "
                            "top, pooled, crude, k, coalesce)", 0),
    ("__import__('os')", "unknown function '__import__'", 0),
    ("count(studies).__class__", "'.__class__' cannot follow this value: only pooled(OUTCOME) has fields", 14),
    ("pooled(pr).__class__", "pooled(...) has no field '__class__' (known: ci_lower, ci_upper)", 11),
    ("pooled(pr).estimate", "pooled(...) has no field 'estimate'", 11),
    ("pooled(pr).ci_lower.real", "'.' cannot follow pooled(...).ci_lower", 19),
    ("crude(pr).ci_lower", "'.ci_lower' cannot follow this value", 9),
    ("'text'.upper()", "'.upper' cannot follow this value", 6),
    ("count(studies)[0]", "a list [...] is written only after 'in' or 'not in'", 14),
    ("lambda: 1", "unexpected character ':'", 6),
    ("n > 1", "'n': a column is read inside an aggregate", 0),
    ("sum(n)", "'n': name the sheet of the value an aggregate reads (SHEET.COLUMN)", 4),
    ("sum(arms.n + studies.ref)", "an aggregate reads one sheet: 'arms' and 'studies'", 13),
    ("sum(arms.n, arms.events)", "sum(...) reads one value (only distinct(...) reads several)", 10),
    ("sum(1)", "sum(...) needs a column of a sheet (SHEET.COLUMN)", 0),
    ("count(arms.n)", "count(...) counts the rows of a sheet", 10),
    ("count(arms where 1 < n < 5)", "comparisons do not chain: join them with 'and'", 23),
    ("count(arms where n in 1, 2)", "expected '[' after 'in'", 22),
    ("count(arms where n is 3)", "expected 'empty' after 'is', found '3'", 22),
    ("count(arms where mixed has yes)", "expected a number or a text in quotes after 'has'", 27),
    ("count(arms where mixed contains 3)", "'contains' needs a text in quotes", 32),
    ("count(where)", "'where' is a keyword; write a sheet of that name in backticks", 6),
    ("top(0, arms.n)", "expected how many (a whole number >= 1) first in top(N, ...), found '0'", 4),
    ("top(arms.n)", "expected how many", 4),
    ("coalesce(1)", "coalesce(...) needs two values or more", 0),
    ("3abc", "unexpected 'a' after the number 3", 1),
    ("1" * 31, "a number of more than 30 characters", 0),
    ("count(`unclosed)", "a name opened with ` is not closed", 6),
    ("count(``)", "an empty name in backticks", 6),
    ("count(stüdies)", "unexpected character 'ü' (write such a name in backticks)", 8),
    ("count(studies)\x00", "unexpected character U+0000", 14),
    ("and", "expected a value, found 'and'", 0),
    ("1 +", "expected a value, found the end of the expression", 3),
])
def test_syntax_errors_say_what_and_where(text, message, at):
    e = error(text)
    assert e.message.startswith(message), e.message
    assert e.offset == at


def test_too_deep_nesting_is_one_error():
    for text in ["(" * 200 + "1" + ")" * 200, "not " * 200 + "a == 1", "-" * 500 + "1",
                 "count(t where " * 100 + "a == 1" + ")" * 100, "coalesce(" * 100 + "1, 2" + ")" * 100]:
        e = error(text, condition=True)
        assert e.message == f"nested more than {MAX_DEPTH} levels deep"
    assert parse_condition("(" * MAX_DEPTH + "a == 1" + ")" * MAX_DEPTH).test({"a": 1})


def test_huge_input_is_one_error():
    e = error("count(t where " + " or ".join(["a == 1"] * 5000) + ")")
    assert e.message == f"the expression is longer than {MAX_LENGTH} characters" and e.offset == MAX_LENGTH
    long_or = " or ".join(["a == 1"] * 1000)   # long but shallow: fine
    assert len(long_or) < MAX_LENGTH and parse_condition(long_or).test({"a": 1})


def test_a_long_chain_of_arithmetic_is_one_error():
    assert value(" + ".join(["1"] * 90)) == 90
    e = error(" + ".join(["1"] * 2000))
    assert e.message.startswith("more than 100 operations inside one another")


def test_the_expression_must_be_text():
    with pytest.raises(ExpressionError, match="an expression must be text"):
        parse_expression(None)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80))
def test_any_text_parses_or_gives_one_expression_error(text):
    for parse in (parse_expression, parse_condition):
        try:
            parse(text)
        except ExpressionError as e:
            assert 0 <= e.offset <= len(text)


ALPHABET = ["count(", "sum(", "distinct(", "top(2, ", "pooled(pr)", ".ci_lower", "arms", "arms.n", "n", "study_id.ref",
            " where ", " and ", " or ", " not ", " in ", "[1, 'a']", " is empty", " has 'A'", "==", "<", "+", "*",
            "/", "(", ")", ",", "1", "'x'", "-", "`n odd-ones`"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(ALPHABET), max_size=25))
def test_token_soup_parses_checks_and_evaluates_or_gives_one_expression_error(parts):
    text = "".join(parts)
    for parse in (parse_expression, parse_condition):
        try:
            parsed = parse(text)
        except ExpressionError:
            continue
        check(parsed, SPEC, ["pr"], sheet="arms")
        try:
            if isinstance(parsed, Condition):
                parsed.test(ARMS[0], data(), "arms")
            else:
                parsed.evaluate(data())
        except ExpressionError:
            pass


def test_the_module_never_evaluates_python_and_imports_only_core_and_sheets():
    source = Path(ex.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert not called & {"eval", "exec", "compile", "__import__"}
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert {m for m in imported if m.startswith("evsynth")} <= {"evsynth.core.errors", "evsynth.sheets.spec"}
    assert "pandas" not in source


# ---------------------------------------------------------------- the reference page's examples

DOC = Path(__file__).resolve().parents[1] / "docs" / "expressions.md"


def _shown(v, inner: bool = False) -> str:
    if isinstance(v, frozenset):
        return "; ".join(sorted(_shown(x, True) for x in v))
    if isinstance(v, tuple):
        return ("/" if inner else "; ").join(_shown(x, True) for x in v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def test_every_example_of_the_reference_page_gives_the_value_it_shows():
    import csv
    import io
    import re

    text = DOC.read_text(encoding="utf-8")
    # The sheet set is the page's first TOML block; its sheets' contents are the plain-text
    # blocks that follow it, before the next section (CSV has no lexer in the docs build).
    toml_at = text.index("```toml\n")
    section = text[toml_at:text.index("\n## ", toml_at)]
    blocks = re.findall(r"```(toml|text)\n(.*?)```", section, re.S)
    spec = parse_sheet_set(next(body for kind, body in blocks if kind == "toml"), "expressions.md")
    tables = [body for kind, body in blocks if kind == "text"]
    assert len(tables) == len(spec.sheets)
    rows = {s.name: [typed_row(s, {k: (v or None) for k, v in r.items()}) for r in csv.DictReader(io.StringIO(t))]
            for s, t in zip(spec.sheets, tables)}
    for s, t in zip(spec.sheets, tables):
        assert tuple(t.splitlines()[0].split(",")) == s.columns
    context = SheetData(rows, spec)
    examples = re.findall(r"^\| `(.+?)` \| (?:`(.+?)`|(\*error\*)) \|", text.split("<!-- examples")[1], re.M)
    assert len(examples) >= 25
    for expression, shown, failure in examples:
        parsed = parse_expression(expression)
        assert check(parsed, spec) == [], expression
        if failure:
            with pytest.raises(ExpressionError):
                parsed.evaluate(context)
        else:
            assert _shown(parsed.evaluate(context)) == shown, expression
