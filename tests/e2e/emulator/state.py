"""The emulated Discord world: users, guilds, roles, channels, threads, members and the messages in them.

Objects hold what the emulator needs and render themselves as the JSON Discord sends (ids are strings,
timestamps ISO 8601). The payload shapes are the ones the client library was measured to need, plus the usual
neighbours.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import re
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1_420_070_400_000
BOT_TOKEN = "e2e-bot-token.not-a-real-secret"


class Perm(enum.IntFlag):
    """Permission bits, as Discord numbers them (only the ones the emulator reasons about)."""

    CREATE_INSTANT_INVITE = 1 << 0
    KICK_MEMBERS = 1 << 1
    BAN_MEMBERS = 1 << 2
    ADMINISTRATOR = 1 << 3
    MANAGE_CHANNELS = 1 << 4
    MANAGE_GUILD = 1 << 5
    ADD_REACTIONS = 1 << 6
    VIEW_CHANNEL = 1 << 10
    SEND_MESSAGES = 1 << 11
    MANAGE_MESSAGES = 1 << 13
    EMBED_LINKS = 1 << 14
    ATTACH_FILES = 1 << 15
    READ_MESSAGE_HISTORY = 1 << 16
    MENTION_EVERYONE = 1 << 17
    USE_EXTERNAL_EMOJIS = 1 << 18
    USE_APPLICATION_COMMANDS = 1 << 31
    MANAGE_THREADS = 1 << 34
    CREATE_PUBLIC_THREADS = 1 << 35
    CREATE_PRIVATE_THREADS = 1 << 36
    SEND_MESSAGES_IN_THREADS = 1 << 38


ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_PERMISSIONS = (
    Perm.VIEW_CHANNEL
    | Perm.SEND_MESSAGES
    | Perm.READ_MESSAGE_HISTORY
    | Perm.ADD_REACTIONS
    | Perm.EMBED_LINKS
    | Perm.ATTACH_FILES
    | Perm.USE_EXTERNAL_EMOJIS
    | Perm.USE_APPLICATION_COMMANDS
    | Perm.CREATE_PUBLIC_THREADS
    | Perm.SEND_MESSAGES_IN_THREADS
)


class ChannelType(enum.IntEnum):
    GUILD_TEXT = 0
    DM = 1
    GUILD_VOICE = 2
    GUILD_CATEGORY = 4
    GUILD_ANNOUNCEMENT = 5
    ANNOUNCEMENT_THREAD = 10
    PUBLIC_THREAD = 11
    PRIVATE_THREAD = 12
    GUILD_FORUM = 15


THREAD_TYPES = frozenset(
    {ChannelType.ANNOUNCEMENT_THREAD, ChannelType.PUBLIC_THREAD, ChannelType.PRIVATE_THREAD}
)
# Channels whose messages are sent with POST /channels/{id}/messages.
MESSAGEABLE_TYPES = (
    frozenset(
        {ChannelType.GUILD_TEXT, ChannelType.DM, ChannelType.GUILD_VOICE, ChannelType.GUILD_ANNOUNCEMENT}
    )
    | THREAD_TYPES
)

# Gateway intents, by Discord's bit numbers.
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_GUILD_MESSAGE_REACTIONS = 1 << 10
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_DIRECT_MESSAGE_REACTIONS = 1 << 13
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT

MESSAGE_FLAG_EPHEMERAL = 1 << 6
MESSAGE_FLAG_LOADING = 1 << 7
MESSAGE_FLAG_COMPONENTS_V2 = 1 << 15


def iso(moment: dt.datetime | None = None) -> str:
    return (moment or dt.datetime.now(dt.UTC)).isoformat()


class Snowflakes:
    """Discord-style ids: milliseconds since the Discord epoch in the high bits, so `created_at` is now."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        self._last = max(now, self._last + 1)
        return self._last

    def observe(self, used: int) -> None:
        """An id chosen by hand: never hand it out again."""
        self._last = max(self._last, used)


@dataclass
class User:
    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    @property
    def mention(self) -> str:
        return f"<@{self.id}>"

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class Role:
    id: int
    guild_id: int
    name: str
    permissions: int
    position: int = 0
    managed: bool = False

    @property
    def mention(self) -> str:
        return f"<@&{self.id}>"

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(int(self.permissions)),
            "position": self.position,
            "color": 0,
            "hoist": False,
            "managed": self.managed,
            "mentionable": False,
            "flags": 0,
        }


