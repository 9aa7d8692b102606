"""A local Discord emulator for end-to-end tests: REST API and gateway on 127.0.0.1, driven by the real
client."""

from tests.e2e.emulator.limits import Problem
from tests.e2e.emulator.recording import GatewayFrame, Log, RestCall, StoredMessage, UploadedFile, Violation
from tests.e2e.emulator.server import CommandNotAvailable, DiscordEmulator, InteractionRecord, MemberAttachment
from tests.e2e.emulator.state import (
    BOT_TOKEN,
    Channel,
    ChannelType,
    DefaultWorld,
    Guild,
    Member,
    Overwrite,
    Perm,
    Role,
    ThreeGuildWorld,
    User,
    World,
)

__all__ = [
    "BOT_TOKEN",
    "Channel",
    "ChannelType",
    "CommandNotAvailable",
    "DefaultWorld",
    "DiscordEmulator",
    "GatewayFrame",
    "Guild",
    "InteractionRecord",
    "Log",
    "Member",
    "MemberAttachment",
    "Overwrite",
    "Perm",
    "Problem",
    "RestCall",
    "Role",
    "StoredMessage",
    "ThreeGuildWorld",
    "UploadedFile",
    "User",
    "Violation",
    "World",
]
