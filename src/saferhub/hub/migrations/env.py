"""Alembic environment for the hub; run by `saferhub.hub.db.upgrade` (no alembic.ini needed)."""

from alembic import context
from sqlalchemy import pool

from saferhub.hub.db import make_engine
from saferhub.hub.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
