"""One headless Chromium for the run's browser tests: each test gets a context of its own
(cookies, storage and pages of its own, closed after it), not a browser of its own. Starting
Playwright's driver and Chromium, then closing them, took about 1.5 s of every console test."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import Browser, BrowserContext, Playwright, async_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

_driver: Playwright | None = None
_browser: Browser | None = None


async def shared_chromium() -> Browser:
    """The run's Chromium, launched at first use (again if it crashed)."""
    global _driver, _browser
    if _browser is None or not _browser.is_connected():
        await close_shared_chromium()
        _driver = await async_playwright().start()
        _browser = await _driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
    return _browser


@asynccontextmanager
async def browser_context(**options: Any) -> AsyncIterator[BrowserContext]:
    """A new context of the shared Chromium, closed (with its pages) when the block ends."""
    context = await (await shared_chromium()).new_context(**options)
    try:
        yield context
    finally:
        await context.close()


async def close_shared_chromium() -> None:
    global _driver, _browser
    browser, driver, _browser, _driver = _browser, _driver, None, None
    if browser is not None:
        await browser.close()
    if driver is not None:
        await driver.stop()
