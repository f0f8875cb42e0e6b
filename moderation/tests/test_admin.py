"""The moderators' desk in the admin: the queue, a request's file, the workflow buttons, evidence
downloads, the event log, requesters, and who may do what."""

import re
from datetime import date, datetime, timedelta
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test import Client, TestCase, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from articles.models import SHANGHAI, Snapshot
from articles.tests.helpers import make_source
from articles.tests.query_counts import ADMIN
from articles.tests.test_admin import form_data
from moderation import services
from moderation.admin import TakedownRequestAdmin
from moderation.models import ModerationEvent, Requester, TakedownItem, TakedownRequest
from newsarchive.admin import LargeTablePaginator
from newsarchive.testing import sending_mail

from .helpers import (
    make_editor,
    make_evidence_upload,
    make_moderator,
    make_request,
    make_snapshot,
    make_staff,
    make_superuser,
    temporary_evidence_storage,
)

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome

CHANGELIST = reverse("admin:moderation_takedownrequest_changelist")
REQUESTERS = reverse("admin:moderation_requester_changelist")
EVENTS = reverse("admin:moderation_moderationevent_changelist")
LOGIN = reverse("admin:login")


def change_url(req) -> str:
    return reverse("admin:moderation_takedownrequest_change", args=[req.pk])


def move_url(req, move: str) -> str:
    return reverse(f"admin:moderation_takedownrequest_{move}", args=[req.pk])


def evidence_url(req, evidence) -> str:
    return reverse("admin:moderation_takedownrequest_evidence", args=[req.pk, evidence.pk])


def messages_of(response) -> list[str]:
    """The messages a response set (with those still unread from earlier responses)."""
    return [str(message) for message in get_messages(response.wsgi_request)]


def changelist_rows(response) -> dict[str, str]:
    """Each result row of a changelist, by the reference in its first column, in page order."""
    rows = re.findall(r'<tr>\s*<td class="action-checkbox">.*?</tr>', response.content.decode(), re.S)
    return {re.search(r'<th class="field-reference"><a [^>]*>(.*?)</a>', row).group(1): row for row in rows}


def state_of(*requests) -> dict:
    """Everything a move could change, to show that a refused one changed nothing."""
    return {
        "requests": list(TakedownRequest.objects.filter(pk__in=[r.pk for r in requests]).order_by("pk").values()),
        "items": list(TakedownItem.objects.order_by("pk").values()),
        "events": list(ModerationEvent.objects.order_by("pk").values_list("pk", flat=True)),
        "snapshots": list(Snapshot.objects.order_by("pk").values_list("pk", "status", "title")),
    }


class AdminTestCase(TestCase):
    """Pages in English, so that the assertions read the msgids whatever the translations say, and
    evidence files in a throwaway directory."""

    @classmethod
    def setUpClass(cls):
        cls.enterClassContext(temporary_evidence_storage())
        super().setUpClass()

    def setUp(self):
        self.client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    def login(self, user):
        self.client.force_login(user)

    def forget_messages(self):
        """Drop the messages earlier responses left unread, so the next response's stand alone."""
        self.client.cookies.pop("messages", None)


# --- the queue ---------------------------------------------------------------------------------


class QueueTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")
        cls.other = make_moderator("other")
        now = timezone.now()
        cls.decided = make_request(status=Status.APPROVED, email="done@example.org")
        cls.late = make_request(email="late@example.org", organisation="迟到出版社")
        cls.soon = make_request(email="soon@example.org")
        cls.later = make_request(make_snapshot(), make_snapshot(), status=Status.IN_REVIEW, moderator=cls.other)
        for req, due in [(cls.decided, -5), (cls.late, -2), (cls.soon, 2), (cls.later, 10)]:
            TakedownRequest.objects.filter(pk=req.pk).update(due_at=now + timedelta(hours=due))

    def setUp(self):
        super().setUp()
        self.login(self.moderator)

    def references(self, query=None) -> list[str]:
        response = self.client.get(CHANGELIST, query or {})
        self.assertEqual(response.status_code, 200)
        return list(changelist_rows(response))

    def test_queue_is_sorted_by_deadline(self):
        self.assertEqual(self.references(), [r.reference for r in (self.decided, self.late, self.soon, self.later)])

    def test_queue_pages_keep_the_deadline_order_and_the_url_counts(self):
        shown, counts = [], {}
        with mock.patch.object(TakedownRequestAdmin, "list_per_page", 3):
            for page in [1, 2]:
                rows = changelist_rows(self.client.get(CHANGELIST, {"p": page}))
                shown += list(rows)
                counts |= {ref: re.search(r'field-url_count">(\d+)<', row).group(1) for ref, row in rows.items()}
        self.assertEqual(shown, [r.reference for r in (self.decided, self.late, self.soon, self.later)])
        self.assertEqual(
            counts,
            {
                self.decided.reference: "1",
                self.late.reference: "1",
                self.soon.reference: "1",
                self.later.reference: "2",
            },
        )

    def test_queue_sorts_by_url_count(self):
        self.assertEqual(self.references({"o": "5"})[-1], self.later.reference)

    def test_open_requests_past_their_deadline_are_flagged_and_decided_ones_are_not(self):
        rows = changelist_rows(self.client.get(CHANGELIST))
        flagged = [reference for reference, row in rows.items() if 'class="takedown-overdue"' in row]
        self.assertEqual(flagged, [self.late.reference])
        self.assertIn("overdue by", rows[self.late.reference])

    def test_columns_show_organisation_url_count_and_assignee(self):
        row = changelist_rows(self.client.get(CHANGELIST))[self.later.reference]
        self.assertIn('<td class="field-url_count">2</td>', row)
        self.assertIn('<td class="field-assignee nowrap">other</td>', row)
        self.assertIn('<td class="field-status">in review</td>', row)
        late = changelist_rows(self.client.get(CHANGELIST))[self.late.reference]
        self.assertIn("迟到出版社", late)

    def test_filters_and_search(self):
        cases = [
            ({"status__exact": "in_review"}, [self.later]),
            ({"status__exact": "submitted"}, [self.late, self.soon]),
            ({"overdue": "yes"}, [self.late]),
            ({"overdue": "no"}, [self.decided, self.soon, self.later]),
            ({"assignee__id__exact": self.other.pk}, [self.later]),
            ({"q": self.late.reference}, [self.late]),
            ({"q": "soon@example"}, [self.soon]),
        ]
        for query, expected in cases:
            with self.subTest(query=query):
                self.assertEqual(self.references(query), [r.reference for r in expected])

    # PostgreSQL's count as past 100,000 requests: the planner's estimate in place of COUNT(*).
    @mock.patch.object(LargeTablePaginator, "ESTIMATE_ABOVE", 0)
    def test_changelist_queries_do_not_grow_with_the_number_of_requests(self):
        with CaptureQueriesContext(connection) as few:
            self.client.get(CHANGELIST)
        for _ in range(4):
            make_request(status=Status.IN_REVIEW, moderator=self.other, email=f"more{_}@example.org")
        with CaptureQueriesContext(connection) as more:
            response = self.client.get(CHANGELIST)
        self.assertEqual(len(changelist_rows(response)), 8)
        # A moderator's queue: session, user and permissions included.
        self.assertEqual([len(few), len(more)], [ADMIN["queue"]] * 2, "\n".join(q["sql"] for q in more))

    def test_requests_cannot_be_added_or_deleted_even_by_a_superuser(self):
        for user in [self.moderator, make_superuser()]:
            with self.subTest(user=user.username):
                self.login(user)
                self.assertEqual(self.client.get(reverse("admin:moderation_takedownrequest_add")).status_code, 403)
                delete_url = reverse("admin:moderation_takedownrequest_delete", args=[self.soon.pk])
                self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
                content = self.client.get(CHANGELIST).content.decode()
                select = re.search(r'<select name="action".*?</select>', content, re.S).group(0)
                self.assertEqual(
                    re.findall(r'<option value="(\w+)"', select),
                    ["assign_to_me", "take_into_review", "add_story_siblings"],
                )
        self.assertTrue(TakedownRequest.objects.filter(pk=self.soon.pk).exists())

    def test_assign_to_me_assigns_each_selected_request_and_records_it(self):
        response = self.client.post(
            CHANGELIST, {"action": "assign_to_me", "_selected_action": [self.late.pk, self.later.pk], "index": 0}
        )
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        self.assertEqual(messages_of(response), ["2 requests assigned to you."])
        for req in (self.late, self.later):
            self.assertEqual(TakedownRequest.objects.get(pk=req.pk).assignee, self.moderator)
            self.assertEqual(req.events.order_by("id").last().action, "assign")

    def test_take_into_review_reports_each_refusal(self):
        response = self.client.post(
            CHANGELIST,
            {"action": "take_into_review", "_selected_action": [self.late.pk, self.decided.pk], "index": 0},
        )
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        messages = messages_of(response)
        self.assertEqual(len(messages), 2)
        self.assertTrue(messages[0].startswith(f"Cannot take into review {self.decided.reference}: it is approved."))
        self.assertEqual(messages[1], "1 request taken into review.")
        self.assertEqual(TakedownRequest.objects.get(pk=self.late.pk).status, Status.IN_REVIEW)
        self.assertEqual(TakedownRequest.objects.get(pk=self.decided.pk).status, Status.APPROVED)

    def test_take_into_review_from_the_change_page(self):
        response = self.client.post(
            change_url(self.soon), {"CHANGE_FORM-action": "take_into_review", "_selected_action": self.soon.pk}
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(TakedownRequest.objects.get(pk=self.soon.pk).status, Status.IN_REVIEW)
        self.assertEqual(messages_of(response), ["1 request taken into review."])


# --- a request's page ----------------------------------------------------------------------------


class ChangePageTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")
        cls.older = make_snapshot(
            title="早已发表的快照",
            published_at=datetime(2023, 1, 5, 9, 0, tzinfo=SHANGHAI),
            captured_at=datetime(2023, 1, 6, 9, 0, tzinfo=SHANGHAI),
        )
        cls.newer = make_snapshot(
            title="后来发表的快照",
            published_at=datetime(2025, 3, 1, 9, 0, tzinfo=SHANGHAI),
            captured_at=datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI),
        )
        cls.earlier = make_request(status=Status.REJECTED)
        cls.req = make_request(
            cls.older,
            cls.newer,
            status=Status.IN_REVIEW,
            moderator=cls.moderator,
            work_date=date(2024, 6, 1),
            files=[make_evidence_upload("著作权证书.pdf", b"%PDF-1.4 certificate")],
        )
        cls.evidence = cls.req.files.get()

    def setUp(self):
        super().setUp()
        self.login(self.moderator)

    def test_page_shows_the_requesters_submission(self):
        response = self.client.get(change_url(self.req))
        self.assertEqual(response.status_code, 200)
        for value in [
            self.req.reference,
            "张三",
            "人民资讯版权部",
            "rights@example.org",
            "+86 10 1234 5678",
            "北京市朝阳区某路 1 号",
            self.req.works.get().description,
            "该快照全文转载了我方享有著作权的报道。",
            "原文由我方记者撰写并首发。",
        ]:
            with self.subTest(value=value):
                self.assertContains(response, value)

    def test_each_url_is_shown_with_its_snapshot_beside_the_claimed_date_of_the_work(self):
        content = self.client.get(change_url(self.req)).content.decode()
        table = re.search(r'<div class="module takedown-section" id="listed-urls">.*?</table>', content, re.S).group(0)
        self.assertIn(f'<a href="{self.older.get_absolute_url()}">早已发表的快照</a>', table)
        self.assertIn(f'<a href="{self.newer.get_absolute_url()}">后来发表的快照</a>', table)
        for text in ["2023-01-05 09:00", "2023-01-06 09:00", "2025-03-01 09:00", "2025-03-02 09:00", "2024-06-01"]:
            with self.subTest(text=text):
                self.assertIn(text, table)

    def test_a_work_dated_after_the_snapshots_publication_and_capture_is_flagged(self):
        content = self.client.get(change_url(self.req)).content.decode()
        flags = re.findall(r'<strong class="takedown-flag">(.*?)</strong>', content, re.S)
        self.assertEqual(
            flags,
            [
                "The requester dates the work 2024-06-01: later than this snapshot&#x27;s publication at its "
                "source (2023-01-05) and later than its capture here (2023-01-06)."
            ],
        )
        row = re.search(r'<tr class="takedown-backdated">\s*<td>1</td>', content)
        self.assertIsNotNone(row, "the backdated URL's row is marked")

    def test_a_work_dated_between_publication_and_capture_is_flagged_for_the_capture(self):
        snapshot = make_snapshot(
            published_at=datetime(2024, 5, 1, 9, 0, tzinfo=SHANGHAI),
            captured_at=datetime(2024, 5, 3, 9, 0, tzinfo=SHANGHAI),
        )
        req = make_request(snapshot, email="between@example.org", work_date=date(2024, 5, 2))
        content = self.client.get(change_url(req)).content.decode()
        self.assertIn("later than this snapshot&#x27;s publication at its source (2024-05-01).", content)

    def test_no_flag_when_the_work_predates_the_snapshots(self):
        req = make_request(self.newer, email="honest@example.org", work_date=date(2022, 1, 1))
        self.assertNotContains(self.client.get(change_url(req)), 'class="takedown-flag"')
        req = make_request(make_snapshot(), email="undated@example.org")
        self.assertNotContains(self.client.get(change_url(req)), 'class="takedown-flag"')

    def test_the_requesters_earlier_requests_and_their_outcomes_are_shown(self):
        content = self.client.get(change_url(self.req)).content.decode()
        section = re.search(r'id="requester-history">.*?</div>', content, re.S).group(0)
        self.assertIn("rights@example.org has filed 2 requests, 1 of them rejected.", " ".join(section.split()))
        (row,) = re.findall(r'<tr class="earlier-request">.*?</tr>', section, re.S)
        self.assertIn(self.earlier.reference, row)
        self.assertIn("<td>rejected</td>", row)
        self.assertNotIn(self.req.reference, section)

    def test_counter_notices_are_shown(self):
        req = make_request(status=Status.DISPUTED, email="disputed@example.org")
        response = self.client.get(change_url(req))
        self.assertContains(response, "李四")
        self.assertContains(response, "uploader@example.net")
        self.assertContains(response, "该报道是公开的政府新闻稿，不构成侵权。")

    def test_event_history_is_shown_oldest_first(self):
        content = self.client.get(change_url(self.req)).content.decode()
        events = re.findall(r'<tr class="event">\s*<td>[^<]*</td>\s*<td>([^<]*)</td>\s*<td>([^<]*)</td>', content)
        self.assertEqual(events, [("requester", "submit"), ("mod", "review")])

    def test_every_field_is_read_only_and_posting_the_form_changes_nothing(self):
        for user in [self.moderator, make_superuser()]:
            with self.subTest(user=user.username):
                self.login(user)
                response = self.client.get(change_url(self.req))
                content = response.content.decode()
                for name in ["status", "decision_reason", "assignee", "email", "work_date", "due_at", "name"]:
                    self.assertNotIn(f'name="{name}"', content)
                self.assertNotIn('name="_save"', content)
                before = state_of(self.req)
                data = {
                    "status": "approved",
                    "decision_reason": "改过",
                    "email": "evil@example.org",
                    "assignee": user.pk,
                    "_save": "Save",
                }
                self.assertEqual(self.client.post(change_url(self.req), data).status_code, 403)
                self.assertEqual(state_of(self.req), before)

    def test_workflow_buttons_offered_are_those_the_state_allows(self):
        expected = {
            Status.SUBMITTED: ["review"],
            Status.IN_REVIEW: ["ask", "approve", "reject"],
            Status.INFO_REQUESTED: ["reject"],
            Status.APPROVED: [],
            Status.REJECTED: [],
            Status.WITHDRAWN: [],
            Status.DISPUTED: ["uphold", "restore"],
            Status.RESTORED: [],
        }
        for status, moves in expected.items():
            with self.subTest(status=status):
                req = make_request(status=status, email=f"{status}@example.org")
                content = self.client.get(change_url(req)).content.decode()
                self.assertEqual(re.findall(r'class="takedown-move takedown-move-(\w+)"', content), moves)
                for move in moves:
                    self.assertIn(f'href="{move_url(req, move)}"', content)

    def test_evidence_files_are_listed_with_a_download_link_and_no_public_url(self):
        response = self.client.get(change_url(self.req))
        self.assertContains(response, f'<a href="{evidence_url(self.req, self.evidence)}" download>著作权证书.pdf</a>')
        self.assertNotContains(response, self.evidence.file.name)
        self.assertEqual(self.client.get("/" + self.evidence.file.name).status_code, 404)
        self.assertEqual(self.client.get("/media/" + self.evidence.file.name).status_code, 404)


class EvidenceDownloadTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")
        cls.req = make_request(files=[make_evidence_upload("著作权证书.pdf", b"%PDF-1.4 certificate")])
        cls.evidence = cls.req.files.get()
        cls.other = make_request(email="other@example.org", files=[make_evidence_upload("other.pdf")])

    def test_moderators_and_superusers_download_the_file_as_an_attachment(self):
        for user in [self.moderator, make_superuser()]:
            with self.subTest(user=user.username):
                self.login(user)
                response = self.client.get(evidence_url(self.req, self.evidence))
                self.assertEqual(response.status_code, 200)
                self.assertEqual(b"".join(response.streaming_content), b"%PDF-1.4 certificate")
                self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
                self.assertIn(
                    "filename*=utf-8''%E8%91%97%E4%BD%9C%E6%9D%83%E8%AF%81%E4%B9%A6.pdf",
                    response["Content-Disposition"],
                )
                self.assertEqual(response["Content-Type"], "application/octet-stream")
                self.assertIn("no-store", response["Cache-Control"])

    def test_editors_staff_without_permission_and_anonymous_visitors_cannot_download(self):
        url = evidence_url(self.req, self.evidence)
        response = self.client.get(url)
        self.assertRedirects(response, f"{LOGIN}?next={url}", fetch_redirect_response=False)
        for user in [make_editor(), make_staff()]:
            with self.subTest(user=user.username):
                self.login(user)
                self.assertEqual(self.client.get(url).status_code, 403)

    def test_a_file_of_another_request_is_not_found_through_this_one(self):
        self.login(self.moderator)
        other_file = self.other.files.get()
        self.assertEqual(self.client.get(evidence_url(self.req, other_file)).status_code, 404)


