"""The browser fixtures (tests/support/browser.py) for the API docs' browser test."""

from tests.support.browser import browser, page

__all__ = ["browser", "page"]
