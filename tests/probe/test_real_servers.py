"""Probes against real servers: Dovecot (IMAP, POP3) and aiosmtpd (SMTP), certificates from a trustme CA."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from bot.probe import CertificateInfo, ErrorKind, ProbeResult, parse_target, run_probe
from tests.probe.servers import (
    DOVECOT,
    EXPIRED_HOST,
    NO_INTERMEDIATE_HOST,
    SELF_SIGNED_HOST,
    SMTP_HOST,
    UNTRUSTED_CA_HOST,
    WRONG_NAME_HOST,
    MailLab,
)

if TYPE_CHECKING:
    from tests.probe.conftest import SettingsFactory

# Mismatches that end in a timeout use a short one, so the suite stays fast.
SHORT = 1.0


async def probe(
    settings_factory: SettingsFactory,
    host: str,
    port: int | None = None,
    protocol: str | None = None,
    security: str | None = None,
    **overrides: object,
) -> ProbeResult:
    settings = settings_factory(**overrides)
    return await run_probe(parse_target(host, port, protocol, security, settings), settings)


def assert_valid_certificate(result: ProbeResult, name: str) -> None:
    assert result.tls is not None
    assert result.tls.version in {"TLSv1.2", "TLSv1.3"}
    assert result.tls.cipher
    certificate = result.tls.certificate
    assert certificate is not None
    assert certificate.trusted
    assert certificate.hostname_matches
    assert not certificate.self_signed
    assert name in certificate.sans
    assert "Guide Nest test CA" in certificate.issuer
    assert certificate.days_left > 300
    assert certificate.verify_error is None


def failed_certificate(result: ProbeResult, kind: ErrorKind) -> CertificateInfo:
    """The certificate a probe that failed with `kind` reports."""
    assert result.error is not None
    assert result.error.kind is kind
    certificate = result.tls.certificate if result.tls else None
    assert certificate is not None
    return certificate


# --- every correct mode -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("dovecot")
@pytest.mark.parametrize(("port", "entry"), [(993, "imap-ports"), (995, "pop3-ports")])
async def test_dovecot_implicit_tls(make_settings: SettingsFactory, port: int, entry: str) -> None:
    result = await probe(make_settings, DOVECOT, port)
    assert result.ok, result.to_json()
    assert result.address == DOVECOT
    assert "Dovecot" in (result.banner or "")
    assert_valid_certificate(result, DOVECOT)
    assert result.starttls_offered is None  # not a question on an implicit-TLS port
    assert list(result.stages) == ["tcp", "tls", "greeting", "capabilities"]
    if port == 993:
        assert "IMAP4rev1" in result.capabilities
        assert "AUTH=PLAIN" in result.capabilities
    else:
        assert "UIDL" in result.capabilities
    data = result.to_json()
    assert data["diagnosis"]["entry"] == entry
    assert f"works with SSL/TLS ({result.tls.version})" in data["diagnosis"]["summary"]  # type: ignore[union-attr]


@pytest.mark.usefixtures("dovecot")
async def test_dovecot_imap_starttls_upgrades_and_capabilities_change(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, DOVECOT, 143)
    assert result.ok, result.to_json()
    assert result.starttls_offered is True
    assert_valid_certificate(result, DOVECOT)
    # Before TLS Dovecot refuses plaintext logins; after the upgrade it offers them. The probe saw both sides.
    assert result.capabilities_before_tls is not None
    assert {"STARTTLS", "LOGINDISABLED"} <= set(result.capabilities_before_tls)
    assert "AUTH=PLAIN" in result.capabilities
    assert "STARTTLS" not in result.capabilities
    assert list(result.stages) == [
        "tcp",
        "greeting",
        "capabilities",
        "starttls",
        "tls",
        "capabilities_after_tls",
    ]
    assert result.to_json()["diagnosis"]["entry"] == "imap-ports"


@pytest.mark.usefixtures("dovecot")
async def test_dovecot_pop3_stls(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, DOVECOT, None, "pop3", "starttls")
    assert result.ok, result.to_json()
    assert result.target.port == 110
    assert result.starttls_offered is True
    assert "STLS" in (result.capabilities_before_tls or [])
    assert "STLS" not in result.capabilities
    assert_valid_certificate(result, DOVECOT)


@pytest.mark.usefixtures("dovecot")
async def test_imap_by_name_resolves_through_the_configured_dns(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "imap.example.test", 993)
    assert result.ok, result.to_json()
    assert result.address == DOVECOT
    assert "dns" in result.stages
    assert_valid_certificate(result, "imap.example.test")


@pytest.mark.parametrize(
    ("port", "security", "offered", "entry"),
    [
        (465, "ssl", None, "smtp-port-465"),
        (587, "starttls", True, "smtp-port-587"),
        (25, "starttls", True, "smtp-port-25-blocked"),
    ],
)
async def test_smtp_modes(
    make_settings: SettingsFactory, lab: MailLab, port: int, security: str, offered: bool | None, entry: str
) -> None:
    result = await probe(make_settings, "smtp.example.test", port)
    assert result.ok, result.to_json()
    assert result.target.security.value == security
    assert result.address == SMTP_HOST
    assert (result.banner or "").startswith("220 mail.example.test")
    assert result.starttls_offered is offered
    assert_valid_certificate(result, "smtp.example.test")
    assert any(item.startswith("SIZE") for item in result.capabilities)
    if security == "starttls":
        assert "STARTTLS" in (result.capabilities_before_tls or [])
        assert "STARTTLS" not in result.capabilities
    assert result.to_json()["diagnosis"]["entry"] == entry
    assert lab.threads.sink.mail_commands == 0  # greeting level only: never MAIL FROM


async def test_smtp_plain_reports_the_offer_of_starttls(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, SMTP_HOST, 25, None, "plain")
    assert result.ok
    assert result.tls is None
    assert result.starttls_offered is True
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["entry"] == "plain-unencrypted-ports"
    assert "choose STARTTLS" in diagnosis["summary"]


# --- mismatches ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "port", "speaks", "ssl_port"),
    [(DOVECOT, 143, "imap", 993), (SMTP_HOST, 587, "smtp", 465), (DOVECOT, 110, "pop3", 995)],
)
async def test_ssl_to_a_starttls_port_is_a_plaintext_reply(
    make_settings: SettingsFactory, lab: MailLab, host: str, port: int, speaks: str, ssl_port: int
) -> None:
    if host == DOVECOT and lab.dovecot is None:
        pytest.skip("the dovecot binary is missing")
    result = await probe(make_settings, host, port, None, "ssl")
    assert not result.ok
    assert result.error is not None
    assert (result.error.stage.value, result.error.kind) == ("tls", ErrorKind.TLS_HANDSHAKE_FAILED)
    assert "wrong version number" in result.error.message.lower()
    assert result.detected_protocol == speaks
    assert result.banner  # what the server said in plain text
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["entry"] == "ssl-vs-starttls"
    assert "This port expects STARTTLS, not SSL/TLS" in diagnosis["summary"]
    assert f"STARTTLS for port {port}, or use port {ssl_port} with SSL/TLS" in diagnosis["summary"]


@pytest.mark.parametrize(
    ("host", "port", "security", "entry"),
    [
        (DOVECOT, 993, "starttls", "port-security-mismatch"),
        (SMTP_HOST, 465, "starttls", "port-security-mismatch"),
        (SMTP_HOST, 465, "plain", "smtp-server-disconnected"),
        (DOVECOT, 995, "plain", "port-security-mismatch"),
    ],
)
async def test_starttls_or_plain_to_an_implicit_tls_port(
    make_settings: SettingsFactory, lab: MailLab, host: str, port: int, security: str, entry: str
) -> None:
    if host == DOVECOT and lab.dovecot is None:
        pytest.skip("the dovecot binary is missing")
    result = await probe(make_settings, host, port, None, security, probe_timeout_seconds=SHORT)
    assert result.error is not None
    assert (result.error.stage.value, result.error.kind) == ("greeting", ErrorKind.TIMEOUT)
    assert result.elapsed_ms < SHORT * 1000 + 500
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["entry"] == entry
    assert f"Port {port} expects SSL/TLS from the first byte" in diagnosis["summary"]


@pytest.mark.usefixtures("dovecot")
async def test_imap_asked_of_an_smtp_port(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, SMTP_HOST, 25, "imap", "plain")
    assert result.error is not None
    assert result.error.kind is ErrorKind.PROTOCOL_UNEXPECTED
    assert result.detected_protocol == "smtp"
    diagnosis = result.to_json()["diagnosis"]
    assert "speaks SMTP, not IMAP" in diagnosis["summary"]
    assert diagnosis["entry"] == "imap-ports"


async def test_nothing_listening_is_connection_refused(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, SMTP_HOST, 993)
    assert result.error is not None
    assert (result.error.stage.value, result.error.kind) == ("tcp", ErrorKind.CONNECTION_REFUSED)
    assert result.to_json()["diagnosis"]["entry"] == "connection-refused-vs-timeout"


async def test_unknown_name_is_a_dns_failure(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "nothing-here.example.test", 993)
    assert result.error is not None
    assert (result.error.stage.value, result.error.kind) == ("dns", ErrorKind.DNS_FAILED)
    assert "does not exist" in result.error.message
    assert result.address is None
    assert result.to_json()["diagnosis"]["entry"] == "dns-name-not-known"


# --- certificates -------------------------------------------------------------------------------------------


async def test_expired_certificate(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, EXPIRED_HOST, 465)
    certificate = failed_certificate(result, ErrorKind.CERTIFICATE_EXPIRED)
    assert result.error.stage.value == "tls"  # type: ignore[union-attr]
    assert certificate.days_left <= -29
    assert not certificate.trusted
    assert "expired" in (certificate.verify_error or "")
    assert certificate.hostname_matches
    assert not certificate.self_signed
    assert (result.banner or "").startswith("220")  # the conversation still went on, to report everything
    assert result.to_json()["diagnosis"]["entry"] == "cert-expired"


async def test_self_signed_certificate(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, SELF_SIGNED_HOST, 465)
    certificate = failed_certificate(result, ErrorKind.CERTIFICATE_UNTRUSTED)
    assert certificate.self_signed
    assert not certificate.trusted
    assert certificate.subject == certificate.issuer == "CN=self-signed.example.test"
    assert certificate.sans == ["self-signed.example.test"]
    assert result.to_json()["diagnosis"]["entry"] == "cert-self-signed"


async def test_wrong_hostname(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, "wrong.example.test", 465)
    assert result.address == WRONG_NAME_HOST
    certificate = failed_certificate(result, ErrorKind.HOSTNAME_MISMATCH)
    assert certificate.trusted
    assert not certificate.hostname_matches
    assert certificate.sans == ["other.example.test"]
    diagnosis = result.to_json()["diagnosis"]
    assert diagnosis["entry"] == "cert-hostname-mismatch"
    assert "other.example.test" in diagnosis["summary"]


async def test_certificate_from_an_unknown_authority(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, UNTRUSTED_CA_HOST, 465)
    certificate = failed_certificate(result, ErrorKind.CERTIFICATE_UNTRUSTED)
    assert not certificate.trusted
    assert not certificate.self_signed
    assert "unable to get local issuer certificate" in (certificate.verify_error or "")
    assert result.to_json()["diagnosis"]["entry"] == "cert-chain-incomplete"


async def test_missing_intermediate_certificate(make_settings: SettingsFactory) -> None:
    result = await probe(make_settings, NO_INTERMEDIATE_HOST, 465)
    certificate = failed_certificate(result, ErrorKind.CERTIFICATE_UNTRUSTED)
    assert certificate.chain_length == 1
    assert result.to_json()["diagnosis"]["entry"] == "cert-chain-incomplete"


async def test_trust_comes_from_the_system_store_plus_the_configured_ca_file(
    make_settings: SettingsFactory,
) -> None:
    result = await probe(make_settings, SMTP_HOST, 465, probe_ca_file=None)
    certificate = failed_certificate(result, ErrorKind.CERTIFICATE_UNTRUSTED)
    assert certificate.hostname_matches
    assert not certificate.trusted


async def test_json_has_the_documented_shape(make_settings: SettingsFactory) -> None:
    data = (await probe(make_settings, SMTP_HOST, 587)).to_json()
    assert set(data) >= {
        "target",
        "address",
        "ok",
        "banner",
        "starttls",
        "tls",
        "error",
        "diagnosis",
        "elapsed_ms",
        "stages",
        "capabilities",
    }
    assert data["target"] == {"host": SMTP_HOST, "port": 587, "protocol": "smtp", "security": "starttls"}
    assert data["starttls"] == {"offered": True}
    assert data["error"] is None
    certificate = data["tls"]["certificate"]
    assert set(certificate) >= {
        "subject",
        "issuer",
        "sans",
        "not_after",
        "days_left",
        "hostname_matches",
        "trusted",
        "self_signed",
    }
    assert set(data["diagnosis"]) == {"summary", "entry"}
    assert isinstance(data["elapsed_ms"], float)
    assert data["elapsed_ms"] > 0

