"""The workflow table (moderation/workflow.py) is the one source of the desk's moves: the services
follow it, the admin, the command and the status page are made from it, the docs are generated
from it, and the event log is a closed set of its actions that the database keeps append-only."""

import io
from datetime import timedelta

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone

from moderation import services, workflow
from moderation.admin import MEASURES, MOVES, NEEDS_OPEN_APPEAL
from moderation.management.commands.takedown import Command as TakedownCommand
from moderation.management.commands.workflow_diagram import DOCS, render
from moderation.models import ModerationEvent, Requester, TakedownItem, TakedownRequest
from moderation.workflow import Actor, Subject

from .helpers import EN, make_counter_notice, make_moderator, make_request, make_snapshot, status_path, submit

Status = TakedownRequest.Status


def replayed_matches_database(test):
    """The log replays, event by event against the table, to every request's state and claims."""
    replayed = workflow.replay(ModerationEvent.objects.order_by("created_at", "id"))
    test.assertEqual(replayed.statuses, dict(TakedownRequest.objects.values_list("pk", "status")))
    items = TakedownItem.objects.values_list("pk", "outcome", "claim", "lawsuit_reported_at")
    test.assertEqual(replayed.outcomes, {pk: outcome for pk, outcome, _claim, _sued in items})
    test.assertEqual(
        replayed.claims,
        {pk: claim for pk, _outcome, claim, _sued in items if claim != TakedownItem.Claim.NONE},
    )
    test.assertEqual(replayed.answered, {pk for pk, _o, claim, sued in items if sued and claim == "disputed"})


class TableTests(TestCase):
    def test_every_action_names_states_of_its_subject_and_actors_the_table_knows(self):
        states = {
            Subject.REQUEST: {workflow.NEW, *Status.values},
            Subject.REQUESTER: set(workflow.RequesterState.values),
        }
        for action in workflow.ACTIONS:
            with self.subTest(action=action.name):
                self.assertLessEqual(set(action.sources) | set(action.targets), states[action.subject])
                self.assertLessEqual(set(action.actors), set(Actor.values))
                self.assertEqual(action.automatic, action.actors == (Actor.SYSTEM,))
                self.assertTrue(str(action.label) and str(action.verb) and str(action.done))

    def test_the_event_log_takes_the_tables_actions_and_nothing_else(self):
        self.assertEqual(ModerationEvent.Action.values, [action.name for action in workflow.ACTIONS])
        req = make_request()
        with self.assertRaises(IntegrityError), transaction.atomic():
            ModerationEvent.objects.create(request=req, actor_label="x", action="delete", to_status="submitted")

    def test_an_event_is_about_one_request_or_one_requester(self):
        req = make_request()
        for subject in [{}, {"request": req, "requester": req.requester}]:
            with self.subTest(subject=list(subject)), self.assertRaises(IntegrityError), transaction.atomic():
                ModerationEvent.objects.create(actor_label="x", action="warn", to_status="warned", **subject)

    def test_a_move_that_ends_where_the_table_does_not_lead_is_refused(self):
        with self.assertRaises(RuntimeError):
            workflow.check_target("approve", Status.IN_REVIEW, Status.RESTORED)
        workflow.check_target("assign", Status.SUBMITTED, Status.SUBMITTED)  # () leaves the state as it is
        with self.assertRaises(RuntimeError):
            workflow.check_target("assign", Status.SUBMITTED, Status.IN_REVIEW)

    def test_an_actor_the_table_does_not_name_is_refused(self):
        with self.assertRaises(workflow.TransitionError) as caught:
            workflow.check("approve", Status.IN_REVIEW, Actor.REQUESTER)
        self.assertIn(str(Actor.REQUESTER.label), str(caught.exception))

    def test_the_docs_hold_the_diagram_made_from_the_table(self):
        text = DOCS.read_text(encoding="utf-8")
        self.assertEqual(render(text), text, "docs/moderation.md is stale: run manage.py workflow_diagram")
        self.assertIn("in_review --> approved: approve (moderator)", text)
        self.assertIn("warned --> suspended: suspend (moderator)", text)
        call_command("workflow_diagram", "--check", stdout=io.StringIO())

    def test_a_stale_diagram_is_caught(self):
        text = DOCS.read_text(encoding="utf-8").replace("in_review --> approved", "in_review --> withdrawn")
        self.assertNotEqual(render(text), text)

    def test_the_docs_give_every_label_in_both_languages(self):
        table = workflow.table_markdown()
        self.assertIn("Approve / 批准", table)
        self.assertIn("| `lapse` | request | info_requested | rejected | system | yes |", table)


