"""The public side of the removal workflow: the request form, the private status page, the
counter-notice, the 451 page and the transparency report with its JSON export."""

import io
import json
import re
from datetime import timedelta
from unittest import mock
from urllib.parse import parse_qs, urlencode, urlsplit

from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory, TestCase, override_settings
from django.urls import get_resolver, reverse
from django.utils import timezone

from articles.models import Category, Snapshot
from articles.services import snapshot_set_status
from articles.sitemaps import SITEMAPS
from articles.tests.helpers import make_category, make_editor, make_related_link
from articles.tests.query_counts import PAGE_CACHE_CHECK, RENDER
from moderation import services
from moderation.forms import sniff_content_type
from moderation.models import CounterNotice, EvidenceFile, Requester, TakedownItem, TakedownRequest, hash_token
from moderation.views import TransparencyView
from newsarchive import ratelimit
from newsarchive.testing import sending_mail

from .helpers import (
    EN,
    JPEG_BYTES,
    PDF_BYTES,
    PNG_BYTES,
    REQUIRED,
    ZH,
    PublicPageTestCase,
    error_summary,
    field_block,
    form_data,
    form_values,
    make_counter_notice,
    make_moderator,
    make_request,
    make_snapshot,
    snapshot_url,
    status_path,
    temporary_evidence_storage,
)

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome
NEW = "/takedown/new/"
COUNTER = "/takedown/counter/"
TRANSPARENCY = "/transparency/"
DECISIONS_JSON = "/transparency/decisions.json"


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def status_url_of(response) -> str:
    match = re.search(r'<a href="(http[^"]*/takedown/status/[^"/]+/)"', response.content.decode())
    assert match, "no status link on the page"
    return match.group(1)


# --- the request form ----------------------------------------------------------------------------


class TakedownFormTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="被投诉的快照")
        cls.other = make_snapshot(title="另一篇快照")

    def post(self, data, headers=EN, **kwargs):
        with sending_mail():
            return self.client.post(NEW, data, headers=headers, **kwargs)

    def test_form_is_prefilled_with_the_url_from_the_query(self):
        url = snapshot_url(self.snapshot)
        response = self.client.get(NEW, {"url": url}, headers=EN)
        self.assertEqual(response.status_code, 200)
        values, _checked = form_values(response.content.decode())
        self.assertEqual(values["urls"], url)
        self.assertContains(response, '<meta name="robots" content="noindex">', html=True)

    def test_the_link_on_a_snapshot_page_prefills_the_form(self):
        page = self.client.get(self.snapshot.get_absolute_url()).content.decode()
        href = re.search(r'href="(/takedown/new/\?url=[^"]+)"', page).group(1).replace("&amp;", "&")
        values, _checked = form_values(self.client.get(href).content.decode())
        self.assertEqual(values["urls"], f"http://testserver{self.snapshot.get_absolute_url()}")

    def test_form_asks_for_every_element_with_the_legal_statements(self):
        html = self.client.get(NEW, headers=EN).content.decode()
        for name in [*REQUIRED, "organisation", "work_date", "files"]:
            with self.subTest(name):
                field_block(html, name)
        self.assertIn("under penalty of perjury", field_block(html, "accurate_and_authorised"))
        self.assertIn("good faith belief", field_block(html, "good_faith"))
        self.assertIn('enctype="multipart/form-data"', html)
        self.assertIn('type="file" name="files" multiple', html)

    def test_every_missing_element_is_named_next_to_its_field_and_in_the_summary(self):
        response = self.post({})
        html = response.content.decode()
        summary = error_summary(html)
        self.assertFalse(TakedownRequest.objects.exists())
        for name, message in REQUIRED.items():
            with self.subTest(name):
                self.assertIn(message, field_block(html, name))
                self.assertIn(f'href="#field-{name}"', summary)
                self.assertIn(message, summary)
        self.assertIn("<title>Error: Removal request · newsarchive</title>", html)

    def test_missing_elements_are_named_in_chinese_for_chinese_readers(self):
        html = self.post({}, headers=ZH).content.decode()
        self.assertIn("请填写您的全名。", field_block(html, "name"))
        self.assertIn("请确认善意声明。", error_summary(html))

    def test_everything_typed_is_kept_when_the_form_has_errors(self):
        data = form_data(self.snapshot, signature="", organisation="某某传媒有限公司", role="agent")
        data["files"] = [upload("证明.pdf", PDF_BYTES)]
        html = self.post(data).content.decode()
        values, checked = form_values(html)
        for name in ["name", "organisation", "email", "phone", "address", "work", "work_date", "urls"]:
            with self.subTest(name):
                self.assertEqual(values[name], data[name])
        self.assertEqual(values["explanation"], data["explanation"])
        self.assertEqual(values["evidence"], data["evidence"])
        self.assertEqual(checked, {"role=agent", "good_faith=on", "accurate_and_authorised=on"})
        self.assertIn(REQUIRED["signature"], field_block(html, "signature"))
        self.assertIn("The files you attached were not kept because the form has errors", html)
        self.assertFalse(TakedownRequest.objects.exists())

    def test_invalid_values_are_named(self):
        data = form_data(self.snapshot, email="不是邮箱", role="owner", work_date="2999-01-01", phone="x" * 51)
        html = self.post(data).content.decode()
        self.assertIn("Enter a valid email address.", field_block(html, "email"))
        self.assertIn("Select a valid choice.", field_block(html, "role"))
        self.assertIn("The date of the work cannot be in the future.", field_block(html, "work_date"))
        self.assertIn("at most 50 characters", field_block(html, "phone"))

    def test_an_address_that_is_no_web_address_is_named_by_its_line(self):
        urls = "\n".join(
            [
                snapshot_url(self.snapshot),
                "",
                "https://www.example.com/news/1.html",
                "not an address",
                "http://[broken/detail/x.html",
            ]
        )
        html = self.post(form_data(urls=urls)).content.decode()
        block = field_block(html, "urls")
        self.assertIn("Line 4: not an address is not a web address", block)
        self.assertIn("Line 5: http://[broken/detail/x.html is not a web address", block)
        self.assertNotIn("Line 1", block)
        self.assertNotIn("Line 3", block)  # a web address that names nothing here is no error
        self.assertIn("Line 4:", error_summary(html))

    def test_line_numbers_are_in_chinese_for_chinese_readers(self):
        html = self.post(form_data(urls=f"{snapshot_url(self.snapshot)}\nnot-an-address"), headers=ZH)
        self.assertIn("第 2 行", field_block(html.content.decode(), "urls"))

    def test_addresses_that_name_nothing_here_are_recorded_as_not_found_and_answered_so(self):
        urls = "\n".join(
            [
                snapshot_url(self.snapshot),
                "https://www.example.com/news/1.html",
                f"http://testserver/detail/{'0' * 40}.html",
            ]
        )
        response = self.post(form_data(urls=urls))
        self.assertTemplateUsed(response, "moderation/takedownrequest_received.html")
        self.assertContains(response, "not in this archive", count=2)
        req = TakedownRequest.objects.get()
        self.assertEqual(
            list(req.items.order_by("position").values_list("outcome", flat=True)),
            ["pending", "not_found", "not_found"],
        )
        self.assertEqual(mail.outbox[0].body.count("本存档中没有"), 2)  # emails are in the site's language

    def test_a_hidden_snapshot_is_not_in_this_archive_and_its_title_never_shown(self):
        hidden = make_snapshot(title="编辑隐藏的秘密标题", status=Snapshot.Status.HIDDEN)
        response = self.post(form_data(urls=f"{snapshot_url(self.snapshot)}\n{snapshot_url(hidden)}"))
        self.assertContains(response, "not in this archive")
        self.assertNotContains(response, "编辑隐藏的秘密标题")
        self.assertNotIn("编辑隐藏的秘密标题", mail.outbox[0].body)
        req = TakedownRequest.objects.get()
        services.takedown_review(request_id=req.pk, moderator=make_moderator())
        services.takedown_approve(request_id=req.pk, moderator=make_moderator(), reason="成立。")
        self.assertNotContains(self.client.get(f"/transparency/?reference={req.reference}"), "编辑隐藏的秘密标题")
        html = self.post(form_data(urls=snapshot_url(hidden))).content.decode()
        self.assertIn("None of these addresses names a snapshot in this archive", field_block(html, "urls"))

    def test_a_snapshot_an_editor_hides_after_it_was_listed_is_not_named_on_the_public_record(self):
        req = make_request(self.snapshot, self.other, status=Status.IN_REVIEW)
        snapshot_set_status(snapshot_ids=[self.other.pk], status=Snapshot.Status.HIDDEN, actor=make_editor("ed"))
        services.takedown_approve(request_id=req.pk, moderator=make_moderator(), reason="成立。")
        record = self.client.get(f"/transparency/?reference={req.reference}", headers=EN).content.decode()
        self.assertIn(self.snapshot.title, record)
        self.assertNotIn(self.other.title, record)
        self.assertNotIn(self.other.key, record)
        self.assertIn("not in this archive", record)
        items = decisions_json(self.client)["decisions"][0]["items"]
        self.assertEqual(
            [(i["snapshot_key"], i["title"]) for i in items], [(self.snapshot.key, self.snapshot.title), (None, None)]
        )

    def test_the_transparency_page_counts_addresses_not_found_and_snapshots_already_withheld(self):
        make_request(self.snapshot, status=Status.APPROVED, email="first@example.org")
        self.post(
            form_data(urls=f"{snapshot_url(self.snapshot)}\nhttps://nowhere.example/a\nhttps://nowhere.example/b")
        )
        html = self.client.get("/transparency/", headers=EN).content.decode()
        self.assertRegex(html, r"Listed addresses not in this archive</dt><dd>2<")
        self.assertRegex(html, r"already withheld by another decision \(duplicate notices\)</dt><dd>1<")

    def test_the_filer_adds_works_each_with_its_addresses(self):
        data = form_data(self.snapshot)
        page = self.post({**data, "add_work": "1"})
        self.assertTemplateUsed(page, "moderation/takedownrequest_form.html")
        self.assertFalse(TakedownRequest.objects.exists())
        html = page.content.decode()
        self.assertNotIn("error-summary", html)  # adding a work checks nothing yet
        values, _checked = form_values(html)
        self.assertEqual((values["work"], values["work_2"]), (data["work"], ""))
        self.assertIn('name="works" value="2"', html)
        response = self.post(
            {
                **data,
                "works": "2",
                "work_2": "另一篇报道",
                "work_date_2": "2023-10-01",
                "urls_2": snapshot_url(self.other),
            }
        )
        self.assertTemplateUsed(response, "moderation/takedownrequest_received.html")
        req = TakedownRequest.objects.get()
        self.assertEqual(list(req.works.values_list("position", "description")), [(1, data["work"]), (2, "另一篇报道")])
        self.assertEqual(
            list(req.items.order_by("position").values_list("work__position", "snapshot")),
            [(1, self.snapshot.pk), (2, self.other.pk)],
        )

    def test_an_error_in_a_second_work_is_named_on_its_field_and_line(self):
        data = {**form_data(self.snapshot), "works": "2", "work_2": "", "urls_2": f"{snapshot_url(self.other)}\nnope"}
        html = self.post(data).content.decode()
        self.assertIn("Describe the work whose rights you hold.", field_block(html, "work_2"))
        self.assertIn("Line 2: nope is not a web address", field_block(html, "urls_2"))

    def test_the_same_snapshot_twice_is_named_by_its_line(self):
        urls = f"{snapshot_url(self.snapshot)}\n\n{snapshot_url(self.snapshot)}"
        html = self.post(form_data(urls=urls)).content.decode()
        self.assertIn("Line 3: The same snapshot as address 1.", field_block(html, "urls"))

    @override_settings(TAKEDOWN_MAX_URLS=2)
    def test_more_addresses_than_the_cap_are_refused(self):
        snapshots = [self.snapshot, self.other, make_snapshot()]
        html = self.post(form_data(*snapshots)).content.decode()
        self.assertIn("At most 2 addresses per request", field_block(html, "urls"))
        self.assertFalse(TakedownRequest.objects.exists())

    def test_a_complete_request_is_filed_and_answered_with_its_receipt(self):
        data = form_data(self.snapshot, self.other)
        response = self.post(data, REMOTE_ADDR="203.0.113.9")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "moderation/takedownrequest_received.html")
        req = TakedownRequest.objects.get()
        self.assertContains(response, req.reference)
        self.assertContains(response, f"A receipt has been sent to {data['email']}.")
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertEqual(
            [(i.snapshot, i.outcome) for i in req.items.order_by("position")],
            [(self.snapshot, Outcome.PENDING), (self.other, Outcome.PENDING)],
        )
        self.assertEqual(req.name, data["name"])
        self.assertEqual(str(req.works.get().work_date), "2023-09-14")
        self.assertEqual(req.submitted_ip, "203.0.113.9")
        self.assertTrue(req.good_faith and req.accurate_and_authorised)
        # The receipt email carries the same private link as the page.
        status_url = status_url_of(response)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, [data["email"]])
        self.assertIn(req.reference, mail.outbox[0].subject)
        self.assertIn(status_url, mail.outbox[0].body)
        self.assertEqual(self.client.get(status_path(status_url)).status_code, 200)

    def test_the_status_token_is_stored_nowhere_but_as_its_hash(self):
        response = self.post(form_data(self.snapshot))
        token = status_path(status_url_of(response)).split("/")[-2]
        self.assertGreaterEqual(len(token), 40)
        req = TakedownRequest.objects.get()
        self.assertEqual(req.token_hash, hash_token(token))
        for model in apps.get_models():
            for row in model._default_manager.values_list():
                self.assertNotIn(token, repr(row), f"the token is stored in {model.__name__}")
        with connection.cursor() as cursor:
            for table in connection.introspection.table_names(cursor):
                cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
                self.assertNotIn(token, repr(cursor.fetchall()), f"the token is stored in {table}")

    def test_a_snapshot_already_withheld_is_accepted_and_answered_as_such(self):
        make_request(self.snapshot, status=Status.APPROVED, email="first@example.org")
        response = self.post(form_data(self.snapshot, self.other))
        self.assertContains(response, "1 of the snapshots you listed is already withheld by an earlier decision")
        req = TakedownRequest.objects.exclude(email="first@example.org").get()
        # It is to be decided like any other: approved, the request withholds it on its own.
        self.assertEqual([i.outcome for i in req.items.order_by("position")], [Outcome.PENDING, Outcome.PENDING])

    def test_a_suspended_requester_is_refused_with_the_services_message(self):
        Requester.objects.create(
            email="banned@example.org",
            warned_at=timezone.now() - timedelta(days=10),
            suspended_until=timezone.now() + timedelta(days=30),
        )
        html = self.post(form_data(self.snapshot, email="Banned@example.org")).content.decode()
        self.assertIn("Requests from this address are suspended until", field_block(html, "email"))
        self.assertIn("Requests from this address are suspended until", error_summary(html))
        self.assertFalse(TakedownRequest.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_a_second_open_request_for_the_same_snapshot_names_the_first(self):
        first = make_request(self.snapshot, email="same@example.org")
        html = self.post(form_data(self.snapshot, email="same@example.org")).content.decode()
        self.assertIn(f"You already have an open request for these snapshots: {first.reference}.", html)
        self.assertEqual(TakedownRequest.objects.count(), 1)

    def test_get_and_post_only(self):
        self.assertEqual(self.client.put(NEW).status_code, 405)


class EvidenceFileTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    def setUp(self):
        super().setUp()
        storage = temporary_evidence_storage()
        self.location = storage.__enter__()
        self.addCleanup(storage.__exit__, None, None, None)

    def post(self, *files):
        data = form_data(self.snapshot)
        data["files"] = list(files)
        with sending_mail():
            return self.client.post(NEW, data, headers=EN)

    def test_files_are_typed_by_their_content_not_their_name(self):
        response = self.post(
            upload("scan.pdf", PNG_BYTES, "application/pdf"),
            upload("photo", JPEG_BYTES),
            upload("licence.bin", PDF_BYTES),
            upload("说明.txt", "著作权登记号 2023-L-000123\r\n".encode(), "text/html"),
        )
        self.assertTemplateUsed(response, "moderation/takedownrequest_received.html")
        self.assertContains(response, "4 evidence files were received.")
        self.assertEqual(
            list(EvidenceFile.objects.order_by("pk").values_list("original_name", "content_type", "size")),
            [
                ("scan.pdf", "image/png", len(PNG_BYTES)),
                ("photo", "image/jpeg", len(JPEG_BYTES)),
                ("licence.bin", "application/pdf", len(PDF_BYTES)),
                ("说明.txt", "text/plain", len("著作权登记号 2023-L-000123\r\n".encode())),
            ],
        )

    def test_files_whose_content_is_not_an_accepted_type_are_refused_by_name(self):
        cases = {
            "page.png": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
            "image.png": b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "notes.txt": b"\xef\xbb\xbf  <html><body>hi</body></html>",
            "hidden.txt": b"a plain start\n\n<script>alert(1)</script>",
            "program.pdf": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
            "latin1.txt": "caf\xe9".encode("latin-1"),
            "zip.pdf": b"PK\x03\x04\x14\x00",
        }
        for name, content in cases.items():
            with self.subTest(name):
                html = self.post(upload(name, content, "image/png")).content.decode()
                self.assertIn(f"“{name}” is not a PDF, PNG, JPEG or plain text file", field_block(html, "files"))
                self.assertIn("The files you attached were not kept", html)
        self.assertFalse(TakedownRequest.objects.exists())
        self.assertFalse(EvidenceFile.objects.exists())

    def test_an_empty_file_is_refused(self):
        html = self.post(upload("empty.pdf", b"")).content.decode()
        self.assertIn("“empty.pdf” is empty.", field_block(html, "files"))

    @override_settings(TAKEDOWN_MAX_FILE_BYTES=100)
    def test_a_file_over_the_size_cap_is_refused(self):
        html = self.post(upload("big.pdf", PDF_BYTES.ljust(101, b" ")), upload("ok.pdf", PDF_BYTES)).content.decode()
        block = field_block(html, "files")
        self.assertIn("“big.pdf” is 101", block)
        self.assertIn("a file may be at most 100", block)
        self.assertNotIn("ok.pdf", block)
        self.assertFalse(TakedownRequest.objects.exists())

    @override_settings(TAKEDOWN_MAX_FILE_BYTES=100)
    def test_a_file_exactly_at_the_size_cap_is_accepted(self):
        self.post(upload("exact.pdf", PDF_BYTES.ljust(100, b" ")))
        self.assertEqual(EvidenceFile.objects.get().size, 100)

    @override_settings(TAKEDOWN_MAX_FILES=2)
    def test_more_files_than_the_cap_are_refused(self):
        html = self.post(*[upload(f"{n}.pdf", PDF_BYTES) for n in range(3)]).content.decode()
        self.assertIn("Attach at most 2 files.", field_block(html, "files"))
        self.assertFalse(TakedownRequest.objects.exists())
        self.post(*[upload(f"{n}.pdf", PDF_BYTES) for n in range(2)])
        self.assertEqual(EvidenceFile.objects.count(), 2)


@override_settings(TAKEDOWN_RATE_LIMIT=2)
class RateLimitTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    def test_the_form_answers_429_past_the_limit_and_counts_only_posts(self):
        for _attempt in range(3):
            self.assertEqual(self.client.get(NEW).status_code, 200)
        self.assertEqual(self.client.post(NEW, {}).status_code, 200)
        self.assertEqual(self.client.post(NEW, {}).status_code, 200)
        response = self.client.post(NEW, form_data(self.snapshot), headers=EN)
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many requests from your address: at most 2", status_code=429)
        self.assertTemplateUsed(response, "moderation/rate_limited.html")
        self.assertTrue(0 < int(response["Retry-After"]) <= 3600)
        self.assertFalse(TakedownRequest.objects.exists())
        self.assertEqual(self.client.get(NEW).status_code, 200)

    def test_each_address_has_its_own_limit(self):
        for _attempt in range(2):
            self.client.post(NEW, {}, REMOTE_ADDR="198.51.100.1")
        self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="198.51.100.1").status_code, 429)
        self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="198.51.100.2").status_code, 200)

    def test_the_form_and_the_api_share_the_limit(self):
        self.client.post(NEW, {})
        self.client.post("/api/takedown/", "{}", content_type="application/json")
        self.assertEqual(self.client.post(NEW, {}).status_code, 429)
        self.assertEqual(self.client.post("/api/takedown/", "{}", content_type="application/json").status_code, 429)

    def test_the_limit_ends_with_its_window(self):
        with mock.patch("newsarchive.ratelimit.time.time", return_value=1_000_000.0):
            for _attempt in range(2):
                self.client.post(NEW, {})
            response = self.client.post(NEW, {})
        self.assertEqual(response.status_code, 429)
        self.assertEqual(response["Retry-After"], str(3600 - 1_000_000 % 3600))
        with mock.patch("newsarchive.ratelimit.time.time", return_value=1_000_000.0 + 3600):
            self.assertEqual(self.client.post(NEW, {}).status_code, 200)

    def test_counter_notices_are_limited_too(self):
        for _attempt in range(2):
            self.assertEqual(self.client.post(COUNTER, {}).status_code, 200)
        self.assertEqual(self.client.post(COUNTER, {}).status_code, 429)

    def test_without_trusted_proxies_x_forwarded_for_is_ignored(self):
        for n in range(2):
            self.client.post(NEW, {}, REMOTE_ADDR="198.51.100.1", headers={"X-Forwarded-For": f"203.0.113.{n}"})
        response = self.client.post(NEW, {}, REMOTE_ADDR="198.51.100.1", headers={"X-Forwarded-For": "203.0.113.9"})
        self.assertEqual(response.status_code, 429)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_each_client_is_counted_by_the_address_the_proxy_appended(self):
        proxy = {"REMOTE_ADDR": "127.0.0.1"}
        for _attempt in range(2):
            self.client.post(NEW, {}, **proxy, headers={"X-Forwarded-For": "203.0.113.5"})
        self.assertEqual(
            self.client.post(NEW, {}, **proxy, headers={"X-Forwarded-For": "203.0.113.5"}).status_code, 429
        )
        # Another client behind the same proxy has its own limit.
        self.assertEqual(
            self.client.post(NEW, {}, **proxy, headers={"X-Forwarded-For": "203.0.113.6"}).status_code, 200
        )

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_behind_one_proxy_a_client_cannot_escape_the_limit_by_sending_its_own_x_forwarded_for(self):
        # The proxy appends the real address to whatever the client sent: only the rightmost entry counts.
        for n in range(2):
            spoofed = {"X-Forwarded-For": f"10.0.0.{n}, 203.0.113.5"}
            self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="127.0.0.1", headers=spoofed).status_code, 200)
        spoofed = {"X-Forwarded-For": "10.0.0.99, 198.51.100.77, 203.0.113.5"}
        self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="127.0.0.1", headers=spoofed).status_code, 429)

    @override_settings(TRUSTED_PROXY_COUNT=2)
    def test_behind_two_proxies_the_client_is_the_second_address_from_the_right(self):
        def post(forwarded):
            return self.client.post(NEW, {}, REMOTE_ADDR="10.1.1.1", headers={"X-Forwarded-For": forwarded})

        post("1.1.1.1, 203.0.113.5, 10.2.2.2")
        post("2.2.2.2, 203.0.113.5, 10.2.2.3")
        self.assertEqual(post("203.0.113.5, 10.2.2.2").status_code, 429)
        self.assertEqual(post("203.0.113.5, 203.0.113.6, 10.2.2.2").status_code, 200)

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_the_address_a_request_is_filed_from_is_the_client_behind_the_proxy(self):
        response = self.client.post(
            NEW, form_data(self.snapshot), REMOTE_ADDR="127.0.0.1", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.5"}
        )
        self.assertEqual(response.status_code, 200)
        self.assertEqual(TakedownRequest.objects.get().submitted_ip, "203.0.113.5")

    def test_client_addresses_are_read_from_the_header_as_the_trusted_proxies_wrote_it(self):
        cases = [
            (0, "198.51.100.1", "203.0.113.5", "198.51.100.1"),
            (1, "127.0.0.1", "203.0.113.5", "203.0.113.5"),
            (1, "127.0.0.1", "spoof, 203.0.113.5", "203.0.113.5"),
            (1, "127.0.0.1", " 2001:DB8::1 ", "2001:db8::1"),
            (1, "127.0.0.1", "[2001:db8::1]:4711", "2001:db8::1"),
            (1, "127.0.0.1", "203.0.113.5:4711", "203.0.113.5"),
            (1, "127.0.0.1", "", "127.0.0.1"),  # not through the proxy: the connecting address
            (2, "127.0.0.1", "203.0.113.5", "127.0.0.1"),  # fewer entries than proxies
            (1, "127.0.0.1", "unknown", None),
        ]
        factory = RequestFactory()
        for proxies, remote, forwarded, expected in cases:
            with self.subTest(proxies=proxies, forwarded=forwarded), self.settings(TRUSTED_PROXY_COUNT=proxies):
                request = factory.post(NEW, REMOTE_ADDR=remote, headers={"X-Forwarded-For": forwarded})
                self.assertEqual(ratelimit.client_ip(request), expected)

    def test_ipv6_clients_are_counted_by_their_slash_64(self):
        for host in ["2001:db8:1:2::1", "2001:db8:1:2::2"]:
            self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR=host).status_code, 200)
        self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="2001:db8:1:2:ffff::3").status_code, 429)
        self.assertEqual(self.client.post(NEW, {}, REMOTE_ADDR="2001:db8:1:3::1").status_code, 200)

    def test_the_limit_holds_across_processes_when_their_cache_is_shared(self):
        # Each gunicorn worker is its own process with its own cache object; what they share is the
        # cache's store (Redis in production). Two cache objects over one database table stand in.
        shared = {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "ratelimit_test_cache"}
        with self.settings(CACHES={"default": shared, "ratelimit": shared, "worker2": shared}):
            from django.core.cache import caches
            from django.core.management import call_command

            call_command("createcachetable", "ratelimit_test_cache", verbosity=0)
            self.assertIsNot(caches["ratelimit"], caches["worker2"])
            request = RequestFactory().post(NEW, REMOTE_ADDR="198.51.100.8")
            answers = []
            for worker in ["ratelimit", "worker2", "ratelimit"]:
                with mock.patch("newsarchive.ratelimit.CACHE_ALIAS", worker):
                    answers.append(ratelimit.hit(request))
        self.assertEqual(answers[:2], [None, None])
        self.assertIsNotNone(answers[2])


