from __future__ import annotations

from typing import Any

import pytest
from sandbox_contract import Api, check_response

from support.sandbox import Response, SandboxHandle, default_version


@pytest.fixture
def api(sandbox: SandboxHandle) -> Api:
    """sandbox.call, with every answer checked against Cal.com's response schemas."""

    def call(method: str, path: str, body: Any = None, **options: Any) -> Response:
        response = sandbox.call(method, path, body, **options)
        version = options.get("version", "default")
        if version == "default":
            version = default_version(path.split("?", 1)[0])
        headers = {k.lower(): v for k, v in response.headers.items()}
        assert headers.get("x-request-id"), f"{method} {path} answered without X-Request-Id"
        assert "x-ratelimit-remaining-default" in headers
        check_response(method, path, response.status, response.body, version)
        return response

    return call
