"""`source.path` as a URL: a CSV from a local HTTP file server and JSON Lines and Parquet from
an S3 API (moto's server) on 127.0.0.1, sent by the real CLI to the sandbox; a URL that
404s, a download that breaks off mid-file, and URLs that are refused before any request."""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.adversarial.harness import (
    assert_adds_up,
    booked_emails,
    cli,
    dead_letters,
    lead_rows,
    leads_text,
    summary,
    write_flow,
)
from tests.support.cli import start_cli
from tests.support.httpserver import Served
from tests.support.s3 import S3_ENV, running_s3, s3_client
from tests.support.sandbox import SandboxHandle

AWS = S3_ENV
GATE = threading.Event()


class FileServer(http.server.SimpleHTTPRequestHandler):
    """Serves a folder. A path under /cut/ announces the whole file, sends half of it and
    closes the connection once `GATE` is set (the reader has taken what came); one under
    /gated/ sends half, then the rest once `GATE` is set (and never otherwise)."""

    def do_GET(self) -> None:
        if self.path.startswith("/gated/"):
            self._gated()
            return
        if not self.path.startswith("/cut/"):
            super().do_GET()
            return
        data = (Path(self.directory) / self.path.removeprefix("/cut/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        GATE.wait(timeout=30)
        self.close_connection = True

    def _gated(self) -> None:
        data = (Path(self.directory) / self.path.removeprefix("/gated/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        if GATE.wait(timeout=30):  # else the download breaks off: nobody took the first half
            self.wfile.write(data[len(data) // 2 :])
            self.wfile.flush()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def files(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over http://127.0.0.1:PORT/ while the test runs."""
    folder = tmp_path / "served"
    folder.mkdir()
    with Served(partial(FileServer, directory=str(folder))) as served:
        yield folder, served.origin


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[tuple[Path, str, Path]]:
    """A folder served over https://127.0.0.1:PORT/ with a self-signed certificate; yields
    the folder, the base URL and the certificate (for SSL_CERT_FILE)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
    )
    folder = tmp_path / "served-tls"
    folder.mkdir()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with Served(partial(FileServer, directory=str(folder)), tls=context) as served:
        yield folder, served.origin, cert


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_s3() as endpoint:
        yield endpoint


def s3_bucket(endpoint: str, name: str) -> Any:
    s3 = s3_client(endpoint)
    s3.create_bucket(Bucket=name)
    return s3


def url_flow(folder: Path, sandbox: SandboxHandle, url: str, extra: str = "") -> Path:
    return write_flow(folder, sandbox, source=f'"{url}"', key="[email]", source_extra=extra)


class GatedRun(subprocess.CompletedProcess[str]):
    booked_before_the_gate: int = 0


def run_until_booked_then_open_the_gate(
    flow: Path, sandbox: SandboxHandle, folder: Path
) -> GatedRun:
    """`calsink run FLOW --json` while the file server holds back: `GATE` opens once the
    sandbox has a booking (or the run ended without one)."""
    GATE.clear()
    run = start_cli("run", str(flow), "--json", key=sandbox.api_key, cwd=folder)
    try:
        while not booked_emails(sandbox) and run.poll() is None:
            time.sleep(0.02)
        booked = sum(booked_emails(sandbox).values())
    finally:
        GATE.set()
    stdout, stderr = run.communicate(timeout=120)
    result = GatedRun(run.args, run.returncode, stdout, stderr)
    result.booked_before_the_gate = booked
    return result


def every_lead_once(count: int) -> dict[str, int]:
    return {f"lead{i}@example.com": 1 for i in range(count)}


@pytest.mark.e2e
def test_a_csv_over_http_books_each_row_once(
    sandbox: SandboxHandle, tmp_path: Path, files: tuple[Path, str]
) -> None:
    folder, base = files
    (folder / "leads.csv").write_text(leads_text(4))
    flow = url_flow(tmp_path, sandbox, f"{base}/leads.csv")

    first = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)
    again = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    assert summary(first)["delivered"] == 4, first.stdout + first.stderr
    assert summary(again)["skipped"] == 4
    assert booked_emails(sandbox) == every_lead_once(4)


@pytest.mark.e2e
def test_rows_are_sent_while_the_rest_of_the_file_is_still_coming(
    sandbox: SandboxHandle, tmp_path: Path, files: tuple[Path, str]
) -> None:
    folder, base = files
    (folder / "leads.csv").write_text(leads_text(12))
    flow = url_flow(tmp_path, sandbox, f"{base}/gated/leads.csv", extra=", delimiter: ','")
    GATE.clear()

    result = run_until_booked_then_open_the_gate(flow, sandbox, tmp_path)

    assert result.booked_before_the_gate > 0, "rows of the first half were sent before the rest"
    assert summary(result)["delivered"] == 12, result.stderr
    assert booked_emails(sandbox) == every_lead_once(12)


@pytest.mark.e2e
def test_https_is_verified_against_the_trusted_certificates(
    sandbox: SandboxHandle, tmp_path: Path, tls_files: tuple[Path, str, Path]
) -> None:
    folder, base, cert = tls_files
    (folder / "leads.csv").write_text(leads_text(3))
    flow = url_flow(tmp_path, sandbox, f"{base}/leads.csv")

    untrusted = cli("run", str(flow), key=sandbox.api_key, cwd=tmp_path)
    trusted = cli(
        "run",
        str(flow),
        "--json",
        key=sandbox.api_key,
        cwd=tmp_path,
        env={"SSL_CERT_FILE": str(cert)},
    )

    assert untrusted.returncode == 2, untrusted.stdout + untrusted.stderr
    assert f"{base}/leads.csv: cannot open it" in untrusted.stderr
    assert "certificate verify failed" in untrusted.stderr
    assert summary(trusted)["delivered"] == 3, trusted.stdout + trusted.stderr
    assert booked_emails(sandbox) == every_lead_once(3)


@pytest.mark.e2e
def test_json_lines_and_parquet_from_s3_with_credentials_from_the_environment(
    sandbox: SandboxHandle, tmp_path: Path, s3_endpoint: str
) -> None:
    s3 = s3_bucket(s3_endpoint, "crm-exports")
    rows = [{"name": n, "email": e, "start": s} for n, e, s in lead_rows(6)]
    jsonl = "".join(json.dumps(row) + "\n" for row in rows[:3])
    s3.put_object(Bucket="crm-exports", Key="daily/leads.jsonl", Body=jsonl.encode())
    table = pa.Table.from_pylist(rows[3:])
    pq.write_table(table, tmp_path / "leads.parquet")
    s3.upload_file(str(tmp_path / "leads.parquet"), "crm-exports", "daily/leads.parquet")
    env = {**AWS, "AWS_ENDPOINT_URL_S3": s3_endpoint}

    for name, key in (("s3-jsonl", "daily/leads.jsonl"), ("s3-parquet", "daily/leads.parquet")):
        flow = url_flow(tmp_path / name, sandbox, f"s3://crm-exports/{key}")
        result = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path / name, env=env)
        assert summary(result)["delivered"] == 3, result.stdout + result.stderr

    assert booked_emails(sandbox) == every_lead_once(6)


@pytest.mark.e2e
def test_a_url_that_404s_stops_before_sending_naming_the_url(
    sandbox: SandboxHandle, tmp_path: Path, files: tuple[Path, str], s3_endpoint: str
) -> None:
    _, base = files
    s3_bucket(s3_endpoint, "empty-bucket")
    env = {**AWS, "AWS_ENDPOINT_URL_S3": s3_endpoint}

    for url in (f"{base}/missing.csv", "s3://empty-bucket/missing.csv"):
        flow = url_flow(tmp_path, sandbox, url)
        result = cli("run", str(flow), key=sandbox.api_key, cwd=tmp_path, env=env)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert f"{url}: not found" in output
    assert not booked_emails(sandbox)


@pytest.mark.e2e
def test_a_download_that_breaks_off_keeps_every_row_before_it_and_the_rerun_sends_the_rest(
    sandbox: SandboxHandle, tmp_path: Path, files: tuple[Path, str]
) -> None:
    folder, base = files
    (folder / "leads.csv").write_text(leads_text(10))
    # with the delimiter named, no sample is read ahead: rows flow from the first bytes
    flow = url_flow(tmp_path, sandbox, f"{base}/cut/leads.csv", extra=", delimiter: ','")
    flow.write_text(flow.read_text().replace("concurrency: 4", "concurrency: 1"))

    cut = run_until_booked_then_open_the_gate(flow, sandbox, tmp_path)

    counts = summary(cut)
    assert_adds_up(counts)
    assert cut.returncode == 1 and counts["rejected"] == 1, cut.stdout + cut.stderr
    [letter] = dead_letters(tmp_path)
    assert "the download broke off after 238 bytes" in letter["reason"]
    assert letter["position"]["source"] == f"{base}/cut/leads.csv"
    delivered = booked_emails(sandbox)
    assert counts["delivered"] == len(delivered) == 4, "the 4 whole rows before the break"
    assert set(delivered.values()) == {1}

    flow.write_text(flow.read_text().replace("/cut/", "/"))
    whole = cli("run", str(flow), "--json", key=sandbox.api_key, cwd=tmp_path)

    counts = summary(whole)
    assert_adds_up(counts)
    assert (counts["skipped"], counts["delivered"]) == (len(delivered), 10 - len(delivered))
    assert booked_emails(sandbox) == every_lead_once(10)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com/leads.csv", "plain http is only for this machine"),
        ("https://user:hunter2@example.com/leads.csv", "credentials in the URL are refused"),
        ("s3://key:hunter2@bucket/leads.csv", "credentials in the URL are refused"),
    ],
)
def test_urls_refused_before_any_request(tmp_path: Path, url: str, reason: str) -> None:
    flow = write_flow(tmp_path, "http://127.0.0.1:9", source=f'"{url}"', key="[email]")

    result = cli("run", str(flow), key="unused", cwd=tmp_path)

    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert reason in output
    assert "hunter2" not in output
