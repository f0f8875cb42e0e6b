"""The removal workflow's services, called directly: filing, every transition and every refused
one, the exact restoration, the event log, who may do what, the emails, and two moderators
acting at once."""

import hashlib
import threading
import time
from datetime import timedelta
from unittest import mock

from django.apps import apps
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.core import mail
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.test import TestCase, TransactionTestCase, override_settings, skipUnlessDBFeature
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from articles.models import RelatedLink, Snapshot
from articles.services import snapshot_set_status
from articles.tests.helpers import make_related_link
from articles.tests.test_purge import purged
from moderation import ledger, services, workflow
from moderation.models import CounterNotice, ModerationEvent, Requester, TakedownItem, TakedownRequest
from moderation.services import SubmissionError, TransitionError
from newsarchive.testing import run_tasks, sending_mail
from outbox.models import Message

from .helpers import (
    make_counter_notice,
    make_editor,
    make_moderator,
    make_request,
    make_snapshot,
    make_submission,
    snapshot_url,
    state_of,
    submit,
)

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome
Claim = TakedownItem.Claim
PUBLISHED, HIDDEN, WITHHELD = Snapshot.Status.PUBLISHED, Snapshot.Status.HIDDEN, Snapshot.Status.WITHHELD


class Rollback(Exception):
    pass


def status_of(snapshot: Snapshot) -> str:
    return Snapshot.objects.values_list("status", flat=True).get(pk=snapshot.pk)


def outcomes_of(req: TakedownRequest) -> list[str]:
    return list(req.items.order_by("position").values_list("outcome", flat=True))


def claims_of(req: TakedownRequest) -> list[str]:
    return list(req.items.order_by("position").values_list("claim", flat=True))


def withholding(snapshot: Snapshot) -> list[TakedownRequest]:
    """The requests whose claims withhold `snapshot` now."""
    return [item.request for item in ledger.standing_on(snapshot)]


def in_site_language(text: str) -> str:
    """`text` as the emails render it: in the site's language, English where no translation exists yet."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(text)


def label(choice) -> str:
    """A choice's label as the emails show it."""
    with translation.override(settings.LANGUAGE_CODE):
        return str(choice.label)


