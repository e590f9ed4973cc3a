"""A time limit on one call, in the main thread (a signal) or in any other (an async exception).

Both ways interrupt Python code only: a long native call (decoding, c2pa-rs) is
interrupted when it returns to Python. A signal also interrupts a blocking system call
(a sleep, a read); an exception sent to a thread waits until the call comes back.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class DeadlineExceeded(BaseException):  # not an Exception: no handler on the way may swallow it
    """The call took longer than its limit."""


def call_with_deadline(func: Callable[[], T], seconds: float | None) -> T:
    """``func()``, or ``DeadlineExceeded`` once ``seconds`` have passed (None: no limit)."""
    if seconds is None:
        return func()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        return _with_alarm(func, seconds)
    return _with_thread_exception(func, seconds)


def _on_alarm(signum: int, frame: object) -> None:
    raise DeadlineExceeded


def _with_alarm(func: Callable[[], T], seconds: float) -> T:
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return func()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _set_async_exception(thread_id: int, exception: type[BaseException] | None) -> None:
    # None clears an exception that was sent but has not been raised yet.
    import ctypes  # here: only a deadline in a worker thread needs it

    target = ctypes.py_object(exception) if exception is not None else None
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), target)


def _with_thread_exception(func: Callable[[], T], seconds: float) -> T:
    """Signals reach only the main thread (Dask runs tasks in worker threads): a timer
    thread raises ``DeadlineExceeded`` in this one instead, at most once."""
    thread_id = threading.get_ident()
    lock = threading.Lock()
    finished = False

    def expire() -> None:
        with lock:
            if not finished:
                _set_async_exception(thread_id, DeadlineExceeded)

    timer = threading.Timer(seconds, expire)
    timer.daemon = True
    try:
        timer.start()
        try:
            return func()
        finally:
            with lock:
                finished = True
            timer.cancel()
    finally:
        # The timer may have fired just as func returned: the exception is then either
        # raised inside this function (the caller sees a timeout) or is cleared here,
        # so it can never surface later in unrelated code.
        timer.join()
        _set_async_exception(thread_id, None)
