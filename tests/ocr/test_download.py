"""The download guard: only the allowed hosts, https except for a listed loopback address:port, no redirects,
the byte cap whatever the server claims, the time budget; against a real aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from bot.ocr import ImageRefused, Refusal
from bot.ocr.download import AttachmentDownloader, check_url
from bot.ocr.hosts import parse_host
from tests.ocr.images import encode, text_image

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

PNG = encode(text_image("535 5.7.8 Username and Password not accepted"))
CAP = 64 * 1024


class FileServer:
    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/ok.png", self._ok)
        app.router.add_get("/redirect.png", self._redirect)
        app.router.add_get("/declared-big.png", self._declared_big)
        app.router.add_get("/streamed-big.png", self._streamed_big)
        app.router.add_get("/slow.png", self._slow)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _ok(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        return web.Response(body=PNG, content_type="image/png")

    async def _redirect(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        raise web.HTTPFound(self.url("/ok.png"))

    async def _declared_big(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "image/png", "Content-Length": str(CAP * 10)})
        await response.prepare(request)
        await response.write(PNG)  # the body never comes: the claim alone must stop the download
        return response

    async def _streamed_big(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        response.enable_chunked_encoding()  # no Content-Length: only counting the bytes catches it
        await response.prepare(request)
        for _ in range(CAP // 1024 * 4):
            await response.write(b"\x00" * 1024)
        return response

    async def _slow(self, request: web.Request) -> web.Response:
        self.requests.append(request.path)
        await asyncio.sleep(1)
        return web.Response(body=PNG, content_type="image/png")


@pytest.fixture
async def files() -> AsyncIterator[FileServer]:
    server = FileServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def downloader(files: FileServer) -> AsyncIterator[AttachmentDownloader]:
    opened = AttachmentDownloader([f"127.0.0.1:{files.port}"], CAP)
    yield opened
    await opened.close()


def deadline(seconds: float) -> float:
    return asyncio.get_running_loop().time() + seconds


@pytest.mark.parametrize(
    "url",
    [
        "https://cdn.discordapp.com/attachments/1/2/error.png?ex=1&is=2&hm=3&",
        "https://CDN.discordapp.com./attachments/1/2/error.png",
        "https://cdn.discordapp.com:443/attachments/1/2/error.png",
        "https://media.discordapp.net/attachments/1/2/error.png?width=400",
        "http://127.0.0.1:8080/attachments/1/2/error.png",
    ],
)
def test_discords_hosts_and_the_listed_loopback_address_are_allowed(url: str) -> None:
    assert check_url(url, ["cdn.discordapp.com", "media.discordapp.net", "127.0.0.1:8080"]).path.endswith(".png")


@pytest.mark.parametrize(
    "url",
    [
        "http://cdn.discordapp.com/attachments/1/2/error.png",  # no TLS
        "https://cdn.discordapp.com:8443/attachments/1/2/error.png",  # another port
        "https://cdn.discordapp.com.evil.example/error.png",
        "https://evil.example/cdn.discordapp.com/error.png",
        "https://cdn.discordapp.com@evil.example/error.png",
        "https://user:pass@cdn.discordapp.com/error.png",
        "http://127.0.0.1:8081/error.png",  # a loopback port not listed
        "http://127.0.0.1/error.png",
        "https://169.254.169.254/latest/meta-data/",
        "ftp://cdn.discordapp.com/error.png",
        "file:///etc/passwd",
        "not a url",
        "",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(ImageRefused) as refused:
        check_url(url, ["cdn.discordapp.com", "media.discordapp.net", "127.0.0.1:8080"])
    assert refused.value.refusal is Refusal.HOST_NOT_ALLOWED


def test_plain_http_needs_a_loopback_address_and_a_port() -> None:
    with pytest.raises(ImageRefused):
        check_url("http://cdn.example:8080/x.png", ["cdn.example:8080"])  # not loopback
    with pytest.raises(ImageRefused):
        check_url("http://127.0.0.1/x.png", ["127.0.0.1"])  # no port listed
    assert check_url("http://[::1]:9000/x.png", ["[::1]:9000"]).port == 9000


@pytest.mark.parametrize(
    ("entry", "parsed"),
    [("cdn.discordapp.com", ("cdn.discordapp.com", None)), ("Media.Discordapp.NET.", ("media.discordapp.net", None)),
     ("127.0.0.1:8080", ("127.0.0.1", 8080)), ("[::1]:9000", ("::1", 9000)), ("::1", ("::1", None))],
)  # fmt: skip
def test_host_entries(entry: str, parsed: tuple[str, int | None]) -> None:
    assert parse_host(entry) == parsed


@pytest.mark.parametrize("entry", ["", "host:0", "host:99999", "host:http", "https://cdn.discordapp.com", "a b"])
def test_bad_host_entries(entry: str) -> None:
    with pytest.raises(ValueError, match=r"entry|host name|valid port|cannot read"):
        parse_host(entry)


async def test_downloads_an_attachment(files: FileServer, downloader: AttachmentDownloader) -> None:
    assert await downloader.fetch(files.url("/ok.png"), deadline=deadline(5)) == PNG


async def test_a_redirect_is_not_followed(files: FileServer, downloader: AttachmentDownloader) -> None:
    with pytest.raises(ImageRefused) as refused:
        await downloader.fetch(files.url("/redirect.png"), deadline=deadline(5))
    assert refused.value.refusal is Refusal.DOWNLOAD_FAILED
    assert "redirect, not followed" in str(refused.value)
    assert files.requests == ["/redirect.png"]


async def test_a_declared_size_over_the_cap_stops_the_download(
    files: FileServer, downloader: AttachmentDownloader
) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageRefused) as refused:
        await downloader.fetch(files.url("/declared-big.png"), deadline=deadline(5))
    assert time.perf_counter() - started < 1
    assert refused.value.refusal is Refusal.TOO_LARGE


async def test_a_stream_over_the_cap_is_cut(files: FileServer, downloader: AttachmentDownloader) -> None:
    with pytest.raises(ImageRefused) as refused:
        await downloader.fetch(files.url("/streamed-big.png"), deadline=deadline(5))
    assert refused.value.refusal is Refusal.TOO_LARGE
    assert f"larger than {CAP} bytes" in str(refused.value)


async def test_a_slow_host_is_given_up_on_at_the_deadline(
    files: FileServer, downloader: AttachmentDownloader
) -> None:
    started = time.perf_counter()
    with pytest.raises(ImageRefused) as refused:
        await downloader.fetch(files.url("/slow.png"), deadline=deadline(0.3))
    assert time.perf_counter() - started < 0.8
    assert refused.value.refusal is Refusal.TOO_SLOW


async def test_missing_and_unreachable_attachments(files: FileServer, downloader: AttachmentDownloader) -> None:
    with pytest.raises(ImageRefused) as missing:
        await downloader.fetch(files.url("/gone.png"), deadline=deadline(5))
    assert "HTTP 404" in str(missing.value)
    closed = AttachmentDownloader(["127.0.0.1:9"], CAP)  # the discard port: nothing listens
    try:
        with pytest.raises(ImageRefused) as unreachable:
            await closed.fetch("http://127.0.0.1:9/x.png", deadline=deadline(5))
        assert unreachable.value.refusal is Refusal.DOWNLOAD_FAILED
    finally:
        await closed.close()


async def test_another_host_is_never_contacted(files: FileServer) -> None:
    other = AttachmentDownloader(["cdn.discordapp.com"], CAP)
    try:
        with pytest.raises(ImageRefused) as refused:
            await other.fetch(files.url("/ok.png"), deadline=deadline(5))
        assert refused.value.refusal is Refusal.HOST_NOT_ALLOWED
    finally:
        await other.close()
    assert files.requests == []