# --- the workflow buttons ------------------------------------------------------------------------


class WorkflowTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")
        cls.other = make_moderator("other")

    def setUp(self):
        super().setUp()
        self.login(self.moderator)

    def post_move(self, req, move, data):
        with sending_mail():
            return self.client.post(move_url(req, move), data)

    def fresh(self, req) -> TakedownRequest:
        return TakedownRequest.objects.get(pk=req.pk)

    def test_review_takes_a_submitted_request_into_review_and_assigns_it(self):
        req = make_request()
        form = self.client.get(move_url(req, "review"))
        self.assertEqual(form.status_code, 200)
        self.assertContains(form, 'name="reason"')
        response = self.post_move(req, "review", {"reason": "开始审查"})
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        self.assertEqual(messages_of(response), [f"{req.reference} is in review."])
        req = self.fresh(req)
        self.assertEqual((req.status, req.assignee), (Status.IN_REVIEW, self.moderator))
        event = req.events.order_by("id").last()
        self.assertEqual((event.action, event.actor, event.note), ("review", self.moderator, "开始审查"))

    def test_ask_sends_the_question_to_the_requester(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        mail.outbox.clear()
        response = self.post_move(req, "ask", {"reason": "请提供原文发表的截图。"})
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        req = self.fresh(req)
        self.assertEqual((req.status, req.info_request), (Status.INFO_REQUESTED, "请提供原文发表的截图。"))
        self.assertEqual([m.to for m in mail.outbox], [["rights@example.org"]])
        self.assertIn("请提供原文发表的截图。", mail.outbox[0].body)

    def test_approve_with_one_url_refused_withholds_only_the_other(self):
        kept, withheld = make_snapshot(title="保留的快照"), make_snapshot(title="屏蔽的快照")
        req = make_request(withheld, kept, status=Status.IN_REVIEW, moderator=self.moderator)
        item_withheld, item_kept = req.items.order_by("position")
        form = self.client.get(move_url(req, "approve"))
        self.assertContains(form, f'name="item_{item_withheld.pk}"', count=2)
        self.assertContains(form, f'name="item_{item_kept.pk}"', count=2)
        mail.outbox.clear()
        response = self.post_move(
            req,
            "approve",
            {
                "reason": "权利证明充分。",
                "ground": "copyright",
                f"item_{item_withheld.pk}": "actioned",
                f"item_{item_kept.pk}": "refused",
            },
        )
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        req = self.fresh(req)
        self.assertEqual(
            (req.status, req.ground, req.decision_reason), (Status.APPROVED, "copyright", "权利证明充分。")
        )
        self.assertEqual(
            list(req.items.order_by("position").values_list("outcome", flat=True)), [Outcome.ACTIONED, Outcome.REFUSED]
        )
        self.assertEqual(Snapshot.objects.get(pk=withheld.pk).status, Snapshot.Status.WITHHELD)
        self.assertEqual(Snapshot.objects.get(pk=kept.pk).status, Snapshot.Status.PUBLISHED)
        self.assertIn(self.client.get(withheld.get_absolute_url()).status_code, (404, 451))
        self.assertEqual(self.client.get(kept.get_absolute_url()).status_code, 200)
        self.assertEqual([m.to for m in mail.outbox], [["rights@example.org"]])
        self.assertIn("权利证明充分。", mail.outbox[0].body)

    def test_approving_every_url_refused_is_refused_with_the_services_reason(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        (item,) = req.items.all()
        before = state_of(req)
        response = self.post_move(
            req, "approve", {"reason": "理由", "ground": "copyright", f"item_{item.pk}": "refused"}
        )
        self.assertEqual(response.status_code, 200, "the form is shown again, with what was typed")
        self.assertContains(response, "理由")
        self.assertEqual(messages_of(response), ["Nothing would be withheld: reject the request instead."])
        self.assertEqual(state_of(req), before)

    def test_reject_refuses_every_url_and_tells_the_requester_why(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.moderator)
        mail.outbox.clear()
        response = self.post_move(req, "reject", {"reason": "该报道为公开新闻稿。", "ground": "none"})
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        req = self.fresh(req)
        self.assertEqual((req.status, req.ground), (Status.REJECTED, "none"))
        self.assertEqual(list(req.items.values_list("outcome", flat=True)), [Outcome.REFUSED])
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).status, Snapshot.Status.PUBLISHED)
        self.assertIn("该报道为公开新闻稿。", mail.outbox[0].body)

    def test_uphold_ends_a_dispute_keeping_the_snapshots_withheld(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        response = self.post_move(req, "uphold", {"reason": "权利人已起诉。"})
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        req = self.fresh(req)
        self.assertEqual((req.status, req.items.get().restore_after), (Status.APPROVED, None))
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).status, Snapshot.Status.WITHHELD)

    def test_restore_ends_a_dispute_bringing_the_snapshots_back(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        response = self.post_move(req, "restore", {"reason": "反通知理由成立。"})
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        self.assertEqual(self.fresh(req).status, Status.RESTORED)
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).status, Snapshot.Status.PUBLISHED)
        self.assertEqual(self.client.get(snapshot.get_absolute_url()).status_code, 200)

    def test_a_decision_without_a_reason_is_asked_again_and_changes_nothing(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        before = state_of(req)
        for move in ["ask", "approve", "reject"]:
            with self.subTest(move=move):
                response = self.post_move(req, move, {"reason": "  ", "ground": "copyright"})
                self.assertEqual(response.status_code, 200)
                self.assertTrue(response.context["form"].errors["reason"])
                self.assertEqual(state_of(req), before)

    def test_a_move_the_state_does_not_allow_is_refused_with_the_services_message(self):
        cases = [
            (Status.SUBMITTED, "approve"),
            (Status.SUBMITTED, "reject"),
            (Status.IN_REVIEW, "review"),
            (Status.IN_REVIEW, "restore"),
            (Status.INFO_REQUESTED, "approve"),
            (Status.APPROVED, "reject"),
            (Status.APPROVED, "uphold"),
            (Status.REJECTED, "approve"),
            (Status.WITHDRAWN, "review"),
            (Status.DISPUTED, "ask"),
            (Status.RESTORED, "restore"),
        ]
        requests = {}
        for status, move in cases:
            with self.subTest(status=status, move=move):
                if status not in requests:
                    requests[status] = make_request(status=status, email=f"{status}@example.org")
                req = requests[status]
                before = state_of(req)
                data = {"reason": "理由", "ground": "copyright"}
                data.update({f"item_{item.pk}": "actioned" for item in req.items.filter(outcome=Outcome.PENDING)})
                self.forget_messages()
                response = self.post_move(req, move, data)
                self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
                (message,) = get_messages(response.wsgi_request)
                self.assertEqual(message.level_tag, "error")
                self.assertTrue(str(message).startswith("Cannot "), str(message))
                self.assertIn(f"{req.reference}: it is {req.get_status_display()}.", str(message))
                self.assertEqual(state_of(req), before)

    def test_opening_a_move_the_state_does_not_allow_sends_back_to_the_request(self):
        req = make_request()
        response = self.client.get(move_url(req, "approve"))
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        self.assertEqual(messages_of(response), [f"“Approve” is not possible now: {req.reference} is submitted."])

    def test_when_another_moderator_decided_first_the_second_is_told_and_nothing_changes(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.moderator)
        (item,) = req.items.all()
        self.assertEqual(self.client.get(move_url(req, "approve")).status_code, 200)
        services.takedown_reject(request_id=req.pk, moderator=self.other, reason="证据不足。")
        before = state_of(req)
        response = self.post_move(
            req, "approve", {"reason": "权利证明充分。", "ground": "copyright", f"item_{item.pk}": "actioned"}
        )
        self.assertRedirects(response, change_url(req), fetch_redirect_response=False)
        (message,) = messages_of(response)
        self.assertIn(f"Cannot approve {req.reference}: it is rejected.", message)
        self.assertIn("by other at", message)
        self.assertEqual(state_of(req), before)
        self.assertEqual(req.events.filter(action__in=["approve", "reject"]).count(), 1)
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).status, Snapshot.Status.PUBLISHED)

    def test_workflow_posts_need_a_csrf_token(self):
        req = make_request()
        client = Client(enforce_csrf_checks=True)
        client.force_login(self.moderator)
        before = state_of(req)
        self.assertEqual(client.post(move_url(req, "review"), {"reason": "x"}).status_code, 403)
        self.assertEqual(state_of(req), before)
        form = client.get(move_url(req, "review"))
        self.assertContains(form, 'name="csrfmiddlewaretoken"')

    def test_the_approve_form_shows_the_timeline_check(self):
        snapshot = make_snapshot(published_at=datetime(2023, 1, 5, 9, 0, tzinfo=SHANGHAI))
        req = make_request(snapshot, status=Status.IN_REVIEW, work_date=date(2024, 6, 1))
        self.assertContains(self.client.get(move_url(req, "approve")), 'class="takedown-flag"')


