"""One log format for every service, with anything shaped like a secret masked."""

import logging
import re

from shared.settings import get_settings

SECRET = re.compile(r"\b(hf_|lb_)[A-Za-z0-9_-]{30,}")
"""Hugging Face tokens and this leaderboard's API keys, wherever a message or traceback has one."""


class SecretFilter(logging.Filter):
    """Masks secrets in a record's message and traceback; a second line of defence, since no
    service puts one there on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = SECRET.sub(r"\1**redacted**", message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = SECRET.sub(
                r"\1**redacted**", logging.Formatter().formatException(record.exc_info)
            )
        return True


def configure_logging() -> None:
    logging.basicConfig(
        level=get_settings().log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter())