def redress_text(req) -> str:
    """How an email tells its reader to seek redress (templates/moderation/email/redress.txt)."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string(
            "moderation/email/redress.txt", {"req": req, "contact": settings.MODERATION_CONTACT_EMAIL}
        ).strip()


def automation_text(step: str = "") -> str:
    """How an email says whether its step was automatic (templates/moderation/email/automation.txt)."""
    with translation.override(settings.LANGUAGE_CODE):
        return render_to_string("moderation/email/automation.txt", {"automated": step}).strip()


# The services' refusals, as they read in the site's language (the msgids, where it has no translation).
NOT_DISPUTABLE = (
    in_site_language("%(key)s is not withheld by a removal decision that can be disputed now.") % {"key": ""}
).strip()
NOTHING_WITHHELD = in_site_language("Nothing would be withheld: reject the request instead.")


class WorkflowAssertions:
    def assertRefused(self, req, move, *mentions):
        """`move` raises TransitionError mentioning each of `mentions`, and changes nothing: no
        event, no field of the request or its items, no snapshot, no email."""
        before = state_of(req)
        outbox = len(mail.outbox)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            with self.assertRaises(TransitionError) as caught:
                move()
        for text in mentions:
            self.assertIn(str(text), str(caught.exception))
        self.assertEqual(state_of(req), before)
        self.assertEqual(callbacks, [])
        self.assertEqual(len(mail.outbox), outbox)
        return caught.exception

    def assertOneEvent(self, req, move, **expected):
        """`move` writes exactly one event on `req`, with the expected fields."""
        before = set(ModerationEvent.objects.values_list("pk", flat=True))
        move()
        new = ModerationEvent.objects.exclude(pk__in=before)
        self.assertEqual(new.count(), 1, list(new.values_list("action", flat=True)))
        event = new.get()
        self.assertEqual(event.request_id, req.pk)
        self.assertEqual({name: getattr(event, name) for name in expected}, expected)
        return event


# --- filing --------------------------------------------------------------------------------------


class TakedownSubmitTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="被投诉的快照")
        cls.other = make_snapshot(title="另一篇快照")
        cls.withheld = make_snapshot(title="早已屏蔽的快照", status=WITHHELD)

    def test_a_request_gets_a_reference_made_of_the_year_and_its_number(self):
        req = submit(self.snapshot).request
        self.assertRegex(req.reference, r"^TD-\d{4}-\d{6}$")
        self.assertEqual(req.reference, f"TD-{timezone.localtime(req.received_at).year}-{req.pk:06d}")
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).reference, req.reference)

    def test_each_request_gets_its_own_reference_and_token(self):
        first, second = submit(self.snapshot), submit(self.other, email="other@example.org")
        self.assertNotEqual(first.request.reference, second.request.reference)
        self.assertNotEqual(first.token, second.token)

    def test_the_status_token_is_returned_once_and_only_its_sha256_is_stored(self):
        receipt = submit(self.snapshot)
        token = receipt.token
        self.assertGreaterEqual(len(token), 32)
        req = TakedownRequest.objects.get(pk=receipt.request.pk)
        self.assertEqual(req.token_hash, hashlib.sha256(token.encode()).hexdigest())
        self.assertEqual(services.takedown_by_token(token), req)
        self.assertIsNone(services.takedown_by_token(req.token_hash))
        for model in apps.get_app_config("moderation").get_models():
            for row in model.objects.values():
                for column, value in row.items():
                    self.assertNotIn(token, str(value), f"{model.__name__}.{column} holds the token")

    @override_settings(TAKEDOWN_DUE_HOURS=36)
    def test_a_decision_is_due_the_configured_number_of_hours_after_receipt(self):
        before = timezone.now()
        req = submit(self.snapshot).request
        self.assertTrue(before <= req.received_at <= timezone.now())
        self.assertEqual(req.due_at - req.received_at, timedelta(hours=36))

    def test_by_default_a_decision_is_due_24_hours_after_receipt(self):
        req = submit(self.snapshot).request
        self.assertEqual(settings.TAKEDOWN_DUE_HOURS, 24)
        self.assertEqual(req.due_at - req.received_at, timedelta(hours=24))

    def test_each_url_becomes_an_item_with_its_snapshot_in_the_order_given(self):
        req = submit(self.other, self.snapshot).request
        self.assertEqual(
            list(req.items.values_list("position", "url", "snapshot", "outcome")),
            [
                (1, snapshot_url(self.other), self.other.pk, Outcome.PENDING),
                (2, snapshot_url(self.snapshot), self.snapshot.pk, Outcome.PENDING),
            ],
        )

    def test_the_requesters_particulars_are_stored_as_given(self):
        submission = make_submission(self.snapshot, ip="203.0.113.7", work_date=timezone.localdate())
        req = services.takedown_submit(submission=submission).request
        req.refresh_from_db()
        for name in ["name", "organisation", "role", "email", "phone", "address"]:
            self.assertEqual(getattr(req, name), getattr(submission, name), name)
        (work,) = req.works.all()
        self.assertEqual((work.description, work.work_date), (submission.works[0].description, timezone.localdate()))
        for name in ["explanation", "evidence", "good_faith", "accurate_and_authorised", "signature"]:
            self.assertEqual(getattr(req, name), getattr(submission, name), name)
        self.assertEqual(req.submitted_ip, "203.0.113.7")
        self.assertEqual(req.status, Status.SUBMITTED)

    def test_a_snapshot_already_withheld_is_pending_like_any_other_and_stays_withheld(self):
        req = submit(self.snapshot, self.withheld).request
        self.assertEqual(outcomes_of(req), [Outcome.PENDING, Outcome.PENDING])
        self.assertEqual(claims_of(req), [Claim.NONE, Claim.NONE])
        self.assertEqual([status_of(self.snapshot), status_of(self.withheld)], [PUBLISHED, WITHHELD])

    def test_filing_changes_no_snapshot(self):
        submit(self.snapshot)
        self.assertEqual(status_of(self.snapshot), PUBLISHED)

    def test_filing_records_one_submit_event_by_the_requester(self):
        req = submit(self.snapshot).request
        event = req.events.get()
        self.assertEqual(
            (event.action, event.actor, event.actor_label, event.from_status, event.to_status, event.note),
            ("submit", None, "requester", "", Status.SUBMITTED, ""),
        )

    def test_the_requester_is_sent_a_receipt_with_the_reference_and_the_status_link(self):
        with sending_mail():
            receipt = submit(self.snapshot, self.withheld, email="Rights@Example.org")
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["Rights@Example.org"])
        self.assertIn(receipt.request.reference, message.subject)
        self.assertIn(receipt.request.reference, message.body)
        status_url = settings.SITE_URL + reverse("moderation:status", kwargs={"token": receipt.token})
        self.assertEqual(status_url, f"{settings.SITE_URL}/takedown/status/{receipt.token}/")
        self.assertIn(status_url, message.body)
        self.assertIn(snapshot_url(self.snapshot), message.body)
        self.assertIn(self.snapshot.title, message.body)
        self.assertIn(in_site_language("already withheld by an earlier decision"), message.body)

    def test_the_receipt_is_stored_with_the_request_and_sent_by_the_worker(self):
        receipt = submit(self.snapshot)

        self.assertEqual(mail.outbox, [])  # nothing is sent while the request is being filed
        message = Message.objects.get()
        self.assertEqual(
            (message.kind, message.reference, message.to, message.status),
            ("receipt", receipt.request.reference, "rights@example.org", Message.Status.PENDING),
        )
        self.assertNotIn(receipt.token, message.body)  # the link is kept apart, never shown to staff

        run_tasks()

        (sent,) = mail.outbox
        self.assertIn(receipt.token, sent.body)
        message.refresh_from_db()
        self.assertEqual((message.status, message.secret), (Message.Status.SENT, ""))

    def test_a_submission_rolled_back_queues_no_mail(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            submit(self.snapshot)
            raise RuntimeError("the transaction fails after the request was stored")

        run_tasks()

        self.assertFalse(Message.objects.exists())
        self.assertEqual(mail.outbox, [])

    def test_a_new_address_becomes_a_requester_and_a_known_one_is_found_whatever_its_case(self):
        first = submit(self.snapshot, email="Rights@Example.org").request
        second = submit(self.other, email="rights@example.ORG").request
        self.assertEqual(first.requester_id, second.requester_id)
        self.assertEqual(first.requester.email, "rights@example.org")
        self.assertEqual(Requester.objects.count(), 1)


class InformationDeadlineTests(WorkflowAssertions, TestCase):
    """A question to the requester has a deadline (TAKEDOWN_INFO_DAYS); a moderator may reject the
    request meanwhile, and `takedown_tick` closes it once the deadline passes unanswered."""

    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    @override_settings(TAKEDOWN_INFO_DAYS=10)
    def test_asking_sets_the_answer_deadline_and_the_email_gives_it(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        before = timezone.now()
        with sending_mail():
            services.takedown_ask(request_id=req.pk, moderator=self.moderator, question="请提供登记证书。")
        req.refresh_from_db()
        self.assertTrue(before + timedelta(days=10) <= req.info_due_at <= timezone.now() + timedelta(days=10))
        self.assertIn(timezone.localtime(req.info_due_at).strftime("%Y-%m-%d %H:%M"), mail.outbox[0].body)

    def test_answering_clears_the_deadline(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        services.takedown_answer(request_id=req.pk, answer="证书编号 2023-A-001")
        req.refresh_from_db()
        self.assertEqual((req.status, req.info_due_at), (Status.IN_REVIEW, None))
        self.assertEqual(services.takedown_tick(now=timezone.now() + timedelta(days=365)).lapsed, [])

    def test_a_moderator_may_reject_a_request_whose_question_is_unanswered(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.INFO_REQUESTED, moderator=self.moderator)
        with sending_mail():
            self.assertOneEvent(
                req,
                lambda: services.takedown_reject(
                    request_id=req.pk, moderator=self.moderator, reason="未提供权利证明。"
                ),
                action="reject",
                actor=self.moderator,
                from_status=Status.INFO_REQUESTED,
                to_status=Status.REJECTED,
            )
        req.refresh_from_db()
        self.assertEqual((req.status, req.decision_reason), (Status.REJECTED, "未提供权利证明。"))
        self.assertEqual(outcomes_of(req), [Outcome.REFUSED])
        self.assertEqual(status_of(snapshot), PUBLISHED)
        self.assertEqual([m.to for m in mail.outbox], [[req.email]])

    def test_the_tick_closes_a_request_unanswered_past_its_deadline_with_the_standard_reasons(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.INFO_REQUESTED, moderator=self.moderator)
        waiting = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator, email="w@example.org")
        TakedownRequest.objects.filter(pk=waiting.pk).update(info_due_at=req.info_due_at + timedelta(days=1))
        self.assertEqual(services.takedown_tick(now=req.info_due_at - timedelta(seconds=1)).lapsed, [])
        with sending_mail():
            event = self.assertOneEvent(
                req,
                lambda: self.assertEqual(services.takedown_tick(now=req.info_due_at).lapsed, [req.reference]),
                action="lapse",
                actor=None,
                actor_label="system",
                from_status=Status.INFO_REQUESTED,
                to_status=Status.REJECTED,
            )
        req.refresh_from_db()
        self.assertEqual(req.status, Status.REJECTED)
        self.assertEqual(req.ground, TakedownRequest.Ground.NONE)
        self.assertEqual(req.decision_reason, services.lapse_reason(req))
        self.assertEqual(event.note, req.decision_reason)
        self.assertIn(timezone.localtime(req.info_due_at).strftime("%Y-%m-%d %H:%M"), req.decision_reason)
        self.assertIsNotNone(req.decided_at)
        self.assertEqual(outcomes_of(req), [Outcome.REFUSED])
        self.assertEqual(status_of(snapshot), PUBLISHED)
        self.assertEqual(TakedownRequest.objects.get(pk=waiting.pk).status, Status.INFO_REQUESTED)
        (decision,) = mail.outbox
        self.assertEqual(decision.to, [req.email])
        self.assertIn(req.decision_reason, decision.body)
        self.assertNotIn(in_site_language("This decision was taken by a person."), decision.body)
        # Idempotent: a second tick finds nothing.
        self.assertEqual(services.takedown_tick(now=req.info_due_at + timedelta(hours=1)).lapsed, [])
        self.assertEqual(req.events.filter(action="lapse").count(), 1)

    def test_a_request_answered_just_before_the_tick_is_not_closed(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        due = req.info_due_at
        services.takedown_answer(request_id=req.pk, answer="答复")
        self.assertEqual(services.takedown_tick(now=due + timedelta(days=1)).lapsed, [])
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.IN_REVIEW)

    def test_a_request_withdrawn_while_waiting_is_not_closed_again(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        services.takedown_withdraw(request_id=req.pk)
        self.assertEqual(services.takedown_tick(now=req.info_due_at + timedelta(days=1)).lapsed, [])
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.WITHDRAWN)


class SubmissionErrorTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()
        cls.other = make_snapshot()

    def assertSubmissionRefused(self, submission, *fields):
        """The submission raises SubmissionError naming exactly `fields`, and nothing is stored or sent."""
        counts = [m.objects.count() for m in (TakedownRequest, TakedownItem, ModerationEvent, Requester)]
        with sending_mail():
            with self.assertRaises(SubmissionError) as caught:
                services.takedown_submit(submission=submission)
        self.assertEqual(sorted(caught.exception.errors), sorted(fields))
        for field in fields:
            self.assertTrue(all(caught.exception.errors[field]), field)
        self.assertEqual(
            [m.objects.count() for m in (TakedownRequest, TakedownItem, ModerationEvent, Requester)], counts
        )
        self.assertEqual(mail.outbox, [])
        return caught.exception.errors

    def test_an_address_longer_than_the_field_allows_is_refused_naming_it_not_left_to_the_database(self):
        # It names a real snapshot (the key is in the path), so only its length is wrong.
        url = snapshot_url(self.snapshot) + "?" + "x" * services.MAX_URL_LENGTH
        errors = self.assertSubmissionRefused(make_submission(urls=[snapshot_url(self.other), url]), "urls.1")
        self.assertIn(str(services.MAX_URL_LENGTH), errors["urls.1"][0])
        # At the limit it is accepted.
        at_limit = (
            snapshot_url(self.snapshot) + "?" + "x" * (services.MAX_URL_LENGTH - len(snapshot_url(self.snapshot)) - 1)
        )
        self.assertEqual(submit(urls=[at_limit]).request.items.get().url, at_limit)

    def test_a_counter_notice_with_values_longer_than_their_fields_is_refused_by_name(self):
        snapshot = make_request(status=Status.APPROVED).items.get().snapshot
        with self.assertRaises(SubmissionError) as caught:
            make_counter_notice(snapshot, name="李" * 201, phone="1" * 51)
        self.assertEqual(sorted(caught.exception.errors), ["name", "phone"])
        self.assertFalse(CounterNotice.objects.exists())
        self.assertEqual(status_of(snapshot), WITHHELD)

    def test_values_longer_than_their_fields_are_refused_by_name(self):
        too_long = {"name": "张" * 201, "organisation": "社" * 201, "phone": "1" * 51, "signature": "签" * 201}
        errors = self.assertSubmissionRefused(make_submission(self.snapshot, **too_long), *too_long)
        self.assertIn("200", errors["name"][0])

    def test_a_request_without_urls_is_refused_naming_urls(self):
        self.assertSubmissionRefused(make_submission(urls=[]), "urls")

    @override_settings(TAKEDOWN_MAX_URLS=2)
    def test_more_urls_than_the_cap_are_refused_naming_urls_and_the_cap(self):
        third = make_snapshot()
        errors = self.assertSubmissionRefused(make_submission(self.snapshot, self.other, third), "urls")
        self.assertIn("2", errors["urls"][0])
        # At the cap it is accepted.
        submit(self.snapshot, self.other)

    def test_an_address_that_names_nothing_in_this_archive_is_recorded_as_not_found(self):
        hidden = make_snapshot(status=HIDDEN)
        for n, url in enumerate(
            [
                "https://news.example.com/2023/09/14/article.html",
                f"https://elsewhere.example.com/detail/{self.other.key}.html",
                f"{settings.SITE_URL}/category/caijing/",
                f"{settings.SITE_URL}/detail/{'0' * 40}.html",
                snapshot_url(hidden),  # an editor hid it: to the public it is not here
            ]
        ):
            with self.subTest(url=url):
                urls = [snapshot_url(self.snapshot), url]
                req = submit(urls=urls, email=f"r{n}@example.org").request
                self.assertEqual(
                    list(req.items.order_by("position").values_list("url", "snapshot", "outcome")),
                    [(snapshot_url(self.snapshot), self.snapshot.pk, Outcome.PENDING), (url, None, Outcome.NOT_FOUND)],
                )

    def test_the_original_articles_address_finds_the_snapshot_captured_from_it(self):
        captured = make_snapshot(original_url="https://news.example.com/2023/09/14/original.html")
        req = submit(urls=["https://news.example.com/2023/09/14/original.html"]).request
        self.assertEqual(list(req.items.values_list("snapshot", "outcome")), [(captured.pk, Outcome.PENDING)])

    def test_a_notice_none_of_whose_addresses_names_anything_here_is_refused(self):
        urls = ["https://news.example.com/a.html", f"{settings.SITE_URL}/detail/{'0' * 40}.html"]
        errors = self.assertSubmissionRefused(make_submission(urls=urls), "urls")
        self.assertEqual(
            errors["urls"],
            [
                in_site_language(
                    "None of these addresses names a snapshot in this archive: there is nothing here to remove. "
                    "Give the address of the snapshot page here (…/detail/<key>.html) or of the original article."
                )
            ],
        )

    def test_what_is_no_web_address_is_named_by_its_index(self):
        for url in ["not a url at all", "ftp://example.com/file", "javascript:alert(1)"]:
            with self.subTest(url=url):
                errors = self.assertSubmissionRefused(
                    make_submission(urls=[snapshot_url(self.snapshot), url]), "urls.1"
                )
                self.assertIn(url, errors["urls.1"][0])

    def test_a_notice_may_claim_several_works_each_with_its_own_urls(self):
        first = services.SubmittedWork("报道甲", None, [snapshot_url(self.snapshot)])
        second = services.SubmittedWork(
            "报道乙", timezone.localdate(), [snapshot_url(self.other), "https://news.example.com/b.html"]
        )
        req = services.takedown_submit(submission=make_submission(works=[first, second])).request
        self.assertEqual(
            list(req.works.values_list("position", "description", "work_date")),
            [(1, "报道甲", None), (2, "报道乙", timezone.localdate())],
        )
        self.assertEqual(
            list(req.items.order_by("position").values_list("position", "work__position", "snapshot", "outcome")),
            [
                (1, 1, self.snapshot.pk, Outcome.PENDING),
                (2, 2, self.other.pk, Outcome.PENDING),
                (3, 2, None, Outcome.NOT_FOUND),
            ],
        )

    def test_the_same_snapshot_in_two_works_is_named_at_its_second_place(self):
        works = [
            services.SubmittedWork("甲", None, [snapshot_url(self.snapshot)]),
            services.SubmittedWork("乙", None, [snapshot_url(self.other), snapshot_url(self.snapshot)]),
        ]
        self.assertSubmissionRefused(make_submission(works=works), "urls.2")

    def test_the_same_snapshot_listed_twice_is_named_at_its_second_place(self):
        same_in_capitals = snapshot_url(self.snapshot).replace(self.snapshot.key, self.snapshot.key.upper())
        for second in [snapshot_url(self.snapshot), same_in_capitals]:
            with self.subTest(second=second):
                urls = [snapshot_url(self.snapshot), snapshot_url(self.other), second]
                self.assertSubmissionRefused(make_submission(urls=urls), "urls.2")

    def test_every_bad_address_is_named_at_once(self):
        urls = [
            "no address",
            "https://news.example.com/a.html",
            snapshot_url(self.snapshot),
            snapshot_url(self.snapshot),
            "https://news.example.com/a.html",
        ]
        self.assertSubmissionRefused(make_submission(urls=urls), "urls.0", "urls.3", "urls.4")

    def test_a_suspended_requester_is_refused_naming_email(self):
        now = timezone.now()
        Requester.objects.create(email="rights@example.org", warned_at=now, suspended_until=now + timedelta(days=7))
        errors = self.assertSubmissionRefused(make_submission(self.snapshot, email="Rights@example.org"), "email")
        self.assertIn(timezone.localtime(now + timedelta(days=7)).strftime("%Y-%m-%d"), errors["email"][0])

    def test_a_requester_whose_suspension_has_ended_may_file_again(self):
        now = timezone.now()
        Requester.objects.create(email="rights@example.org", warned_at=now, suspended_until=now - timedelta(seconds=1))
        self.assertEqual(submit(self.snapshot).request.status, Status.SUBMITTED)

    def test_a_duplicate_of_an_open_request_by_the_same_requester_is_refused_naming_urls(self):
        earlier = submit(self.snapshot).request
        errors = self.assertSubmissionRefused(make_submission(self.other, self.snapshot), "urls")
        self.assertIn(earlier.reference, errors["urls"][0])

    def test_a_duplicate_is_refused_in_every_open_state(self):
        for status in TakedownRequest.OPEN_STATUSES:
            with self.subTest(status=status):
                snapshot = make_snapshot()
                make_request(snapshot, status=status)
                self.assertSubmissionRefused(make_submission(snapshot), "urls")

    def test_another_requester_may_file_for_the_same_snapshot(self):
        submit(self.snapshot)
        self.assertEqual(submit(self.snapshot, email="someone.else@example.org").request.status, Status.SUBMITTED)

    def test_the_same_requester_may_file_again_once_the_earlier_request_is_closed(self):
        for status in [Status.REJECTED, Status.WITHDRAWN]:
            with self.subTest(status=status):
                snapshot = make_snapshot()
                make_request(snapshot, status=status)
                self.assertEqual(submit(snapshot).request.status, Status.SUBMITTED)

    def test_a_snapshot_restored_after_this_requesters_earlier_notice_is_refused_naming_its_index(self):
        restored = make_snapshot()
        make_request(restored, status=Status.RESTORED)
        self.assertEqual(status_of(restored), PUBLISHED)
        self.assertSubmissionRefused(make_submission(self.snapshot, restored), "urls.1")
        self.assertSubmissionRefused(make_submission(restored, email="RIGHTS@example.org"), "urls.0")

    def test_a_restored_snapshot_may_still_be_notified_by_another_requester(self):
        restored = make_snapshot()
        make_request(restored, status=Status.RESTORED)
        self.assertEqual(submit(restored, email="someone.else@example.org").request.status, Status.SUBMITTED)


# --- transitions ---------------------------------------------------------------------------------


class ReviewTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")
        cls.colleague = make_moderator("li")

    def test_review_takes_a_submitted_request_into_review_and_assigns_it_to_the_moderator(self):
        req = make_request()
        self.assertOneEvent(
            req,
            lambda: services.takedown_review(request_id=req.pk, moderator=self.moderator, note=" 开始审查 "),
            action="review",
            actor=self.moderator,
            actor_label="wang",
            from_status=Status.SUBMITTED,
            to_status=Status.IN_REVIEW,
            note="开始审查",
        )
        req.refresh_from_db()
        self.assertEqual((req.status, req.assignee), (Status.IN_REVIEW, self.moderator))

    def test_review_keeps_a_request_assigned_to_a_colleague_with_that_colleague(self):
        req = make_request()
        self.assertOneEvent(
            req,
            lambda: services.takedown_assign(request_id=req.pk, moderator=self.colleague),
            action="assign",
            actor=self.colleague,
            from_status=Status.SUBMITTED,
            to_status=Status.SUBMITTED,
        )
        services.takedown_review(request_id=req.pk, moderator=self.moderator)
        req.refresh_from_db()
        self.assertEqual((req.status, req.assignee), (Status.IN_REVIEW, self.colleague))

    def test_review_changes_no_snapshot_and_sends_nothing(self):
        snapshot = make_snapshot()
        req = make_request(snapshot)
        with sending_mail():
            services.takedown_review(request_id=req.pk, moderator=self.moderator)
        self.assertEqual(status_of(snapshot), PUBLISHED)
        self.assertEqual(mail.outbox, [])

    def test_a_request_cannot_be_taken_into_review_twice(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        self.assertRefused(
            req,
            lambda: services.takedown_review(request_id=req.pk, moderator=self.colleague),
            req.reference,
            label(Status.IN_REVIEW),
            "wang",
        )

    def test_moving_a_request_that_does_not_exist_is_refused(self):
        with self.assertRaisesMessage(TransitionError, "0"):
            services.takedown_review(request_id=0, moderator=self.moderator)


class AskAndAnswerTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_asking_moves_a_request_in_review_to_information_requested_and_stores_the_question(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        question = "请提供该作品的著作权登记证书。"
        with sending_mail():
            self.assertOneEvent(
                req,
                lambda: services.takedown_ask(request_id=req.pk, moderator=self.moderator, question=f"  {question}\n"),
                action="ask",
                actor=self.moderator,
                from_status=Status.IN_REVIEW,
                to_status=Status.INFO_REQUESTED,
                note=question,
            )
        req.refresh_from_db()
        self.assertEqual((req.status, req.info_request), (Status.INFO_REQUESTED, question))
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, [req.email])
        self.assertIn(req.reference, mail.outbox[0].subject)
        self.assertIn(question, mail.outbox[0].body)

    def test_asking_without_a_question_is_refused(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        for question in ["", "   \n"]:
            with self.subTest(question=question):
                self.assertRefused(
                    req,
                    lambda q=question: services.takedown_ask(request_id=req.pk, moderator=self.moderator, question=q),
                )

    def test_the_answer_brings_the_request_back_into_review(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        with sending_mail():
            self.assertOneEvent(
                req,
                lambda: services.takedown_answer(request_id=req.pk, answer=" 登记证书编号 2023-A-001 "),
                action="answer",
                actor=None,
                actor_label="requester",
                from_status=Status.INFO_REQUESTED,
                to_status=Status.IN_REVIEW,
                note="登记证书编号 2023-A-001",
            )
        req.refresh_from_db()
        self.assertEqual((req.status, req.assignee), (Status.IN_REVIEW, self.moderator))
        self.assertEqual(mail.outbox, [])

    def test_an_empty_answer_is_refused(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        self.assertRefused(req, lambda: services.takedown_answer(request_id=req.pk, answer="  "))

    def test_a_request_may_go_round_ask_and_answer_more_than_once_before_a_decision(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        services.takedown_answer(request_id=req.pk, answer="第一次答复")
        services.takedown_ask(request_id=req.pk, moderator=self.moderator, question="还需要原稿。")
        services.takedown_answer(request_id=req.pk, answer="原稿见附件")
        services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="证据充分。")
        self.assertEqual(
            list(req.events.values_list("action", flat=True)),
            ["submit", "review", "ask", "answer", "ask", "answer", "approve"],
        )


class WithdrawTests(WorkflowAssertions, TestCase):
    def test_the_requester_may_withdraw_from_each_open_state(self):
        for status in TakedownRequest.OPEN_STATUSES:
            with self.subTest(status=status):
                snapshot = make_snapshot()
                req = make_request(snapshot, status=status)
                with sending_mail():
                    self.assertOneEvent(
                        req,
                        lambda r=req: services.takedown_withdraw(request_id=r.pk, note=" 已与对方和解 "),
                        action="withdraw",
                        actor=None,
                        actor_label="requester",
                        from_status=status,
                        to_status=Status.WITHDRAWN,
                        note="已与对方和解",
                    )
                req.refresh_from_db()
                self.assertEqual(req.status, Status.WITHDRAWN)
                self.assertEqual(outcomes_of(req), [Outcome.PENDING])
                self.assertEqual(status_of(snapshot), PUBLISHED)

    def test_withdrawing_is_refused_once_nothing_is_left_to_withdraw(self):
        for status in [Status.REJECTED, Status.RESTORED, Status.WITHDRAWN]:
            with self.subTest(status=status):
                req = make_request(status=status)
                self.assertRefused(
                    req, lambda r=req: services.takedown_withdraw(request_id=r.pk), req.reference, label(Status(status))
                )


class ApproveTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def approve(self, req, **kwargs):
        kwargs.setdefault("reason", "权利证明充分,快照全文转载了权利人的作品。")
        return services.takedown_approve(request_id=req.pk, moderator=self.moderator, **kwargs)

    def test_approving_withholds_the_snapshots_at_once_and_records_the_decision(self):
        first, second = make_snapshot(), make_snapshot()
        req = make_request(first, second, status=Status.IN_REVIEW, moderator=self.moderator)
        before = timezone.now()
        self.assertOneEvent(
            req,
            lambda: self.approve(req, reason="  权利证明充分。 ", ground=TakedownRequest.Ground.PERSONALITY),
            action="approve",
            actor=self.moderator,
            from_status=Status.IN_REVIEW,
            to_status=Status.APPROVED,
            note="权利证明充分。",
        )
        req.refresh_from_db()
        self.assertEqual(
            (req.status, req.ground, req.decision_reason),
            (Status.APPROVED, TakedownRequest.Ground.PERSONALITY, "权利证明充分。"),
        )
        self.assertTrue(before <= req.decided_at <= timezone.now())
        self.assertEqual(outcomes_of(req), [Outcome.ACTIONED, Outcome.ACTIONED])
        self.assertEqual(claims_of(req), [Claim.STANDING, Claim.STANDING])
        self.assertEqual([status_of(first), status_of(second)], [WITHHELD, WITHHELD])
        self.assertFalse(Snapshot.objects.published().filter(pk__in=[first.pk, second.pk]).exists())
        self.assertEqual(withholding(first), [req])

    def test_the_ground_defaults_to_copyright(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        self.approve(req)
        req.refresh_from_db()
        self.assertEqual(req.ground, TakedownRequest.Ground.COPYRIGHT)

    def test_a_claim_on_a_snapshot_an_editor_hid_withholds_it_without_changing_the_editors_status(self):
        editor = make_editor()
        published, hidden = make_snapshot(), make_snapshot()
        req = make_request(published, hidden, status=Status.IN_REVIEW, moderator=self.moderator)
        snapshot_set_status(snapshot_ids=[hidden.pk], status=HIDDEN, actor=editor)  # after it was listed
        self.approve(req)
        self.assertEqual(claims_of(req), [Claim.STANDING, Claim.STANDING])
        self.assertEqual([status_of(published), status_of(hidden)], [WITHHELD, HIDDEN])
        self.assertEqual(
            list(
                Snapshot.objects.filter(pk__in=[published.pk, hidden.pk])
                .order_by("pk")
                .values_list("editor_status", "withheld")
            ),
            [(PUBLISHED, True), (HIDDEN, True)],
        )

    def test_a_partial_approval_withholds_only_the_actioned_urls(self):
        kept, refused, also_kept = make_snapshot(), make_snapshot(), make_snapshot()
        req = make_request(kept, refused, also_kept, status=Status.IN_REVIEW, moderator=self.moderator)
        refused_item = req.items.get(snapshot=refused)
        self.approve(req, outcomes={refused_item.pk: Outcome.REFUSED})
        self.assertEqual(outcomes_of(req), [Outcome.ACTIONED, Outcome.REFUSED, Outcome.ACTIONED])
        self.assertEqual(claims_of(req), [Claim.STANDING, Claim.NONE, Claim.STANDING])
        self.assertEqual([status_of(kept), status_of(refused), status_of(also_kept)], [WITHHELD, PUBLISHED, WITHHELD])

    def test_a_snapshot_withheld_already_by_another_request_gets_a_claim_of_its_own(self):
        shared, own = make_snapshot(), make_snapshot()
        req = make_request(shared, own, status=Status.IN_REVIEW, moderator=self.moderator)
        other = make_request(shared, status=Status.IN_REVIEW, moderator=self.moderator, email="other@example.org")
        self.approve(other)
        self.approve(req)
        self.assertEqual(outcomes_of(req), [Outcome.ACTIONED, Outcome.ACTIONED])
        self.assertEqual(claims_of(req), [Claim.STANDING, Claim.STANDING])
        self.assertEqual(
            withholding(shared), [TakedownRequest.objects.get(pk=other.pk), TakedownRequest.objects.get(pk=req.pk)]
        )
        self.assertEqual(withholding(own), [TakedownRequest.objects.get(pk=req.pk)])

    def test_each_claim_stands_on_its_own_so_lifting_one_leaves_the_snapshot_withheld_by_the_other(self):
        snapshot = make_snapshot()
        first = make_request(snapshot, status=Status.APPROVED, moderator=self.moderator, email="first@example.org")
        second = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.moderator, email="second@example.org")
        self.approve(second)
        services.takedown_withdraw(request_id=first.pk)
        self.assertEqual(status_of(snapshot), WITHHELD)
        self.assertEqual(withholding(snapshot), [TakedownRequest.objects.get(pk=second.pk)])
        services.takedown_withdraw(request_id=second.pk)
        self.assertEqual(status_of(snapshot), PUBLISHED)

    def test_an_approval_that_would_withhold_nothing_is_refused(self):
        first, second = make_snapshot(), make_snapshot()
        req = make_request(first, second, status=Status.IN_REVIEW, moderator=self.moderator)
        all_refused = {item.pk: Outcome.REFUSED for item in req.items.all()}
        self.assertRefused(req, lambda: self.approve(req, outcomes=all_refused), NOTHING_WITHHELD)

    def test_an_approval_without_a_reason_is_refused(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        for reason in ["", "  \n "]:
            with self.subTest(reason=reason):
                self.assertRefused(req, lambda r=reason: self.approve(req, reason=r))

    def test_an_approval_on_no_ground_or_an_unknown_one_is_refused(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        for ground in [TakedownRequest.Ground.NONE, "", "because"]:
            with self.subTest(ground=ground):
                self.assertRefused(req, lambda g=ground: self.approve(req, ground=g))

    def test_outcomes_naming_an_item_not_pending_in_this_request_are_refused(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        stranger = make_request(status=Status.IN_REVIEW, moderator=self.moderator, email="x@example.org")
        stranger_item = stranger.items.get()
        self.assertRefused(req, lambda: self.approve(req, outcomes={stranger_item.pk: Outcome.REFUSED}))

    def test_an_outcome_other_than_withheld_or_refused_is_refused(self):
        first, second = make_snapshot(), make_snapshot()
        req = make_request(first, second, status=Status.IN_REVIEW, moderator=self.moderator)
        item = req.items.get(snapshot=second)
        for outcome in [Outcome.NOT_FOUND, "already_withheld", Outcome.PENDING, "deleted"]:
            with self.subTest(outcome=outcome):
                self.assertRefused(req, lambda o=outcome: self.approve(req, outcomes={item.pk: o}))

    def test_a_request_cannot_be_approved_twice(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        self.approve(req)
        self.assertRefused(req, lambda: self.approve(req), req.reference, label(Status.APPROVED), "wang")


class RejectTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_rejecting_refuses_every_pending_url_and_touches_no_snapshot(self):
        pending, withheld = make_snapshot(), make_snapshot(status=WITHHELD)
        req = make_request(pending, withheld, status=Status.IN_REVIEW, moderator=self.moderator)
        before = timezone.now()
        self.assertOneEvent(
            req,
            lambda: services.takedown_reject(request_id=req.pk, moderator=self.moderator, reason=" 无法证明权利。 "),
            action="reject",
            actor=self.moderator,
            from_status=Status.IN_REVIEW,
            to_status=Status.REJECTED,
            note="无法证明权利。",
        )
        req.refresh_from_db()
        self.assertEqual(
            (req.status, req.ground, req.decision_reason),
            (Status.REJECTED, TakedownRequest.Ground.NONE, "无法证明权利。"),
        )
        self.assertTrue(before <= req.decided_at <= timezone.now())
        self.assertEqual(outcomes_of(req), [Outcome.REFUSED, Outcome.REFUSED])
        self.assertEqual(claims_of(req), [Claim.NONE, Claim.NONE])
        self.assertEqual([status_of(pending), status_of(withheld)], [PUBLISHED, WITHHELD])

    def test_a_rejection_may_name_a_ground_and_an_unknown_one_becomes_none(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        services.takedown_reject(
            request_id=req.pk,
            moderator=self.moderator,
            reason="不属于著作权。",
            ground=TakedownRequest.Ground.OTHER_LAW,
        )
        req.refresh_from_db()
        self.assertEqual(req.ground, TakedownRequest.Ground.OTHER_LAW)
        other = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        services.takedown_reject(request_id=other.pk, moderator=self.moderator, reason="证据不足。", ground="because")
        other.refresh_from_db()
        self.assertEqual(other.ground, TakedownRequest.Ground.NONE)

    def test_a_rejection_without_a_reason_is_refused(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        self.assertRefused(
            req, lambda: services.takedown_reject(request_id=req.pk, moderator=self.moderator, reason=" ")
        )


class DisputeTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def approved(self, *snapshots, **fields):
        snapshots = snapshots or (make_snapshot(),)
        return make_request(*snapshots, status=Status.APPROVED, moderator=self.moderator, **fields), snapshots

    def test_a_counter_notice_disputes_the_claims_on_the_snapshots_it_names_and_sets_the_restoration_date(self):
        req, (snapshot,) = self.approved()
        before = timezone.now()
        self.assertOneEvent(
            req,
            lambda: make_counter_notice(snapshot, explanation="这是公开的新闻稿。", ip="198.51.100.4"),
            action="counter_notice",
            actor=None,
            actor_label="counter-notice",
            from_status=Status.APPROVED,
            to_status=Status.DISPUTED,
            note="这是公开的新闻稿。",
        )
        req.refresh_from_db()
        self.assertEqual(req.status, Status.DISPUTED)
        self.assertEqual(settings.TAKEDOWN_RESTORE_AFTER_DAYS, 15)
        item = req.items.get()
        self.assertEqual(item.claim, Claim.DISPUTED)
        self.assertTrue(before + timedelta(days=15) <= item.restore_after <= timezone.now() + timedelta(days=15))
        self.assertIsNone(item.lawsuit_reported_at)
        notice = CounterNotice.objects.get()
        self.assertEqual(
            (list(notice.snapshots.all()), list(notice.claims.all()), notice.explanation, notice.submitted_ip),
            ([snapshot], [item], "这是公开的新闻稿。", "198.51.100.4"),
        )
        self.assertEqual(notice.restore_after, item.restore_after)
        self.assertEqual(status_of(snapshot), WITHHELD)

    def test_a_counter_notice_on_one_snapshot_disputes_that_snapshot_only(self):
        named, other = make_snapshot(), make_snapshot()
        req, _snapshots = self.approved(named, other)
        make_counter_notice(named)
        self.assertEqual(claims_of(req), [Claim.DISPUTED, Claim.STANDING])
        self.assertEqual(services.takedown_tick(now=timezone.now() + timedelta(days=16)).restored, [req.reference])
        self.assertEqual([status_of(named), status_of(other)], [PUBLISHED, WITHHELD])
        self.assertEqual(claims_of(req), [Claim.RESTORED, Claim.STANDING])
        req.refresh_from_db()
        self.assertEqual(req.status, Status.APPROVED)  # it still withholds the other snapshot

    def test_a_counter_notice_disputes_every_requesters_claim_on_the_snapshot_and_each_is_told(self):
        snapshot = make_snapshot()
        first, _ = self.approved(snapshot, email="first@example.org")
        second, _ = self.approved(snapshot, email="second@example.org")
        with sending_mail():
            notice = make_counter_notice(snapshot)
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), ["first@example.org", "second@example.org"])
        for message in mail.outbox:
            self.assertIn(timezone.localtime(notice.restore_after).strftime("%Y-%m-%d %H:%M"), message.body)
        self.assertEqual([claims_of(first), claims_of(second)], [[Claim.DISPUTED], [Claim.DISPUTED]])
        self.assertEqual(
            [TakedownRequest.objects.get(pk=r.pk).status for r in (first, second)], [Status.DISPUTED, Status.DISPUTED]
        )

    def test_restoration_lifts_only_the_claims_disputed_and_unanswered(self):
        snapshot = make_snapshot()
        first, _ = self.approved(snapshot, email="first@example.org")
        second, _ = self.approved(snapshot, email="second@example.org")
        make_counter_notice(snapshot)
        services.takedown_report_lawsuit(request_id=second.pk, note="已起诉")
        result = services.takedown_tick(now=timezone.now() + timedelta(days=16))
        self.assertEqual(result.restored, [first.reference])
        self.assertEqual([claims_of(first), claims_of(second)], [[Claim.RESTORED], [Claim.DISPUTED]])
        self.assertEqual(status_of(snapshot), WITHHELD)  # the second requester's claim still stands
        services.takedown_uphold(request_id=second.pk, moderator=self.moderator, reason="诉讼进行中。")
        self.assertEqual((claims_of(second), status_of(snapshot)), ([Claim.STANDING], WITHHELD))

    def test_a_claim_approved_after_the_snapshot_was_withheld_is_not_lifted_by_restoring_the_first(self):
        snapshot = make_snapshot()
        first, _ = self.approved(snapshot, email="first@example.org")
        make_counter_notice(snapshot)
        second, _ = self.approved(snapshot, email="second@example.org")
        services.takedown_restore(request_id=first.pk, moderator=self.moderator, reason="反通知成立。")
        self.assertEqual([claims_of(first), claims_of(second)], [[Claim.RESTORED], [Claim.STANDING]])
        self.assertEqual(status_of(snapshot), WITHHELD)

    @override_settings(TAKEDOWN_RESTORE_AFTER_DAYS=3)
    def test_the_waiting_period_is_the_configured_number_of_days(self):
        req, (snapshot,) = self.approved()
        before = timezone.now()
        make_counter_notice(snapshot)
        item = req.items.get()
        self.assertTrue(before + timedelta(days=3) <= item.restore_after <= timezone.now() + timedelta(days=3))

    def test_the_requester_is_sent_a_copy_of_the_counter_notice(self):
        req, (snapshot,) = self.approved()
        with sending_mail():
            make_counter_notice(snapshot, name="李四", email="li@example.net", explanation="该报道为政府公开信息。")
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, [req.email])
        self.assertIn(req.reference, message.subject)
        for text in [req.reference, "李四", "li@example.net", "该报道为政府公开信息。", snapshot_url(snapshot)]:
            self.assertIn(text, message.body)
        item = req.items.get()
        self.assertIn(timezone.localtime(item.restore_after).strftime("%Y-%m-%d %H:%M"), message.body)

    def test_a_counter_notice_for_a_snapshot_not_withheld_by_a_decision_is_refused(self):
        moderator = self.moderator
        rejected = make_request(status=Status.REJECTED, moderator=moderator)
        for req, snapshot in [
            (make_request(status=Status.IN_REVIEW, moderator=moderator), None),
            (rejected, rejected.items.get().snapshot),
            (make_request(make_snapshot(status=WITHHELD), status=Status.IN_REVIEW, moderator=moderator), None),
        ]:
            snapshot = snapshot or req.items.get().snapshot
            with self.subTest(status=req.status, snapshot=status_of(snapshot)):
                self.assertRefused(req, lambda s=snapshot: make_counter_notice(s), NOT_DISPUTABLE)
        # A snapshot an editor hid, or one listed but refused in a partial approval.
        hidden, refused = make_snapshot(status=HIDDEN), make_snapshot()
        partial = make_request(make_snapshot(), refused, status=Status.IN_REVIEW, moderator=moderator)
        services.takedown_approve(
            request_id=partial.pk,
            moderator=moderator,
            reason="部分成立。",
            outcomes={partial.items.get(snapshot=refused).pk: Outcome.REFUSED},
        )
        for snapshot in [hidden, refused]:
            with self.subTest(snapshot=snapshot.title):
                self.assertRefused(partial, lambda s=snapshot: make_counter_notice(s), NOT_DISPUTABLE)

    def test_a_counter_notice_naming_one_snapshot_that_cannot_be_disputed_disputes_nothing(self):
        disputable, public = make_snapshot(), make_snapshot()
        req, _ = self.approved(disputable)
        self.assertRefused(req, lambda: make_counter_notice(disputable, public), NOT_DISPUTABLE)

    def test_a_second_counter_notice_while_disputed_is_refused(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        self.assertRefused(req, lambda: make_counter_notice(snapshot, name="王五"), NOT_DISPUTABLE)

    def test_a_second_counter_notice_may_dispute_another_snapshot_of_a_disputed_request(self):
        first, second = make_snapshot(), make_snapshot()
        req, _ = self.approved(first, second)
        make_counter_notice(first)
        make_counter_notice(second, name="王五", email="wang5@example.net")
        self.assertEqual(claims_of(req), [Claim.DISPUTED, Claim.DISPUTED])
        self.assertEqual(
            list(req.events.values_list("action", "from_status", "to_status"))[-2:],
            [
                ("counter_notice", Status.APPROVED, Status.DISPUTED),
                ("counter_notice", Status.DISPUTED, Status.DISPUTED),
            ],
        )

    def test_the_requester_may_report_a_lawsuit_while_disputed(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        before = timezone.now()
        self.assertOneEvent(
            req,
            lambda: services.takedown_report_lawsuit(request_id=req.pk, note=" 已向北京互联网法院起诉 "),
            action="report_lawsuit",
            actor=None,
            actor_label="requester",
            from_status=Status.DISPUTED,
            to_status=Status.DISPUTED,
            note="已向北京互联网法院起诉",
        )
        req.refresh_from_db()
        self.assertEqual((req.status, req.lawsuit_note), (Status.DISPUTED, "已向北京互联网法院起诉"))
        self.assertTrue(before <= req.items.get().lawsuit_reported_at <= timezone.now())

    def test_a_lawsuit_can_be_reported_only_while_disputed(self):
        for status in [s for s in Status if s != Status.DISPUTED]:
            with self.subTest(status=status):
                req = make_request(status=status, moderator=self.moderator)
                self.assertRefused(
                    req,
                    lambda r=req: services.takedown_report_lawsuit(request_id=r.pk, note="已起诉"),
                    req.reference,
                    label(status),
                )

    def test_a_lawsuit_report_without_details_is_refused(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        req.refresh_from_db()
        self.assertRefused(req, lambda: services.takedown_report_lawsuit(request_id=req.pk, note=" "))

    def test_upholding_ends_the_dispute_and_keeps_the_snapshots_withheld(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        services.takedown_report_lawsuit(request_id=req.pk, note="已起诉")
        with sending_mail():
            self.assertOneEvent(
                req,
                lambda: services.takedown_uphold(request_id=req.pk, moderator=self.moderator, reason=" 诉讼进行中。 "),
                action="uphold",
                actor=self.moderator,
                from_status=Status.DISPUTED,
                to_status=Status.APPROVED,
                note="诉讼进行中。",
            )
        req.refresh_from_db()
        item = req.items.get()
        self.assertEqual((req.status, item.claim, item.restore_after), (Status.APPROVED, Claim.STANDING, None))
        self.assertEqual(status_of(snapshot), WITHHELD)
        self.assertEqual(sorted(to for m in mail.outbox for to in m.to), sorted([req.email, "uploader@example.net"]))
        for message in mail.outbox:
            self.assertIn(req.reference, message.body)
            self.assertIn("诉讼进行中。", message.body)
        # The tick leaves an upheld request alone.
        self.assertEqual(services.takedown_tick(now=timezone.now() + timedelta(days=365)).restored, [])
        self.assertEqual(status_of(snapshot), WITHHELD)

    def test_an_upheld_request_can_be_disputed_again(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        services.takedown_uphold(request_id=req.pk, moderator=self.moderator, reason="维持。")
        make_counter_notice(snapshot, name="王五", email="wang5@example.net")
        req.refresh_from_db()
        self.assertEqual(req.status, Status.DISPUTED)

    def test_a_moderator_may_restore_at_once_during_a_dispute(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        with sending_mail():
            self.assertOneEvent(
                req,
                lambda: services.takedown_restore(request_id=req.pk, moderator=self.moderator, reason=" 反通知成立。 "),
                action="restore",
                actor=self.moderator,
                actor_label="wang",
                from_status=Status.DISPUTED,
                to_status=Status.RESTORED,
                note="反通知成立。",
            )
        req.refresh_from_db()
        self.assertEqual(req.status, Status.RESTORED)
        self.assertEqual(status_of(snapshot), PUBLISHED)
        self.assertEqual(withholding(snapshot), [])
        self.assertEqual(sorted(to for m in mail.outbox for to in m.to), sorted([req.email, "uploader@example.net"]))

    def test_a_restoration_needs_a_reason(self):
        req, (snapshot,) = self.approved()
        make_counter_notice(snapshot)
        req.refresh_from_db()
        self.assertRefused(
            req, lambda: services.takedown_restore(request_id=req.pk, moderator=self.moderator, reason="")
        )

    def test_uphold_and_restore_are_refused_outside_a_dispute(self):
        for status in [s for s in Status if s != Status.DISPUTED]:
            req = make_request(status=status, moderator=self.moderator)
            for name, move in [
                (
                    "uphold",
                    lambda r=req: services.takedown_uphold(request_id=r.pk, moderator=self.moderator, reason="x"),
                ),
                (
                    "restore",
                    lambda r=req: services.takedown_restore(request_id=r.pk, moderator=self.moderator, reason="x"),
                ),
            ]:
                with self.subTest(status=status, move=name):
                    self.assertRefused(req, move, req.reference, label(status))


class WithdrawAfterApprovalTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_withdrawing_an_approved_request_lifts_its_claims_and_publishes_its_snapshots(self):
        first, second = make_snapshot(), make_snapshot()
        req = make_request(first, second, status=Status.APPROVED, moderator=self.moderator)
        self.assertOneEvent(
            req,
            lambda: services.takedown_withdraw(request_id=req.pk, note="已与对方和解。"),
            action="withdraw",
            actor_label="requester",
            from_status=Status.APPROVED,
            to_status=Status.WITHDRAWN,
        )
        self.assertEqual(claims_of(req), [Claim.WITHDRAWN, Claim.WITHDRAWN])
        self.assertEqual([status_of(first), status_of(second)], [PUBLISHED, PUBLISHED])

    def test_withdrawing_lifts_only_the_requesters_own_claims(self):
        shared = make_snapshot()
        mine = make_request(shared, status=Status.APPROVED, moderator=self.moderator, email="mine@example.org")
        theirs = make_request(shared, status=Status.APPROVED, moderator=self.moderator, email="theirs@example.org")
        services.takedown_withdraw(request_id=mine.pk)
        self.assertEqual((claims_of(mine), claims_of(theirs)), ([Claim.WITHDRAWN], [Claim.STANDING]))
        self.assertEqual(status_of(shared), WITHHELD)

    def test_a_disputed_request_may_be_withdrawn_too(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        services.takedown_withdraw(request_id=req.pk)
        self.assertEqual((claims_of(req), status_of(snapshot)), ([Claim.WITHDRAWN], PUBLISHED))
        self.assertEqual(services.takedown_tick(now=timezone.now() + timedelta(days=30)).restored, [])

    def test_a_withdrawn_snapshot_an_editor_hid_stays_hidden(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.APPROVED, moderator=self.moderator)
        snapshot_set_status(snapshot_ids=[snapshot.pk], status=HIDDEN, actor=make_editor())
        services.takedown_withdraw(request_id=req.pk)
        self.assertEqual(status_of(snapshot), HIDDEN)


class TakedownTickTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def disputed(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        return req, snapshot

    def set_restore_after(self, req, when):
        TakedownItem.objects.filter(request=req, claim=Claim.DISPUTED).update(restore_after=when)

    def test_the_tick_restores_only_disputes_past_their_waiting_period_with_no_lawsuit(self):
        due, due_snapshot = self.disputed()
        sued, sued_snapshot = self.disputed()
        services.takedown_report_lawsuit(request_id=sued.pk, note="已起诉")
        waiting, waiting_snapshot = self.disputed()
        now = timezone.now()
        for req in (due, sued):
            self.set_restore_after(req, now - timedelta(minutes=1))
        self.set_restore_after(waiting, now + timedelta(minutes=1))

        with sending_mail():
            self.assertOneEvent(
                due,
                lambda: self.assertEqual(services.takedown_tick(now=now).restored, [due.reference]),
                action="restore_due",
                actor=None,
                actor_label="system",
                from_status=Status.DISPUTED,
                to_status=Status.RESTORED,
            )
        self.assertEqual(
            [TakedownRequest.objects.get(pk=r.pk).status for r in (due, sued, waiting)],
            [Status.RESTORED, Status.DISPUTED, Status.DISPUTED],
        )
        self.assertEqual(
            [status_of(s) for s in (due_snapshot, sued_snapshot, waiting_snapshot)], [PUBLISHED, WITHHELD, WITHHELD]
        )
        self.assertEqual(sorted(to for m in mail.outbox for to in m.to), sorted([due.email, "uploader@example.net"]))

    def test_the_tick_restores_a_dispute_whose_waiting_period_ends_exactly_now(self):
        req, snapshot = self.disputed()
        restore_after = req.items.get().restore_after
        self.assertEqual(services.takedown_tick(now=restore_after - timedelta(seconds=1)).restored, [])
        self.assertEqual(services.takedown_tick(now=restore_after).restored, [req.reference])
        self.assertEqual(status_of(snapshot), PUBLISHED)

    def test_the_tick_is_idempotent(self):
        req, snapshot = self.disputed()
        later = timezone.now() + timedelta(days=16)
        self.assertEqual(services.takedown_tick(now=later).restored, [req.reference])
        events = ModerationEvent.objects.count()
        with sending_mail():
            self.assertEqual(services.takedown_tick(now=later).restored, [])
            self.assertEqual(services.takedown_tick(now=later + timedelta(days=30)).restored, [])
        self.assertEqual(ModerationEvent.objects.count(), events)
        self.assertEqual(mail.outbox, [])
        self.assertEqual(status_of(snapshot), PUBLISHED)

    def test_the_tick_uses_the_current_time_by_default(self):
        req, snapshot = self.disputed()
        self.assertEqual(services.takedown_tick().restored, [])
        self.set_restore_after(req, timezone.now() - timedelta(seconds=1))
        self.assertEqual(services.takedown_tick().restored, [req.reference])

    @override_settings(TAKEDOWN_RESTORE_AFTER_DAYS=0)
    def test_with_no_waiting_period_a_counter_notice_restores_at_once(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.APPROVED, moderator=self.moderator)
        with sending_mail():
            make_counter_notice(snapshot)
        req.refresh_from_db()
        self.assertEqual(req.status, Status.RESTORED)
        self.assertEqual(status_of(snapshot), PUBLISHED)
        self.assertEqual(
            list(req.events.values_list("action", "actor_label", "from_status", "to_status"))[-2:],
            [
                ("counter_notice", "counter-notice", Status.APPROVED, Status.DISPUTED),
                ("restore_due", "system", Status.DISPUTED, Status.RESTORED),
            ],
        )
        # The copy of the counter-notice, then the outcome to the requester and to the counter-notifier.
        self.assertEqual(len(mail.outbox), 3)
        self.assertEqual(services.takedown_tick(now=timezone.now() + timedelta(days=1)).restored, [])


# --- exact restoration ---------------------------------------------------------------------------


class ExactRestorationTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")
        cls.editor = make_editor()
        cls.published = make_snapshot(title="公开的快照", byline="(孙安琪 王燕)", reprinted_from="人民网-山东频道")
        cls.hidden = make_snapshot(title="编辑隐藏的快照")
        cls.bystander = make_snapshot(title="无关的快照")
        make_related_link(cls.published, title="相关", target=cls.hidden)
        make_related_link(cls.published, url="https://news.example.com/related.html")
        make_related_link(cls.hidden, excerpt="指向公开快照的摘要", target=cls.published)
        make_related_link(cls.bystander, target=cls.published)

    def content(self):
        """Every snapshot and related link as stored, except a snapshot's state and change time."""
        snapshots = list(Snapshot.objects.order_by("pk").values())
        for row in snapshots:
            del row["status"], row["withheld"], row["updated_at"]
        return snapshots, list(RelatedLink.objects.order_by("pk").values())

    def assertNothingDeleted(self):
        self.assertEqual((Snapshot.objects.count(), RelatedLink.objects.count()), self.counts)

    def run_to_dispute(self):
        self.counts = (Snapshot.objects.count(), RelatedLink.objects.count())
        content = self.content()
        req = make_request(self.published, self.hidden, status=Status.IN_REVIEW, moderator=self.moderator)
        # An editor hides one of them after the request listed it.
        snapshot_set_status(snapshot_ids=[self.hidden.pk], status=HIDDEN, actor=self.editor)
        content = self.content()
        services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="侵权成立。")
        # The claim on the hidden snapshot withholds it, behind the editor's choice.
        self.assertEqual([status_of(self.published), status_of(self.hidden)], [WITHHELD, HIDDEN])
        self.assertEqual(self.content(), content)
        self.assertNothingDeleted()
        make_counter_notice(self.published)
        self.assertNothingDeleted()
        return req, content

    def assertRestoredExactly(self, content):
        self.assertEqual(
            [status_of(self.published), status_of(self.hidden), status_of(self.bystander)],
            [PUBLISHED, HIDDEN, PUBLISHED],
        )
        self.assertEqual(self.content(), content)
        self.assertNothingDeleted()
        # Only the snapshot the counter-notice named came back; the other claim still stands.
        self.assertEqual(
            list(
                TakedownItem.objects.filter(snapshot__in=[self.published, self.hidden])
                .order_by("snapshot_id")
                .values_list("claim", flat=True)
            ),
            [Claim.RESTORED, Claim.STANDING],
        )

    def test_a_moderators_restoration_gives_each_snapshot_back_exactly_as_it_was(self):
        req, content = self.run_to_dispute()
        services.takedown_restore(request_id=req.pk, moderator=self.moderator, reason="反通知成立。")
        self.assertRestoredExactly(content)

    def test_the_ticks_restoration_gives_each_snapshot_back_exactly_as_it_was(self):
        req, content = self.run_to_dispute()
        self.assertEqual(
            services.takedown_tick(now=timezone.now() + timedelta(days=15, seconds=1)).restored, [req.reference]
        )
        self.assertRestoredExactly(content)

    @override_settings(TAKEDOWN_RESTORE_AFTER_DAYS=0)
    def test_an_immediate_restoration_gives_each_snapshot_back_exactly_as_it_was(self):
        _req, content = self.run_to_dispute()
        self.assertRestoredExactly(content)

    def test_a_restored_hidden_snapshot_stays_out_of_public_lists_and_a_published_one_returns(self):
        req, _content = self.run_to_dispute()
        services.takedown_restore(request_id=req.pk, moderator=self.moderator, reason="反通知成立。")
        published = set(Snapshot.objects.published().values_list("pk", flat=True))
        self.assertIn(self.published.pk, published)
        self.assertNotIn(self.hidden.pk, published)
        self.assertEqual(
            set(RelatedLink.objects.filter(snapshot=self.bystander).visible().values_list("target", flat=True)),
            {self.published.pk},
        )

    def test_a_rejected_or_withdrawn_request_deletes_nothing(self):
        counts = (Snapshot.objects.count(), RelatedLink.objects.count())
        req = make_request(self.published, status=Status.REJECTED, moderator=self.moderator)
        make_request(self.hidden, status=Status.WITHDRAWN)
        self.assertEqual((Snapshot.objects.count(), RelatedLink.objects.count()), counts)
        self.assertEqual(req.items.count(), 1)


