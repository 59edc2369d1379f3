"""Stored Cal.com credentials, and finding the one a flow should use.

A credential is an API key (``cal_…``) or an OAuth grant: an access token with its
refresh token, client id and client secret (see docs/credentials.md). They live in
``credentials.json`` in the user's config directory (or ``$CALSINK_CONFIG_DIR``), in a
directory only the owner may enter and a file only the owner may read.  Nothing here
ever prints, logs or raises with a key or a token in it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from calsink.flow import DestinationSettings

NAME_RULE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
CONFIG_DIR_ENV = "CALSINK_CONFIG_DIR"

__all__ = [
    "OAUTH_FIELDS",
    "Credential",
    "CredentialError",
    "CredentialStore",
    "OAuthGrant",
    "check_api_key_shape",
    "default_config_dir",
    "resolve_api_key",
]


class CredentialError(Exception):
    """A credential that cannot be found, stored or used; the message holds no secret."""


OAUTH_FIELDS = ("access_token", "refresh_token", "client_id", "client_secret")


@dataclass(frozen=True, slots=True)
class OAuthGrant:
    """An OAuth access token, what renews it, and when it expires (epoch seconds; None
    when unknown: then only a 401 tells)."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    expires_at: float | None = None

    def secrets(self) -> tuple[str, ...]:
        return (self.access_token, self.refresh_token, self.client_secret)


@dataclass(frozen=True, slots=True)
class Credential:
    """A stored credential; for an OAuth one ``api_key`` is its current access token."""

    name: str
    api_key: str = field(repr=False)
    base_url: str | None = None
    oauth: OAuthGrant | None = field(default=None, repr=False)

    @property
    def kind(self) -> Literal["api_key", "oauth"]:
        return "api_key" if self.oauth is None else "oauth"

    def __str__(self) -> str:
        shown = "OAuth" if self.oauth is not None else "API key"
        return f"{self.name} ({self.base_url or 'https://api.cal.com'}, {shown})"


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

    def bases(self) -> dict[str, str | None]:
        """Each stored credential's name and its own base URL (None: the flow's); no key."""
        return {name: entry.get("base_url") for name, entry in sorted(self._read().items())}

    def all(self) -> dict[str, Credential]:
        """Every stored credential by name (for a flow whose records choose theirs)."""
        return {name: self.get(name) for name in self.names()}

    def get(self, name: str) -> Credential:
        entries = self._read()
        if name not in entries:
            known = ", ".join(sorted(entries)) or "none yet"
            raise CredentialError(
                f"no stored credential named {name!r} (stored: {known}); "
                f"add it with `calsink credentials add {name}`"
            )
        return _credential(name, entries[name])

    def add(self, name: str, api_key: str, base_url: str | None = None) -> Credential:
        check_name(name)
        key = api_key.strip()
        check_api_key_shape(key)
        with self._locked():
            entries = self._read()
            entries[name] = {"api_key": key, **({"base_url": base_url} if base_url else {})}
            self._write(entries)
        return Credential(name=name, api_key=key, base_url=base_url)

    def add_oauth(self, name: str, grant: OAuthGrant, base_url: str | None = None) -> Credential:
        """Store an OAuth grant under ``name`` (replacing what was there)."""
        check_name(name)
        check_grant(grant)
        with self._locked():
            entries = self._read()
            entries[name] = _oauth_entry(grant, base_url)
            self._write(entries)
        return Credential(name, grant.access_token, base_url, grant)

    def renew(self, name: str, grant: OAuthGrant) -> None:
        """Replace the tokens of the OAuth credential ``name`` in one atomic write."""
        check_grant(grant)
        with self._locked():
            entries = self._read()
            base_url = entries.get(name, {}).get("base_url")
            entries[name] = _oauth_entry(grant, base_url)
            self._write(entries)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Writers (two runs renewing tokens, an add) take turns over the file."""
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = os.open(self.directory / ".credentials.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield
        finally:
            os.close(lock)

    def remove(self, name: str) -> bool:
        entries = self._read()
        if name not in entries:
            return False
        with self._locked():
            entries = self._read()
            entries.pop(name, None)
            self._write(entries)
        return True

    def _read(self) -> dict[str, dict[str, Any]]:
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

    def _write(self, entries: dict[str, dict[str, Any]]) -> None:
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


def check_name(name: str) -> None:
    if not NAME_RULE.match(name):
        raise CredentialError(
            f"credential name {name!r} is not allowed: use letters, digits, '.', '_', '-'"
        )


def check_grant(grant: OAuthGrant) -> None:
    """Refuse an OAuth grant with a missing or malformed part, naming the part only."""
    for part in OAUTH_FIELDS:
        value = getattr(grant, part)
        if not value:
            raise CredentialError(f"the OAuth {part} is empty")
        if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise CredentialError(f"the OAuth {part} contains spaces or control characters")


def _oauth_entry(grant: OAuthGrant, base_url: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": "oauth", **{p: getattr(grant, p) for p in OAUTH_FIELDS}}
    if grant.expires_at is not None:
        entry["expires_at"] = grant.expires_at
    if base_url:
        entry["base_url"] = base_url
    return entry


def _credential(name: str, entry: Mapping[str, Any]) -> Credential:
    base_url = entry.get("base_url")
    if entry.get("kind") != "oauth":
        return Credential(name=name, api_key=str(entry.get("api_key", "")), base_url=base_url)
    missing = [part for part in OAUTH_FIELDS if not isinstance(entry.get(part), str)]
    if missing:
        raise CredentialError(
            f"the stored OAuth credential {name!r} lacks {', '.join(missing)}; "
            f"add it again with `calsink credentials add {name} --oauth`"
        )
    expires = entry.get("expires_at")
    grant = OAuthGrant(
        access_token=entry["access_token"],
        refresh_token=entry["refresh_token"],
        client_id=entry["client_id"],
        client_secret=entry["client_secret"],
        expires_at=float(expires) if isinstance(expires, int | float) else None,
    )
    return Credential(name, grant.access_token, base_url, grant)


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
    if destination.credential_per_record:
        raise CredentialError(
            f"destination.credential {destination.credential!r} is chosen per record: "
            "each record is sent with the stored credential it names"
        )
    name = destination.credential or "default"
    return (store or CredentialStore()).get(name)
