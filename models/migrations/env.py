"""Alembic environment: migrates the engine handed over in config.attributes."""

from alembic import context

import models  # noqa: F401  registers every table on Base.metadata
from models.base import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    raise RuntimeError("run migrations through models.db.upgrade(engine), which passes the engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
