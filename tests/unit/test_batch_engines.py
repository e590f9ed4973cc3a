"""What both batch engines share: the per-file function, its Verifier cache and its deadline."""

from __future__ import annotations

import dataclasses
import pickle
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from provenance.batch.deadline import DeadlineExceeded, call_with_deadline
from provenance.batch.task import verifiers_built, verify_file
from provenance.credentials.revocation import Revocation, Revocations
from provenance.kinds.media import Limits
from provenance.report import Verdict
from provenance.verify.verifier import VerifyConfig


def spin(seconds: float) -> str:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # Python bytecode: interruptible between instructions
        pass
    return "finished"


def in_thread(func: Callable[[], Any]) -> Any:
    """``func()`` in a fresh thread (where signals cannot reach), its result or exception."""
    outcome: list[Any] = []

    def target() -> None:
        try:
            outcome.append(func())
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    return outcome[0]


def test_deadline_stops_python_code_in_a_worker_thread() -> None:
    start = time.monotonic()
    outcome = in_thread(lambda: call_with_deadline(lambda: spin(10), 0.2))
    assert isinstance(outcome, DeadlineExceeded)
    assert time.monotonic() - start < 3
    assert in_thread(lambda: call_with_deadline(lambda: spin(0.01), 5)) == "finished"


def test_a_deadline_that_fires_as_the_call_returns_never_escapes_later() -> None:
    def many() -> int:
        timed_out = 0
        for _ in range(300):  # deadline and return race each other
            try:
                call_with_deadline(lambda: spin(0.001), 0.001)
            except DeadlineExceeded:
                timed_out += 1
        spin(0.1)  # a stray exception sent after the fact would be raised here
        return timed_out

    outcome = in_thread(many)
    assert isinstance(outcome, int), outcome


def test_verifier_is_built_once_per_configuration_and_thread(
    image_file: Callable[..., Path],
) -> None:
    path = image_file("a.png", "PNG", size=(32, 32))
    revoked = Revocations((Revocation(7, "lost", None, "test"),))
    config = VerifyConfig(limits=Limits(), revocations=revoked)
    before = verifiers_built()
    for copy in [config, pickle.loads(pickle.dumps(config)), config]:  # as a worker gets it
        assert verify_file(str(path), copy).verdict is Verdict.NONE
    assert verifiers_built() == before + 1
    other = dataclasses.replace(config, limits=Limits(max_file_bytes=10))
    assert verify_file(path, other).verdict is Verdict.ERROR
    assert verifiers_built() == before + 2
    assert in_thread(lambda: verify_file(path, config)).verdict is Verdict.NONE
    assert verifiers_built() == before + 3  # another thread, its own Verifier


def test_a_timed_out_file_in_a_thread_is_an_error_report(
    image_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from provenance.verify.verifier import Verifier

    monkeypatch.setattr(Verifier, "verify_path", lambda self, path: spin(10))
    path = image_file("slow.png", "PNG", size=(32, 32))
    report = in_thread(lambda: verify_file(path, VerifyConfig(), 0.2))
    assert report.verdict is Verdict.ERROR
    assert report.error == "verification took longer than the 0.2-second limit"
