"""`guidenest probe` and `guidenest discover` end to end, with real aiosmtpd and dnsmasq on 127.0.2.6x."""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.cli import probe as probe_cli
from bot.settings import Settings, load_settings
from tests.probe.servers import Certificates, Dnsmasq, ServerThread

if TYPE_CHECKING:
    from collections.abc import Iterator

SMTP = "127.0.2.60"
DNS = "127.0.2.62"
DNS_PORT = 5353
GUIDENEST = Path(sys.executable).parent / "guidenest"
USAGE_EXIT = 2
REFUSED_EXIT = 3


@pytest.fixture(scope="module")
def servers() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="guidenest-cli-"))
    certificates = Certificates(root, names=(SMTP, "smtp.cli.test"))
    threads = ServerThread()
    # mail.cli.test is a guess `discover cli.test` makes that the guard refuses (a private address).
    zone = [
        f"--host-record=smtp.cli.test,{SMTP}",
        "--host-record=private.cli.test,10.0.0.5",
        "--host-record=mail.cli.test,10.0.0.6",
    ]
    dnsmasq = Dnsmasq(root, DNS, DNS_PORT, zone=zone)
    try:
        dnsmasq.start()
        threads.start()
        threads.add_smtp(SMTP, 587, starttls=certificates.valid, require_starttls=True)
        yield certificates.ca_file
    finally:
        threads.stop()
        dnsmasq.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def settings(servers: Path) -> Settings:
    return load_settings(
        _env_file=None,
        probe_allow_networks="127.0.2.0/24",
        dns_servers=f"{DNS}:{DNS_PORT}",
        probe_ca_file=str(servers),
        probe_timeout_seconds=2,
    )


def run(settings: Settings, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="guidenest")
    probe_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    return int(args.handler(args, settings))


def run_json(settings: Settings, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any]:
    code = run(settings, *argv, "--json")
    return code, json.loads(capsys.readouterr().out)


def test_probe_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", SMTP, "--port", "587")
    assert code == 0
    assert data["ok"] is True
    assert data["target"] == {"host": SMTP, "port": 587, "protocol": "smtp", "security": "starttls"}
    assert data["address"] == SMTP
    assert data["starttls"] == {"offered": True}
    assert data["banner"].startswith("220 ")
    assert data["tls"]["version"] in {"TLSv1.2", "TLSv1.3"}
    assert data["tls"]["certificate"]["trusted"] is True
    assert data["error"] is None
    assert data["diagnosis"]["entry"] == "smtp-port-587"
    assert set(data["stages"]) == {
        "tcp",
        "greeting",
        "capabilities",
        "starttls",
        "tls",
        "capabilities_after_tls",
    }


def test_probe_by_name_with_protocol_and_security(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", "smtp.cli.test", "--protocol", "smtp", "--security", "starttls")
    assert code == 0
    assert data["ok"] is True
    assert data["target"]["port"] == 587
    assert data["address"] == SMTP
    assert "dns" in data["stages"]


def test_a_failed_probe_still_exits_zero(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", SMTP, "--port", "587", "--security", "ssl")
    assert code == 0
    assert data["ok"] is False
    assert data["error"]["kind"] == "tls_handshake_failed"
    assert set(data["error"]) == {"stage", "kind", "message"}
    assert data["error"]["stage"] == "tls"
    assert "wrong version number" in data["error"]["message"].lower()
    assert data["tls"] is None
    assert data["diagnosis"]["entry"] == "ssl-vs-starttls"


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("probe", "10.0.0.1", "--port", "993"), "private"),
        (("probe", "127.0.0.1", "--port", "587"), "loopback"),
        (("probe", SMTP, "--port", "22"), "not a mail port"),
        (("probe", "0x7f.1", "--port", "993"), "unusual form"),
        (("probe", "private.cli.test", "--port", "993"), "resolves to 10.0.0.5"),  # refused after DNS
        (("probe", "localhost", "--port", "993"), "means this machine"),
        (("discover", "localhost"), "means this machine"),
    ],
)
def test_refusals_exit_three_with_the_reason(
    settings: Settings, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], words: str
) -> None:
    code, data = run_json(settings, capsys, *argv)
    assert code == 3
    assert list(data) == ["refused"]
    assert words in data["refused"]


