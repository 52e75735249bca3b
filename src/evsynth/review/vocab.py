"""Controlled vocabularies of the extraction sheets.

Response categories follow RECIST 1.1 (Eisenhauer et al. 2009, Eur J Cancer
45:228-247); adverse-event grades follow CTCAE v5.0 (grades 1-5); loco-regional
treatment (LRT) names follow the seed review's abbreviations.
"""

from __future__ import annotations

#: Single loco-regional treatments.
LRT_TYPES: tuple[str, ...] = ("TACE", "TAE", "RFA", "MWA", "PEI", "ILP", "TARE")

#: Long names, for glossaries on the rendered page.
LRT_NAMES: dict[str, str] = {
    "TACE": "trans-arterial chemoembolisation",
    "TAE": "trans-arterial embolisation",
    "RFA": "radiofrequency ablation",
    "MWA": "microwave ablation",
    "PEI": "percutaneous ethanol injection",
    "ILP": "interstitial laser photocoagulation",
    "TARE": "trans-arterial radioembolisation",
}

#: Key under which patients count when a study does not say which patient had which LRT.
UNASSIGNED = "unassigned"

HISTOLOGIES: tuple[str, ...] = ("MTC", "PTC", "FTC", "HTC")
HISTOLOGY_NAMES: dict[str, str] = {
    "MTC": "medullary thyroid carcinoma",
    "PTC": "papillary thyroid carcinoma",
    "FTC": "follicular thyroid carcinoma",
    "HTC": "Hürthle cell carcinoma",
    "DTC": "differentiated thyroid carcinoma",
}
#: Differentiated thyroid cancers (follicular-cell origin).
DTC_HISTOLOGIES: tuple[str, ...] = ("PTC", "FTC", "HTC")
#: Histology as the case series reports it (DTC not subtyped).
CASE_HISTOLOGIES: tuple[str, ...] = ("MTC", "DTC")

APPROACHES: tuple[str, ...] = ("percutaneous", "laparoscopic", "laparotomic", "not reported")
LRT_ASSIGNMENT: tuple[str, ...] = ("assigned", UNASSIGNED)
LESION_PATTERNS: tuple[str, ...] = ("single", "multiple", "not available")
SIZE_KINDS: tuple[str, ...] = ("value", "median and range", "not known", "not available")
#: "not reported" is the printed dash; "not available" the printed NA.
SYMPTOMATIC: tuple[str, ...] = ("yes", "no", "not reported", "not available")
STRUCTURAL_STATUS: tuple[str, ...] = ("reported", "not available")
#: "no" where the paper flags non-RECIST criteria; "not reported" where it says nothing.
RECIST_USE: tuple[str, ...] = ("yes", "no", "not reported")
AE_STATUS: tuple[str, ...] = ("reported", "none", "not available")
YES_NO: tuple[str, ...] = ("yes", "no")
#: RECIST 1.1 response categories.
RECIST_RESPONSES: tuple[str, ...] = ("CR", "PR", "SD", "PD")
SEX: tuple[str, ...] = ("female", "male")
CLAIM_COMPARATORS: tuple[str, ...] = ("equal", "set", "range", "approx")
CLAIM_STATUSES: tuple[str, ...] = ("reproduced", "differs", "not derivable")


def lrt_atoms(value: str) -> list[str]:
    """The single treatments in an LRT cell: ``"MWA+TACE"`` -> ``["MWA", "TACE"]``.

    ``+`` joins treatments given together; ``;`` lists treatments used in a
    cohort without a per-patient assignment.
    """
    return [atom for part in value.split(";") for atom in part.split("+")]


def is_valid_lrt(value: str) -> bool:
    """True when every treatment named in *value* is in :data:`LRT_TYPES`."""
    atoms = lrt_atoms(value)
    return bool(atoms) and all(atom in LRT_TYPES for atom in atoms)