# --- the event log -------------------------------------------------------------------------------


class ModerationEventTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_every_transition_writes_exactly_one_event_with_actor_from_to_and_note(self):
        snapshot = make_snapshot()
        req = submit(snapshot).request
        mod = self.moderator
        steps = [
            (lambda: services.takedown_review(request_id=req.pk, moderator=mod, note="n1"), "review", mod, "submitted", "in_review", "n1"),
            (lambda: services.takedown_ask(request_id=req.pk, moderator=mod, question="n2"), "ask", mod, "in_review", "info_requested", "n2"),
            (lambda: services.takedown_answer(request_id=req.pk, answer="n3"), "answer", None, "info_requested", "in_review", "n3"),
            (lambda: services.takedown_approve(request_id=req.pk, moderator=mod, reason="n4"), "approve", mod, "in_review", "approved", "n4"),
            (lambda: make_counter_notice(snapshot, explanation="n5"), "counter_notice", None, "approved", "disputed", "n5"),
            (lambda: services.takedown_report_lawsuit(request_id=req.pk, note="n6"), "report_lawsuit", None, "disputed", "disputed", "n6"),
            (lambda: services.takedown_uphold(request_id=req.pk, moderator=mod, reason="n7"), "uphold", mod, "disputed", "approved", "n7"),
            (lambda: make_counter_notice(snapshot, explanation="n8"), "counter_notice", None, "approved", "disputed", "n8"),
            (lambda: services.takedown_restore(request_id=req.pk, moderator=mod, reason="n9"), "restore", mod, "disputed", "restored", "n9"),
        ]  # fmt: skip
        for move, action, actor, from_status, to_status, note in steps:
            with self.subTest(action=action, from_status=from_status):
                event = self.assertOneEvent(
                    req, move, action=action, actor=actor, from_status=from_status, to_status=to_status, note=note
                )
                self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, to_status)
                self.assertIsNotNone(event.created_at)
        self.assertEqual(
            list(req.events.values_list("action", flat=True)),
            ["submit", "review", "ask", "answer", "approve", "counter_notice", "report_lawsuit", "uphold", "counter_notice", "restore"],
        )  # fmt: skip

    def test_events_are_kept_in_the_order_they_happened(self):
        req = make_request(status=Status.RESTORED, moderator=self.moderator)
        events = list(req.events.all())
        self.assertEqual([e.created_at for e in events], sorted(e.created_at for e in events))
        self.assertEqual(
            [(e.from_status, e.to_status) for e in events],
            [("", "submitted"), ("submitted", "in_review"), ("in_review", "approved"), ("approved", "disputed"), ("disputed", "restored")],
        )  # fmt: skip

    def test_a_saved_event_cannot_be_saved_again(self):
        event = make_request().events.get()
        event.note = "改写的历史"
        with self.assertRaisesMessage(ValueError, "append-only"):
            event.save()
        self.assertEqual(ModerationEvent.objects.get(pk=event.pk).note, "")

    def test_a_saved_event_cannot_be_deleted(self):
        event = make_request().events.get()
        with self.assertRaisesMessage(ValueError, "append-only"):
            event.delete()
        self.assertTrue(ModerationEvent.objects.filter(pk=event.pk).exists())

    def test_events_cannot_be_deleted_in_bulk(self):
        req = make_request()
        with self.assertRaises(ValueError):
            ModerationEvent.objects.filter(request=req).delete()
        self.assertEqual(req.events.count(), 1)

    def test_events_cannot_be_rewritten_in_bulk(self):
        req = make_request()
        with self.assertRaises(ValueError):
            ModerationEvent.objects.filter(request=req).update(note="改写的历史")
        self.assertEqual(req.events.get().note, "")


