"""Send Test Data in a child process, so that a crash while sending cannot take the page down.

The server starts ``python -m calsink.ui.testsend`` in the page's working folder and writes
one JSON request to its stdin (the draft flow, the record, the payload, and the name of the
stored credential, which the child reads from the store itself so that it can renew an OAuth
access token — or the API key read from an environment variable: a pipe, never the command
line or the environment); the child answers one JSON line on stdout.
A child that dies (a signal, an exit without an answer) becomes a `TestSendCrashed`.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

# The flow's request timeout covers one request; the child also starts Python and reads the
# source, so it gets this much more before it is stopped.
START_MARGIN_S = 60.0


class TestSendCrashed(Exception):
    """The child process ended without an answer; ``str()`` says how, for the page."""


async def send_isolated(request: dict[str, Any], *, cwd: Path, timeout_s: float) -> dict[str, Any]:
    """Run one test send in a child process and return its result (see the module doc)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "calsink.ui.testsend",
        cwd=str(cwd),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        out, _ = await asyncio.wait_for(
            process.communicate(json.dumps(request).encode()), timeout_s + START_MARGIN_S
        )
    except TimeoutError:
        process.kill()
        await process.wait()
        raise TestSendCrashed(
            f"the test send gave no answer in {timeout_s + START_MARGIN_S:.0f} s and was "
            "stopped; Cal.com may have received it: look for it before sending again"
        ) from None
    except asyncio.CancelledError:
        process.kill()
        raise
    except (OSError, RuntimeError):  # the child died before it read its request
        out = b""
        await process.wait()
    answer = _answer(out)
    if answer is None:
        raise TestSendCrashed(_crash_text(process.returncode))
    return answer


def _answer(out: bytes) -> dict[str, Any] | None:
    for line in reversed(out.decode("utf-8", errors="replace").splitlines()):
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _crash_text(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            how = f"was killed by signal {signal.Signals(-code).name}"
        except ValueError:
            how = f"was killed by signal {-code}"
    else:
        how = f"exited with code {code} without an answer"
    return (
        f"the process that made the test send {how}. The page is fine and keeps working; "
        "Cal.com may or may not have received the request: look for it before sending again"
    )


def main() -> None:
    """The child: read the request from stdin, send, print the result as one JSON line."""
    from calsink import Auth, hide_secrets
    from calsink.ui import actions
    from calsink.ui.drafts import DraftError, load_draft

    request = json.loads(sys.stdin.read())
    api_key: str | Auth = ""
    try:
        api_key = actions.credential_of(request)
        loaded = load_draft(request["flow"], base_dir=Path.cwd())
        result = actions.send_test(
            loaded,
            api_key,
            record_index=int(request["record_index"]),
            payload=request.get("payload"),
            yes=request.get("yes") is True,
            key=request.get("key"),
        )
        answer: dict[str, Any] = {"result": result}
    except DraftError as exc:
        answer = {"problems": exc.problems}
    except Exception as exc:  # shown beside the sample, with no secret in it
        text = "; ".join(getattr(exc, "problems", None) or [str(exc) or type(exc).__name__])
        secrets = [api_key] if isinstance(api_key, str) else list(api_key.secrets())
        answer = {"problems": [hide_secrets(text, secrets)]}
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
