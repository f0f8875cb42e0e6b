"""`manage.py takedown` and `manage.py moderation_tick`: the workflow from the command line."""

import contextlib
import io
from datetime import date, datetime, timedelta
from unittest import mock

from django.core import mail
from django.core.management import CommandError, ManagementUtility, call_command
from django.test import TestCase
from django.utils import timezone, translation

from articles.models import SHANGHAI, Snapshot
from moderation import services
from moderation.models import ModerationEvent, TakedownItem, TakedownRequest
from newsarchive.testing import sending_mail

from .helpers import make_editor, make_moderator, make_request, make_snapshot, snapshot_url, state_of

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome


class CommandTestCase(TestCase):
    def run_command(self, name, *args, **options) -> str:
        """Run a command in English (so the assertions read the msgids) with its emails sent."""
        out = io.StringIO()
        with translation.override("en"), sending_mail():
            call_command(name, *args, stdout=out, **options)
        return out.getvalue()

    def takedown(self, *args) -> str:
        return self.run_command("takedown", *args)

    def assert_refused(self, args, message):
        with self.assertRaisesMessage(CommandError, message):
            self.takedown(*args)


class TakedownListAndShowTests(CommandTestCase):
    @classmethod
    def setUpTestData(cls):
        now = timezone.now()
        cls.moderator = make_moderator("mod")
        cls.late = make_request(email="late@example.org", organisation="迟到出版社")
        cls.soon = make_request(email="soon@example.org", status=Status.IN_REVIEW, moderator=cls.moderator)
        cls.approved = make_request(email="done@example.org", status=Status.APPROVED)
        for req, hours in [(cls.late, -3), (cls.soon, 5), (cls.approved, -10)]:
            TakedownRequest.objects.filter(pk=req.pk).update(due_at=now + timedelta(hours=hours))

    def test_list_shows_open_requests_by_deadline_with_the_overdue_flagged(self):
        lines = self.takedown("list").splitlines()
        self.assertEqual([line.split("\t")[0] for line in lines], [self.late.reference, self.soon.reference])
        late, soon = (line.split("\t") for line in lines)
        self.assertEqual(late[1], "submitted")
        self.assertEqual(late[3], "OVERDUE")
        self.assertEqual(late[5], "迟到出版社")
        self.assertEqual((soon[1], soon[3], soon[6]), ("in_review", "", "mod"))

    def test_list_by_state(self):
        lines = self.takedown("list", "--state", "approved").splitlines()
        self.assertEqual([line.split("\t")[0] for line in lines], [self.approved.reference])
        self.assertEqual(self.takedown("list", "--state", "restored"), "No removal requests.\n")

    def test_list_refuses_an_unknown_state(self):
        self.assert_refused(["list", "--state", "lost"], "invalid choice: 'lost'")

    def test_show_prints_the_request_its_urls_beside_the_claimed_date_and_its_history(self):
        snapshot = make_snapshot(
            title="早已发表的快照",
            published_at=datetime(2023, 1, 5, 9, 0, tzinfo=SHANGHAI),
            captured_at=datetime(2023, 1, 6, 9, 0, tzinfo=SHANGHAI),
        )
        req = make_request(
            snapshot,
            status=Status.IN_REVIEW,
            moderator=self.moderator,
            email="x@example.org",
            work_date=date(2024, 6, 1),
        )
        output = self.takedown("show", req.reference.lower())
        self.assertTrue(output.startswith(f"{req.reference}  in review (in_review)\n"))
        for text in [
            "Requester: 张三 <x@example.org>, 人民资讯版权部, the rights holder",
            f"Work 1: {req.works.get().description} (2024-06-01)",
            f"  1. {snapshot_url(snapshot)}  [pending]",
            "早已发表的快照; published 2023-01-05, captured 2023-01-06",
            "The requester dates the work 2024-06-01: later than this snapshot's publication at its source "
            "(2023-01-05) and later than its capture here (2023-01-06).",
            "requester  submit  — → submitted",
            "mod  review  submitted → in review",
        ]:
            with self.subTest(text=text):
                self.assertIn(text, output)

    def test_show_refuses_an_unknown_reference(self):
        self.assert_refused(["show", "TD-1999-999999"], "There is no removal request TD-1999-999999.")


