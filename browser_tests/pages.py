"""Every public page and form, reached in the browser, for the accessibility and validity checks.

`visit_all(page)` opens each one in turn (submitting forms where the page is a form's answer) and
yields (name, HTML source as served). Add a page here and both checks cover it."""

import re
from collections.abc import Iterator
from datetime import datetime
from unittest import mock

from django.contrib.auth.models import User
from django.core import mail
from django.db import OperationalError
from playwright.sync_api import Page

from articles.keyphrases import related_compute
from articles.models import SHANGHAI, Category
from articles.stories import stories_place
from articles.tests.helpers import make_category, make_related_link, make_snapshot, make_source
from articles.tests.stories_data import ORIGINAL, REBYLINED, SAME_TOPIC, TRIMMED
from moderation import services
from moderation.models import TakedownRequest
from moderation.tests.helpers import make_request, make_submission
from newsarchive.testing import run_tasks
from subscriptions.emails import unsubscribe_token

from .conftest import zh

# A complete removal request and counter-notice, typed by label (the journeys type their own).
REMOVAL_REQUEST = {
    "Your name": "王五",
    "Email": "pages@example.org",
    "Phone": "+86 10 6307 1234",
    "Postal address": "北京市西城区宣武门西大街 57 号",
    "The work": "《鲁西新区发展报道》，作者王五",
    "Why it infringes": "该快照全文转载了我方享有著作权的报道。",
    "Proof of your rights": "著作权登记号 2023-L-000123",
    "Signature": "王五",
}
COUNTER_NOTICE = {
    "Your name": "李四",
    "Email": "uploader@example.net",
    "Phone": "+86 21 8765 4321",
    "Postal address": "上海市黄浦区某街 2 号",
    "Why the removal was a mistake": "该报道是公开的政府新闻稿，不构成侵权。",
    "Signature": "李四",
}


def field(page: Page, label: str):
    """The form control labelled `label` (the site's own language), with or without the colon Django adds."""
    return page.get_by_label(re.compile("^" + re.escape(zh(label)) + "[:：]?$"))


def fill(page: Page, values: dict[str, str]) -> None:
    """Type each value into its labelled field and tick every statement (checkbox) of the form."""
    for label, value in values.items():
        field(page, label).fill(value)
    for checkbox in page.locator("main").get_by_role("checkbox").all():
        checkbox.check()


def build_archive() -> dict:
    """A small archive with every kind of page: snapshots with related links, a withheld one with
    its public record, and a request with a private status page."""
    caijing = make_category("财经", "caijing")
    make_category("科技", "keji")
    source = make_source("人民资讯")
    published = [
        make_snapshot(
            title=f"鲁西新区发展报道第 {n} 篇",
            category=caijing,
            source=source,
            reprinted_from="人民网-山东频道",
            byline="孙安琪 王燕",
            original_url=f"https://news.example.com/{n}.html",
            published_at=datetime(2024, 3, n, 9, 0, tzinfo=SHANGHAI),
            body="<p>鲁西新区坚持生态优先。</p><table><caption>数据</caption><tr><th scope=col>年</th><td>2024</td></tr></table>",
        )
        for n in range(1, 6)
    ]
    make_related_link(published[0], title=published[1].title, excerpt="相关摘要", target=published[1])
    make_related_link(published[0], title="", excerpt="外部摘要", url="https://other.example.com/x.html")
    # A story of three reprints and an article on the same topic: reprints and computed related news.
    keji = Category.objects.get(slug="keji")
    reprints = [
        make_snapshot(
            title=f"鲁西新区以环境之“优”谋发展之“势”（转载 {n}）",
            category=keji,
            source=make_source(f"转载网站 {n}"),
            reprinted_from="人民网-山东频道" if n else "",
            published_at=datetime(2024, 4, 1 + n, 9, 0, tzinfo=SHANGHAI),
            body=body,
        )
        for n, body in enumerate([ORIGINAL, TRIMMED, REBYLINED])
    ]
    same_topic = make_snapshot(title="鲁西新区营商环境持续优化", category=keji, source=source, body=SAME_TOPIC[0])
    stories_place(snapshot_ids=[s.pk for s in [*reprints, same_topic]])
    related_compute(snapshot_ids=[s.pk for s in [*reprints, same_topic]])
    withheld = make_snapshot(title="已屏蔽的快照", category=caijing, source=source)
    decided = make_request(withheld, status=TakedownRequest.Status.APPROVED)
    receipt = services.takedown_submit(submission=make_submission(published[2], email="status@example.org"))
    return {
        "snapshot": published[0],
        "reprint": reprints[1],
        "other": published[3],
        "withheld": withheld,
        "decided": decided,
        "status_token": receipt.token,
    }


