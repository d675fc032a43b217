"""Versioned risk questionnaires -> score, band and next review date.

The ASB victim risk matrix follows the shape of the Home Office / ACPO ASB risk assessment
(vulnerability, impact and frequency questions, each 0/1 with some double-weighted); a higher
band means an earlier review. Questions and cut-offs are data, versioned: an assessment stores the
questionnaire name and version it was scored with, so old scores stay explainable."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from saferhub.errors import SaferhubError


@dataclass(frozen=True)
class Question:
    key: str
    text: str
    weight: int


@dataclass(frozen=True)
class Questionnaire:
    name: str
    version: int
    questions: tuple[Question, ...]
    bands: tuple[tuple[int, str, int], ...]  # (minimum score, band, days to next review), high first

    def score(self, answers: dict) -> tuple[int, str, int]:
        keys = {q.key for q in self.questions}
        unknown = set(answers) - keys
        if unknown:
            raise SaferhubError(f"{self.name} v{self.version}: unknown questions {sorted(unknown)}")
        missing = keys - set(answers)
        if missing:
            raise SaferhubError(f"{self.name} v{self.version}: unanswered questions {sorted(missing)}")
        for k, v in answers.items():
            if not isinstance(v, bool):
                raise SaferhubError(f"{self.name} v{self.version}: answer to {k!r} must be true or false")
        total = sum(q.weight for q in self.questions if answers[q.key])
        for minimum, band, days in self.bands:
            if total >= minimum:
                return total, band, days
        raise AssertionError("bands must end with a minimum of 0")

    def next_review(self, on: dt.date, answers: dict) -> tuple[int, str, dt.date]:
        total, band, days = self.score(answers)
        return total, band, on + dt.timedelta(days=days)


ASB_VICTIM_V1 = Questionnaire(
    "asb-victim-risk", 1,
    (
        Question("repeat", "Has the caller reported ASB before in the last 12 months?", 1),
        Question("targeted", "Does the caller feel they are being targeted (e.g. hate, personal)?", 2),
        Question("hate", "Is the ASB motivated by hostility to a protected characteristic?", 2),
        Question("disability", "Does the caller have a disability or long-term illness?", 1),
        Question("mental_health", "Is the caller's mental or physical health being affected?", 2),
        Question("alone", "Does the caller live alone or lack support?", 1),
        Question("afraid_home", "Is the caller afraid to be in or leave their home?", 2),
        Question("children", "Are children in the household affected?", 1),
        Question("daily_life", "Is the ASB affecting sleep, work or daily routine?", 1),
        Question("retaliation", "Does the caller fear retaliation for reporting?", 1),
    ),
    ((8, "high", 7), (4, "medium", 28), (0, "standard", 90)),
)

QUESTIONNAIRES = {(q.name, q.version): q for q in (ASB_VICTIM_V1,)}
LATEST = {name: max(v for n, v in QUESTIONNAIRES if n == name) for name, _ in QUESTIONNAIRES}


def get(name: str, version: int | None = None) -> Questionnaire:
    if name not in LATEST:
        raise SaferhubError(f"unknown questionnaire {name!r}; known: {', '.join(sorted(LATEST))}")
    version = LATEST[name] if version is None else version
    try:
        return QUESTIONNAIRES[(name, version)]
    except KeyError:
        raise SaferhubError(f"questionnaire {name!r} has no version {version}") from None
