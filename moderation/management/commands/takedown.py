"""The removal workflow from the command line, for operations and scripts.

    manage.py takedown list [--state S]
    manage.py takedown show REF
    manage.py takedown assign|review|add_items|ask|approve|reject|uphold|restore REF --by USERNAME [--reason TEXT]
        approve: [--ground G] [--refuse ITEM_POSITION]...   reject: [--ground G]
    manage.py takedown warn|suspend|lift|set_publication_delay EMAIL --by USERNAME --reason TEXT
        suspend, set_publication_delay: --days N

The moves are the moderators' actions of the workflow table (moderation.workflow), with its help
texts; they call the same services as the admin, and a move they refuse exits non-zero with the
reason.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from moderation import services, workflow
from moderation.admin import status_label
from moderation.models import Appeal, Requester, TakedownRequest
from moderation.selectors import listed_urls

Status = TakedownRequest.Status
Ground = TakedownRequest.Ground


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


class Command(BaseCommand):
    help = "List, show and decide removal requests through the workflow's services."

    # The moderators' actions of the workflow table, each the service it calls.
    MOVES = {
        action.name: action
        for action in workflow.ACTIONS
        if workflow.Actor.MODERATOR in action.actors and not action.automatic
    }
    # Actions whose reason is optional.
    OPTIONAL_REASON = ("assign", "review", "add_items")

    def add_arguments(self, parser):
        subcommands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        listing = subcommands.add_parser("list", help="Open requests by deadline, or those in one state.")
        listing.add_argument("--state", choices=Status.values, help="Only requests in this state (default: open ones).")
        show = subcommands.add_parser("show", help="Everything about one request.")
        show.add_argument("reference", metavar="REF")
        for name, action in self.MOVES.items():
            move = subcommands.add_parser(name, help=str(action.help or action.label))
            if action.subject == workflow.Subject.REQUESTER:
                move.add_argument("email", metavar="EMAIL", help="The requester's email address.")
            else:
                move.add_argument("reference", metavar="REF")
            move.add_argument("--by", required=True, metavar="USERNAME", help="The moderator making the move.")
            move.add_argument(
                "--reason",
                required=name not in self.OPTIONAL_REASON,
                default="",
                help="The statement of reasons (for ask: the question; for review: an optional note).",
            )
            if name == "suspend":
                move.add_argument("--days", type=int, required=True, help="How long the suspension lasts.")
            if name == "set_publication_delay":
                move.add_argument("--days", type=int, required=True, help="Days before a decision is published.")
            if name in ("appeal_uphold", "appeal_reverse"):
                move.add_argument(
                    "--appeal",
                    type=int,
                    metavar="ID",
                    help="The appeal to decide (default: the request's only open one).",
                )
            if name == "appeal_reverse":
                move.add_argument(
                    "--ground", choices=[g for g in Ground.values if g != Ground.NONE], default=Ground.COPYRIGHT
                )
            if name == "approve":
                move.add_argument(
                    "--ground", choices=[g for g in Ground.values if g != Ground.NONE], default=Ground.COPYRIGHT
                )
                move.add_argument(
                    "--refuse",
                    type=int,
                    action="append",
                    default=[],
                    metavar="ITEM_POSITION",
                    help="Refuse the URL at this position (1 is the first listed); repeatable.",
                )
            elif name == "reject":
                move.add_argument("--ground", choices=Ground.values, default=Ground.NONE)

    def handle(self, *args, subcommand, **options):
        if subcommand == "list":
            return self.list_requests(options["state"])
        if subcommand in self.MOVES and self.MOVES[subcommand].subject == workflow.Subject.REQUESTER:
            return self.measure(subcommand, options)
        req = self.get_request(options["reference"])
        if subcommand == "show":
            return self.show(req)
        moderator = self.get_moderator(options["by"])
        try:
            self.move(subcommand, req, moderator, options)
        except services.TransitionError as error:
            raise CommandError(str(error)) from None
        req.refresh_from_db()
        self.stdout.write(
            self.style.SUCCESS(
                _("%(reference)s is now %(status)s.") % {"reference": req.reference, "status": req.get_status_display()}
            )
        )

    def get_request(self, reference: str) -> TakedownRequest:
        try:
            return TakedownRequest.objects.get(reference=reference.strip().upper())
        except TakedownRequest.DoesNotExist:
            raise CommandError(_("There is no removal request %(reference)s.") % {"reference": reference}) from None

    def get_moderator(self, username: str):
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist:
            raise CommandError(_("There is no user %(username)s.") % {"username": username}) from None
        if not services.is_moderator(user):
            raise CommandError(_("%(username)s is not a moderator.") % {"username": username})
        return user

    def measure(self, name: str, options) -> None:
        requester = Requester.objects.filter(email__iexact=options["email"].strip()).first()
        if requester is None:
            raise CommandError(_("There is no requester %(email)s.") % {"email": options["email"]})
        moderator = self.get_moderator(options["by"])
        common = {"requester_id": requester.pk, "moderator": moderator, "note": options["reason"]}
        try:
            if name == "warn":
                services.requester_warn(**common)
            elif name == "suspend":
                services.requester_suspend(**common, days=options["days"])
            elif name == "set_publication_delay":
                services.requester_set_publication_delay(**common, days=options["days"])
            else:
                services.requester_lift(**common)
        except services.TransitionError as error:
            raise CommandError(str(error)) from None
        requester.refresh_from_db()
        state = workflow.requester_state(requester)
        self.stdout.write(
            self.style.SUCCESS(
                _("%(email)s is now %(state)s.") % {"email": requester.email, "state": workflow.STATE_LABELS[state]}
            )
        )

    def move(self, name: str, req: TakedownRequest, moderator, options) -> None:
        common = {"request_id": req.pk, "moderator": moderator}
        reason = options["reason"]
        if name == "assign":
            services.takedown_assign(**common)
        elif name == "review":
            services.takedown_review(**common, note=reason)
        elif name == "add_items":  # the other copies of the listed snapshots' stories
            added = services.takedown_add_story_siblings(**common)
            self.stdout.write(
                _("%(count)d snapshot(s) of the same story added: %(urls)s")
                % {"count": len(added), "urls": ", ".join(item.url for item in added) or "—"}
            )
        elif name == "ask":
            services.takedown_ask(**common, question=reason)
        elif name == "approve":
            by_position = {item.position: item.pk for item in req.items.all()}
            unknown = sorted(set(options["refuse"]) - set(by_position))
            if unknown:
                raise CommandError(
                    _("%(reference)s has no URL at position %(positions)s.")
                    % {"reference": req.reference, "positions": ", ".join(map(str, unknown))}
                )
            outcomes = {by_position[p]: "refused" for p in options["refuse"]}
            services.takedown_approve(**common, reason=reason, ground=options["ground"], outcomes=outcomes)
        elif name == "reject":
            services.takedown_reject(**common, reason=reason, ground=options["ground"])
        elif name == "uphold":
            services.takedown_uphold(**common, reason=reason)
        elif name == "restore":
            services.takedown_restore(**common, reason=reason)
        elif name in ("appeal_uphold", "appeal_reverse"):
            appeal = self.get_appeal(req, options["appeal"])
            if name == "appeal_uphold":
                services.appeal_uphold(appeal_id=appeal.pk, moderator=moderator, reason=reason)
            else:
                services.appeal_reverse(
                    appeal_id=appeal.pk, moderator=moderator, reason=reason, ground=options["ground"]
                )
        else:  # an action added to the table without its command: a test catches it
            raise CommandError(f"No command for the workflow's {name!r} yet.")

    def get_appeal(self, req: TakedownRequest, appeal_id: int | None):
        appeals = req.appeals.filter(status=Appeal.Status.OPEN)
        if appeal_id is not None:
            appeals = appeals.filter(pk=appeal_id)
        found = list(appeals[:2])
        if len(found) != 1:
            raise CommandError(
                _("%(reference)s has no open appeal %(id)s.") % {"reference": req.reference, "id": appeal_id or ""}
                if not found
                else _("%(reference)s has several open appeals: name one with --appeal.") % {"reference": req.reference}
            )
        return found[0]

    def list_requests(self, state: str | None) -> None:
        requests = TakedownRequest.objects.select_related("assignee").annotate(url_count=Count("items"))
        if state:
            requests = requests.filter(status=state)
        else:
            requests = requests.filter(status__in=TakedownRequest.OPEN_STATUSES)
        count = 0
        for req in requests.order_by("due_at", "id"):
            count += 1
            self.stdout.write(
                "\t".join(
                    [
                        req.reference,
                        req.status,
                        _("due %(time)s") % {"time": _when(req.due_at)},
                        _("OVERDUE") if req.is_overdue else "",
                        str(req.url_count),
                        req.organisation or req.name,
                        req.assignee.get_username() if req.assignee else "—",
                    ]
                )
            )
        if not count:
            self.stdout.write(_("No removal requests."))

    def show(self, req: TakedownRequest) -> None:
        write = self.stdout.write
        write(f"{req.reference}  {req.get_status_display()} ({req.status})")
        rows = [
            (_("Received"), _when(req.received_at)),
            (_("Due"), _when(req.due_at) + (f"  {_('OVERDUE')}" if req.is_overdue else "")),
            (_("Assignee"), req.assignee.get_username() if req.assignee else "—"),
            (_("Requester"), f"{req.name} <{req.email}>, {req.organisation or '—'}, {req.get_role_display()}"),
            *(
                (
                    _("Work %(number)d") % {"number": work.position},
                    f"{work.description} ({work.work_date.isoformat() if work.work_date else '—'})",
                )
                for work in req.works.order_by("position")
            ),
            (_("Why it infringes"), req.explanation),
            (_("Proof of rights"), req.evidence),
        ]
        if req.decided_at:
            rows += [
                (_("Decided"), _when(req.decided_at)),
                (_("Ground"), req.get_ground_display()),
                (_("Statement of reasons"), req.decision_reason),
            ]
        if req.status == Status.INFO_REQUESTED:
            rows += [(_("Question to the requester"), req.info_request), (_("Answer due"), _when(req.info_due_at))]
        if req.lawsuit_note:
            rows.append((_("Lawsuit or complaint"), req.lawsuit_note))
        for label, value in rows:
            write(f"{label}: {value}")
        write(_("URLs:"))
        for row in listed_urls(req):
            snapshot = row.snapshot
            claim = f", {row.item.claim}" if row.item.claim != row.item.Claim.NONE else ""
            restore = f", {_('restore after')} {_when(row.item.restore_after)}" if row.item.restore_after else ""
            write(f"  {row.item.position}. {row.item.url}  [{row.item.outcome}{claim}{restore}]")
            if snapshot is not None:
                write(
                    "     "
                    + _("%(title)s; published %(published)s, captured %(captured)s")
                    % {"title": snapshot.title, "published": row.published_on, "captured": row.captured_on}
                )
            if row.timeline_warning:
                write("     " + self.style.WARNING(row.timeline_warning))
        for evidence in req.files.order_by("pk"):
            write(_("File: %(name)s (%(size)d bytes)") % {"name": evidence.original_name, "size": evidence.size})
        write(_("History:"))
        for event in req.events.order_by("created_at", "id"):
            change = f"{status_label(event.from_status) or '—'} → {status_label(event.to_status)}"
            note = f": {event.note}" if event.note else ""
            write(f"  {_when(event.created_at)}  {event.actor_label}  {event.action}  {change}{note}")
