"""Persistence: SQLAlchemy models, Alembic migrations, repositories and the recorder thread."""