class RefusedMovesTests(WorkflowAssertions, TestCase):
    """Every move from every state the diagram does not allow: refused, naming the state, and
    nothing changes."""

    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def moves(self, req):
        mod = self.moderator
        return {
            "review": ({Status.SUBMITTED}, lambda: services.takedown_review(request_id=req.pk, moderator=mod)),
            "ask": ({Status.IN_REVIEW}, lambda: services.takedown_ask(request_id=req.pk, moderator=mod, question="?")),
            "answer": ({Status.INFO_REQUESTED}, lambda: services.takedown_answer(request_id=req.pk, answer="答复")),
            "withdraw": ({*TakedownRequest.OPEN_STATUSES, Status.APPROVED, Status.DISPUTED}, lambda: services.takedown_withdraw(request_id=req.pk)),
            "approve": ({Status.IN_REVIEW}, lambda: services.takedown_approve(request_id=req.pk, moderator=mod, reason="r")),
            "reject": ({Status.IN_REVIEW, Status.INFO_REQUESTED}, lambda: services.takedown_reject(request_id=req.pk, moderator=mod, reason="r")),
            "assign": (
                {*TakedownRequest.OPEN_STATUSES, Status.DISPUTED},
                lambda: services.takedown_assign(request_id=req.pk, moderator=mod),
            ),
            "report_lawsuit": ({Status.DISPUTED}, lambda: services.takedown_report_lawsuit(request_id=req.pk, note="n")),
            "uphold": ({Status.DISPUTED}, lambda: services.takedown_uphold(request_id=req.pk, moderator=mod, reason="r")),
            "restore": ({Status.DISPUTED}, lambda: services.takedown_restore(request_id=req.pk, moderator=mod, reason="r")),
        }  # fmt: skip

    def test_every_move_the_diagram_does_not_allow_is_refused_naming_the_state_and_changes_nothing(self):
        refused = 0
        for status in Status:
            req = make_request(status=status, moderator=self.moderator)
            self.assertEqual(req.status, status)
            for name, (allowed_from, move) in self.moves(req).items():
                if status in allowed_from:
                    continue
                with self.subTest(status=status, move=name):
                    self.assertRefused(req, move, req.reference, label(status))
                    refused += 1
            if status != Status.APPROVED:
                with self.subTest(status=status, move="counter_notice"):
                    snapshot = req.items.get().snapshot
                    self.assertRefused(req, lambda s=snapshot: make_counter_notice(s), NOT_DISPUTABLE)
                    refused += 1
        # 9 states x 11 moves, less the 19 the diagram allows (assign: the open states and disputed;
        # withdraw: the open states, approved and disputed).
        self.assertEqual(refused, 80)


