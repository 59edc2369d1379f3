"""Raw HTTP/1.1 over a socket, for requests no client library will send (huge declared
bodies, oversized headers) and for watching the server answer before the upload ends."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable


def exchange(origin: str, head: bytes, body: Iterable[bytes] = (), timeout: float = 30) -> bytes:
    """Send ``head`` then ``body`` (from a thread, stopping quietly when the server closes)
    while reading the answer; returns what the server sent before it closed."""
    host, _, port = origin.removeprefix("http://").partition(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:

        def upload() -> None:
            try:
                sock.sendall(head)
                for piece in body:
                    sock.sendall(piece)
            except OSError:
                return

        sender = threading.Thread(target=upload, daemon=True)
        sender.start()
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
                if _complete(answer):
                    break
        except ConnectionResetError:
            pass
        sender.join(timeout)
    return answer


def _complete(answer: bytes) -> bool:
    head, found, rest = answer.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(rest) >= int(value)
    return False


def status_of(answer: bytes) -> int:
    """The status code of a raw answer (0 when there is none)."""
    parts = answer.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def body_of(answer: bytes) -> bytes:
    return answer.partition(b"\r\n\r\n")[2]
