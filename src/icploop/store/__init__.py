"""The app store: SQLAlchemy models, Alembic migrations, repositories."""
