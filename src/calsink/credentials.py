"""Stored Cal.com API keys, and finding the key a flow should use.

Keys live in ``credentials.json`` in the user's config directory (or
``$CALSINK_CONFIG_DIR``), in a directory only the owner may enter and a file only
the owner may read.  Nothing here ever prints, logs or raises with a key in it.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from calsink.flow import DestinationSettings

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CONFIG_DIR_ENV = "CALSINK_CONFIG_DIR"

__all__ = [
    "Credential",
    "CredentialError",
    "CredentialStore",
    "check_api_key_shape",
    "default_config_dir",
    "resolve_api_key",
]


class CredentialError(Exception):
    """A credential that cannot be found, stored or used; the message holds no secret."""


@dataclass(frozen=True, slots=True)
class Credential:
    name: str
    api_key: str = field(repr=False)
    base_url: str | None = None

    def __str__(self) -> str:
        return f"{self.name} ({self.base_url or 'https://api.cal.com'})"


def default_config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get(CONFIG_DIR_ENV):
        return Path(env[CONFIG_DIR_ENV]).expanduser()
    from platformdirs import user_config_dir

    return Path(user_config_dir("calsink"))


class CredentialStore:
    """The owner-only credentials file."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_config_dir()
        self.path = self.directory / "credentials.json"

    def names(self) -> list[str]:
        return sorted(self._read())

    def get(self, name: str) -> Credential:
        entries = self._read()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none yet"
            raise CredentialError(
                f"no stored credential named {name!r} (stored: {known}); "
                f"add it with `calsink credentials add {name}`"
            )
        entry = entries[name]
        return Credential(name=name, api_key=entry["api_key"], base_url=entry.get("base_url"))

    def add(self, name: str, api_key: str, base_url: str | None = None) -> Credential:
        if not NAME_RULE.match(name):
            raise CredentialError(
                f"credential name {name!r} is not allowed: use letters, digits, '.', '_', '-'"
            )
        key = api_key.strip()
        check_api_key_shape(key)
        entries = self._read()
        entries[name] = {"api_key": key, **({"base_url": base_url} if base_url else {})}
        self._write(entries)
        return Credential(name=name, api_key=key, base_url=base_url)

    def remove(self, name: str) -> bool:
        entries = self._read()
        if name not in entries:
            return False
        del entries[name]
        self._write(entries)
        return True

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise CredentialError(f"cannot read {self.path}: {exc.strerror}") from None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise CredentialError(
                f"{self.path} is not valid JSON; remove it and add the credentials again"
            ) from None
        if not isinstance(data, dict):
            raise CredentialError(f"{self.path} does not hold a mapping of credentials")
        return {str(k): dict(v) for k, v in data.items() if isinstance(v, dict)}

    def _write(self, entries: dict[str, dict[str, str]]) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.directory, 0o700)
        handle, temp = tempfile.mkstemp(dir=self.directory, prefix=".credentials.")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=2, sort_keys=True)
            os.replace(temp, self.path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise


def check_api_key_shape(api_key: str) -> None:
    """Refuse values that cannot be a bearer token, without ever echoing them."""
    if not api_key:
        raise CredentialError("the API key is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in api_key):
        raise CredentialError("the API key contains spaces or control characters")


def resolve_api_key(
    destination: DestinationSettings,
    *,
    store: CredentialStore | None = None,
    environ: Mapping[str, str] | None = None,
) -> Credential:
    """The credential a flow's destination names: a stored one, or an environment variable."""
    env = os.environ if environ is None else environ
    if destination.api_key_env:
        value = env.get(destination.api_key_env, "").strip()
        if not value:
            raise CredentialError(
                f"the flow reads its API key from ${destination.api_key_env}, which is not set; "
                f"export it, or use a stored credential (`destination.credential`)"
            )
        check_api_key_shape(value)
        return Credential(name=f"${destination.api_key_env}", api_key=value)
    name = destination.credential or "default"
    return (store or CredentialStore()).get(name)
