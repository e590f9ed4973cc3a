"""The server's worker limits and settings, without HTTP."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

pytest.importorskip("fastapi")

from provenance.errors import UnsupportedMedia, UsageError
from provenance.server.errors import ApiError
from provenance.server.settings import ServerSettings, create_token, hash_token


def test_a_slow_job_is_504_and_keeps_its_slot_until_done() -> None:
    from provenance.server._services import Workers

    release = threading.Event()

    async def scenario() -> None:
        workers = Workers(size=1, timeout=0.05)
        with pytest.raises(ApiError) as slow:
            await workers.run(release.wait)
        assert slow.value.status == 504
        with pytest.raises(ApiError) as busy:  # the slow thread still holds the only slot
            await workers.run(lambda: 1)
        assert busy.value.status == 503
        assert busy.value.headers == {"Retry-After": "1"}
        release.set()
        for _ in range(100):
            await asyncio.sleep(0.01)
            try:
                assert await workers.run(lambda: 2) == 2
                break
            except ApiError:
                continue
        else:
            pytest.fail("the slot was never released")
        workers.shutdown()

    asyncio.run(scenario())


@pytest.mark.parametrize(
    ("error", "status"), [(UnsupportedMedia("x"), 415), (UsageError("x"), 422)]
)
def test_library_errors_map_to_statuses(error: Exception, status: int) -> None:
    from provenance.server._services import Workers

    def fail() -> None:
        raise error

    async def scenario() -> None:
        with pytest.raises(ApiError) as caught:
            await Workers(size=1, timeout=5).run(fail)
        assert caught.value.status == status

    asyncio.run(scenario())


@pytest.mark.parametrize(
    "field", [{"max_upload_bytes": 0}, {"request_timeout_seconds": 0}, {"max_concurrency": 0}]
)
def test_settings_are_validated(tmp_path: Path, field: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ServerSettings(home=tmp_path, **field)  # type: ignore[arg-type]


def test_tokens(tmp_path: Path) -> None:
    token = create_token(tmp_path, "alice")
    settings = ServerSettings.from_home(tmp_path)
    assert settings.token_hashes == {hash_token(token): "alice"}
    assert settings.token_name(token) == "alice"
    assert settings.token_name(token + "x") is None
    with pytest.raises(UsageError, match="already exists"):
        create_token(tmp_path, "alice")
    with pytest.raises(UsageError, match="one word"):
        create_token(tmp_path, "two words")
