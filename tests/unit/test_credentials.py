"""Stored credentials: owner-only, never echoed, and clear when missing."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from tests.support.cli import calsink

from calsink.credentials import CredentialError, CredentialStore, resolve_api_key
from calsink.flow import DestinationSettings

KEY = "cal_test_credtest_8f3a9c0d1e2b"


def cli(config: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CALSINK_CONFIG_DIR": str(config)}
    return calsink("credentials", *args, env=env, stdin=stdin, timeout=60)


def test_add_list_remove_round_trip_without_ever_showing_the_key(tmp_path: Path) -> None:
    added = cli(tmp_path, "add", "prod", stdin=KEY + "\n")
    assert added.returncode == 0, added.stderr
    listed = cli(tmp_path, "list")
    assert "prod" in listed.stdout
    for output in (added.stdout, added.stderr, listed.stdout, listed.stderr):
        assert KEY not in output
    file = tmp_path / "credentials.json"
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert cli(tmp_path, "remove", "prod").returncode == 0
    assert "prod" not in cli(tmp_path, "list").stdout
    missing = cli(tmp_path, "remove", "prod")
    assert missing.returncode == 2
    assert "no stored credential named 'prod'" in missing.stderr


def test_a_key_with_spaces_is_refused_without_echoing_it(tmp_path: Path) -> None:
    result = cli(tmp_path, "add", "bad", stdin="cal_live_ab cd\n")
    assert result.returncode == 2
    assert "spaces or control characters" in result.stderr
    assert "cal_live_ab" not in result.stderr + result.stdout


def test_flow_takes_its_key_from_a_stored_credential_or_the_environment(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.add("default", KEY)
    stored = resolve_api_key(DestinationSettings(template="create-booking"), store=store)
    assert stored.api_key == KEY
    assert KEY not in repr(stored)
    from_env = resolve_api_key(
        DestinationSettings(template="create-booking", api_key_env="MY_KEY"),
        environ={"MY_KEY": KEY},
    )
    assert from_env.api_key == KEY


def test_a_missing_key_says_how_to_provide_it(tmp_path: Path) -> None:
    with pytest.raises(CredentialError, match=r"\$CAL_API_KEY, which is not set"):
        resolve_api_key(
            DestinationSettings(template="create-booking", api_key_env="CAL_API_KEY"), environ={}
        )
    with pytest.raises(CredentialError, match="calsink credentials add ops"):
        resolve_api_key(
            DestinationSettings(template="create-booking", credential="ops"),
            store=CredentialStore(tmp_path),
        )


def test_credentials_test_asks_cal_com_who_the_key_belongs_to(tmp_path: Path, sandbox: Any) -> None:
    assert (
        cli(
            tmp_path, "add", "local", "--base-url", sandbox.url, stdin=sandbox.api_key + "\n"
        ).returncode
        == 0
    )
    works = cli(tmp_path, "test", "local")
    assert works.returncode == 0, works.stderr
    assert "works — demo <demo@example.com>" in works.stdout
    assert (
        cli(
            tmp_path, "add", "wrong", "--base-url", sandbox.url, stdin="cal_test_not_a_real_key\n"
        ).returncode
        == 0
    )
    refused = cli(tmp_path, "test", "wrong")
    assert refused.returncode == 3
    assert "answered 401" in refused.stderr
    assert "cal_test_not_a_real_key" not in refused.stdout + refused.stderr
