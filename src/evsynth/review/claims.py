"""The published-claims check: recompute each quantitative statement of the paper.

The registry (``extracted/claims.csv``) names, for every claim, where it stands
in the paper, a *metric* (a computation registered in :data:`METRICS`, written
``name`` or ``name:arg1:arg2``), the value the paper states and how to compare.
:func:`verify_claims` recomputes each and gives its status
(:data:`evsynth.review.vocab.CLAIM_STATUSES`):

- ``reproduced``: the sheets give the paper's value within the precision it
  printed (the registry's ``tolerance``: half a unit of the last printed
  digit, e.g. 0.5 for whole percentages; exact by default);
- ``approximate``: the paper words the value loosely (comparator ``approx``,
  "nearly 50 %") and the sheets are near it (within 20 % of the stated value)
  but not within the printed precision; the computed value is shown;
- ``stated in text``: the registry says the sheets took the value from the
  very sentence checked (``expected_status``), so agreeing proves nothing:
  it is recomputed and shown, never called reproduced;
- ``differs``, or ``not derivable`` (with why).

A claim whose status falls from its registered one to ``differs`` or ``not
derivable`` is a *regression*: ``evsynth verify`` and ``evsynth build`` fail on it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evsynth.review import vocab
from evsynth.review.counts import case_series_counts, histology_columns, literature_counts, lrt_key
from evsynth.review.model import Review

Value = int | float | str | list[Any]
Metric = Callable[[Review, list[str]], Value]
METRICS: dict[str, Metric] = {}


def metric(name: str) -> Callable[[Metric], Metric]:
    """Register a computation under *name* (used in the registry's ``metric`` column)."""
    def register(function: Metric) -> Metric:
        METRICS[name] = function
        return function
    return register


def metric_name(spec: str) -> str:
    """``"lit.patients_histology:MTC"`` -> ``"lit.patients_histology"``."""
    return spec.split(":", 1)[0].strip()


def metric_args(spec: str) -> list[str]:
    """``"lit.response_pct:PR:11,22"`` -> ``["PR", "11,22"]``."""
    return [a.strip() for a in spec.split(":")[1:]]


def _refs(arg: str) -> set[int]:
    return {int(x) for x in arg.split(",") if x.strip()}


def _study_refs(review: Review) -> dict[str, int]:
    return {s: int(r) for s, r in zip(review.studies["study_id"], review.studies["reference"]) if not pd.isna(r)}


def _cohorts_of(review: Review, refs: set[int]) -> pd.DataFrame:
    ref_of = _study_refs(review)
    return review.cohorts[review.cohorts["study_id"].map(ref_of).isin(refs)]


def _ref_list(review: Review, cohorts: pd.DataFrame) -> list[str]:
    ref_of = _study_refs(review)
    return sorted({str(ref_of[s]) for s in cohorts["study_id"]}, key=int)


def _histologies(review: Review, cohort: pd.Series) -> list[str]:
    return [h for h, column in histology_columns(review).items() if int(cohort[column]) > 0]


def _dtc(review: Review, cohorts: pd.DataFrame) -> pd.DataFrame:
    """The cohorts with a differentiated-thyroid-cancer patient."""
    dtc = review.sheets.values(vocab.DTC_HISTOLOGY)
    return cohorts[cohorts.apply(lambda c: any(h in dtc for h in _histologies(review, c)), axis=1)]


# ------------------------------------------------------------ literature review

@metric("lit.studies")
def _lit_studies(review: Review, args: list[str]) -> Value:
    """Studies in Table 2."""
    return literature_counts(review)["studies"]


@metric("lit.cohorts")
def _lit_cohorts(review: Review, args: list[str]) -> Value:
    """Printed cohort rows of Table 2."""
    return literature_counts(review)["cohorts"]


@metric("lit.patients")
def _lit_patients(review: Review, args: list[str]) -> Value:
    """Patients in Table 2."""
    return literature_counts(review)["patients"]


@metric("lit.patients_histology")
def _lit_histology(review: Review, args: list[str]) -> Value:
    """Patients with histology ``args[0]`` (MTC, PTC, FTC, HTC, or DTC = PTC+FTC+HTC)."""
    counts = literature_counts(review)
    if args[0] == "DTC":
        return counts["patients_by_group"]["DTC"]
    return counts["patients_by_histology"][args[0]]


@metric("lit.references")
def _lit_references(review: Review, args: list[str]) -> Value:
    """Reference numbers of the studies in Table 2."""
    return sorted((str(r) for r in _study_refs(review).values()), key=int)


@metric("lit.mixed_references")
def _lit_mixed(review: Review, args: list[str]) -> Value:
    """References of mixed cohorts without a thyroid subgroup (printed NA*)."""
    return _ref_list(review, review.cohorts[review.cohorts["mixed_cohort"] == "yes"])


@metric("lit.specific_references")
def _lit_specific(review: Review, args: list[str]) -> Value:
    """References of studies on thyroid-cancer patients only."""
    return _ref_list(review, review.cohorts[review.cohorts["mixed_cohort"] == "no"])


@metric("lit.dtc_detailed_references")
def _lit_dtc_detailed(review: Review, args: list[str]) -> Value:
    """References with detailed (not mixed-cohort) data on DTC patients."""
    cohorts = review.cohorts[(review.cohorts["mixed_cohort"] == "no")]
    return _ref_list(review, _dtc(review, cohorts))


@metric("lit.top_lrts_by_patients")
def _lit_top_lrts(review: Review, args: list[str]) -> Value:
    """The ``args[0]`` LRT keys with most patients (unassigned patients left out)."""
    counts = {k: v for k, v in literature_counts(review)["patients_by_lrt"].items() if k != vocab.UNASSIGNED}
    return sorted(list(counts)[: int(args[0])])


@metric("lit.largest_specific_references")
def _lit_largest(review: Review, args: list[str]) -> Value:
    """References of the ``args[0]`` largest thyroid-specific studies (by patients)."""
    cohorts = review.cohorts[review.cohorts["mixed_cohort"] == "no"]
    sizes = cohorts.groupby("study_id")["n_patients"].sum().sort_values(ascending=False, kind="stable")
    ref_of = _study_refs(review)
    return sorted((str(ref_of[s]) for s in sizes.index[: int(args[0])]), key=int)


@metric("lit.lrt_histology")
def _lit_lrt_histology(review: Review, args: list[str]) -> Value:
    """Distinct ``LRT/histology`` pairs of the cohorts of references ``args[0]``."""
    cohorts = _cohorts_of(review, _refs(args[0]))
    return sorted({f"{lrt_key(c)}/{h}" for _, c in cohorts.iterrows() for h in _histologies(review, c)})


@metric("lit.response_pct")
def _lit_response_pct(review: Review, args: list[str]) -> Value:
    """Per cohort of references ``args[1]``: % of all treated patients with response ``args[0]``."""
    column = f"resp_{args[0].lower()}"
    cohorts = _cohorts_of(review, _refs(args[1]))
    return [100.0 * int(c[column]) / int(c["n_patients"]) for _, c in cohorts.iterrows()]


@metric("lit.response_count")
def _lit_response_count(review: Review, args: list[str]) -> Value:
    """Patients with response ``args[0]`` in the cohorts of references ``args[1]``."""
    column = f"resp_{args[0].lower()}"
    return int(_cohorts_of(review, _refs(args[1]))[column].sum())


@metric("lit.references_with_lrt")
def _lit_refs_with_lrt(review: Review, args: list[str]) -> Value:
    """References of assigned cohorts whose LRT includes ``args[0]``, with histology ``args[1]``."""
    cohorts = review.cohorts[review.cohorts["lrt_assignment"] == "assigned"]
    chosen = cohorts[cohorts.apply(
        lambda c: args[0] in vocab.lrt_atoms(c["lrt"]) and args[1] in _histologies(review, c), axis=1)]
    return _ref_list(review, chosen)


@metric("lit.size_mm")
def _lit_size(review: Review, args: list[str]) -> Value:
    """Size (mm) of the largest metastasis of cohort ``args[0]``."""
    row = review.cohorts[review.cohorts["cohort_id"] == args[0]].iloc[0]
    return float(row["size_mm"])


@metric("lit.max_size_mm")
def _lit_max_size(review: Review, args: list[str]) -> Value:
    """Largest metastasis (mm) over detailed cohorts with histology group ``args[0]`` (DTC or MTC)."""
    cohorts = review.cohorts[review.cohorts["mixed_cohort"] == "no"]
    if args[0] == "DTC":
        cohorts = _dtc(review, cohorts)
    else:
        cohorts = cohorts[cohorts[histology_columns(review)[args[0]]] > 0]
    sizes = pd.concat([cohorts["size_mm"], cohorts["size_max_mm"]]).dropna()
    return float(sizes.max())


@metric("lit.cohorts_with_response")
def _lit_with_response(review: Review, args: list[str]) -> Value:
    """``LRT/histology/size mm`` of detailed cohorts (histology group ``args[1]``) with a ``args[0]``."""
    column = f"resp_{args[0].lower()}"
    cohorts = review.cohorts[(review.cohorts["mixed_cohort"] == "no") & (review.cohorts[column] > 0)]
    if len(args) > 1 and args[1] == "DTC":
        cohorts = _dtc(review, cohorts)
    return sorted(f"{lrt_key(c)}/{'+'.join(_histologies(review, c))}/{_fmt_number(c['size_mm'])}"
                  for _, c in cohorts.iterrows())


def _ae_rows(review: Review, phrases: str) -> pd.DataFrame:
    """Adverse-event rows whose name contains any of the ``|``-separated *phrases*."""
    events = review.adverse_events
    mask = pd.Series(False, index=events.index)
    for phrase in phrases.split("|"):
        mask |= events["event"].str.contains(phrase.strip(), case=False, regex=False)
    return events[mask]


def _patients_affected(review: Review, events: pd.DataFrame) -> int:
    """Patients affected by *events* (adverse-event rows): the printed count, or 1 for a
    single-patient report without one; a ValueError when neither is given."""
    n_of = dict(zip(review.cohorts["cohort_id"], review.cohorts["n_patients"]))
    total = 0
    for _, e in events.iterrows():
        if not pd.isna(e["patients"]):
            total += int(e["patients"])
        elif int(n_of[e["cohort_id"]]) == 1:
            total += 1
        else:
            raise ValueError(f"patients affected by {e['event']!r} in {e['cohort_id']} are not given")
    return total


@metric("lit.ae_patients")
def _lit_ae_patients(review: Review, args: list[str]) -> Value:
    """Patients with an adverse event whose name contains ``args[0]``.

    Uses the printed count; for a single-patient report without a count, 1.
    """
    return _patients_affected(review, _ae_rows(review, args[0]))


@metric("lit.ae_references")
def _lit_ae_refs(review: Review, args: list[str]) -> Value:
    """References reporting an adverse event whose name contains ``args[0]`` (``|`` = any of)."""
    cohorts = review.cohorts[review.cohorts["cohort_id"].isin(set(_ae_rows(review, args[0])["cohort_id"]))]
    return _ref_list(review, cohorts)


@metric("lit.ae_patients_grade")
def _lit_ae_patients_grade(review: Review, args: list[str]) -> Value:
    """Patients with an adverse event of CTCAE grade ≥ ``args[0]`` in the cohorts of references ``args[1]``.

    Uses the printed count; for a single-patient report without a count, 1.
    """
    cohorts = set(_cohorts_of(review, _refs(args[1]))["cohort_id"])
    events = review.adverse_events[review.adverse_events["cohort_id"].isin(cohorts)]
    severe = events[events["ctcae_grade_min"].fillna(0) >= int(args[0])]
    return _patients_affected(review, severe)


# ------------------------------------------------------------ case series

@metric("cs.patients")
def _cs_patients(review: Review, args: list[str]) -> Value:
    """Patients of the case series."""
    return case_series_counts(review)["patients"]


@metric("cs.procedures")
def _cs_procedures(review: Review, args: list[str]) -> Value:
    """Procedures of the case series."""
    return case_series_counts(review)["procedures"]


@metric("cs.procedures_lrt")
def _cs_procedures_lrt(review: Review, args: list[str]) -> Value:
    """Procedures with LRT ``args[0]`` (as printed)."""
    return int(case_series_counts(review)["procedures_by_lrt"].get(args[0], 0))


@metric("cs.patients_histology")
def _cs_histology(review: Review, args: list[str]) -> Value:
    """Case-series patients with histology ``args[0]``."""
    return int((review.case_patients["histology"] == args[0]).sum())


@metric("cs.patients_sex")
def _cs_sex(review: Review, args: list[str]) -> Value:
    """Case-series patients of sex ``args[0]``."""
    return int((review.case_patients["sex"] == args[0]).sum())


@metric("cs.procedures_response")
def _cs_response(review: Review, args: list[str]) -> Value:
    """Procedures with response ``args[0]``."""
    return int((review.case_procedures["response"] == args[0]).sum())


@metric("cs.largest_mm_with_response")
def _cs_size_with(review: Review, args: list[str]) -> Value:
    """Distinct sizes (mm) of the largest treated LM in procedures with response ``args[0]``."""
    p = review.case_procedures
    return sorted({_fmt_number(v) for v in p[p["response"] == args[0]]["largest_lm_mm"]})


@metric("cs.largest_mm_without_response")
def _cs_size_without(review: Review, args: list[str]) -> Value:
    """Sizes (mm) of the largest treated LM in procedures without response ``args[0]``."""
    p = review.case_procedures
    return [float(v) for v in p[p["response"] != args[0]]["largest_lm_mm"]]


@metric("cs.procedures_without_response")
def _cs_count_without(review: Review, args: list[str]) -> Value:
    """Procedures whose response is not ``args[0]``."""
    return int((review.case_procedures["response"] != args[0]).sum())


@metric("cs.responses_below_mm")
def _cs_responses_below(review: Review, args: list[str]) -> Value:
    """Distinct responses of procedures on lesions smaller than ``args[0]`` mm."""
    p = review.case_procedures
    return sorted(set(p[p["largest_lm_mm"] < float(args[0])]["response"]))


@metric("cs.procedures_with_tki")
def _cs_tki(review: Review, args: list[str]) -> Value:
    """Procedures done during TKI treatment."""
    return case_series_counts(review)["procedures_with_tki"]


@metric("cs.tki_names")
def _cs_tki_names(review: Review, args: list[str]) -> Value:
    """The TKIs given during procedures."""
    return sorted(set(t for t in review.case_procedures["tki"] if t))


@metric("cs.patients_with_repeat_lrt")
def _cs_repeat(review: Review, args: list[str]) -> Value:
    """Patients with more than one LRT."""
    per_patient = review.case_procedures.groupby("patient_id").size()
    return int((per_patient > 1).sum())


@metric("cs.patients_tki_after_response")
def _cs_tki_after(review: Review, args: list[str]) -> Value:
    """Patients with a later procedure under a TKI after a procedure with response ``args[0]``."""
    count = 0
    for _, procedures in review.case_procedures.groupby("patient_id"):
        ordered = procedures.sort_values("sequence")
        seen = False
        for _, p in ordered.iterrows():
            if seen and p["concomitant_tki"] == "yes":
                count += 1
                break
            seen = seen or p["response"] == args[0]
    return count


@metric("cs.patients_with_other_sites")
def _cs_other_sites(review: Review, args: list[str]) -> Value:
    """Patients with metastases outside the liver (histology ``args[0]`` if given)."""
    p = review.case_patients
    chosen = p[p["other_metastatic_sites"] != ""]
    if args:
        chosen = chosen[chosen["histology"] == args[0]]
    return int(len(chosen))


@metric("cs.patients_liver_only")
def _cs_liver_only(review: Review, args: list[str]) -> Value:
    """Patients with no metastatic site other than the liver (histology ``args[0]`` if given)."""
    p = review.case_patients
    chosen = p[p["other_metastatic_sites"] == ""]
    if args:
        chosen = chosen[chosen["histology"] == args[0]]
    return int(len(chosen))


@metric("cs.ae_patients")
def _cs_ae(review: Review, args: list[str]) -> Value:
    """Case-series patients with adverse event ``args[0]``."""
    events = review.case_adverse_events
    return int(events[events["event"] == args[0]]["patients"].sum())


@metric("cs.ae_max_grade")
def _cs_ae_grade(review: Review, args: list[str]) -> Value:
    """Highest CTCAE grade among case-series adverse events."""
    return int(review.case_adverse_events["ctcae_grade_max"].max())


# ------------------------------------------------------------ verification

@dataclass(frozen=True)
class ClaimResult:
    """One claim checked: what the paper says, what the sheets give, and the verdict."""

    claim_id: str
    section: str
    statement: str
    metric: str
    expected: str
    computed: str
    status: str
    expected_status: str
    why: str
    row: int
    #: The version whose studies the claim is computed on ("" when review.toml names no version).
    version: str = ""

    @property
    def regression(self) -> bool:
        """Registered as reproduced, approximate or stated in text, and now differs or is not derivable."""
        return self.expected_status in CHECKED_STATUSES and self.status != self.expected_status


def _fmt_number(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "NA"
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:.1f}"


def format_value(value: Value) -> str:
    """A computed value as the report prints it."""
    if isinstance(value, list):
        return "; ".join(format_value(v) for v in value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _fmt_number(value)
    return str(value)


def _expand(expected: str) -> set[str]:
    """``"8;11-13"`` -> ``{"8", "11", "12", "13"}`` (integer ranges expand; other items stay)."""
    items: set[str] = set()
    for part in expected.split(";"):
        part = part.strip()
        low, sep, high = part.partition("-")
        if sep and low.isdigit() and high.isdigit():
            items.update(str(i) for i in range(int(low), int(high) + 1))
        elif part:
            items.add(part)
    return items


#: Statuses a recomputation can confirm; a claim registered with one of them must keep it.
CHECKED_STATUSES = ("reproduced", "approximate", "stated in text")
#: ``approx`` claims within this share of the stated value are ``approximate`` (not reproduced).
APPROXIMATE_SHARE = 0.20


def claim_status(value: Value, expected: str, comparator: str, tolerance: float | None,
                 stated_in_text: bool = False) -> str:
    """The status of one recomputed claim (see the module docstring)."""
    if compare(value, expected, comparator, tolerance):
        return "stated in text" if stated_in_text else "reproduced"
    if comparator == "approx" and not stated_in_text:
        numbers = [float(v) for v in (value if isinstance(value, list) else [value])]
        stated = float(expected)
        if numbers and all(abs(x - stated) <= APPROXIMATE_SHARE * abs(stated) for x in numbers):
            return "approximate"
    return "differs"


def compare(value: Value, expected: str, comparator: str, tolerance: float | None) -> bool:
    """Does the computed *value* reproduce the *expected* text under *comparator*?

    - ``equal``: numbers within *tolerance* (default exact), or identical text;
    - ``set``: the same items, order ignored (``11-13`` expands to 11;12;13);
    - ``range``: the smallest and largest computed values within *tolerance* of
      the stated ``low-high`` (e.g. 0.5 for whole percentages);
    - ``approx``: every computed value within *tolerance* of the stated value.
    """
    tol = tolerance or 0.0
    if comparator == "equal":
        if isinstance(value, (int, float)):
            return abs(float(value) - float(expected)) <= tol
        return format_value(value) == expected
    if comparator == "set":
        items = value if isinstance(value, list) else [value]
        return {format_value(v) for v in items} == _expand(expected)
    numbers = [float(v) for v in (value if isinstance(value, list) else [value])]
    if not numbers:
        return False
    if comparator == "range":
        low, high = (float(x) for x in expected.split("-"))
        return abs(min(numbers) - low) <= tol and abs(max(numbers) - high) <= tol
    if comparator == "approx":
        return all(abs(x - float(expected)) <= tol for x in numbers)
    raise ValueError(f"unknown comparator {comparator!r}")


def verify_claims(review: Review) -> list[ClaimResult]:
    """Recompute every registered claim from the sheets, each on the studies of its version.

    A claim's version is its ``version`` cell, or the first version of
    review.toml (the seed's): studies added later never change it.
    """
    results = []
    on_version: dict[str, Review] = {}
    for _, claim in review.claims.iterrows():
        expected = str(claim["expected"])
        version = str(claim.get("version") or "") or review.seed_version
        common = dict(claim_id=str(claim["claim_id"]), section=str(claim["section"]),
                      statement=str(claim["statement"]), metric=str(claim["metric"]), expected=expected,
                      expected_status=str(claim["expected_status"]), row=int(claim["_row"]), version=version)
        if version and version not in on_version:
            on_version[version] = review.version_review(version)
        target = on_version[version] if version else review
        if claim["expected_status"] == "not derivable":
            results.append(ClaimResult(computed="", status="not derivable", why=str(claim["why"]), **common))
            continue
        spec = str(claim["metric"])
        tolerance = None if pd.isna(claim["tolerance"]) else float(claim["tolerance"])
        try:
            value = METRICS[metric_name(spec)](target, metric_args(spec))
        except (KeyError, IndexError, ValueError) as exc:
            results.append(ClaimResult(computed="", status="not derivable",
                                       why=f"cannot compute: {exc}", **common))
            continue
        status = claim_status(value, expected, str(claim["comparator"]), tolerance,
                              stated_in_text=claim["expected_status"] == "stated in text")
        results.append(ClaimResult(computed=format_value(value), status=status, why=str(claim["why"]), **common))
    return results


def claims_summary(results: list[ClaimResult]) -> dict[str, int]:
    """How many claims are reproduced, differ, or are not derivable."""
    summary = {status: 0 for status in vocab.CLAIM_STATUSES}
    for r in results:
        summary[r.status] += 1
    return summary
