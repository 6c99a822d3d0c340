"""Clinical goals a plan is judged against, and the default goals of each shipped case.

A goal is one dose-volume condition on one structure, such as "PTV D95 >= 66.5 Gy" or
"rectum V60Gy <= 35 %". Goals are plain data, so users give their own
(:func:`parse_goals` reads them from text, one per line).

Default goals, with their sources:

- Prostate (70 Gy in 35 fractions of 2 Gy, so the conventional-fractionation limits apply):
  target coverage and homogeneity after ICRU Report 83 (2010): D95 >= 95 % and D2 <= 107 % of
  the prescription, and V95% (coverage) >= 95 %. Organs at risk after QUANTEC: rectum
  V50Gy < 50 %, V60Gy < 35 %, V65Gy < 25 %, V70Gy < 20 % (Michalski et al., Int. J. Radiat.
  Oncol. Biol. Phys. 76(3 Suppl):S123-S129, 2010); bladder V65Gy < 50 %, V70Gy < 35 %
  (Viswanathan et al., same issue, S116-S122).
- TG-119 C-shape (50 Gy): PTV D95 >= 50 Gy and D10 <= 55 Gy; core D10 <= 25 Gy
  (AAPM Task Group 119, Ezzell et al., Med. Phys. 36(11):5359-5373, 2009).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from wordgrad.errors import InvalidInputError

Comparison = Literal[">=", "<="]
_GOAL = re.compile(
    r"^\s*(?P<structure>[A-Za-z][\w\- ]*?)\s+(?P<metric>D\d+(?:\.\d+)?|V\d+(?:\.\d+)?(?:Gy|%)"
    r"|mean|max)\s*(?P<op><=|>=|<|>)\s*(?P<limit>\d+(?:\.\d+)?)\s*(?P<unit>Gy|%)?\s*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Goal:
    """One clinical goal.

    Attributes:
        structure: the structure's name in the case ("PTV", "rectum").
        metric: ``"D95"`` (dose in Gy to the hottest 95 % of the volume), ``"V60Gy"`` (percent
            of the volume receiving at least 60 Gy), ``"V95%"`` (percent receiving at least
            95 % of the prescription), ``"mean"`` or ``"max"`` (Gy).
        comparison: ``">="`` or ``"<="``.
        limit: the bound, in Gy for D/mean/max metrics and in percent of the volume for V.
        source: where the goal comes from (shown in docs and reports).
    """

    structure: str
    metric: str
    comparison: Comparison
    limit: float
    source: str = ""

    @property
    def unit(self) -> str:
        return "%" if self.metric.upper().startswith("V") else "Gy"

    def text(self) -> str:
        """``"rectum V60Gy <= 35 %"``."""
        return f"{self.structure} {self.metric} {self.comparison} {self.limit:g} {self.unit}"

    def met(self, value: float) -> bool:
        return value >= self.limit if self.comparison == ">=" else value <= self.limit

    def violation(self, value: float) -> float:
        """How far ``value`` misses the goal, relative to its scale, capped at 1 (0: met).

        Dose goals are relative to the limit; volume goals to 100 %. A value that is not a
        number (a structure with no voxels on the grid) counts as missed entirely.
        """
        if math.isnan(value):
            return 1.0
        scale = 100.0 if self.unit == "%" else max(self.limit, 1e-9)
        miss = self.limit - value if self.comparison == ">=" else value - self.limit
        return min(max(miss / scale, 0.0), 1.0)


def parse_goals(text: str, structures: Iterable[str] | None = None) -> list[Goal]:
    """Goals from text, one per line: ``"PTV D95 >= 66.5 Gy"``, ``"rectum V60Gy <= 35 %"``.

    ``<`` and ``>`` are read as ``<=`` and ``>=``; blank lines and lines starting with ``#``
    are skipped.

    Raises:
        InvalidInputError: for a line that is not a goal, or (when ``structures`` is given) a
            goal on a structure the case does not have.
    """
    known = {name.lower(): name for name in structures} if structures is not None else None
    goals = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        found = _GOAL.match(line)
        if not found:
            raise InvalidInputError(
                f"goal line {number} ({line.strip()!r}) is not a goal; write e.g. "
                "'PTV D95 >= 66.5 Gy' or 'rectum V60Gy <= 35 %'"
            )
        structure = found["structure"].strip()
        if known is not None:
            if structure.lower() not in known:
                raise InvalidInputError(
                    f"goal line {number} names {structure!r}, which the case does not have; "
                    f"its structures are {', '.join(known.values())}"
                )
            structure = known[structure.lower()]
        metric = found["metric"]
        metric = metric.lower() if metric.lower() in ("mean", "max") else metric.upper()
        metric = metric.replace("GY", "Gy")
        comparison: Comparison = ">=" if found["op"] in (">=", ">") else "<="
        goals.append(Goal(structure, metric, comparison, float(found["limit"])))
    return goals


def goals_text(goals: Sequence[Goal]) -> str:
    """The goals, one per line (what :func:`parse_goals` reads back)."""
    return "\n".join(goal.text() for goal in goals)


ICRU83 = "ICRU Report 83 (2010)"
QUANTEC_RECTUM = "QUANTEC, Michalski et al. 2010"
QUANTEC_BLADDER = "QUANTEC, Viswanathan et al. 2010"
TG119 = "AAPM TG-119, Ezzell et al. 2009"


def prostate_goals(prescription_gy: float = 70.0) -> list[Goal]:
    """The default prostate goals for a prescription of ``prescription_gy`` (see the module)."""
    rx = prescription_gy
    return [
        Goal("PTV", "D95", ">=", round(0.95 * rx, 2), ICRU83),
        Goal("PTV", "D2", "<=", round(1.07 * rx, 2), ICRU83),
        Goal("PTV", "V95%", ">=", 95.0, ICRU83),
        Goal("rectum", "V50Gy", "<=", 50.0, QUANTEC_RECTUM),
        Goal("rectum", "V60Gy", "<=", 35.0, QUANTEC_RECTUM),
        Goal("rectum", "V65Gy", "<=", 25.0, QUANTEC_RECTUM),
        Goal("rectum", "V70Gy", "<=", 20.0, QUANTEC_RECTUM),
        Goal("bladder", "V65Gy", "<=", 50.0, QUANTEC_BLADDER),
        Goal("bladder", "V70Gy", "<=", 35.0, QUANTEC_BLADDER),
    ]


def tg119_goals() -> list[Goal]:
    """The TG-119 C-shape goals (50 Gy prescription)."""
    return [
        Goal("OuterTarget", "D95", ">=", 50.0, TG119),
        Goal("OuterTarget", "D10", "<=", 55.0, TG119),
        Goal("Core", "D10", "<=", 25.0, TG119),
    ]


def goals_by_structure(goals: Sequence[Goal]) -> Mapping[str, list[Goal]]:
    grouped: dict[str, list[Goal]] = {}
    for goal in goals:
        grouped.setdefault(goal.structure, []).append(goal)
    return grouped
