"""Three people use the site from `/`, as they would: by what they see (labels, roles, link text),
in the site's own language."""

import re
from datetime import datetime

from django.contrib.auth.models import Group, User
from playwright.sync_api import expect

from articles.models import SHANGHAI, Snapshot
from articles.tests.helpers import make_category, make_related_link, make_snapshot, make_source
from moderation.models import TakedownRequest
from moderation.tests.helpers import make_request, temporary_evidence_storage

from .conftest import PHONE, zh, zh_link
from .pages import COUNTER_NOTICE, field, fill, mailed_link

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=SHANGHAI)


def heading(page, text: str):
    return page.get_by_role("heading", level=1, name=text)


# --- a reader ----------------------------------------------------------------------------------


def reader_archive():
    caijing, keji = make_category("财经", "caijing"), make_category("科技", "keji")
    source = make_source("人民资讯")
    snapshots = {
        "old": make_snapshot(
            title="二月的旧闻：港口吞吐量", category=caijing, source=source, published_at=at("2024-02-10")
        ),
        "target": make_snapshot(
            title="鲁西新区招商引资新进展", category=caijing, source=source, published_at=at("2024-03-05")
        ),
        "main": make_snapshot(
            title="鲁西新区以环境之优谋发展之势",
            category=caijing,
            source=source,
            published_at=at("2024-03-10"),
            body="<p>鲁西新区坚持生态优先、绿色发展。</p><p>营商环境持续改善。</p>",
            byline="孙安琪 王燕",
        ),
        "newer": make_snapshot(
            title="一季度财经数据发布", category=caijing, source=source, published_at=at("2024-03-20")
        ),
        "other": make_snapshot(title="科技园区新闻", category=keji, source=source, published_at=at("2024-03-15")),
    }
    make_related_link(
        snapshots["main"], title=snapshots["target"].title, excerpt="招商引资取得新进展", target=snapshots["target"]
    )
    make_related_link(
        snapshots["main"], title="外部报道", excerpt="外部网站的报道", url="https://news.example.com/a.html"
    )
    return snapshots


