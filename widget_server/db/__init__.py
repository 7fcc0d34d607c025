"""Storage: one MetaData, the engine, and Alembic migrations."""
