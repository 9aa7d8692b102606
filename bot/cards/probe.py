"""Cards for a probe, a discovery and the probe audit log.

One builder per result for every surface. `detail=True` adds what a terminal has room for and Discord leaves
out: the capabilities before TLS, every certificate name, the guessed server names and why each failed, whole
refusal reasons, and the knowledge entry's explanation even when the discovery found everything.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.cards.answers import source_field
from bot.cards.card import (
    DESCRIPTION_LIMIT,
    EMBED_TOTAL_LIMIT,
    FIELD_VALUE_LIMIT,
    MAX_FIELDS,
    TITLE_LIMIT,
    Card,
    Field,
    Tone,
    escape_markdown,
    fit_lines,
    shorten,
)
from bot.probe.diagnosis import diagnose
from bot.probe.model import PROTOCOL_LABELS, SECURITY_LABELS, Security

if TYPE_CHECKING:
    from bot.knowledge.model import Entry, KnowledgeBase
    from bot.probe.discovery import DiscoveryResult, Recommendation, Refusal
    from bot.probe.model import ProbeResult
    from bot.storage import ProbeAuditRow

DISCOVERY_ENTRY = "email-settings-discovery"
ACTION_NAMES = {"probe": "/probe", "discover": "/mailsettings"}
SOURCE_LABELS = {"autoconfig": "the provider's autoconfig file", "srv": "DNS SRV records", "guess": "a guess"}
REFUSAL_SOURCES = {"autoconfig": "autoconfig file", "srv": "SRV record"}
REFUSAL_REASON_SHOWN = 110  # the reason's start says what the place is; its end is the same rule each time
CERTIFICATE_NAMES_SHOWN = 400  # characters of the names a certificate covers, on Discord
ERROR_MESSAGE_SHOWN = 300  # characters of the probe's error message, on Discord
PROBE_FOOTER = "Greeting-level check only: the bot never logs in or sends mail."


def _ms(value: float) -> str:
    return "<1 ms" if value < 1 else f"{value:.0f} ms"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _excerpt(answer: str, limit: int) -> str:
    """The whole answer when it fits; otherwise its first paragraphs, cut where a paragraph ends."""
    if len(answer) <= limit:
        return answer
    marker = "\n…"
    kept: list[str] = []
    used = len(marker)
    for paragraph in answer.split("\n\n"):
        cost = len(paragraph) + (2 if kept else 0)
        if used + cost > limit:
            break
        kept.append(paragraph)
        used += cost
    if not kept:
        return shorten(answer, limit)
    return "\n\n".join(kept) + marker


def what_this_means(summary: str, entry: Entry | None, limit: int) -> str:
    """The "What this means" part: the diagnosis in one sentence, then the knowledge entry as far as room allows."""
    text = f"**What this means**\n{escape_markdown(summary)}"
    limit = max(limit, 1)
    if entry is None:
        return shorten(text, limit)
    heading = f"\n\n**{entry.title}**\n"
    room = limit - len(text) - len(heading)
    if room < 80:
        return shorten(text, limit)
    return text + heading + _excerpt(entry.answer, room)


def _description_room(title: str, fields: list[Field], footer: str, used: int, *, detail: bool) -> int:
    """Room for the explanation: within Discord's total for one embed, unless the card is the detailed one."""
    if detail:
        return DESCRIPTION_LIMIT - used
    fixed = len(title) + len(footer) + sum(len(f.name) + len(f.value) for f in fields) + used
    return max(0, min(DESCRIPTION_LIMIT - used, EMBED_TOTAL_LIMIT - fixed))


def _field(name: str, value: str, *, inline: bool = False) -> Field:
    return Field(name, shorten(value, FIELD_VALUE_LIMIT), inline=inline)


def _line_fields(name: str, lines: list[str], room: int) -> list[Field]:
    """Lines under one name, continued in further fields when they outgrow one (at most `room` fields)."""
    fields: list[Field] = []
    rest = lines
    while rest and len(fields) < room:
        value = fit_lines(rest, FIELD_VALUE_LIMIT)
        taken = value.count("\n") + 1
        fields.append(Field(name if not fields else f"{name} (continued)", value))
        rest = rest[taken:]
    return fields


def certificate_text(result: ProbeResult, *, detail: bool = False) -> str | None:
    certificate = result.tls.certificate if result.tls else None
    if certificate is None:
        return None
    left = certificate.days_left
    validity = f"{left} days left" if left >= 0 else f"EXPIRED {-left} days ago"
    trusted = _yes(certificate.trusted)
    if certificate.verify_error:
        trusted += f" ({escape_markdown(certificate.verify_error)})"
    lines = [
        f"Subject: {escape_markdown(certificate.subject)}",
        f"Issuer: {escape_markdown(certificate.issuer)}",
        f"Valid until: {certificate.not_after[:10]} ({validity})",
        (
            f"Matches the host: {_yes(certificate.hostname_matches)} · Trusted: {trusted} · "
            f"Self-signed: {_yes(certificate.self_signed)}"
        ),
    ]
    names = ", ".join(certificate.sans) or "(none)"
    # With details, the names get whatever room the field has left.
    room = FIELD_VALUE_LIMIT - sum(len(line) + 1 for line in lines) - len("Names: ") if detail else 0
    lines.insert(2, f"Names: {escape_markdown(shorten(names, max(room, CERTIFICATE_NAMES_SHOWN)))}")
    return "\n".join(lines)


