"""The public neighbourhood pages: no sign-in. They show only what `saferhub publish neighbourhoods`
computed through the community package's disclosure control (a product the job wrote), plus the
hub's approved "you said, we did" summaries through `hub.services.public_plans`. Nothing here
computes figures or reads hub records."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, Response

from saferhub.api.deps import DB
from saferhub.community import render as R
from saferhub.community import service

router = APIRouter(prefix="/public", include_in_schema=False)
CACHE = {"Cache-Control": "public, max-age=300"}


def _store():
    from saferhub.config import settings

    return settings().store_path


def _model():
    model = service.public_model(_store())
    if model is None:
        raise HTTPException(404, "the neighbourhood pages have not been published yet (saferhub publish neighbourhoods)")
    return model


def _links() -> R.Links:
    return R.Links(static=False, has_survey=service.read_survey_product(_store()) is not None)


@router.get("/")
def index():
    return HTMLResponse(R.index_html(_model(), _links()), headers=CACHE)


@router.get("/survey")
def survey():
    s = service.read_survey_product(_store())
    if s is None:
        raise HTTPException(404, "no survey results have been published")
    return HTMLResponse(R.survey_html(s, _links()), headers=CACHE)


@router.get("/charts/{name:path}")
def chart(name: str):
    path = service.chart_file(name, _store())
    if path is None:
        raise HTTPException(404, "no such chart")
    return FileResponse(path, media_type="image/png", headers=CACHE)


@router.get("/csv/{name}")
def csv_file(name: str):
    model = _model()
    if name == "neighbourhoods.csv":
        text = R.summary_csv(model)
    elif name == "survey.csv" and service.read_survey_product(_store()):
        text = service.read_survey_product(_store())["csv"]
    else:
        ward = service.ward_page_data(model, name.removesuffix(".csv")) if name.endswith(".csv") else None
        if ward is None:
            raise HTTPException(404, "no such file")
        text = R.ward_csv(ward)
    return Response(text, media_type="text/csv; charset=utf-8",
                    headers=CACHE | {"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/{slug}")
def ward(slug: str, db: DB):
    model = _model()
    w = service.ward_page_data(model, slug, db)
    if w is None:
        raise HTTPException(404, "no such neighbourhood")
    return HTMLResponse(R.ward_html(model, w, _links()))
