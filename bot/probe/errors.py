"""The exceptions the probe raises on purpose: a request it will not run, and a request that is not one."""

from __future__ import annotations


class ProbeRefused(Exception):  # noqa: N818 - the name other modules use
    """The target or the request breaks a rule; `reason` is a sentence a member can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProbeRequestError(ProbeRefused):
    """What was typed is not a usable request (no port and no protocol, not a host name, an unknown protocol).

    A ProbeRefused, so the bot answers both alike; the command line tells this mistake in the request (a usage
    error) from a refusal by the guard's rules (a private address, a port off the list, a rate limit).
    """
