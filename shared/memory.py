"""Memory settings of the processes that build tables: glibc's malloc and Python's collector.

Keep freed heap memory in the process, so large numpy buffers are not page-faulted anew.

glibc serves large allocations with fresh `mmap`s and gives freed memory back to the OS at
once; a table build allocates and frees tens of megabytes of arrays, and touching those pages
again costs as much as the arithmetic on them (measured: the bootstrap of MTEB(eng, v2) takes
40 ms with glibc's defaults, 17 ms with these settings). Services that compute tables call
`keep_freed_memory` once at start; the process then keeps its peak heap (tens of MiB) instead
of returning it between builds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
LARGEST_HEAP_ALLOCATION = 32 * 2**20
"""glibc's largest mmap threshold on 64-bit systems: larger arrays are still mmapped."""
KEPT_FREE = 256 * 2**20


def keep_freed_memory() -> bool:
    """Tune glibc's malloc to serve arrays up to 32 MiB from the heap and keep up to 256 MiB
    free in it; whether it took (False where the C library is not glibc)."""
    path = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(path or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        log.info("not glibc: freed memory goes back to the OS as the C library decides")
        return False
    settings = (
        (M_MMAP_THRESHOLD, LARGEST_HEAP_ALLOCATION),
        (M_TRIM_THRESHOLD, KEPT_FREE),
        (M_TOP_PAD, 16 * 2**20),
    )
    return all(mallopt(option, value) == 1 for option, value in settings)


YOUNG_COLLECTION_THRESHOLD = 20_000


def collect_cycles_rarely() -> None:
    """Run the cyclic garbage collector's youngest generation every 20,000 net allocations of
    container objects instead of Python's 700 (reference counting still frees objects at once).

    A table build allocates thousands of row lists that live until the table is stored; at
    700, young collections walk them, and move them into older generations that are walked
    again (measured: 2 ms of a 40 ms live update). Few of our objects are in cycles.
    """
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), middle, old)


def freeze_loaded_objects() -> None:
    """Leave every object alive now out of later cyclic collections (`gc.freeze`), after one
    last collection.

    For a process that has just loaded its long-lived state (a mirror of the store's results:
    hundreds of thousands of objects), which each full collection would otherwise walk again:
    240 ms, measured, landing in the middle of a live update. Frozen objects are still freed by
    reference counting when dropped.
    """
    gc.collect()
    gc.freeze()
