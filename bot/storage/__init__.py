"""The bot's SQLite database (aiosqlite, WAL, versioned migrations). Core: no Discord here."""

from bot.storage.records import AnswerRecord, EntryFeedback, GuildConfig, MissRow, ProbeAuditRow
from bot.storage.store import Storage, StorageError

__all__ = [
    "AnswerRecord",
    "EntryFeedback",
    "GuildConfig",
    "MissRow",
    "ProbeAuditRow",
    "Storage",
    "StorageError",
]
