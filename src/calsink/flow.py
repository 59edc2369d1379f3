"""The flow file: typed settings, loading from YAML with line numbers, JSON Schema export."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from calsink import safe_yaml

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
_ENV_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceSettings(_Settings):
    """Where the records come from."""

    path: str | None = Field(
        default=None,
        description='A .csv, .jsonl, .ndjson, .json or .parquet file, or "-" for stdin.',
    )
    format: Literal["csv", "jsonl", "json", "parquet"] | None = Field(
        default=None, description="Overrides the format the file name suggests (needed for stdin)."
    )
    delimiter: str | None = Field(
        default=None, min_length=1, max_length=1, description="CSV delimiter; sniffed when absent."
    )
    encoding: str = Field(default="utf-8", description="Text encoding of CSV and JSON files.")
    calcom: (
        Literal["event-types", "bookings", "slots", "schedules", "webhooks", "ooo", "me"] | None
    ) = Field(default=None, description="Read records from Cal.com itself instead of a file.")
    filters: dict[str, Any] = Field(
        default_factory=dict, description="Query filters for a `calcom` source."
    )
    query: str | None = Field(
        default=None,
        description="A SQL query whose rows are the records (with `connection`; the flow "
        "needs `delivery.key`).",
    )
    connection: str | None = Field(
        default=None,
        description='Where `query` runs: "duckdb:///file.db" ("duckdb://" in memory, for '
        'Parquet/CSV globs), "postgresql://user@host/db", or any SQLAlchemy URL; write a '
        "password as ${ENV}.",
    )

    @model_validator(mode="after")
    def _one_origin(self) -> SourceSettings:
        given = [self.path is not None, self.calcom is not None, self.query is not None]
        if sum(given) != 1:
            raise ValueError(
                "give exactly one of `path` (a file or '-'), `calcom` (a kind) and `query` "
                "(SQL, with `connection`)"
            )
        if (self.query is None) != (self.connection is None):
            raise ValueError("`query` and `connection` go together: give both or neither")
        return self


class TransformSettings(_Settings):
    """How upstream fields become Cal.com's fields."""

    where: str | None = Field(
        default=None, description="A safe expression over the record; false drops it (skipped)."
    )
    map: dict[str, Any] | None = Field(
        default=None,
        description=(
            "The outgoing record. Values are '{field}' templates, expressions such as "
            "'int(event_type_id)', or constants; nested keys make nested objects."
        ),
    )


class FlowReference(_Settings):
    """A path parameter taken from what an earlier flow's ledger holds."""

    flow: str = Field(pattern=NAME_PATTERN, description="The name of the flow that created it.")
    key: list[str] = Field(
        min_length=1,
        description=(
            "Field names, '{field}' templates or expressions (lower(Who.Email)) of this "
            "record that give the key values."
        ),
    )
    field: str = Field(
        default="uid", description="Which identifier the earlier flow recorded: uid or id."
    )


class ManualSettings(_Settings):
    """Any Cal.com API v2 endpoint, configured by hand."""

    method: Literal["POST", "PATCH", "PUT", "DELETE"]
    url: str = Field(description="Full URL; '{field}' macros become single path segments.")
    content_format: Literal["json"] = "json"
    headers: str | dict[str, str] | None = Field(
        default=None, description='Extra headers: "h1:v1,h2:v2" or a mapping.'
    )


class BatchSettings(_Settings):
    """Records grouped into one JSON-array body (Cal.com has no batch endpoints)."""

    size: int = Field(default=100, ge=1, le=10_000)
    group_by: str | None = Field(
        default=None, description="Records with equal values share a batch."
    )


