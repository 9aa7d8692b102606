"""The one exception the probe raises on purpose: a request it will not run."""

from __future__ import annotations


class ProbeRefused(Exception):  # noqa: N818 - the name other modules use
    """The target or the request breaks a rule; `reason` is a sentence a member can act on."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
