"""Log lines never show a token or key, even one inside an exception's message."""

from __future__ import annotations

import io
import logging

from shared.logs import SecretFilter

TOKEN = "hf_CanaryTokenQ7x9Zt4Lm2Np8Rv5Ws3Ky6"
KEY = "lb_3vQxq0A9Ckq8lT2r7mJb6uPe1sYh5WnF4gZdOaRi-c"


def test_tokens_and_keys_are_masked_in_messages_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(SecretFilter())
    logger = logging.getLogger("test-secret-filter")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("got %s with key %s", TOKEN, KEY)
        try:
            raise ValueError(f"bad token {TOKEN}")
        except ValueError:
            logger.exception("failed")
        logger.warning("a plain line about hf_raise_for_status and lb_jobs")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert TOKEN[3:] not in written and KEY[3:] not in written
    assert written.count("**redacted**") == 3
    assert "a plain line about hf_raise_for_status and lb_jobs" in written
