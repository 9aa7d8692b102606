"""REST faults a test arms before the bot makes a request: rate limits and server errors, as Discord sends
them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from tests.e2e.emulator.recording import RestCall


@dataclass
class HttpFault:
    status: int
    method: str | None
    path: str | None  # regular expression on the path without the API prefix; `{id}` is any snowflake
    times: int
    retry_after: float = 0.05
    is_global: bool = False
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.hits >= self.times:
            return False
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or re.fullmatch(self.path.replace("{id}", r"\d+"), path) is not None

    def response(self) -> tuple[web.Response, Any, str]:
        """The answer, its body (for the record) and a label."""
        if self.status == 429:
            body: dict[str, Any] = {
                "message": "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": self.is_global,
            }
            # discord.py retries a 429 only when it carries a `Via` header (Cloudflare bans have none).
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, round(self.retry_after))),
                "X-RateLimit-Scope": "global" if self.is_global else "user",
            }
            if self.is_global:
                headers["X-RateLimit-Global"] = "true"
            label = "429 global rate limit" if self.is_global else "429 rate limit"
        else:
            body = {"message": f"{self.status}: Internal Server Error", "code": 0}
            headers = {}
            label = f"{self.status} server error"
        response = web.Response(
            status=self.status,
            body=json.dumps(body).encode(),
            content_type="application/json",
            headers=headers,
        )
        return response, body, label


class Faults:
    """The faults armed on one emulator; the first armed fault that matches a request answers it."""

    def __init__(self) -> None:
        self.armed: list[HttpFault] = []

    def rate_limit(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        retry_after: float = 0.05,
        is_global: bool = False,
        times: int = 1,
    ) -> HttpFault:
        """Answer the next `times` matching requests with 429 and `retry_after` seconds."""
        fault = HttpFault(429, method, path, times, retry_after=retry_after, is_global=is_global)
        self.armed.append(fault)
        return fault

    def server_error(
        self, *, status: int = 500, method: str | None = None, path: str | None = None, times: int = 1
    ) -> HttpFault:
        """Answer the next `times` matching requests with a 5xx (discord.py retries 500/502/504 after 1 s, 3
        s…)."""
        fault = HttpFault(status, method, path, times)
        self.armed.append(fault)
        return fault

    def take(self, call: RestCall) -> HttpFault | None:
        for fault in self.armed:
            if fault.matches(call.method, call.path):
                fault.hits += 1
                return fault
        return None

    def clear(self) -> None:
        self.armed.clear()
