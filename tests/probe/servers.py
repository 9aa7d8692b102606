"""Real mail servers on 127.0.2.x for the probe tests and benchmarks: Dovecot, aiosmtpd, dnsmasq, autoconfig
HTTP(S), and hostile servers written here. Everything binds to loopback addresses this area owns.

Address plan (all on 127.0.0.0/8; nothing leaves the machine):
  127.0.2.1   Dovecot: IMAP 143/993, POP3 110/995
  127.0.2.2   aiosmtpd: SMTP 25 (STARTTLS offered), 587 (STARTTLS required), 465 (implicit TLS)
  127.0.2.7   "mail host": Dovecot and aiosmtpd together, all seven mail ports
  127.0.2.10+ SMTP 465 with a bad certificate (expired, self-signed, wrong name, unknown CA, no intermediate)
  127.0.2.20+ hostile servers
  127.0.2.31  a host that accepts TCP connections and never says anything, on every mail port
  127.0.2.40  autoconfig HTTP and HTTPS; 127.0.2.41 an autoconfig host that redirects
  127.0.2.50  "someone else's server" (aiosmtpd SMTP 25, 587, 465, connections counted) that the domains
              hammer.test and alias.test point their SRV records and guesses at
  127.0.2.53  dnsmasq on port 5353 with the test zones below
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import trustme
from aiohttp import web
from aiosmtpd.smtp import SMTP
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

DOVECOT = "127.0.2.1"
SMTP_HOST = "127.0.2.2"
MAIL_HOST = "127.0.2.7"
EXPIRED_HOST = "127.0.2.10"
SELF_SIGNED_HOST = "127.0.2.11"
WRONG_NAME_HOST = "127.0.2.12"
UNTRUSTED_CA_HOST = "127.0.2.13"
NO_INTERMEDIATE_HOST = "127.0.2.14"
SILENT_HOST = "127.0.2.31"
AUTOCONFIG_HOST = "127.0.2.40"
REDIRECT_HOST = "127.0.2.41"
VICTIM_HOST = "127.0.2.50"
DNS_HOST = "127.0.2.53"
DNS_PORT = 5353
MAIL_PORTS = (25, 110, 143, 465, 587, 993, 995)

# Names the valid certificate covers (the probe checks them against what it was asked to reach).
CERT_NAMES = (
    "mail.example.test",
    "imap.example.test",
    "smtp.example.test",
    "mail.srv.test",
    "mail.guess.test",
    "mail.internal.test",
    "autoconfig.example.test",
    "autoconfig.redirect.test",
    "autoconfig.refused-config.test",
    "smtp.victim.test",
    DOVECOT,
    SMTP_HOST,
    MAIL_HOST,
    AUTOCONFIG_HOST,
    REDIRECT_HOST,
    VICTIM_HOST,
)


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


# --- certificates -------------------------------------------------------------------------------------------


@dataclass
class PemPair:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


class Certificates:
    """A trustme CA (the probe trusts it through GUIDENEST_PROBE_CA_FILE) and the certificates the servers
    use."""

    def __init__(self, directory: Path, names: tuple[str, ...] = CERT_NAMES) -> None:
        self.directory = directory
        self.ca = trustme.CA(organization_name="Guide Nest test CA")
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.valid = self._leaf("valid", self.ca.issue_cert(*names))
        now = dt.datetime.now(dt.UTC)
        self.expired = self._leaf(
            "expired",
            self.ca.issue_cert(
                "expired.example.test",
                EXPIRED_HOST,
                not_before=now - dt.timedelta(days=400),
                not_after=now - dt.timedelta(days=30),
            ),
        )
        self.wrong_name = self._leaf("wrong-name", self.ca.issue_cert("other.example.test"))
        self.untrusted = self._leaf(
            "untrusted", trustme.CA(organization_name="Unknown CA").issue_cert("untrusted.example.test")
        )
        child = self.ca.create_child_ca()
        # The server sends only its own certificate, not the intermediate that signed it.
        self.no_intermediate = self._leaf("no-intermediate", child.issue_cert("chain.example.test"), chain=False)
        self.self_signed = self._self_signed("self-signed.example.test")

    def _leaf(self, name: str, leaf: trustme.LeafCert, *, chain: bool = True) -> PemPair:
        cert_path = self.directory / f"{name}.crt"
        key_path = self.directory / f"{name}.key"
        pems = leaf.cert_chain_pems if chain else leaf.cert_chain_pems[:1]
        cert_path.write_bytes(b"".join(pem.bytes() for pem in pems))
        leaf.private_key_pem.write_to_path(str(key_path))
        return PemPair(cert_path, key_path)

    def _self_signed(self, host: str) -> PemPair:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .sign(key, hashes.SHA256())
        )
        cert_path = self.directory / "self-signed.crt"
        key_path = self.directory / "self-signed.key"
        cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return PemPair(cert_path, key_path)


# --- Dovecot ------------------------------------------------------------------------------------------------

_DOVECOT_CONF = """\
base_dir = {root}/run
state_dir = {root}/state
instance_name = guidenest-probe-test
listen = {listen}
protocols = imap pop3
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
disable_plaintext_auth = yes
auth_mechanisms = plain
# Nobody ever logs in: the probe stops at the greeting. A static passdb keeps the config valid.
passdb {{
  driver = static
  args = password=never-used-{token}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    port = 143
  }}
  inet_listener imaps {{
    port = 993
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 110
  }}
  inet_listener pop3s {{
    port = 995
    ssl = yes
  }}
}}
"""


class Dovecot:
    """Our own Dovecot instance (`dovecot -F -c conf`), with its runtime state in a temporary directory."""

    def __init__(self, root: Path, pair: PemPair, addresses: tuple[str, ...]) -> None:
        self.root = root
        self.addresses = addresses
        (root / "run").mkdir(parents=True)
        (root / "state").mkdir()
        self.config = root / "dovecot.conf"
        self.config.write_text(
            _DOVECOT_CONF.format(
                root=root, listen=", ".join(addresses), cert=pair.cert, key=pair.key, token=os.getpid()
            )
        )
        # Dovecot's unprivileged processes must be able to read their runtime directory.
        root.chmod(0o755)
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str | None:
        return shutil.which("dovecot") or ("/usr/sbin/dovecot" if Path("/usr/sbin/dovecot").exists() else None)

    def start(self) -> None:
        binary = self.binary()
        assert binary is not None
        self.process = subprocess.Popen(
            [binary, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            for address in self.addresses:
                for port in (143, 993, 110, 995):
                    wait_for_port(address, port)
        except OSError:
            self.stop()
            log = (self.root / "dovecot.log").read_text() if (self.root / "dovecot.log").exists() else ""
            raise RuntimeError(f"Dovecot did not start:\n{log}") from None

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


# --- dnsmasq ------------------------------------------------------------------------------------------------


def zone_arguments() -> list[str]:
    """The test zones: what discovery and the bypass tests resolve. Everything under .test is answered
    locally."""
    hosts = {
        # Discovery with an autoconfig file.
        "mail.example.test": MAIL_HOST,
        "autoconfig.example.test": AUTOCONFIG_HOST,
        "imap.example.test": DOVECOT,
        "smtp.example.test": SMTP_HOST,
        "expired.example.test": EXPIRED_HOST,
        "wrong.example.test": WRONG_NAME_HOST,
        # Discovery with SRV records only.
        "mail.srv.test": MAIL_HOST,
        # Discovery by guessing: imap., smtp. and the bare domain never answer; mail. offers everything.
        "imap.guess.test": SILENT_HOST,
        "smtp.guess.test": SILENT_HOST,
        "guess.test": SILENT_HOST,
        "mail.guess.test": MAIL_HOST,
        # Discovery where one guess resolves to a private address outside the allowlist.
        "mail.internal.test": MAIL_HOST,
        "imap.internal.test": "10.20.30.40",
        # An autoconfig host that redirects.
        "autoconfig.redirect.test": REDIRECT_HOST,
        "redirect.test": REDIRECT_HOST,
        # Someone else's server, and names in other people's domains that lead to it (the per-target cap).
        "smtp.victim.test": VICTIM_HOST,
        "relay.alias.test": VICTIM_HOST,
        "smtp.alias.test": VICTIM_HOST,
        # Names that resolve to places the probe must never go.
        "loopback.private.test": "127.0.0.1",
        "ten.private.test": "10.1.2.3",
        "oneninetwo.private.test": "192.168.1.10",
        "metadata.private.test": "169.254.169.254",
        "cgnat.private.test": "100.64.1.1",
        "zero.private.test": "0.0.0.0",
        "mapped.private.test": "::ffff:127.0.0.1",
        "ula.private.test": "fd12:3456::1",
        "linklocal6.private.test": "fe80::1",
        "nat64.private.test": "64:ff9b::a00:1",
        "sixtofour.private.test": "2002:7f00:1::1",
        "autoconfig.private.test": "10.9.9.9",
        # A provider whose autoconfig file names places the probe must never go (see REFUSED_AUTOCONFIG_XML).
        "autoconfig.refused-config.test": AUTOCONFIG_HOST,
    }
    arguments = [f"--host-record={name},{address}" for name, address in hosts.items()]
    # One public and one private address: the whole name is refused.
    arguments += [
        "--host-record=mixed.private.test,93.184.216.34",
        "--host-record=mixed.private.test,10.0.0.1",
        "--host-record=loopback6.private.test,::1",
        "--srv-host=_imaps._tcp.srv.test,mail.srv.test,993,0,10",
        "--srv-host=_submission._tcp.srv.test,mail.srv.test,587,0,10",
        "--srv-host=_pop3._tcp.srv.test",  # target "." : POP3 explicitly not offered
        "--mx-host=srv.test,mx.provider.test,10",
        # hammer.test and alias.test: incoming on the lab's mail host, outgoing sent to the victim's server.
        "--srv-host=_imaps._tcp.hammer.test,mail.srv.test,993,0,10",
        "--srv-host=_submissions._tcp.hammer.test,smtp.victim.test,465,0,10",
        "--srv-host=_imaps._tcp.alias.test,mail.srv.test,993,0,10",
        "--srv-host=_submissions._tcp.alias.test,relay.alias.test,465,0,10",
        "--mx-host=example.test,mail.example.test,10",
        "--cname=alias.private.test,ten.private.test",
        # refused-srv.test: SRV records naming this machine, the metadata address, 10.x and ::1; only the
        # last outgoing one (the lab's mail host) may be probed.
        "--srv-host=_imaps._tcp.refused-srv.test,localhost,993,0,10",
        "--srv-host=_imap._tcp.refused-srv.test,169.254.169.254,143,0,10",
        "--srv-host=_pop3s._tcp.refused-srv.test,ten.private.test,995,0,10",
        "--srv-host=_pop3._tcp.refused-srv.test,loopback6.private.test,110,0,10",
        "--srv-host=_submissions._tcp.refused-srv.test,localhost,465,0,10",
        "--srv-host=_submission._tcp.refused-srv.test,mail.srv.test,587,0,10",
    ]
    return arguments


class Dnsmasq:
    def __init__(self, root: Path, host: str = DNS_HOST, port: int = DNS_PORT, zone: list[str] | None = None) -> None:
        self.root = root
        self.host = host
        self.port = port
        self.zone = zone_arguments() if zone is None else zone
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.process = subprocess.Popen(
            [
                binary,
                "--keep-in-foreground",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--no-poll",
                f"--listen-address={self.host}",
                f"--port={self.port}",
                "--bind-interfaces",
                "--user=root",
                "--pid-file=",
                f"--log-facility={self.root / f'dnsmasq-{self.host}.log'}",
                "--local=/test/",
                *self.zone,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    error = self.process.stderr.read().decode() if self.process.stderr else ""
                    raise RuntimeError(f"dnsmasq exited: {error}")
                # A bare UDP query for "test. SOA"; any answer means dnsmasq is up.
                query = bytes.fromhex("abcd01000001000000000000") + b"\x04test\x00\x00\x06\x00\x01"
                probe.sendto(query, (self.host, self.port))
                probe.settimeout(0.2)
                with contextlib.suppress(OSError):
                    probe.recvfrom(512)
                    return
            raise RuntimeError("dnsmasq did not answer")
        finally:
            probe.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None


# --- servers run in a background event loop -----------------------------------------------------------------


class _Sink:
    """aiosmtpd handler that accepts nothing: the probe never sends MAIL, and we'd fail loudly if it did."""

    def __init__(self) -> None:
        self.mail_commands = 0

    async def handle_MAIL(self, server, session, envelope, address, options):  # noqa: N802 - aiosmtpd's hook name
        self.mail_commands += 1
        return "550 the probe must never send mail"


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class ServerThread:
    """One event loop in a thread, hosting the SMTP, hostile and HTTP servers of the tests."""

    loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    servers: list[asyncio.AbstractServer] = field(default_factory=list)
    runners: list[web.AppRunner] = field(default_factory=list)
    sockets: list[socket.socket] = field(default_factory=list)
    sink: _Sink = field(default_factory=_Sink)
    connections: dict[tuple[str, int], int] = field(default_factory=dict)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self.loop.run_forever, name="probe-test-servers", daemon=True)
        self._thread.start()

    def call(self, coroutine: Awaitable[object], timeout: float = 10) -> object:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)  # type: ignore[arg-type]

    def add_smtp(
        self,
        host: str,
        port: int,
        *,
        implicit: PemPair | None = None,
        starttls: PemPair | None = None,
        require_starttls: bool = False,
    ) -> None:
        tls_context = starttls.server_context() if starttls else None

        def factory() -> SMTP:
            self.connections[(host, port)] = self.connections.get((host, port), 0) + 1
            return SMTP(
                self.sink,
                hostname="mail.example.test",
                tls_context=tls_context,
                require_starttls=require_starttls,
                timeout=30,
            )

        async def create() -> None:
            server = await self.loop.create_server(
                factory, host, port, ssl=implicit.server_context() if implicit else None, reuse_address=True
            )
            self.servers.append(server)

        self.call(create())

    def add_stream(self, host: str, port: int, handler: Handler, *, tls: PemPair | None = None) -> None:
        async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections[(host, port)] = self.connections.get((host, port), 0) + 1
            try:
                await handler(reader, writer)
            except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
                pass
            finally:
                writer.close()

        async def create() -> None:
            server = await asyncio.start_server(
                counted, host, port, ssl=tls.server_context() if tls else None, reuse_address=True
            )
            self.servers.append(server)

        self.call(create())

    def add_silent(self, host: str, ports: tuple[int, ...]) -> None:
        """Sockets that listen but never accept: the kernel completes the connection and nothing is ever
        said."""
        for port in ports:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((host, port))
            listener.listen(256)
            self.sockets.append(listener)

    def add_http(self, host: str, port: int, app: web.Application, *, tls: PemPair | None = None) -> None:
        async def create() -> None:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, host, port, ssl_context=tls.server_context() if tls else None)
            await site.start()
            self.runners.append(runner)

        self.call(create())

    def stop(self) -> None:
        async def close_all() -> None:
            for server in self.servers:
                server.close()
            for runner in self.runners:
                await runner.cleanup()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with contextlib.suppress(Exception):
            self.call(close_all())
        for listener in self.sockets:
            listener.close()
        self.loop.call_soon_threadsafe(self.loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.loop.is_running():
            self.loop.close()


# --- hostile behaviours -------------------------------------------------------------------------------------


async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the client gives up


async def endless_lines(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = b"220-" + b"x" * 70 + b"\r\n"
    while True:
        writer.write(line * 50)
        await writer.drain()


async def endless_line(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"220 ")
    while True:
        writer.write(b"A" * 1024)
        await writer.drain()


async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    # Deterministic "binary garbage": bytes that are neither text nor TLS.
    writer.write(bytes((index * 73 + 11) % 256 for index in range(600)).replace(b"\n", b"\x00") + b"\n")
    await writer.drain()
    await reader.read()


async def http_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    await writer.drain()


async def ssh_banner(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
    await writer.drain()
    await reader.read(4096)


async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    return None


async def close_mid_handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read(5)  # the start of the ClientHello, then hang up


async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    for byte in b"220 slow":
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.4)


async def reject_greeting(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    writer.write(b"554 5.7.1 No SMTP service for you\r\n")
    await writer.drain()
    await reader.read(4096)


def scripted_smtp(
    name: bytes,
    extensions: tuple[bytes, ...],
    *,
    starttls: tuple[bytes, ...] = (b"500 what\r\n",),
    other: bytes = b"500 what\r\n",
) -> Handler:
    """A scripted SMTP server: it greets as `name`, answers EHLO with `extensions`, STARTTLS with the `starttls`
    replies (a moment apart, so the client has begun its handshake before the second), QUIT with 221 and hangs
    up, and anything else with `other`."""
    ehlo = [name, *extensions]
    ehlo_reply = b"".join(
        b"250" + (b" " if index == len(ehlo) - 1 else b"-") + line + b"\r\n" for index, line in enumerate(ehlo)
    )

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 " + name + b" ESMTP\r\n")
        await writer.drain()
        while line := await reader.readline():
            command = line.strip().upper()
            if command.startswith(b"EHLO"):
                writer.write(ehlo_reply)
            elif command == b"STARTTLS":
                writer.write(starttls[0])
                for reply in starttls[1:]:
                    await writer.drain()
                    await asyncio.sleep(0.05)
                    writer.write(reply)
            elif command == b"QUIT":
                writer.write(b"221 bye\r\n")
                await writer.drain()
                return
            else:
                writer.write(other)
            await writer.drain()

    return session


starttls_454 = scripted_smtp(
    b"hostile.example.test",
    (b"SIZE 1000", b"STARTTLS"),
    starttls=(b"454 4.7.0 TLS not available due to temporary reason\r\n",),
)
smtp_no_starttls = scripted_smtp(b"plain.example.test", (b"AUTH PLAIN LOGIN", b"8BITMIME"))
# Agrees to STARTTLS, then keeps talking in clear text (what a broken middlebox does); the client's handshake
# bytes get no answer.
starttls_then_plain = scripted_smtp(
    b"meddler.example.test",
    (b"STARTTLS",),
    starttls=(b"220 go ahead\r\n", b"250 still plain text\r\n"),
    other=b"",
)


# --- autoconfig ---------------------------------------------------------------------------------------------

AUTOCONFIG_XML = b"""<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.test">
    <domain>example.test</domain>
    <displayName>Example test mail</displayName>
    <incomingServer type="imap">
      <hostname>mail.%EMAILDOMAIN%</hostname>
      <port>993</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <incomingServer type="pop3">
      <hostname>mail.example.test</hostname>
      <port>995</port>
      <socketType>SSL</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </incomingServer>
    <outgoingServer type="smtp">
      <hostname>mail.example.test</hostname>
      <port>587</port>
      <socketType>STARTTLS</socketType>
      <authentication>password-cleartext</authentication>
      <username>%EMAILADDRESS%</username>
    </outgoingServer>
  </emailProvider>
</clientConfig>
"""


def _server(kind: str, protocol: str, host: str, port: int, socket_type: str) -> str:
    return (
        f'<{kind} type="{protocol}"><hostname>{host}</hostname><port>{port}</port>'
        f"<socketType>{socket_type}</socketType></{kind}>"
    )


# refused-config.test's file: every incoming server but the last, and every outgoing one, is somewhere the probe
# must never go (this machine by name, ::1, the metadata address, 10.x).
REFUSED_AUTOCONFIG_XML = (
    '<?xml version="1.0"?><clientConfig version="1.1"><emailProvider id="refused-config.test">'
    + _server("incomingServer", "imap", "localhost", 993, "SSL")
    + _server("incomingServer", "imap", "[::1]", 993, "SSL")
    + _server("incomingServer", "pop3", "169.254.169.254", 995, "SSL")
    + _server("incomingServer", "imap", "10.20.30.40", 143, "STARTTLS")
    + _server("incomingServer", "imap", "mail.example.test", 993, "SSL")
    + _server("outgoingServer", "smtp", "localhost.", 465, "SSL")
    + _server("outgoingServer", "smtp", "10.0.0.25", 587, "STARTTLS")
    + "</emailProvider></clientConfig>"
).encode()


def autoconfig_app(requests: list[str]) -> web.Application:
    async def config(request: web.Request) -> web.Response:
        requests.append(f"{request.scheme}://{request.host}{request.path}")
        if request.host.split(":")[0] == "autoconfig.refused-config.test":
            return web.Response(body=REFUSED_AUTOCONFIG_XML, content_type="text/xml")
        return web.Response(body=AUTOCONFIG_XML, content_type="text/xml")

    app = web.Application()
    app.router.add_get("/mail/config-v1.1.xml", config)
    return app


def redirect_app(requests: list[str]) -> web.Application:
    """`autoconfig.redirect.test` redirects; `redirect.test`'s .well-known file never ends (no length given)."""

    async def moved(request: web.Request) -> web.Response:
        requests.append(f"{request.scheme}://{request.host}{request.path}")
        raise web.HTTPFound("http://127.0.0.1/mail/config-v1.1.xml")

    async def endless(request: web.Request) -> web.StreamResponse:
        requests.append(f"{request.scheme}://{request.host}{request.path}")
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        chunk = b"<clientConfig>" + b" " * 8192
        with contextlib.suppress(ConnectionError):
            for _ in range(1024):  # 8 MiB at most, far past any cap; the client hangs up long before
                await response.write(chunk)
        return response

    app = web.Application()
    app.router.add_get("/mail/config-v1.1.xml", moved)
    app.router.add_get("/.well-known/autoconfig/mail/config-v1.1.xml", endless)
    return app


# --- everything together ------------------------------------------------------------------------------------


@dataclass
class MailLab:
    root: Path
    certificates: Certificates
    dovecot: Dovecot | None
    dnsmasq: Dnsmasq
    threads: ServerThread
    autoconfig_requests: list[str]

    @property
    def ca_file(self) -> Path:
        return self.certificates.ca_file

    def stop(self) -> None:
        self.threads.stop()
        self.dnsmasq.stop()
        if self.dovecot is not None:
            self.dovecot.stop()


HOSTILE = {
    # Each entry names the address, the port and the behaviour.
    "silent": ("127.0.2.20", 2525, silent),
    "endless_lines": ("127.0.2.21", 2525, endless_lines),
    "endless_line": ("127.0.2.22", 2525, endless_line),
    "garbage": ("127.0.2.23", 2525, garbage),
    "http": ("127.0.2.24", 2525, http_banner),
    "ssh": ("127.0.2.25", 2525, ssh_banner),
    "close_at_once": ("127.0.2.27", 2525, close_at_once),
    "drip": ("127.0.2.28", 2525, drip),
    "reject": ("127.0.2.29", 2525, reject_greeting),
    "starttls_454": ("127.0.2.30", 587, starttls_454),
    "no_starttls": ("127.0.2.32", 587, smtp_no_starttls),
    "starttls_then_plain": ("127.0.2.33", 587, starttls_then_plain),
}


def start_lab(root: Path, *, with_dovecot: bool = True) -> MailLab:
    certificates = Certificates(root)
    dovecot = None
    threads = ServerThread()
    dnsmasq = Dnsmasq(root)
    requests: list[str] = []
    try:
        if with_dovecot:
            dovecot = Dovecot(root / "dovecot", certificates.valid, (DOVECOT, MAIL_HOST))
            dovecot.start()
        dnsmasq.start()
        threads.start()
        valid = certificates.valid
        for host in (SMTP_HOST, MAIL_HOST, VICTIM_HOST):
            threads.add_smtp(host, 25, starttls=valid)
            threads.add_smtp(host, 587, starttls=valid, require_starttls=True)
            threads.add_smtp(host, 465, implicit=valid)
        for host, pair in (
            (EXPIRED_HOST, certificates.expired),
            (SELF_SIGNED_HOST, certificates.self_signed),
            (WRONG_NAME_HOST, certificates.wrong_name),
            (UNTRUSTED_CA_HOST, certificates.untrusted),
            (NO_INTERMEDIATE_HOST, certificates.no_intermediate),
        ):
            threads.add_smtp(host, 465, implicit=pair)
        for address, port, handler in HOSTILE.values():
            threads.add_stream(address, port, handler)
        # Hostile behaviour where TLS is expected.
        threads.add_stream("127.0.2.24", 993, http_banner)
        threads.add_stream("127.0.2.25", 993, ssh_banner)
        threads.add_stream("127.0.2.26", 993, close_mid_handshake)
        threads.add_stream("127.0.2.20", 993, silent)
        threads.add_silent(SILENT_HOST, MAIL_PORTS)
        threads.add_http(AUTOCONFIG_HOST, 443, autoconfig_app(requests), tls=valid)
        threads.add_http(AUTOCONFIG_HOST, 80, autoconfig_app(requests))
        threads.add_http(REDIRECT_HOST, 443, redirect_app(requests), tls=valid)
        threads.add_http(REDIRECT_HOST, 80, redirect_app(requests))
    except BaseException:
        threads.stop()
        dnsmasq.stop()
        if dovecot is not None:
            dovecot.stop()
        raise
    return MailLab(root, certificates, dovecot, dnsmasq, threads, requests)
