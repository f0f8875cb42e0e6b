"""The removal desk's workflow table: every action, the states it may start from, the states it
may lead to, who may take it, its labels and whether it is automatic. It is the one source of the
desk's moves:

- the services check every move against it (`check`, `check_target`) under the row lock;
- the event log's actions are its names (`EventAction`), and `replay` checks a log against it;
- the admin's buttons, the `takedown` command's subcommands and the status page's labels are made
  from it;
- `manage.py workflow_diagram` writes its state diagram and table into docs/moderation.md (a test
  fails when they are stale).

Labels are msgids: the Chinese catalogue (locale/zh_Hans) holds the other language.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import models
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .states import RequesterState, TakedownStatus

Status = TakedownStatus


class Actor(models.TextChoices):
    REQUESTER = "requester", _("the requester")
    MODERATOR = "moderator", _("a moderator")
    SOURCE = "source", _("the source of a withheld snapshot")
    COUNTER_NOTIFIER = "counter_notifier", _("whoever sends a counter-notice")
    SYSTEM = "system", _("the system, automatically")


class Subject(models.TextChoices):
    REQUEST = "request", _("removal request")
    REQUESTER = "requester", _("requester")


class TransitionError(Exception):
    """A move the workflow does not allow now, or not for this actor. The message says why."""


# The state of a request before it exists, in the table and the log.
NEW = ""


@dataclass(frozen=True)
class Action:
    name: str
    subject: str
    sources: tuple[str, ...]  # states it may be taken from
    targets: tuple[str, ...]  # states it may lead to; () when it leaves the state as it is
    actors: tuple[str, ...]
    label: Promise  # a button's or a command's label
    verb: Promise  # for sentences: "Cannot <verb> TD-…: it is …"
    done: Promise  # what happened, in a history
    automatic: bool = False
    help: Promise | str = ""

    def leads_to(self, before: str) -> tuple[str, ...]:
        return self.targets or (before,)


def _a(name, subject, sources, targets, actors, label, verb, done, *, automatic=False, help=""):
    return Action(name, subject, tuple(sources), tuple(targets), tuple(actors), label, verb, done, automatic, help)


R, Q = Subject.REQUEST, Subject.REQUESTER
OPEN = (Status.SUBMITTED, Status.IN_REVIEW, Status.INFO_REQUESTED)
DECIDED = (Status.APPROVED, Status.REJECTED, Status.DISPUTED, Status.RESTORED)

ACTIONS: tuple[Action, ...] = (
    _a(
        "submit", R, [NEW], [Status.SUBMITTED], [Actor.REQUESTER],
        _("File a removal request"), _("file the request"), pgettext_lazy("removal request", "request received"),
    ),
    _a(
        "assign", R, [*OPEN, Status.DISPUTED], [], [Actor.MODERATOR],
        _("Assign to me"), _("assign"), pgettext_lazy("removal request", "assigned to a moderator"),
        help=_("Take a request on (assignment is recorded; the state does not change)."),
    ),
    _a(
        "add_items", R, OPEN, [], [Actor.MODERATOR],
        _("Add the other copies of the same story"), _("add snapshots to"),
        pgettext_lazy("removal request", "other copies of the same story added to the request"),
        help=_("Add the other snapshots of the listed snapshots' stories, to be decided with the request."),
    ),
    _a(
        "review", R, [Status.SUBMITTED], [Status.IN_REVIEW], [Actor.MODERATOR],
        _("Take into review"), _("take into review"), pgettext_lazy("removal request", "taken into review"),
        help=_("Take a submitted request into review."),
    ),
    _a(
        "ask", R, [Status.IN_REVIEW], [Status.INFO_REQUESTED], [Actor.MODERATOR],
        _("Ask for information"), _("ask for information on"), pgettext_lazy("removal request", "the moderator asked a question"),
        help=_("Ask the requester for information (the reason is the question)."),
    ),
    _a(
        "answer", R, [Status.INFO_REQUESTED], [Status.IN_REVIEW], [Actor.REQUESTER],
        _("Send the answer"), _("answer"), pgettext_lazy("removal request", "you answered"),
    ),
    _a(
        "approve", R, [Status.IN_REVIEW], [Status.APPROVED], [Actor.MODERATOR],
        _("Approve"), _("approve"), pgettext_lazy("removal request", "approved"),
        help=_("Approve: withhold the pending URLs, except those refused with --refuse."),
    ),
    _a(
        "reject", R, [Status.IN_REVIEW, Status.INFO_REQUESTED], [Status.REJECTED], [Actor.MODERATOR],
        _("Reject"), _("reject"), pgettext_lazy("removal request", "rejected"),
        help=_("Reject: refuse every pending URL."),
    ),
    _a(
        "lapse", R, [Status.INFO_REQUESTED], [Status.REJECTED], [Actor.SYSTEM],
        _("Close for want of an answer"), _("close"),
        pgettext_lazy("removal request", "closed automatically: the question was not answered in time"),
        automatic=True,
    ),
    _a(
        "withdraw", R, [*OPEN, Status.APPROVED, Status.DISPUTED], [Status.WITHDRAWN], [Actor.REQUESTER],
        _("Withdraw"), _("withdraw"), pgettext_lazy("removal request", "withdrawn"),
    ),
    _a(
        "take_effect", R, [Status.APPROVED, Status.DISPUTED], [], [Actor.SYSTEM],
        _("Take effect after the changes window"), _("put into effect"),
        pgettext_lazy("removal request", "withholding took effect automatically at the end of the changes window"),
        automatic=True,
    ),
    _a(
        "counter_notice", R, [Status.APPROVED, Status.DISPUTED], [Status.DISPUTED], [Actor.COUNTER_NOTIFIER],
        _("Send the counter-notice"), _("dispute"), pgettext_lazy("removal request", "counter-notice received"),
    ),
    _a(
        "report_lawsuit", R, [Status.DISPUTED], [], [Actor.REQUESTER],
        _("Report the lawsuit or complaint"), _("report a lawsuit for"),
        pgettext_lazy("removal request", "lawsuit or complaint reported"),
    ),
    _a(
        "uphold", R, [Status.DISPUTED], [Status.APPROVED], [Actor.MODERATOR],
        _("Uphold (keep withheld)"), _("uphold"), pgettext_lazy("removal request", "withholding upheld after the dispute"),
        help=_("End a dispute by keeping the disputed snapshots withheld."),
    ),
    _a(
        "restore", R, [Status.DISPUTED], [Status.RESTORED, Status.APPROVED], [Actor.MODERATOR],
        _("Restore now"), _("restore"), pgettext_lazy("removal request", "snapshots restored"),
        help=_("End a dispute by lifting the disputed claims now."),
    ),
    _a(
        "restore_due", R, [Status.DISPUTED], [Status.RESTORED, Status.APPROVED, Status.DISPUTED], [Actor.SYSTEM],
        _("Restore after the waiting period"), _("restore"),
        pgettext_lazy("removal request", "snapshots restored automatically: no lawsuit was reported in time"),
        automatic=True,
    ),
    _a(
        "appeal", R, [Status.APPROVED, Status.REJECTED, Status.DISPUTED, Status.RESTORED], [],
        [Actor.REQUESTER, Actor.SOURCE],
        _("Appeal the decision"), _("appeal"), pgettext_lazy("removal request", "appeal received"),
    ),
    _a(
        "appeal_uphold", R, [*DECIDED, Status.REVERSED, Status.WITHDRAWN], [], [Actor.MODERATOR],
        _("Uphold on appeal"), _("uphold on appeal"), pgettext_lazy("removal request", "decision upheld on appeal"),
        help=_("Review an appeal and keep the decision (a moderator other than the one who decided)."),
    ),
    _a(
        "appeal_reverse", R, [Status.APPROVED, Status.REJECTED, Status.DISPUTED, Status.RESTORED],
        [Status.APPROVED, Status.DISPUTED, Status.REVERSED], [Actor.MODERATOR],
        _("Reverse on appeal"), _("reverse on appeal"), pgettext_lazy("removal request", "decision reversed on appeal"),
        help=_("Review an appeal and reverse the decision for the URLs it concerns."),
    ),
    _a(
        "warn", Q, [RequesterState.CLEAR, RequesterState.WARNED], [RequesterState.WARNED], [Actor.MODERATOR],
        _("Warn"), _("warn"), pgettext_lazy("removal request", "warned"),
        help=_("Warn a requester whose notices are repeatedly unfounded (DSA art. 23)."),
    ),
    _a(
        "suspend", Q, [RequesterState.WARNED], [RequesterState.SUSPENDED], [Actor.MODERATOR],
        _("Suspend for N days"), _("suspend"), pgettext_lazy("removal request", "suspended"),
        help=_("Suspend a warned requester for a number of days: new requests are refused."),
    ),
    _a(
        "set_publication_delay", Q, [RequesterState.CLEAR, RequesterState.WARNED, RequesterState.SUSPENDED], [],
        [Actor.MODERATOR],
        _("Set the publication delay"), _("set the publication delay of"),
        pgettext_lazy("removal request", "publication delay set"),
        help=_("Days after a decision before it appears in the public record (organisations may be given some)."),
    ),
    _a(
        "lift", Q, [RequesterState.SUSPENDED], [RequesterState.WARNED], [Actor.MODERATOR],
        _("Lift the suspension"), _("lift the suspension of"), pgettext_lazy("removal request", "suspension lifted"),
        help=_("End a suspension before its time; the warning stays on record."),
    ),
)  # fmt: skip

BY_NAME: dict[str, Action] = {action.name: action for action in ACTIONS}

# The log's actions: exactly the table's, a closed set the database checks.
EventAction = models.TextChoices("EventAction", [(a.name.upper(), (a.name, a.done)) for a in ACTIONS])


def action(name: str) -> Action:
    return BY_NAME[name]


def check(name: str, state: str, actor: str, *, describe=None) -> Action:
    """The action `name`, if `actor` may take it from `state`; else TransitionError, whose message
    `describe(action)` gives (the services name the request and who moved it last)."""
    move = BY_NAME[name]
    if actor not in move.actors:
        raise TransitionError(
            _("%(actor)s may not %(action)s a request.") % {"actor": Actor(actor).label, "action": move.verb}
        )
    if state not in move.sources:
        raise TransitionError(describe(move) if describe else _("Not possible now."))
    return move


def check_target(name: str, before: str, after: str) -> None:
    """A move must end where the table says it may: a state the table does not lead to is a bug,
    and the transaction is rolled back."""
    if after not in BY_NAME[name].leads_to(before):
        raise RuntimeError(f"The workflow table does not lead {name!r} from {before!r} to {after!r}.")


def moves(subject: str, state: str, actor: str) -> list[Action]:
    """The actions `actor` may take on a `subject` in `state`, in the table's order."""
    return [a for a in ACTIONS if a.subject == subject and state in a.sources and actor in a.actors]


