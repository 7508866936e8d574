"""Alembic migrations; run them with `mlops-bot migrate` (see bot/migrate.py)."""