# --- the private status page ---------------------------------------------------------------------


class StatusPageTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator()
        cls.snapshot = make_snapshot(title="状态页上的快照")

    def file_request(self, *snapshots, **data) -> tuple[TakedownRequest, str]:
        """File through the form, as a requester does; returns the request and its status path."""
        response = self.client.post(NEW, form_data(*(snapshots or (self.snapshot,)), **data))
        return TakedownRequest.objects.latest("pk"), status_path(status_url_of(response))

    def test_a_request_closed_by_the_clock_never_says_a_person_decided_it(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_ask(request_id=req.pk, moderator=self.moderator, question="请补充。")
        services.takedown_tick(now=TakedownRequest.objects.get(pk=req.pk).info_due_at)
        html = self.client.get(path, headers=EN).content.decode()
        self.assertNotIn("This decision was taken by a person", html)
        self.assertIn("This request was closed automatically", html)
        self.assertIn("Steps taken automatically", html)
        self.assertIn("(automatic)", html)
        record = decisions_json(self.client)["decisions"][0]
        self.assertEqual(record["automated"], True)
        self.assertEqual([step["action"] for step in record["automated_steps"]], ["lapse"])
        public = self.client.get(f"/transparency/?reference={req.reference}", headers=EN).content.decode()
        self.assertIn("the system, automatically", public)

    def test_an_automatic_restoration_is_disclosed_on_the_status_page_and_in_the_record(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="成立。")
        make_counter_notice(self.snapshot)
        services.takedown_tick(now=timezone.now() + timedelta(days=16))
        html = self.client.get(path, headers=EN).content.decode()
        self.assertIn("This decision was taken by a person", html)  # the approval was
        self.assertIn("snapshots restored automatically: no lawsuit was reported in time", html)
        record = decisions_json(self.client)["decisions"][0]
        self.assertEqual(
            (record["automated"], [s["action"] for s in record["automated_steps"]]), (False, ["restore_due"])
        )

    def test_an_unknown_token_is_not_found(self):
        for token in ["x", "0" * 43, "a" * 500]:
            with self.subTest(token=token[:10]):
                self.assertEqual(self.client.get(f"/takedown/status/{token}/").status_code, 404)

    def test_the_page_shows_the_request_and_is_private(self):
        req, path = self.file_request()
        response = self.client.get(path, headers=EN)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertEqual(response["Referrer-Policy"], "same-origin")
        self.assertContains(response, '<meta name="robots" content="noindex">', html=True)
        html = response.content.decode()
        self.assertIn(req.reference, html)
        self.assertIn("submitted", html)
        self.assertIn("状态页上的快照", html)
        self.assertIn(snapshot_url(self.snapshot), html)
        self.assertIn("Decision due", html)
        self.assertIn(timezone.localtime(req.due_at).strftime("%Y-%m-%d %H:%M"), html)
        self.assertIn('name="action" value="withdraw"', html)
        self.assertNotIn('name="action" value="answer"', html)
        self.assertNotIn('name="action" value="lawsuit"', html)

    def test_the_requester_answers_a_question_and_the_request_goes_back_to_review(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_ask(request_id=req.pk, moderator=self.moderator, question="请提供著作权登记证书。")
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "A question from the moderator")
        self.assertContains(page, "请提供著作权登记证书。")
        req.refresh_from_db()
        self.assertContains(page, f"Please answer by {timezone.localtime(req.info_due_at):%Y-%m-%d %H:%M}")
        empty = self.client.post(path, {"action": "answer", "answer-answer": "  "}, headers=EN)
        self.assertEqual(empty.status_code, 400)
        self.assertContains(empty, "Write your answer.", status_code=400)
        response = self.client.post(path, {"action": "answer", "answer-answer": "登记号 2023-L-1。"}, headers=EN)
        self.assertRedirects(response, path, fetch_redirect_response=False)
        self.assertEqual(response["Cache-Control"], "private, no-store")
        req.refresh_from_db()
        self.assertEqual(req.status, Status.IN_REVIEW)
        self.assertEqual(req.events.latest("pk").note, "登记号 2023-L-1。")
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "Your answer was sent.")
        self.assertNotContains(page, 'name="action" value="answer"')

    def test_withdrawing_needs_the_confirmation(self):
        req, path = self.file_request()
        response = self.client.post(path, {"action": "withdraw", "withdraw-note": "已与对方和解"}, headers=EN)
        self.assertContains(response, "Tick the box to confirm that you withdraw the request.", status_code=400)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.SUBMITTED)
        response = self.client.post(
            path, {"action": "withdraw", "withdraw-confirm": "on", "withdraw-note": "已与对方和解"}, headers=EN
        )
        self.assertRedirects(response, path, fetch_redirect_response=False)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.WITHDRAWN)
        self.assertEqual(req.events.latest("pk").note, "已与对方和解")
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "The request is withdrawn.")
        self.assertNotContains(page, 'name="action" value="withdraw"')
        self.assertContains(page, "not decided")

    def test_a_refused_move_shows_the_services_message(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="权利证明充分。")
        for data in [
            {"action": "answer", "answer-answer": "迟到的回答"},
            {"action": "lawsuit", "lawsuit-note": "已起诉"},
        ]:
            with self.subTest(data["action"]):
                response = self.client.post(path, data, headers=EN)
                self.assertEqual(response.status_code, 409)
                self.assertContains(response, "Cannot", status_code=409)
                self.assertContains(response, f"{req.reference}: it is approved.", status_code=409)
        self.assertEqual(self.client.post(path, {"action": "delete"}).status_code, 400)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.APPROVED)

    def test_a_decided_request_shows_the_statement_of_reasons(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_reject(request_id=req.pk, moderator=self.moderator, reason="未能证明权利归属。")
        html = self.client.get(path, headers=EN).content.decode()
        self.assertIn("Statement of reasons", html)
        self.assertIn("未能证明权利归属。", html)
        self.assertIn("no ground established", html)
        self.assertIn("No automated means were used", html)
        self.assertIn("How to appeal", html)
        self.assertIn("refused", html)
        self.assertIn(f"?reference={req.reference}#{req.reference}", html)
        # The one move left to the requester: to appeal the rejection.
        self.assertEqual(re.findall(r'name="action" value="(\w+)"', html), ["appeal"])

    def test_during_a_dispute_the_requester_reports_a_lawsuit(self):
        req, path = self.file_request()
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="权利证明充分。")
        make_counter_notice(self.snapshot)
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "A counter-notice was received on")
        self.assertContains(page, "Your claim lapses after")
        self.assertNotContains(page, "uploader@example.net")  # the copy goes by email, not on the page
        empty = self.client.post(path, {"action": "lawsuit", "lawsuit-note": ""}, headers=EN)
        self.assertContains(empty, "Say where and when the lawsuit or complaint was filed.", status_code=400)
        response = self.client.post(
            path, {"action": "lawsuit", "lawsuit-note": "2026 年 5 月向北京互联网法院起诉,案号 (2026)京0491民初1号"}
        )
        self.assertRedirects(response, path)
        req.refresh_from_db()
        self.assertIsNotNone(req.items.get().lawsuit_reported_at)
        self.assertIn("京0491民初1号", req.lawsuit_note)
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "You reported a lawsuit or complaint on")
        self.assertNotContains(page, 'name="action" value="lawsuit"')