class DestinationSettings(_Settings):
    """Where and how the records are sent."""

    credential: str | None = Field(
        default=None,
        description="A stored credential's name, or a '{field}' template over the record "
        "('{owner}') that names the credential sending each record (one flow, many accounts).",
    )
    api_key_env: str | None = Field(
        default=None, description="The environment variable that holds the API key."
    )
    base_url: str = Field(default="https://api.cal.com")
    template: str | None = Field(default=None, description="One of `calsink templates`.")
    params: dict[str, str | FlowReference] = Field(
        default_factory=dict, description="Path parameters of the template, as macros."
    )
    api_version: str | None = Field(
        default=None, description="Overrides the template's cal-api-version."
    )
    manual: ManualSettings | None = None
    allowed_origins: list[str] = Field(
        default_factory=list,
        description=(
            "Origins (https://host[:port]) besides base_url that a manual URL may name; "
            "the API key is sent to them."
        ),
    )
    exclude: list[str] = Field(
        default_factory=list, description="Attributes left out of the body (dotted paths)."
    )
    batch: BatchSettings | None = None
    check_availability: bool = Field(
        default=False, description="create/reschedule: ask /v2/slots before sending."
    )
    unknown_fields: Literal["warn", "reject", "drop"] = Field(
        default="warn", description="What to do with body fields the endpoint does not know."
    )
    verify_tls: bool = Field(default=True, description="Must stay true; false is refused.")

    @model_validator(mode="after")
    def _template_or_manual(self) -> DestinationSettings:
        if (self.template is None) == (self.manual is None):
            raise ValueError("give exactly one of `template` and `manual`")
        if self.credential is not None and self.api_key_env is not None:
            raise ValueError("give at most one of `credential` and `api_key_env`")
        if not self.verify_tls:
            raise ValueError("TLS verification cannot be turned off: remove `verify_tls`")
        return self

    @property
    def credential_per_record(self) -> bool:
        """Whether each record names its own credential (``credential: "{owner}"``)."""
        return self.credential is not None and "{" in self.credential

    @field_validator("base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/?#]+(/[^?#]*)?$", value):
            raise ValueError("expected an http(s) URL such as https://api.cal.com")
        return value.rstrip("/")

    @field_validator("allowed_origins")
    @classmethod
    def _origins(cls, values: list[str]) -> list[str]:
        for value in values:
            if not re.match(r"^https?://[^/?#@]+/?$", value):
                raise ValueError(
                    f"expected origins such as https://hooks.example.com, found {value!r}"
                )
        return [value.rstrip("/") for value in values]


class DeliverySettings(_Settings):
    """How fast, how often and how carefully records are sent."""

    key: list[str] | None = Field(
        default=None,
        description=(
            "What makes a record the same across runs: field names, '{field}' templates or "
            "expressions such as lower(Who.Email); default: its rendered request."
        ),
    )
    concurrency: int = Field(default=8, ge=1, le=256)
    rate_limit: Literal["auto"] | int = Field(
        default="auto", description="'auto' follows Cal.com's rate-limit headers; or per minute."
    )
    max_attempts: int = Field(default=6, ge=1, le=100)
    timeout_s: float = Field(default=30.0, gt=0, le=600)
    allow_destructive: bool = False
    max_destructive: int = Field(default=100, ge=0)
    fingerprint_bookings: bool = Field(
        default=True,
        description=(
            "Write metadata.calsink_key (a hash of flow name and record key) into each booking "
            "created, so that a booking whose answer was lost is found, not made twice; false "
            "leaves metadata as mapped and finds such a booking by attendee, start and event type."
        ),
    )
    lease_s: float = Field(
        default=60.0,
        ge=1,
        le=86_400,
        description="With a PostgreSQL ledger: how long a claim of a worker that stopped "
        "holds its records before another worker looks them up and takes them over.",
    )
    shared_budget: bool = Field(
        default=True,
        description="With a PostgreSQL ledger: every worker sending with one API key draws "
        "its requests from the key's budget, kept in the ledger (off: each worker paces "
        "itself alone).",
    )

    @field_validator("rate_limit")
    @classmethod
    def _positive_rate(cls, value: Literal["auto"] | int) -> Literal["auto"] | int:
        if isinstance(value, int) and value < 1:
            raise ValueError("expected 'auto' or a number of requests per minute ≥ 1")
        return value


class ResponseWebhook(_Settings):
    url: str
    secret_env: str | None = Field(
        default=None, description="Environment variable with the HMAC-SHA256 signing secret."
    )


class ResponsesSettings(_Settings):
    """Where every API response goes (the response webhook)."""

    jsonl: str | None = None
    stdout: bool = False
    webhook: str | ResponseWebhook | None = None


