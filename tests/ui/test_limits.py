"""The page's server bounds what it reads: a body over its limit gets 413 before it is
read (a Content-Length that says so) or once the limit is passed (chunks), a request head
over its limit gets 431, and the server goes on answering."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator

import psutil
import pytest

from support.rawhttp import body_of, exchange, status_of
from ui.conftest import UiHandle

pytestmark = pytest.mark.e2e

MB = 1024 * 1024


def head(ui: UiHandle, *lines: str) -> bytes:
    fixed = [
        "POST /api/preview HTTP/1.1",
        f"Host: {ui.origin.removeprefix('http://')}",
        f"X-Calsink-Token: {ui.token}",
        "Content-Type: application/json",
    ]
    return ("\r\n".join([*fixed, *lines]) + "\r\n\r\n").encode()


def pieces(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for _ in range(total // size):
        yield b" " * size


def chunked(total: int, size: int = 64 * 1024) -> Iterator[bytes]:
    for piece in pieces(total, size):
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def still_answers(ui: UiHandle) -> bool:
    request = urllib.request.Request(
        f"{ui.origin}/api/state", headers={"X-Calsink-Token": ui.token}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return bool(answer.status == 200)


def test_a_body_declared_at_800_mb_is_refused_before_it_is_read(ui: UiHandle) -> None:
    server = psutil.Process(ui.pid)
    before = server.memory_info().rss
    answer = exchange(ui.origin, head(ui, "Content-Length: 800000000"), pieces(4 * MB))
    assert status_of(answer) == 413, answer[:300]
    problems = json.loads(body_of(answer))["problems"]
    assert "too large" in problems[0]
    grown = server.memory_info().rss - before
    assert grown < 50 * MB, f"the page grew by {grown // MB} MB"
    assert still_answers(ui)


def test_a_chunked_body_over_the_limit_is_refused_once_it_passes_it(
    ui: UiHandle,
) -> None:
    answer = exchange(ui.origin, head(ui, "Transfer-Encoding: chunked"), chunked(8 * MB))
    assert status_of(answer) == 413, answer[:300]
    assert still_answers(ui)


def test_a_100_kb_header_gets_431(ui: UiHandle) -> None:
    answer = exchange(ui.origin, head(ui, "X-Big: " + "a" * 100_000))
    assert status_of(answer) == 431, answer[:300]
    assert "too large" in json.loads(body_of(answer))["problems"][0]
    assert still_answers(ui)
