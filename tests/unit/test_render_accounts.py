"""Render with a credential per record: the name chosen, the key left alone, the base URL."""

from __future__ import annotations

from calsink.flow import DestinationSettings
from calsink.records import Position, Rejection, Request
from calsink.render import Renderer

ACCOUNTS = {"alice": None, "bob": "https://eu.cal.example"}


def render(record: dict[str, object], **destination: object) -> Request | Rejection:
    settings = DestinationSettings.model_validate(
        {
            "credential": "{owner}",
            "base_url": "https://api.cal.com",
            "template": "create-schedule",
            **destination,
        }
    )
    renderer = Renderer(settings, accounts=ACCOUNTS)
    return renderer.render(Position("s.jsonl", 0, 1), record, record)


def schedule(owner: str) -> dict[str, object]:
    return {"owner": owner, "name": "Mornings", "timeZone": "UTC", "isDefault": False}


def test_the_key_is_the_same_whichever_account_sends_the_record() -> None:
    alice, bob = render(schedule("alice")), render(schedule("bob"))
    assert isinstance(alice, Request) and isinstance(bob, Request)
    assert (alice.credential, bob.credential) == ("alice", "bob")
    assert alice.key == bob.key
    assert alice.body == bob.body and b"owner" not in (alice.body or b"")
    assert alice.url == "https://api.cal.com/v2/schedules"
    assert bob.url == "https://eu.cal.example/v2/schedules"


def test_a_name_that_is_not_stored_is_a_problem_naming_the_field_and_the_names() -> None:
    rejected = render(schedule("dave"))
    assert isinstance(rejected, Rejection)
    [problem] = rejected.problems
    assert problem.field == "owner"
    assert "stored: alice, bob" in problem.expected
    assert problem.found == "'dave'"
    assert problem.hint is not None and "calsink credentials add dave" in problem.hint


def test_a_template_of_several_fields_joins_them() -> None:
    record = {**schedule(""), "team": "al", "who": "ice"}
    request = render(record, credential="{team}{who}")
    assert isinstance(request, Request) and request.credential == "alice"