def starttls_text(result: ProbeResult) -> str:
    if result.starttls_offered is not None:
        return "offered" if result.starttls_offered else "not offered"
    if result.target.security is Security.SSL:
        return "not used (SSL/TLS from the start)"
    return "not checked (the probe stopped earlier)"


def probe_card(result: ProbeResult, knowledge: KnowledgeBase | None, *, detail: bool = False) -> Card:
    """A probe's outcome, what it means in the knowledge base's words, and the technical details.

    Without the knowledge (the command line when its files have errors), the diagnosis still names its entry."""
    target = result.target
    title = shorten(f"Probe: {target.describe()}", TITLE_LIMIT)
    if result.ok:
        status = f"✅ **Works** — checked in {_ms(result.elapsed_ms)}."
    elif result.error is not None:
        stage = result.error.stage.value.replace("_", " ")
        message = shorten(result.error.message, FIELD_VALUE_LIMIT if detail else ERROR_MESSAGE_SHOWN)
        status = f"❌ **Failed** at the {stage} step ({result.error.kind.value}): {escape_markdown(message)}"
    else:
        status = "❌ **Failed**."
    fields = [_field("Address", result.address or "not resolved", inline=True)]
    fields.append(_field("STARTTLS", starttls_text(result), inline=True))
    if result.tls is not None:
        fields.append(_field("TLS", f"{result.tls.version or '?'}, {result.tls.cipher or '?'}", inline=True))
    if result.stages:
        timings = " · ".join(f"{name.replace('_', ' ')} {_ms(ms)}" for name, ms in result.stages.items())
        fields.append(_field("Stages", f"{timings} · total {_ms(result.elapsed_ms)}"))
    if result.banner:
        fields.append(_field("Banner", escape_markdown(result.banner)))
    if result.detected_protocol:
        fields.append(_field("The server speaks", escape_markdown(result.detected_protocol), inline=True))
    if detail and result.capabilities_before_tls is not None:
        before = " ".join(result.capabilities_before_tls) or "(none)"
        fields.append(_field("Capabilities before TLS", escape_markdown(before)))
    if result.capabilities:
        fields.append(_field("Capabilities", escape_markdown(" ".join(result.capabilities))))
    certificate = certificate_text(result, detail=detail)
    if certificate is not None:
        fields.append(_field("Certificate", certificate))
    diagnosis = diagnose(result)
    entry = knowledge.entry(diagnosis.entry) if knowledge is not None and diagnosis.entry else None
    if entry is not None and entry.sources:
        fields.append(source_field(entry))
    footer = f"Knowledge entry: {diagnosis.entry} · {PROBE_FOOTER}" if diagnosis.entry else PROBE_FOOTER
    room = _description_room(title, fields, footer, len(status) + 2, detail=detail)
    description = status + "\n\n" + what_this_means(diagnosis.summary, entry, room)
    return Card(
        title=title,
        description=description,
        fields=tuple(fields),
        footer=footer,
        entry_id=entry.id if entry is not None else None,
        tone=Tone.OK if result.ok else Tone.FAIL,
    )


def _recommendation_field(label: str, item: Recommendation | None, *, refused: bool = False) -> Field:
    if item is None and refused:
        return Field(
            label, "Not found: the published server was refused (see below), and no usual server name answered."
        )
    if item is None:
        return Field(label, "Not found: no published setting, and none of the usual server names answered.")
    lines = [f"**{item.describe()}** (from {SOURCE_LABELS.get(item.source, item.source)})"]
    lines += [f"• {escape_markdown(line)}" for line in item.evidence]
    return _field(label, "\n".join(lines))


def refusal_lines(refusals: list[Refusal], *, detail: bool = False) -> list[str]:
    """One line per published server that was refused, with the reason (its start, unless `detail`)."""
    lines = []
    for refusal in refusals:
        where = f"{refusal.direction}, {REFUSAL_SOURCES.get(refusal.source, refusal.source)}"
        what = f"{PROTOCOL_LABELS[refusal.protocol]} {refusal.host} port {refusal.port} ({where})"
        reason = refusal.reason if detail else shorten(refusal.reason, REFUSAL_REASON_SHOWN)
        lines.append(f"• {escape_markdown(what)}: {escape_markdown(reason)}")
    return lines


def refusals_text(refusals: list[Refusal]) -> str:
    """The refusals as many as fit in one field, then how many more there were."""
    lines = refusal_lines(refusals)
    shown = fit_lines(lines, FIELD_VALUE_LIMIT - 40)
    left = len(refusals) - shown.count("\n") - 1
    return shown + (f"\n… and {left} more" if left > 0 else "")


def _is_missing(detail: object) -> bool:
    """A guessed name that is simply not in DNS: listed once, not once per port."""
    return isinstance(detail, str) and ("does not exist" in detail or "has no address" in detail)


