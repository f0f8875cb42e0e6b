"""Browser tests: Playwright for Python driving Debian's Chromium (never a browser of Playwright's
own), headless, against pytest-django's live server. Run with `make test-browser`.

Every test that uses `journey` takes a screenshot at each step into test-output/<test>/; the folder
is removed when the test passes (unless KEEP_SCREENSHOTS=1) and kept when it fails. Every page a test opens is watched for
JavaScript errors and Content Security Policy violations, which fail the test.
"""

import os
import re
import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from newsarchive.testing import clear_caches

# Playwright's sync API keeps an asyncio loop in this thread; the ORM calls the tests make to set up
# their data run between browser calls, never inside the loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

from playwright.sync_api import Page, sync_playwright

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
OUTPUT = Path(settings.BASE_DIR) / "test-output"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
TIMEOUT_MS = 15_000


def zh(message: str, **params) -> str:
    """What the site shows for `message` in its own language, Simplified Chinese."""
    with translation.override("zh-hans"):
        text = translation.gettext(message)
    return text % params if params else text


def zh_link(message: str, **params) -> str:
    """The text of the link inside a translated sentence (`<a href=…>text</a>`)."""
    match = re.search(r"<a [^>]*>(.*?)</a>", zh(message, **params))
    assert match, message
    return match.group(1)


def pytest_collection_modifyitems(items):
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.browser)
            # The live server needs committed data; serialized_rollback brings back, after each
            # test's flush, what the migrations created (the Editors and Moderators groups).
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: `apt-get install -y chromium` (or set CHROMIUM=/path/to/it).")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _fresh_state(settings):
    """Each test starts with no rate-limit counts, and hashes passwords quickly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    clear_caches()
    yield
    clear_caches()


class Journey:
    """Browser contexts (a person each) and a screenshot per step."""

    def __init__(self, browser, base_url: str, folder: Path):
        self.browser = browser
        self.base_url = base_url
        self.folder = folder
        self.pages: list[Page] = []
        self.problems: list[str] = []
        self.steps = 0

    def person(self, *, viewport=DESKTOP, locale="zh-CN", bypass_csp=False) -> Page:
        context = self.browser.new_context(
            base_url=self.base_url, viewport=viewport, locale=locale, bypass_csp=bypass_csp
        )
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: self.problems.append(f"JavaScript error: {error}"))
        page.on("console", self._console)
        self.pages.append(page)
        return page

    def _console(self, message):
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            self.problems.append(f"CSP violation at {message.location.get('url')}: {message.text[:160]}")

    def step(self, name: str, page: Page | None = None) -> None:
        page = page or self.pages[-1]
        self.steps += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^\w-]+", "-", name).strip("-")
        page.screenshot(path=str(self.folder / f"{self.steps:02d}-{slug}.png"), full_page=True)

    def close(self):
        for page in self.pages:
            page.context.close()


@pytest.fixture
def journey(browser, live_server, request, settings):
    settings.SITE_URL = live_server.url  # links written outside a request (the status link) point here
    folder = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    shutil.rmtree(folder, ignore_errors=True)
    journey = Journey(browser, live_server.url, folder)
    yield journey
    report = getattr(request.node, "report_call", None)
    failed = report is None or report.failed
    if failed:
        for number, page in enumerate(journey.pages, start=1):
            try:
                journey.folder.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(journey.folder / f"failure-person{number}.png"), full_page=True)
            except Exception:  # noqa: S110 - a closed page has nothing more to show
                pass
    journey.close()
    if not failed:
        assert journey.problems == [], journey.problems
        if not os.environ.get("KEEP_SCREENSHOTS"):
            shutil.rmtree(folder, ignore_errors=True)