def requester_state(requester, at=None) -> str:
    """A requester's state as the table knows it: suspended while a suspension runs, warned once
    warned, else clear."""
    if requester.suspended_until and requester.suspended_until > (at or timezone.now()):
        return RequesterState.SUSPENDED
    return RequesterState.WARNED if requester.warned_at else RequesterState.CLEAR


# --- the documentation --------------------------------------------------------------------------

STATE_LABELS = {**dict(Status.choices), **dict(RequesterState.choices)}


def _both(text) -> str:
    """A label in English and in Chinese."""
    with translation.override("en"):
        english = str(text)
    with translation.override("zh-hans"):
        chinese = str(text)
    return english if english == chinese else f"{english} / {chinese}"


def mermaid(subject: str) -> str:
    """The state diagram of one subject, as Mermaid text."""
    lines = ["stateDiagram-v2"]
    for move in ACTIONS:
        if move.subject != subject or not move.targets:
            continue  # moves that leave the state as it is are in the table only
        who = ", ".join(str(Actor(actor).value) for actor in move.actors)
        label = f"{move.name} ({who}{', automatic' if move.automatic else ''})"
        for source in move.sources:
            for target in move.leads_to(source):
                lines.append(f"    {source or '[*]'} --> {target}: {label}")
    return "\n".join(lines)


