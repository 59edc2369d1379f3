"""One rule decides where calsink sends over plain http: only to this machine.

The flow's base_url (checked when the flow is read), every request the transport sends,
the response webhook and a source behind a URL once each had their own idea of "this
machine": ``http://localhost.localdomain`` was refused as a base_url and accepted
everywhere else. A name other than ``localhost`` can be answered by DNS, and the API key
travels with every request, so only ``localhost`` and the loopback addresses count.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.adversarial.harness import FAKE_KEY, cli, write_flow

from calsink.flow import DestinationSettings
from calsink.http.urls import InsecureURLError, check_url
from calsink.render import RenderConfigError, Renderer
from calsink.sources import SourceError
from calsink.sources._remote import _check as check_source_url


def _verdicts(host: str) -> dict[str, bool]:
    """Whether each place that checks a URL lets ``http://{host}:9/…`` through."""
    url = f"http://{host}:9"
    verdicts: dict[str, bool] = {}
    try:
        Renderer(
            DestinationSettings.model_validate({"template": "create-booking", "base_url": url})
        )
        verdicts["destination.base_url"] = True
    except RenderConfigError:
        verdicts["destination.base_url"] = False
    try:
        check_url(f"{url}/v2/bookings")
        verdicts["the transport"] = True
    except InsecureURLError:
        verdicts["the transport"] = False
    try:
        check_source_url(f"{url}/leads.csv")
        verdicts["a source URL"] = True
    except SourceError:
        verdicts["a source URL"] = False
    return verdicts


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("[::1]", True),
        ("localhost.localdomain", False),
        ("ip6-localhost", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("api.cal.com", False),
    ],
)
def test_every_url_check_agrees_on_what_plain_http_may_reach(host: str, allowed: bool) -> None:
    verdicts = _verdicts(host)
    assert verdicts == dict.fromkeys(verdicts, allowed), verdicts


def test_a_response_webhook_to_localhost_localdomain_is_refused_before_anything_is_sent(
    tmp_path: Path,
) -> None:
    (tmp_path / "leads.csv").write_text("name,email,start\nA,a@example.com,2030-01-07T14:00:00Z\n")
    write_flow(
        tmp_path,
        "http://127.0.0.1:9",
        source="leads.csv",
        delivery={"max_attempts": 1},
        responses="responses: {webhook: 'http://localhost.localdomain:9/in'}",
    )
    result = cli("run", "flow.yaml", "--json", key=FAKE_KEY, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "plain http" in result.stderr
    assert "localhost.localdomain" in result.stderr