# --- who may do what -----------------------------------------------------------------------------


class PermissionTests(WorkflowAssertions, TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")
        cls.editor = make_editor()
        cls.staff = User.objects.create_user("staff", is_staff=True)
        cls.former_moderator = make_moderator("former")
        cls.former_moderator.is_active = False
        cls.former_moderator.save()

    def moderators_moves(self):
        """(state the move starts from, move(req, actor))."""
        return {
            "assign": (Status.SUBMITTED, lambda r, a: services.takedown_assign(request_id=r.pk, moderator=a)),
            "review": (Status.SUBMITTED, lambda r, a: services.takedown_review(request_id=r.pk, moderator=a)),
            "ask": (Status.IN_REVIEW, lambda r, a: services.takedown_ask(request_id=r.pk, moderator=a, question="?")),
            "approve": (Status.IN_REVIEW, lambda r, a: services.takedown_approve(request_id=r.pk, moderator=a, reason="r")),
            "reject": (Status.IN_REVIEW, lambda r, a: services.takedown_reject(request_id=r.pk, moderator=a, reason="r")),
            "uphold": (Status.DISPUTED, lambda r, a: services.takedown_uphold(request_id=r.pk, moderator=a, reason="r")),
            "restore": (Status.DISPUTED, lambda r, a: services.takedown_restore(request_id=r.pk, moderator=a, reason="r")),
        }  # fmt: skip

    def test_only_moderators_may_make_the_moderators_moves(self):
        only_moderators = gettext("Only moderators may decide removal requests.")
        actors = {
            "editor": self.editor,
            "staff": self.staff,
            "inactive moderator": self.former_moderator,
            "anonymous": AnonymousUser(),
            "none": None,
        }
        for name, (status, move) in self.moderators_moves().items():
            req = make_request(status=status, moderator=self.moderator)
            for who, actor in actors.items():
                if name == "restore" and actor is None:
                    continue  # see test_restoring_without_a_moderator_is_refused
                with self.subTest(move=name, actor=who):
                    self.assertRefused(req, lambda m=move, r=req, a=actor: m(r, a), only_moderators)
            with self.subTest(move=name, actor="moderator"):
                move(req, self.moderator)

    def test_an_editor_is_not_a_moderator_and_a_moderator_is_not_an_editor(self):
        self.assertFalse(services.is_moderator(self.editor))
        self.assertTrue(services.is_moderator(self.moderator))
        self.assertFalse(self.moderator.has_perm("articles.change_snapshot"))
        self.assertTrue(self.editor.has_perm("articles.change_snapshot"))

    def test_restoring_without_a_moderator_is_refused(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        services.takedown_report_lawsuit(request_id=req.pk, note="已向法院起诉")
        self.assertRefused(req, lambda: services.takedown_restore(request_id=req.pk, moderator=None, reason="r"))
        self.assertEqual(status_of(snapshot), WITHHELD)

    def test_the_requesters_moves_need_no_account(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        services.takedown_answer(request_id=req.pk, answer="答复")
        services.takedown_withdraw(request_id=req.pk)
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.WITHDRAWN)


class AbuseTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")
        cls.editor = make_editor()
        cls.requester = make_request().requester

    def warn(self, **kwargs):
        kwargs.setdefault("note", "三次明显无依据的通知。")
        kwargs.setdefault("moderator", self.moderator)
        return services.requester_warn(requester_id=self.requester.pk, **kwargs)

    def suspend(self, **kwargs):
        kwargs.setdefault("note", "警告后仍然滥用。")
        kwargs.setdefault("moderator", self.moderator)
        kwargs.setdefault("days", 30)
        return services.requester_suspend(requester_id=self.requester.pk, **kwargs)

    def assertRequesterUnchanged(self, move, message=None):
        before = Requester.objects.filter(pk=self.requester.pk).values().get()
        with sending_mail():
            with self.assertRaises(TransitionError) as caught:
                move()
        if message:
            self.assertIn(message, str(caught.exception))
        self.assertEqual(Requester.objects.filter(pk=self.requester.pk).values().get(), before)
        self.assertEqual(mail.outbox, [])

    def test_a_moderator_may_warn_a_requester_who_is_told_by_email(self):
        before = timezone.now()
        with sending_mail():
            self.warn(note=" 三次明显无依据的通知。 ")
        requester = Requester.objects.get(pk=self.requester.pk)
        self.assertTrue(before <= requester.warned_at <= timezone.now())
        self.assertEqual(requester.abuse_note, "三次明显无依据的通知。")
        self.assertIsNone(requester.suspended_until)
        self.assertEqual([m.to for m in mail.outbox], [[self.requester.email]])
        self.assertIn("三次明显无依据的通知。", mail.outbox[0].body)

    def test_a_warned_requester_may_then_be_suspended_for_a_number_of_days(self):
        self.warn()
        before = timezone.now()
        with sending_mail():
            self.suspend(days=30)
        requester = Requester.objects.get(pk=self.requester.pk)
        self.assertTrue(before + timedelta(days=30) <= requester.suspended_until <= timezone.now() + timedelta(days=30))
        self.assertTrue(requester.is_suspended())
        self.assertFalse(requester.is_suspended(at=requester.suspended_until))
        self.assertEqual(requester.abuse_note, "三次明显无依据的通知。\n警告后仍然滥用。")
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn(timezone.localtime(requester.suspended_until).strftime("%Y-%m-%d"), mail.outbox[0].body)

    def test_suspending_before_a_warning_is_refused(self):
        self.assertRequesterUnchanged(self.suspend, gettext("Warn a requester before suspending them."))

    def test_a_suspension_lasts_at_least_one_day(self):
        self.warn()
        for days in [0, -3]:
            with self.subTest(days=days):
                self.assertRequesterUnchanged(lambda d=days: self.suspend(days=d))
        self.suspend(days=1)

    def test_a_measure_needs_a_note(self):
        self.assertRequesterUnchanged(lambda: self.warn(note=" "))
        self.warn()
        self.assertRequesterUnchanged(lambda: self.suspend(note=""))

    def test_only_moderators_may_warn_or_suspend(self):
        for actor in [self.editor, AnonymousUser(), None]:
            with self.subTest(actor=actor):
                self.assertRequesterUnchanged(lambda a=actor: self.warn(moderator=a))
        self.warn()
        for actor in [self.editor, AnonymousUser(), None]:
            with self.subTest(actor=actor):
                self.assertRequesterUnchanged(lambda a=actor: self.suspend(moderator=a))

    def test_a_suspended_requesters_next_submission_is_refused_naming_email(self):
        self.warn()
        self.suspend(days=7)
        with self.assertRaises(SubmissionError) as caught:
            submit(make_snapshot(), email=self.requester.email.upper())
        self.assertEqual(list(caught.exception.errors), ["email"])
        self.assertEqual(self.requester.requests.count(), 1)

    def test_a_warning_alone_does_not_stop_new_submissions(self):
        self.warn()
        self.assertEqual(submit(make_snapshot(), email=self.requester.email).request.status, Status.SUBMITTED)


# --- emails --------------------------------------------------------------------------------------


class DecisionEmailTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_the_approval_email_states_the_reasons_the_ground_the_outcomes_and_how_to_appeal(self):
        withheld, refused, earlier = make_snapshot(), make_snapshot(), make_snapshot(status=WITHHELD)
        req = make_request(withheld, refused, earlier, status=Status.IN_REVIEW, moderator=self.moderator)
        reason = "权利人提交了首发证明:原文 2023-09-14 首发于人民网,快照全文转载。"
        with sending_mail():
            services.takedown_approve(
                request_id=req.pk,
                moderator=self.moderator,
                reason=reason,
                outcomes={req.items.get(snapshot=refused).pk: Outcome.REFUSED},
            )
        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, [req.email])
        self.assertIn(req.reference, message.subject)
        self.assertIn(label(Status.APPROVED), message.subject)
        body = message.body
        for text in [
            req.reference,
            req.name,
            reason,
            in_site_language("Statement of reasons"),
            label(TakedownRequest.Ground.COPYRIGHT),
            in_site_language(
                "This decision was taken by a person. No automated means were used to detect the content or to decide."
            ),
            redress_text(req),
            in_site_language(
                "The person whose content was withheld may send a counter-notice from the snapshot's page."
            ),
            f"1. {snapshot_url(withheld)}: {label(Outcome.ACTIONED)}",
            f"2. {snapshot_url(refused)}: {label(Outcome.REFUSED)}",
            f"3. {snapshot_url(earlier)}: {label(Claim.STANDING)}",
            settings.SITE_URL + reverse("moderation:transparency"),
            settings.MODERATION_CONTACT_EMAIL,
        ]:
            self.assertIn(text, body)
        for personal in [req.phone, req.address]:
            self.assertNotIn(personal, body)

    def test_the_rejection_email_states_the_reasons_and_that_no_ground_was_established(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        with sending_mail():
            services.takedown_reject(request_id=req.pk, moderator=self.moderator, reason="未提供任何权利证明。")
        (message,) = mail.outbox
        self.assertIn(label(Status.REJECTED), message.subject)
        for text in [
            req.reference,
            "未提供任何权利证明。",
            label(TakedownRequest.Ground.NONE),
            f"1. {snapshot_url(req.items.get().snapshot)}: {label(Outcome.REFUSED)}",
            in_site_language(
                "This decision was taken by a person. No automated means were used to detect the content or to decide."
            ),
        ]:
            self.assertIn(text, message.body)

    def test_the_emails_are_in_the_site_language_whatever_language_is_active(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        with translation.override("en"), sending_mail():
            services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="成立。")
        self.assertEqual(settings.LANGUAGE_CODE, "zh-hans")
        self.assertIn(f"1. {snapshot_url(req.items.get().snapshot)}: {label(Outcome.ACTIONED)}", mail.outbox[0].body)

    def test_a_rolled_back_transition_sends_nothing_and_changes_nothing(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.moderator)
        before = state_of(req)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            with self.assertRaises(Rollback), transaction.atomic():
                services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="成立。")
                self.assertEqual(status_of(snapshot), WITHHELD)
                raise Rollback
        self.assertEqual(callbacks, [])
        self.assertEqual(mail.outbox, [])
        self.assertEqual(state_of(req), before)

    def test_a_failure_while_recording_the_event_rolls_back_the_withholding_and_sends_nothing(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.moderator)
        before = state_of(req)
        with self.captureOnCommitCallbacks(execute=True) as callbacks:
            with mock.patch.object(services, "_record", side_effect=RuntimeError("disk full")):
                with self.assertRaisesMessage(RuntimeError, "disk full"):
                    services.takedown_approve(request_id=req.pk, moderator=self.moderator, reason="成立。")
        self.assertEqual(callbacks, [])
        self.assertEqual(mail.outbox, [])
        self.assertEqual(state_of(req), before)
        self.assertEqual(status_of(snapshot), PUBLISHED)

    def test_every_email_is_queued_with_its_transition_and_rolled_back_with_it(self):
        req = make_request(status=Status.IN_REVIEW, moderator=self.moderator)
        services.takedown_ask(request_id=req.pk, moderator=self.moderator, question="?")
        services.takedown_answer(request_id=req.pk, answer="!")
        with self.assertRaises(RuntimeError), transaction.atomic():
            services.takedown_reject(request_id=req.pk, moderator=self.moderator, reason="不成立。")
            raise RuntimeError("rolled back after the decision")

        self.assertEqual(
            list(Message.objects.filter(reference=req.reference, status=Message.Status.PENDING).values_list("kind")),
            [("info_request",)],
        )
        run_tasks()
        self.assertEqual([m.subject for m in mail.outbox], [Message.objects.get(kind="info_request").subject])


# --- two moderators at once ----------------------------------------------------------------------


def approve_in_thread(request_id: int, username: str, barrier: threading.Barrier, results: dict) -> None:
    """Approve as `username` on this thread's own connection once every thread is ready."""
    try:
        moderator = User.objects.get(username=username)
        barrier.wait()
        services.takedown_approve(request_id=request_id, moderator=moderator, reason=f"{username} 批准。")
        results[username] = "approved"
    except Exception as error:  # reported to the test, whatever it is
        results[username] = error
    finally:
        connection.close()


class SequentialApprovalTests(TestCase):
    """The outcome two moderators see when their approvals arrive one after the other."""

    def test_the_second_moderator_to_approve_is_told_it_was_already_approved_and_by_whom(self):
        first, second = make_moderator("first"), make_moderator("second")
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=first)
        with sending_mail():
            services.takedown_approve(request_id=req.pk, moderator=first, reason="first 批准。")
        with sending_mail():
            with self.assertRaises(TransitionError) as caught:
                services.takedown_approve(request_id=req.pk, moderator=second, reason="second 批准。")
        message = str(caught.exception)
        for text in [req.reference, label(Status.APPROVED), "first"]:
            self.assertIn(text, message)
        self.assertEqual(req.events.filter(action="approve").count(), 1)
        self.assertEqual(req.events.get(action="approve").actor, first)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(req.items.get().claim, Claim.STANDING)


