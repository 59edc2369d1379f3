"""The sandbox's contract checks use the newer OpenAPI subset (upstream a36c1b79).

Each route ``sandbox_contract.SUCCESS`` names that the newer subset publishes is checked
against the very schema the subset gives its 2xx answer; the routes it does not publish
keep a schema of their own, listed here by name.
"""

from __future__ import annotations

import re

import pytest
from sandbox_contract import OLDER, QUIRKS, SPEC, SUCCESS

# upstream parameter names -> the sandbox route table's
_PARAMS = {"bookingUid": "uid", "eventTypeId": "id", "scheduleId": "id", "webhookId": "id"}
_PARAMS |= {"oooId": "id"}
# routes the sandbox serves that the newer subset does not publish (or not as an envelope)
UNPUBLISHED = {("GET", "/v2/me/ooo/{id}"), ("GET", "/v2/slots")}


def _published(document: dict[str, object]) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        route = re.sub(r"\{(\w+)\}", lambda m: "{" + _PARAMS.get(m[1], m[1]) + "}", path)
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
                if status.startswith("2") and "$ref" in schema:
                    found[(method.upper(), route)] = schema["$ref"].rsplit("/", 1)[1]
    return found


NEWER_ROUTES = _published(SPEC)


@pytest.mark.parametrize("route", sorted(SUCCESS), ids=" ".join)
def test_each_route_is_checked_with_the_newer_subsets_schema(route: tuple[str, str]) -> None:
    if route in UNPUBLISHED:
        assert route not in NEWER_ROUTES
        return
    assert SUCCESS[route] == {"$ref": f"#/components/schemas/{NEWER_ROUTES[route]}"}


def test_the_older_subsets_checks_all_carry_over() -> None:
    """Every schema and route of the older subset (fea00aa8) is in the newer one."""
    assert set(OLDER["components"]["schemas"]) <= set(SPEC["components"]["schemas"])
    assert set(_published(OLDER)) <= set(NEWER_ROUTES)


def test_each_correction_names_its_quirk() -> None:
    assert len(set(QUIRKS)) == len(QUIRKS) == 8