class Flow(_Settings):
    """A calsink flow: a source, an optional transform, a destination, and how to deliver."""

    version: Literal[1] = 1
    name: str = Field(pattern=NAME_PATTERN, description="The ledger keys state by this name.")
    source: SourceSettings
    transform: TransformSettings | None = None
    destination: DestinationSettings
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    responses: ResponsesSettings = Field(default_factory=ResponsesSettings)
    dead_letters: str | None = Field(
        default=None,
        description="The dead-letter file; default out/<name>.dead-letters.jsonl (one per flow).",
    )
    ledger: str = ".calsink/ledger.db"

    @property
    def dead_letters_file(self) -> str:
        """``dead_letters``, or the flow's own default ``out/<name>.dead-letters.jsonl``."""
        return self.dead_letters or f"out/{self.name}.dead-letters.jsonl"

    @model_validator(mode="after")
    def _own_file_each(self) -> Flow:
        # Two settings naming one file would write over each other (the dead letters are
        # rewritten at each run's end; the ledger is a database).
        files = {"dead_letters": self.dead_letters_file, "ledger": self.ledger}
        if self.responses.jsonl:
            files["responses.jsonl"] = self.responses.jsonl
        seen: dict[str, str] = {}
        for setting, path in files.items():
            if "://" in path:
                continue
            same = seen.setdefault(os.path.normpath(path), setting)
            if same != setting:
                raise ValueError(
                    f"`{same}` and `{setting}` name the same file ({path}): give each its own"
                )
        return self

    @model_validator(mode="after")
    def _query_has_key(self) -> Flow:
        if self.source.query is not None and not self.delivery.key:
            raise ValueError(
                "`delivery.key` is required with `source.query`: a query's row order is not "
                "an identity, so name the columns that make a record the same across runs "
                "(e.g. `delivery: {key: [email, start]}`)"
            )
        return self


@dataclass(frozen=True, slots=True)
class LoadedFlow:
    """A validated flow and where it was read from.

    Every relative path of the flow resolves against ``base_dir``: the flow file's directory,
    or for a flow that is not a file (the page's draft) the directory it is edited in.
    """

    flow: Flow
    path: Path | None
    base_dir: Path

    def resolve(self, value: str) -> Path:
        candidate = Path(value).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate

    def paths_from(self, directory: Path) -> Flow:
        """The flow with each relative path rewritten to name the same file from ``directory``
        (for a draft saved to a flow file in another directory, and back)."""
        if directory == self.base_dir:
            return self.flow

        def moved(value: str | None) -> str | None:
            if not value or value == "-" or Path(value).expanduser().is_absolute():
                return value
            return Path(os.path.relpath(self.base_dir / value, directory)).as_posix()

        flow = self.flow
        return flow.model_copy(
            update={
                "source": flow.source.model_copy(update={"path": moved(flow.source.path)}),
                "responses": flow.responses.model_copy(
                    update={"jsonl": moved(flow.responses.jsonl)}
                ),
                "dead_letters": moved(flow.dead_letters_file),
                "ledger": moved(flow.ledger),
            }
        )


class FlowError(Exception):
    """A flow file that cannot be used, with every problem and its line."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "\n  ".join(["invalid flow file", *problems]))


def flow_json_schema() -> dict[str, Any]:
    schema = Flow.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "calsink flow file"
    return schema


def load_flow(
    path: str | Path, *, environ: dict[str, str] | None = None, keep_references: bool = False
) -> LoadedFlow:
    """Read and validate a flow file; raise FlowError naming each bad key and its line.

    Its relative paths are relative to the file's directory, not to the working directory.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise FlowError(str(file), [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        line = exc.object[: exc.start].count(b"\n") + 1
        problem = (
            f"line {line}: the file is not UTF-8 text (byte 0x{exc.object[exc.start]:02x}); "
            "save it as UTF-8"
        )
        raise FlowError(str(file), [problem]) from None
    flow = parse_flow(text, source=str(file), environ=environ, keep_references=keep_references)
    return LoadedFlow(flow=flow, path=file, base_dir=file.resolve().parent)


def parse_flow(
    text: str,
    *,
    source: str = "<flow>",
    environ: dict[str, str] | None = None,
    keep_references: bool = False,
) -> Flow:
    """The flow a YAML text describes; ``${NAME}`` references take the environment's values,
    or stay as written with ``keep_references`` (for showing or saving a flow: a secret
    given by reference never reaches the page or a rewritten file)."""
    env: Mapping[str, str] = os.environ if environ is None else environ
    if keep_references:
        env = _KEPT
    try:
        node = safe_yaml.compose(text)
    except safe_yaml.YamlError as exc:
        raise FlowError(source, [str(exc)]) from None
    if node is None:
        raise FlowError(source, ["the file is empty; start from `calsink init TEMPLATE`"])
    lines: dict[tuple[str | int, ...], int] = {}
    problems: list[str] = []
    data = _to_python(node, (), lines, env, problems)
    if problems:
        raise FlowError(source, problems)
    if not isinstance(data, dict):
        raise FlowError(source, ["line 1: expected a mapping with version, name, source, ..."])
    try:
        flow = Flow.model_validate(data)
    except ValidationError as exc:
        raise FlowError(source, _describe(exc, lines)) from None
    _check_transform(flow, source, lines)
    _check_shared_ledger(flow, source, lines)
    return flow


