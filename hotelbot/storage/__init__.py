"""SQLAlchemy 2 async storage: SQLite (aiosqlite, default) and PostgreSQL (asyncpg)."""
