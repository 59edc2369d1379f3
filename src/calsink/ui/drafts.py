"""The page's state is a flow: turning its draft into a validated flow, and back into YAML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from calsink import Flow, LoadedFlow, load_yaml, resolve_references
from calsink.errors import YamlError


class DraftError(Exception):
    """A draft the page cannot use yet, with one message per problem (``field: what``)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def load_draft(
    draft: Any, *, base_dir: Path, path: Path | None = None, keep_references: bool = False
) -> LoadedFlow:
    """Validate the page's draft exactly as a flow file's content is validated.

    ``${NAME}`` references take the environment's values, as in a flow file; with
    ``keep_references`` they stay as written (to save the draft: a secret given by reference
    is never written out).
    """
    if not isinstance(draft, dict):
        raise DraftError(["the draft flow must be a JSON object"])
    draft = _with_parsed_map(draft)
    if not keep_references:
        draft, unset = resolve_references(draft)
        if unset:
            raise DraftError(unset)
    try:
        flow = Flow.model_validate(draft)
    except ValidationError as exc:
        raise DraftError(describe(exc)) from None
    empty = empty_path_params(flow)
    if empty:
        raise DraftError(empty)
    return LoadedFlow(flow=flow, path=path, base_dir=base_dir)


def empty_path_params(flow: Flow) -> list[str]:
    """A template's path parameter left empty would send `/v2/bookings//cancel`."""
    import calsink

    try:
        template = calsink.template(flow.destination.template or "")
    except ValueError:
        return []
    problems = []
    for name, label in template.path_params:
        value = flow.destination.params.get(name, f"{{{name}}}")
        if isinstance(value, str) and not value.strip():
            problems.append(
                f"destination.params.{name}: {label} is required: it goes into the path "
                f"{template.path}; give a value, or {{{name}}} to take it from each record"
            )
    return problems


def _with_parsed_map(draft: dict[str, Any]) -> dict[str, Any]:
    """The page edits ``transform.map`` as YAML text; the flow holds the mapping."""
    transform = draft.get("transform")
    if not isinstance(transform, dict) or not isinstance(transform.get("map"), str):
        return draft
    text = transform["map"]
    if not text.strip():
        mapping = None
    else:
        try:
            mapping = load_yaml(text)
        except YamlError as exc:
            where = f" (line {exc.line})" if exc.line is not None else ""
            raise DraftError([f"transform.map: {exc.problem}{where}"]) from None
        if not isinstance(mapping, dict):
            raise DraftError(['transform.map: expected a mapping such as `start: "{demo_at}"`'])
    return {**draft, "transform": {**transform, "map": mapping}}


def describe(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"] if not _is_union_tag(part))
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "required"
        elif error["type"] == "extra_forbidden":
            message = "not a setting of the flow file"
        problems.append(f"{where or 'flow'}: {message}")
    return problems


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in {"str", "int", "FlowReference", "ResponseWebhook", "ManualSettings"}
        or part.startswith(("literal[", "function-", "dict[", "list["))
    )


def flow_to_yaml(flow: Flow) -> str:
    """The flow file a user would write: only the settings that differ from the defaults."""
    data: dict[str, Any] = {"version": flow.version}
    data.update(flow.model_dump(mode="json", exclude_defaults=True))
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False)


def flow_to_draft(flow: Flow) -> dict[str, Any]:
    """What the page edits: every setting, defaults included, as JSON (the map as YAML text)."""
    draft = flow.model_dump(mode="json")
    transform = draft.get("transform")
    if isinstance(transform, dict) and isinstance(transform.get("map"), dict):
        transform["map"] = yaml.safe_dump(
            transform["map"], sort_keys=False, allow_unicode=True, default_flow_style=False
        )
    return draft


def starter_flow(name: str = "my-flow") -> dict[str, Any]:
    """A draft for an empty page: a CSV of bookings into create-booking."""
    return {
        "version": 1,
        "name": name,
        "source": {"path": ""},
        "destination": {"template": "create-booking", "base_url": "https://api.cal.com"},
    }


def attribute_paths(records: list[dict[str, Any]], *, limit: int = 200) -> list[str]:
    """The dotted paths of the attributes the records carry, in first-seen order."""
    seen: dict[str, None] = {}

    def walk(value: Any, prefix: str) -> None:
        if not isinstance(value, dict):
            return
        for key, inner in value.items():
            path = f"{prefix}.{key}" if prefix else str(key)
            seen.setdefault(path, None)
            walk(inner, path)

    for record in records:
        walk(record, "")
        if len(seen) >= limit:
            break
    return list(seen)[:limit]
