"""Render: one record and the destination settings → the HTTP request, or why not.

``Renderer.render`` is pure: the same record always gives the same request, byte for
byte, and nothing is sent or stored. Preview, test and run all call it, so what a
preview shows is what goes on the wire (less Authorization, which the transport adds).

Safety rules kept here:
- every ``{macro}`` value becomes one percent-encoded path segment (``quote(value,
  safe="")``), so no record can change the host, the port or the path above it, and a
  segment that decodes to ``.`` or ``..`` is refused;
- header values never carry CR, LF or NUL, and Authorization is never set from a flow;
- a manual URL at a versioned Cal.com route without the right ``cal-api-version``, or
  at the retired ``/v1/`` API, is refused before any record is read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import orjson

from calsink import dotted
from calsink.contract import Contract
from calsink.endpoints import (
    NO_ACTION,
    Action,
    Endpoint,
    find_known_endpoint,
    get_template,
    target_segment,
    template_at,
)
from calsink.expressions import (
    EvaluationError,
    Expression,
    ExpressionError,
    MissingField,
    compile_expression,
    is_expression,
)
from calsink.flow import DestinationSettings, FlowReference
from calsink.headers import HeaderError, check_header, header_value, parse_headers
from calsink.http.urls import LOOPBACK_HOSTS, is_loopback
from calsink.instants import normalise_instant
from calsink.records import Position, Problem, Record, Rejection, Request
from calsink.redact import json_default, json_ready

ResolveReference = Callable[[FlowReference, tuple[str, ...]], "str | None"]

_MACRO = re.compile(r"\{([^{}]*)\}")
_MISSING: Any = object()

BATCH_WARNING = (
    "Cal.com has no batch endpoints: with `batch` each request body is a JSON array of "
    "records, which Cal.com's own endpoints refuse; use it only for an endpoint that "
    "accepts arrays"
)


class RenderConfigError(ValueError):
    """The destination settings cannot produce any request: what is wrong, what to do."""


@dataclass(frozen=True, slots=True)
class _Macro:
    """A ``{name}`` in a URL: a path parameter (from ``params``) or a record field."""

    name: str


_Part = str | _Macro


def key_string(values: Sequence[str]) -> str:
    """The canonical text of a record key: a compact JSON array of its values (a lone
    surrogate in one written as its escape)."""
    try:
        return orjson.dumps(list(values)).decode()
    except TypeError:
        return orjson.dumps(json_ready(list(values))).decode()


def key_value(value: Any) -> str:
    """One key value as text; instants in UTC so that equal moments give equal keys."""
    if isinstance(value, str):
        text = value.strip()
        # normalise_instant refuses at once a text without a date-time separator here
        if len(text) >= 11 and text[10] in "Tt ":
            try:
                return normalise_instant(value)
            except ValueError:
                pass
        return value
    if isinstance(value, datetime):
        try:
            return normalise_instant(value)
        except ValueError:
            return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return _structure_text(value)
    return str(value)


def _structure_text(value: dict[Any, Any] | list[Any]) -> str:
    try:
        return orjson.dumps(value, default=_key_default, option=orjson.OPT_SORT_KEYS).decode()
    except TypeError:  # integers beyond 64 bits, or keys that are not text
        pass
    try:
        return json.dumps(
            value, default=_key_default, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
    except (TypeError, ValueError):  # keys of several types cannot be sorted
        return str(value)


def _key_default(value: Any) -> Any:
    """Inside a key, a value JSON cannot carry reads as its text, as it does on its own."""
    try:
        return json_default(value)
    except TypeError:
        return str(value)


def _lookup(path: str, record: Record, source_record: Record) -> Any:
    value = dotted.get(record, path, _MISSING)
    if value is _MISSING or value is None or value == "":
        fallback = dotted.get(source_record, path, _MISSING)
        if fallback is not _MISSING:
            return fallback
    return value


def _key_expressions(
    key_fields: tuple[str, ...], params: dict[str, str | FlowReference]
) -> dict[str, Expression]:
    """The key entries written as expressions (``lower(Who.Email)``), compiled once."""
    entries = [(f"delivery.key[{index}]", field) for index, field in enumerate(key_fields)]
    for name, param in params.items():
        if isinstance(param, FlowReference):
            entries.extend(
                (f"destination.params.{name}.key[{index}]", field)
                for index, field in enumerate(param.key)
            )
    compiled: dict[str, Expression] = {}
    for where, field in entries:
        if not is_expression(field):
            continue
        try:
            compiled[field] = compile_expression(field.lstrip().removeprefix("="))
        except ExpressionError as exc:
            raise RenderConfigError(f"{where}: {exc} (in {field!r})") from None
    return compiled


def _key_expression_part(
    field: str, expression: Expression, record: Record, source: Record, problems: list[Problem]
) -> str | None:
    """A key value from an expression over the outgoing record, else over the source's."""
    try:
        try:
            value = expression.evaluate(record)
        except MissingField:
            value = expression.evaluate(source)
    except EvaluationError as exc:
        problems.append(Problem(field, exc.expected, exc.found, exc.hint))
        return None
    if value is None or value == "":
        return None
    return key_value(value)


