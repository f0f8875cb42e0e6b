"""The outbox: every email is stored with the change it reports and sent by the worker, retried
while the mail server fails, and never lost or answered with a 5xx."""

import smtplib
from datetime import timedelta
from unittest import mock

from django.core import mail
from django.db import transaction
from django.test import TestCase, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from django_tasks_db.models import DBTaskResult

from articles.tests.helpers import make_editor, make_snapshot, make_superuser
from moderation.tests.helpers import api_body, make_moderator, make_request
from newsarchive.testing import run_tasks
from outbox import services
from outbox.models import SECRET_PLACEHOLDER, Message

SMTP_DOWN = mock.patch(
    "django.core.mail.backends.locmem.EmailBackend.send_messages",
    side_effect=smtplib.SMTPConnectError(421, "mail server unavailable"),
)


def queue(**fields) -> Message:
    fields.setdefault("stream", Message.Stream.MODERATION)
    fields.setdefault("kind", "receipt")
    fields.setdefault("to", "rights@example.org")
    fields.setdefault("subject", "收到您的通知")
    fields.setdefault("body", "正文")
    return services.message_queue(**fields)


class DeliveryTests(TestCase):
    def test_a_queued_message_is_sent_by_the_worker_once(self):
        message = queue(body=f"状态页：{SECRET_PLACEHOLDER}", secret="https://example.org/status/abc/")

        self.assertEqual(run_tasks(), 1)
        run_tasks()

        (sent,) = mail.outbox
        self.assertEqual((sent.to, sent.subject), (["rights@example.org"], "收到您的通知"))
        self.assertEqual(sent.body, "状态页：https://example.org/status/abc/")
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts, message.secret), (Message.Status.SENT, 1, ""))
        self.assertIsNotNone(message.sent_at)

    def test_a_message_queued_in_a_transaction_that_rolls_back_is_never_sent(self):
        with self.assertRaises(ValueError), transaction.atomic():
            queue()
            raise ValueError

        run_tasks()

        self.assertEqual((Message.objects.count(), DBTaskResult.objects.count(), len(mail.outbox)), (0, 0, 0))

    @override_settings(OUTBOX_RETRY_SECONDS=60, OUTBOX_MAX_ATTEMPTS=3)
    def test_a_refused_message_is_kept_with_its_error_and_tried_again_later_with_backoff(self):
        message = queue()
        with SMTP_DOWN, self.assertLogs("outbox", "WARNING"):
            run_tasks()
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts), (Message.Status.PENDING, 1))
        self.assertIn("mail server unavailable", message.last_error)
        first_wait = message.next_attempt_at - message.last_attempt_at
        self.assertTrue(timedelta(seconds=60) <= first_wait <= timedelta(seconds=66), first_wait)
        # The failed attempt is kept as the task's own record, with its traceback.
        failed = DBTaskResult.objects.failed().get()
        self.assertIn("SMTPConnectError", failed.traceback)
        run_tasks()  # the retry is not due yet
        self.assertEqual(mail.outbox, [])

        with SMTP_DOWN, self.assertLogs("outbox", "WARNING"):
            run_tasks(include_deferred=True)
        message.refresh_from_db()
        second_wait = message.next_attempt_at - message.last_attempt_at
        self.assertEqual(message.attempts, 2)
        self.assertTrue(timedelta(seconds=120) <= second_wait <= timedelta(seconds=132), second_wait)

        run_tasks(include_deferred=True)  # the server accepts again

        self.assertEqual(len(mail.outbox), 1)
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts, message.last_error), (Message.Status.SENT, 3, ""))

    @override_settings(OUTBOX_MAX_ATTEMPTS=2)
    def test_after_the_last_attempt_a_message_is_failed_and_waits_for_a_person(self):
        message = queue()
        with SMTP_DOWN, self.assertLogs("outbox", "WARNING"):
            run_tasks()
            run_tasks(include_deferred=True)
            run_tasks(include_deferred=True)
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts), (Message.Status.FAILED, 2))
        self.assertEqual(DBTaskResult.objects.failed().count(), 2)

        services.message_resend(message_id=message.pk, actor=make_superuser())
        run_tasks()

        self.assertEqual(len(mail.outbox), 1)
        message.refresh_from_db()
        self.assertEqual((message.status, message.attempts), (Message.Status.SENT, 1))

    def test_a_message_a_stopped_worker_left_half_sent_is_not_sent_again_by_itself(self):
        message = queue()
        Message.objects.filter(pk=message.pk).update(status=Message.Status.SENDING, last_attempt_at=timezone.now())
        run_tasks()
        self.assertEqual(mail.outbox, [])
        admin = make_superuser()
        with translation.override("en"), self.assertRaisesMessage(services.ResendError, "being sent right now"):
            services.message_resend(message_id=message.pk, actor=admin)

        Message.objects.filter(pk=message.pk).update(last_attempt_at=timezone.now() - timedelta(minutes=11))
        services.message_resend(message_id=message.pk, actor=admin)
        run_tasks()

        self.assertEqual(len(mail.outbox), 1)

    def test_a_sent_message_sent_again_no_longer_carries_its_secret_link(self):
        message = queue(body=f"链接：{SECRET_PLACEHOLDER}", secret="https://example.org/status/abc/")
        run_tasks()
        services.message_resend(message_id=message.pk, actor=make_superuser())
        run_tasks()

        first, second = mail.outbox
        self.assertIn("https://example.org/status/abc/", first.body)
        self.assertNotIn("https://example.org/status/abc/", second.body)