@dataclass
class Member:
    user: User
    guild_id: int
    roles: list[int] = field(default_factory=list)
    nick: str | None = None
    joined_at: str = field(default_factory=iso)

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def mention(self) -> str:
        return self.user.mention

    def payload(self, *, with_user: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "roles": [str(role_id) for role_id in self.roles],
            "nick": self.nick,
            "avatar": None,
            "joined_at": self.joined_at,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }
        if with_user:
            data["user"] = self.user.payload()
        return data


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (kind 0) or a member (kind 1)."""

    id: int
    kind: int
    allow: int = 0
    deny: int = 0

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.kind,
            "allow": str(int(self.allow)),
            "deny": str(int(self.deny)),
        }


@dataclass
class Channel:
    id: int
    type: ChannelType
    name: str
    guild_id: int | None = None
    position: int = 0
    parent_id: int | None = None
    topic: str | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    # Forums: the tags a post may carry.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    # Threads.
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    applied_tags: list[int] = field(default_factory=list)
    message_count: int = 0
    # DMs.
    recipients: list[User] = field(default_factory=list)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def tag_id(self, name: str) -> int:
        for tag in self.available_tags:
            if tag["name"] == name:
                return int(tag["id"])
        raise KeyError(f"forum {self.name!r} has no tag {name!r}")

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": int(self.type), "name": self.name, "flags": 0}
        if self.type == ChannelType.DM:
            data.pop("name")
            data["recipients"] = [user.payload() for user in self.recipients]
            data["last_message_id"] = None
            return data
        data.update(
            guild_id=str(self.guild_id),
            position=self.position,
            parent_id=str(self.parent_id) if self.parent_id else None,
            permission_overwrites=[overwrite.payload() for overwrite in self.overwrites],
            nsfw=False,
            rate_limit_per_user=0,
        )
        if self.type in (ChannelType.GUILD_TEXT, ChannelType.GUILD_ANNOUNCEMENT, ChannelType.GUILD_FORUM):
            data["topic"] = self.topic
            data["last_message_id"] = None
            data["default_auto_archive_duration"] = 1440
        if self.type == ChannelType.GUILD_FORUM:
            data.update(
                available_tags=self.available_tags,
                default_reaction_emoji=None,
                default_sort_order=None,
                default_forum_layout=0,
                default_thread_rate_limit_per_user=0,
            )
        if self.type == ChannelType.GUILD_VOICE:
            data.update(bitrate=64000, user_limit=0, rtc_region=None)
        if self.is_thread:
            data.pop("position")
            data.pop("permission_overwrites")
            data.update(
                owner_id=str(self.owner_id),
                message_count=self.message_count,
                total_message_sent=self.message_count,
                member_count=1,
                applied_tags=[str(tag) for tag in self.applied_tags],
                thread_metadata={
                    "archived": self.archived,
                    "locked": self.locked,
                    "auto_archive_duration": self.auto_archive_duration,
                    "archive_timestamp": iso(),
                    "create_timestamp": iso(),
                },
            )
        return data


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    world: World
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)

    @property
    def everyone(self) -> Role:
        return self.roles[self.id]

    @property
    def threads(self) -> list[Channel]:
        return [channel for channel in self.channels.values() if channel.is_thread]

    def add_role(self, name: str, permissions: int = 0, *, managed: bool = False) -> Role:
        role = Role(
            self.world.ids.next(), self.id, name, int(permissions), position=len(self.roles), managed=managed
        )
        self.roles[role.id] = role
        return role

    def add_member(self, user: User, roles: tuple[Role, ...] | list[Role] = ()) -> Member:
        member = Member(user, self.id, [role.id for role in roles])
        self.members[user.id] = member
        return member

    def _add_channel(self, channel: Channel) -> Channel:
        self.channels[channel.id] = channel
        self.world.channels[channel.id] = channel
        return channel

    def add_text_channel(
        self, name: str, *, topic: str | None = None, overwrites: list[Overwrite] | None = None
    ) -> Channel:
        return self._add_channel(
            Channel(
                self.world.ids.next(),
                ChannelType.GUILD_TEXT,
                name,
                guild_id=self.id,
                position=len(self.channels),
                topic=topic,
                overwrites=list(overwrites or []),
            )
        )

    def add_forum(self, name: str, *, tags: tuple[str, ...] = ()) -> Channel:
        available = [
            {
                "id": str(self.world.ids.next()),
                "name": tag,
                "moderated": False,
                "emoji_id": None,
                "emoji_name": None,
            }
            for tag in tags
        ]
        return self._add_channel(
            Channel(
                self.world.ids.next(),
                ChannelType.GUILD_FORUM,
                name,
                guild_id=self.id,
                position=len(self.channels),
                available_tags=available,
            )
        )

    def add_thread(
        self,
        parent: Channel,
        name: str,
        *,
        owner: User,
        thread_id: int | None = None,
        kind: ChannelType = ChannelType.PUBLIC_THREAD,
        applied_tags: list[int] | None = None,
    ) -> Channel:
        return self._add_channel(
            Channel(
                thread_id or self.world.ids.next(),
                kind,
                name,
                guild_id=self.id,
                parent_id=parent.id,
                owner_id=owner.id,
                applied_tags=list(applied_tags or []),
            )
        )

    def base_permissions(self, member: Member) -> int:
        if member.id == self.owner_id:
            return ALL_PERMISSIONS
        permissions = self.everyone.permissions
        for role_id in member.roles:
            permissions |= self.roles[role_id].permissions
        if permissions & Perm.ADMINISTRATOR:
            return ALL_PERMISSIONS
        return permissions

    def permissions_in(self, member: Member, channel: Channel | None) -> int:
        """Discord's algorithm: base permissions, then the channel's @everyone, role and member overwrites."""
        permissions = self.base_permissions(member)
        if permissions == ALL_PERMISSIONS or channel is None:
            return permissions
        if channel.is_thread and channel.parent_id is not None:
            channel = self.channels[channel.parent_id]
        overwrites = {overwrite.id: overwrite for overwrite in channel.overwrites}
        if everyone := overwrites.get(self.id):
            permissions = (permissions & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for role_id in member.roles:
            if overwrite := overwrites.get(role_id):
                allow |= overwrite.allow
                deny |= overwrite.deny
        permissions = (permissions & ~deny) | allow
        if own := overwrites.get(member.id):
            permissions = (permissions & ~own.deny) | own.allow
        return permissions

    def create_payload(self) -> dict[str, Any]:
        """GUILD_CREATE's data: the whole guild, with channels, threads, roles and members."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "region": None,
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "features": [],
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "max_members": 500000,
            "vanity_url_code": None,
            "application_id": None,
            "joined_at": iso(),
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "roles": [role.payload() for role in self.roles.values()],
            "channels": [channel.payload() for channel in self.channels.values() if not channel.is_thread],
            "threads": [thread.payload() for thread in self.threads if not thread.archived],
            "members": [member.payload() for member in self.members.values()],
            "emojis": [],
            "stickers": [],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