class TakedownMoveTests(CommandTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("mod")

    def by(self, *args):
        return [*args, "--by", "mod"]

    def fresh(self, req):
        return TakedownRequest.objects.get(pk=req.pk)

    def test_review(self):
        req = make_request()
        output = self.takedown(*self.by("review", req.reference))
        self.assertEqual(output, f"{req.reference} is now in review.\n")
        req = self.fresh(req)
        self.assertEqual((req.status, req.assignee), (Status.IN_REVIEW, self.moderator))

    def test_ask_sends_the_question(self):
        req = make_request(status=Status.IN_REVIEW)
        mail.outbox.clear()
        self.takedown(*self.by("ask", req.reference), "--reason", "请提供著作权登记证书。")
        req = self.fresh(req)
        self.assertEqual((req.status, req.info_request), (Status.INFO_REQUESTED, "请提供著作权登记证书。"))
        self.assertEqual(len(mail.outbox), 1)

    def test_approve_withholds_the_urls_except_those_refused_by_position(self):
        first, second, third = make_snapshot(), make_snapshot(), make_snapshot()
        req = make_request(first, second, third, status=Status.IN_REVIEW)
        output = self.takedown(
            *self.by("approve", req.reference), "--reason", "权利证明充分。", "--refuse", "2", "--ground", "personality"
        )
        self.assertEqual(output, f"{req.reference} is now approved.\n")
        req = self.fresh(req)
        self.assertEqual(
            (req.status, req.ground, req.decision_reason), (Status.APPROVED, "personality", "权利证明充分。")
        )
        self.assertEqual(
            list(req.items.order_by("position").values_list("outcome", flat=True)),
            [Outcome.ACTIONED, Outcome.REFUSED, Outcome.ACTIONED],
        )
        statuses = [Snapshot.objects.get(pk=s.pk).status for s in (first, second, third)]
        self.assertEqual(statuses, ["withheld", "published", "withheld"])

    def test_approve_refuses_a_position_the_request_does_not_have(self):
        req = make_request(status=Status.IN_REVIEW)
        before = state_of(req)
        self.assert_refused(
            [*self.by("approve", req.reference), "--reason", "理由", "--refuse", "7"],
            f"{req.reference} has no URL at position 7.",
        )
        self.assertEqual(state_of(req), before)

    def test_approve_with_every_url_refused_is_refused(self):
        req = make_request(status=Status.IN_REVIEW)
        self.assert_refused(
            [*self.by("approve", req.reference), "--reason", "理由", "--refuse", "1"],
            "Nothing would be withheld: reject the request instead.",
        )

    def test_reject(self):
        req = make_request(status=Status.IN_REVIEW)
        self.takedown(*self.by("reject", req.reference), "--reason", "证据不足。", "--ground", "none")
        req = self.fresh(req)
        self.assertEqual((req.status, req.decision_reason), (Status.REJECTED, "证据不足。"))
        self.assertEqual(list(req.items.values_list("outcome", flat=True)), [Outcome.REFUSED])

    def test_uphold_and_restore_end_a_dispute(self):
        kept, back = make_snapshot(), make_snapshot()
        upheld = make_request(kept, status=Status.DISPUTED, email="a@example.org")
        restored = make_request(back, status=Status.DISPUTED, email="b@example.org")
        self.takedown(*self.by("uphold", upheld.reference), "--reason", "权利人已起诉。")
        self.takedown(*self.by("restore", restored.reference), "--reason", "反通知理由成立。")
        self.assertEqual(self.fresh(upheld).status, Status.APPROVED)
        self.assertEqual(self.fresh(restored).status, Status.RESTORED)
        self.assertEqual(Snapshot.objects.get(pk=kept.pk).status, "withheld")
        self.assertEqual(Snapshot.objects.get(pk=back.pk).status, "published")

    def test_a_move_the_state_does_not_allow_is_refused_with_the_reason_and_changes_nothing(self):
        cases = [
            (Status.SUBMITTED, "approve"),
            (Status.SUBMITTED, "ask"),
            (Status.IN_REVIEW, "review"),
            (Status.IN_REVIEW, "uphold"),
            (Status.APPROVED, "reject"),
            (Status.REJECTED, "approve"),
            (Status.DISPUTED, "review"),
            (Status.RESTORED, "restore"),
        ]
        for status, move in cases:
            with self.subTest(status=status, move=move):
                req = make_request(status=status, email=f"{status}-{move}@example.org")
                before = state_of(req)
                with translation.override("en"):  # the language the command runs in here
                    display = req.get_status_display()
                self.assert_refused(
                    [*self.by(move, req.reference), "--reason", "理由"], f"{req.reference}: it is {display}."
                )
                self.assertEqual(state_of(req), before)

    def test_only_active_moderators_may_move_a_request(self):
        req = make_request()
        make_editor("editor")
        inactive = make_moderator("gone")
        inactive.is_active = False
        inactive.save()
        before = state_of(req)
        for username, message in [
            ("nobody", "There is no user nobody."),
            ("editor", "editor is not a moderator."),
            ("gone", "gone is not a moderator."),
        ]:
            with self.subTest(username=username):
                self.assert_refused(["review", req.reference, "--by", username], message)
        self.assertEqual(state_of(req), before)

    def test_unknown_reference_and_missing_arguments_are_refused(self):
        self.assert_refused(self.by("review", "TD-1999-000001"), "There is no removal request TD-1999-000001.")
        req = make_request(status=Status.IN_REVIEW)
        self.assert_refused(self.by("reject", req.reference), "the following arguments are required: --reason")
        self.assert_refused(["reject", req.reference, "--reason", "x"], "the following arguments are required: --by")
        self.assert_refused([], "the following arguments are required: SUBCOMMAND")

    def test_from_the_shell_a_refused_move_exits_non_zero_with_the_reason_on_stderr(self):
        req = make_request()
        stderr = io.StringIO()
        argv = ["manage.py", "takedown", "approve", req.reference, "--by", "mod", "--reason", "理由"]
        # run_from_argv closes the database connections when it ends; the test's transaction needs its own.
        with (
            mock.patch("django.core.management.base.connections.close_all"),
            contextlib.redirect_stderr(stderr),
            translation.override("en"),
            self.assertRaises(SystemExit) as exit_,
        ):
            ManagementUtility(argv).execute()
        self.assertEqual(exit_.exception.code, 1)
        self.assertIn(f"CommandError: Cannot approve {req.reference}: it is submitted.", stderr.getvalue())


class ModerationTickTests(CommandTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.due_snapshot, cls.sued_snapshot, cls.waiting_snapshot = make_snapshot(), make_snapshot(), make_snapshot()
        cls.due = make_request(cls.due_snapshot, status=Status.DISPUTED, email="due@example.org")
        cls.sued = make_request(cls.sued_snapshot, status=Status.DISPUTED, email="sued@example.org")
        cls.waiting = make_request(cls.waiting_snapshot, status=Status.DISPUTED, email="waiting@example.org")
        cls.approved = make_request(status=Status.APPROVED, email="approved@example.org")
        services.takedown_report_lawsuit(request_id=cls.sued.pk, note="已向北京互联网法院起诉。")
        past = timezone.now() - timedelta(days=1)
        TakedownItem.objects.filter(request__in=[cls.due, cls.sued]).update(restore_after=past)

    def statuses(self):
        return {
            "requests": [TakedownRequest.objects.get(pk=r.pk).status for r in (self.due, self.sued, self.waiting)],
            "snapshots": [
                Snapshot.objects.get(pk=s.pk).status
                for s in (self.due_snapshot, self.sued_snapshot, self.waiting_snapshot)
            ],
        }

    def test_restores_only_disputes_past_their_waiting_period_with_no_lawsuit_and_is_idempotent(self):
        mail.outbox.clear()
        self.assertEqual(self.run_command("moderation_tick"), f"Restored {self.due.reference}.\n")
        after_first = self.statuses()
        self.assertEqual(
            after_first,
            {
                "requests": [Status.RESTORED, Status.DISPUTED, Status.DISPUTED],
                "snapshots": ["published", "withheld", "withheld"],
            },
        )
        self.assertEqual(TakedownRequest.objects.get(pk=self.approved.pk).status, Status.APPROVED)
        event = self.due.events.order_by("id").last()
        self.assertEqual((event.action, event.actor, event.actor_label), ("restore_due", None, "system"))
        self.assertTrue(mail.outbox, "the requester and the counter-notifier are told")

        events = ModerationEvent.objects.count()
        self.assertEqual(self.run_command("moderation_tick"), "")
        self.assertEqual(self.statuses(), after_first)
        self.assertEqual(ModerationEvent.objects.count(), events)

    def test_closes_requests_whose_question_went_unanswered_past_the_deadline(self):
        asked = make_request(status=Status.INFO_REQUESTED, email="asked@example.org")
        TakedownRequest.objects.filter(pk=asked.pk).update(info_due_at=timezone.now() - timedelta(minutes=1))
        mail.outbox.clear()
        output = self.run_command("moderation_tick")
        self.assertIn(f"Closed {asked.reference}: the question to the requester was not answered in time.\n", output)
        self.assertEqual(TakedownRequest.objects.get(pk=asked.pk).status, Status.REJECTED)
        self.assertIn(["asked@example.org"], [m.to for m in mail.outbox])
        self.assertNotIn(asked.reference, self.run_command("moderation_tick"))

    def test_says_when_there_is_nothing_to_restore_if_asked_to_be_verbose(self):
        self.run_command("moderation_tick")
        self.assertEqual(self.run_command("moderation_tick", verbosity=2), "Nothing to do.\n")