# --- counter-notice ------------------------------------------------------------------------------


def counter_data(snapshot: Snapshot, **overrides) -> dict:
    data = {
        "urls": f"http://testserver{snapshot.get_absolute_url()}",
        "name": "李四",
        "email": "uploader@example.net",
        "phone": "+86 21 8765 4321",
        "address": "上海市黄浦区某街 2 号",
        "explanation": "该报道是公开的政府新闻稿,不构成侵权。",
        "good_faith": "on",
        "consent_to_jurisdiction": "on",
        "signature": "李四",
    }
    data.update(overrides)
    return data


class CounterNoticeTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="被屏蔽后申诉的快照")
        cls.req = make_request(cls.snapshot, status=Status.APPROVED, email="holder@example.org")

    def post(self, data, **kwargs):
        with sending_mail():
            return self.client.post(COUNTER, data, headers=EN, **kwargs)

    def test_the_form_names_the_decision_it_disputes(self):
        url = f"http://testserver{self.snapshot.get_absolute_url()}"
        response = self.client.get(COUNTER, {"url": url}, headers=EN)
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, self.req.reference)
        self.assertContains(response, self.snapshot.key)
        self.assertContains(response, "lifted 15 days after the counter-notice")
        self.assertEqual(form_values(response.content.decode())[0]["urls"], url)

    def test_a_counter_notice_makes_the_request_disputed_and_is_sent_to_the_requester(self):
        response = self.post(counter_data(self.snapshot), REMOTE_ADDR="192.0.2.7")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "moderation/counternotice_received.html")
        self.assertContains(response, "What happens next")
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.DISPUTED)
        notice = CounterNotice.objects.get()
        self.assertContains(response, timezone.localtime(notice.restore_after).strftime("%Y-%m-%d %H:%M"))
        self.assertContains(response, self.req.reference)
        self.assertEqual(
            (list(notice.snapshots.all()), list(notice.claims.all()), notice.name),
            ([self.snapshot], [self.req.items.get()], "李四"),
        )
        self.assertEqual(notice.submitted_ip, "192.0.2.7")
        self.assertTrue(notice.good_faith and notice.consent_to_jurisdiction)
        self.assertEqual(Snapshot.objects.get(pk=self.snapshot.pk).status, Snapshot.Status.WITHHELD)
        self.assertEqual([m.to for m in mail.outbox], [["holder@example.org"]])
        self.assertIn("该报道是公开的政府新闻稿", mail.outbox[0].body)

    @override_settings(TAKEDOWN_RESTORE_AFTER_DAYS=0)
    def test_with_no_waiting_period_the_snapshot_is_back_at_once(self):
        response = self.post(counter_data(self.snapshot))
        self.assertContains(response, "have been lifted")
        self.req.refresh_from_db()
        self.assertEqual(self.req.status, Status.RESTORED)
        self.assertEqual(self.client.get(self.snapshot.get_absolute_url()).status_code, 200)
        self.assertContains(self.client.get("/"), "被屏蔽后申诉的快照")

    def test_every_missing_element_is_named(self):
        html = self.post({"urls": counter_data(self.snapshot)["urls"]}).content.decode()
        summary = error_summary(html)
        for name, message in {
            "name": "Give your full name.",
            "email": "Give an email address.",
            "phone": "Give a phone number.",
            "address": "Give your postal address.",
            "explanation": "Explain why the removal was a mistake.",
            "good_faith": "Confirm the good-faith statement.",
            "consent_to_jurisdiction": "Consent to the jurisdiction",
            "signature": "Sign the counter-notice by typing your full name.",
        }.items():
            with self.subTest(name):
                self.assertIn(message, field_block(html, name))
                self.assertIn(message, summary)
        self.assertEqual(TakedownRequest.objects.get().status, Status.APPROVED)
        self.assertIn("under penalty of perjury", field_block(html, "good_faith").lower())

    def test_an_address_that_names_no_disputable_snapshot_is_explained(self):
        published = make_snapshot()
        hidden = make_snapshot(status=Snapshot.Status.HIDDEN)
        cases = {
            f"http://testserver{published.get_absolute_url()}": "is not withheld: there is nothing to dispute",
            f"http://testserver{hidden.get_absolute_url()}": "does not name a snapshot page of this site",
            f"http://testserver/detail/{'0' * 40}.html": "does not name a snapshot page of this site",
            "https://www.example.com/": "does not name a snapshot page of this site",
            "http://[oops/detail/x.html": "does not name a snapshot page of this site",
        }
        for url, message in cases.items():
            with self.subTest(url=url):
                response = self.client.get(COUNTER, {"url": url}, headers=EN)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, message)
                html = self.post(counter_data(published, urls=url)).content.decode()
                self.assertIn(message, field_block(html, "urls"))
        self.assertFalse(CounterNotice.objects.exists())

    def test_a_second_counter_notice_is_told_the_dispute_is_under_way(self):
        self.post(counter_data(self.snapshot))
        html = self.client.get(COUNTER, {"url": counter_data(self.snapshot)["urls"]}, headers=EN).content.decode()
        self.assertIn(f"a counter-notice against {self.req.reference} has already been received", html)
        html = self.post(counter_data(self.snapshot, email="other@example.net")).content.decode()
        self.assertIn("has already been received", field_block(html, "urls"))
        self.assertEqual(CounterNotice.objects.count(), 1)

    def test_one_counter_notice_may_name_several_snapshots_and_disputes_those_only(self):
        other, untouched = make_snapshot(), make_snapshot()
        req = make_request(other, untouched, status=Status.APPROVED, email="other@example.org")
        urls = "\n".join(f"http://testserver{s.get_absolute_url()}" for s in (self.snapshot, other))
        response = self.post(counter_data(self.snapshot, urls=urls))
        self.assertTemplateUsed(response, "moderation/counternotice_received.html")
        self.assertEqual(
            list(
                TakedownItem.objects.filter(request__in=[self.req, req])
                .order_by("request", "position")
                .values_list("claim", flat=True)
            ),
            ["disputed", "disputed", "standing"],
        )
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), ["holder@example.org", "other@example.org"])

    def test_a_counter_notice_naming_an_address_that_cannot_be_disputed_is_refused_whole(self):
        urls = f"http://testserver{self.snapshot.get_absolute_url()}\nhttp://testserver{make_snapshot().get_absolute_url()}"
        html = self.post(counter_data(self.snapshot, urls=urls)).content.decode()
        self.assertIn("is not withheld: there is nothing to dispute", field_block(html, "urls"))
        self.assertFalse(CounterNotice.objects.exists())
        self.assertEqual(self.req.items.get().claim, "standing")

    def test_a_decision_that_changed_meanwhile_is_reported_not_failed(self):
        with mock.patch(
            "moderation.views.services.counter_notice_submit",
            side_effect=services.TransitionError("Cannot dispute TD-1: it is restored."),
        ):
            response = self.post(counter_data(self.snapshot))
        self.assertEqual(response.status_code, 200)
        self.assertIn("Cannot dispute TD-1: it is restored.", error_summary(response.content.decode()))


