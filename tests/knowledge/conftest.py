from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

ENTRY = """\
---
title: {title}
asks:
  - {ask}
errors:
  - "{error}"
tags: [test]
related: [{related}]
sources:
  - title: RFC 8314
    url: https://www.rfc-editor.org/rfc/rfc8314
---
{body}
"""

PORTS = """\
- protocol: IMAP
  port: 993
  security: ssl
  direction: incoming
  status: recommended
  name: imaps
  standard: RFC 8314
  notes: Encrypted from the first byte.
  entry: alpha
"""

PROVIDERS = """\
- id: example
  name: Example Mail
  domains: [example.com]
  aliases: [example webmail]
  incoming:
    - {protocol: IMAP, host: imap.example.com, port: 993, security: ssl}
  outgoing:
    - {protocol: SMTP, host: smtp.example.com, port: 465, security: ssl}
  auth: Your full address and password.
  notes: ""
  entry: beta
  source: https://example.com/help
  settings_from: provider
"""

WriteKB = Callable[..., Path]


def entry_text(
    title: str = "Alpha",
    ask: str = "what is alpha",
    error: str = "ERR_ALPHA",
    related: str = "",
    body: str = "Do it.",
) -> str:
    return ENTRY.format(title=title, ask=ask, error=error, related=related, body=body)


@pytest.fixture
def write_kb(tmp_path: Path) -> WriteKB:
    """A small valid knowledge base in tmp_path; `changes` replaces or adds files by path (None removes one)."""

    def write(changes: dict[str, str | None] | None = None) -> Path:
        root = tmp_path / "knowledge"
        (root / "entries").mkdir(parents=True, exist_ok=True)
        defaults: dict[str, str | None] = {
            "entries/alpha.md": entry_text(related="beta"),
            "entries/beta.md": entry_text(
                title="Beta", ask="what is beta", error="ERR_BETA", related="alpha"
            ),
            "ports.yaml": PORTS,
            "providers.yaml": PROVIDERS,
        }
        defaults.update(changes or {})
        for name, text in defaults.items():
            path = root / name
            if text is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(textwrap.dedent(text), encoding="utf-8")
        return root

    return write
