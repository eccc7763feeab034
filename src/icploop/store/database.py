"""Opening the app store and bringing its schema up to date with Alembic.

A workspace's store is always migrated, never rebuilt: ``open_store`` runs ``alembic upgrade
head`` on the configured database (SQLite in the workspace by default, PostgreSQL by URL).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from icploop.config import Settings, existing_workspace
from icploop.errors import IcploopError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def utcnow() -> dt.datetime:
    """The current time in UTC (the store's timestamps are timezone-aware)."""
    return dt.datetime.now(dt.UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A SQLAlchemy engine; SQLite gets foreign keys enforced (off by default in SQLite)."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        on_disk = engine.url.database not in (None, "", ":memory:")

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            if on_disk:
                # readers do not wait for a writer (the web app serves while someone tags)
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the store's schema to ``revision`` (default the newest), keeping its data."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except Exception as exc:
        raise IcploopError(
            f"cannot migrate the app store at {engine.url.render_as_string(hide_password=True)}: {exc}",
            "check ICPLOOP_DATABASE_URL and that the database is reachable and writable",
        ) from exc


def open_store(settings: Settings) -> sessionmaker[Session]:
    """A session factory for the workspace's app store, migrated to the newest schema.

    The store in the workspace folder is made on first use, but never the folder itself: a
    command on a workspace that does not exist refuses (``icploop init`` and ``icploop load``
    make one) instead of leaving an empty one behind."""
    url = settings.resolved_database_url()
    if url.startswith("sqlite:///") and not settings.database_url:
        existing_workspace(settings.workspace)
    engine = make_engine(url)
    migrate(engine)
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work is committed together, or rolled back on any error."""
    with factory() as session, session.begin():
        yield session
