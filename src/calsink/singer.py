"""calsink as a Singer target: ``tap-x | target-calsink --config config.json``.

Built on the Meltano Singer SDK (the extra ``calsink[singer]``). The config maps each
stream to a flow::

    {"flows": {"leads": "flows/bookings.yaml", "vips": {...a flow as JSON...}},
     "flow": "flows/default.yaml",          # for any stream not in `flows`
     "api_key": "cal_live_...",             # optional: else the flow's own credential
     "base_url": "https://api.cal.com",     # optional: else the flow's
     "dry_run": false}                      # true: render and check, send nothing

Each batch of a stream's records is one `calsink.run` of its flow. The SDK writes a tap's
STATE only after every batch received before it was processed, and a batch is processed
only when that run has returned, so a STATE reaches the next stage only once the ledger
holds the outcome of every record it covers. A record that did not get through is in the
flow's dead letters (``calsink retry``); a run that could not go on (a wrong API key, the
flow already running elsewhere) stops the target before the STATE.

A stream's ``key_properties`` become the flow's ``delivery.key`` when the flow has none;
one of the two is required (a tap sends records again after a restart). Each SCHEMA is
checked against what the flow's map reads (or, without a map, the fields the template
requires): a field the stream does not have stops the target, naming both.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from singer_sdk import Target
from singer_sdk.sinks import BatchSink

from calsink._api import load, run, template
from calsink.flow import LoadedFlow
from calsink.records import Position
from calsink.runner import RunError
from calsink.sources._values import plain

__all__ = ["CalsinkSink", "SchemaMismatch", "TargetCalsink"]

_FLOW_VALUE = {"type": ["string", "object"]}
_MACRO = re.compile(r"\{([^{}]+)\}")


class SchemaMismatch(ValueError):
    """A stream's SCHEMA lacks a field its flow needs, or gives no key."""


class CalsinkSink(BatchSink):
    """One stream's records, sent through its flow a batch at a time."""

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        super().__init__(target, stream_name, schema, key_properties)
        config = dict(target.config)
        self.flow = flow_for_stream(config, stream_name, key_properties)
        check_schema(self.flow, stream_name, schema)
        self._positions = itertools.count()

    def process_batch(self, context: dict[str, Any]) -> None:
        rows = [
            (Position(self.stream_name, next(self._positions)), _record(record))
            for record in context.get("records", [])
        ]
        if not rows:
            return
        dry_run = bool(self.config.get("dry_run"))
        api_key = self.config.get("api_key")
        report = run(
            self.flow,
            rows,
            api_key=api_key,  # run() resolves the flow's credential when this is None
            base_url=self.config.get("base_url"),
            dry_run=dry_run,
        )
        if report.aborted:
            raise RunError(
                f"stream {self.stream_name!r}, flow {self.flow.flow.name!r}: the run stopped: "
                f"{report.aborted}; no STATE is written for its records"
            )
        summary = report.summary
        if summary.not_through:
            self.logger.warning(
                "stream %r: %d of %d record(s) did not get through (%s); see `calsink status` "
                "and the flow's dead letters, `calsink retry` sends them again",
                self.stream_name,
                summary.not_through,
                summary.read,
                ", ".join(f"{name} {n}" for name, n in summary.to_json().items() if n),
            )

    def start_batch(self, context: dict[str, Any]) -> None:
        context["records"] = []

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        context.setdefault("records", []).append(record)


def _record(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        str(name): plain(value) for name, value in record.items() if not name.startswith("_sdc_")
    }


def flow_for_stream(
    config: Mapping[str, Any], stream: str, key_properties: Sequence[str] | None
) -> LoadedFlow:
    """The stream's flow, with ``key_properties`` as its key when it names none."""
    flows = config.get("flows") or {}
    given = flows.get(stream, config.get("flow"))
    if given is None:
        named = ", ".join(sorted(flows)) or "none"
        raise SchemaMismatch(
            f"stream {stream!r} has no flow: add it to `flows` in the target's config, or set "
            f"`flow` for every stream (streams with a flow: {named})"
        )
    loaded = load(given)
    if loaded.flow.delivery.key:
        return loaded
    if not key_properties:
        raise SchemaMismatch(
            f"stream {stream!r}: flow {loaded.flow.name!r} has no `delivery.key` and the "
            "stream no key_properties; set one of them (the fields that make a record the "
            "same across runs), since a tap sends records again after a restart"
        )
    delivery = loaded.flow.delivery.model_copy(update={"key": list(key_properties)})
    flow = loaded.flow.model_copy(update={"delivery": delivery})
    return LoadedFlow(flow=flow, path=loaded.path, base_dir=loaded.base_dir)


def check_schema(loaded: LoadedFlow, stream: str, schema: Mapping[str, Any]) -> None:
    """SchemaMismatch naming each field the flow reads that the stream's SCHEMA lacks."""
    properties = sorted(str(name) for name in (schema.get("properties") or {}))
    needed = _fields_needed(loaded)
    missing = [name for name in needed if name.split(".", 1)[0] not in properties]
    if missing:
        raise SchemaMismatch(
            f"stream {stream!r}: flow {loaded.flow.name!r} reads "
            f"{', '.join(f'`{name}`' for name in missing)}, which the stream's SCHEMA does not "
            f"have (it has: {', '.join(properties) or 'no properties'}); map another field "
            "in the flow's transform, or select it in the tap"
        )


def _fields_needed(loaded: LoadedFlow) -> list[str]:
    from calsink.transform import RecordError, Transformer

    settings = loaded.flow.transform
    if settings is None or settings.map is None:
        return _template_required(loaded)
    try:
        Transformer(settings.model_copy(update={"where": None})).apply({})
    except RecordError as error:
        return sorted(
            {
                problem.expected.split("`")[1]
                for problem in error.problems
                if problem.expected.startswith("a field `")
            }
        )
    return []


def _template_required(loaded: LoadedFlow) -> list[str]:
    """Without a map the record is the body: the template's required fields, and the fields
    its path parameters read (``params: {uid: "{booking_uid}"}``)."""
    destination = loaded.flow.destination
    needed = set(template(destination.template).required) if destination.template else set()
    for value in destination.params.values():
        if isinstance(value, str):
            needed.update(name.strip() for name in _MACRO.findall(value))
    return sorted(needed)


class TargetCalsink(Target):
    """Singer target that sends each stream's records to Cal.com through a calsink flow."""

    name = "target-calsink"
    package_name = "calsink"
    default_sink_class = CalsinkSink
    config_jsonschema: ClassVar[dict[str, Any]] = {
        "type": "object",
        "properties": {
            "flows": {
                "type": "object",
                "additionalProperties": _FLOW_VALUE,
                "description": "Stream name → flow: a flow file's path, or the flow as an object.",
            },
            "flow": {**_FLOW_VALUE, "description": "The flow for any stream not in `flows`."},
            "api_key": {
                "type": "string",
                "secret": True,
                "description": "Cal.com API key; default: the flow's own credential.",
            },
            "base_url": {
                "type": "string",
                "description": "Send elsewhere than the flow's destination.base_url.",
            },
            "dry_run": {
                "type": "boolean",
                "description": "Read, render and check every record; send nothing.",
            },
        },
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # one stream at a time: two streams may share a flow, and a flow runs once at a time
        self.max_parallelism = 1