@skipUnlessDBFeature("has_select_for_update")
class ConcurrentApprovalTests(TransactionTestCase):
    """Real threads on their own connections; needs a database with row locks (PostgreSQL)."""

    # The Editors and Moderators groups come from data migrations, which a flush would lose.
    serialized_rollback = True

    def run_at_once(self, jobs):
        barrier = threading.Barrier(len(jobs), timeout=10)
        results = {}
        threads = [threading.Thread(target=approve_in_thread, args=(*job, barrier, results)) for job in jobs]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        self.assertFalse(any(thread.is_alive() for thread in threads))
        return results

    def test_two_moderators_approving_at_once_exactly_one_wins_and_the_other_is_told(self):
        make_moderator("first")
        make_moderator("second")
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.IN_REVIEW)
        real_sync = ledger.sync

        def slow_sync(snapshot_ids):
            # Hold the request's row lock a while, so the other approval surely arrives meanwhile.
            time.sleep(0.3)
            return real_sync(snapshot_ids)

        mail.outbox.clear()  # the receipt went out when the request was filed
        with mock.patch.object(ledger, "sync", slow_sync):
            results = self.run_at_once([(req.pk, "first"), (req.pk, "second")])

        winners = [name for name, result in results.items() if result == "approved"]
        losers = {name: result for name, result in results.items() if result != "approved"}
        self.assertEqual(len(winners), 1, results)
        (loser,) = losers.values()
        self.assertIsInstance(loser, TransitionError)
        for text in [req.reference, label(Status.APPROVED), winners[0]]:
            self.assertIn(text, str(loser))
        self.assertEqual(ModerationEvent.objects.filter(request=req, action="approve").count(), 1)
        self.assertEqual(ModerationEvent.objects.get(request=req, action="approve").actor.username, winners[0])
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.APPROVED)
        self.assertEqual(status_of(snapshot), WITHHELD)
        self.assertEqual(list(req.items.values_list("outcome", "claim")), [(Outcome.ACTIONED, Claim.STANDING)])
        run_tasks()
        self.assertEqual([m.to for m in mail.outbox], [[req.email]])
        self.assertIn(label(Status.APPROVED), mail.outbox[0].subject)

    def test_two_requests_for_one_snapshot_approved_at_once_both_stand_and_it_is_withheld(self):
        make_moderator("first")
        make_moderator("second")
        snapshot = make_snapshot()
        one = make_request(snapshot, status=Status.IN_REVIEW, email="one@example.org")
        two = make_request(snapshot, status=Status.IN_REVIEW, email="two@example.org")
        barrier = threading.Barrier(2, timeout=5)
        real_sync = ledger.sync

        def sync_together(snapshot_ids):
            # Both approvals have written their claims; now both recompute the snapshot.
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass  # one approval waits on the other's lock: that is the behaviour wanted
            return real_sync(snapshot_ids)

        with mock.patch.object(ledger, "sync", sync_together):
            results = self.run_at_once([(one.pk, "first"), (two.pk, "second")])

        self.assertEqual(results, {"first": "approved", "second": "approved"})
        items = TakedownItem.objects.filter(snapshot=snapshot)
        self.assertEqual(list(items.values_list("claim", flat=True)), [Claim.STANDING, Claim.STANDING])
        self.assertEqual(status_of(snapshot), WITHHELD)
        # Withdrawing one leaves the other standing: the snapshot stays withheld.
        services.takedown_withdraw(request_id=one.pk)
        self.assertEqual(status_of(snapshot), WITHHELD)
        services.takedown_withdraw(request_id=two.pk)
        self.assertEqual(status_of(snapshot), PUBLISHED)


