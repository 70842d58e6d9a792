"""glibc's malloc tuning for table builds."""

from __future__ import annotations

import platform

import pytest

from shared.memory import keep_freed_memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt only")
def test_glibc_takes_the_settings() -> None:
    assert keep_freed_memory() is True
