"""Sealing a submitter's Hub token for the evaluators (owned by the submission work, issue 3)."""

from __future__ import annotations


def seal_token(token: str) -> str:
    """`token` encrypted with the installation's secret key, for `Job.sealed_token`."""
    raise NotImplementedError


def open_token(sealed: str) -> str:
    """The token inside `sealed`; raises ValueError when it cannot be opened."""
    raise NotImplementedError