def _check_shared_ledger(flow: Flow, source: str, lines: dict[tuple[str | int, ...], int]) -> None:
    """Runs that share a PostgreSQL ledger tell records apart by ``delivery.key`` only: a
    record's position (file:line) is not the same in every worker's share of the rows."""
    if flow.delivery.key or not flow.ledger.startswith(("postgresql://", "postgres://")):
        return
    line = _nearest_line(("ledger",), lines)
    raise FlowError(
        source,
        [
            f"line {line}: `ledger`: a PostgreSQL ledger is shared by many workers, and they "
            "tell records apart by `delivery.key` only (a record's position is not the same "
            "in every worker's rows); add `delivery.key: [field, ...]` naming the fields that "
            "make a record the same across runs"
        ],
    )


def _check_transform(flow: Flow, source: str, lines: dict[tuple[str | int, ...], int]) -> None:
    """Compile the transform now, so that a bad expression is reported with its line."""
    from calsink.transform import TransformConfigError, Transformer

    try:
        Transformer(flow.transform)
    except TransformConfigError as exc:
        parts = re.findall(r"\[(\d+)\]|([^.\[\]]+)", exc.key)
        loc = ("transform", *(int(index) if index else name for index, name in parts))
        line = _nearest_line(loc, lines)
        raise FlowError(source, [f"line {line}: `transform.{exc.key}`: {exc.problem}"]) from None


def _to_python(
    node: yaml.Node,
    path: tuple[str | int, ...],
    lines: dict[tuple[str | int, ...], int],
    env: Mapping[str, str],
    problems: list[str],
) -> Any:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in result:
                problems.append(
                    f"line {key_node.start_mark.line + 1}: `{_dotted((*path, key))}` is given twice"
                )
            result[key] = _to_python(value_node, (*path, key), lines, env, problems)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(item, (*path, index), lines, env, problems)
            for index, item in enumerate(node.value)
        ]
    value = yaml.SafeLoader("").construct_object(node)
    if isinstance(value, str) and "$" in value:
        return _interpolate(value, path, lines[path], env, problems)
    return value


class _KeptReferences(dict[str, str]):
    """An environment in which every ``${NAME}`` stays as written."""


_KEPT = _KeptReferences()


def resolve_references(
    data: Any, environ: Mapping[str, str] | None = None, path: tuple[str | int, ...] = ()
) -> tuple[Any, list[str]]:
    """``data`` with each ``${NAME}`` in its strings replaced from the environment, and the
    problems (a name that is not set), as a flow file's values are read."""
    env = os.environ if environ is None else environ
    problems: list[str] = []

    def walk(value: Any, where: tuple[str | int, ...]) -> Any:
        if isinstance(value, dict):
            return {key: walk(item, (*where, key)) for key, item in value.items()}
        if isinstance(value, list):
            return [walk(item, (*where, index)) for index, item in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            return _interpolate(value, where, 0, env, problems)
        return value

    return walk(data, path), [problem.removeprefix("line 0: ") for problem in problems]


def _interpolate(
    value: str,
    path: tuple[str | int, ...],
    line: int,
    env: Mapping[str, str],
    problems: list[str],
) -> str:
    if isinstance(env, _KeptReferences):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1)
        if name not in env:
            problems.append(
                f"line {line}: `{_dotted(path)}` refers to ${{{name}}}, which is not set in the "
                f"environment (set it, or write $${{{name}}} for a literal)"
            )
            return ""
        return env[name]

    return _ENV_REFERENCE.sub(replace, value)


def _describe(exc: ValidationError, lines: dict[tuple[str | int, ...], int]) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
        line = _nearest_line(loc, lines)
        key = _dotted(loc) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc[:-1])
            message = f"unknown key; allowed here: {', '.join(allowed)}" if allowed else message
        elif error["type"] == "missing":
            message = "required key is missing"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        problems.append(f"line {line}: `{key}`: {message}")
    return problems


def _is_union_tag(part: str | int) -> bool:
    return isinstance(part, str) and (
        part in {"str", "int", "FlowReference", "ResponseWebhook", "ManualSettings"}
        or part.startswith(("literal[", "function-", "dict[", "list["))
    )


def _nearest_line(loc: tuple[str | int, ...], lines: dict[tuple[str | int, ...], int]) -> int:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return 1


def _dotted(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    model: type[BaseModel] | None = Flow
    for part in loc:
        if model is None or isinstance(part, int):
            return []
        info = model.model_fields.get(str(part))
        if info is None:
            return []
        model = _model_of(info.annotation)
    return sorted(model.model_fields) if model is not None else []


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None
