"""The HTTP client never brings the process down.

`tests.adversarial.http_stress` sends thousands of requests through every path that
builds a client (run, test, the page's test send, the read side, `Transport` itself)
against refused connections, resets in the middle of a body, slow answers, paths with an
empty segment, cancelled requests, a client used from two threads and loops, and an exit
with requests still in flight; it runs here under ``python -X faulthandler``, which
reports a crash of the interpreter on stderr.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.adversarial.harness import (
    FAKE_KEY,
    booked_emails,
    cli,
    environment,
    lead_rows,
    write_flow,
)
from tests.support.ports import free_port
from tests.support.sandbox import SandboxHandle

from calsink.http.transport_choice import TRANSPORT_ENV, TRANSPORTS, TransportName

ROOT = Path(__file__).resolve().parents[2]
PATHS = ("transport", "run", "test", "page test send", "read side")


def python(
    *args: str,
    cwd: Path,
    client: TransportName | None = None,
    timeout: int = 120,
    key: str = FAKE_KEY,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``python -X faulthandler ARGS`` with the tests' environment (and the client chosen);
    the interpreter reports a crash of its own on stderr."""
    base = {k: v for k, v in environment(key).items() if k != TRANSPORT_ENV}
    chosen = {} if client is None else {TRANSPORT_ENV: client}
    return subprocess.run(
        [sys.executable, "-X", "faulthandler", *args],
        cwd=cwd,
        env={**base, "PYTHONPATH": str(ROOT), **chosen, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def finished_whole(result: subprocess.CompletedProcess[str]) -> None:
    assert "Fatal Python error" not in result.stderr, result.stderr[-4000:]
    assert "Segmentation fault" not in result.stderr, result.stderr[-4000:]
    assert result.returncode == 0, (result.returncode, result.stderr[-4000:])


@pytest.mark.parametrize("client", TRANSPORTS)
def test_thousands_of_hostile_sends_on_every_path_never_crash_the_process(
    tmp_path: Path, client: TransportName
) -> None:
    result = python(
        "-m", "tests.adversarial.http_stress", str(tmp_path), cwd=ROOT, client=client, timeout=300
    )
    finished_whole(result)
    sent = json.loads(result.stdout.strip().splitlines()[-1])
    assert all(sent.get(path, 0) > 0 for path in PATHS), sent
    assert sum(sent.values()) >= 3000, sent


# The page's sequence: its Sample Payload panel (a preview, in one of the server's worker
# threads, the first code to load the HTTP client), that worker thread ending (the server
# lets an idle one go after 10 s), then Send Test Data in new worker threads.
PAGE_SEQUENCE = """
import os, sys, threading
from pathlib import Path
from calsink.flow import load_flow
from calsink.ui import actions

loaded = load_flow(Path("flow.yaml"))
answers = []

def in_a_worker_thread(job):
    worker = threading.Thread(target=job)
    worker.start()
    worker.join()

in_a_worker_thread(lambda: actions.preview(loaded, 5))
for index in range(3):
    in_a_worker_thread(
        lambda: answers.append(actions.send_test(loaded, os.environ["CAL_API_KEY"],
                                                 record_index=0, payload=None, yes=True))
    )
print(len(answers), answers[-1]["error"] or answers[-1]["status"])
"""


@pytest.mark.parametrize("client", TRANSPORTS)
def test_send_test_data_after_the_pages_worker_thread_ended_does_not_crash(
    tmp_path: Path, client: TransportName
) -> None:
    (tmp_path / "uids.csv").write_text("uid\nabc\n\n")
    write_flow(
        tmp_path,
        f"http://127.0.0.1:{free_port()}",
        source="uids.csv",
        template="cancel-booking",
        transform='transform:\n  map: {cancellationReason: "changed plans"}\n',
        key="[uid]",
        delivery={"allow_destructive": "true"},
    )
    flow = tmp_path / "flow.yaml"
    flow.write_text(
        flow.read_text().replace(
            "  template: cancel-booking", '  template: cancel-booking\n  params: {uid: "{uid}"}'
        )
    )
    result = python("-c", PAGE_SEQUENCE, cwd=tmp_path, client=client)
    finished_whole(result)
    assert result.stdout.split()[0] == "3", result.stdout
    assert "refused" in result.stdout.lower(), result.stdout


def test_an_unknown_transport_is_refused_with_the_names_to_choose_from(tmp_path: Path) -> None:
    result = cli("status", "flow.yaml", key=FAKE_KEY, cwd=tmp_path, env={TRANSPORT_ENV: "curl"})
    assert result.returncode == 2
    assert f"{TRANSPORT_ENV}='curl'" in result.stderr
    assert "aiohttp, reqwest" in result.stderr
    assert "Traceback" not in result.stderr


# A program that sends, then forks (multiprocessing's default on Linux) and sends from the
# child: reqwest's runtime cannot cross a fork, so the child must still be able to send.
SEND_THEN_FORK = """
import asyncio, json, multiprocessing, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from calsink.http.transport import Transport

class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/v2/me"

async def send():
    async with Transport("cal_test_fork_key_0d9a1c") as transport:
        return (await transport.send("GET", url)).status

def in_the_child(answers):
    answers.put(asyncio.run(send()))

if __name__ == "__main__":
    statuses = [asyncio.run(send())]
    forked = multiprocessing.get_context("fork")
    answers = forked.Queue()
    child = forked.Process(target=in_the_child, args=(answers,))
    child.start()
    child.join(60)
    statuses.append(answers.get(timeout=5) if child.exitcode == 0 else child.exitcode)
    print(json.dumps(statuses))
"""


@pytest.mark.parametrize("client", TRANSPORTS)
def test_a_process_forked_after_sending_can_still_send(
    tmp_path: Path, client: TransportName
) -> None:
    script = tmp_path / "send_then_fork.py"
    script.write_text(SEND_THEN_FORK)
    result = python(str(script), cwd=tmp_path, client=client)
    finished_whole(result)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [200, 200], result.stderr[-2000:]


# The library from a thread pool, as an Airflow worker or a web app would call it: three
# flows at once from worker threads (one of which is first to load the HTTP client), then,
# with every one of those threads ended, each flow again from a new thread.
RUNS_FROM_THREADS = """
import json, os, sys, threading
from concurrent.futures import ThreadPoolExecutor
import calsink

url = os.environ["SANDBOX_URL"]
leads = json.loads(sys.argv[1])

def flow(index):
    return {
        "version": 1,
        "name": f"threads-{index}",
        "source": {"path": "-"},
        "transform": {"map": {
            "start": "{start}",
            "eventTypeId": 1,
            "attendee": {"name": "{name}", "email": "{email}", "timeZone": "UTC"},
        }},
        "destination": {"api_key_env": "CAL_API_KEY", "template": "create-booking"},
        "delivery": {"key": ["email", "start"]},
        "ledger": f"ledger-{index}.db",
    }

def run(index):
    return calsink.run(flow(index), leads[index], base_url=url).summary

with ThreadPoolExecutor(3) as pool:
    first = [summary.delivered for summary in pool.map(run, range(3))]
again = []
later = threading.Thread(target=lambda: again.extend(run(i).skipped for i in range(3)))
later.start()
later.join()
print(json.dumps([first, again]))
"""


@pytest.mark.parametrize("client", TRANSPORTS)
def test_runs_from_a_thread_pool_then_from_a_new_thread_book_each_lead_once(
    sandbox: SandboxHandle, tmp_path: Path, client: TransportName
) -> None:
    leads = [
        [{"name": name, "email": email, "start": start} for name, email, start in rows]
        for rows in (lead_rows(4, first=4 * index) for index in range(3))
    ]
    script = tmp_path / "runs_from_threads.py"
    script.write_text(RUNS_FROM_THREADS)
    result = python(
        str(script),
        json.dumps(leads),
        cwd=tmp_path,
        client=client,
        timeout=180,
        key=sandbox.api_key,
        SANDBOX_URL=sandbox.url,
    )
    finished_whole(result)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [[4, 4, 4], [4, 4, 4]]
    assert booked_emails(sandbox) == {row["email"]: 1 for rows in leads for row in rows}