class ServicesFollowTheTableTests(TestCase):
    """Each move of the services, from every state of a request: allowed exactly where the table
    allows it."""

    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def moves(self, req):
        mod = self.moderator
        return {
            "review": lambda: services.takedown_review(request_id=req.pk, moderator=mod),
            "ask": lambda: services.takedown_ask(request_id=req.pk, moderator=mod, question="?"),
            "answer": lambda: services.takedown_answer(request_id=req.pk, answer="答复"),
            "withdraw": lambda: services.takedown_withdraw(request_id=req.pk),
            "approve": lambda: services.takedown_approve(request_id=req.pk, moderator=mod, reason="r"),
            "reject": lambda: services.takedown_reject(request_id=req.pk, moderator=mod, reason="r"),
            "assign": lambda: services.takedown_assign(request_id=req.pk, moderator=mod),
            "add_items": lambda: services.takedown_add_items(
                request_id=req.pk, snapshot_ids=[make_snapshot().pk], moderator=mod
            ),
            "uphold": lambda: services.takedown_uphold(request_id=req.pk, moderator=mod, reason="r"),
            "restore": lambda: services.takedown_restore(request_id=req.pk, moderator=mod, reason="r"),
        }

    def test_every_move_is_allowed_from_exactly_the_states_the_table_names(self):
        for status in Status:
            for name in self.moves(make_request(status=status, moderator=self.moderator)):
                with self.subTest(status=status, move=name):
                    req = make_request(status=status, moderator=self.moderator, email=f"{name}@example.org")
                    allowed = status in workflow.action(name).sources
                    try:
                        with transaction.atomic():
                            self.moves(req)[name]()
                    except services.TransitionError:
                        self.assertFalse(allowed, f"{name} was refused from {status}")
                    else:
                        self.assertTrue(allowed, f"{name} was made from {status}")
                        event = req.events.order_by("-id").first()
                        self.assertEqual((event.action, event.from_status), (name, status))

    def test_the_log_replays_to_the_current_state(self):
        first, second = make_snapshot(), make_snapshot()
        approved = make_request(first, second, status=Status.APPROVED, moderator=self.moderator)
        make_request(first, status=Status.APPROVED, moderator=self.moderator, email="other@example.org")
        make_counter_notice(first)
        services.takedown_report_lawsuit(request_id=approved.pk, note="已起诉")
        services.takedown_tick(now=timezone.now() + timedelta(days=16))
        make_request(status=Status.REJECTED, moderator=self.moderator, email="third@example.org")
        make_request(status=Status.WITHDRAWN, email="fourth@example.org")
        replayed_matches_database(self)

    def test_a_log_that_skips_a_state_does_not_replay(self):
        req = make_request(status=Status.APPROVED, moderator=self.moderator)
        submitted, reviewed, approved = req.events.order_by("id")
        workflow.replay([submitted, reviewed, approved])
        for log in [[submitted, approved], [submitted, approved, reviewed], [reviewed, approved]]:
            with self.subTest(log=[e.action for e in log]), self.assertRaises(workflow.ReplayError):
                workflow.replay(log)


class AppendOnlyLogTests(TestCase):
    """The database itself refuses to change or delete an event, whatever writes to it."""

    def test_the_database_refuses_to_update_or_delete_an_event(self):
        req = make_request()
        event = req.events.get()
        self.assertEqual(ModerationEvent._meta.db_table, "moderation_moderationevent")
        for statement in [
            "UPDATE moderation_moderationevent SET note = 'changed' WHERE id = %s",
            "DELETE FROM moderation_moderationevent WHERE id = %s",
        ]:
            with self.subTest(statement=statement.split()[0]):
                with self.assertRaises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
                    cursor.execute(statement, [event.pk])
        event.refresh_from_db()
        self.assertEqual(event.note, "")

    def test_the_orm_refuses_too(self):
        event = make_request().events.get()
        with self.assertRaises(ValueError):
            ModerationEvent.objects.filter(pk=event.pk).update(note="x")
        with self.assertRaises(ValueError):
            event.save()


class MeasureEventTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_warn_suspend_and_lift_are_events_with_their_actor(self):
        req = make_request()
        requester = req.requester
        services.requester_warn(requester_id=requester.pk, moderator=self.moderator, note="多次无理由投诉。")
        services.requester_suspend(requester_id=requester.pk, moderator=self.moderator, days=30, note="继续滥用。")
        services.requester_lift(requester_id=requester.pk, moderator=self.moderator, note="已说明情况。")
        self.assertEqual(
            list(requester.events.values_list("action", "actor", "actor_label", "from_status", "to_status", "note")),
            [
                ("warn", self.moderator.pk, "wang", "clear", "warned", "多次无理由投诉。"),
                ("suspend", self.moderator.pk, "wang", "warned", "suspended", "继续滥用。"),
                ("lift", self.moderator.pk, "wang", "suspended", "warned", "已说明情况。"),
            ],
        )
        requester.refresh_from_db()
        self.assertFalse(requester.is_suspended())
        submit(make_snapshot(), email=requester.email)  # files again

    def test_lifting_a_requester_who_is_not_suspended_is_refused_naming_the_state(self):
        requester = make_request().requester
        with self.assertRaisesMessage(services.TransitionError, requester.email):
            services.requester_lift(requester_id=requester.pk, moderator=self.moderator, note="x")
        self.assertFalse(requester.events.exists())


class MadeFromTheTableTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator("wang")

    def test_the_admin_offers_as_buttons_the_tables_moderator_moves_for_the_state(self):
        self.assertEqual(
            {move.name for move in MOVES} | {"assign", "add_items"},
            {
                a.name
                for a in workflow.ACTIONS
                if a.subject == Subject.REQUEST and Actor.MODERATOR in a.actors and not a.automatic
            },
        )
        self.client.force_login(self.moderator)
        for status in Status:
            req = make_request(status=status, moderator=self.moderator, email=f"{status}@example.org")
            page = self.client.get(reverse("admin:moderation_takedownrequest_change", args=[req.pk]))
            with self.subTest(status=status):
                offered = [m["name"] for m in page.context["moves"]]
                self.assertEqual(
                    offered,
                    [
                        a.name
                        for a in workflow.moves(Subject.REQUEST, status, Actor.MODERATOR)
                        if a.name in {m.name for m in MOVES} and a.name not in NEEDS_OPEN_APPEAL
                    ],
                )
                for move in page.context["moves"]:
                    self.assertEqual(move["label"], workflow.action(move["name"]).label)

    def test_the_requesters_page_offers_the_measures_the_table_allows_in_its_state(self):
        self.assertEqual([m.name for m in MEASURES], ["warn", "suspend", "set_publication_delay", "lift"])
        requester = make_request().requester
        self.client.force_login(self.moderator)
        url = reverse("admin:moderation_requester_change", args=[requester.pk])
        offered = lambda: [m["name"] for m in self.client.get(url).context["measures"]]  # noqa: E731
        self.assertEqual(offered(), ["warn", "set_publication_delay"])
        services.requester_warn(requester_id=requester.pk, moderator=self.moderator, note="警告。")
        self.assertEqual(offered(), ["warn", "suspend", "set_publication_delay"])
        services.requester_suspend(requester_id=requester.pk, moderator=self.moderator, days=3, note="停。")
        self.assertEqual(offered(), ["set_publication_delay", "lift"])

    def test_the_command_has_a_subcommand_for_each_moderator_action_and_each_works(self):
        names = {a.name for a in workflow.ACTIONS if Actor.MODERATOR in a.actors and not a.automatic}
        self.assertEqual(set(TakedownCommand.MOVES), names)
        disputed = make_request(status=Status.DISPUTED, moderator=self.moderator, email="d@example.org")
        in_review = make_request(status=Status.IN_REVIEW, moderator=self.moderator, email="r@example.org")
        submitted = make_request(email="s@example.org")
        by = ["--by", "wang", "--reason", "理由。"]
        for name, args in [
            ("assign", [submitted.reference]),
            ("review", [submitted.reference]),
            ("add_items", [submitted.reference]),
            ("ask", [in_review.reference]),
            ("uphold", [disputed.reference]),
            ("warn", ["s@example.org"]),
            ("suspend", ["s@example.org", "--days", "3"]),
            ("lift", ["s@example.org"]),
            ("set_publication_delay", ["s@example.org", "--days", "7"]),
        ]:
            with self.subTest(name):
                call_command("takedown", name, *args, *by, stdout=io.StringIO())
        for name, reference in [
            ("approve", make_request(status=Status.IN_REVIEW, moderator=self.moderator).reference),
            (
                "reject",
                make_request(status=Status.IN_REVIEW, moderator=self.moderator, email="x@example.org").reference,
            ),
            (
                "restore",
                make_request(status=Status.DISPUTED, moderator=self.moderator, email="y@example.org").reference,
            ),
        ]:
            with self.subTest(name):
                call_command("takedown", name, reference, *by, stdout=io.StringIO())
        with self.assertRaises(CommandError):
            call_command("takedown", "lift", "s@example.org", *by, stdout=io.StringIO())
        self.assertEqual(
            list(Requester.objects.get(email="s@example.org").events.values_list("action", flat=True)),
            ["warn", "suspend", "lift", "set_publication_delay"],
        )
        self.assertEqual(Requester.objects.get(email="s@example.org").publication_delay_days, 7)

    def test_the_status_page_shows_the_tables_history_labels_and_the_requesters_moves(self):
        receipt = submit(make_snapshot())
        path = status_path(services.emails.status_url(receipt.token))
        services.takedown_review(request_id=receipt.request.pk, moderator=self.moderator)
        services.takedown_ask(request_id=receipt.request.pk, moderator=self.moderator, question="请补充。")
        page = self.client.get(path, headers=EN)
        html = page.content.decode()
        for name in ["submit", "review", "ask"]:
            self.assertIn(str(workflow.action(name).done), html)
        self.assertEqual(set(page.context["moves"]), {"answer", "withdraw"})
        self.assertIn(f">{workflow.action('answer').label}</button>", html)
