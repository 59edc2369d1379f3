"""The measuring machinery shared by every benchmark: children, servers, medians, output.

Every contender runs as its own child process (so that its interpreter start-up, its
imports and its memory are its own), timed from spawn to exit; ``os.wait4`` gives that
child's own CPU time and peak RSS. Contenders are interleaved round by round
(A B C, A B C, ...) so that a slow minute on a shared machine hurts all of them alike,
and every figure is the median of the runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = ROOT / "bench" / "results"
PYTHON = sys.executable
BIN_DIR = Path(PYTHON).parent
CALSINK = str(BIN_DIR / "calsink") if (BIN_DIR / "calsink").exists() else None
# Children keep compiled bytecode, as every installed Python program does, but in a
# cache of their own (never __pycache__ in the tree), even where the surrounding
# environment sets PYTHONDONTWRITEBYTECODE.
BYTECODE_CACHE = Path(tempfile.gettempdir()) / f"calsink-bench-pycache-{os.getuid()}"

# ---------------------------------------------------------------- children


@dataclass(frozen=True)
class ChildResult:
    """One finished child process: how long it took, what it used, what it said."""

    argv: list[str]
    exit_code: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def last_json_line(self) -> dict[str, Any]:
        """The last stdout line that parses as a JSON object (how children report)."""
        for line in reversed(self.stdout.splitlines()):
            line = line.strip()
            if line.startswith("{"):
                with contextlib.suppress(json.JSONDecodeError):
                    value = json.loads(line)
                    if isinstance(value, dict):
                        return value
        return {}


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every child gets: ours, with the bytecode cache on, plus ``extra``."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(BYTECODE_CACHE)
    if extra:
        env.update(extra)
    return env


def run_child(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 900.0,
) -> ChildResult:
    """Run ``argv`` to completion; wall time from spawn to exit, rusage of that child only.

    Output goes to temporary files rather than pipes, so a chatty child never blocks
    and the parent does no work while the child runs.
    """
    full_env = child_env(env)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=err, env=full_env, cwd=cwd, start_new_session=True
        )
        deadline = started + timeout_s
        timed_out = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.002)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return ChildResult(
            argv=list(argv),
            exit_code=proc.returncode,
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            max_rss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
            timed_out=timed_out,
        )


# ---------------------------------------------------------------- servers


@dataclass
class ServerHandle:
    """A server running in its own process, with its address and CPU accounting."""

    url: str
    process: subprocess.Popen[bytes]
    cpu_at_ready_s: float = 0.0

    def cpu_s(self) -> float:
        """CPU seconds the server process has used since it became ready."""
        return process_cpu_s(self.process.pid) - self.cpu_at_ready_s

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=10) as answer:
            return json.loads(answer.read())


def process_cpu_s(pid: int) -> float:
    """CPU seconds used by the threads process ``pid`` has now (the servers measured keep
    theirs for life), to the nanosecond where Linux tells (the scheduler's own account),
    else to the clock tick."""
    try:
        total_ns = 0
        for task in Path(f"/proc/{pid}/task").iterdir():
            total_ns += int((task / "schedstat").read_text(encoding="ascii").split()[0])
        return total_ns / 1e9
    except (OSError, ValueError, IndexError):
        import psutil  # type: ignore[import-untyped]

        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)


_LISTENING = re.compile(r"listening on (http://\S+)")


@contextlib.contextmanager
def running_server(
    argv: Sequence[str], *, startup_timeout_s: float = 30.0
) -> Iterator[ServerHandle]:
    """Start a server child that prints ``... listening on http://HOST:PORT``; stop it after."""

    proc = subprocess.Popen(
        list(argv),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=child_env(),
        cwd=ROOT,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + startup_timeout_s
        url = None
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode("utf-8", "replace")
            if not line:
                break
            match = _LISTENING.search(line)
            if match:
                url = match.group(1)
                break
        if url is None:
            raise RuntimeError(f"server did not start: {' '.join(argv)}")
        yield ServerHandle(url=url, process=proc, cpu_at_ready_s=process_cpu_s(proc.pid))
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def fast_server() -> contextlib.AbstractContextManager[ServerHandle]:
    """A fresh fast server (bench/fast_server.py) on a free port, in its own process."""
    return running_server([PYTHON, "-m", "bench.fast_server", "--port", "0"])


# ---------------------------------------------------------------- rounds and medians


def interleave(names: Sequence[str], runs: Mapping[str, int]) -> list[tuple[int, str]]:
    """(round, name) pairs: every name once per round, in order, until it has its runs."""
    most = max((runs[name] for name in names), default=0)
    return [(r, name) for r in range(most) for name in names if r < runs[name]]


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("nan")


# ---------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    import psutil

    cpu_model = platform.processor() or ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    return {
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "cpu": cpu_model,
        "logical_cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def write_json(name: str, payload: Mapping[str, Any], *, results_dir: Path = RESULTS_DIR) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    return path


def _jsonable(value: Any) -> Any:
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


@dataclass
class Table:
    """A titled table printed with rich."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    caption: str | None = None

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def print(self) -> None:
        from rich.console import Console
        from rich.table import Table as RichTable

        table = RichTable(title=self.title, caption=self.caption, caption_justify="left")
        for index, column in enumerate(self.columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in self.rows:
            table.add_row(*row)
        Console(width=max(100, _terminal_width())).print(table)


def _terminal_width() -> int:
    try:
        return os.get_terminal_size().columns
    except OSError:
        return 120


def verdict(value: float, target: float, *, at_most: bool = False) -> str:
    """``met``/``missed`` for a target, never an assertion."""
    if value != value:  # NaN
        return "n/a"
    met = value <= target if at_most else value >= target
    return "met" if met else "missed"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fmt(value: float, digits: int = 0) -> str:
    if value != value:
        return "—"
    return f"{value:,.{digits}f}"


def timed(label: str, func: Callable[[], T]) -> T:
    """``func()``, saying how long it took."""
    started = time.perf_counter()
    result = func()
    say(f"  {label}: {time.perf_counter() - started:.1f} s")
    return result
