"""What `calsink retry` resends: records as the source holds them, never a screened copy.

Dead letters and the ledger keep records with their secrets hidden (``[redacted]``). A
record kept that way is read again from the source at its position, and must be the same
record there, so that what is resent — and the key it is resent under — is never the
hidden copy. When the source no longer holds it, the record is not resent, and the user
is told to fix it in the source and run the flow again.
"""

from __future__ import annotations

from typing import Any

import orjson

from calsink.flow import LoadedFlow
from calsink.records import Record, SourceItem
from calsink.redact import SCREENED


def unscreened(loaded: LoadedFlow, items: list[SourceItem]) -> tuple[list[SourceItem], list[str]]:
    """The items to resend, each as the source holds it, and why the others are not sent."""
    screened = {str(item.position) for item in items if _is_screened(item.record)}
    if not screened:
        return items, []
    originals = _source_records(loaded, screened)
    kept: list[SourceItem] = []
    refused: list[str] = []
    for item in items:
        original = originals.get(str(item.position))
        if str(item.position) not in screened:
            kept.append(item)
        elif original is not None and _screened_copy_of(item.record, original):
            kept.append(SourceItem(item.position, original))
        else:
            refused.append(
                f"{item.position}: not resent — calsink keeps this record with a secret "
                "hidden, and the source no longer holds it there as it was; fix the record "
                "in the source and run the flow again (`calsink run`)"
            )
    return kept, refused


def _is_screened(record: Any) -> bool:
    return SCREENED.encode() in orjson.dumps(record)


def _source_records(loaded: LoadedFlow, wanted: set[str]) -> dict[str, Record]:
    """The records of the flow's file at these positions (none when it cannot be read)."""
    from calsink.sources import open_source

    settings = loaded.flow.source
    found: dict[str, Record] = {}
    if settings.calcom is not None or settings.path in (None, "-"):
        return found
    try:
        for item in open_source(settings, loaded.base_dir):
            if str(item.position) in wanted and item.record is not None:
                found[str(item.position)] = item.record
                if len(found) == len(wanted):
                    break
    except Exception:  # an unreadable source holds no record: each is reported as not resent
        return found
    return found


def _screened_copy_of(stored: Any, original: Any) -> bool:
    """Whether ``stored`` is ``original`` with some secrets replaced by SCREENED."""
    if isinstance(stored, dict):
        return (
            isinstance(original, dict)
            and stored.keys() == original.keys()
            and all(_screened_copy_of(stored[k], original[k]) for k in stored)
        )
    if isinstance(stored, list):
        return (
            isinstance(original, list)
            and len(stored) == len(original)
            and all(_screened_copy_of(s, o) for s, o in zip(stored, original, strict=True))
        )
    if isinstance(stored, str) and SCREENED in stored and stored != original:
        return stored == SCREENED or _fits(stored.split(SCREENED), str(original))
    return bool(stored == original)


def _fits(pieces: list[str], text: str) -> bool:
    """Whether ``text`` is ``pieces`` joined with something in place of each separator."""
    if not (text.startswith(pieces[0]) and text.endswith(pieces[-1])):
        return False
    at = len(pieces[0])
    for piece in pieces[1:-1]:
        found = text.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return at <= len(text) - len(pieces[-1])
