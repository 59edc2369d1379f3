"""What the page is shown: library values turned into plain JSON, with secrets kept out."""

from __future__ import annotations

from typing import Any

from calsink.endpoints import Endpoint
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
        "description": endpoint.description,
        "notes": list(endpoint.notes),
        "example": endpoint.example,
        "destructive": endpoint.destructive,
        "creates": endpoint.creates,
    }


def request_view(request: Request, flow: str) -> dict[str, Any]:
    """A request exactly as `calsink preview --json` shows it, plus where its record is."""
    from calsink.cli.validate import preview_json

    shown = preview_json(request, flow)
    shown["headers"] = [[name, value] for name, value in shown["headers"].items()]
    shown.setdefault("positions", [str(request.position)])
    return {"kind": "request", "index": request.position.index, **shown}


def rejection_view(rejection: Rejection) -> dict[str, Any]:
    return {"kind": "rejection", **rejection.to_json()}


def filtered_view(filtered: Filtered) -> dict[str, Any]:
    return {"kind": "filtered", "position": str(filtered.position), "reason": filtered.reason}
