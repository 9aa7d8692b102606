"""Run one probe: DNS, TCP, TLS, greeting, capabilities, STARTTLS, each timed, all inside one deadline."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import logging
import ssl
from typing import TYPE_CHECKING

from bot.probe.addresses import DnsLookupError, IPAddress, resolve_checked
from bot.probe.certificates import describe_certificate, sent_chain_length, tls_context
from bot.probe.channel import Channel, ConnectionClosedError, LimitExceededError, PlaintextReplyError
from bot.probe.dialogues import (
    DIALOGUES,
    Dialogue,
    GreetingRejectedError,
    StarttlsRefusedError,
    UnexpectedReplyError,
    identify,
    sanitize,
)
from bot.probe.errors import ProbeRefused
from bot.probe.guard import RequestTargets
from bot.probe.model import ErrorKind, ProbeError, ProbeResult, ProbeTarget, Security, Stage, TlsInfo
from bot.probe.progress import STAGE_STEPS, Progress

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Sequence

    from bot.probe.guard import ProbeLimits
    from bot.probe.progress import ProgressHook
    from bot.settings import Settings

log = logging.getLogger(__name__)

_MAIL_PROTOCOLS = {"smtp", "imap", "pop3"}
_GOODBYE_SECONDS = 1.0
_UNREACHABLE = {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}


class _ProbeFailureError(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class _Clock:
    """Times each stage into `result.stages`, remembers which one is running, and reports both as progress."""

    def __init__(self, result: ProbeResult, progress: Progress) -> None:
        self._result = result
        self._loop = asyncio.get_running_loop()
        self.current = Stage.DNS
        self._started = self._loop.time()
        self.progress = progress

    def begin(self, stage: Stage) -> None:
        self.current = stage
        self._started = self._loop.time()
        self.progress(STAGE_STEPS[stage], "running")

    def end(self, detail: str | None = None) -> None:
        elapsed_ms = (self._loop.time() - self._started) * 1000
        self._result.stages[self.current.value] = elapsed_ms
        # A stage that ends with its error already noted (a failed DNS lookup) is reported failed, not done.
        if self._result.error is None:
            shown = f"{elapsed_ms:.0f} ms" + (f", {detail}" if detail else "")
            self.progress(STAGE_STEPS[self.current], "done", shown)

    def note(self, detail: str) -> None:
        """Progress news about the stage that is running."""
        self.progress(STAGE_STEPS[self.current], "running", detail)


def _timeout_message(stage: Stage, seconds: float) -> str:
    limit = f"{seconds:g} s"
    return {
        Stage.DNS: f"the DNS lookup took longer than {limit}",
        Stage.TCP: f"the connection attempt got no answer within {limit}",
        Stage.TLS: f"the server did not complete the TLS handshake within {limit}",
        Stage.GREETING: f"the server accepted the connection but sent no greeting within {limit}",
    }.get(stage, f"the server stopped answering during {stage.value} (limit {limit})")


def _timeout_error(stage: Stage, seconds: float) -> ProbeError:
    # Out of time while resolving, the name could not be looked up: a DNS failure to the member.
    kind = ErrorKind.DNS_FAILED if stage is Stage.DNS else ErrorKind.TIMEOUT
    return ProbeError(stage, kind, _timeout_message(stage, seconds))


def _order(addresses: Sequence[IPAddress]) -> list[IPAddress]:
    # IPv4 first: a bot host without IPv6 routes would otherwise fail on reachable servers.
    return sorted(addresses, key=lambda address: address.version)


class _Attempt:
    """One connection and conversation; a second one runs when the first found an untrusted certificate."""

    def __init__(
        self, target: ProbeTarget, settings: Settings, result: ProbeResult, clock: _Clock, deadline: float
    ) -> None:
        self.target = target
        self.settings = settings
        self.result = result
        self.clock = clock
        self.deadline = deadline
        self.channel: Channel | None = None

    async def connect(self, addresses: Sequence[IPAddress]) -> Channel:
        self.clock.begin(Stage.TCP)
        last_error: OSError | None = None
        for address in addresses:
            self.result.address = str(address)
            try:
                channel = await Channel.connect(
                    str(address),
                    self.target.port,
                    line_limit=self.settings.probe_line_bytes,
                    total_limit=self.settings.probe_total_bytes,
                )
            except OSError as exc:  # try the next checked address, if any
                last_error = exc
                continue
            self.clock.end(str(address))
            self.channel = channel
            return channel
        assert last_error is not None
        if isinstance(last_error, ConnectionRefusedError):
            raise _ProbeFailureError(
                ErrorKind.CONNECTION_REFUSED,
                f"{self.result.address} refused the connection on port {self.target.port} (nothing listens there)",
            )
        if last_error.errno in _UNREACHABLE:
            raise _ProbeFailureError(ErrorKind.UNREACHABLE, f"no route to {self.result.address}: {last_error.strerror}")
        raise _ProbeFailureError(ErrorKind.CLOSED_EARLY, f"the connection failed: {last_error.strerror or last_error}")

    async def handshake(self, channel: Channel, verify: bool) -> None:
        self.clock.begin(Stage.TLS)
        context = tls_context(self.settings.probe_ca_file, verify=verify)
        try:
            await channel.start_tls(context, None if self.target.is_ip else self.target.host)
        except PlaintextReplyError as exc:
            first_line = exc.received.split(b"\n", 1)[0]
            if self.target.security is not Security.SSL:
                # It agreed to STARTTLS, then kept talking in clear: a broken server or a meddling middlebox.
                raise _ProbeFailureError(
                    ErrorKind.TLS_HANDSHAKE_FAILED,
                    f"after agreeing to STARTTLS the server sent plain text ({exc}): {sanitize(first_line, 100)}",
                ) from None
            detected = identify(exc.received)
            self.result.detected_protocol = detected
            if detected in _MAIL_PROTOCOLS or detected == "text":
                self.result.banner = sanitize(first_line)
                raise _ProbeFailureError(
                    ErrorKind.TLS_HANDSHAKE_FAILED,
                    f"TLS was expected but the server answered in plain text ({exc}): {sanitize(first_line, 100)}",
                ) from None
            raise _ProbeFailureError(
                ErrorKind.PROTOCOL_UNEXPECTED,
                f"TLS was expected but the server answered like {detected}: {sanitize(first_line, 100)}",
            ) from None
        except ssl.SSLCertVerificationError:
            raise
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionResetError):
            raise ConnectionClosedError(
                "the server closed the connection during the TLS handshake", during_tls=True
            ) from None
        except ssl.SSLError as exc:
            raise _ProbeFailureError(
                ErrorKind.TLS_HANDSHAKE_FAILED, f"the TLS handshake failed: {exc.reason or exc}"
            ) from None
        tls = channel.tls_object
        assert tls is not None
        self.clock.end(tls.version())
        cipher = tls.cipher()
        der = tls.getpeercert(binary_form=True)
        certificate = None
        if der:
            certificate = describe_certificate(
                der,
                host=self.target.host,
                is_ip=self.target.is_ip,
                trusted=verify,
                verify_error=None,
                chain_length=sent_chain_length(tls),
            )
        self.result.tls = TlsInfo(version=tls.version(), cipher=cipher[0] if cipher else None, certificate=certificate)

    async def run(self, addresses: Sequence[IPAddress], *, verify: bool) -> None:
        channel = await self.connect(addresses)
        dialogue: Dialogue = DIALOGUES[self.target.protocol](channel)
        security = self.target.security
        if security is Security.SSL:
            await self.handshake(channel, verify)

        self.clock.begin(Stage.GREETING)
        try:
            await dialogue.greeting()
        finally:
            if dialogue.banner_lines:
                self.result.banner = dialogue.banner
        self.clock.end(self.result.banner)

        self.clock.begin(Stage.CAPABILITIES)
        capabilities = await dialogue.capabilities()
        self.clock.end(" ".join(capabilities))
        self.result.capabilities = capabilities
        if security is not Security.SSL:
            self.result.starttls_offered = dialogue.starttls_offered(capabilities)

        if security is Security.STARTTLS:
            self.clock.begin(Stage.STARTTLS)
            if not self.result.starttls_offered:
                word = "STLS" if self.target.protocol.value == "pop3" else "STARTTLS"
                await self._goodbye(dialogue)
                raise _ProbeFailureError(
                    ErrorKind.STARTTLS_NOT_OFFERED,
                    f"the server does not offer {word} on port {self.target.port}",
                )
            await dialogue.starttls()
            self.clock.end("accepted")
            await self.handshake(channel, verify)
            self.result.capabilities_before_tls = capabilities
            self.clock.begin(Stage.CAPABILITIES_AFTER_TLS)
            self.result.capabilities = await dialogue.capabilities()
            self.clock.end(" ".join(self.result.capabilities))

        await self._goodbye(dialogue)

    async def _goodbye(self, dialogue: Dialogue) -> None:
        # Politeness only: a server that hangs up instead of answering QUIT/LOGOUT changes nothing, and waiting
        # for its answer must never push a finished probe past its deadline.
        budget = min(_GOODBYE_SECONDS, self.deadline - asyncio.get_running_loop().time() - 0.05)
        if budget <= 0:
            return
        with contextlib.suppress(Exception):
            async with asyncio.timeout(budget):
                await dialogue.goodbye()

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()


def _failure_from(exc: BaseException, stage: Stage, channel: Channel | None, result: ProbeResult) -> ProbeError:
    if isinstance(exc, _ProbeFailureError):
        return ProbeError(stage, exc.kind, str(exc))
    if isinstance(exc, ConnectionClosedError):
        return ProbeError(Stage.TLS if exc.during_tls else stage, ErrorKind.CLOSED_EARLY, str(exc))
    if isinstance(exc, ConnectionResetError):
        return ProbeError(stage, ErrorKind.CLOSED_EARLY, "the server reset the connection")
    if isinstance(exc, LimitExceededError):
        if channel is not None and result.detected_protocol is None:
            result.detected_protocol = identify(channel.pending_bytes())
        return ProbeError(stage, ErrorKind.PROTOCOL_UNEXPECTED, str(exc))
    if isinstance(exc, UnexpectedReplyError):
        result.detected_protocol = exc.detected
        if result.banner is None and stage is Stage.GREETING:
            result.banner = sanitize(exc.sample.split(b"\n", 1)[0])
        return ProbeError(stage, ErrorKind.PROTOCOL_UNEXPECTED, str(exc))
    if isinstance(exc, GreetingRejectedError):
        return ProbeError(stage, ErrorKind.GREETING_REJECTED, str(exc))
    if isinstance(exc, StarttlsRefusedError):
        return ProbeError(stage, ErrorKind.STARTTLS_REFUSED, str(exc))
    if isinstance(exc, ssl.SSLError):
        return ProbeError(stage, ErrorKind.TLS_HANDSHAKE_FAILED, f"TLS error: {exc.reason or exc}")
    if isinstance(exc, OSError):
        return ProbeError(stage, ErrorKind.CLOSED_EARLY, f"the connection failed: {exc.strerror or exc}")
    log.error("probe of %s stopped on an unexpected error", result.target.describe(), exc_info=exc)
    return ProbeError(
        stage,
        ErrorKind.PROTOCOL_UNEXPECTED,
        f"the probe stopped on an unexpected reply ({type(exc).__name__})",
    )


def _certificate_problem(result: ProbeResult) -> ProbeError | None:
    certificate = result.tls.certificate if result.tls else None
    if certificate is None:
        return None
    if certificate.expired:
        days = -certificate.days_left
        return ProbeError(
            Stage.TLS,
            ErrorKind.CERTIFICATE_EXPIRED,
            f"the certificate expired on {certificate.not_after[:10]} ({days} day{'s' if days != 1 else ''} ago)",
        )
    if not certificate.trusted:
        why = certificate.verify_error or "its issuer is not trusted"
        return ProbeError(Stage.TLS, ErrorKind.CERTIFICATE_UNTRUSTED, f"the certificate is not trusted: {why}")
    if not certificate.hostname_matches:
        names = ", ".join(certificate.sans[:5]) or certificate.subject
        return ProbeError(
            Stage.TLS,
            ErrorKind.HOSTNAME_MISMATCH,
            f"the certificate is for {names}, not {result.target.host}",
        )
    return None


async def _probe_addresses(
    target: ProbeTarget,
    addresses: Sequence[IPAddress],
    settings: Settings,
    *,
    result: ProbeResult,
    clock: _Clock,
    limit_seconds: float,
    deadline: float,
) -> None:
    ordered = _order(addresses)
    result.address = str(ordered[0])
    verify_error: str | None = None
    for verify in (True, False):
        attempt = _Attempt(target, settings, result, clock, deadline)
        try:
            await attempt.run(ordered, verify=verify)
        except ssl.SSLCertVerificationError as exc:
            # Ask again without verification, to report who the certificate names and why it failed.
            verify_error = exc.verify_message or str(exc)
            clock.note(f"the certificate did not verify ({verify_error}); connecting again to read it")
            result.banner = None
            result.capabilities = []
            result.capabilities_before_tls = None
            result.starttls_offered = None
            continue
        except TimeoutError:
            result.error = _timeout_error(clock.current, limit_seconds)
        except Exception as exc:  # noqa: BLE001 - hostile servers: every failure becomes a reported result
            result.error = _failure_from(exc, clock.current, attempt.channel, result)
        finally:
            await attempt.close()
        break
    if result.tls is not None and result.tls.certificate is not None and verify_error is not None:
        result.tls.certificate.trusted = False
        result.tls.certificate.verify_error = verify_error
    problem = _certificate_problem(result)
    if problem is not None and (result.error is None or result.error.stage is not Stage.TLS):
        result.error = problem


async def run_probe(
    target: ProbeTarget,
    settings: Settings,
    *,
    deadline: float | None = None,
    guard: ProbeLimits | None = None,
    progress: ProgressHook | None = None,
) -> ProbeResult:
    """Probe `target` within GUIDENEST_PROBE_TIMEOUT_SECONDS (or the earlier loop-time `deadline`).

    Raises ProbeRefused when the name resolves to any address the probe may not use, or, with `guard` (the one
    that admitted the probe with `target.key`), to an address that has had its probes for the hour: many names
    can lead to one server. Every other outcome, however the server behaves, comes back as a ProbeResult.
    `progress` hears each stage start and end (bot.probe.progress), and the refusal or the failure that ends it.
    """
    loop = asyncio.get_running_loop()
    started = loop.time()
    timeout = settings.probe_timeout_seconds
    end = started + timeout if deadline is None else min(deadline, started + timeout)

    async def addresses_of(result: ProbeResult, clock: _Clock) -> list[IPAddress]:
        if target.is_ip:
            return [ipaddress.ip_address(target.host)]
        clock.begin(Stage.DNS)
        try:
            addresses = await resolve_checked(target.host, settings, lifetime=end - loop.time())
        except DnsLookupError as exc:
            result.error = ProbeError(Stage.DNS, ErrorKind.DNS_FAILED, str(exc))
            addresses = []
        clock.end(", ".join(str(address) for address in addresses))
        if guard is not None and addresses:
            await RequestTargets(guard, counted=[target.key]).take(str(address) for address in addresses)
        return addresses

    return await _probe_within(
        target, settings, addresses_of, started=started, deadline=end, budget=timeout, progress=Progress(progress)
    )


async def probe_with_addresses(
    target: ProbeTarget, addresses: Sequence[IPAddress], settings: Settings, *, deadline: float
) -> ProbeResult:
    """Like run_probe for addresses already resolved and checked (discovery resolves each host once)."""
    started = asyncio.get_running_loop().time()

    async def given(result: ProbeResult, clock: _Clock) -> Sequence[IPAddress]:
        del result
        clock.begin(Stage.TCP)
        return addresses

    timeout = max(0.0, deadline - started)
    return await _probe_within(
        target, settings, given, started=started, deadline=deadline, budget=timeout, progress=Progress(None)
    )


async def _probe_within(
    target: ProbeTarget,
    settings: Settings,
    addresses_of: Callable[[ProbeResult, _Clock], Awaitable[Sequence[IPAddress]]],
    *,
    started: float,
    deadline: float,
    budget: float,
    progress: Progress,
) -> ProbeResult:
    """The one frame of every probe: find the addresses, try them before `deadline`, time it all.

    `budget` is the time the probe was given, named in a timeout's message.
    """
    loop = asyncio.get_running_loop()
    result = ProbeResult(target=target)
    clock = _Clock(result, progress)
    try:
        async with asyncio.timeout_at(deadline):
            try:
                addresses = await addresses_of(result, clock)
            except ProbeRefused as exc:
                progress(STAGE_STEPS[clock.current], "refused", exc.reason)
                raise
            if addresses:
                await _probe_addresses(
                    target,
                    addresses,
                    settings,
                    result=result,
                    clock=clock,
                    limit_seconds=budget,
                    deadline=deadline,
                )
    except TimeoutError:
        result.error = _timeout_error(clock.current, budget)
    result.ok = result.error is None
    result.elapsed_ms = (loop.time() - started) * 1000
    if result.error is not None:
        progress(STAGE_STEPS[result.error.stage], "failed", result.error.message)
    return result
