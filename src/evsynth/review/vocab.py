"""Values the case-series review type's code gives a meaning to.

The allowed values of every column (LRT names, histologies, RECIST 1.1
categories, ...) are declared with the sheets, in the project's
``sheets.toml`` (:mod:`evsynth.sheets.spec`); only the few values the
computations below rely on are named here.
"""

from __future__ import annotations

#: Key under which patients count when a study does not say which patient had which LRT
#: (a value of the ``lrt_assignment`` vocabulary).
UNASSIGNED = "unassigned"

#: Outcomes of a claim's check, in the order the page lists them.
CLAIM_STATUSES: tuple[str, ...] = ("reproduced", "differs", "not derivable")

#: Vocabulary names of ``sheets.toml`` the computations read.
HISTOLOGY = "histology"
DTC_HISTOLOGY = "dtc_histology"
RESPONSE_COUNT = "response_count"
RECIST_RESPONSE = "recist_response"


def lrt_atoms(value: str) -> list[str]:
    """The single treatments in an LRT cell: ``"MWA+TACE"`` -> ``["MWA", "TACE"]``.

    ``+`` joins treatments given together; ``;`` lists treatments used in a
    cohort without a per-patient assignment.
    """
    return [atom for part in value.split(";") for atom in part.split("+")]
