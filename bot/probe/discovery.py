"""Find a domain's mail settings the way a mail app does, and say which evidence supports each one.

Sources, best first: the provider's autoconfig file, DNS SRV records (RFC 6186, RFC 8314's `_submissions`),
then Thunderbird-style guesses (`imap.`, `pop3.`, `pop.`, `mail.`, `smtp.`, the bare domain) probed in
parallel with starts 100 ms apart. A guess wins once it succeeds and every better guess has failed, so the
whole discovery takes about one probe timeout even when some hosts never answer. MX records are reported as a
hint about the provider.

Every host the discovery connects to comes from DNS or a file its domain's owner controls, so with a guard each
one (and each of its addresses) takes a unit of the per-target hourly cap before the first connection; a
target at its cap is skipped and reported, never probed. A published server the probe refuses (a local name, a
private or metadata address) is never recommended: the next one its source lists is tried instead, and the
result says which were refused and why.

With a `progress` hook, each step is reported as it runs (bot.probe.progress): every autoconfig URL, the SRV
and MX lookups, and every server probed, with the state its row in the result ends with.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import dns.exception
import dns.name

from bot.probe.addresses import DnsLookupError, IPAddress, make_resolver, resolve_checked
from bot.probe.autoconfig import AutoconfigResult, DeclaredServer, autoconfig_urls, fetch_autoconfig
from bot.probe.diagnosis import diagnose
from bot.probe.errors import ProbeRefused
from bot.probe.guard import RequestTargets
from bot.probe.model import PROTOCOL_LABELS, SECURITY_LABELS, MailProtocol, ProbeResult, ProbeTarget, Security
from bot.probe.probe import probe_with_addresses
from bot.probe.progress import Progress, server_step
from bot.probe.target import normalize_domain, normalize_host, parse_target

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from bot.probe.guard import ProbeLimits
    from bot.probe.progress import ProgressHook, ProgressState
    from bot.settings import Settings

_T = TypeVar("_T")

STAGGER_SECONDS = 0.1
INCOMING = "incoming"
OUTGOING = "outgoing"
DIRECTIONS = (INCOMING, OUTGOING)

# (protocol, security, port, host prefixes): Thunderbird's guesses, best first. IMAP before POP3, SSL/TLS
# before
# STARTTLS; for sending 465, then 587, then 25.
_GUESS_PLAN: dict[str, list[tuple[MailProtocol, Security, int, tuple[str, ...]]]] = {
    INCOMING: [
        (MailProtocol.IMAP, Security.SSL, 993, ("imap.", "mail.", "")),
        (MailProtocol.IMAP, Security.STARTTLS, 143, ("imap.", "mail.", "")),
        (MailProtocol.POP3, Security.SSL, 995, ("pop3.", "pop.", "mail.", "")),
        (MailProtocol.POP3, Security.STARTTLS, 110, ("pop3.", "pop.", "mail.", "")),
    ],
    OUTGOING: [
        (MailProtocol.SMTP, Security.SSL, 465, ("smtp.", "mail.", "")),
        (MailProtocol.SMTP, Security.STARTTLS, 587, ("smtp.", "mail.", "")),
        (MailProtocol.SMTP, Security.STARTTLS, 25, ("smtp.", "mail.", "")),
    ],
}
# RFC 6186 services (and RFC 8314's `_submissions`), in the order we prefer them.
SRV_SERVICES: list[tuple[str, str, MailProtocol, Security]] = [
    ("_imaps._tcp", INCOMING, MailProtocol.IMAP, Security.SSL),
    ("_imap._tcp", INCOMING, MailProtocol.IMAP, Security.STARTTLS),
    ("_pop3s._tcp", INCOMING, MailProtocol.POP3, Security.SSL),
    ("_pop3._tcp", INCOMING, MailProtocol.POP3, Security.STARTTLS),
    ("_submissions._tcp", OUTGOING, MailProtocol.SMTP, Security.SSL),
    ("_submission._tcp", OUTGOING, MailProtocol.SMTP, Security.STARTTLS),
]


@dataclass(frozen=True)
class SrvRecord:
    service: str
    priority: int
    weight: int
    port: int
    target: str  # "." means the service is explicitly not offered (RFC 6186 section 3.4)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "priority": self.priority,
            "weight": self.weight,
            "port": self.port,
            "target": self.target,
        }


@dataclass
class _Outcome:
    result: ProbeResult | None = None
    skipped: str | None = None
    capped: bool = False  # skipped because a host or address has had its probes for the hour
    refused: bool = False  # skipped because the probe may never go there (a local name, a private address)


@dataclass
class _Candidate:
    direction: str
    target: ProbeTarget
    source: str  # "autoconfig", "srv" or "guess"
    origin: str  # one sentence: where this setting came from
    task: asyncio.Task[_Outcome] | None = None
    skipped: str | None = None  # set when it could not even be tried (refused target)

    def outcome(self) -> _Outcome | None:
        if self.skipped is not None:
            return _Outcome(skipped=self.skipped, refused=True)
        if self.task is None or not self.task.done() or self.task.cancelled():
            return None
        return self.task.result()

    @property
    def finished(self) -> bool:
        return self.skipped is not None or (self.task is not None and self.task.done())

    @property
    def refused(self) -> bool:
        outcome = self.outcome()
        return outcome is not None and outcome.refused

    @property
    def succeeded(self) -> bool:
        outcome = self.outcome()
        return outcome is not None and outcome.result is not None and outcome.result.ok

    def status(self) -> str:
        outcome = self.outcome()
        if outcome is None:
            return "not finished"
        if outcome.skipped is not None:
            return "not probed"
        assert outcome.result is not None
        return outcome.result.outcome

    def label(self) -> str:
        return f"{self.target.host}:{self.target.port} {SECURITY_LABELS[self.target.security]}"


@dataclass(frozen=True)
class Refusal(DeclaredServer):
    """A server the provider published that the probe would not contact, so it is not recommended."""

    origin: str  # where it was published (`source` is "autoconfig" or "srv")
    reason: str

    def describe(self) -> str:
        where = "the provider's autoconfig file" if self.source == "autoconfig" else "a DNS SRV record"
        server = f"{PROTOCOL_LABELS[self.protocol]} {self.host} port {self.port}"
        return f"{server} ({self.direction}, from {where}): {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {**super().to_json(), "origin": self.origin, "reason": self.reason}


@dataclass
class Recommendation:
    direction: str
    protocol: MailProtocol
    host: str
    port: int
    security: Security
    source: str
    evidence: list[str]
    probe: ProbeResult | None

    def describe(self) -> str:
        how = SECURITY_LABELS[self.security]
        return f"{PROTOCOL_LABELS[self.protocol]} {self.host} port {self.port} with {how}"

    def to_json(self) -> dict[str, Any]:
        probe: dict[str, Any] | None = None
        if self.probe is not None:
            probe = {
                "ok": self.probe.ok,
                "outcome": self.probe.outcome,
                "address": self.probe.address,
                "tls_version": self.probe.tls.version if self.probe.tls else None,
                "elapsed_ms": round(self.probe.elapsed_ms, 1),
                "diagnosis": diagnose(self.probe).summary,
            }
        return {
            "protocol": self.protocol.value,
            "host": self.host,
            "port": self.port,
            "security": self.security.value,
            "source": self.source,
            "evidence": list(self.evidence),
            "probe": probe,
        }


@dataclass
class DiscoveryResult:
    domain: str
    incoming: Recommendation | None = None
    outgoing: Recommendation | None = None
    mx: list[tuple[int, str]] = field(default_factory=list)
    srv: list[SrvRecord] = field(default_factory=list)
    autoconfig: AutoconfigResult | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)  # published servers passed over, as they were found refused
    notes: list[str] = field(default_factory=list)
    elapsed_ms: float = 0.0

    @property
    def outcome(self) -> str:
        found = (self.incoming is not None) + (self.outgoing is not None)
        return {2: "found", 1: "partial", 0: "nothing"}[found]

    def summary(self) -> str:
        parts = []
        for label, item in (("Incoming", self.incoming), ("Outgoing", self.outgoing)):
            parts.append(f"{label}: {item.describe()} (from {item.source})." if item else f"{label}: not found.")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "outcome": self.outcome,
            "summary": self.summary(),
            "entry": "email-settings-discovery",
            "incoming": self.incoming.to_json() if self.incoming else None,
            "outgoing": self.outgoing.to_json() if self.outgoing else None,
            "mx": [{"preference": preference, "host": host} for preference, host in self.mx],
            "srv": [record.to_json() for record in self.srv],
            "autoconfig": self.autoconfig.to_json() if self.autoconfig else None,
            "candidates": list(self.candidates),
            "refused": [refusal.to_json() for refusal in self.refused],
            "notes": list(self.notes),
            "elapsed_ms": round(self.elapsed_ms, 1),
        }


async def lookup_srv(domain: str, settings: Settings, lifetime: float) -> list[SrvRecord]:
    try:
        resolver = make_resolver(settings, lifetime)
    except DnsLookupError:
        return []

    async def one(service: str) -> list[SrvRecord]:
        name = dns.name.from_text(f"{service}.{domain}.")
        try:
            answer = await resolver.resolve(name, "SRV", search=False)
        except dns.exception.DNSException:
            return []
        records = [
            SrvRecord(service, rdata.priority, rdata.weight, rdata.port, rdata.target.to_text().rstrip(".") or ".")
            for rdata in answer
        ]
        return sorted(records, key=lambda record: (record.priority, -record.weight))

    found = await asyncio.gather(*(one(service) for service, *_ in SRV_SERVICES))
    return [record for records in found for record in records]


async def lookup_mx(domain: str, settings: Settings, lifetime: float) -> list[tuple[int, str]]:
    try:
        resolver = make_resolver(settings, lifetime)
    except DnsLookupError:
        return []
    try:
        answer = await resolver.resolve(dns.name.from_text(f"{domain}."), "MX", search=False)
    except dns.exception.DNSException:
        return []
    return sorted((rdata.preference, rdata.exchange.to_text().rstrip(".")) for rdata in answer)


_SOURCE_WORDS = {"guess": "guessed", "srv": "from a DNS SRV record", "autoconfig": "from the autoconfig file"}


def _outcome_progress(outcome: _Outcome) -> tuple[ProgressState, str]:
    """How a probed server's outcome ends its progress row: the same verdict its row in the result gives."""
    if outcome.skipped is not None:
        return ("refused" if outcome.refused or outcome.capped else "failed"), outcome.skipped
    assert outcome.result is not None
    result = outcome.result
    if result.ok:
        version = f" over {result.tls.version}" if result.tls and result.tls.version else ""
        return "done", f"{result.address} answered{version} in {result.elapsed_ms:.0f} ms"
    return "failed", result.error.message if result.error else result.outcome


