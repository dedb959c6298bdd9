"""The cache of valid API keys (notary.service.apikeys.KEY_CACHE_SECONDS): a revocation made
in this process takes effect at once; one made elsewhere (another process writing the row)
within the cache's lifetime, never later; expiry is checked on every request."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from notary.service import apikeys
from notary.service.apikeys import AuthError, authenticate, create_key, revoke_key
from storage.db import ApiKey, session
from storage.migrate import open_database


def _engine(tmp_path: Path) -> Engine:
    return open_database(f"sqlite:///{tmp_path / 'keys.db'}")


def _code(engine: Engine, token: str) -> str:
    try:
        authenticate(engine, token)
    except AuthError as exc:
        return exc.code
    return "ok"


def test_revocation_here_takes_effect_at_once(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    row, token = create_key(engine, "collector")
    assert _code(engine, token) == "ok" and _code(engine, token) == "ok"  # now cached
    revoke_key(engine, row.id)
    assert _code(engine, token) == "api_key_revoked"


def test_revocation_elsewhere_takes_effect_within_the_bound(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = _engine(tmp_path)
    row, token = create_key(engine, "collector")
    assert _code(engine, token) == "ok"
    with session(engine) as s:  # what `notary admin revoke` in another process does
        s.exec(update(ApiKey).where(ApiKey.id == row.id)  # type: ignore[arg-type]
               .values(revoked_at=datetime.now(UTC)))
        s.commit()
    assert _code(engine, token) == "ok"  # still believed, for at most KEY_CACHE_SECONDS
    later = time.monotonic() + apikeys.KEY_CACHE_SECONDS
    monkeypatch.setattr(apikeys.time, "monotonic", lambda: later)
    assert _code(engine, token) == "api_key_revoked"


def test_expiry_is_checked_on_a_cached_key(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _row, token = create_key(engine, "collector",
                             expires_at=datetime.now(UTC) + timedelta(milliseconds=300))
    assert _code(engine, token) == "ok"
    deadline = time.monotonic() + 5
    while _code(engine, token) == "ok" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _code(engine, token) == "api_key_expired"


def test_a_wrong_secret_for_a_cached_key_is_refused(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    _row, token = create_key(engine, "collector")
    assert _code(engine, token) == "ok"
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _code(engine, forged) == "api_key_invalid"