def visit_all(page: Page, archive: dict, settings) -> Iterator[tuple[str, str]]:
    """`settings` is pytest-django's fixture: the rate-limit page is reached by lowering the limit."""
    snapshot, withheld = archive["snapshot"], archive["withheld"]

    def get(name: str, path: str, status: int = 200):
        response = page.goto(path)
        assert response.status == status, f"{name}: {path} answered {response.status}"
        return name, response.text()

    def submit(name: str, button: str):
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name=button).click()
        return name, navigation.value.text()

    yield get("home", "/")
    yield get("category", "/category/caijing/")
    yield get("category, filtered", "/category/caijing/?published_after=2024-03-02&published_before=2024-03-04")
    yield get("category, filter errors", "/category/caijing/?published_after=2024-13-45&source=nope")
    yield get("snapshot", snapshot.get_absolute_url())
    yield get("snapshot with reprints and computed related news", archive["reprint"].get_absolute_url())
    yield get("category, one entry per story", "/category/keji/?stories=1")
    yield get("search results, one entry per story", "/search/?q=鲁西新区&stories=1")
    yield get("withheld snapshot (451)", withheld.get_absolute_url(), status=451)
    yield get("removal form", "/takedown/new/")
    yield submit("removal form with errors", zh("Send the removal request"))
    origin = page.url.split("/takedown/")[0]
    fill(page, REMOVAL_REQUEST | {"Snapshot addresses": origin + archive["other"].get_absolute_url()})
    page.get_by_role("radio", name=zh("the rights holder"), exact=True).check()
    yield submit("removal request received", zh("Send the removal request"))
    yield get("status page", f"/takedown/status/{archive['status_token']}/")
    yield submit("status page, withdrawal with errors", zh("Withdraw"))
    yield get("counter-notice form", f"/takedown/counter/?url={origin}{withheld.get_absolute_url()}")
    yield submit("counter-notice form with errors", zh("Send the counter-notice"))
    fill(page, COUNTER_NOTICE)
    yield submit("counter-notice received", zh("Send the counter-notice"))
    yield get("search", "/search/")
    yield get("search results", "/search/?q=新区")
    yield get("search results, filtered and by relevance", "/search/?q=发展&order=relevance&published_after=2024-03-02")
    yield get("search, nothing found", "/search/?q=不存在的词语")
    yield get("search, refused query", "/search/?q=新&published_after=2024-99-99")
    yield get("transparency", "/transparency/")
    yield get("transparency, one reference", f"/transparency/?reference={archive['decided'].reference}")
    yield get("not found", "/category/no-such-category/", status=404)
    with mock.patch("articles.caching.archive_version", side_effect=OperationalError("the database went away")):
        yield get("database away (503)", "/", status=503)
    yield from account_pages(page, get, submit)
    settings.TAKEDOWN_RATE_LIMIT = 0
    page.goto("/takedown/new/")
    yield submit("too many requests (429)", zh("Send the removal request"))
    yield get("admin log-in", "/admin/login/")
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        page.get_by_label(re.compile("^" + zh("username"))).fill("chief")
        page.get_by_label(re.compile("^" + zh("password"))).fill("guess")
        name, html = submit("log-in locked out (429)", zh("Log in"))
    assert "429" in name and page.get_by_role("heading", level=1).count() == 1
    yield name, html


def mailed_link(pattern: str) -> str:
    """The link matching `pattern` in the last email sent, once the worker has sent what is queued
    (the site queues every email in the outbox; the worker's own loop sends it, as in production)."""
    run_tasks()
    return re.search(pattern, mail.outbox[-1].body).group(0)


def account_pages(page: Page, get, submit) -> Iterator[tuple[str, str]]:
    """A reader's account: log-in and sign-up (empty and refused), the confirmation, 我的订阅."""
    yield get("log-in", "/accounts/login/")
    yield submit("log-in with errors", zh("Log in"))
    yield get("password reset", "/accounts/password/reset/")
    yield get("password reset, email sent", "/accounts/password/reset/done/")
    yield get("password reset, link no longer valid", "/accounts/password/reset/MQ/expired-link/")
    yield get("password reset, done", "/accounts/password/reset/complete/")
    yield get("new confirmation link", "/accounts/confirm/again/")
    yield get("sign-up", "/accounts/signup/")
    yield submit("sign-up with errors", zh("Sign up"))
    page.get_by_label(re.compile("^" + re.escape(zh("Email")))).fill("reader@example.org")
    page.get_by_label(re.compile("^" + re.escape(zh("Password")))).first.fill("a long reader passphrase 2026")
    page.get_by_label(re.compile("^" + re.escape(zh("Password confirmation")))).fill("a long reader passphrase 2026")
    yield submit("check your email", zh("Sign up"))
    link = mailed_link(r"https?://\S+/accounts/confirm/\S+")
    yield get("confirm the address", link)
    page.get_by_role("button", name=zh("Confirm and log in")).click()
    yield get("my subscriptions, empty", "/me/subscriptions/")
    page.get_by_role("button", name="+ 财经").click()
    page.get_by_label(re.compile("^" + re.escape(zh("Keyword")))).fill("新")
    yield submit("my subscriptions, keyword refused", zh("Subscribe"))
    page.get_by_label(re.compile("^" + re.escape(zh("Keyword")))).fill("新区")
    yield submit("my subscriptions", zh("Subscribe"))
    yield get("category, logged in", "/category/caijing/")
    yield get("search results, logged in", "/search/?q=发展")
    yield get("subscribe, asked to confirm", "/me/subscriptions/subscribe/?keyword=鲁西")
    yield get("subscribe, refused", "/me/subscriptions/subscribe/?keyword=新", status=400)
    page.get_by_role("button", name=zh("Log out")).click()
    reader = User.objects.get(email="reader@example.org")
    yield get("digest unsubscribe", f"/me/subscriptions/digest/unsubscribe/{unsubscribe_token(reader.pk)}/")
    yield submit("digest unsubscribed", zh("Stop digest emails"))


def slug(name: str) -> str:
    return re.sub(r"[^\w]+", "-", name).strip("-")