# --- the event log ---------------------------------------------------------------------------------


class EventAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.req = make_request(status=Status.IN_REVIEW)
        cls.event = cls.req.events.order_by("id").first()

    def test_events_can_be_read_but_not_added_changed_or_deleted_by_anyone(self):
        change = reverse("admin:moderation_moderationevent_change", args=[self.event.pk])
        delete = reverse("admin:moderation_moderationevent_delete", args=[self.event.pk])
        before = list(ModerationEvent.objects.order_by("pk").values())
        for user in [make_moderator("mod"), make_superuser()]:
            with self.subTest(user=user.username):
                self.login(user)
                response = self.client.get(EVENTS)
                self.assertEqual(response.status_code, 200)
                self.assertContains(response, self.req.reference)
                self.assertNotContains(response, reverse("admin:moderation_moderationevent_add"))
                page = self.client.get(change)
                self.assertEqual(page.status_code, 200)
                self.assertNotContains(page, 'name="note"')
                self.assertEqual(self.client.get(reverse("admin:moderation_moderationevent_add")).status_code, 403)
                self.assertEqual(self.client.post(change, {"note": "改写历史", "_save": "Save"}).status_code, 403)
                self.assertEqual(self.client.get(delete).status_code, 403)
                self.assertEqual(self.client.post(delete, {"post": "yes"}).status_code, 403)
                self.client.post(
                    EVENTS, {"action": "delete_selected", "_selected_action": [self.event.pk], "post": "yes"}
                )
        self.assertEqual(list(ModerationEvent.objects.order_by("pk").values()), before)

    def test_there_is_no_inline_form_for_events_on_a_request(self):
        self.login(make_superuser())
        content = self.client.get(change_url(self.req)).content.decode()
        self.assertNotIn('name="events-TOTAL_FORMS"', content)
        self.assertNotIn("events-0-", content)


