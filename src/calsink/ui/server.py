"""The local page's HTTP server: a Starlette app on 127.0.0.1, driven by the holder of a token."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request as HttpRequest
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

import calsink
from calsink.credentials import CredentialError, CredentialStore, check_api_key_shape
from calsink.ui import actions
from calsink.ui.drafts import DraftError, flow_to_draft, flow_to_yaml, load_draft, starter_flow
from calsink.ui.limits import MAX_HEAD, BodyLimitMiddleware, http_protocol
from calsink.ui.runs import RunBusy, Runs
from calsink.ui.security import Guard, GuardMiddleware, new_token
from calsink.ui.testsend import TestSendCrashed, send_isolated
from calsink.ui.views import template_view

STATIC_DIR = Path(__file__).parent / "static"
HOST = "127.0.0.1"
MAX_BODY = 2_000_000
DEFAULT_BASE_URL = "https://api.cal.com"

_SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class UiContext:
    """Everything one start of `calsink ui` works with; no global state."""

    base_dir: Path
    store: CredentialStore
    flow_path: Path | None = None
    given_path: Path | None = None  # `calsink ui FLOW`: Done may write it wherever it is
    initial_flow: dict[str, Any] = field(default_factory=starter_flow)
    initial_problems: list[str] = field(default_factory=list)
    runs: Runs | None = None
    flow_saved: bool = False  # the flow file holds initial_flow: Activate may run it

    @classmethod
    def open(cls, flow_path: Path | None, *, base_dir: Path, store: CredentialStore) -> UiContext:
        context = cls(base_dir=base_dir, store=store, flow_path=flow_path, given_path=flow_path)
        if flow_path is not None and flow_path.exists():
            try:
                loaded = calsink.load(flow_path, keep_references=True)
            except calsink.FlowError as exc:
                context.initial_problems = list(exc.problems)
            else:
                context.initial_flow = flow_to_draft(loaded.paths_from(base_dir))
                context.flow_saved = True
        elif flow_path is not None:
            context.initial_flow = starter_flow(_flow_name(flow_path))
        return context


def _flow_name(path: Path) -> str:
    name = "".join(ch if ch.isalnum() or ch in "_.-" else "-" for ch in path.stem)
    return name.strip("-.") or "my-flow"


def create_app(context: UiContext, guard: Guard) -> Starlette:
    runs = context.runs or Runs(context.store)
    context.runs = runs

    async def page(request: HttpRequest) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers=_SECURITY_HEADERS)

    async def state(request: HttpRequest) -> Response:
        files = await run_in_threadpool(actions.source_files, context.base_dir)
        return _json(
            {
                "flow": context.initial_flow,
                "flow_problems": context.initial_problems,
                "flow_saved": context.flow_saved,
                "flow_path": _display_path(context.flow_path, context.base_dir),
                "base_dir": str(context.base_dir),
                "credentials": _credentials(context.store),
                "templates": [template_view(t) for t in calsink.templates()],
                "source_files": files,
                "run": runs.current.to_json() if runs.current else None,
            }
        )

    async def add_credential(request: HttpRequest) -> Response:
        body = await _body(request)
        name = str(body.get("name") or "").strip()
        api_key = str(body.get("api_key") or "")
        base_url = str(body.get("base_url") or "").strip().rstrip("/") or None
        check_url = base_url or str(body.get("check_url") or "").strip() or DEFAULT_BASE_URL
        try:
            check_api_key_shape(api_key.strip())
            if not check_url.startswith(("http://", "https://")):
                raise CredentialError(f"base URL {check_url!r}: expected http:// or https://")
            who = await run_in_threadpool(actions.check_key, api_key.strip(), check_url)
            await run_in_threadpool(context.store.add, name, api_key, base_url)
        except CredentialError as exc:
            return _problems([calsink.hide_secrets(str(exc), [api_key])])
        return _json({"added": name, "who": who, "credentials": _credentials(context.store)})

    async def remove_credential(request: HttpRequest) -> Response:
        name = request.path_params["name"]
        removed = await run_in_threadpool(context.store.remove, name)
        return _json({"removed": removed, "credentials": _credentials(context.store)})

    async def preview(request: HttpRequest) -> Response:
        body = await _body(request)
        try:
            loaded = load_draft(body.get("flow"), base_dir=context.base_dir)
            result = await run_in_threadpool(
                actions.preview, loaded, _int(body.get("count"), 5), context.store
            )
        except DraftError as exc:
            return _problems(exc.problems)
        except Exception as exc:  # a source or render failure the user must see beside the form
            return _problems([_readable(exc)])
        as_written = load_draft(body.get("flow"), base_dir=context.base_dir, keep_references=True)
        result["yaml"] = flow_to_yaml(as_written.flow)
        result["destructive"] = actions.is_destructive(loaded)
        return _json(result)

    async def send_test(request: HttpRequest) -> Response:
        body = await _body(request)
        try:
            loaded = load_draft(body.get("flow"), base_dir=context.base_dir)
            confirmed = body.get("confirmed") is True
            if actions.is_destructive(loaded) and not confirmed:
                return _problems(
                    ["this endpoint changes or deletes data in Cal.com: confirm to send"],
                    status=409,
                )
            credential = await run_in_threadpool(actions.credential_for, loaded.flow, context.store)
            answer = await send_isolated(
                {
                    "flow": body.get("flow"),
                    **actions.sent_as(loaded.flow, credential, context.store),
                    "record_index": _int(body.get("record_index"), 0),
                    "payload": body.get("payload"),
                    "yes": confirmed,
                    "key": body.get("key") if isinstance(body.get("key"), str) else None,
                },
                cwd=context.base_dir,
                timeout_s=loaded.flow.delivery.timeout_s,
            )
        except DraftError as exc:
            return _problems(exc.problems)
        except CredentialError as exc:
            return _problems([str(exc)])
        except TestSendCrashed as exc:
            return _json({"problems": [str(exc)], "crashed": True}, status=502)
        except Exception as exc:
            return _problems([_readable(exc)])
        if "problems" in answer:
            return _problems([str(p) for p in answer["problems"]])
        return _json({"result": answer.get("result")})

    async def save(request: HttpRequest) -> Response:
        body = await _body(request)
        raw_path = str(body.get("path") or "").strip()
        if not raw_path:
            return _problems(["flow file: give a file name such as book-demos.yaml"])
        path = _resolve(context.base_dir, raw_path)
        try:
            actions.check_inside(path, context.base_dir, allowed=context.given_path)
            loaded = load_draft(
                body.get("flow"), base_dir=context.base_dir, path=path, keep_references=True
            )
            if body.get("replace") is not True:
                other = await run_in_threadpool(actions.other_flow_in, path, loaded.flow.name)
                if other is not None:
                    shown = _display_path(path, context.base_dir)
                    return _json({"problems": [f"{shown} {other}"], "replace": shown}, status=409)
            saved = loaded.paths_from(path.resolve().parent)
            text = await run_in_threadpool(actions.save, saved, path)
        except DraftError as exc:
            return _problems(exc.problems)
        except OSError as exc:
            return _problems([f"flow file: cannot write {path}: {exc.strerror or exc}"])
        context.flow_path = path
        context.initial_flow = flow_to_draft(loaded.flow)
        context.flow_saved = True
        return _json({"path": _display_path(path, context.base_dir), "yaml": text})

    async def stop_run(request: HttpRequest) -> Response:
        stopped = runs.stop()
        return _json({"run": stopped.to_json() if stopped else None})

    async def retry(request: HttpRequest) -> Response:
        return await activate(request, retry=True)

    async def activate(request: HttpRequest, *, retry: bool = False) -> Response:
        body = await _body(request)
        raw_path = str(body.get("path") or "").strip()
        if not raw_path:
            return _problems(["press Done to save the flow before activating it"])
        path = _resolve(context.base_dir, raw_path)
        try:
            actions.check_inside(path, context.base_dir, allowed=context.given_path)
            loaded = await run_in_threadpool(calsink.load, path)
        except (calsink.FlowError, DraftError) as exc:
            return _problems(exc.problems)
        if actions.is_destructive(loaded) and body.get("confirmed") is not True:
            return _problems(
                ["this flow changes or deletes data in Cal.com: confirm to activate"],
                status=409,
            )
        try:
            run = runs.start(loaded, yes=body.get("confirmed") is True, retry=retry)
        except RunBusy as exc:
            return _problems([str(exc)], status=409)
        except CredentialError as exc:
            return _problems([str(exc)])
        return _json({"run": run.to_json()})

    async def run_state(request: HttpRequest) -> Response:
        return _json({"run": runs.current.to_json() if runs.current else None})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await runs.aclose()

    app = Starlette(
        routes=[
            Route("/", page),
            Route("/api/state", state),
            Route("/api/credentials", add_credential, methods=["POST"]),
            Route("/api/credentials/{name}", remove_credential, methods=["DELETE"]),
            Route("/api/preview", preview, methods=["POST"]),
            Route("/api/test", send_test, methods=["POST"]),
            Route("/api/save", save, methods=["POST"]),
            Route("/api/activate", activate, methods=["POST"]),
            Route("/api/run", run_state),
            Route("/api/run/stop", stop_run, methods=["POST"]),
            Route("/api/retry", retry, methods=["POST"]),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ],
        lifespan=lifespan,
    )
    app.add_middleware(GuardMiddleware, guard=guard)
    app.add_middleware(BodyLimitMiddleware, limit=MAX_BODY)  # outermost: before the token
    return app


def _credentials(store: CredentialStore) -> list[dict[str, Any]]:
    """Names and addresses only: a key never goes back to the page."""
    entries = []
    for name in store.names():
        credential = store.get(name)
        entries.append({"name": name, "base_url": credential.base_url})
    return entries


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers={"Cache-Control": "no-store"})


def _problems(problems: list[str], status: int = 422) -> JSONResponse:
    return _json({"problems": problems}, status=status)


async def _body(request: HttpRequest) -> dict[str, Any]:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        return {}
    raw = await request.body()  # at most MAX_BODY bytes (BodyLimitMiddleware)
    import json

    try:
        value = json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _resolve(base_dir: Path, value: str) -> Path:
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else base_dir / candidate


def _display_path(path: Path | None, base_dir: Path) -> str | None:
    if path is None:
        return None
    try:
        return path.relative_to(base_dir).as_posix()
    except ValueError:
        return str(path)


def _readable(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    problems = getattr(exc, "problems", None)
    if isinstance(problems, list) and problems:
        text = "; ".join(str(p) for p in problems)
    return calsink.hide_secrets(text)


def bind_socket(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (port 0: a free one), bound before the URL is printed."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((HOST, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(
    context: UiContext,
    *,
    port: int = 0,
    on_ready: Callable[[str], None] | None = None,
    token: str | None = None,
) -> None:
    """Serve the page until interrupted; ``on_ready`` gets the URL with the token."""
    import uvicorn

    sock = bind_socket(port)
    actual_port = sock.getsockname()[1]
    guard = Guard(token=token or new_token(), host=HOST, port=actual_port)
    app = create_app(context, guard)
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        lifespan="on",
        http=http_protocol(),
        h11_max_incomplete_event_size=MAX_HEAD,
    )
    url = f"{guard.origin}/?token={guard.token}"

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started and on_ready is not None:
                on_ready(url)

    try:
        Server(config).run(sockets=[sock])
    finally:
        sock.close()
