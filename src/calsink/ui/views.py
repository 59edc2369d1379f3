"""What the page is shown: library values turned into plain JSON, with secrets kept out."""

from __future__ import annotations

from typing import Any

from calsink import Endpoint, Field
from calsink.records import Filtered, Rejection, Request


def template_view(endpoint: Endpoint) -> dict[str, Any]:
    return {
        "name": endpoint.name,
        "method": endpoint.method,
        "path": endpoint.path,
        "api_version": endpoint.api_version,
        "path_params": [{"name": name, "label": label} for name, label in endpoint.path_params],
        "required": list(endpoint.required),
        "optional": list(endpoint.optional),
        "fields": [field_view(f, f.name in endpoint.required) for f in endpoint.fields],
        "description": endpoint.description,
        "guidance": endpoint.guidance,
        "notes": list(endpoint.notes),
        "example": endpoint.example,
        "destructive": endpoint.destructive,
        "creates": endpoint.creates,
    }


def field_view(field: Field, required: bool) -> dict[str, Any]:
    """One field of the form: its name, whether it is required, its kind and choices."""
    return {
        "name": field.name,
        "kind": field.kind,
        "required": required,
        "choices": [c for c in field.choices if c],
        "children": [field_view(child, child.required) for child in field.children],
        "deprecated": field.deprecated or None,
    }


def request_view(request: Request) -> dict[str, Any]:
    """A request exactly as `calsink preview --json` shows it, plus where its record is."""
    from calsink.checking import preview_json

    shown = preview_json(request)
    shown["headers"] = [[name, value] for name, value in shown["headers"].items()]
    shown.setdefault("positions", [str(request.position)])
    return {"kind": "request", "index": request.position.index, **shown}


def rejection_view(rejection: Rejection) -> dict[str, Any]:
    return {"kind": "rejection", **rejection.to_json()}


def filtered_view(filtered: Filtered) -> dict[str, Any]:
    return {"kind": "filtered", "position": str(filtered.position), "reason": filtered.reason}
