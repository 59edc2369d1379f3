"""Where calsink sends over plain http: only to this machine. The one rule, used by the
transport, the flow's base_url and manual URLs, the response webhook and source URLs.

"This machine" is a loopback address (127.0.0.0/8, ::1) or the name ``localhost``, which
resolvers answer themselves (RFC 6761 §6.3). Other names that often point here
(``localhost.localdomain``, ``ip6-localhost``) come from /etc/hosts at best and can be
answered by DNS, and the API key travels with every request: they need https.
"""

from __future__ import annotations

import functools
import ipaddress
from urllib.parse import urlsplit

LOOPBACK_HOSTS = "localhost, 127.0.0.1 or ::1"


class InsecureURLError(ValueError):
    """A URL calsink refuses to send to (plain http to a host that is not loopback)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a URL's host, brackets allowed) is this machine."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Raise InsecureURLError unless ``url`` is https, or http to a loopback host."""
    problem = url_problem(url)
    if problem is not None:
        raise InsecureURLError(problem)


@functools.lru_cache(maxsize=4096)
def url_problem(url: str) -> str | None:
    """Why calsink refuses ``url``, or None; remembered, as a run sends to the same URLs."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return None
    if parts.scheme == "http":
        if parts.hostname and is_loopback(parts.hostname):
            return None
        return (
            f"refusing plain http to {parts.hostname}: use https "
            f"(plain http is allowed only for {LOOPBACK_HOSTS})"
        )
    return f"unsupported URL scheme {parts.scheme!r} in {url}: use https"