def table_markdown() -> str:
    """Every action as a Markdown table row: what the docs show beside the diagrams."""
    rows = [
        "| action | subject | from | to | who | automatic | label (en / zh) | history (en / zh) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for move in ACTIONS:
        rows.append(
            "| "
            + " | ".join(
                [
                    f"`{move.name}`",
                    move.subject,
                    ", ".join(source or "(new)" for source in move.sources),
                    ", ".join(move.targets) or "(unchanged)",
                    ", ".join(Actor(actor).value for actor in move.actors),
                    "yes" if move.automatic else "no",
                    _both(move.label),
                    _both(move.done),
                ]
            )
            + " |"
        )
    return "\n".join(rows)


def documentation() -> str:
    """What `manage.py workflow_diagram` writes between the markers of docs/moderation.md."""
    return "\n".join(
        [
            "### Removal requests",
            "",
            "```mermaid",
            mermaid(Subject.REQUEST),
            "```",
            "",
            "### Requesters (DSA art. 23)",
            "",
            "```mermaid",
            mermaid(Subject.REQUESTER),
            "```",
            "",
            "### Every action",
            "",
            table_markdown(),
        ]
    )


# --- replaying the log ----------------------------------------------------------------------------


class ReplayError(Exception):
    pass


@dataclass
class Replayed:
    statuses: dict[int, str]  # request id: status
    claims: dict[int, str]  # item id: claim state
    outcomes: dict[int, str]  # item id: outcome
    answered: set[int]  # disputed claims whose requester reported a lawsuit


def replay(events: Iterable) -> Replayed:
    """Rebuild every request's state, and its items' outcomes and claims, from the event log alone,
    checking each event against the table: its action may be taken from the state the log had
    reached, and leads where the table says. Raises ReplayError at the first event that does not."""
    result = Replayed({}, {}, {}, set())
    for event in events:
        if event.request_id is None:
            continue
        move = BY_NAME.get(event.action)
        if move is None or move.subject != Subject.REQUEST:
            raise ReplayError(f"event {event.pk}: {event.action!r} is not an action on requests")
        before = result.statuses.get(event.request_id, NEW)
        if event.from_status != before:
            raise ReplayError(f"event {event.pk}: from {event.from_status!r}, but the log had {before!r}")
        if before not in move.sources or event.to_status not in move.leads_to(before):
            raise ReplayError(f"event {event.pk}: {move.name} from {before!r} to {event.to_status!r}")
        result.statuses[event.request_id] = event.to_status
        data = event.data or {}
        for item_id, outcome in data.get("outcomes", {}).items():
            result.outcomes[int(item_id)] = outcome
        for item_id, claim in data.get("claims", {}).items():
            result.claims[int(item_id)] = claim
            result.answered.discard(int(item_id))
        result.answered.update(int(item_id) for item_id in data.get("answered", []))
    return result
