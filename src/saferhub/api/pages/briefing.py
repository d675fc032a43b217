"""The daily briefing page and its PDF (the morning meeting pack). The briefing's reads are hub
service calls (`saferhub.hub.services.briefing`, via `saferhub.briefing.assemble`): this page only
asks for the purpose when the briefing needs one and renders what comes back."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from saferhub.api.deps import DB
from saferhub.api.pages.common import ask_purpose, page_user, render, session_purpose
from saferhub.briefing import assemble, render as brender
from saferhub.hub import audit

router = APIRouter(prefix="/web", include_in_schema=False)


def _briefing(request: Request, db: DB):
    from saferhub.config import settings

    user = page_user(request, db)
    try:
        b = assemble.assemble(db, user, session_purpose(request), store=settings().store_path)
    except audit.MissingPurpose:
        db.rollback()
        return user, None
    db.commit()  # the reads' audit rows
    return user, b


@router.get("/briefing")
def briefing_page(request: Request, db: DB):
    user, b = _briefing(request, db)
    if b is None:
        return ask_purpose(request, user)
    return render(request, "briefing.html", user=user, b=b, title=brender.title_for(b))


@router.get("/briefing.pdf")
def briefing_pdf(request: Request, db: DB):
    user, b = _briefing(request, db)
    if b is None:
        return ask_purpose(request, user)
    name = f"briefing-{b.now:%Y-%m-%d}.pdf"
    return Response(brender.pdf_bytes(b), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