def test_a_reader_goes_from_home_to_a_category_a_date_a_snapshot_and_its_neighbours(journey):
    snapshots = reader_archive()
    page = journey.person()

    page.goto("/")
    expect(page.get_by_role("link", name=snapshots["main"].title)).to_be_visible()
    journey.step("home")

    page.get_by_role("navigation", name=zh("Categories")).get_by_role("link", name="财经").click()
    expect(heading(page, "财经")).to_be_visible()
    listing = page.get_by_role("region", name=zh("Snapshots, newest first"))
    expect(listing.get_by_role("link", name=snapshots["old"].title)).to_be_visible()
    expect(listing.get_by_role("link", name=snapshots["other"].title)).to_have_count(0)
    journey.step("category")

    field(page, "Published from").fill("2024-03-01")
    field(page, "Published until").fill("2024-03-12")
    page.get_by_role("button", name=zh("Apply")).click()
    expect(page).to_have_url(re.compile(r"published_after=2024-03-01&published_before=2024-03-12"))
    titles = listing.get_by_role("heading", level=3)
    expect(titles).to_have_text([snapshots["main"].title, snapshots["target"].title])
    expect(field(page, "Published from")).to_have_value("2024-03-01")
    journey.step("filtered by date")

    listing.get_by_role("link", name=snapshots["main"].title).click()
    expect(heading(page, snapshots["main"].title)).to_be_visible()
    expect(page.get_by_text("营商环境持续改善。")).to_be_visible()
    expect(page.get_by_text("(孙安琪 王燕)")).to_be_visible()
    journey.step("snapshot")

    related = page.get_by_role("region", name=zh("Related"))
    expect(related.get_by_role("link", name="外部报道")).to_have_attribute("href", "https://news.example.com/a.html")
    related.get_by_role("link", name=snapshots["target"].title).click()
    expect(heading(page, snapshots["target"].title)).to_be_visible()
    journey.step("related link")

    more = page.get_by_role("region", name=zh("More news about %(category)s", category="财经"))
    expect(more.get_by_role("link", name=snapshots["target"].title)).to_have_count(0)
    more.get_by_role("link", name=snapshots["newer"].title).click()
    expect(heading(page, snapshots["newer"].title)).to_be_visible()
    journey.step("more in this category")

    page.get_by_role("link", name=zh("More news about %(category)s", category="财经")).click()
    expect(heading(page, "财经")).to_be_visible()
    journey.step("back to the category")

    # The footer's language links: the same page in English, and back.
    address = page.url
    page.get_by_role("navigation", name=zh("Language")).get_by_role("link", name="English").click()
    expect(page).to_have_url(address)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("region", name="Snapshots, newest first")).to_be_visible()
    journey.step("in English")
    page.get_by_role("navigation", name="Language").get_by_role("link", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    journey.step("back in Chinese")

    # Two Chinese characters, from the search box every page has.
    page.get_by_role("search").first.get_by_label(zh("Search snapshots")).fill("新区")
    page.get_by_role("search").first.get_by_role("button", name=zh("Search")).click()
    expect(heading(page, zh("Snapshots containing “%(query)s”", query="新区"))).to_be_visible()
    results = page.get_by_role("region", name=zh("Results, newest first"))
    expect(results.get_by_role("heading", level=3)).to_have_text([snapshots["main"].title, snapshots["target"].title])
    expect(results.locator("mark").first).to_have_text("新区")
    journey.step("search for a two-character word")
    results.get_by_role("link", name=snapshots["target"].title).click()
    expect(heading(page, snapshots["target"].title)).to_be_visible()
    journey.step("a search result")

    # Subscribe to the word, signing up on the way.
    page.go_back()
    page.get_by_role("button", name=zh("Subscribe to “%(name)s”", name="新区")).click()
    expect(heading(page, zh("Log in"))).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(zh("Log in or sign up to subscribe to “%(name)s”.", name="新区"))
    journey.step("asked to log in or sign up")
    page.get_by_role("main").get_by_role("link", name=zh("Sign up")).click()
    field(page, "Email").fill("reader@example.org")
    page.get_by_label(re.compile("^" + re.escape(zh("Password")))).first.fill("a long reader passphrase 2026")
    page.get_by_label(re.compile("^" + re.escape(zh("Password confirmation")))).fill("a long reader passphrase 2026")
    journey.step("sign-up form")
    page.get_by_role("main").get_by_role("button", name=zh("Sign up")).click()
    expect(heading(page, zh("Check your email"))).to_be_visible()
    journey.step("check your email")

    confirm_link = mailed_link(r"https?://\S+/accounts/\S+")
    page.goto(confirm_link)
    page.get_by_role("button", name=zh("Confirm and log in")).click()
    # Back at the choice made before logging in, asked to confirm it (a link alone never subscribes).
    expect(heading(page, zh("Subscribe"))).to_be_visible()
    journey.step("asked to confirm")
    page.get_by_role("main").get_by_role("button", name=zh("Subscribe to “%(name)s”", name="新区")).click()
    expect(page.get_by_role("main")).to_contain_text(zh("Subscribed to “%(name)s”.", name="新区"))
    journey.step("subscribed")

    page.get_by_role("navigation", name=zh("Account")).get_by_role("link", name="我的订阅").click()
    expect(heading(page, "我的订阅")).to_be_visible()
    stream = page.get_by_role("region", name=zh("New snapshots for you, newest first"))
    expect(stream.get_by_role("heading", level=3)).to_have_text(
        [re.compile(re.escape(snapshots["main"].title)), re.compile(re.escape(snapshots["target"].title))]
    )
    expect(page.get_by_role("main")).to_contain_text("新区")
    journey.step("我的订阅")


def test_a_reader_on_a_phone_reaches_a_snapshot_the_same_way(journey):
    snapshots = reader_archive()
    page = journey.person(viewport=PHONE)
    page.goto("/")
    page.get_by_role("navigation", name=zh("Categories")).get_by_role("link", name="财经").click()
    page.get_by_role("link", name=snapshots["main"].title).click()
    expect(heading(page, snapshots["main"].title)).to_be_visible()
    # Nothing on a phone-sized page needs horizontal scrolling.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    journey.step("snapshot on a phone")


# --- a rights holder ---------------------------------------------------------------------------

TAKEDOWN_SENTENCE = (
    'Looking up snapshots on this site is a non-profit public service. <a href="%(url)s" rel="nofollow">If this '
    "infringes your rights, contact us to have it removed</a>."
)
COUNTER_SENTENCE = (
    "If you published this content or hold rights in it and believe it was removed by mistake, you can "
    '<a href="%(counter_url)s" rel="nofollow">send a counter-notice</a>.'
)
TYPED = {
    "Your name": "王五",
    "Organisation (optional)": "新华网版权中心",
    "Email": "copyright@example.org",
    "Postal address": "北京市西城区宣武门西大街 57 号",
    "The work": "《鲁西新区以环境之优谋发展之势》，作者王五，首发于新华网",
    "Why it infringes": "该快照全文转载了我方享有著作权的报道。",
    "Proof of your rights": "著作权登记号 2023-L-000123",
    "Signature": "王五",
}


def test_a_rights_holder_files_a_removal_request_and_follows_it(journey):
    snapshot = make_snapshot(title="鲁西新区以环境之优谋发展之势", category=make_category("财经", "caijing"))
    page = journey.person()
    page.goto("/")
    page.get_by_role("link", name=snapshot.title).click()
    journey.step("snapshot")

    page.get_by_role("link", name=zh_link(TAKEDOWN_SENTENCE, url="")).click()
    expect(heading(page, zh("Request the removal of snapshots"))).to_be_visible()
    addresses = field(page, "Snapshot addresses")
    expect(addresses).to_have_value(re.compile(re.escape(snapshot.get_absolute_url()) + "$"))
    journey.step("removal form, pre-filled")

    # Everything but the phone number.
    for label, value in TYPED.items():
        field(page, label).fill(value)
    page.get_by_role("radio", name=zh("the rights holder"), exact=True).check()
    field(page, "Date of the work (optional)").fill("2023-09-14")
    for checkbox in page.get_by_role("checkbox").all():  # the good-faith and accuracy statements
        checkbox.check()
    page.get_by_role("button", name=zh("Send the removal request")).click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text(zh("Please correct the following:"))
    expect(summary.get_by_role("link", name=zh("Phone"))).to_be_visible()
    expect(summary).to_contain_text(zh("Give a phone number."))
    expect(summary.get_by_role("listitem")).to_have_count(1)
    for label, value in TYPED.items():
        expect(field(page, label)).to_have_value(value)
    expect(page.get_by_role("radio", name=zh("the rights holder"), exact=True)).to_be_checked()
    expect(field(page, "Date of the work (optional)")).to_have_value("2023-09-14")
    expect(addresses).to_have_value(re.compile(re.escape(snapshot.get_absolute_url()) + "$"))
    expect(page.get_by_role("checkbox")).to_have_count(2)
    for checkbox in page.get_by_role("checkbox").all():
        expect(checkbox).to_be_checked()
    journey.step("a field missing")

    summary.get_by_role("link", name=zh("Phone")).click()
    field(page, "Phone").fill("+86 10 6307 1234")
    with temporary_evidence_storage():
        field(page, "Evidence files (optional)").set_input_files(
            {"name": "著作权证书.png", "mimeType": "image/png", "buffer": PNG}
        )
        page.get_by_role("button", name=zh("Send the removal request")).click()
        expect(heading(page, zh("Your removal request was received"))).to_be_visible()
    req = TakedownRequest.objects.get()
    expect(page.get_by_text(req.reference)).to_be_visible()
    expect(page.get_by_text(zh("%(counter)s evidence file was received.", counter=1))).to_be_visible()
    assert req.phone == "+86 10 6307 1234" and req.name == "王五"
    assert list(req.items.values_list("snapshot", flat=True)) == [snapshot.pk]
    journey.step("received: reference and status link")

    status_link = page.get_by_role("region", name=zh("Your private status page")).get_by_role("link")
    status_link.click()
    expect(heading(page, zh("Removal request %(reference)s", reference=req.reference))).to_be_visible()
    expect(page.get_by_role("region", name=zh("Snapshots listed"))).to_contain_text(snapshot.title)
    journey.step("status page")

    withdraw = page.get_by_role("region", name=zh("Withdraw the request"))
    withdraw.get_by_role("checkbox").check()
    withdraw.get_by_role("button", name=zh("Withdraw")).click()
    expect(page.get_by_text(zh("The request is withdrawn. It will not be decided."))).to_be_visible()
    assert TakedownRequest.objects.get().status == TakedownRequest.Status.WITHDRAWN
    journey.step("withdrawn from the status page")


# --- a moderator -------------------------------------------------------------------------------


def make_moderator_with_password(username: str, password: str) -> User:
    user = User.objects.create_user(username, f"{username}@example.org", password=password, is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def admin_button(page, label: str):
    return page.get_by_role("button", name=label, exact=True)


def test_a_moderator_approves_a_request_and_restores_after_a_counter_notice(journey):
    snapshot = make_snapshot(title="被举报的快照：港口新闻", category=make_category("财经", "caijing"))
    req = make_request(snapshot, name="张三", email="rights@example.org", phone="+86 10 1234 5678")
    make_moderator_with_password("moderator", "review-carefully-2026")
    moderator = journey.person()

    moderator.goto("/")
    moderator.goto("/admin/")
    field(moderator, "username").fill("moderator")
    field(moderator, "password").fill("review-carefully-2026")
    journey.step("admin log-in", moderator)
    moderator.get_by_role("button", name=zh("Log in")).click()
    moderator.get_by_role("link", name=zh("removal requests").capitalize()).first.click()
    journey.step("the queue", moderator)

    moderator.get_by_role("link", name=req.reference).click()
    expect(moderator.get_by_text("张三").first).to_be_visible()
    journey.step("the request", moderator)

    moderator.get_by_role("link", name=zh("Take into review")).click()
    admin_button(moderator, zh("Take into review")).click()
    expect(moderator.get_by_text(zh("%(reference)s is in review.", reference=req.reference))).to_be_visible()
    moderator.get_by_role("link", name=zh("Approve"), exact=True).click()
    field(moderator, "Statement of reasons").fill("权利证明充分：原文首发于请求人网站。")
    journey.step("approve form", moderator)
    admin_button(moderator, zh("Approve")).click()
    expect(moderator.get_by_text(re.compile(re.escape(req.reference)))).not_to_have_count(0)
    assert TakedownRequest.objects.get(pk=req.pk).status == TakedownRequest.Status.APPROVED
    journey.step("approved", moderator)

    reader = journey.person()
    response = reader.goto(snapshot.get_absolute_url())
    assert response.status == 451
    expect(heading(reader, zh("This snapshot is withheld for legal reasons"))).to_be_visible()
    expect(reader.get_by_text(snapshot.title)).to_have_count(0)
    journey.step("the snapshot answers 451", reader)

    reader.get_by_role("link", name=zh("Read the public record of %(reference)s", reference=req.reference)).click()
    record = reader.get_by_role("article", name=req.reference)
    expect(record).to_contain_text(snapshot.title)
    expect(record).to_contain_text(req.organisation)
    expect(record).to_contain_text("权利证明充分")
    for private in ["张三", "rights@example.org", "1234 5678", req.address]:
        expect(reader.get_by_text(private)).to_have_count(0)
    journey.step("transparency: the redacted record", reader)

    reader.goto(snapshot.get_absolute_url())
    reader.get_by_role("link", name=zh_link(COUNTER_SENTENCE, counter_url="")).click()
    expect(field(reader, "Addresses of the withheld snapshots")).to_have_value(
        re.compile(re.escape(snapshot.get_absolute_url()) + "$")
    )
    fill(reader, COUNTER_NOTICE)
    journey.step("counter-notice", reader)
    reader.get_by_role("button", name=zh("Send the counter-notice")).click()
    expect(heading(reader, zh("Your counter-notice was received"))).to_be_visible()
    assert TakedownRequest.objects.get(pk=req.pk).status == TakedownRequest.Status.DISPUTED
    journey.step("counter-notice received", reader)

    moderator.reload()
    moderator.get_by_role("link", name=zh("Restore now")).click()
    field(moderator, "Statement of reasons").fill("反通知理由成立，恢复快照。")
    admin_button(moderator, zh("Restore now")).click()
    expect(
        moderator.get_by_text(zh("%(reference)s no longer withholds its disputed snapshots.", reference=req.reference))
    ).to_be_visible()
    journey.step("restored", moderator)

    response = reader.goto(snapshot.get_absolute_url())
    assert response.status == 200
    expect(heading(reader, snapshot.title)).to_be_visible()
    assert Snapshot.objects.get(pk=snapshot.pk).status == Snapshot.Status.PUBLISHED
    journey.step("the snapshot is back", reader)