# --- the 451 page and disappearance from every list ------------------------------------------------


class WithheldSnapshotTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        cls.snapshot = make_snapshot(
            title="被删除通知屏蔽的标题", body="<p>被屏蔽的正文内容</p>", category=cls.category
        )
        cls.neighbour = make_snapshot(title="邻居快照", category=cls.category)
        make_related_link(cls.neighbour, title="指向将被屏蔽的快照", target=cls.snapshot)
        cls.req = make_request(cls.snapshot, status=Status.APPROVED, organisation="")

    def test_a_withheld_snapshot_answers_451_with_the_removal_notice(self):
        response = self.client.get(self.snapshot.get_absolute_url(), headers=EN)
        self.assertEqual(response.status_code, 451)
        self.assertTemplateUsed(response, "articles/snapshot_withheld.html")
        html = response.content.decode()
        self.assertIn(self.req.reference, html)
        self.assertIn(self.snapshot.key, html)
        self.assertIn(timezone.localtime(self.req.decided_at).strftime("%Y-%m-%d"), html)
        record = f"/transparency/?reference={self.req.reference}#{self.req.reference}"
        self.assertIn(f'href="{record}"', html)
        counter = "/takedown/counter/?" + urlencode({"url": f"http://testserver{self.snapshot.get_absolute_url()}"})
        self.assertIn(f'href="{counter.replace("&", "&amp;")}"', html)
        self.assertEqual(response["Link"], f'<http://testserver{record}>; rel="blocked-by"')
        self.assertIn('<meta name="robots" content="noindex">', html)

    def test_a_reference_with_characters_no_reference_has_finds_it_or_nothing_never_an_error(self):
        # A NUL is refused by PostgreSQL in any text parameter (found by the property tests): the
        # middleware answers it 400 before the view; other unprintable characters are dropped.
        response = self.client.get("/transparency/", {"reference": f"{self.req.reference}\x1f"}, headers=EN)
        self.assertContains(response, f'id="{self.req.reference}"')
        response = self.client.get("/transparency/", {"reference": "\x00\x1f"}, headers=EN)
        self.assertContains(response, "The query parameter “reference” contains a NUL character.", status_code=400)

    def test_the_451_page_shows_nothing_of_the_snapshot_but_its_key(self):
        html = self.client.get(self.snapshot.get_absolute_url()).content.decode()
        self.assertNotIn("被删除通知屏蔽的标题", html)
        self.assertNotIn("被屏蔽的正文内容", html)
        self.assertNotIn(self.snapshot.source.name, html)

    def test_the_451_pages_links_lead_to_the_record_and_the_counter_notice_form(self):
        html = self.client.get(self.snapshot.get_absolute_url()).content.decode()
        record = re.search(r'href="(/transparency/\?[^"]+)"', html).group(1)
        self.assertContains(self.client.get(record), f'id="{self.req.reference}"')
        counter = re.search(r'href="(/takedown/counter/\?[^"]+)"', html).group(1).replace("&amp;", "&")
        response = self.client.get(counter, headers=EN)
        self.assertContains(response, self.req.reference)
        self.assertNotContains(response, "not withheld")

    def test_a_disputed_snapshot_still_answers_451_and_says_when_it_may_return(self):
        make_counter_notice(self.snapshot)
        response = self.client.get(self.snapshot.get_absolute_url(), headers=EN)
        self.assertEqual(response.status_code, 451)
        self.assertContains(response, "A counter-notice has been received", status_code=451)
        self.assertNotContains(response, "/takedown/counter/", status_code=451)

    def test_the_451_page_makes_a_fixed_number_of_queries(self):
        # The archive version (the page cache's key, read before the snapshot's state is known),
        # the snapshot, the decision, the navigation; the notice itself is never cached.
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["withheld"]):
            self.assertEqual(self.client.get(self.snapshot.get_absolute_url()).status_code, 451)
        for _n in range(5):
            make_request(make_snapshot(), status=Status.APPROVED)
        make_request(self.neighbour, status=Status.REJECTED)
        # Two more decisions withhold it, one of them disputed.
        make_request(self.snapshot, status=Status.APPROVED, email="second@example.org")
        make_request(self.snapshot, status=Status.APPROVED, email="third@example.org")
        make_counter_notice(self.snapshot)
        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["withheld"]):
            self.assertEqual(self.client.get(self.snapshot.get_absolute_url()).status_code, 451)

    def test_a_hidden_snapshot_is_still_not_found(self):
        hidden = make_snapshot(title="编辑隐藏的", status=Snapshot.Status.HIDDEN)
        response = self.client.get(hidden.get_absolute_url())
        self.assertEqual(response.status_code, 404)
        self.assertNotContains(response, "编辑隐藏的", status_code=404)

    def test_the_withheld_snapshot_is_gone_from_every_list(self):
        pages = {
            "home": "/",
            "category": self.category.get_absolute_url(),
            "neighbour": self.neighbour.get_absolute_url(),
        }
        for name, url in pages.items():
            with self.subTest(name):
                response = self.client.get(url)
                self.assertEqual(response.status_code, 200)
                self.assertNotContains(response, "被删除通知屏蔽的标题")
                self.assertNotContains(response, self.snapshot.key)
        self.assertNotContains(self.client.get(self.neighbour.get_absolute_url()), "指向将被屏蔽的快照")

    def test_restoring_brings_the_snapshot_back_everywhere(self):
        make_counter_notice(self.snapshot)
        services.takedown_restore(request_id=self.req.pk, moderator=make_moderator(), reason="反通知理由成立。")
        self.assertContains(self.client.get(self.snapshot.get_absolute_url()), "被删除通知屏蔽的标题")
        self.assertContains(self.client.get("/"), "被删除通知屏蔽的标题")
        self.assertContains(self.client.get(self.neighbour.get_absolute_url()), "指向将被屏蔽的快照")


