"""Response and remission on a rating scale, with the sources of each number.

Response is a fall of at least 50% from the baseline on the same scale, for every instrument. Remission
is a score at or below the instrument's cut-off; an instrument without a sourced cut-off has none here
(remission is then not known, never "no"). The cut-offs are those of contract section 5, each traced
to the sources of ``shared/research/clinical-criteria.md`` section 4.
"""

from __future__ import annotations

from dataclasses import dataclass

RESPONSE_PERCENT = 50.0  # improvement at or above this is a response
PARTIAL_PERCENT = 25.0  # a partial response: at least this, below a response
WORSENING_PERCENT = 20.0  # a rating this much worse than the baseline, or more, is worsening
RATING_INTERVAL_DAYS = 14  # a rating is overdue when the latest session is more than this after the latest rating

RESPONSE_SOURCES = (
    "https://p4qm.org/measures/1885",  # MN Community Measurement: PHQ-9 response is a 50% fall
    "https://ajp.psychiatryonline.org/doi/10.1176/appi.ajp.163.1.28",  # STAR*D: response is a 50% fall
    # Clinical TMS Society 2023 follow-up recommendations (a clinic's repost): success is a 50% improvement
    "https://sweetgrasspsychiatry.com/blog/2023/3/16/follow-up-after-completion-of-transcranial-magnetic-stimulation-course",
)


@dataclass(frozen=True, slots=True)
class CutOff:
    """Remission on ``instrument``: a score of ``at_most`` or less."""

    instrument: str
    at_most: float
    sources: tuple[str, ...]
    status: str  # "confirmed" or "unconfirmed"
    note: str


REMISSION: dict[str, CutOff] = {c.instrument: c for c in (
    CutOff("phq-9", 4, ("https://p4qm.org/measures/1885",
                        "https://ecqi.healthit.gov/sites/default/files/ecqm/measures/CMS159v6.html"),
           "confirmed", "Remission is a PHQ-9 below 5 (MN Community Measurement; CMS159 depression remission)."),
    CutOff("hamd-17", 7, ("https://www.ncbi.nlm.nih.gov/pubmed/23759278", "https://pbpsychiatricservices.com/hd/"),
           "confirmed", "HAM-D17 of 7 or less: the consensus definition of remission (Frank 1991), as the "
                        "banding papers restate it."),
    CutOff("qids-sr16", 5, ("http://ids-qids.org/interpretation.html",
                            "https://ajp.psychiatryonline.org/doi/10.1176/appi.ajp.163.1.28"),
           "confirmed", "QIDS-SR16 of 5 or less: the 'none' band and STAR*D's remission."),
    CutOff("madrs", 10, ("https://pubmed.ncbi.nlm.nih.gov/14612225/",
                         "https://survey.doctor/articles/what-your-madrs-score-means"),
           "unconfirmed", "MADRS of 10 or less is the common reading; the threshold varies between studies "
                          "(no single standard was found). The contract fixes 10."),
)}


def remission_cut_off(instrument: str) -> CutOff | None:
    """The instrument's remission cut-off; ``None`` for an instrument without a sourced one (HAM-D24, BDI-II,
    IDS-C30, CGI-S)."""
    return REMISSION.get(instrument)
