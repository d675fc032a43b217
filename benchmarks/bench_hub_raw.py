"""The reference for benchmarks/bench_hub.py: the same 50-row open-case list, served by FastAPI
straight from the database driver (psycopg 3 async, a small per-process pool), with no sign-in,
access rules or audit. The hub's list is reported as a ratio to this, measured in the same run.

    SAFERHUB_BENCH_PG=postgresql://... uvicorn --factory bench_hub_raw:app
"""

from __future__ import annotations

import asyncio
import os

import psycopg
from fastapi import FastAPI

SQL = ("SELECT id, kind, title, status, risk, lead_agency_id, owner_id, locked, opened_on FROM cases "
       "WHERE status = 'open' ORDER BY id DESC LIMIT 50")
COLS = ("id", "kind", "title", "status", "risk", "lead_agency_id", "owner_id", "locked", "opened_on")


def app() -> FastAPI:
    api = FastAPI()
    pool: asyncio.Queue = asyncio.Queue()

    @api.on_event("startup")
    async def _open() -> None:
        for _ in range(10):
            pool.put_nowait(await psycopg.AsyncConnection.connect(os.environ["SAFERHUB_BENCH_PG"], autocommit=True))

    @api.get("/health")
    async def health() -> dict:
        return {"ok": True}

    @api.get("/cases")
    async def cases() -> list[dict]:
        conn = await pool.get()
        try:
            cur = await conn.execute(SQL, prepare=True)
            rows = await cur.fetchall()
        finally:
            pool.put_nowait(conn)
        return [dict(zip(COLS, r)) for r in rows]

    return api