# --- requesters --------------------------------------------------------------------------------------


class RequesterAdminTests(AdminTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")
        make_request(status=Status.REJECTED, email="abuser@example.org")
        make_request(status=Status.REJECTED, email="abuser@example.org")
        make_request(status=Status.APPROVED, email="abuser@example.org")
        make_request(email="fine@example.org")
        cls.abuser = Requester.objects.get(email="abuser@example.org")

    def setUp(self):
        super().setUp()
        self.login(self.moderator)

    def measure_url(self, name):
        return reverse(f"admin:moderation_requester_{name}", args=[self.abuser.pk])

    def post_measure(self, name, data):
        with sending_mail():
            return self.client.post(self.measure_url(name), data)

    def test_list_shows_each_requesters_requests_and_rejections(self):
        content = self.client.get(REQUESTERS).content.decode()
        row = re.search(r"<tr>.*?abuser@example.org.*?</tr>", content, re.S).group(0)
        self.assertIn('<td class="field-request_count">3</td>', row)
        self.assertIn('<td class="field-rejected_count">2</td>', row)

    def test_the_requesters_page_lists_their_requests_and_is_read_only(self):
        page_url = reverse("admin:moderation_requester_change", args=[self.abuser.pk])
        response = self.client.get(page_url)
        for req in self.abuser.requests.all():
            self.assertContains(response, req.reference)
        self.assertNotContains(response, 'name="suspended_until"')
        self.assertEqual(
            self.client.post(page_url, {"suspended_until": "2099-01-01", "_save": "Save"}).status_code, 403
        )
        self.assertIsNone(Requester.objects.get(pk=self.abuser.pk).suspended_until)
        self.assertContains(response, f'href="{self.measure_url("warn")}"')

    def test_warn_records_the_warning_and_tells_the_requester(self):
        self.assertEqual(self.client.get(self.measure_url("warn")).status_code, 200)
        mail.outbox.clear()
        response = self.post_measure("warn", {"note": "两次无依据的通知。"})
        self.assertEqual(response.status_code, 302)
        self.assertEqual(messages_of(response), ["abuser@example.org was warned."])
        requester = Requester.objects.get(pk=self.abuser.pk)
        self.assertIsNotNone(requester.warned_at)
        self.assertIn("两次无依据的通知。", requester.abuse_note)
        self.assertEqual([m.to for m in mail.outbox], [["abuser@example.org"]])

    def test_list_filters_by_measure(self):
        self.assertNotIn("abuser@example.org", self.client.get(REQUESTERS, {"measure": "warned"}).content.decode())
        self.assertIn("fine@example.org", self.client.get(REQUESTERS).content.decode())

    def test_suspending_before_a_warning_is_refused(self):
        response = self.post_measure("suspend", {"note": "滥用。", "days": 30})
        self.assertEqual(messages_of(response), ["Warn a requester before suspending them."])
        self.assertIsNone(Requester.objects.get(pk=self.abuser.pk).suspended_until)

    def test_suspend_for_n_days_after_a_warning(self):
        self.post_measure("warn", {"note": "第一次警告。"})
        self.forget_messages()
        response = self.post_measure("suspend", {"note": "继续滥用。", "days": 7})
        self.assertEqual(messages_of(response), ["abuser@example.org is suspended."])
        until = Requester.objects.get(pk=self.abuser.pk).suspended_until
        self.assertAlmostEqual(until, timezone.now() + timedelta(days=7), delta=timedelta(minutes=1))
        for measure in ["warned", "suspended"]:
            with self.subTest(measure=measure):
                content = self.client.get(REQUESTERS, {"measure": measure}).content.decode()
                self.assertIn("abuser@example.org", content)
                self.assertNotIn("fine@example.org", content)

    def test_a_suspension_needs_a_note_and_at_least_one_day(self):
        response = self.post_measure("suspend", {"note": "", "days": 0})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(set(response.context["form"].errors), {"note", "days"})


# --- who may do what -------------------------------------------------------------------------------


class PermissionTests(AdminTestCase):
    """Anonymous visitors, editors, moderators and superusers against every admin page of the workflow."""

    @classmethod
    def setUpTestData(cls):
        cls.users = {
            "anonymous": None,
            "editor": make_editor(),
            "staff": make_staff(),
            "moderator": make_moderator("mod"),
            "superuser": make_superuser(),
        }
        cls.evidence_bytes = b"%PDF-1.4 the requester's own proof"
        cls.submitted = make_request(email="a@example.org", files=[make_evidence_upload(content=cls.evidence_bytes)])
        cls.in_review = make_request(status=Status.IN_REVIEW, email="b@example.org")
        cls.disputed = make_request(status=Status.DISPUTED, email="c@example.org")
        cls.evidence = cls.submitted.files.get()
        cls.snapshot = make_snapshot(title="编辑的快照")

    def as_user(self, role):
        self.client.logout()
        if self.users[role] is not None:
            self.client.force_login(self.users[role])

    def assert_answers(self, role, response, expected, url):
        if expected == "login":
            self.assertEqual(response.status_code, 302)
            self.assertTrue(response["Location"].startswith(f"{LOGIN}?next="), response["Location"])
        else:
            self.assertEqual(response.status_code, expected, f"{role} on {url}")

    def test_pages_answer_each_role_as_its_permissions_say(self):
        denied = {"anonymous": "login", "editor": 403, "staff": 403, "moderator": 200, "superuser": 200}
        urls = [
            CHANGELIST,
            change_url(self.submitted),
            move_url(self.submitted, "review"),
            move_url(self.in_review, "ask"),
            move_url(self.in_review, "approve"),
            move_url(self.in_review, "reject"),
            move_url(self.disputed, "uphold"),
            move_url(self.disputed, "restore"),
            evidence_url(self.submitted, self.evidence),
            REQUESTERS,
            reverse("admin:moderation_requester_change", args=[self.submitted.requester_id]),
            reverse("admin:moderation_requester_warn", args=[self.submitted.requester_id]),
            reverse("admin:moderation_requester_suspend", args=[self.submitted.requester_id]),
            EVENTS,
        ]
        cases = [(url, denied) for url in urls] + [
            (
                reverse("admin:articles_snapshot_changelist"),
                {"anonymous": "login", "editor": 200, "staff": 403, "moderator": 200, "superuser": 200},
            ),
        ]
        for url, expected in cases:
            for role, answer in expected.items():
                with self.subTest(url=url, role=role):
                    self.as_user(role)
                    self.assert_answers(role, self.client.get(url), answer, url)

    def test_only_moderators_and_superusers_can_make_a_move(self):
        moves = [(self.submitted, "review")] + [(self.in_review, m) for m in ("ask", "approve", "reject")]
        moves += [(self.disputed, m) for m in ("uphold", "restore")]
        for role in ["anonymous", "editor", "staff"]:
            for req, move in moves:
                with self.subTest(role=role, move=move):
                    self.as_user(role)
                    before = state_of(req)
                    response = self.client.post(move_url(req, move), {"reason": "理由", "ground": "copyright"})
                    self.assert_answers(role, response, "login" if role == "anonymous" else 403, move)
                    self.assertEqual(state_of(req), before)
        for role, req in [("moderator", self.submitted), ("superuser", self.in_review)]:
            with self.subTest(role=role):
                self.as_user(role)
                move = "review" if req.status == Status.SUBMITTED else "reject"
                self.client.post(move_url(req, move), {"reason": "理由", "ground": "none"})
                self.assertNotEqual(TakedownRequest.objects.get(pk=req.pk).status, req.status)

    def test_editors_cannot_act_on_requests_through_the_changelist_actions(self):
        self.as_user("editor")
        response = self.client.post(
            CHANGELIST, {"action": "take_into_review", "_selected_action": [self.submitted.pk], "index": 0}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(TakedownRequest.objects.get(pk=self.submitted.pk).status, Status.SUBMITTED)

    def test_snapshot_content_can_be_changed_by_editors_but_not_by_moderators(self):
        url = reverse("admin:articles_snapshot_change", args=[self.snapshot.pk])
        self.as_user("superuser")
        data = form_data(self.client.get(url), title="改过的标题")
        expected = {"anonymous": "login", "moderator": 403, "staff": 403, "editor": 302}
        for role, answer in expected.items():
            with self.subTest(role=role):
                Snapshot.objects.filter(pk=self.snapshot.pk).update(title="编辑的快照")
                self.as_user(role)
                self.assert_answers(role, self.client.post(url, data), answer, url)
                title = Snapshot.objects.get(pk=self.snapshot.pk).title
                self.assertEqual(title, "改过的标题" if role == "editor" else "编辑的快照")

    def test_moderators_cannot_hide_or_publish_snapshots(self):
        self.as_user("moderator")
        response = self.client.post(
            reverse("admin:articles_snapshot_changelist"),
            {"action": "hide", "_selected_action": [self.snapshot.pk], "index": 0},
        )
        self.assertIn(response.status_code, (200, 302))
        self.assertEqual(Snapshot.objects.get(pk=self.snapshot.pk).status, Snapshot.Status.PUBLISHED)

    def test_the_moderators_group_holds_exactly_the_permissions_something_checks(self):
        self.assertEqual(
            set(Group.objects.get(name="Moderators").permissions.values_list("content_type__app_label", "codename")),
            {
                ("moderation", "view_takedownrequest"),
                ("moderation", "decide_takedownrequest"),
                ("moderation", "view_evidencefile"),
                ("moderation", "view_requester"),
                ("moderation", "view_moderationevent"),
                ("moderation", "view_sourcerecord"),
                ("articles", "view_snapshot"),
                ("articles", "view_relatedlink"),
                ("articles", "view_category"),
                ("articles", "view_source"),
                ("outbox", "view_moderation_mail"),
                ("outbox", "resend_moderation_mail"),
            },
        )

    def test_holding_change_takedownrequest_alone_decides_nothing(self):
        user = make_staff("changer")
        user.user_permissions.add(Permission.objects.get(codename="change_takedownrequest"))
        self.client.force_login(user)
        before = state_of(self.submitted)
        response = self.client.post(move_url(self.submitted, "review"), {"reason": ""})
        self.assertEqual(response.status_code, 403)
        self.assertEqual(state_of(self.submitted), before)

    def test_nobody_can_fetch_evidence_but_through_the_permission_checked_download(self):
        name = self.evidence.file.name
        with self.assertRaises(ValueError):
            self.evidence.file.url  # noqa: B018 - the storage has no URLs to give
        for role in ["anonymous", "editor", "staff", "moderator"]:
            with self.subTest(role=role):
                self.as_user(role)
                for path in ["/" + name, "/media/" + name, "/evidence/" + name, "/private/evidence/" + name]:
                    self.assertEqual(self.client.get(path).status_code, 404, path)
                response = self.client.get(evidence_url(self.submitted, self.evidence))
                if role == "moderator":
                    self.assertEqual(response.status_code, 200)
                    self.assertEqual(b"".join(response.streaming_content), self.evidence_bytes)
                else:
                    self.assertNotEqual(response.status_code, 200)
                    self.assertNotIn(self.evidence_bytes, response.content)

    def test_the_groups_hold_the_permissions_the_workflow_needs_and_no_more(self):
        editor, moderator = self.users["editor"], self.users["moderator"]
        self.assertFalse(editor.has_perm("moderation.decide_takedownrequest"))
        self.assertFalse(editor.has_perm("moderation.view_takedownrequest"))
        self.assertFalse(editor.has_perm("moderation.view_evidencefile"))
        self.assertTrue(moderator.has_perm("moderation.decide_takedownrequest"))
        self.assertTrue(moderator.has_perm("moderation.view_evidencefile"))
        self.assertFalse(moderator.has_perm("articles.change_snapshot"))
        self.assertFalse(moderator.has_perm("moderation.change_moderationevent"))
        self.assertFalse(moderator.has_perm("moderation.delete_moderationevent"))
        self.assertEqual(
            set(Group.objects.get(name="Editors").permissions.values_list("content_type__app_label", flat=True)),
            {"articles", "capture"},
        )


class RiskFlagTests(AdminTestCase):
    """The queue's risk flags, as columns and filters; the sources' repeat-infringer count."""

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.flagged_moderator = make_moderator("flags")
        old = make_snapshot(
            published_at=datetime(2023, 1, 5, 9, 0, tzinfo=SHANGHAI), captured_at=datetime(2023, 1, 6, tzinfo=SHANGHAI)
        )
        cls.backdated = make_request(old, work_date=date(2024, 6, 1), email="late@example.org")
        cls.plain = make_request(make_snapshot(), email="plain@example.org")
        warned = make_request(make_snapshot(), email="warned@example.org")
        services.requester_warn(requester_id=warned.requester_id, moderator=cls.flagged_moderator, note="警告。")
        cls.by_warned = make_request(make_snapshot(), email="warned@example.org")
        cls.large = make_request(*[make_snapshot() for _ in range(3)], email="large@example.org")
        disputed_snapshot = make_snapshot()
        make_request(disputed_snapshot, status=Status.DISPUTED, email="first@example.org")
        cls.again = make_request(disputed_snapshot, email="again@example.org")

    def flags(self, **params):
        self.client.force_login(self.flagged_moderator)
        response = self.client.get(reverse("admin:moderation_takedownrequest_changelist"), params)
        return {req.reference for req in response.context["cl"].result_list}

    @override_settings(TAKEDOWN_LARGE_NOTICE_URLS=3)
    def test_each_flag_has_its_filter_and_finds_exactly_its_requests(self):
        self.assertEqual(self.flags(risk="backdated"), {self.backdated.reference})
        self.assertEqual(
            self.flags(risk="repeat_requester"),
            {
                self.by_warned.reference,
                *(TakedownRequest.objects.filter(email="warned@example.org").values_list("reference", flat=True)),
            },
        )
        self.assertEqual(self.flags(risk="large"), {self.large.reference})
        self.assertIn(self.again.reference, self.flags(risk="disputed"))
        self.assertNotIn(
            self.plain.reference,
            set().union(*(self.flags(risk=f) for f in ["backdated", "repeat_requester", "large", "disputed"])),
        )

    @override_settings(TAKEDOWN_LARGE_NOTICE_URLS=3)
    def test_the_flags_are_a_column_of_the_queue(self):
        self.client.force_login(self.flagged_moderator)
        html = self.client.get(reverse("admin:moderation_takedownrequest_changelist")).content.decode()

        def row(reference):
            return re.search(rf"<tr[^>]*>(?:(?!</tr>).)*{reference}(?:(?!</tr>).)*</tr>", html, re.S).group(0)

        self.assertIn("takedown-flag", row(self.backdated.reference))
        self.assertNotIn("takedown-flag", row(self.plain.reference))

    @override_settings(TAKEDOWN_REPEAT_INFRINGER_THRESHOLD=2)
    def test_a_source_whose_snapshots_several_decisions_withheld_is_flagged(self):
        source = make_source("屡次被投诉的来源")
        for n in range(2):
            make_request(make_snapshot(source=source), status=Status.APPROVED, email=f"r{n}@example.org")
        next_one = make_request(make_snapshot(source=source), email="next@example.org")
        self.assertIn(next_one.reference, self.flags(risk="repeat_infringer"))
        response = self.client.get(reverse("admin:moderation_sourcerecord_changelist"), {"repeat": "yes"})
        self.assertEqual([s.name for s in response.context["cl"].result_list], ["屡次被投诉的来源"])
        self.assertEqual(response.context["cl"].result_list[0].decisions, 2)
