"""Values the case-series review type's code gives a meaning to.

The allowed values of every column (treatment names, histologies, response
categories, ...) are declared with the sheets, in the project's
``sheets.toml`` (:mod:`evsynth.sheets.spec`); only the few values the
computations below rely on are named here.
"""

from __future__ import annotations

#: Key under which patients count when a study does not say which patient had which LRT
#: (a value of the ``lrt_assignment`` vocabulary).
UNASSIGNED = "unassigned"

#: Outcomes of a claim's check, in the order the page lists them:
#: ``reproduced``: recomputed from the sheets within the precision the paper printed;
#: ``approximate``: close to, but not within, that precision (the page shows the computed value);
#: ``stated in text``: the sheets took the value from the very sentence checked, so it cannot be
#: reproduced independently; ``differs``; ``not derivable`` (with why).
CLAIM_STATUSES: tuple[str, ...] = ("reproduced", "approximate", "stated in text", "differs", "not derivable")

#: Study designs the design rules produce (evsynth.review.design; the ``design`` vocabulary of
#: sheets.toml): a case report describes one patient; a case series several patients given the
#: treatment, without a comparison group; a cohort study compares groups followed over time
#: (Dekkers et al. 2012, Ann Intern Med 156:37-40).
DESIGNS: tuple[str, ...] = ("case report", "case series", "cohort")
#: ``extraction`` of a study whose rows are still being curated (``complete`` or empty: done).
INCOMPLETE = "incomplete"

#: Vocabulary names of ``sheets.toml`` the computations read.
HISTOLOGY = "histology"
#: The groups counts.json reports patients by (their members: the vocabulary ``<group>_histology``).
HISTOLOGY_GROUP = "histology_group"
RESPONSE_COUNT = "response_count"
#: The case series' response categories (counts.json ``procedures_by_response``, in this order).
RESPONSE_CATEGORIES = "recist_response"


def lrt_atoms(value: str) -> list[str]:
    """The single treatments in an LRT cell: ``"MWA+RFA"`` -> ``["MWA", "RFA"]``.

    ``+`` joins treatments given together; ``;`` lists treatments used in a
    cohort without a per-patient assignment.
    """
    return [atom for part in value.split(";") for atom in part.split("+")]