def guess_lines(result: DiscoveryResult) -> list[str]:
    """What became of each guessed server name; names not in DNS at all are listed once at the end."""
    guesses = [row for row in result.candidates if row["source"] == "guess"]
    missing = sorted({row["host"] for row in guesses if _is_missing(row["detail"])})
    lines = []
    for row in guesses:
        if row["host"] in missing:
            continue
        how = SECURITY_LABELS.get(row["security"], row["security"])
        outcome = row["outcome"]
        if outcome == "not probed" and row["detail"]:
            outcome += f" ({row['detail']})"
        lines.append(escape_markdown(f"{row['host']}:{row['port']} {how}: {outcome}"))
    if missing:
        lines.append(escape_markdown(f"no address in DNS: {', '.join(missing)}"))
    return lines


def discovery_card(result: DiscoveryResult, knowledge: KnowledgeBase | None, *, detail: bool = False) -> Card:
    """The recommended incoming and outgoing settings, each with the evidence behind it."""
    title = shorten(f"Mail settings for {result.domain}", TITLE_LIMIT)
    refused_directions = {refusal.direction for refusal in result.refused}
    fields = [
        _recommendation_field("Incoming", result.incoming, refused="incoming" in refused_directions),
        _recommendation_field("Outgoing", result.outgoing, refused="outgoing" in refused_directions),
    ]
    # Never a recommendation: the provider published them, but the probe does not go to such places.
    refused_name = "Refused (not recommended)"
    if result.refused and detail:
        fields += _line_fields(refused_name, refusal_lines(result.refused, detail=True), MAX_FIELDS // 2)
    elif result.refused:
        fields.append(Field(refused_name, refusals_text(result.refused)))
    if result.notes:
        fields.append(_field("Notes", "\n".join(f"• {escape_markdown(note)}" for note in result.notes)))
    autoconfig = result.autoconfig
    if autoconfig is not None and autoconfig.url is None and autoconfig.attempts:
        # The URLs are built from the domain the member typed: shown as text, not as links in the bot's voice.
        tried = "\n".join(f"{escape_markdown(url)}: {escape_markdown(outcome)}" for url, outcome in autoconfig.attempts)
        fields.append(_field("Autoconfig files tried", tried))
    if detail:
        fields += _line_fields("Guesses", guess_lines(result), MAX_FIELDS - len(fields))
    footer = f"Looked up in {result.elapsed_ms / 1000:.1f} s · Knowledge entry: {DISCOVERY_ENTRY}"
    if result.outcome == "nothing" and result.refused:
        status = (
            f"I found no usable mail settings for {result.domain}: the servers it publishes were refused (see "
            "below), and none of the usual server names answered. The provider's help pages list them."
        )
    elif result.outcome == "nothing":
        status = (
            f"I found no mail settings for {result.domain}: no autoconfig file, no SRV records, and none of "
            "the usual server names answered. The provider's help pages list them."
        )
    else:
        status = "\n".join(
            f"**{label}:** {item.describe()}" if item else f"**{label}:** not found"
            for label, item in (("Incoming", result.incoming), ("Outgoing", result.outgoing))
        )
        if result.outcome == "partial":
            status += "\nOnly part of the settings could be confirmed; check the missing one with the provider."
    entry = knowledge.entry(DISCOVERY_ENTRY) if knowledge is not None else None
    room = _description_room(title, fields, footer, len(status) + 2, detail=detail)
    explanation = ""
    # How mail apps look settings up explains a gap; when both were found the evidence says enough on Discord.
    if (detail or result.outcome != "found") and entry is not None and room > 120:
        explanation = f"\n\n**{entry.title}**\n" + _excerpt(entry.answer, room - len(entry.title) - 8)
    tones = {"found": Tone.OK, "partial": Tone.UNSURE}
    return Card(
        title=title,
        description=status + explanation,
        fields=tuple(fields),
        footer=footer,
        entry_id=entry.id if entry is not None else None,
        tone=tones.get(result.outcome, Tone.FAIL),
    )


def history_line(row: ProbeAuditRow) -> str:
    when = f"<t:{int(row.at.timestamp())}:R>"
    who = f"<@{row.user_id}>" if row.user_id is not None else "someone"
    action = ACTION_NAMES.get(row.action, row.action)
    address = f" → {row.address}" if row.address else ""
    target = escape_markdown(shorten(row.target, 120))
    outcome = escape_markdown(shorten(row.outcome, 160))
    return f"{when} {who} {action} **{target}**{address} · {outcome} · {row.duration_ms} ms"


def history_card(rows: list[ProbeAuditRow]) -> Card:
    """The audit log in Discord's own markup (relative times, member mentions): this card is shown only there."""
    if not rows:
        description = "No probes on this server yet. Moderators run them with `/probe` and `/mailsettings`."
    else:
        description = fit_lines([history_line(row) for row in rows], DESCRIPTION_LIMIT)
    return Card(
        title="Recent probes on this server",
        description=description,
        footer="Newest first · who, what, the address reached, the outcome and how long it took",
    )