# --- transparency --------------------------------------------------------------------------------


def decisions_json(client, **params) -> dict:
    response = client.get(DECISIONS_JSON, params)
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == "application/json"
    return json.loads(response.content)


class TransparencyTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator()
        cls.approved_snapshot = make_snapshot(title="批准屏蔽的快照")
        cls.approved = make_request(
            cls.approved_snapshot, status=Status.APPROVED, moderator=cls.moderator, organisation="人民资讯版权部"
        )
        cls.kept, cls.refused_snapshot = make_snapshot(title="部分批准-屏蔽"), make_snapshot(title="部分批准-保留")
        cls.partly = make_request(cls.kept, cls.refused_snapshot, status=Status.IN_REVIEW, organisation="")
        item = cls.partly.items.get(snapshot=cls.refused_snapshot)
        services.takedown_approve(
            request_id=cls.partly.pk,
            moderator=cls.moderator,
            reason="第二篇为合理使用。",
            outcomes={item.pk: Outcome.REFUSED},
        )
        cls.rejected = make_request(make_snapshot(title="驳回的快照"), status=Status.REJECTED, moderator=cls.moderator)
        cls.disputed = make_request(make_snapshot(title="争议中的快照"), status=Status.DISPUTED)
        cls.restored = make_request(make_snapshot(title="已恢复的快照"), status=Status.RESTORED)
        cls.withdrawn = make_request(make_snapshot(title="撤回的快照"), status=Status.WITHDRAWN)
        cls.pending = make_request(make_snapshot(title="待处理的快照"))
        cls.decided = [cls.approved, cls.partly, cls.rejected, cls.disputed, cls.restored]

    def test_the_page_lists_every_decided_request_with_its_public_record(self):
        html = self.client.get(TRANSPARENCY, headers=EN).content.decode()
        for req in self.decided:
            with self.subTest(req.reference):
                self.assertIn(f'id="{req.reference}"', html)
        for req in [self.withdrawn, self.pending]:
            self.assertNotIn(f'id="{req.reference}"', html)
        self.assertNotIn("撤回的快照", html)
        self.assertNotIn("待处理的快照", html)
        record = re.search(rf'<article class="decision" id="{self.partly.reference}".*?</article>', html, re.S).group(0)
        self.assertIn("an individual", record)
        self.assertIn("approved in part", record)
        self.assertIn("部分批准-屏蔽", record)
        self.assertIn(self.kept.key, record)
        self.assertIn("部分批准-保留", record)
        self.assertIn("refused", record)
        self.assertIn("第二篇为合理使用。", record)
        self.assertIn("copyright", record)
        approved = re.search(rf'<article class="decision" id="{self.approved.reference}".*?</article>', html, re.S)
        self.assertIn("人民资讯版权部", approved.group(0))

    def test_an_individual_is_named_as_such_in_chinese(self):
        html = self.client.get(TRANSPARENCY, headers=ZH).content.decode()
        record = re.search(rf'<article class="decision" id="{self.partly.reference}".*?</article>', html, re.S).group(0)
        self.assertIn("个人", record)

    def test_the_report_counts_by_month_and_outcome_and_draws_a_chart(self):
        response = self.client.get(TRANSPARENCY, headers=EN)
        html = response.content.decode()
        svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
        self.assertIn('role="img"', svg)
        self.assertIn('<title id="chart-title">Removal requests received per month, by outcome</title>', svg)
        month = timezone.localdate().strftime("%Y-%m")
        self.assertIn(f">{month}</text>", svg)
        self.assertEqual(len(re.findall(r'<rect [^>]*class="bar bar-', svg)), 7)  # one segment per outcome
        self.assertNotIn("<script", html)
        self.assertNotIn("style=", html)
        table = re.search(r'<table class="report-table">.*?</table>', html, re.S).group(0)
        row = re.search(rf"<tr><th scope=\"row\">{month}</th>(.*?)</tr>", table).group(1)
        # approved, approved in part, rejected, disputed, restored, reversed on appeal, withdrawn,
        # pending; total.
        self.assertEqual(re.findall(r"<td>(\d+)</td>", row), ["1", "1", "1", "1", "1", "0", "1", "1", "7"])
        report = response.context["report"]
        self.assertEqual((report.received, report.decided), (7, 5))

    def test_the_median_time_to_decision_is_shown(self):
        now = timezone.now()
        durations = [timedelta(hours=2), timedelta(hours=5), timedelta(hours=30), timedelta(hours=100)]
        for req, duration in zip(self.decided, durations + [timedelta(hours=200)], strict=True):
            TakedownRequest.objects.filter(pk=req.pk).update(received_at=now - duration, decided_at=now)
        response = self.client.get(TRANSPARENCY, headers=EN)
        self.assertEqual(response.context["report"].median_time_to_decision, timedelta(hours=30))
        self.assertContains(response, "30.0 hours")
        TakedownRequest.objects.filter(pk=self.restored.pk).update(status=Status.WITHDRAWN, decided_at=None)
        response = self.client.get(TRANSPARENCY, headers=EN)
        self.assertEqual(response.context["report"].median_time_to_decision, timedelta(hours=17.5))

    def test_a_reference_narrows_the_list_to_its_record(self):
        response = self.client.get(TRANSPARENCY, {"reference": self.rejected.reference}, headers=EN)
        html = response.content.decode()
        self.assertIn(f'id="{self.rejected.reference}"', html)
        self.assertNotIn(f'id="{self.approved.reference}"', html)
        self.assertIn("Show all decided requests", html)
        self.assertIn("<svg", html)
        response = self.client.get(TRANSPARENCY, {"reference": "TD-1999-000001"}, headers=EN)
        self.assertContains(response, "No decided request has this reference.")

    def test_the_list_is_paginated_newest_decision_first(self):
        with mock.patch.object(TransparencyView, "paginate_by", 2):
            first = self.client.get(TRANSPARENCY).content.decode()
            third = self.client.get(TRANSPARENCY, {"page": 3}).content.decode()
            self.assertEqual(self.client.get(TRANSPARENCY, {"page": 4}).status_code, 404)
        decided = TakedownRequest.objects.filter(pk__in=[r.pk for r in self.decided])
        order = list(decided.order_by("-decided_at", "-pk").values_list("reference", flat=True))
        self.assertEqual(re.findall(r'<article class="decision" id="([^"]+)"', first), order[:2])
        self.assertEqual(re.findall(r'<article class="decision" id="([^"]+)"', third), order[4:])
        self.assertIn('rel="next"', first)

    def test_titles_are_not_published_when_the_ground_is_personality_rights(self):
        snapshot = make_snapshot(title="某某人的隐私报道")
        req = make_request(snapshot, status=Status.IN_REVIEW)
        services.takedown_approve(
            request_id=req.pk, moderator=self.moderator, reason="侵犯隐私。", ground=TakedownRequest.Ground.PERSONALITY
        )
        html = self.client.get(TRANSPARENCY, headers=EN).content.decode()
        self.assertNotIn("某某人的隐私报道", html)
        self.assertIn(snapshot.key, html)
        self.assertIn("title not published", html)
        record = next(d for d in decisions_json(self.client)["decisions"] if d["reference"] == req.reference)
        self.assertEqual(
            record["items"], [{"snapshot_key": snapshot.key, "title": None, "outcome": "actioned", "claim": "standing"}]
        )

    def test_decisions_json_holds_the_same_decisions(self):
        data = decisions_json(self.client)
        self.assertEqual((data["count"], data["page"], data["pages"], data["next"]), (5, 1, 1, None))
        by_reference = {d["reference"]: d for d in data["decisions"]}
        self.assertEqual(set(by_reference), {r.reference for r in self.decided})
        partly = by_reference[self.partly.reference]
        self.partly.refresh_from_db()
        self.assertEqual(
            partly,
            {
                "reference": self.partly.reference,
                "url": f"http://testserver/transparency/?reference={self.partly.reference}#{self.partly.reference}",
                "status": "approved",
                "decision": "partly_approved",
                "ground": "copyright",
                "received_at": timezone.localtime(self.partly.received_at).isoformat(),
                "decided_at": timezone.localtime(self.partly.decided_at).isoformat(),
                "organisation": None,
                "items": [
                    {
                        "snapshot_key": self.kept.key,
                        "title": "部分批准-屏蔽",
                        "outcome": "actioned",
                        "claim": "standing",
                    },
                    {
                        "snapshot_key": self.refused_snapshot.key,
                        "title": "部分批准-保留",
                        "outcome": "refused",
                        "claim": "none",
                    },
                ],
                "works": [{"description": self.partly.works.get().description, "work_date": None}],
                "statement_of_reasons": "第二篇为合理使用。",
                "appeals": [],
                "counter_notices": [],
                "automated": False,
                "automated_steps": [],
            },
        )
        self.assertEqual(by_reference[self.approved.reference]["organisation"], "人民资讯版权部")
        self.assertEqual(by_reference[self.rejected.reference]["decision"], "rejected")
        self.assertEqual(by_reference[self.rejected.reference]["ground"], "none")
        self.assertEqual(by_reference[self.disputed.reference]["status"], "disputed")
        self.assertEqual(by_reference[self.restored.reference]["status"], "restored")
        self.assertTrue(all(d["automated"] is False for d in data["decisions"]))

    def test_decisions_json_is_paginated(self):
        with mock.patch("moderation.views.DECISIONS_JSON_PAGE_SIZE", 2):
            data = decisions_json(self.client)
            self.assertEqual((data["count"], data["pages"], len(data["decisions"])), (5, 3, 2))
            self.assertEqual(parse_qs(urlsplit(data["next"]).query), {"page": ["2"]})
            last = decisions_json(self.client, page=3)
            self.assertEqual((len(last["decisions"]), last["next"]), (1, None))
            self.assertEqual(self.client.get(DECISIONS_JSON, {"page": "9"}).status_code, 404)
            self.assertEqual(self.client.get(DECISIONS_JSON, {"page": "x"}).status_code, 404)


