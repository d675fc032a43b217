"""What each OSARA stage may hold: one typed model per stage, with bounded text, lists and depth.

Writes are validated against these models (the API's body schema and `osara.validate_stage` use
the same classes), so a plan can never be saved holding an object where text belongs or content
nested hundreds of levels deep. Reads go through `readable`: content stored by an older version
that does not fit is reduced to the parts that do, and the rest is named (never a 500 for
everyone on the case because one write was odd)."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, ValidationError


def _no_nul(v: str) -> str:
    if "\x00" in v:
        raise ValueError("text must not contain NUL characters")
    return v


def _text(n: int):
    return Annotated[str, StringConstraints(strict=True, max_length=n), AfterValidator(_no_nul)]


Short, Long = _text(300), _text(5000)
Count = Annotated[int, Field(strict=True, ge=0, le=10**12)]
# a figure: an integer or a finite float (JSON booleans are not numbers here)
Figure = Union[Annotated[int, Field(strict=True, ge=-10**12, le=10**12)],
               Annotated[float, Field(strict=True, ge=-1e12, le=1e12, allow_inf_nan=False)]]
NonNegative = Union[Count, Annotated[float, Field(strict=True, ge=0, le=1e12, allow_inf_nan=False)]]
AgencyId = Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)]
MAX_ITEMS = 50


class _Content(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Baseline(_Content):
    count: Count
    period: Short | None = None
    source: Short | None = None


class Scanning(_Content):
    problem: Long | None = None
    baseline: Baseline | None = None
    data_sources: Annotated[list[Short], Field(max_length=MAX_ITEMS)] | None = None


class Analysis(_Content):
    """The problem analysis triangle: offender / victim / place and their controllers."""

    offender: Long | None = None
    victim: Long | None = None
    place: Long | None = None
    handler: Long | None = None
    guardian: Long | None = None
    manager: Long | None = None
    hypothesis: Long | None = None


class ResponseItem(_Content):
    description: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=5000),
                           AfterValidator(_no_nul)]
    partner_agency_id: AgencyId
    start: Short | None = None


class Response(_Content):
    responses: Annotated[list[ResponseItem], Field(max_length=MAX_ITEMS)]


class Assessment(_Content):
    """Hand-typed before/after figures, or the figures of an evaluation run (`saferhub evaluate`)."""

    before: NonNegative | None = None
    after: NonNegative | None = None
    evaluation_ref: Short | None = None
    displacement: Long | Figure | None = None
    notes: Long | None = None
    before_period: Short | None = None
    after_period: Short | None = None
    # copied from an evaluation run's summary (evaluate.service.summary_for_assessment)
    run_id: Short | None = None
    areas: Count | None = None
    result: Short | None = None
    headline: Long | None = None
    events_before: Count | None = None
    events_after: Count | None = None
    yoy_change_pct: Figure | None = None
    did_change_pct: Figure | None = None
    did_change_low_pct: Figure | None = None
    did_change_high_pct: Figure | None = None
    did_p: Figure | None = None
    significant: bool | None = None
    displacement_wdq: Figure | None = None
    wdd: Figure | None = None
    cost_avoided_low: Figure | None = None
    cost_avoided_high: Figure | None = None
    price_year: Short | None = None
    simulated: bool | None = None


MODELS: dict[str, type[_Content]] = {"scanning": Scanning, "analysis": Analysis, "response": Response,
                                     "assessment": Assessment}


def first_error(exc: ValidationError) -> str:
    """One plain sentence naming where the content is wrong (never the value itself)."""
    e = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(x) for x in e["loc"])[:120] or "content"
    return f"{where}: {e['msg']}"


def parse(stage: str, content):
    """The stored form of valid content (the stage model's fields as given): raises ValidationError."""
    model = MODELS[stage].model_validate(content)
    out = model.model_dump(mode="json", exclude_unset=True)
    return out["responses"] if stage == "response" else out


def readable(stage: str, stored) -> tuple[object, list[str]]:
    """(the parts of stored content that fit the stage's model, names of the parts left out). For
    content written by an older version without these limits; valid content comes back whole."""
    try:
        return parse(stage, {"responses": stored} if stage == "response" else stored), []
    except ValidationError:
        pass
    if stage == "response":
        items = stored if isinstance(stored, list) else []
        keep, dropped = [], [] if isinstance(stored, list) else ["responses"]
        for i, item in enumerate(items):
            try:
                keep.append(ResponseItem.model_validate(item).model_dump(mode="json", exclude_unset=True))
            except ValidationError:
                dropped.append(f"responses[{i}]")
        return keep, dropped
    if not isinstance(stored, dict):
        return {}, [stage]
    keep, dropped = {}, []
    for key, value in stored.items():
        try:
            keep.update(parse(stage, {key: value}))
        except (ValidationError, TypeError):
            dropped.append(f"{stage}.{str(key)[:60]}")
    return keep, dropped
