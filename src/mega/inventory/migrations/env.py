"""Alembic environment: the engine comes from Mega (``config.attributes['engine']``)."""

from alembic import context

from mega.inventory.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # plain `alembic` command line: use MEGA_DB_URL like everything else
    from mega.inventory.db import make_engine
    from mega.settings import load_settings

    engine = make_engine(load_settings().db_url)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
