"""For any record, render either rejects it or yields a URL under base_url with clean headers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from calsink.flow import DestinationSettings
from calsink.records import Position, Rejection, Request
from calsink.render import Renderer

BASE = "https://api.cal.com"
HERE = Position("p.jsonl", 0, 1)

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(),
    st.sampled_from([".", "..", "%2e%2e", "../..", "/", "?x=1", "#f", "a\r\nb", "\x00", "@h:1"]),
)
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.dictionaries(st.text(max_size=8), children, max_size=3),
    ),
    max_leaves=8,
)
records = st.dictionaries(
    st.one_of(
        st.sampled_from(["uid", "id", "start", "attendee", "reason", "x"]), st.text(max_size=6)
    ),
    values,
    max_size=6,
)

RENDERERS = [
    Renderer(DestinationSettings(template=name))
    for name in ("cancel-booking", "update-event-type", "delete-event-type", "create-booking")
] + [
    Renderer(
        DestinationSettings.model_validate(
            {
                "manual": {
                    "method": "POST",
                    "url": "/v2/things/{uid}/do?for={x}",
                    "headers": "x-source:test",
                }
            }
        )
    )
]


def _check(out: Request | Rejection) -> None:
    if isinstance(out, Rejection):
        assert out.problems
        return
    assert out.url.startswith(BASE + "/v2/")
    parts = urlsplit(out.url)
    assert (parts.scheme, parts.netloc) == ("https", "api.cal.com")
    segments = parts.path.split("/")
    assert ".." not in segments and "." not in segments
    for name, value in out.headers:
        assert not any(c in name + value for c in "\r\n\x00")
        assert name.lower() != "authorization"
    assert all(c not in out.url for c in "\r\n\x00 ")


@settings(max_examples=300, deadline=None)
@given(record=records, source=records)
def test_render_rejects_or_stays_under_base_url(
    record: dict[str, Any], source: dict[str, Any]
) -> None:
    for renderer in RENDERERS:
        _check(renderer.render(HERE, source, record))


@settings(max_examples=300, deadline=None)
@given(uid=st.text(min_size=1))
def test_any_uid_stays_one_segment(uid: str) -> None:
    out = RENDERERS[0].render(HERE, {}, {"uid": uid})
    _check(out)
    if isinstance(out, Request):
        path = urlsplit(out.url).path
        assert path.startswith("/v2/bookings/") and path.endswith("/cancel")
        assert path.count("/") == 4