# Measured, then pinned: aggregates (1), median (1), URLs not found and already withheld (1), page
# count (1), page (1), its URLs and snapshots (1), the names to redact (1), the automatic steps (1),
# the appeals (1), the works (1), the counter-notices (1), the monthly report of decisions (1), the
# category navigation (1). The JSON
# export: count, page, URLs, names, automatic steps, appeals, works, counter-notices.
TRANSPARENCY_QUERIES = 13
DECISIONS_JSON_QUERIES = 8


class _TransparencyQueryCounts:
    def test_transparency_page_query_count(self):
        with self.assertNumQueries(TRANSPARENCY_QUERIES):
            response = self.client.get(TRANSPARENCY)
        self.assertEqual(len(response.context["decisions"]), self.expected_on_page)

    def test_decisions_json_query_count(self):
        with self.assertNumQueries(DECISIONS_JSON_QUERIES):
            data = decisions_json(self.client)
        self.assertEqual(len(data["decisions"]), self.expected_decisions)


class SmallTransparencyQueryCountTests(_TransparencyQueryCounts, PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        make_request(status=Status.APPROVED)
        cls.expected_on_page = cls.expected_decisions = 1


class LargeTransparencyQueryCountTests(_TransparencyQueryCounts, PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        moderator = make_moderator()
        statuses = [Status.APPROVED, Status.REJECTED, Status.DISPUTED, Status.RESTORED, Status.WITHDRAWN]
        for n in range(65):
            snapshots = [make_snapshot() for _i in range(n % 3 + 1)]
            make_request(*snapshots, status=statuses[n % 5], moderator=moderator, email=f"r{n}@example.org")
        # Spread over months, so the chart has several bars.
        for n, req in enumerate(TakedownRequest.objects.order_by("pk")):
            TakedownRequest.objects.filter(pk=req.pk).update(received_at=req.received_at - timedelta(days=31 * (n % 4)))
        cls.expected_on_page, cls.expected_decisions = 50, 52


# --- redaction: no requester's personal data on any public page ----------------------------------

PERSONAL = {
    "name": "欧阳寒梅Zq7",
    "email": "hanmei.zq7.secret@example.org",
    "phone": "+86 139 7777 0421",
    "address": "幽兰市秘密路 9421 号",
    "signature": "欧阳寒梅Zq7签名",
}


# What a moderator might type into a statement of reasons, and a counter-notifier into their
# explanation; each of these must be taken out before publication.
TYPED = {
    "email": "hanmei.zq7.secret@example.org",
    "mobile": "13977770421",
    "landline": "0755-8899 4421",
    "international": "+44 20 7946 0958",
    "resident id": "11010519900307421X",
    "name": "欧阳寒梅Zq7",
    "counter-notifier": "司马青Zq7",
    "counter-notifier's phone": "+86 186 1234 9421",
}
REASON_WITH_PERSONAL_DATA = (
    f"权利人{TYPED['name']}（身份证 {TYPED['resident id']}）提交了首发证明；联系 {TYPED['email']}，"
    f"{TYPED['mobile']}，{TYPED['landline']}，{TYPED['international']}。首发于 2023-09-14。"
)
EXPLANATION_WITH_PERSONAL_DATA = (
    f"我是{TYPED['counter-notifier']}，电话 {TYPED["counter-notifier's phone"]}。该稿件为政府新闻稿。"
)


class RedactionTests(PublicPageTestCase):
    """A request with distinctive personal data is decided, disputed and published; no public page
    or export shows any of it (the private status page is the requester's own and not checked)."""

    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("社会")
        cls.withheld = make_snapshot(title="屏蔽快照", category=cls.category)
        cls.refused = make_snapshot(title="保留快照", category=cls.category)
        cls.neighbour = make_snapshot(title="相邻快照", category=cls.category)
        make_related_link(cls.neighbour, title="链接", target=cls.withheld)
        moderator = make_moderator()
        cls.req = make_request(cls.withheld, cls.refused, status=Status.IN_REVIEW, organisation="", **PERSONAL)
        refused_item = cls.req.items.get(snapshot=cls.refused)
        services.takedown_approve(
            request_id=cls.req.pk,
            moderator=moderator,
            reason=REASON_WITH_PERSONAL_DATA,
            outcomes={refused_item.pk: "refused"},
        )
        cls.other = make_request(
            make_snapshot(), status=Status.DISPUTED, **{**PERSONAL, "email": "zq7.second@example.org"}
        )
        make_counter_notice(cls.withheld, name="司马青Zq7", explanation=EXPLANATION_WITH_PERSONAL_DATA)

    def public_pages(self) -> dict[str, str]:
        """Every page a visitor can GET, found in the URLconf (so a page added later is searched
        too): each route filled with every snapshot key and category slug, in both languages."""
        pages = {}
        for url in public_urls() + [
            f"{TRANSPARENCY}?reference={self.req.reference}",
            f"{TRANSPARENCY}?reference={self.other.reference}",
            f"{DECISIONS_JSON}?page=1",
            *(f"/takedown/counter/?url=http://testserver{s.get_absolute_url()}" for s in Snapshot.objects.all()),
            *(f"{NEW}?url=http://testserver{s.get_absolute_url()}" for s in Snapshot.objects.all()),
        ]:
            for headers in [EN, ZH]:
                response = self.client.get(url, headers=headers)
                self.assertIn(response.status_code, (200, 404, 451), url)
                body = b"".join(response.streaming_content) if response.streaming else response.content
                pages[f"{url} {headers}"] = body.decode() + str(response.headers)
        return pages

    def exports(self) -> dict[str, str]:
        """What leaves the archive in bulk: the snapshot export (the transparency JSON is a page)."""
        out = io.StringIO()
        call_command("export_snapshots", stdout=out)
        return {"export_snapshots": out.getvalue()}

    def test_no_public_page_or_export_shows_the_requesters_personal_data(self):
        pages = self.public_pages()
        self.assertIn(self.req.reference, pages[f"{TRANSPARENCY} {EN}"])
        self.assertIn(self.req.reference, pages[f"{self.withheld.get_absolute_url()} {EN}"])
        self.assertIn(self.other.reference, pages[f"{DECISIONS_JSON} {EN}"])
        self.assertIn(self.req.reference, pages[f"/transparency/statements.json {EN}"])
        self.assertIn(self.req.reference, pages[f"/transparency/statements.csv {EN}"])
        self.assertIn(self.neighbour.title, pages[f"{self.neighbour.get_absolute_url()} {EN}"])
        exports = self.exports()
        self.assertIn(self.neighbour.title, exports["export_snapshots"])
        for url, content in {**pages, **exports}.items():
            for field, value in PERSONAL.items():
                with self.subTest(url=url, field=field):
                    self.assertNotIn(value, content)
                    self.assertNotIn(value.split("@")[0], content)
                    self.assertNotIn(json.dumps(value)[1:-1], content)  # as escaped in JSON
        self.assertNotIn("zq7.second", "".join(pages.values()))

    def test_personal_data_typed_into_the_published_texts_is_taken_out_and_the_rest_kept(self):
        pages = self.public_pages()
        record = pages[f"{TRANSPARENCY}?reference={self.req.reference} {EN}"]
        self.assertIn("首发于 2023-09-14。", record)  # the statement of reasons is published...
        self.assertIn("该稿件为政府新闻稿。", record)  # ... and the counter-notice's explanation
        for marker in ["[name]", "[ID number]", "[email]", "[phone]"]:
            self.assertIn(marker, record)
        for url, content in pages.items():
            for what, value in TYPED.items():
                with self.subTest(url=url, what=what):
                    self.assertNotIn(value, content)
                    self.assertNotIn(json.dumps(value)[1:-1], content)

    def test_moderators_still_read_the_originals(self):
        self.client.force_login(make_moderator("reader"))
        page = self.client.get(reverse("admin:moderation_takedownrequest_change", args=[self.req.pk])).content.decode()
        self.assertIn(REASON_WITH_PERSONAL_DATA, page)
        self.assertIn(EXPLANATION_WITH_PERSONAL_DATA, page)


# Routes that are not public or show nothing: the admin, the language switch (a redirect), readers'
# accounts and their own pages, the API (a POST), and the requester's private status page (their own
# data, by token).
PRIVATE_ROUTES = ("admin/", "language/", "accounts/", "me/", "api/", "takedown/status/")


def public_urls() -> list[str]:
    """Every public route of the URLconf with its parameters filled from the database."""
    values = {
        "key": list(Snapshot.objects.values_list("key", flat=True)),
        "slug": [c.slug for c in Category.objects.all()],
        "section": list(SITEMAPS),
    }
    urls = []

    def walk(patterns, prefix):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if route.startswith(PRIVATE_ROUTES):
                continue
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, route)
                continue
            names = re.findall(r"<(?:\w+:)?(\w+)>", route)
            unknown = set(names) - set(values)
            assert not unknown, f"the redaction test does not know how to fill {unknown} in {route!r}: teach it"
            filled = [route]
            for name in names:
                filled = [
                    re.sub(rf"<(?:\w+:)?{name}>", value, url, count=1) for url in filled for value in values[name]
                ]
            urls.extend("/" + url.lstrip("^").rstrip("$") for url in filled)

    walk(get_resolver().url_patterns, "")
    return urls


class ContentSniffingTests(TestCase):
    def test_markup_split_between_chunks_is_still_seen(self):
        content = b"a" * (64 * 1024 - 3) + b"<script>alert(1)</script>"
        self.assertIsNone(sniff_content_type(upload("long.txt", content)))
        self.assertEqual(sniff_content_type(upload("long.txt", b"a" * (200 * 1024))), "text/plain")
        # A multi-byte character split between chunks is still text.
        self.assertEqual(sniff_content_type(upload("zh.txt", "中".encode() * 50_000)), "text/plain")


class EmptyTransparencyTests(TestCase):
    """An archive with no removal requests at all."""

    def test_an_empty_report_says_so(self):
        html = self.client.get(TRANSPARENCY, headers=EN).content.decode()
        self.assertIn("No removal requests yet.", html)
        self.assertIn("No request has been decided yet.", html)
        self.assertIn("no decision yet", html)
        self.assertEqual(decisions_json(self.client)["decisions"], [])


class DeployCheckTests(TestCase):
    def test_check_deploy_warns_when_the_rate_limit_cache_is_not_shared_between_workers(self):
        from moderation.checks import check_rate_limit_cache

        def redis(number):
            return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": f"redis://r:6379/{number}"}

        local = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
        with self.settings(CACHES={"default": redis(1), "ratelimit": local}):
            self.assertEqual([w.id for w in check_rate_limit_cache(None)], ["moderation.W001"])
        with self.settings(CACHES={"default": redis(1), "ratelimit": redis(1)}):
            self.assertEqual([w.id for w in check_rate_limit_cache(None)], ["moderation.W002"])
        with self.settings(CACHES={"default": redis(1), "ratelimit": redis(2)}):
            self.assertEqual(check_rate_limit_cache(None), [])


class PublicRecordOfSpecialOutcomesTests(PublicPageTestCase):
    """A request closed for an unanswered question is marked as decided by automation; a URL that
    another decision withholds names that decision."""

    def test_decisions_json_marks_a_lapsed_request_automated_and_shows_each_claims_own_state(self):
        moderator = make_moderator()
        snapshot = make_snapshot()
        first = make_request(snapshot, status=Status.APPROVED, moderator=moderator, email="first@example.org")
        second = make_request(snapshot, status=Status.APPROVED, moderator=moderator, email="second@example.org")
        lapsed = make_request(status=Status.INFO_REQUESTED, moderator=moderator, email="slow@example.org")
        services.takedown_tick(now=TakedownRequest.objects.get(pk=lapsed.pk).info_due_at)
        records = {d["reference"]: d for d in decisions_json(self.client)["decisions"]}
        self.assertEqual(
            {ref: d["automated"] for ref, d in records.items()},
            {first.reference: False, second.reference: False, lapsed.reference: True},
        )
        self.assertEqual(records[lapsed.reference]["decision"], "rejected")
        make_counter_notice(snapshot)
        services.takedown_report_lawsuit(request_id=second.pk, note="已起诉")
        services.takedown_tick(now=timezone.now() + timedelta(days=16))
        records = {d["reference"]: d for d in decisions_json(self.client)["decisions"]}
        self.assertEqual(
            [(records[r.reference]["status"], records[r.reference]["items"][0]["claim"]) for r in (first, second)],
            [("restored", "restored"), ("disputed", "disputed")],
        )
        html = self.client.get(f"{TRANSPARENCY}?reference={first.reference}", headers=EN).content.decode()
        self.assertIn("restored after a counter-notice", html)
        html = self.client.get(f"{TRANSPARENCY}?reference={second.reference}", headers=EN).content.decode()
        self.assertIn("withheld, disputed by a counter-notice", html)
