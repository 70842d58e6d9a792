"""The browser fixtures (tests/support/browser.py) for every web test."""

from tests.support.browser import browser, page, phone, site

__all__ = ["browser", "page", "phone", "site"]