class World:
    """Everything that exists on the emulated Discord: the bot's application, users, guilds and channels."""

    def __init__(self, *, bot_name: str = "GuideNest") -> None:
        self.ids = Snowflakes()
        self.token = BOT_TOKEN
        self.bot_user = User(self.ids.next(), bot_name, bot=True)
        self.application_owner = User(self.ids.next(), "app-owner")
        self.users: dict[int, User] = {
            self.bot_user.id: self.bot_user,
            self.application_owner.id: self.application_owner,
        }
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}

    @property
    def application_id(self) -> int:
        # A bot's application id equals its user id on Discord.
        return self.bot_user.id

    def add_user(self, username: str, *, bot: bool = False) -> User:
        user = User(self.ids.next(), username, bot=bot)
        self.users[user.id] = user
        return user

    def add_guild(
        self,
        name: str,
        *,
        owner: User,
        bot_permissions: int = EVERYONE_PERMISSIONS,
        guild_id: int | None = None,
    ) -> Guild:
        if guild_id is not None:
            self.ids.observe(guild_id)
        guild = Guild(guild_id or self.ids.next(), name, owner.id, self)
        # The @everyone role shares the guild's id.
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", int(EVERYONE_PERMISSIONS))
        bot_role = guild.add_role(self.bot_user.username, bot_permissions, managed=True)
        guild.add_member(owner)
        guild.add_member(self.bot_user, [bot_role])
        self.guilds[guild.id] = guild
        return guild

    def open_dm(self, user: User) -> Channel:
        for channel in self.channels.values():
            if channel.type == ChannelType.DM and channel.recipients and channel.recipients[0].id == user.id:
                return channel
        channel = Channel(self.ids.next(), ChannelType.DM, "", recipients=[user])
        self.channels[channel.id] = channel
        return channel

    def guild_of(self, channel: Channel) -> Guild | None:
        return self.guilds.get(channel.guild_id) if channel.guild_id else None

    def application_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.application_id),
            "name": self.bot_user.username,
            "icon": None,
            "description": "Guide Nest end-to-end test application",
            "bot_public": True,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "owner": self.application_owner.payload(),
            "flags": 0,
            "team": None,
            "summary": "",
            "rpc_origins": [],
            "interactions_endpoint_url": None,
            "bot": self.bot_user.payload(),
        }


