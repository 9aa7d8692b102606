#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: system packages, a virtual environment, lint, types, tests.
# Usage: bash .ci/test.sh [pytest arguments]   (the README's test command; .ci/run calls it)
set -euo pipefail
cd "$(dirname "$0")/.."

# Real mail servers and a DNS server for the probe tests (the tests' fixtures start and stop them).
need=()
command -v dovecot >/dev/null || need+=(dovecot-imapd dovecot-pop3d)
# The storage tests start their own PostgreSQL 15 from Debian's binaries (tests/pg.py).
[ -x /usr/lib/postgresql/15/bin/initdb ] || need+=(postgresql-15)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
# Redis 7 for the shared-limits and two-process tests (tests/redis_server.py starts its own).
command -v redis-server >/dev/null || need+=(redis-server)
# systemd-analyze checks deploy/guidenest@.service (tests/deploy/).
command -v systemd-analyze >/dev/null || need+=(systemd)
# Tesseract's English data for the screenshot tests (tesserocr, from the ocr extra, bundles the library), and
# the DejaVu fonts the tests render screenshots with.
command -v tesseract >/dev/null && [ -f /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] \
    || need+=(tesseract-ocr tesseract-ocr-eng)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf ] || need+=(fonts-dejavu-core)
if ((${#need[@]})); then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    # policy-rc.d keeps Debian from starting the system-wide Dovecot, PostgreSQL and Redis: the tests run their own.
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev]'

.venv/bin/guidenest kb check
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/python -m pytest "$@"
