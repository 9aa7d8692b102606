"""The bot's database (SQLAlchemy Core: SQLite by default, or PostgreSQL; Alembic migrations). Core: no Discord here."""

from bot.storage.check import DatabaseStatus, UnusableDatabaseError, check_database
from bot.storage.records import AnswerRecord, EntryFeedback, GuildConfig, LearnedPhrasing, MissRow, ProbeAuditRow
from bot.storage.store import Storage, StorageError

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