class DefaultWorld(World):
    """One help server: text channels, a read-only channel, a help forum with a post, a thread, four people.

    - `owner` owns the guild (all permissions); `moderator` has the Moderator role (Manage Server, Manage
      Messages, Manage Threads); `member` is an ordinary member; `helper` is a second ordinary member.
    - `general` and `help` are text channels; `announcements` denies Send Messages to everyone, the bot
      included; `help_thread` is a thread in `help`; `forum` is a forum with tags imap/smtp/pop3/solved, and
      `forum_post` a post in it by `member`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.owner = self.add_user("owner")
        self.moderator = self.add_user("moderator")
        self.member = self.add_user("member")
        self.helper = self.add_user("helper")
        guild = self.guild = self.add_guild("Guide Nest Test Server", owner=self.owner)
        self.moderator_role = guild.add_role(
            "Moderator", Perm.MANAGE_GUILD | Perm.MANAGE_MESSAGES | Perm.MANAGE_THREADS | Perm.KICK_MEMBERS
        )
        self.bot_role = guild.roles[guild.members[self.bot_user.id].roles[0]]
        guild.add_member(self.moderator, [self.moderator_role])
        guild.add_member(self.member)
        guild.add_member(self.helper)
        self.general = guild.add_text_channel("general")
        self.help = guild.add_text_channel("help", topic="Ask about your email client setup here")
        self.announcements = guild.add_text_channel(
            "announcements", overwrites=[Overwrite(guild.id, 0, deny=Perm.SEND_MESSAGES)]
        )
        self.forum = guild.add_forum("help-forum", tags=("imap", "smtp", "pop3", "solved"))
        self.help_thread = guild.add_thread(
            self.help, "Thunderbird keeps asking for a password", owner=self.member
        )
        self.forum_post = guild.add_thread(
            self.forum, "Outlook cannot connect", owner=self.member, applied_tags=[self.forum.tag_id("imap")]
        )



class ThreeGuildWorld(World):
    """Three guilds whose ids route them to alternating shards of two, for the sharding tests."""

    def __init__(self) -> None:
        super().__init__()
        owner = self.add_user("owner")
        # Discord routes a guild to shard (guild_id >> 22) % shard_count: ids one millisecond apart alternate.
        base = self.ids.next()
        for offset, name in enumerate(("first", "second", "third")):
            guild = self.add_guild(name, owner=owner, guild_id=base + (offset << 22))
            guild.add_text_channel("general")

_MENTION = re.compile(r"<@!?(\d+)>")
_ROLE_MENTION = re.compile(r"<@&(\d+)>")


def mentioned_user_ids(content: str) -> list[int]:
    return [int(found) for found in dict.fromkeys(_MENTION.findall(content))]


def mentioned_role_ids(content: str) -> list[int]:
    return [int(found) for found in dict.fromkeys(_ROLE_MENTION.findall(content))]


_counter = itertools.count(1)


def unique_token(prefix: str) -> str:
    """Interaction tokens: opaque, unique, long like Discord's."""
    return f"{prefix}-{next(_counter)}-{time.monotonic_ns():x}" + "x" * 40
