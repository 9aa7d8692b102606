"""The bot's database (SQLAlchemy Core: SQLite by default, or PostgreSQL; Alembic migrations). Core: no Discord here."""

import logging

# Alembic narrates at INFO (its plugins as it is imported, each database it looks at); the store logs each migration
# itself. Set before anything imports Alembic, which may be after the command line configured logging.
logging.getLogger("alembic").setLevel(logging.WARNING)

from bot.storage.check import DatabaseStatus, UnusableDatabaseError, check_database  # noqa: E402
from bot.storage.records import (  # noqa: E402
    AnswerRecord,
    EntryFeedback,
    GuildConfig,
    LearnedPhrasing,
    MissRow,
    ProbeAuditRow,
)
from bot.storage.store import Storage, StorageError  # noqa: E402

__all__ = [
    "AnswerRecord",
    "DatabaseStatus",
    "EntryFeedback",
    "GuildConfig",
    "LearnedPhrasing",
    "MissRow",
    "ProbeAuditRow",
    "Storage",
    "StorageError",
    "UnusableDatabaseError",
    "check_database",
]
