"""The sheets of this review type, declared column by column for the sheet engine."""

from __future__ import annotations

from evsynth.review import vocab
from evsynth.sheets.engine import Field, SheetSpec, int_field

_RESPONSE_COUNTS = tuple(
    int_field(f"resp_{key}", description=f"patients with {label}")
    for key, label in (("cr", "complete response"), ("pr", "partial response"),
                       ("sd", "stable disease"), ("pd", "progressive disease"),
                       ("not_assessed", "response not assessed"),
                       ("uncategorised", "a response reported without a RECIST category")))

STUDIES = SheetSpec(
    "studies",
    (
        Field("study_id", required=True, description="S + the paper's reference number"),
        int_field("reference", required=True, minimum=1, description="bracketed reference number in the seed paper"),
        Field("first_author", required=True),
        Field("citation_as_printed", required=True),
        int_field("year", minimum=1900, maximum=2100, description="empty until a person confirms it"),
        Field("pmid", "int", minimum=1, description="empty until a person confirms it"),
        Field("doi", description="empty until a person confirms it"),
        Field("thyroid_specific", "choice", True, vocab.YES_NO,
              description="no for mixed cohorts without a thyroid subgroup"),
        Field("note"),
    ),
    "study_id",
    "The studies of the literature review (seed paper, Table 2 and reference list numbers).",
)

COHORTS = SheetSpec(
    "cohorts",
    (
        Field("cohort_id", required=True),
        Field("study_id", required=True),
        int_field("printed_order", required=True, minimum=1, description="row order in Table 2"),
        Field("lrt", "combination", True, vocab.LRT_TYPES, description="TACE, TAE, RFA, MWA, PEI, ILP, TARE; '+' = combined, ';' = unassigned list"),
        Field("lrt_assignment", "choice", True, vocab.LRT_ASSIGNMENT),
        Field("approach", "choices", True, vocab.APPROACHES),
        Field("histology", "choices", True, vocab.HISTOLOGIES),
        int_field("n_patients", required=True, minimum=1),
        int_field("n_mtc", required=True),
        int_field("n_ptc", required=True),
        int_field("n_ftc", required=True),
        int_field("n_htc", required=True),
        Field("lesion_pattern", "choice", True, vocab.LESION_PATTERNS),
        Field("size_kind", "choice", True, vocab.SIZE_KINDS),
        Field("size_mm", "number", minimum=0),
        Field("size_median_mm", "number", minimum=0),
        Field("size_min_mm", "number", minimum=0),
        Field("size_max_mm", "number", minimum=0),
        Field("symptomatic_response", "choice", True, vocab.SYMPTOMATIC),
        Field("symptomatic_pct", "number", minimum=0, maximum=100),
        Field("structural_response", "choice", True, vocab.STRUCTURAL_STATUS),
        Field("recist", "choice", True, vocab.RECIST_USE),
        *_RESPONSE_COUNTS,
        Field("ae_status", "choice", True, vocab.AE_STATUS),
        Field("mixed_cohort", "choice", True, vocab.YES_NO),
        Field("footnotes", "refs"),
    ),
    "cohort_id",
    "The 18 printed cohort rows of Table 2 (one study may print several rows).",
)

ADVERSE_EVENTS = SheetSpec(
    "adverse_events",
    (
        Field("ae_id", required=True),
        Field("cohort_id", required=True),
        Field("event", required=True),
        int_field("ctcae_grade_min", minimum=1, maximum=5, description="CTCAE v5 grade; empty = not graded"),
        int_field("ctcae_grade_max", minimum=1, maximum=5),
        int_field("patients", minimum=1, description="patients affected, where given"),
        Field("footnotes", "refs"),
        Field("note"),
    ),
    "ae_id",
    "Adverse events of the literature cohorts, one row per event (Table 2, last column).",
)

CASE_PATIENTS = SheetSpec(
    "case_patients",
    (
        Field("patient_id", required=True),
        Field("histology", "choice", True, vocab.CASE_HISTOLOGIES),
        int_field("age_at_lm_diagnosis", required=True, maximum=120),
        Field("sex", "choice", True, vocab.SEX),
        Field("lm_pattern", "choice", True, ("single", "multiple")),
        Field("other_metastatic_sites", "text", description="';'-separated; empty = none"),
    ),
    "patient_id",
    "The 4 patients of the case series (Table 1).",
)

CASE_PROCEDURES = SheetSpec(
    "case_procedures",
    (
        Field("procedure_id", required=True),
        Field("patient_id", required=True),
        int_field("sequence", required=True, minimum=1),
        Field("concomitant_tki", "choice", True, vocab.YES_NO),
        Field("tki"),
        Field("lrt", "combination", True, vocab.LRT_TYPES, description="as in cohorts.csv"),
        int_field("treated_lm_count", required=True, minimum=1),
        Field("largest_lm_mm", "number", True, minimum=0),
        Field("response", "choice", True, vocab.RECIST_RESPONSES),
    ),
    "procedure_id",
    "The 6 procedures of the case series (Table 1), one row per procedure.",
)

CASE_ADVERSE_EVENTS = SheetSpec(
    "case_adverse_events",
    (
        Field("ae_id", required=True),
        Field("event", required=True),
        int_field("ctcae_grade_min", minimum=1, maximum=5),
        int_field("ctcae_grade_max", minimum=1, maximum=5),
        int_field("patients", required=True, minimum=1),
        Field("note"),
    ),
    "ae_id",
    "Adverse events of the case series (Results text).",
)

GUIDELINES = SheetSpec(
    "guidelines",
    (
        Field("recommendation_id", required=True),
        Field("guideline", required=True),
        int_field("guideline_year", required=True, minimum=1900, maximum=2100),
        int_field("reference", required=True, minimum=1),
        Field("disease", required=True),
        Field("recommendation", required=True),
    ),
    "recommendation_id",
    "Guideline recommendations (Table 3).",
)

FOOTNOTES = SheetSpec(
    "footnotes",
    (
        Field("table", "choice", True, ("table1", "table2", "table3")),
        Field("marker", required=True),
        Field("meaning", required=True),
    ),
    "",
    "Footnote markers of the printed tables and what they mean.",
)

CLAIMS = SheetSpec(
    "claims",
    (
        Field("claim_id", required=True),
        Field("section", required=True, description="where in the paper: section and paragraph"),
        Field("statement", required=True, description="the claim, paraphrased"),
        Field("metric", description="name of the computation in evsynth.review.claims (empty when not derivable)"),
        Field("expected", description="the value the paper states"),
        Field("comparator", "choice", False, vocab.CLAIM_COMPARATORS),
        Field("tolerance", "number", minimum=0),
        Field("expected_status", "choice", True, vocab.CLAIM_STATUSES),
        Field("why", description="how it is computed, or why it cannot be"),
    ),
    "claim_id",
    "Quantitative statements of the paper's Results and Literature Review, and how each is recomputed.",
)

#: Every sheet, in the order they are validated and documented.
ALL_SHEETS: tuple[SheetSpec, ...] = (
    STUDIES, COHORTS, ADVERSE_EVENTS, CASE_PATIENTS, CASE_PROCEDURES,
    CASE_ADVERSE_EVENTS, GUIDELINES, FOOTNOTES, CLAIMS,
)
SHEETS_BY_NAME: dict[str, SheetSpec] = {s.name: s for s in ALL_SHEETS}
#: Sheet file name -> header columns (what ``evsynth init`` writes).
SHEET_COLUMNS: dict[str, tuple[str, ...]] = {s.filename: s.columns for s in ALL_SHEETS}


