"""Live progress of a probe or a discovery, for a surface that shows it as it happens (the command line).

`run_probe` and `discover` take an optional `progress` callable and call it with a ProgressEvent as each step
starts and ends; the result is the same with or without one. `what` names the step: a probe stage ("TLS
handshake"), or in a discovery an autoconfig URL, the SRV or MX lookup, or a server it probes ("IMAP
imap.example.com:993 SSL/TLS"). A step may report `running` more than once (with a new detail) before its
last event, which has one of the other states:
  done     it worked (a stage completed, a server answered as a mail server should, a lookup returned)
  failed   it was tried and did not work (no address in DNS, a timeout, a TLS error, an HTTP 404)
  refused  the guard would not let it run (a private address, a host at its hourly probe cap)
  stopped  it was cancelled unfinished: a better setting was already chosen, or the time ran out
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.probe.model import PROTOCOL_LABELS, SECURITY_LABELS, Stage

if TYPE_CHECKING:
    from bot.probe.model import ProbeTarget

log = logging.getLogger(__name__)

ProgressState = Literal["running", "done", "failed", "refused", "stopped"]

STAGE_STEPS = {
    Stage.DNS: "DNS lookup",
    Stage.TCP: "TCP connection",
    Stage.TLS: "TLS handshake",
    Stage.GREETING: "greeting",
    Stage.CAPABILITIES: "capabilities",
    Stage.STARTTLS: "STARTTLS",
    Stage.CAPABILITIES_AFTER_TLS: "capabilities after STARTTLS",
    Stage.CLOSE: "goodbye",
}


@dataclass(frozen=True)
class ProgressEvent:
    what: str
    state: ProgressState
    detail: str | None = None


ProgressHook = Callable[[ProgressEvent], None]


def server_step(target: ProbeTarget) -> str:
    """The step name of one server a discovery probes."""
    how = SECURITY_LABELS[target.security]
    return f"{PROTOCOL_LABELS[target.protocol]} {target.host}:{target.port} {how}"


class Progress:
    """Sends events to the hook, if any. A display that fails is switched off: it never changes a result."""

    def __init__(self, hook: ProgressHook | None) -> None:
        self._hook = hook

    def __call__(self, what: str, state: ProgressState, detail: str | None = None) -> None:
        if self._hook is None:
            return
        try:
            self._hook(ProgressEvent(what, state, detail))
        except Exception:
            log.warning("the progress display failed and is switched off", exc_info=True)
            self._hook = None
