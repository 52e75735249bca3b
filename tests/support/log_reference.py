"""The screening log's per-column rules as the pandera schema evsynth used until the log was
checked in plain Python (:func:`evsynth.screening.log.validate_table`): the reference the
plain-Python checks are compared with (``tests/test_screening_log_rules.py``)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import pandera.pandas as pa

from evsynth.screening.log import (
    COLUMNS, DECISIONS, FLAGS, REASONS, STAGES, LogTable, _control_errors, _ID_RE, _row_errors,
)


def schema(reasons: Sequence[str]) -> pa.DataFrameSchema:
    text = {"dtype": str, "nullable": False, "coerce": True}
    return pa.DataFrameSchema(
        {
            "record_id": pa.Column(checks=[
                pa.Check.str_matches(_ID_RE, error="record id must look like R00001"),
            ], unique=True, report_duplicates="exclude_first", **text),
            "pmid": pa.Column(checks=pa.Check.str_matches(
                r"^(\d{1,9})?$", error="PMID must be digits (or empty)"), **text),
            "doi": pa.Column(checks=pa.Check.str_matches(
                r"^(10\.\S+/\S+)?$", error="DOI must look like 10.xxxx/... (or empty)"), **text),
            "source": pa.Column(checks=pa.Check.str_length(
                min_value=1, error="source must name at least one source"), **text),
            "title": pa.Column(**text),
            "year": pa.Column(checks=pa.Check.str_matches(
                r"^(\d{4})?$", error="year must be four digits (or empty)"), **text),
            "first_author": pa.Column(**text),
            "authors": pa.Column(**text),
            "journal": pa.Column(**text),
            "stage": pa.Column(checks=pa.Check.isin(
                STAGES, error=f"stage must be one of: {', '.join(STAGES)}"), **text),
            "decision": pa.Column(checks=pa.Check.isin(
                DECISIONS, error=f"decision must be one of: {', '.join(DECISIONS)}"), **text),
            "reason": pa.Column(checks=pa.Check.isin(
                ("", *reasons),
                error="reason must be empty or one of: " + ", ".join(reasons)), **text),
            "reviewer": pa.Column(**text),
            "date": pa.Column(checks=pa.Check.str_matches(
                r"^(\d{4}-\d{2}-\d{2})?$", error="date must be YYYY-MM-DD (or empty)"), **text),
            "added": pa.Column(checks=pa.Check.str_matches(
                r"^(\d{4}-\d{2}-\d{2})?$", error="added must be YYYY-MM-DD (or empty)"), **text),
            "flag": pa.Column(checks=pa.Check.isin(
                ("",) + FLAGS, error="flag must be empty or one of: " + ", ".join(FLAGS)), **text),
            "flag_detail": pa.Column(**text),
            "notes": pa.Column(**text),
        },
        strict=False,
    )


def validate(table: LogTable, name: str, reasons: Sequence[str] = REASONS) -> list[str]:
    """The problems of a (stripped) log as the pandera schema found them, plus the same
    cross-column and control-character rules."""
    frame = pd.DataFrame([list(r) for r in table.rows], columns=list(table.header),
                         index=pd.Index(list(table.numbers), dtype="int64"), dtype=object)
    problems: list[tuple[int, str, str]] = []
    try:
        schema(reasons).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        for case in exc.failure_cases.itertuples(index=False):
            index = case.index
            if index is None or (isinstance(index, float) and pd.isna(index)):
                continue
            value = frame.at[int(index), case.column] if case.column in frame.columns else ""
            check = str(case.check)
            if check.startswith(("field_uniqueness", "unique")):
                message = f"duplicate record id {value}"
            else:
                message = f"{check} (got {value!r})"
            problems.append((int(index), str(case.column), message))
    problems.extend(_row_errors(table))
    problems.extend(_control_errors(table))
    problems.sort(key=lambda p: (p[0], COLUMNS.index(p[1]) if p[1] in COLUMNS else 99, p[2]))
    return [f"{name}:{row}:{column}: {message}" for row, column, message in problems]