@override_settings(ARTICLES_PURGE_HOOK="articles.tests.test_purge.recording_purger")
class PurgeTests(TestCase):
    """A snapshot withheld or restored by the ledger reaches the CDN's purge hook (articles.purge)."""

    def test_withholding_and_restoring_purge_the_snapshots_pages_and_only_when_its_state_changes(self):
        moderator = make_moderator()
        snapshot = make_snapshot()
        keys = {f"snapshot-{snapshot.key}", f"category-{snapshot.category_id}", "lists"}
        purged()
        first = make_request(snapshot, status=Status.APPROVED, moderator=moderator, email="first@example.org")
        self.assertEqual(purged(), keys)
        make_request(snapshot, status=Status.APPROVED, moderator=moderator, email="second@example.org")
        self.assertEqual(purged(), set())  # already withheld: no page changed
        services.takedown_withdraw(request_id=first.pk)
        self.assertEqual(purged(), set())  # still withheld by the second
        services.takedown_withdraw(request_id=TakedownRequest.objects.get(email="second@example.org").pk)
        self.assertEqual(purged(), keys)


class AutomationAndRedressTests(TestCase):
    """Every email that ends a step says how to seek redress, and whether a person or the system
    took the step; an automatic step is never reported as a person's decision."""

    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_an_automatic_restoration_is_disclosed_in_its_emails_with_the_redress_text(self):
        snapshot = make_snapshot()
        req = make_request(snapshot, status=Status.DISPUTED, moderator=self.moderator)
        with sending_mail():
            services.takedown_tick(now=timezone.now() + timedelta(days=16))
        self.assertEqual(len(mail.outbox), 2)  # the requester and the counter-notifier
        with translation.override(settings.LANGUAGE_CODE):
            step = str(workflow.action("restore_due").done)
        for message in mail.outbox:
            self.assertIn(automation_text(step), message.body)
            self.assertIn(redress_text(req), message.body)
            self.assertNotIn(automation_text(), message.body)

    def test_a_persons_uphold_and_restore_say_a_person_took_them_and_how_to_seek_redress(self):
        for move in (services.takedown_uphold, services.takedown_restore):
            req = make_request(status=Status.DISPUTED, moderator=self.moderator, email=f"{move.__name__}@example.org")
            with self.subTest(move=move.__name__):
                with sending_mail():
                    move(request_id=req.pk, moderator=self.moderator, reason="理由。")
                self.assertEqual(len(mail.outbox), 2)
                for message in mail.outbox:
                    self.assertIn(automation_text(), message.body)
                    self.assertIn(redress_text(req), message.body)

    def test_a_lapse_is_decided_automatically_and_its_email_says_so(self):
        req = make_request(status=Status.INFO_REQUESTED, moderator=self.moderator)
        with sending_mail():
            services.takedown_tick(now=TakedownRequest.objects.get(pk=req.pk).info_due_at)
        (message,) = mail.outbox
        self.assertIn(
            in_site_language(
                "This request was closed automatically because the deadline for the requested information passed; "
                "no person judged the claim. No automated means were used to detect the content."
            ),
            message.body,
        )
        self.assertIn(redress_text(req), message.body)
        self.assertNotIn(in_site_language("This decision was taken by a person."), message.body)

    def test_warnings_suspensions_and_lifts_say_how_to_contest_them(self):
        requester = make_request().requester
        text = in_site_language(
            "This measure was taken by a person. You may contest it within six months by replying to this email; "
            "a moderator other than the one who took it reviews your objection. You may also bring the matter "
            "before a court."
        )
        moves = [
            lambda: services.requester_warn(requester_id=requester.pk, moderator=self.moderator, note="警告。"),
            lambda: services.requester_suspend(
                requester_id=requester.pk, moderator=self.moderator, days=3, note="停。"
            ),
            lambda: services.requester_lift(requester_id=requester.pk, moderator=self.moderator, note="解除。"),
        ]
        for measure, move in zip(("warn", "suspend", "lift"), moves, strict=True):
            with self.subTest(measure=measure):
                mail.outbox.clear()
                with sending_mail():
                    move()
                (message,) = mail.outbox
                self.assertIn(text, message.body)
