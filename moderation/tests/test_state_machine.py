"""The withholding ledger under random sequences of everything that can happen to removal requests
(a Hypothesis state machine, on whichever database the suite runs): requests filed by several
requesters for overlapping snapshots, reviews, questions and answers, approvals with partial
refusals, rejections, counter-notices naming some snapshots, lawsuits, upholds, restorations,
withdrawals at any time, appeals by requesters and by sources and their review by another
moderator, editors hiding and publishing, and the clock. After every step:

- a snapshot is public if and only if no claim on it stands and its editor's status is published,
  and its `withheld` flag says whether a claim stands;
- every claim is in the state a model kept by the issue's rules alone says (a counter-notice
  disputes exactly the standing claims on the snapshots it names, of every request; restoration
  lifts only disputed claims no lawsuit answered; a withdrawal lifts only the requester's own);
- the event log, replayed against the workflow table from the start, gives every request's state
  and every item's outcome and claim as the database holds them.

By default a few seconds per database; MODERATION_MACHINE_EXAMPLES and MODERATION_MACHINE_STEPS
make it longer (e.g. 500 and 60 for a thorough run by hand). The runs and steps it made are
printed (pytest -s)."""

import os
from datetime import timedelta

from django.conf import settings as django_settings
from django.db import transaction
from django.db.models import Count
from django.test import TestCase, override_settings
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from articles.models import Snapshot
from articles.services import snapshot_set_status
from articles.tests.helpers import make_source
from moderation import services, workflow
from moderation.models import STANDING_CLAIMS, Appeal, TakedownItem, TakedownRequest

from .helpers import make_editor, make_moderator, make_snapshot, make_submission
from .test_workflow import replayed_matches_database

EXAMPLES = int(os.environ.get("MODERATION_MACHINE_EXAMPLES", "10"))
STEPS = int(os.environ.get("MODERATION_MACHINE_STEPS", "40"))
SNAPSHOTS = 4
REQUESTERS = ["a@example.org", "b@example.org", "c@example.org"]

Status = TakedownRequest.Status
Claim = TakedownItem.Claim
Refusal = (services.TransitionError, services.SubmissionError)
# The table's actions people take on requests, which the machine makes through their services.
# How often each kind of step comes up.
STEP_WEIGHTS = {
    "moderator": 35,
    "requester": 15,
    "file": 9,
    "counter_notice": 12,
    "appeal": 6,
    "review_appeal": 6,
    "editor": 8,
    "tick": 14,
    "stray": 8,
}
# How likely a request in each state is to be the one someone acts on (others: 0.3).
REQUEST_WEIGHTS = {
    Status.SUBMITTED: 1,
    Status.IN_REVIEW: 2,
    Status.INFO_REQUESTED: 1.5,
    Status.APPROVED: 2.5,
    Status.DISPUTED: 2,
}
# How likely each of the moves open to someone is (others: 1): approvals lead to claims, which
# are what the invariants are about; withdrawing ends a request's story, so it comes up less.
MOVE_WEIGHTS = {
    "approve": 3,
    "withdraw": 0.3,
    "ask": 0.5,
    "reject": 0.6,
    "report_lawsuit": 0.5,
    "uphold": 0.5,
    "restore": 0.5,
}
PEOPLES_MOVES = {
    "assign",
    "review",
    "ask",
    "approve",
    "reject",
    "uphold",
    "restore",
    "answer",
    "withdraw",
    "report_lawsuit",
}


class Tally:
    runs = steps = moves = refused = 0
    made: dict[str, int] = {}  # moves made, by rule


class WithholdingMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        # Each run in a savepoint of the test's transaction, rolled back in teardown().
        self.atomic = transaction.atomic()
        self.atomic.__enter__()
        Tally.runs += 1
        # Every other run has a changes window: approvals take effect when a tick passes its end.
        self.window = override_settings(TAKEDOWN_CHANGES_WINDOW_HOURS=48 if Tally.runs % 2 else 0)
        self.window.enable()
        self.moderator = make_moderator()
        self.reviewer = make_moderator()  # reviews appeals: never the one who decided
        self.editor_user = make_editor(f"editor{Tally.runs}")
        sources = [make_source(f"来源{Tally.runs}-{n}") for n in range(2)]
        self.snapshots = [make_snapshot(source=sources[n % 2]) for n in range(SNAPSHOTS)]
        # A model of the ledger, kept by the rules of the issue alone: each claim's state, when a
        # disputed one lapses, and which disputed ones a lawsuit answered. Compared with the
        # database after every step.
        self.claims: dict[int, str] = {}
        self.due: dict[int, object] = {}
        self.answered: set[int] = set()

    def teardown(self):
        self.window.disable()
        transaction.set_rollback(True)
        self.atomic.__exit__(None, None, None)

    @initialize(rnd=st.randoms(use_true_random=True))
    def start(self, rnd):
        """One random stream per run, seeded by Hypothesis (so a failing run is replayed exactly);
        every step draws from it. Drawing each step's choices from Hypothesis's own integers would
        lean to the smallest values and pick the first option nearly every time."""
        self.rnd = rnd
        for _n in range(rnd.randint(1, 3)):
            self.step_file(rnd)
        # Half the requests filed are decided at once, so that runs start with claims to dispute,
        # withdraw, appeal and restore rather than spend their steps getting there.
        for req in TakedownRequest.objects.order_by("pk"):
            if rnd.random() < 0.5:
                for name in ("review", "approve"):
                    refusals = [rnd.random() < 0.3 for _ in range(3)]
                    self.attempt(
                        name,
                        lambda name=name, refusals=refusals, pk=req.pk: self.perform(name, pk, refusals),
                        lambda _result, name=name, pk=req.pk: self.after(name, pk, getattr(self, "actioned", [])),
                    )

    def request_of(self, rnd) -> TakedownRequest | None:
        """A request of this run, weighted to those further along their story (disputes are where
        claims part ways), so that runs go deep."""
        requests = list(TakedownRequest.objects.order_by("pk"))
        if not requests:
            return None
        return rnd.choices(requests, weights=[REQUEST_WEIGHTS.get(req.status, 0.3) for req in requests])[0]

    def attempt(self, name: str, move, then=None):
        """Make a move; one the workflow refuses is part of the game (and must change nothing).
        `then(result)` updates the model once the move is made."""
        Tally.steps += 1
        try:
            with transaction.atomic():
                result = move()
        except Refusal:
            Tally.refused += 1
            return
        Tally.moves += 1
        Tally.made[name] = Tally.made.get(name, 0) + 1
        if then is not None:
            then(result)

    # --- the model: what each move does to claims, as the issue states it ---

    def model_move(self, items, to: str) -> None:
        for item in items:
            self.claims[item] = to
            self.due.pop(item, None)
            self.answered.discard(item)

    def claims_of(self, req: int, *states) -> list[int]:
        mine = TakedownItem.objects.filter(request_id=req).values_list("pk", flat=True)
        return [pk for pk in mine if self.claims.get(pk) in states]

    def after(self, name: str, req: int, actioned: list[int]):
        """What a person's move on request `req` does to the model."""
        if name == "approve":  # every URL not refused: a claim of its own, at once or after the window
            window = django_settings.TAKEDOWN_CHANGES_WINDOW_HOURS
            self.model_move(actioned, Claim.SCHEDULED if window else Claim.STANDING)
            for item in actioned:
                if window:
                    self.due[item] = TakedownItem.objects.get(pk=item).effective_at
        elif name == "withdraw":  # the requester's own claims, and only theirs
            self.model_move(self.claims_of(req, Claim.STANDING, Claim.DISPUTED, Claim.SCHEDULED), Claim.WITHDRAWN)
        elif name == "report_lawsuit":
            self.answered.update(self.claims_of(req, Claim.DISPUTED))
        elif name == "uphold":
            self.model_move(self.claims_of(req, Claim.DISPUTED), Claim.STANDING)
        elif name == "restore":
            self.model_move(self.claims_of(req, Claim.DISPUTED), Claim.RESTORED)

    def perform(self, name: str, req: int, refusals: list[bool]):
        """The service call of each action of the workflow table a person takes on a request."""
        mod = self.moderator
        if name == "approve":
            pending = list(
                TakedownItem.objects.filter(request_id=req, outcome=TakedownItem.Outcome.PENDING).order_by("pk")
            )
            outcomes = {
                item.pk: TakedownItem.Outcome.REFUSED for item, refuse in zip(pending, refusals, strict=False) if refuse
            }
            self.actioned = [item.pk for item in pending if item.pk not in outcomes and item.snapshot_id]
            return services.takedown_approve(request_id=req, moderator=mod, reason="成立。", outcomes=outcomes)
        calls = {
            "assign": lambda: services.takedown_assign(request_id=req, moderator=mod),
            "review": lambda: services.takedown_review(request_id=req, moderator=mod),
            "ask": lambda: services.takedown_ask(request_id=req, moderator=mod, question="请补充。"),
            "reject": lambda: services.takedown_reject(request_id=req, moderator=mod, reason="不成立。"),
            "uphold": lambda: services.takedown_uphold(request_id=req, moderator=mod, reason="维持。"),
            "restore": lambda: services.takedown_restore(request_id=req, moderator=mod, reason="恢复。"),
            "answer": lambda: services.takedown_answer(request_id=req, answer="补充材料。"),
            "withdraw": lambda: services.takedown_withdraw(request_id=req),
            "report_lawsuit": lambda: services.takedown_report_lawsuit(request_id=req, note="已起诉。"),
        }
        return calls[name]()

    # --- one step: who acts, and how ---

    @rule()
    def step(self):
        """Someone does something: the moves people make are the ones the workflow table offers
        them in the request's state, and a few are strays that the workflow must refuse."""
        kind = self.rnd.choices(list(STEP_WEIGHTS), weights=list(STEP_WEIGHTS.values()))[0]
        getattr(self, f"step_{kind}")(self.rnd)

    def step_moderator(self, rnd):
        self.act(rnd, workflow.Actor.MODERATOR)

    def step_requester(self, rnd):
        self.act(rnd, workflow.Actor.REQUESTER)

    def act(self, rnd, who):
        req = self.request_of(rnd)
        if req is None:
            return
        # Assignment changes no state.
        moves = [
            m.name
            for m in workflow.moves(workflow.Subject.REQUEST, req.status, who)
            if m.name in PEOPLES_MOVES and m.name != "assign"
        ]
        if moves == ["withdraw"] and rnd.random() < 0.7:
            return  # a requester with nothing else to do mostly waits
        if moves:
            name = rnd.choices(moves, weights=[MOVE_WEIGHTS.get(m, 1) for m in moves])[0]
            refusals = [rnd.random() < 0.3 for _ in range(3)]
            self.attempt(
                name,
                lambda: self.perform(name, req.pk, refusals),
                lambda _result: self.after(name, req.pk, getattr(self, "actioned", [])),
            )

    def step_stray(self, rnd):
        """Any move on any request: where the table does not allow it, it is refused."""
        req = self.request_of(rnd)
        if req is not None:
            name = rnd.choice(sorted(PEOPLES_MOVES))
            self.attempt(
                f"{name} (any state)",
                lambda: self.perform(name, req.pk, [False, False, False]),
                lambda _result: self.after(name, req.pk, getattr(self, "actioned", [])),
            )

    def step_file(self, rnd):
        snapshots = rnd.sample(self.snapshots, rnd.randint(1, 3))
        who = rnd.choice(REQUESTERS)
        self.attempt("file", lambda: services.takedown_submit(submission=make_submission(*snapshots, email=who)))

    def step_counter_notice(self, rnd):
        """Mostly against withheld snapshots (a counter-notice against others is refused)."""
        withheld = [s for s in self.snapshots if Snapshot.objects.get(pk=s.pk).withheld]
        pool = withheld if withheld and rnd.random() < 0.85 else self.snapshots
        # Mostly one snapshot: a request whose claims part ways (one disputed, one not) is the test.
        snapshots = rnd.sample(pool, 1 if rnd.random() < 0.75 else min(2, len(pool)))
        # Half the time, one snapshot of a request with several standing claims: its claims part ways.
        several = [
            req
            for req, count in TakedownItem.objects.filter(claim=Claim.STANDING)
            .values_list("request")
            .annotate(n=Count("pk"))
            .order_by("request")
            if count > 1
        ]
        if several and rnd.random() < 0.5:
            claims = TakedownItem.objects.filter(request=rnd.choice(several), claim=Claim.STANDING).order_by("pk")
            named = rnd.choice(list(claims.values_list("snapshot_id", flat=True)))
            snapshots = [s for s in self.snapshots if s.pk == named]

        def disputed(notice):
            # Every standing claim on the named snapshots, of whichever request, and no other.
            named = TakedownItem.objects.filter(snapshot__in=snapshots).values_list("pk", flat=True)
            for item in named:
                if self.claims.get(item) == Claim.STANDING:
                    self.claims[item] = Claim.DISPUTED
                    self.due[item] = notice.restore_after
                    self.answered.discard(item)

        self.attempt(
            "counter_notice",
            lambda: services.counter_notice_submit(
                snapshots=snapshots,
                name="李四",
                email="uploader@example.net",
                phone="+86 21 8765 4321",
                address="上海",
                explanation="不构成侵权。",
                good_faith=True,
                consent_to_jurisdiction=True,
                signature="李四",
            ),
            disputed,
        )

    def step_editor(self, rnd):
        status = rnd.choice([Snapshot.Status.HIDDEN, Snapshot.Status.PUBLISHED])
        snapshot_ids = [rnd.choice(self.snapshots).pk]
        self.attempt(
            f"editor {status}",
            lambda: snapshot_set_status(snapshot_ids=snapshot_ids, status=status, actor=self.editor_user),
        )

    def step_appeal(self, rnd):
        """The requester, or the source of one of its snapshots, appeals a decided request."""
        req = self.request_of(rnd)
        if req is None:
            return
        if rnd.random() < 0.5:
            party, source = Appeal.Party.REQUESTER, None
        else:
            party = Appeal.Party.SOURCE
            item = req.items.filter(snapshot__isnull=False).select_related("snapshot__source").first()
            source = item.snapshot.source if item else self.snapshots[0].source
        self.attempt(
            f"appeal by the {party}",
            lambda: services.appeal_file(request_id=req.pk, party=party, source=source, reason="决定有误。"),
        )

    def step_review_appeal(self, rnd):
        """Another moderator upholds or reverses an open appeal (the decider may not: refused)."""
        appeals = list(Appeal.objects.filter(status=Appeal.Status.OPEN).order_by("pk"))
        if not appeals:
            return
        appeal = rnd.choice(appeals)
        reviewer = self.moderator if rnd.random() < 0.1 else self.reviewer
        if rnd.random() < 0.5:
            self.attempt(
                "appeal_uphold",
                lambda: services.appeal_uphold(appeal_id=appeal.pk, moderator=reviewer, reason="维持。"),
            )
            return
        items = list(appeal.items.values_list("pk", flat=True))

        def reversed_(_result):
            if appeal.party == Appeal.Party.REQUESTER:  # the refused URLs: withheld now
                self.model_move([pk for pk in items if pk not in self.claims], Claim.STANDING)
            else:  # the source's snapshots: this request's claims on them lifted
                active = (Claim.STANDING, Claim.DISPUTED, Claim.SCHEDULED)
                self.model_move([pk for pk in items if self.claims.get(pk) in active], Claim.REVERSED)

        self.attempt(
            "appeal_reverse",
            lambda: services.appeal_reverse(appeal_id=appeal.pk, moderator=reviewer, reason="撤销。"),
            reversed_,
        )

    def step_tick(self, rnd):
        days = rnd.choice([0, 1, 14, 16, 16, 30])
        now = timezone.now() + timedelta(days=days)

        def lapsed(_result):
            # Disputed claims whose waiting period ended with no lawsuit reported; no other. Scheduled
            # claims whose window ended take effect, unless their source's appeal is still open.
            held = set(
                Appeal.objects.filter(status=Appeal.Status.OPEN, party=Appeal.Party.SOURCE).values_list(
                    "items", flat=True
                )
            )
            due = [
                item
                for item, when in self.due.items()
                if when <= now and item not in self.answered and self.claims.get(item) == Claim.DISPUTED
            ]
            effective = [
                item
                for item, when in self.due.items()
                if when <= now and self.claims.get(item) == Claim.SCHEDULED and item not in held
            ]
            self.model_move(due, Claim.RESTORED)
            self.model_move(effective, Claim.STANDING)

        self.attempt("tick", lambda: services.takedown_tick(now=now), lapsed)

    # --- what must hold after every step ---

    @invariant()
    def public_if_and_only_if_no_claim_stands_and_the_editor_published_it(self):
        claimed = set(TakedownItem.objects.filter(claim__in=STANDING_CLAIMS).values_list("snapshot_id", flat=True))
        public = set(Snapshot.objects.published().values_list("pk", flat=True))
        for pk, editor_status, withheld in Snapshot.objects.filter(pk__in=[s.pk for s in self.snapshots]).values_list(
            "pk", "editor_status", "withheld"
        ):
            expected = pk not in claimed and editor_status == Snapshot.EditorStatus.PUBLISHED
            assert (pk in public) == expected, (pk, editor_status, pk in claimed)
            assert withheld == (pk in claimed), (pk, withheld, pk in claimed)

    @invariant()
    def each_claim_is_in_the_state_the_rules_say(self):
        stored = dict(TakedownItem.objects.exclude(claim=Claim.NONE).values_list("pk", "claim"))
        assert stored == self.claims, (stored, self.claims)
        sued = set(
            TakedownItem.objects.filter(claim=Claim.DISPUTED, lawsuit_reported_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        assert sued == self.answered, (sued, self.answered)

    @invariant()
    def the_log_replays_to_the_current_state(self):
        replayed_matches_database(_ASSERT)


class _Assert:
    """What replayed_matches_database needs of a test case, outside one."""

    @staticmethod
    def assertEqual(first, second, msg=None):
        assert first == second, msg or f"{first!r} != {second!r}"


_ASSERT = _Assert()


class StateMachineTests(TestCase):
    def test_withholding_follows_the_ledger_and_the_log_replays_after_every_step(self):
        Tally.runs = Tally.steps = Tally.moves = Tally.refused = 0
        Tally.made = {}
        run_state_machine_as_test(
            WithholdingMachine,
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            ),
        )
        made = ", ".join(f"{name} {count}" for name, count in sorted(Tally.made.items()))
        print(
            f"\nwithholding state machine: {Tally.runs} runs, {Tally.steps} steps "
            f"({Tally.moves} moves made, {Tally.refused} refused by the workflow); made: {made}"
        )
        self.assertGreater(Tally.moves, 0)
