"""Many files at once: walking inputs, ``verify_many`` and ``sign_many`` on the parallel
engines (``local``: this process or a process pool; ``dask``: a Dask cluster) and the
per-file jobs they run (``job``, ``task`` verifies, ``signing`` signs through a signing
session per worker; ``outputs``: where signed copies go and what became of each input).

May import: verify, signing, credentials, kinds, report, errors, _internal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from provenance._internal.lazy import lazy_attributes

if TYPE_CHECKING:
    from provenance._internal.allocator import keep_freed_memory
    from provenance.batch.local import WORKERS_PER_CPU, max_workers
    from provenance.batch.many import (
        count_files,
        iter_files,
        paths_from_lines,
        sign_many,
        verify_many,
    )
    from provenance.batch.outputs import SignOutcome, SignStatus

__all__ = [
    "WORKERS_PER_CPU",
    "SignOutcome",
    "SignStatus",
    "count_files",
    "iter_files",
    "keep_freed_memory",
    "max_workers",
    "paths_from_lines",
    "sign_many",
    "verify_many",
]

__getattr__ = lazy_attributes(
    __name__,
    {
        "keep_freed_memory": "provenance._internal.allocator",
        "WORKERS_PER_CPU": "provenance.batch.local",
        "SignOutcome": "provenance.batch.outputs",
        "SignStatus": "provenance.batch.outputs",
        "count_files": "provenance.batch.many",
        "iter_files": "provenance.batch.many",
        "max_workers": "provenance.batch.local",
        "paths_from_lines": "provenance.batch.many",
        "sign_many": "provenance.batch.many",
        "verify_many": "provenance.batch.many",
    },
)