def _autoconfig_progress(outcome: str) -> ProgressState:
    if outcome == "ok":
        return "done"
    # "refused: ..." (a private address) and "not fetched: ..." (a host at its hourly cap) are the guard's.
    return "refused" if outcome.startswith(("refused:", "not fetched:")) else "failed"


def _srv_summary(records: list[SrvRecord]) -> str:
    found = [
        f"{record.service} not offered" if record.target == "." else f"{record.service} {record.target}:{record.port}"
        for record in records
    ]
    return ", ".join(found) or "none published"


def _mx_summary(records: list[tuple[int, str]]) -> str:
    return ", ".join(f"{host} ({preference})" for preference, host in records) or "none published"


def _declared_from_srv(records: list[SrvRecord], domain: str) -> list[DeclaredServer]:
    declared = []
    for service, direction, protocol, security in SRV_SERVICES:
        for record in records:
            if record.service == service and record.target not in {".", ""}:
                source = f"DNS SRV record {service}.{domain} points to {record.target} port {record.port}"
                declared.append(DeclaredServer(direction, protocol, record.target, record.port, security, source))
    return declared


class _Discovery:
    def __init__(self, domain: str, settings: Settings, targets: RequestTargets | None, progress: Progress) -> None:
        self.domain = domain
        self.settings = settings
        self.targets = targets
        self.progress = progress
        # Why the steps still running at the end were cancelled, for their progress rows.
        self.stop_reason = "stopped"
        self.loop = asyncio.get_running_loop()
        self.started = self.loop.time()
        timeout = settings.probe_timeout_seconds
        self.timeout = timeout
        # A little past one timeout, so the first guesses get their whole timeout and can report it.
        self.end = self.started + timeout + min(1.0, max(0.5, timeout * 0.1))
        self.hosts: dict[str, asyncio.Task[list[IPAddress]]] = {}
        self.by_key: dict[tuple[str, int, MailProtocol, Security], _Candidate] = {}
        self.guesses: dict[str, list[_Candidate]] = {direction: [] for direction in DIRECTIONS}
        self.declared: dict[str, dict[str, _Candidate | None]] = {}
        # The servers each source lists per direction that have not been tried yet, and those refused so far.
        self.waiting: dict[str, dict[str, list[DeclaredServer]]] = {}
        self.refused: list[_Candidate] = []
        self.stopping = False
        self.tasks: list[asyncio.Task[Any]] = []
        self.notes: list[str] = []
        self.srv_task: asyncio.Task[list[SrvRecord]] | None = None
        self.mx_task: asyncio.Task[list[tuple[int, str]]] | None = None
        self.autoconfig_task: asyncio.Task[AutoconfigResult] | None = None

    def _spawn(self, awaitable: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(awaitable)
        self.tasks.append(task)
        return task

    def _remaining(self) -> float:
        return max(0.1, self.end - self.loop.time())

    def _addresses(self, host: str) -> asyncio.Task[list[IPAddress]]:
        if host not in self.hosts:
            self.hosts[host] = self._spawn(resolve_checked(host, self.settings, lifetime=self._remaining()))
        return self.hosts[host]

    async def _step(self, what: str, work: Awaitable[_T], summary: Callable[[_T], str]) -> _T:
        """A lookup, reported as a progress step."""
        self.progress(what, "running")
        try:
            value = await work
        except asyncio.CancelledError:
            self.progress(what, "stopped", self.stop_reason)
            raise
        self.progress(what, "done", summary(value))
        return value

    async def _autoconfig(self) -> AutoconfigResult:
        """The autoconfig fetch, one progress step per URL (they are fetched together)."""
        urls = autoconfig_urls(self.domain)
        for url in urls:
            self.progress(url, "running")
        try:
            found = await fetch_autoconfig(self.domain, self.settings, deadline=self.end, targets=self.targets)
        except asyncio.CancelledError:
            for url in urls:
                self.progress(url, "stopped", self.stop_reason)
            raise
        for url, outcome in found.attempts:
            detail = f"lists {len(found.servers)} servers" if url == found.url else outcome
            self.progress(url, _autoconfig_progress(outcome), detail)
        return found

    async def _probe(self, candidate: _Candidate, delay: float) -> _Outcome:
        step = server_step(candidate.target)
        self.progress(step, "running", f"{_SOURCE_WORDS[candidate.source]}; looking up {candidate.target.host}")
        try:
            outcome = await self._try(step, candidate.target, delay)
        except asyncio.CancelledError:
            self.progress(step, "stopped", self.stop_reason)
            raise
        self.progress(step, *_outcome_progress(outcome))
        return outcome

    async def _try(self, step: str, target: ProbeTarget, delay: float) -> _Outcome:
        # Names resolve at once (a missing name fails fast); only the connections are staggered.
        try:
            addresses = await self._addresses(target.host)
        except ProbeRefused as exc:
            return _Outcome(skipped=exc.reason, refused=True)
        except DnsLookupError as exc:
            return _Outcome(skipped=str(exc))
        wait = self.started + delay - self.loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if self.targets is not None:
            # Counted when the connection is about to be made: a guess cancelled before its turn costs nothing.
            try:
                await self.targets.take([target.host, *(str(address) for address in addresses)])
            except ProbeRefused as exc:
                return _Outcome(skipped=exc.reason, capped=True)
        self.progress(step, "running", f"probing {', '.join(str(address) for address in addresses)}")
        deadline = min(self.loop.time() + self.timeout, self.end)
        return _Outcome(result=await probe_with_addresses(target, addresses, self.settings, deadline=deadline))

    def _add(self, candidate: _Candidate, delay: float) -> _Candidate:
        key = (
            candidate.target.host,
            candidate.target.port,
            candidate.target.protocol,
            candidate.target.security,
        )
        existing = self.by_key.get(key)
        if existing is not None:
            candidate.task = existing.task
            candidate.skipped = existing.skipped
        else:
            if not self.stopping:  # one declared as the time ran out is shown unprobed
                candidate.task = self._spawn(self._probe(candidate, delay))
            self.by_key[key] = candidate
        return candidate

    def _plan_guesses(self) -> None:
        for direction in DIRECTIONS:
            order = 0
            for protocol, security, port, prefixes in _GUESS_PLAN[direction]:
                for prefix in prefixes:
                    host = f"{prefix}{self.domain}"
                    try:
                        normalize_host(host)
                    except ProbeRefused:
                        continue
                    if port not in self.settings.probe_allowed_ports:
                        continue
                    target = ProbeTarget(host=host, port=port, protocol=protocol, security=security)
                    how = SECURITY_LABELS[security]
                    origin = f"Guessed the way Thunderbird does: {host} port {port} with {how}."
                    candidate = _Candidate(direction, target, "guess", origin)
                    self.guesses[direction].append(self._add(candidate, order * STAGGER_SECONDS))
                    order += 1

    def _declare(self, source: str, servers: list[DeclaredServer]) -> None:
        self.waiting[source] = {direction: [s for s in servers if s.direction == direction] for direction in DIRECTIONS}
        self.declared[source] = dict.fromkeys(DIRECTIONS)
        for direction in DIRECTIONS:
            self._advance(source, direction)

    def _declared_candidate(self, source: str, server: DeclaredServer, passed_over: int) -> _Candidate:
        if source == "srv":
            origin = f"{server.source}."
        elif passed_over:
            origin = f"The provider's autoconfig file {server.source} lists it next, after {passed_over} refused."
        else:
            origin = f"The provider's autoconfig file {server.source} lists it first."
        try:
            target = parse_target(server.host, server.port, server.protocol.value, server.security.value, self.settings)
        except ProbeRefused as exc:
            fallback = ProbeTarget(server.host, server.port, server.protocol, server.security)
            self.progress(server_step(fallback), "refused", exc.reason)
            return _Candidate(server.direction, fallback, source, origin, skipped=exc.reason)
        return self._add(_Candidate(server.direction, target, source, origin), 0.0)

    def _advance(self, source: str, direction: str) -> None:
        """Pass over a refused server: the next one the source lists for `direction` is tried in its place."""
        picks = self.declared[source]
        waiting = self.waiting[source][direction]
        while True:
            current = picks[direction]
            if current is not None:
                if not current.refused:
                    return
                self.refused.append(current)
                picks[direction] = None
            if not waiting:
                return
            passed_over = sum(1 for c in self.refused if c.source == source and c.direction == direction)
            picks[direction] = self._declared_candidate(source, waiting.pop(0), passed_over)

    def _absorb_sources(self) -> None:
        if "autoconfig" not in self.declared and self.autoconfig_task is not None and self.autoconfig_task.done():
            servers = [] if self.autoconfig_task.cancelled() else self.autoconfig_task.result().servers
            self._declare("autoconfig", servers)
        if "srv" not in self.declared and self.srv_task is not None and self.srv_task.done():
            records = [] if self.srv_task.cancelled() else self.srv_task.result()
            self._declare("srv", _declared_from_srv(records, self.domain))
        # A declared server found refused only once its name resolved gives way to the next one listed.
        for source in self.declared:
            for direction in DIRECTIONS:
                self._advance(source, direction)

    def _choose(self, direction: str, *, final: bool) -> tuple[bool, _Candidate | None]:
        """(decided, winner). Not decided while a better source or a better guess may still win."""
        for source in ("autoconfig", "srv"):
            if source not in self.declared:
                if final:
                    continue
                return False, None
            candidate = self.declared[source][direction]
            if candidate is not None and not candidate.refused:
                if not candidate.finished and not final:
                    return False, None
                return True, candidate
        for candidate in self.guesses[direction]:
            if candidate.succeeded:
                return True, candidate
            if not candidate.finished and not final:
                return False, None
        return True, None

    async def run(self) -> None:
        lifetime = self._remaining()
        self.srv_task = self._spawn(
            self._step("DNS SRV records", lookup_srv(self.domain, self.settings, lifetime), _srv_summary)
        )
        self.mx_task = self._spawn(
            self._step("DNS MX records", lookup_mx(self.domain, self.settings, lifetime), _mx_summary)
        )
        self.autoconfig_task = self._spawn(self._autoconfig())
        self._plan_guesses()
        while True:
            self._absorb_sources()
            decided = all(self._choose(direction, final=False)[0] for direction in DIRECTIONS)
            if decided and self.mx_task.done():
                self.stop_reason = "not needed: a better server was chosen"
                return
            pending = [task for task in self.tasks if not task.done()]
            remaining = self.end - self.loop.time()
            if not pending or remaining <= 0:
                self.stop_reason = "out of time"
                return
            await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)

    async def stop(self) -> None:
        self.stopping = True  # no probe starts once the time is up
        for task in self.tasks:
            if not task.done():
                task.cancel()
        # Collect every outcome (and exception) so nothing is left unobserved.
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self._absorb_sources()

    def _evidence(self, winner: _Candidate, direction: str) -> list[str]:
        evidence = [winner.origin]
        outcome = winner.outcome()
        if outcome is None:
            evidence.append("The probe did not finish within the time limit.")
        elif outcome.skipped is not None:
            evidence.append(f"Not probed: {outcome.skipped}")
        elif outcome.result is not None:
            result = outcome.result
            if result.ok:
                certificate = result.tls.certificate if result.tls else None
                how = SECURITY_LABELS[winner.target.security]
                detail = f" ({result.tls.version})" if result.tls and result.tls.version else ""
                text = f"Probe from the bot: {how} works{detail}"
                if certificate is not None:
                    text += f", with a trusted certificate valid for {winner.target.host}"
                evidence.append(text + f"; {result.address} answered in {result.elapsed_ms:.0f} ms.")
            else:
                evidence.append(f"Probe from the bot failed: {diagnose(result).summary}")
        if winner.source == "guess":
            better = []
            for candidate in self.guesses[direction]:
                if candidate is winner:
                    break
                better.append(f"{candidate.label()} ({candidate.status()})")
            if better:
                shown = ", ".join(better[:6]) + (f" and {len(better) - 6} more" if len(better) > 6 else "")
                evidence.append(f"Better guesses failed first: {shown}.")
        return evidence

    def _recommend(self, direction: str) -> Recommendation | None:
        _, winner = self._choose(direction, final=True)
        if winner is None:
            return None
        outcome = winner.outcome()
        target = winner.target
        return Recommendation(
            direction=direction,
            protocol=target.protocol,
            host=target.host,
            port=target.port,
            security=target.security,
            source=winner.source,
            evidence=self._evidence(winner, direction),
            probe=outcome.result if outcome is not None else None,
        )

    def _all_candidates(self) -> list[_Candidate]:
        everything = [c for d in DIRECTIONS for c in self.guesses[d]]
        everything += [c for picks in self.declared.values() for c in picks.values() if c is not None]
        return everything + self.refused

    def _refusals(self) -> list[Refusal]:
        refusals = []
        for candidate in self.refused:
            outcome = candidate.outcome()
            target = candidate.target
            refusals.append(
                Refusal(
                    direction=candidate.direction,
                    protocol=target.protocol,
                    host=target.host,
                    port=target.port,
                    security=target.security,
                    source=candidate.source,
                    origin=candidate.origin,
                    reason=outcome.skipped if outcome is not None and outcome.skipped else "refused",
                )
            )
        return refusals

    def _capped_notes(self) -> list[str]:
        """One note per host that was skipped because of the per-target cap, with its ports."""
        ports: dict[str, list[int]] = {}
        reasons: dict[str, str] = {}
        for candidate in self._all_candidates():
            outcome = candidate.outcome()
            if outcome is None or not outcome.capped or outcome.skipped is None:
                continue
            host = candidate.target.host
            if candidate.target.port not in ports.setdefault(host, []):
                ports[host].append(candidate.target.port)
            reasons.setdefault(host, outcome.skipped)
        notes = []
        for host, numbers in ports.items():
            listed = ("ports " if len(numbers) > 1 else "port ") + ", ".join(str(port) for port in sorted(numbers))
            notes.append(f"Not probed (hourly probe cap): {host} {listed}. {reasons[host]}")
        return notes

    def _report_candidates(self) -> list[dict[str, Any]]:
        rows = []
        seen: set[int] = set()
        for candidate in self._all_candidates():
            if id(candidate) in seen:
                continue
            seen.add(id(candidate))
            outcome = candidate.outcome()
            result = outcome.result if outcome is not None else None
            rows.append(
                {
                    "direction": candidate.direction,
                    "source": candidate.source,
                    **candidate.target.to_json(),
                    "outcome": candidate.status(),
                    "detail": (
                        outcome.skipped
                        if outcome is not None and outcome.skipped
                        else (result.error.message if result is not None and result.error else None)
                    ),
                    "elapsed_ms": round(result.elapsed_ms, 1) if result is not None else None,
                }
            )
        return rows

    def result(self) -> DiscoveryResult:
        result = DiscoveryResult(domain=self.domain)
        if self.mx_task is not None and self.mx_task.done() and not self.mx_task.cancelled():
            result.mx = self.mx_task.result()
        if self.srv_task is not None and self.srv_task.done() and not self.srv_task.cancelled():
            result.srv = self.srv_task.result()
        if self.autoconfig_task is not None and self.autoconfig_task.done() and not self.autoconfig_task.cancelled():
            result.autoconfig = self.autoconfig_task.result()
        result.incoming = self._recommend(INCOMING)
        result.outgoing = self._recommend(OUTGOING)
        result.candidates = self._report_candidates()
        result.refused = self._refusals()
        if result.mx:
            preference, exchange = result.mx[0]
            result.notes.append(f"Mail for {self.domain} is received by {exchange} (MX preference {preference}).")
            provider = ".".join(exchange.split(".")[-2:])
            if not (exchange == self.domain or exchange.endswith(f".{self.domain}")):
                result.notes.append(f"The mail service is probably run by {provider}; its published settings apply.")
        for record in result.srv:
            if record.target == ".":
                result.notes.append(f"DNS says {record.service}.{self.domain} is not offered.")
        result.notes += self._capped_notes()
        result.elapsed_ms = (self.loop.time() - self.started) * 1000
        return result


async def discover(
    domain: str, settings: Settings, *, guard: ProbeLimits | None = None, progress: ProgressHook | None = None
) -> DiscoveryResult:
    """Recommended incoming and outgoing settings for `domain` (ProbeRefused if it is not a usable domain).

    With `guard` (the one that admitted this discovery as `guard.admit(user, guild, domain)`, which counted
    the domain itself), each other host and every address the discovery connects to takes one unit of its
    per-target hourly cap, once per discovery; one at its cap is not contacted, and the result says so.
    `progress` hears each step as it starts and ends (see the module docstring).
    """
    name = normalize_domain(domain)
    targets = RequestTargets(guard, counted=[name]) if guard is not None else None
    discovery = _Discovery(name, settings, targets, Progress(progress))
    try:
        await discovery.run()
    finally:
        with contextlib.suppress(Exception):
            await discovery.stop()
    return discovery.result()
