"""The packaged migrations build exactly the models' schema, on SQLite and PostgreSQL, and undo."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from saferhub.hub.db import make_engine, upgrade
from saferhub.hub.models import Base


def test_migrated_schema_matches_models(db_url):
    engine = make_engine(db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert diff == []
        assert conn.execute(text("SELECT seq, hash FROM audit_head")).all() == [(0, "0" * 64)]
    engine.dispose()


def test_upgrade_is_idempotent_and_downgrade_removes_everything(db_url):
    upgrade(db_url)  # second run: no error, no change
    from alembic import command
    from alembic.config import Config

    from saferhub.hub.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db_url)
    command.downgrade(cfg, "base")
    engine = make_engine(db_url)
    left = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert left == set()
    upgrade(db_url)
    engine = make_engine(db_url)
    assert "cases" in inspect(engine).get_table_names()
    engine.dispose()
