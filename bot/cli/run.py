"""`guidenest run`: start the Discord bot, explain what to fix when it cannot start, stop cleanly on a signal.

Exit codes: 0 after a requested stop (SIGINT/SIGTERM), 2 for something the operator must fix (token, intent,
knowledge, database, health port), 1 when Discord cannot be reached or fails.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from bot.settings import env_name

if TYPE_CHECKING:
    import argparse

    from bot.app import GuideNestBot
    from bot.settings import Settings

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
REDACTED = "[token hidden]"

PORTAL_RESET_STEPS = "Discord Developer Portal → your application → Bot → Reset Token"
PORTAL_INTENT_STEPS = (
    "Discord Developer Portal → your application → Bot → Privileged Gateway Intents → "
    "enable MESSAGE CONTENT INTENT, then save"
)

MISSING_TOKEN = f"""guidenest: DISCORD_TOKEN is not set, so the bot cannot log in.
Get the bot's token from the {PORTAL_RESET_STEPS},
then put it in a .env file in this folder (copy .env.example; the line is DISCORD_TOKEN=...)
or export DISCORD_TOKEN in the environment."""

REJECTED_TOKEN = f"""guidenest: Discord rejected the bot token in DISCORD_TOKEN (401 Unauthorized).
It is mistyped, or it was reset (tokens stop working when reset or leaked). Get a new one from the
{PORTAL_RESET_STEPS}, and replace the DISCORD_TOKEN line in .env (no quotes, no "Bot " in front)."""

INTENT_NOT_ENABLED = f"""guidenest: Discord closed the connection: this bot's Message Content intent is off.
The bot reads the text of help messages to answer them, which needs this privileged intent. Turn it on:
{PORTAL_INTENT_STEPS}. Then start the bot again."""

# The gateway's own refusals at IDENTIFY (close codes), after the REST login went through.
GATEWAY_REJECTED_TOKEN = f"""guidenest: Discord's gateway rejected the bot token in DISCORD_TOKEN (close code 4004).
The login just before accepted it, so the token was most likely reset a moment ago. Get the new one from the
{PORTAL_RESET_STEPS}, and replace the DISCORD_TOKEN line in .env."""

INVALID_INTENTS = """guidenest: Discord's gateway refused the intents the bot asked for as invalid (close code 4013).
No setting of yours causes this: this discord.py and the gateway disagree on which intents exist. Update
Guide Nest and its dependencies (or check GUIDENEST_DISCORD_GATEWAY_URL points at Discord), then start again."""


def register(subcommands: Any) -> None:  # argparse's _SubParsersAction is private
    run = subcommands.add_parser(
        "run",
        help="start the Discord bot (needs DISCORD_TOKEN)",
        description=(
            "Start the Discord bot with the token in DISCORD_TOKEN (environment or .env). "
            "Stops cleanly on Ctrl+C or SIGTERM."
        ),
    )
    run.set_defaults(handler=run_bot)


class _HideSecret(logging.Filter):
    """Replace the token wherever it would appear in a log line, whatever logged it."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._secret in message:
            record.msg = message.replace(self._secret, REDACTED)
            record.args = None
        return True


def hide_secret_in_logs(secret: str) -> None:
    """Filter every handler of the root logger (where discord.py's and our records end up)."""
    secret_filter = _HideSecret(secret)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)


def _token(settings: Settings) -> str:
    raw = settings.discord_token.get_secret_value() if settings.discord_token else ""
    token = raw.strip().strip("\"'").strip()
    if token.lower().startswith("bot "):
        # A common paste from HTTP examples; discord.py adds the "Bot " prefix itself.
        log.warning("DISCORD_TOKEN starts with 'Bot '; using what follows it")
        token = token[4:].strip()
    return token


def _error(message: str, token: str) -> None:
    print(message.replace(token, REDACTED) if token else message, file=sys.stderr)


