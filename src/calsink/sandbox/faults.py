"""Fault injection: rules that make chosen requests fail, stall or lose their connection.

Compact form (``--faults``), comma-separated items, each ``KIND[=ARG][@RATE][#COUNT][:SCOPE]``:

    503@0.3                    answer 503 to 30% of requests
    429=5@1#3                  answer 429 with Retry-After: 5 to the next 3 requests
    latency=200ms@1            add 200 ms to every request
    timeout=30s@0.1:POST /v2/bookings
    drop-before@0.1            close the connection; the request is not processed
    drop-after@0.1             process and commit, then close without a complete answer
    drop-mid@0.1               process and commit, send the headers and half the body, then reset
    malformed@0.1  truncated@0.1  empty@0.1  huge@0.01
    seed=7                     make the random choices repeatable

RATE defaults to 1, COUNT to unlimited; SCOPE is ``[METHOD ]PATH`` where PATH may use
``{name}`` for one segment or end in ``*`` for a prefix. The same rules travel as JSON
over ``PUT /_sandbox/faults``: ``{"seed": 7, "rules": [{"kind": "status", "status": 503,
"rate": 0.3}, …]}``.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = (
    "status",
    "latency",
    "timeout",
    "drop-before",
    "drop-after",
    "drop-mid",
    "malformed",
    "truncated",
    "empty",
    "huge",
)
DEFAULT_TIMEOUT_MS = 30_000


class FaultSpecError(ValueError):
    """A fault spec or rule that cannot be understood."""


def _duration_ms(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text.strip())
    if match is None:
        raise FaultSpecError(f"{text!r} is not a duration (write e.g. 200ms or 2s)")
    value = float(match.group(1))
    return int(value * 1000) if match.group(2) == "s" else int(value)


def _scope_pattern(path: str) -> re.Pattern[str]:
    prefix = path.endswith("*")
    body = path[:-1] if prefix else path
    parts = re.split(r"(\{[^/}]+\})", body)
    regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
    return re.compile(f"^{regex}" + ("" if prefix else "$"))


@dataclass
class FaultRule:
    kind: str
    rate: float = 1.0
    status: int | None = None
    retry_after: int | None = None
    ms: int | None = None
    method: str | None = None
    path: str | None = None
    count: int | None = None
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise FaultSpecError(f"unknown fault kind {self.kind!r}; use one of {', '.join(KINDS)}")
        if not 0 <= self.rate <= 1:
            raise FaultSpecError(f"rate {self.rate} must be between 0 and 1")
        if self.kind == "status" and (self.status is None or not 100 <= self.status <= 599):
            raise FaultSpecError("a status fault needs a status code between 100 and 599")
        if self.kind == "latency" and self.ms is None:
            raise FaultSpecError("a latency fault needs ms")
        if self.kind == "timeout" and self.ms is None:
            self.ms = DEFAULT_TIMEOUT_MS
        if self.method:
            self.method = self.method.upper()
        self._pattern = _scope_pattern(self.path) if self.path else None

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method != method:
            return False
        return self._pattern is None or self._pattern.match(path) is not None

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("_pattern", None)
        return {key: value for key, value in data.items() if value is not None}

    @classmethod
    def from_json(cls, data: Any) -> FaultRule:
        if not isinstance(data, dict) or "kind" not in data:
            raise FaultSpecError("each rule must be an object with a 'kind'")
        known = {"kind", "rate", "status", "retry_after", "ms", "method", "path", "count"}
        unknown = set(data) - known
        if unknown:
            raise FaultSpecError(f"unknown rule fields: {', '.join(sorted(unknown))}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise FaultSpecError(str(exc)) from exc


def _parse_item(item: str) -> FaultRule:
    head, _, scope = item.partition(":")
    method = path = None
    if scope:
        words = scope.strip().split()
        if len(words) == 2:
            method, path = words
        elif len(words) == 1:
            path = words[0]
        else:
            raise FaultSpecError(f"scope {scope!r} must be '[METHOD ]PATH'")
    count = None
    if "#" in head:
        head, _, count_text = head.partition("#")
        if not count_text.isdigit():
            raise FaultSpecError(f"count {count_text!r} must be a whole number")
        count = int(count_text)
    rate = 1.0
    if "@" in head:
        head, _, rate_text = head.partition("@")
        try:
            rate = float(rate_text)
        except ValueError as exc:
            raise FaultSpecError(f"rate {rate_text!r} must be a number between 0 and 1") from exc
    name, _, argument = head.partition("=")
    name = name.strip()
    common: dict[str, Any] = {"rate": rate, "count": count, "method": method, "path": path}
    if name.isdigit():
        retry_after = int(argument) if argument else None
        return FaultRule("status", status=int(name), retry_after=retry_after, **common)
    if name in ("latency", "timeout"):
        ms = _duration_ms(argument) if argument else None
        return FaultRule(name, ms=ms, **common)
    if argument:
        raise FaultSpecError(f"fault {name!r} takes no argument")
    return FaultRule(name, **common)


def parse_spec(spec: str) -> tuple[list[FaultRule], int | None]:
    rules: list[FaultRule] = []
    seed = None
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            continue
        if item.startswith("seed="):
            seed = int(item.removeprefix("seed="))
            continue
        rules.append(_parse_item(item))
    return rules, seed


@dataclass
class Decision:
    latency_ms: int = 0
    action: FaultRule | None = None

    def describe(self) -> str | None:
        parts = []
        if self.latency_ms:
            parts.append(f"latency={self.latency_ms}ms")
        if self.action is not None:
            rule = self.action
            if rule.kind == "status":
                parts.append(str(rule.status))
            elif rule.kind == "timeout":
                parts.append(f"timeout={rule.ms}ms")
            else:
                parts.append(rule.kind)
        return ",".join(parts) or None


class FaultPlan:
    def __init__(self, rules: list[FaultRule] | None = None, seed: int | None = None) -> None:
        self.rules: list[FaultRule] = rules or []
        self.seed = seed
        self._random = random.Random(seed)

    def replace(self, rules: list[FaultRule], seed: int | None) -> None:
        self.rules = rules
        self.seed = seed
        self._random = random.Random(seed)

    def decide(self, method: str, path: str) -> Decision | None:
        if not self.rules:
            return None
        decision = Decision()
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            if rule.kind != "latency" and decision.action is not None:
                continue
            if rule.rate < 1 and self._random.random() >= rule.rate:
                continue
            if rule.count is not None:
                rule.count -= 1
            if rule.kind == "latency":
                decision.latency_ms += rule.ms or 0
            else:
                decision.action = rule
        if decision.latency_ms == 0 and decision.action is None:
            return None
        return decision

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "rules": [rule.to_json() for rule in self.rules]}


def rules_from_json(data: Any) -> tuple[list[FaultRule], int | None]:
    if isinstance(data, dict) and isinstance(data.get("spec"), str):
        return parse_spec(data["spec"])
    if isinstance(data, list):
        return [FaultRule.from_json(item) for item in data], None
    if isinstance(data, dict):
        seed = data.get("seed")
        if seed is not None and not isinstance(seed, int):
            raise FaultSpecError("seed must be an integer")
        return [FaultRule.from_json(item) for item in data.get("rules", [])], seed
    raise FaultSpecError("send {'rules': [...], 'seed': N}, a list of rules, or {'spec': '...'}")
