"""Guarded mail-server probe and mail-settings discovery (Discord-free; the CLI and the cog only translate).

Typical use (every step raises ProbeRefused with a reason a member can act on; ProbeRequestError, one kind of
it, when what was typed is not a usable request at all):

    target = parse_target("imap.example.com", None, "imap", "ssl", settings)
    async with guard.admit(user_key, guild_key, target.key):
        # Also refused when the name resolves privately, or to an address that has had its probes for the hour.
        result = await run_probe(target, settings, guard=guard, progress=print)  # progress: optional, live steps
    result.to_json(), diagnose(result)

    async with guard.admit(user_key, guild_key, domain):
        found = await discover(domain, settings, guard=guard)  # each host and address it reaches is counted

The names below load their modules on first use, so `bot.probe.model` (the enums the command line offers as
choices) can be imported without the network stack (aiohttp, dnspython, cryptography).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.probe.addresses import refusal_reason
    from bot.probe.autoconfig import AutoconfigResult, DeclaredServer
    from bot.probe.diagnosis import Diagnosis, diagnose
    from bot.probe.discovery import DiscoveryResult, Recommendation, discover
    from bot.probe.errors import ProbeRefused, ProbeRequestError
    from bot.probe.guard import ProbeGuard
    from bot.probe.model import (
        CertificateInfo,
        ErrorKind,
        MailProtocol,
        ProbeError,
        ProbeResult,
        ProbeTarget,
        Security,
        Stage,
        TlsInfo,
    )
    from bot.probe.probe import run_probe
    from bot.probe.progress import ProgressEvent, ProgressHook
    from bot.probe.target import normalize_domain, parse_target

_HOMES = {
    "refusal_reason": "addresses",
    "AutoconfigResult": "autoconfig",
    "DeclaredServer": "autoconfig",
    "Diagnosis": "diagnosis",
    "diagnose": "diagnosis",
    "DiscoveryResult": "discovery",
    "Recommendation": "discovery",
    "discover": "discovery",
    "ProbeRefused": "errors",
    "ProbeRequestError": "errors",
    "ProbeGuard": "guard",
    "CertificateInfo": "model",
    "ErrorKind": "model",
    "MailProtocol": "model",
    "ProbeError": "model",
    "ProbeResult": "model",
    "ProbeTarget": "model",
    "Security": "model",
    "Stage": "model",
    "TlsInfo": "model",
    "run_probe": "probe",
    "ProgressEvent": "progress",
    "ProgressHook": "progress",
    "normalize_domain": "target",
    "parse_target": "target",
}

__all__ = [
    "AutoconfigResult",
    "CertificateInfo",
    "DeclaredServer",
    "Diagnosis",
    "DiscoveryResult",
    "ErrorKind",
    "MailProtocol",
    "ProbeError",
    "ProbeGuard",
    "ProbeRefused",
    "ProbeRequestError",
    "ProbeResult",
    "ProbeTarget",
    "ProgressEvent",
    "ProgressHook",
    "Recommendation",
    "Security",
    "Stage",
    "TlsInfo",
    "diagnose",
    "discover",
    "normalize_domain",
    "parse_target",
    "refusal_reason",
    "run_probe",
]


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value  # looked up once
    return value