def run_bot(args: argparse.Namespace, settings: Settings) -> int:
    del args
    token = _token(settings)
    if not token:
        _error(MISSING_TOKEN, token)
        return 2
    hide_secret_in_logs(token)
    # Imported only now: registering the command must not load discord.py for every other command.
    import aiohttp
    import discord

    from bot.cli.db import refusal
    from bot.health import HealthServerError
    from bot.knowledge.loader import KnowledgeError
    from bot.storage import StorageError, check_database
    from bot.storage.check import DatabaseUnreachableError

    try:
        # Before anything else opens the file: a database the bot cannot write, or one that is damaged, newer or
        # locked, is refused here rather than found out by the first vote that fails to save.
        check_database(settings.database_target)
        return asyncio.run(serve(settings, token))
    except discord.LoginFailure:
        _error(REJECTED_TOKEN, token)
    except discord.PrivilegedIntentsRequired:
        _error(INTENT_NOT_ENABLED, token)
    except discord.ConnectionClosed as exc:
        refusals = {4004: GATEWAY_REJECTED_TOKEN, 4013: INVALID_INTENTS}
        if exc.code in refusals:
            _error(refusals[exc.code], token)
            return 2
        _error(f"guidenest: Discord closed the gateway connection (close code {exc.code}); cannot reconnect.", token)
        return 1
    except KnowledgeError as exc:
        _error(
            f"guidenest: the knowledge in {settings.knowledge_dir} has errors:\n{exc}\n"
            "Run `guidenest kb check` for the full report.",
            token,
        )
    except DatabaseUnreachableError as exc:
        _error(f"{refusal(exc, settings)}\nExiting with 1: worth trying again once the server is back.", token)
        return 1
    except StorageError as exc:
        _error(refusal(exc, settings), token)
    except HealthServerError as exc:
        _error(f"guidenest: health endpoint ({env_name('health_port')}): {exc}", token)
    except (aiohttp.ClientError, discord.GatewayNotFound, OSError, TimeoutError) as exc:
        _error(
            f"guidenest: cannot reach Discord at {settings.discord_api_base}: {exc or type(exc).__name__}\n"
            "Check the network connection (and a proxy or firewall), then try again.",
            token,
        )
        return 1
    except discord.HTTPException as exc:
        _error(f"guidenest: Discord refused a request at start: {exc.status} {exc.text}", token)
        return 1
    return 2


async def serve(settings: Settings, token: str) -> int:
    """Run the bot until SIGINT/SIGTERM, then close the gateway, the database and the health endpoint.

    The knowledge, the database and the health endpoint are opened before logging in, so a broken one is
    reported (KnowledgeError, StorageError, HealthServerError) without spending a gateway session on it.
    """
    from bot.app import create_bot

    loop = asyncio.get_running_loop()
    stop_requested = asyncio.Event()
    watched: list[signal.Signals] = []

    def on_signal(received: signal.Signals) -> None:
        if not stop_requested.is_set():
            log.info("%s received, shutting down", received.name)
        stop_requested.set()

    for watched_signal in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(watched_signal, on_signal, watched_signal)
            watched.append(watched_signal)
        except (NotImplementedError, RuntimeError):  # not on this platform; Ctrl+C still ends the process
            pass

    bot = create_bot(settings)
    try:
        async with bot:  # closes the bot and its services on the way out, whatever happened
            await bot.open_services()  # setup_hook, after login, then finds them open
            if not stop_requested.is_set():  # a signal while loading: no reason to log in at all
                await _run_until_stopped(bot, token, stop_requested)
    finally:
        for watched_signal in watched:
            loop.remove_signal_handler(watched_signal)
    log.info("stopped")
    return 0


async def _run_until_stopped(bot: GuideNestBot, token: str, stop_requested: asyncio.Event) -> None:
    """Log in and serve until a stop is requested (or the bot ends by itself, raising what ended it)."""
    running = asyncio.create_task(bot.start(token), name="guidenest: bot")
    waiting = asyncio.create_task(stop_requested.wait(), name="guidenest: wait for a signal")
    await asyncio.wait({running, waiting}, return_when=asyncio.FIRST_COMPLETED)
    if not stop_requested.is_set():
        waiting.cancel()
        await running  # raises what stopped the bot: a rejected token, the intent...
        log.info("the bot stopped")
        return
    await bot.close()
    try:
        await asyncio.wait_for(running, SHUTDOWN_GRACE_SECONDS)
    except TimeoutError:
        log.warning("the gateway did not close within %.0f s; stopping anyway", SHUTDOWN_GRACE_SECONDS)
    except Exception:  # what a closing connection raises no longer matters
        log.debug("error while shutting down", exc_info=True)
    # A signal during start can land while setup_hook is still loading cogs: close what it opened too.
    await bot.close_services()