class ResendPermissionTests(TestCase):
    def test_moderators_send_removal_mail_again_and_nobody_else_below_a_superuser(self):
        moderation = queue()
        accounts = queue(stream=Message.Stream.ACCOUNTS, kind="confirm")
        run_tasks()
        moderator, editor, admin = make_moderator(), make_editor(), make_superuser()

        services.message_resend(message_id=moderation.pk, actor=moderator)
        for actor, message in [(moderator, accounts), (editor, moderation), (editor, accounts)]:
            with self.subTest(actor=actor.username, stream=message.stream):
                with self.assertRaises(services.ResendError):
                    services.message_resend(message_id=message.pk, actor=actor)
        services.message_resend(message_id=accounts.pk, actor=admin)


class AdminTests(TestCase):
    def test_moderators_see_only_the_mail_of_removal_requests_and_never_a_secret_link(self):
        req = make_request(make_snapshot())
        queue(stream=Message.Stream.ACCOUNTS, kind="confirm", to="reader@example.org", subject="请确认")
        receipt = Message.objects.get(reference=req.reference)
        self.client.force_login(make_moderator())

        listing = self.client.get(reverse("admin:outbox_message_changelist"))
        page = self.client.get(reverse("admin:outbox_message_change", args=[receipt.pk]))

        self.assertContains(listing, req.reference)
        self.assertNotContains(listing, "reader@example.org")
        self.assertContains(page, req.reference)
        self.assertNotContains(page, "/takedown/status/")
        self.assertNotContains(page, SECRET_PLACEHOLDER)

    def test_send_again_from_the_admin_queues_the_message_and_says_so(self):
        req = make_request(make_snapshot())
        receipt = Message.objects.get(reference=req.reference)
        self.client.force_login(make_moderator())

        response = self.client.post(
            reverse("admin:outbox_message_changelist"),
            {"action": "send_again", "_selected_action": [receipt.pk]},
            follow=True,
        )

        self.assertEqual(response.status_code, 200)
        receipt.refresh_from_db()
        self.assertEqual(receipt.status, Message.Status.PENDING)
        run_tasks()
        (again,) = mail.outbox  # make_request sent the first copy and set it aside
        self.assertEqual(again.subject, receipt.subject)


class MailDownTests(TestCase):
    """No request answers 5xx because the mail server is down, and the requester keeps their link."""

    def test_the_api_answers_201_with_the_status_link_while_mail_is_down_and_the_receipt_follows(self):
        snapshot = make_snapshot()
        with SMTP_DOWN, self.assertLogs("outbox", "WARNING"):
            response = self.client.post("/api/takedown/", api_body(snapshot), content_type="application/json")
            run_tasks()

        self.assertEqual(response.status_code, 201)
        status_url = response.json()["status_url"]
        self.assertTrue(status_url.startswith("http"), status_url)
        self.assertEqual(mail.outbox, [])
        receipt = Message.objects.get(kind="receipt")
        self.assertEqual(receipt.status, Message.Status.PENDING)

        run_tasks(include_deferred=True)

        (sent,) = mail.outbox
        self.assertIn(status_url, sent.body)
