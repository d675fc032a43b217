"""Problem-solving plans: OSARA (Objective, Scanning, Analysis, Response, Assessment).

Gates: a plan moves to the next stage only when the current stage is complete (what "complete"
means is `REQUIRED` below), so an assessment is never written before there was a response, and
every response names a partner. Analysis uses the problem analysis triangle (offender / victim /
place, with their controllers handler / guardian / manager). Assessment holds the before/after
figures from the evaluation module (and its report's reference).

`export_markdown` writes the plan in the structure of the Tilley and Goldstein award entries:
a summary, then Scanning, Analysis, Response, Assessment."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from saferhub.hub import osara_content as content_models
from saferhub.hub.errors import Conflict, Unprocessable

STAGES = ("objective", "scanning", "analysis", "response", "assessment", "closed")
TRIANGLE = ("offender", "victim", "place")
CONTROLLERS = ("handler", "guardian", "manager")


def _text(d: dict, key: str) -> bool:
    return isinstance(d.get(key), str) and d[key].strip() != ""


def validate_stage(stage: str, content) -> object:
    """Check a stage's content against its typed model (`osara_content`; shape and limits, not
    completeness) and return what to store."""
    if stage not in content_models.MODELS:
        raise Unprocessable(f"unknown stage {stage!r}")
    try:
        return content_models.parse(stage, content)
    except ValidationError as exc:
        raise Unprocessable(f"{stage} content: {content_models.first_error(exc)}") from None


@dataclass(frozen=True)
class View:
    """A plan's stages as they may be shown: stored content that fits its model (see
    `osara_content.readable`), and the names of parts left out because they do not."""

    title: str
    objective: str | None
    stage: str
    areas: list
    scanning: dict
    analysis: dict
    responses: list
    assessment: dict
    unreadable: list[str]


def view(plan) -> View:
    parts, bad = {}, []
    for stage, attr, empty in (("scanning", "scanning", {}), ("analysis", "analysis", {}),
                               ("response", "responses", []), ("assessment", "assessment", {})):
        stored = getattr(plan, attr)
        value, dropped = content_models.readable(stage, empty if stored is None else stored)
        parts[attr] = value
        bad += dropped
    areas = [a for a in (plan.areas if isinstance(plan.areas, list) else []) if isinstance(a, str)]
    return View(title=plan.title, objective=plan.objective, stage=plan.stage, areas=areas, unreadable=bad, **parts)


def missing(stage: str, plan) -> list[str]:
    """What the stage still needs before the plan can move on."""
    plan = plan if isinstance(plan, View) else view(plan)
    if stage == "objective":
        return [] if (plan.objective or "").strip() else ["objective"]
    if stage == "scanning":
        s = plan.scanning or {}
        need = [] if _text(s, "problem") else ["scanning.problem"]
        if not isinstance(s.get("baseline"), dict):
            need.append("scanning.baseline")
        return need
    if stage == "analysis":
        return [f"analysis.{k}" for k in TRIANGLE if not _text(plan.analysis or {}, k)]
    if stage == "response":
        return [] if plan.responses else ["at least one response with a partner"]
    if stage == "assessment":
        a = plan.assessment or {}
        return [f"assessment.{k}" for k in ("before", "after", "evaluation_ref") if k not in a]
    return []


def can_edit(plan_stage: str, stage: str) -> None:
    if STAGES.index(stage) > STAGES.index(plan_stage):
        raise Conflict(f"the plan is at {plan_stage}; finish it before writing {stage}")
    if plan_stage == "closed":
        raise Conflict("the plan is closed")


def next_stage(plan) -> str:
    if plan.stage == "closed":
        raise Conflict("the plan is closed")
    need = missing(plan.stage, plan)
    if need:
        raise Conflict(f"cannot leave {plan.stage}: missing {', '.join(need)}")
    return STAGES[STAGES.index(plan.stage) + 1]


def export_markdown(plan, agencies: dict[int, str]) -> str:
    """The award-entry structure (Tilley Award / Goldstein Award): summary, S, A, R, A."""
    plan = plan if isinstance(plan, View) else view(plan)
    s, a, a2 = plan.scanning or {}, plan.analysis or {}, plan.assessment or {}
    base = s.get("baseline") or {}
    lines = [f"# {plan.title}", "", "## Summary", "",
             f"Objective: {plan.objective}", "",
             f"Stage reached: {plan.stage}. Areas: {', '.join(plan.areas or []) or 'none linked'}.", "",
             "## Scanning", "", s.get("problem") or "(not written)", ""]
    if base:
        lines += [f"Baseline: {base.get('count')} incidents, {base.get('period') or 'period not given'}"
                  f" ({base.get('source') or 'source not given'}).", ""]
    lines += ["## Analysis", "", "Problem analysis triangle:", ""]
    for inner, outer in zip(TRIANGLE, CONTROLLERS):
        lines.append(f"- {inner.title()}: {a.get(inner, '(not written)')}"
                     + (f" — {outer}: {a[outer]}" if a.get(outer) else ""))
    if a.get("hypothesis"):
        lines += ["", f"Hypothesis: {a['hypothesis']}"]
    lines += ["", "## Response", ""]
    for r in plan.responses or []:
        lines.append(f"- {r['description']} (partner: {agencies.get(r['partner_agency_id'], r['partner_agency_id'])}"
                     + (f", from {r['start']}" if r.get("start") else "") + ")")
    if not plan.responses:
        lines.append("(no responses yet)")
    lines += ["", "## Assessment", ""]
    if "before" in a2 and "after" in a2:
        before, after = a2["before"], a2["after"]
        change = f"{(after - before) / before:+.1%}" if before else "n/a"
        lines.append(f"Before: {before}; after: {after}; change {change}.")
    for k in ("displacement", "evaluation_ref", "notes"):
        if a2.get(k) is not None:
            lines.append(f"{k.replace('_', ' ').title()}: {a2[k]}")
    if not a2:
        lines.append("(not assessed yet)")
    if plan.unreadable:
        lines += ["", f"Left out (stored in a form this version cannot show): {', '.join(plan.unreadable)}."]
    return "\n".join(lines) + "\n"
