"""transform → render (with the contract check), streaming: what validate, preview, test and
run all share, so that each of them sees the same requests and the same rejections."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from calsink.flow import LoadedFlow
from calsink.records import Filtered, Problem, Rejection, Request, SourceItem
from calsink.render import Renderer, ResolveReference
from calsink.transform import RecordError, Transformer

if TYPE_CHECKING:
    from calsink.credentials import CredentialStore

Outcome = Request | Rejection | Filtered


def build_renderer(
    loaded: LoadedFlow,
    resolve_reference: ResolveReference | None = None,
    *,
    content_keys: bool = True,
    fingerprints: bool = True,
    accounts: Mapping[str, str | None] | None = None,
) -> Renderer:
    """The flow's Renderer; RenderConfigError when its destination cannot work.

    ``content_keys=False`` for checking alone: see ``Renderer``; ``fingerprints=False``
    when no body is shown or sent (a booking's ``metadata.calsink_key`` is left out).
    ``accounts`` (name → own base URL) are the credentials a flow whose records choose
    theirs may name; by default, those stored (`calsink credentials list`).
    """
    flow = loaded.flow
    if accounts is None and flow.destination.credential_per_record:
        accounts = stored_accounts()
    return Renderer(
        flow.destination,
        key_fields=flow.delivery.key,
        resolve_reference=resolve_reference,
        content_keys=content_keys,
        fingerprint_flow=flow.name if fingerprints and flow.delivery.fingerprint_bookings else None,
        accounts=accounts,
    )


def stored_accounts(store: CredentialStore | None = None) -> dict[str, str | None]:
    """The stored credentials' names and own base URLs, in ``store`` or the default one
    (no key is read out)."""
    from calsink.credentials import CredentialError, CredentialStore
    from calsink.render import RenderConfigError

    try:
        return (store or CredentialStore()).bases()
    except CredentialError as exc:
        raise RenderConfigError(f"destination.credential: {exc}") from None


def prepare(
    loaded: LoadedFlow,
    items: Iterable[SourceItem],
    *,
    resolve_reference: ResolveReference | None = None,
    renderer: Renderer | None = None,
    transformer: Transformer | None = None,
) -> Iterator[Outcome]:
    """Each source item as a Request, a Rejection or a Filtered, in order.

    With ``destination.batch`` the requests come grouped (same URL, same ``group_by``
    value, at most ``size`` records) and the last partial batches at the end.
    Configuration problems (TransformConfigError, RenderConfigError) are raised before
    the first item is read.
    """
    renderer = renderer or build_renderer(loaded, resolve_reference)
    transformer = transformer or Transformer(loaded.flow.transform)
    where = loaded.flow.transform.where if loaded.flow.transform else None
    left_out = f"where is false: {where}"
    batch = loaded.flow.destination.batch
    apply = transformer.apply
    render = renderer.render
    groups: dict[tuple[str, str], list[Request]] = {}
    for item in items:
        source_record = item.record
        if source_record is None:
            expected = item.expected or "a readable record"
            problem = Problem(None, expected, item.error or "an unreadable row")
            yield Rejection(item.position, (problem,))
            continue
        try:
            record = apply(source_record)
        except RecordError as exc:
            yield Rejection(item.position, tuple(exc.problems), source_record)
            continue
        if record is None:
            yield Filtered(item.position, left_out)
            continue
        outcome = render(item.position, source_record, record)
        if batch is None or not isinstance(outcome, Request):
            yield outcome
            continue
        group = renderer.batch_group(outcome, source_record)
        members = groups.setdefault(group, [])
        members.append(outcome)
        if len(members) >= batch.size:
            del groups[group]
            yield renderer.render_batch(members)
    for members in groups.values():
        yield renderer.render_batch(members)
