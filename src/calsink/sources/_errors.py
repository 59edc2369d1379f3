"""The error for a source that cannot be read at all."""

from __future__ import annotations


class SourceError(Exception):
    """A source that cannot be used: the message names the file and what to do."""