def test_refusal_without_json(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(settings, "probe", "192.168.1.1", "--port", "993") == 3
    assert capsys.readouterr().out.startswith("Refused: 192.168.1.1 is a private")


def test_the_words_people_use_for_protocol_and_security(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(settings, capsys, "probe", "smtp.cli.test", "--protocol", "Submission", "--security", "STLS")
    assert code == 0
    assert data["target"] == {"host": "smtp.cli.test", "port": 587, "protocol": "smtp", "security": "starttls"}


@pytest.fixture
def lab_env(servers: Path) -> dict[str, str]:
    """The environment of a `guidenest` process pointed at this module's servers, with nothing from the machine."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("GUIDENEST_") and name not in {"NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES"}
    }
    env.update(
        GUIDENEST_PROBE_ALLOW_NETWORKS="127.0.2.0/24",
        GUIDENEST_DNS_SERVERS=f"{DNS}:{DNS_PORT}",
        GUIDENEST_PROBE_CA_FILE=str(servers),
        GUIDENEST_PROBE_TIMEOUT_SECONDS="2",
        TERM="xterm-256color",
    )
    return env


def guidenest(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(GUIDENEST), *argv], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("probe", "smtp.cli.test", "--protocol", "imapx"), "argument --protocol: invalid choice: 'imapx'"),
        (("probe", "smtp.cli.test", "--protocol", "smtp", "--security", "tls2"), "argument --security: invalid"),
        (("probe", "smtp.cli.test", "--port", "0"), "argument --port: 0 is not a TCP port number (1 to 65535)"),
        (("probe", "smtp.cli.test", "--port", "70000"), "argument --port: 70000 is not a TCP port number"),
        (("probe", "smtp.cli.test", "--port", "587x"), "argument --port: '587x' is not a port number"),
        (("probe", "smtp.cli.test"), "Give a port, or a protocol (imap, pop3, smtp) with a security mode."),
        (("probe", "smtp.cli.test:587"), "Give the port separately, not as host:port."),
        (("probe", "https://smtp.cli.test", "--port", "587"), "not a web address or an email address"),
        (("probe", "smtp", "--port", "587"), "Give the full server name"),
        (("discover", "127.0.0.1"), "Discovery needs a mail domain (the part after @), not an IP address."),
    ],
)
def test_usage_mistakes_exit_two_with_the_usage_line(
    lab_env: dict[str, str], argv: tuple[str, ...], message: str
) -> None:
    for args in (argv, (*argv, "--json")):
        finished = guidenest(lab_env, *args)
        assert finished.returncode == USAGE_EXIT, finished
        assert finished.stdout == ""  # never `{"refused": ...}`: a mistake in the request is no refusal
        usage, *_, error = finished.stderr.strip().splitlines()
        assert usage.startswith(f"usage: guidenest {argv[0]} ")
        assert error.startswith(f"guidenest {argv[0]}: error: ")
        assert message in error
        assert "Refused" not in finished.stderr


def test_a_port_with_no_usual_protocol_is_a_usage_mistake(lab_env: dict[str, str]) -> None:
    lab_env["GUIDENEST_PROBE_ALLOWED_PORTS"] = "587,4190"
    finished = guidenest(lab_env, "probe", "smtp.cli.test", "--port", "4190")
    assert finished.returncode == USAGE_EXIT
    assert "guidenest probe: error: Port 4190 has no usual mail protocol" in finished.stderr
    # Off the allowed list, the same port is a refusal.
    lab_env["GUIDENEST_PROBE_ALLOWED_PORTS"] = "587"
    finished = guidenest(lab_env, "probe", "smtp.cli.test", "--port", "4190", "--json")
    assert finished.returncode == REFUSED_EXIT
    assert json.loads(finished.stdout) == {"refused": "Port 4190 is not a mail port the probe may use (allowed: 587)."}


def test_help_lists_the_choices(lab_env: dict[str, str]) -> None:
    finished = guidenest(lab_env, "probe", "--help")
    assert finished.returncode == 0
    assert "--protocol {imap,pop3,smtp}" in finished.stdout
    assert "--security {ssl,starttls,plain}" in finished.stdout


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (("probe", "10.0.0.1", "--port", "993"), "private"),
        (("probe", "private.cli.test", "--port", "993"), "resolves to 10.0.0.5"),
        (("discover", "localhost"), "means this machine"),
    ],
)
def test_refusals_exit_three(lab_env: dict[str, str], argv: tuple[str, ...], words: str) -> None:
    finished = guidenest(lab_env, *argv, "--json")
    assert (finished.returncode, finished.stderr) == (REFUSED_EXIT, "")
    assert words in json.loads(finished.stdout)["refused"]
    finished = guidenest(lab_env, *argv)
    assert finished.returncode == REFUSED_EXIT
    assert finished.stdout.startswith("Refused: ")


# --- live progress on a terminal ------------------------------------------------------------------------------

ROWS, COLUMNS = 40, 150
_SEQUENCE = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


def on_terminal(env: dict[str, str], *argv: str, rows: int = ROWS) -> tuple[int, str, str]:
    """Run guidenest with stderr on a real pseudo-terminal of `rows` lines and stdout on a pipe: exit code,
    stdout, and every byte the terminal received."""
    controller, terminal = os.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", rows, COLUMNS, 0, 0))
    process = subprocess.Popen(
        [str(GUIDENEST), *argv], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=terminal
    )
    os.close(terminal)
    received = bytearray()
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 1.0)
            if not ready:
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the process closed its end of the terminal
                break
            if not chunk:
                break
            received += chunk
        assert process.stdout is not None
        out = process.stdout.read().decode()
        code = process.wait(timeout=10)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return code, out, received.decode()


def left_on_terminal(received: str, rows: int = ROWS) -> list[str]:
    """The lines a terminal of `rows` lines is left showing, scrolled-off ones included: the few controls rich's
    live display uses, applied as a terminal would (the cursor cannot move up into what has scrolled away)."""
    scrolled: list[str] = []
    screen = [""]
    row = 0
    position = 0
    while position < len(received):
        match = _SEQUENCE.match(received, position)
        if match is not None:
            parameters, command = match.groups()
            if command == "A":
                row = max(0, row - int(parameters or 1))
            elif command == "K":
                screen[row] = ""
            else:
                assert command in {"m", "h", "l"}, match.group()  # style, cursor shown/hidden
            position = match.end()
            continue
        char = received[position]
        if char == "\n":
            row += 1
            if row == len(screen):
                screen.append("")
            if len(screen) > rows:
                scrolled.append(screen.pop(0))
                row -= 1
        elif char != "\r":
            screen[row] += char
        position += 1
    return scrolled + screen


def colours(received: str) -> set[str]:
    """The colour parameters of every style sequence (30-38, 40-48, 90-97, 100-107)."""
    found = set()
    for parameters, command in _SEQUENCE.findall(received):
        if command == "m":
            found.update(p for p in parameters.split(";") if re.fullmatch(r"(3|4|9|10)[0-8]", p))
    return found


def test_discover_shows_its_steps_live_and_erases_them(lab_env: dict[str, str]) -> None:
    code, out, received = on_terminal(lab_env, "discover", "cli.test")
    assert code == 0
    assert "smtp.cli.test" in out  # the result, on stdout
    for step in (
        "Looking for the mail settings of cli.test",
        "https://autoconfig.cli.test/mail/config-v1.1.xml",
        "DNS SRV records",
        "DNS MX records",
        "IMAP imap.cli.test:993 SSL/TLS",
        "SMTP smtp.cli.test:465 SSL/TLS",
    ):
        assert step in received, step
    plain = _SEQUENCE.sub("", received)
    # The guess the guard refused, the one that failed, the one that worked, each with its mark and reason.
    assert re.search(r"⊘ IMAP mail\.cli\.test:993 SSL/TLS +mail\.cli\.test resolves to 10\.0\.0\.6", plain)
    assert re.search(r"✗ SMTP smtp\.cli\.test:465 SSL/TLS +127\.0\.2\.60 refused the connection", plain)
    assert re.search(r"✓ SMTP smtp\.cli\.test:587 STARTTLS +127\.0\.2\.60 answered over TLSv1\.[23] in", plain)
    assert "32" in colours(received)  # done in green
    # Transient: once the result prints, nothing of the display is left on the terminal.
    assert all(line.strip() == "" for line in left_on_terminal(received)), left_on_terminal(received)


def test_more_steps_than_lines_still_leave_nothing_behind(lab_env: dict[str, str]) -> None:
    rows = 12  # discover cli.test has about 30 steps
    code, _, received = on_terminal(lab_env, "discover", "cli.test", rows=rows)
    assert code == 0
    assert "SMTP smtp.cli.test:25 STARTTLS" in received  # the last step, shown as older ones gave way
    assert all(line.strip() == "" for line in left_on_terminal(received, rows)), left_on_terminal(received, rows)


def test_probe_shows_its_stages_live(lab_env: dict[str, str]) -> None:
    code, out, received = on_terminal(lab_env, "probe", "smtp.cli.test", "--port", "587")
    assert code == 0
    assert "smtp.cli.test" in out
    plain = _SEQUENCE.sub("", received)
    assert "Probing SMTP smtp.cli.test port 587 with STARTTLS" in plain
    for stage in ("DNS lookup", "TCP connection", "greeting", "capabilities", "STARTTLS", "TLS handshake"):
        assert re.search(rf"✓ {stage} +[0-9]+ ms", plain), stage
    assert re.search(r"✓ DNS lookup +[0-9]+ ms, 127\.0\.2\.60", plain)
    assert all(line.strip() == "" for line in left_on_terminal(received))


def test_no_colour_when_no_color_is_set(lab_env: dict[str, str]) -> None:
    lab_env["NO_COLOR"] = "1"
    code, _, received = on_terminal(lab_env, "probe", "smtp.cli.test", "--port", "587")
    assert code == 0
    assert "✓ TLS handshake" in _SEQUENCE.sub("", received)
    assert colours(received) == set()


@pytest.mark.parametrize("argv", [("discover", "cli.test"), ("probe", "smtp.cli.test", "--port", "587")])
def test_nothing_but_the_result_without_a_terminal_or_with_json(lab_env: dict[str, str], argv: tuple[str, ...]) -> None:
    piped = guidenest(lab_env, *argv)
    assert (piped.returncode, piped.stderr) == (0, "")
    assert "smtp.cli.test" in piped.stdout
    assert "\x1b" not in piped.stdout
    # On a terminal, but asking for JSON: the terminal gets nothing, stdout is exactly the JSON.
    code, out, received = on_terminal(lab_env, *argv, "--json")
    assert (code, received) == (0, "")
    assert json.loads(out)
