"""Plain-text reports of a probe or a discovery, for the command line (and any other text surface)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.probe.diagnosis import diagnose
from bot.probe.model import SECURITY_LABELS, ProbeResult

if TYPE_CHECKING:
    from bot.probe.discovery import DiscoveryResult, Recommendation

_WIDTH = 14


def _row(label: str, value: str) -> str:
    return f"  {label:<{_WIDTH}}{value}"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def format_probe(result: ProbeResult) -> str:
    target = result.target
    lines = [f"Probe of {target.describe()}"]
    lines.append(_row("Address", result.address or "(not resolved)"))
    if result.ok:
        lines.append(_row("Result", f"OK in {result.elapsed_ms:.0f} ms"))
    elif result.error is not None:
        error = result.error
        lines.append(_row("Result", f"FAILED at {error.stage.value}: {error.kind.value}"))
        lines.append(_row("", error.message))
    if result.banner:
        lines.append(_row("Banner", result.banner))
    if result.detected_protocol:
        lines.append(_row("Speaks", result.detected_protocol))
    if result.capabilities_before_tls is not None:
        lines.append(_row("Before TLS", " ".join(result.capabilities_before_tls) or "(none)"))
    if result.capabilities:
        lines.append(_row("Capabilities", " ".join(result.capabilities)))
    offered = {True: "offered", False: "not offered", None: "not checked"}[result.starttls_offered]
    lines.append(_row("STARTTLS", offered))
    if result.tls is not None:
        lines.append(_row("TLS", f"{result.tls.version or '?'}, {result.tls.cipher or '?'}"))
        certificate = result.tls.certificate
        if certificate is not None:
            lines.append(_row("Certificate", certificate.subject))
            lines.append(_row("  issuer", certificate.issuer))
            lines.append(_row("  names", ", ".join(certificate.sans) or "(none)"))
            left = certificate.days_left
            validity = f"{left} days left" if left >= 0 else f"EXPIRED {-left} days ago"
            lines.append(_row("  valid until", f"{certificate.not_after[:10]} ({validity})"))
            trust = f"trusted: {_yes(certificate.trusted)}"
            if certificate.verify_error:
                trust += f" ({certificate.verify_error})"
            lines.append(_row("  checks", f"{trust}; matches host: {_yes(certificate.hostname_matches)}"))
            lines.append(_row("", f"self-signed: {_yes(certificate.self_signed)}"))
    if result.stages:
        timings = ", ".join(f"{name} {ms:.0f} ms" for name, ms in result.stages.items())
        lines.append(_row("Timings", timings))
    diagnosis = diagnose(result)
    lines.append("")
    lines.append(f"Diagnosis: {diagnosis.summary}")
    if diagnosis.entry:
        lines.append(f"Knowledge entry: {diagnosis.entry}")
    return "\n".join(lines)


def _recommendation(label: str, item: Recommendation | None) -> list[str]:
    if item is None:
        return [f"{label}: not found"]
    lines = [f"{label}: {item.describe()}  [from {item.source}]"]
    lines.extend(f"  - {line}" for line in item.evidence)
    return lines


def _is_missing(detail: object) -> bool:
    """A guessed name that is simply not in DNS: listed once, not once per port."""
    return isinstance(detail, str) and ("does not exist" in detail or "has no address" in detail)


def format_discovery(result: DiscoveryResult) -> str:
    lines = [f"Mail settings for {result.domain} (found in {result.elapsed_ms / 1000:.1f} s)", ""]
    lines += _recommendation("Incoming", result.incoming)
    lines += _recommendation("Outgoing", result.outgoing)
    if result.refused:
        # Published, but somewhere the probe never goes: said here so the missing setting is not a mystery.
        lines.append("")
        lines.append("Refused (not recommended):")
        lines.extend(f"  - {refusal.describe()}" for refusal in result.refused)
    if result.notes:
        lines.append("")
        lines.extend(f"Note: {note}" for note in result.notes)
    if result.autoconfig is not None and result.autoconfig.url is None and result.autoconfig.attempts:
        lines.append("")
        lines.append("Autoconfig: no file found")
        lines.extend(f"  {url}: {outcome}" for url, outcome in result.autoconfig.attempts)
    guesses = [row for row in result.candidates if row["source"] == "guess"]
    missing = {row["host"] for row in guesses if _is_missing(row["detail"])}
    shown = [row for row in guesses if row["host"] not in missing]
    if shown or missing:
        lines.append("")
        lines.append("Guesses:")
        for row in shown:
            how = SECURITY_LABELS.get(row["security"], row["security"])
            outcome = row["outcome"]
            if outcome == "not probed" and row["detail"]:
                outcome += f" ({row['detail']})"
            lines.append(f"  {row['host']}:{row['port']} {how}: {outcome}")
        if missing:
            lines.append(f"  no address in DNS: {', '.join(sorted(missing))}")
    lines.append("")
    lines.append("Knowledge entry: email-settings-discovery")
    return "\n".join(lines)
