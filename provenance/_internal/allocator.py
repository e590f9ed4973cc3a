"""Keep freed memory for reuse instead of handing it back to the kernel at once.

The watermark engine allocates and frees arrays of a few megabytes many times per image.
glibc serves each such array with a fresh ``mmap`` (or trims the heap top after a large
free), so every one of them costs a page fault per 4 KiB page on its first write; on the
virtual machines this toolkit is measured on that was the larger part of a watermark
check of an unmarked photo (bench/batch.py). Raising the two thresholds makes glibc keep
the memory in its heap: peak memory is unchanged, it is simply not returned between
images. A process that owns its lifetime (the CLI, its workers, the server) opts in; a
library import never changes the allocator of its host.
"""

from __future__ import annotations

import ctypes
import logging
import sys

log = logging.getLogger(__name__)

# mallopt(3) parameters
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: Arrays up to this size come from the heap and are reused (glibc caps the value at
#: HEAP_MAX_SIZE/2 on 64-bit, 32 MiB: larger arrays, e.g. a 12 MP image, still use mmap).
_THRESHOLD = 32 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Tune glibc's allocator for this process (a no-op elsewhere); True when it took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        # The process's own symbols, libc's among them: ctypes.util.find_library would
        # run ldconfig in a child process, at every start-up of the CLI.
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl has no mallopt)
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, 4 * _THRESHOLD)
    )
    log.debug("allocator keeps freed memory: %s", done)
    return done
