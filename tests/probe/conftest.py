"""One set of real servers for the whole probe test session (see servers.py for the address plan)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, load_settings
from tests.probe.servers import DNS_HOST, DNS_PORT, Dovecot, MailLab, start_lab

SettingsFactory = Callable[..., Settings]


@pytest.fixture(scope="session")
def lab() -> Iterator[MailLab]:
    if os.geteuid() != 0:
        # The servers listen on the real mail ports (25, 110, 143, 465, 587, 993, 995) and Dovecot's master
        # process must start as root; a plain bind error would hide that.
        pytest.fail("the probe tests start mail servers on ports below 1024 and need to run as root")
    # Not pytest's tmp_path: its parent is private to root; Dovecot's unprivileged processes must reach it.
    root = Path(tempfile.mkdtemp(prefix="guidenest-probe-"))
    root.chmod(0o755)
    with_dovecot = Dovecot.binary() is not None
    if not with_dovecot:
        print("\nDovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d): IMAP/POP3 tests skip.")
    mail_lab = start_lab(root, with_dovecot=with_dovecot)
    try:
        yield mail_lab
    finally:
        mail_lab.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def dovecot(lab: MailLab) -> None:
    if lab.dovecot is None:
        pytest.skip("the dovecot binary is missing (apt-get install dovecot-imapd dovecot-pop3d)")


@pytest.fixture
def make_settings(lab: MailLab) -> SettingsFactory:
    """Settings for the lab: loopback allowed, the lab's DNS server and CA, a short timeout. Override
    freely."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "_env_file": None,
            "probe_allow_networks": "127.0.0.0/8",
            "dns_servers": f"{DNS_HOST}:{DNS_PORT}",
            "probe_ca_file": str(lab.ca_file),
            "probe_timeout_seconds": 3.0,
        }
        values.update(overrides)
        return load_settings(**values)

    return make


@pytest.fixture
def strict_settings(make_settings: SettingsFactory) -> Settings:
    """No allowlist: what production runs with."""
    return make_settings(probe_allow_networks="")