def _parse_macros(text: str) -> list[_Part]:
    parts: list[_Part] = []
    position = 0
    for match in _MACRO.finditer(text):
        if match.start() > position:
            parts.append(text[position : match.start()])
        name = match.group(1).strip()
        if not name:
            raise RenderConfigError(f"empty macro {{}} in {text!r}: name a field, e.g. {{uid}}")
        parts.append(_Macro(name))
        position = match.end()
    if position < len(text):
        parts.append(text[position:])
    return parts


def _check_origin(url: str, what: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise RenderConfigError(f"{what}: expected an http(s) URL, found {url!r}")
    if parts.username or parts.password:
        raise RenderConfigError(
            f"{what}: credentials in the URL are not allowed; use `credential` or `api_key_env`"
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise RenderConfigError(
            f"{what}: plain http is allowed only for this machine ({LOOPBACK_HOSTS}); "
            f"use https for {parts.hostname}"
        )


CALCOM_ORIGIN = "https://api.cal.com"


def _origin(url: str) -> str | None:
    """``scheme://host:port`` of ``url`` (the port always written), or None."""
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _rebased(url: str, base: str, allowed: Sequence[str]) -> str:
    """An absolute manual URL, checked against the origins the flow names.

    On ``base``'s origin or one of ``allowed``, it stays; on Cal.com's, it moves onto
    ``base`` (so that ``--base-url`` covers it); anywhere else it is refused, because
    the API key goes with every request.
    """
    fixed = url.split("{", 1)[0]
    if "{" in url and not urlsplit(fixed).path.startswith("/"):
        return url  # a macro in the host: `_manual_prefix` says why that is refused
    _check_origin(fixed, "destination.manual.url")
    origin = _origin(fixed)
    if origin == _origin(base) or origin in {_origin(named) for named in allowed}:
        return url
    parts = urlsplit(fixed)
    written = f"{parts.scheme}://{parts.netloc}"
    if origin == _origin(CALCOM_ORIGIN):
        return base + url.split("://", 1)[1][len(parts.netloc) :]
    raise RenderConfigError(
        f"destination.manual.url: {written} is not the origin of destination.base_url "
        f"({base}), and calsink sends the API key with every request; give a path such as "
        f"/v2/… (sent to base_url), or name the origin in destination.allowed_origins: "
        f"['{written}']"
    )


def _to_segment_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text.strip() else None


def _fill_macros(
    parts: list[_Part],
    record: Record,
    source: Record,
    problems: list[Problem],
    consumed: list[str],
    *,
    expected: str,
    or_else: str = "",
    strip: bool = False,
) -> str | None:
    """``parts`` with each macro replaced by its field's value as segment text; None, with
    a problem naming the first field that has none (``expected`` says what it is for)."""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(part)
            continue
        value = _lookup(part.name, record, source)
        text = None if value is _MISSING else _to_segment_text(value)
        if text is None:
            problems.append(
                Problem(
                    part.name,
                    expected,
                    "nothing" if value is _MISSING or value in (None, "") else repr(value),
                    f"give each record a {part.name}{or_else}",
                )
            )
            return None
        pieces.append(text.strip() if strip else text)
        if dotted.get(record, part.name, _MISSING) is not _MISSING:
            consumed.append(part.name)
    return "".join(pieces)


def _unencodable(error: TypeError) -> Problem:
    """Why a body cannot be written as JSON, and what to do about it."""
    if "surrogates" in str(error):
        return Problem(
            None,
            "text that is valid UTF-8",
            "a text holding a lone surrogate (an undecodable byte)",
            "read the source in its own encoding (source.encoding), or clean the value",
        )
    return Problem(
        None,
        "values that JSON can carry",
        str(error),
        "write such a value as text in the map, e.g. str(column)",
    )


def encode_body(payload: Any) -> bytes:
    return orjson.dumps(payload, default=json_default)


FINGERPRINT_FIELD = "calsink_key"
MAX_METADATA_KEYS = 50


@functools.lru_cache(maxsize=2048)
def fingerprint(flow: str, key: str) -> str:
    """A short, stable hash of flow name and record key, written into booking metadata.

    Remembered for the records under way: rendering, marking and sending each ask."""
    return hashlib.sha256(f"{flow}\x00{key}".encode()).hexdigest()[:16]


def fingerprinted(payload: Any, mark: str) -> dict[str, Any] | None:
    """A booking's payload with ``metadata.calsink_key`` set to ``mark``; None when it has
    one already, or has no room for it (Cal.com allows 50 metadata keys)."""
    if not isinstance(payload, dict):
        return None
    metadata = payload.get("metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict) or FINGERPRINT_FIELD in metadata:
        return None
    if len(metadata) >= MAX_METADATA_KEYS:
        return None
    return {**payload, "metadata": {**metadata, FINGERPRINT_FIELD: mark}}


def _copy_tree(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy_tree(item) for key, item in value.items()}
    return value


class _Accounts:
    """``destination.credential: "{owner}"``: the stored credential each record names.

    ``known`` maps each stored credential's name to its own base URL (None: the flow's).
    """

    def __init__(
        self, destination: DestinationSettings, known: Mapping[str, str | None] | None
    ) -> None:
        assert destination.credential is not None
        self.written = destination.credential
        self.parts = _parse_macros(self.written)
        self.known = dict(known or {})
        self.base = destination.base_url.rstrip("/")

    def choose(
        self, record: Record, source: Record, problems: list[Problem], consumed: list[str]
    ) -> str | None:
        """The name of the credential that sends ``record``, or None (with a problem)."""
        fields = [part.name for part in self.parts if isinstance(part, _Macro)]
        field = fields[0] if len(fields) == 1 else "destination.credential"
        name = _fill_macros(
            self.parts,
            record,
            source,
            problems,
            consumed,
            expected=(
                "the name of the credential that sends this record "
                f"(destination.credential: {self.written!r})"
            ),
            strip=True,
        )
        if name is None:
            return None
        if name not in self.known:
            stored = ", ".join(sorted(self.known)) or "none yet"
            problems.append(
                Problem(
                    field,
                    f"the name of a stored credential (destination.credential: "
                    f"{self.written!r}; stored: {stored})",
                    repr(name),
                    f"add it with `calsink credentials add {name}`, or correct the record",
                )
            )
            return None
        return name

    def url_for(self, name: str, url: str) -> str:
        """``url`` at the credential's own base URL, when it was stored with one."""
        own = self.known.get(name)
        if own and url.startswith(self.base + "/"):
            return own.rstrip("/") + url[len(self.base) :]
        return url


class Renderer:
    """Turns records into requests for one destination; immutable once built.

    ``content_keys=False`` is for checking alone (``calsink validate``): a request whose
    key would be the hash of its method, URL and body gets an empty key instead, which
    saves the hashing. Keys from ``key_fields`` are made either way (they can fail).
    """

    def __init__(
        self,
        destination: DestinationSettings,
        *,
        key_fields: list[str] | None = None,
        resolve_reference: ResolveReference | None = None,
        content_keys: bool = True,
        fingerprint_flow: str | None = None,
        accounts: Mapping[str, str | None] | None = None,
    ) -> None:
        self.destination = destination
        self.key_fields = tuple(key_fields or ())
        self.content_keys = content_keys
        self.resolve_reference = resolve_reference
        self.warnings: list[str] = []
        self.params: dict[str, str | FlowReference] = dict(destination.params)
        self._key_expressions = _key_expressions(self.key_fields, self.params)
        self.exclude = tuple(destination.exclude)
        self.unknown_policy = destination.unknown_fields
        base = destination.base_url.rstrip("/")
        _check_origin(base, "destination.base_url")
        self.base_url = base
        self.endpoint: Endpoint | None = None
        self.contract: Contract | None = None
        acting: Endpoint | None = None
        extra_headers: tuple[tuple[str, str], ...] = ()
        if destination.template is not None:
            try:
                self.endpoint = get_template(destination.template)
            except ValueError as exc:
                raise RenderConfigError(f"destination.template: {exc}") from None
            self.contract = Contract(self.endpoint)
            acting = self.endpoint
            self.method: str = self.endpoint.method
            self.url_parts = _parse_macros(base + self.endpoint.path)
            self.prefix = base + "/v2/"
            version = destination.api_version or self.endpoint.api_version
            self.has_body = self.endpoint.has_body
            for name in self.params:
                if name not in self.endpoint.param_names:
                    allowed = ", ".join(self.endpoint.param_names) or "none"
                    raise RenderConfigError(
                        f"destination.params.{name}: {self.endpoint.name} has no path parameter "
                        f"{name!r} (its path parameters: {allowed})"
                    )
        else:
            manual = destination.manual
            assert manual is not None
            self.method = manual.method
            try:
                extra_headers = parse_headers(manual.headers)
            except HeaderError as exc:
                raise RenderConfigError(f"destination.manual.{exc}") from None
            url = manual.url.strip()
            if url.startswith("/"):
                url = base + url
            else:
                url = _rebased(url, base, destination.allowed_origins)
            self.url_parts = _parse_macros(url)
            self.prefix = self._manual_prefix(url)
            acting = template_at(self.method, url)
            self.has_body = manual.method != "DELETE"
            version = header_value(extra_headers, "cal-api-version")
            if destination.api_version is not None:
                if version is not None and version != destination.api_version:
                    raise RenderConfigError(
                        "destination.api_version and the cal-api-version header disagree "
                        f"({destination.api_version} vs {version}); keep one"
                    )
                if version is None:
                    extra_headers = (*extra_headers, ("cal-api-version", destination.api_version))
                version = destination.api_version
            self._version_guard(url, version)
        if version is not None:
            try:
                check_header("cal-api-version", version)
            except HeaderError as exc:
                raise RenderConfigError(f"destination.api_version: {exc}") from None
        self.headers = self._headers(version, extra_headers)
        self.macro_names = [p.name for p in self.url_parts if isinstance(p, _Macro)]
        for name in self.params:
            if name not in self.macro_names:
                raise RenderConfigError(
                    f"destination.params.{name}: the URL has no {{{name}}} macro to fill"
                )
        self.template_name = self.endpoint.name if self.endpoint else None
        self.defaults = self.endpoint.defaults if self.endpoint else ()
        self.fixed_url: str | None = None
        self._fixed_digest: Any = None
        fixed = "".join(p for p in self.url_parts if isinstance(p, str))
        if not self.macro_names and fixed.startswith(self.prefix):
            self.fixed_url = fixed
            self._fixed_digest = hashlib.sha256(f"{self.method} {fixed}\n".encode())
        # What each request does, known once here: the engine reads it from the request.
        self.action: Action = acting.action if acting is not None else NO_ACTION
        self._target_at = target_segment(acting) if acting is not None else None
        if self._target_at is not None and self.fixed_url is not None:
            self.action = self.action.on(self._target(self.fixed_url))
            self._target_at = None
        # A flow that creates bookings gets each record's fingerprint written into its
        # metadata here, and only here, so that what preview shows is what is sent.
        self._fingerprints: str | None = None
        if fingerprint_flow is not None and self.action.creates == "booking":
            self._fingerprints = fingerprint_flow
        # The common case, a clean record sent as it is to a fixed URL, skips the general
        # path; any record that is not clean goes the general way and is judged there.
        self._screening = None
        if (
            self.fixed_url is not None
            and self.contract is not None
            and self.endpoint is not None
            and self.endpoint.body_rule == "record"
            and not self.exclude
            and not self.defaults
        ):
            self._screening = self.contract.screening
        self._accounts = (
            _Accounts(destination, accounts) if destination.credential_per_record else None
        )
        if self._accounts is not None:
            self._screening = None
        if destination.batch is not None:
            if not self.has_body:
                raise RenderConfigError(
                    f"destination.batch: {self.method} requests have no body to batch; remove it"
                )
            self.warnings.append(BATCH_WARNING)

    # --- configuration --------------------------------------------------------------------

    def _target(self, url: str) -> str:
        """The uid or id the request acts on: the path segment the template names (the
        URL is one render made: its query and fragment hold no macro before the path's)."""
        at = self._target_at
        assert at is not None
        if "?" in url or "#" in url:
            url = url.split("?", 1)[0].split("#", 1)[0]
        return url.rsplit("/", -at)[at]

    def _manual_prefix(self, url: str) -> str:
        fixed = url.split("{", 1)[0]
        if "{" in url and not urlsplit(fixed).path.startswith("/"):
            raise RenderConfigError(
                "destination.manual.url: macros may only stand in the path or the query, "
                f"not in the scheme, host or port; found {url!r}"
            )
        _check_origin(fixed if "{" in url else url, "destination.manual.url")
        for segment in urlsplit(url).path.split("/"):
            if segment in {".", ".."}:
                raise RenderConfigError(
                    f"destination.manual.url: the path may not contain {segment!r} segments"
                )
        return fixed

    def _version_guard(self, url: str, version: str | None) -> None:
        path = urlsplit(_MACRO.sub("x", url)).path
        if path == "/v1" or "/v1/" in path + "/":
            fix = path.replace("/v1/", "/v2/", 1)
            raise RenderConfigError(
                f"destination.manual.url points at Cal.com's retired /v1/ API ({path}); "
                f"use the /v2/ API instead, e.g. {fix}, or a template (calsink templates)"
            )
        v2 = path.find("/v2/")
        if v2 < 0:
            return
        known = find_known_endpoint(self.method, path[v2:].rstrip("/") or "/")
        if known is None or known.recommended is None:
            return
        if version not in known.versions:
            found = f"cal-api-version {version}" if version else "no cal-api-version header"
            raise RenderConfigError(
                f"destination.manual: {self.method} {known.display} needs the header "
                f"cal-api-version: {known.recommended} (found {found}); without it Cal.com "
                "silently falls back to an older contract. Add it: "
                f'headers: "cal-api-version:{known.recommended}"'
            )

    def _headers(
        self, version: str | None, extra: tuple[tuple[str, str], ...]
    ) -> tuple[tuple[str, str], ...]:
        base: list[tuple[str, str]] = [("Accept", "application/json")]
        if self.has_body:
            base.append(("Content-Type", "application/json"))
        if version is not None and header_value(extra, "cal-api-version") is None:
            base.append(("cal-api-version", version))
        overridden = {name.lower() for name, _ in extra}
        merged = [(n, v) for n, v in base if n.lower() not in overridden]
        return (*merged, *extra)

    # --- rendering ------------------------------------------------------------------------

    def render(
        self, position: Position, source_record: Record, record: Record
    ) -> Request | Rejection:
        """The request for one record, or a Rejection naming every problem found.

        The request's payload may share nested values with ``record``: treat both as
        read-only once rendered.
        """
        screening = self._screening
        url = self.fixed_url
        if screening is not None and url is not None and screening(record) == ():
            key: str | None = ""
            if self.key_fields:
                key = self._key(record, source_record, [])
            payload = record
            if key and self._fingerprints:
                payload = fingerprinted(record, fingerprint(self._fingerprints, key)) or record
            try:
                body = encode_body(payload)
            except TypeError:
                key = None
            if key is None:  # a problem: the general path names it
                return self._render(position, source_record, record)
            if self.content_keys and not self.key_fields:
                digest = self._fixed_digest.copy()
                digest.update(body)
                key = digest.hexdigest()
                if self._fingerprints:  # the key is the unmarked body's: mark it now
                    payload, body = self._marked(record, body, key)
            return Request(  # positional: keywords cost as much again here
                self.method,
                url,
                self.headers,
                body,
                payload,
                (position,),
                (record,),
                key,
                self.template_name,
                (),
                self.action,
            )
        return self._render(position, source_record, record)

    def _marked(self, payload: Any, body: bytes, key: str) -> tuple[Any, bytes]:
        """A booking's payload and body with its fingerprint in ``metadata``."""
        assert self._fingerprints is not None
        marked = fingerprinted(payload, fingerprint(self._fingerprints, key))
        if marked is None:
            return payload, body
        return marked, encode_body(marked)

    def _render(
        self, position: Position, source_record: Record, record: Record
    ) -> Request | Rejection:
        problems: list[Problem] = []
        consumed: list[str] = []
        url = self.fixed_url
        if url is None:
            url = self._url(record, source_record, problems, consumed)
        key = self._key(record, source_record, problems) if self.key_fields else None
        credential = None
        if self._accounts is not None:
            credential = self._accounts.choose(record, source_record, problems, consumed)
        payload: Any = None
        warnings: list[str] = []
        if self.has_body:
            payload = self._body(record, consumed, problems, warnings)
        if problems:
            return Rejection(position, tuple(problems), record)
        assert url is not None
        if key and self._fingerprints:
            payload = fingerprinted(payload, fingerprint(self._fingerprints, key)) or payload
        body: bytes | None = None
        if self.has_body:
            try:
                body = encode_body(payload)
            except TypeError as exc:
                return Rejection(position, (_unencodable(exc),), record)
        if key is None and not self.content_keys:
            key = ""
        elif key is None:
            if url is self.fixed_url:
                digest = self._fixed_digest.copy()
            else:
                digest = hashlib.sha256(f"{self.method} {url}\n".encode())
            digest.update(body or b"")
            key = digest.hexdigest()
            if self._fingerprints and body is not None:
                payload, body = self._marked(payload, body, key)
        action = self.action if self._target_at is None else self.action.on(self._target(url))
        if credential is not None and self._accounts is not None:
            url = self._accounts.url_for(credential, url)  # after the key: it stays the same
        return Request(
            method=self.method,
            url=url,
            headers=self.headers,
            body=body,
            payload=payload,
            positions=(position,),
            records=(record,),
            key=key,
            template=self.template_name,
            warnings=tuple(warnings),
            action=action,
            credential=credential,
        )

    def render_batch(self, requests: Sequence[Request]) -> Request:
        """One request whose body is the JSON array of the given requests' bodies."""
        first = requests[0]
        body = b"[" + b",".join(r.body or b"null" for r in requests) + b"]"
        return Request(
            method=first.method,
            url=first.url,
            headers=first.headers,
            body=body,
            payload=[r.payload for r in requests],
            positions=tuple(p for r in requests for p in r.positions),
            records=tuple(rec for r in requests for rec in r.records),
            key=hashlib.sha256("\n".join(r.key for r in requests).encode()).hexdigest(),
            template=first.template,
            warnings=tuple(w for r in requests for w in r.warnings),
            action=first.action,
            credential=first.credential,
        )

    def batch_group(self, request: Request, source_record: Record) -> tuple[str, str]:
        """Which batch a rendered request may join: same URL and same group_by value."""
        batch = self.destination.batch
        group = ""
        if batch is not None and batch.group_by:
            value = _lookup(batch.group_by, request.records[0], source_record)
            group = "" if value is _MISSING else key_value(value)
        if request.credential is not None:  # one account sends a whole batch
            group = f"{group}\x00{request.credential}"
        return request.url, group

    def _url(
        self, record: Record, source: Record, problems: list[Problem], consumed: list[str]
    ) -> str | None:
        pieces: list[str] = []
        ok = True
        for part in self.url_parts:
            if isinstance(part, str):
                pieces.append(part)
                continue
            segment = self._param(part.name, record, source, problems, consumed)
            if segment is None:
                ok = False
                continue
            if unquote(segment) in {".", ".."}:
                problems.append(
                    Problem(part.name, "a path parameter other than '.' or '..'", repr(segment))
                )
                ok = False
                continue
            pieces.append(quote(segment, safe=""))
        if not ok:
            return None
        url = "".join(pieces)
        if not url.startswith(self.prefix):
            problems.append(Problem(None, f"a URL under {self.prefix}", repr(url)))
            return None
        return url

    def _param(
        self,
        name: str,
        record: Record,
        source: Record,
        problems: list[Problem],
        consumed: list[str],
    ) -> str | None:
        label = name
        if self.endpoint is not None:
            label = dict(self.endpoint.path_params).get(name, name)
        spec = self.params.get(name)
        if isinstance(spec, FlowReference):
            return self._reference(name, spec, record, source, problems)
        if spec is None:
            spec = "{" + name + "}"
        return _fill_macros(
            _parse_macros(spec),
            record,
            source,
            problems,
            consumed,
            expected=f"a value for the path parameter {name} ({label})",
            or_else=f", or set destination.params.{name}",
        )

    def _reference(
        self,
        name: str,
        reference: FlowReference,
        record: Record,
        source: Record,
        problems: list[Problem],
    ) -> str | None:
        values: list[str] = []
        for field in reference.key:
            known = len(problems)
            text = self._key_part(field, record, source, problems)
            if text is None and len(problems) > known:
                return None
            if text is None:
                problems.append(
                    Problem(
                        field,
                        f"a value for the key that finds {name} in flow {reference.flow}",
                        "nothing",
                    )
                )
                return None
            values.append(text)
        found = None
        if self.resolve_reference is not None:
            found = self.resolve_reference(reference, tuple(values))
        if found is None:
            hint = (
                f"run flow {reference.flow} first, or check the key"
                if self.resolve_reference is not None
                else f"there is no ledger to look in yet: run flow {reference.flow} first"
            )
            problems.append(
                Problem(
                    name,
                    f"the {reference.field} that flow {reference.flow} recorded for this key",
                    f"no {reference.field} recorded by flow {reference.flow} "
                    f"for key {key_string(values)}",
                    hint,
                )
            )
            return None
        return found

    def _key_part(
        self, field: str, record: Record, source: Record, problems: list[Problem]
    ) -> str | None:
        expression = self._key_expressions.get(field)
        if expression is not None:
            return _key_expression_part(field, expression, record, source, problems)
        if "{" in field:
            pieces: list[str] = []
            for part in _parse_macros(field):
                if isinstance(part, str):
                    pieces.append(part)
                    continue
                value = _lookup(part.name, record, source)
                if value is _MISSING or value is None or value == "":
                    return None
                pieces.append(key_value(value))
            return "".join(pieces)
        value = _lookup(field, record, source)
        if value is _MISSING or value is None or value == "":
            return None
        return key_value(value)

    def _key(self, record: Record, source: Record, problems: list[Problem]) -> str | None:
        values: list[str] = []
        for field in self.key_fields:
            known = len(problems)
            text = self._key_part(field, record, source, problems)
            if text is None and len(problems) > known:
                return None
            if text is None:
                problems.append(
                    Problem(field, "a value for the delivery key", "nothing", "see delivery.key")
                )
                return None
            values.append(text)
        return key_string(values)

    def _body(
        self,
        record: Record,
        consumed: list[str],
        problems: list[Problem],
        warnings: list[str],
    ) -> Any:
        endpoint = self.endpoint
        if endpoint is not None and endpoint.body_rule == "empty":
            return {
                name: record[name]
                for name in endpoint.optional
                if name in record and record[name] not in (None, "")
            }
        body: Record = record
        if self.exclude or consumed or self._lacks_default(record):
            body = _copy_tree(record)
            for path in self.exclude:
                dotted.delete(body, path)
            for path in consumed:
                dotted.delete(body, path)
        if endpoint is None or self.contract is None:
            return body
        for name, value in self.defaults:
            if body.get(name) is None:
                body[name] = value
        found, unknown, told = self.contract.review(body)
        if found:
            problems.extend(found)
        if told:
            warnings.extend(told)
        if unknown:
            if self.unknown_policy == "reject":
                problems.extend(
                    Problem(
                        name,
                        f"a field {endpoint.name} knows",
                        "an unknown field",
                        "map it to a known field, remove it, or set unknown_fields: drop",
                    )
                    for name in unknown
                )
            elif self.unknown_policy == "drop":
                if body is record:
                    body = _copy_tree(record)
                for name in unknown:
                    dotted.delete(body, name)
            else:
                warnings.extend(
                    f"{name}: {endpoint.name} does not know this field; Cal.com drops it "
                    "silently (map it to a known field, or set unknown_fields: drop)"
                    for name in unknown
                )
        return body

    def _lacks_default(self, record: Record) -> bool:
        if not self.defaults:
            return False
        return any(record.get(name) is None for name, _ in self.defaults)
