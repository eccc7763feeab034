"""The app store: SQLAlchemy models, Alembic migrations, repositories.

The surfaces (``cli/``, ``web/``) read and write the store only through its repository
functions (this package) and the domain packages that own their queries (``flags/``, ``icp/``,
``review/``); they name a session by the aliases below and never import SQLAlchemy themselves.
"""

from typing import TypeAlias

from sqlalchemy.orm import Session, sessionmaker

SessionFactory: TypeAlias = sessionmaker[Session]

__all__ = ["Session", "SessionFactory"]
