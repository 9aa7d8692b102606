"""Guarded mail-server probe and mail-settings discovery (Discord-free; the CLI and the cog only translate).

Typical use (every step raises ProbeRefused with a reason a member can act on):

    target = parse_target("imap.example.com", None, "imap", "ssl", settings)
    async with guard.admit(user_key, guild_key, target.key):
        # Also refused when the name resolves privately, or to an address that has had its probes for the hour.
        result = await run_probe(target, settings, guard=guard)
    result.to_json(), diagnose(result)

    async with guard.admit(user_key, guild_key, domain):
        found = await discover(domain, settings, guard=guard)  # each host and address it reaches is counted
"""

from __future__ import annotations

from bot.probe.addresses import refusal_reason
from bot.probe.autoconfig import AutoconfigResult, DeclaredServer
from bot.probe.diagnosis import Diagnosis, diagnose
from bot.probe.discovery import DiscoveryResult, Recommendation, discover
from bot.probe.errors import ProbeRefused
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
from bot.probe.target import normalize_domain, parse_target

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
    "ProbeResult",
    "ProbeTarget",
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
