"""glibc's malloc and Python's collector tuned for table builds."""

from __future__ import annotations

import gc
import platform
import weakref

import pytest

from shared.memory import (
    YOUNG_COLLECTION_THRESHOLD,
    collect_cycles_rarely,
    freeze_loaded_objects,
    keep_freed_memory,
)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_glibc_takes_the_settings() -> None:
    assert keep_freed_memory() is True


def test_young_collections_run_less_often_and_the_threshold_is_never_lowered() -> None:
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        collect_cycles_rarely()
        assert gc.get_threshold() == (YOUNG_COLLECTION_THRESHOLD, 10, 10)
        gc.set_threshold(10 * YOUNG_COLLECTION_THRESHOLD, 10, 10)
        collect_cycles_rarely()
        assert gc.get_threshold()[0] == 10 * YOUNG_COLLECTION_THRESHOLD
    finally:
        gc.set_threshold(*before)


def test_loaded_objects_are_left_out_of_collections_and_garbage_collected_first() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a reference cycle: only the cyclic collector frees it

    gc.unfreeze()
    cycle = weakref.ref(Node())
    kept = [Node() for _ in range(100)]
    try:
        freeze_loaded_objects()
        assert cycle() is None  # collected before freezing, not kept forever
        assert gc.get_freeze_count() >= len(kept)
    finally:
        gc.unfreeze()
