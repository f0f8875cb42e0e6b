"""Who may open which admin page: one table, every admin URL (model pages, the moderators' workflow
views, evidence downloads, the changelist actions) against every role. A URL added to the admin
without a row here fails `test_the_table_covers_every_admin_url`."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.test import TestCase
from django.urls import URLResolver, reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.models import Reader
from articles.models import Snapshot
from articles.tests.helpers import make_category
from capture.models import CaptureRequest, ImportJob
from moderation.models import TakedownRequest
from moderation.tests.helpers import (
    make_editor,
    make_evidence_upload,
    make_moderator,
    make_request,
    make_snapshot,
    make_superuser,
    temporary_evidence_storage,
)
from outbox.models import Message
from subscriptions.models import Digest, Subscriber
from subscriptions.tests.helpers import subscribe

Status = TakedownRequest.Status
ROLES = ["anonymous", "reader", "editor", "moderator", "superuser"]
L = "login"  # a redirect to the admin's log-in page


def answers(anonymous=L, reader=L, editor=403, moderator=403, superuser=200):
    return {"anonymous": anonymous, "reader": reader, "editor": editor, "moderator": moderator, "superuser": superuser}


# The common shapes of a row.
SUPERUSER_ONLY = answers()
NOBODY = answers(superuser=403)
STAFF = answers(editor=200, moderator=200)
EDITORS = answers(editor=200)
EDITORS_AND_VIEWERS = answers(editor=200, moderator=200)  # moderators may view what editors change
MODERATORS = answers(moderator=200)

# url name → (arguments, expected answer per role). Arguments name objects made in setUpTestData.
TABLE = {
    "index": ((), STAFF),
    "login": ((), answers(anonymous=200, reader=200, editor=302, moderator=302, superuser=302)),
    # Log-out is POST only; someone not logged in to the admin is sent to its index (then to log in).
    "logout": ((), answers(anonymous=302, reader=302, editor=405, moderator=405, superuser=405)),
    "password_change": ((), STAFF),
    "password_change_done": ((), STAFF),
    "autocomplete": ((), answers(editor=200, moderator=200)),
    "jsi18n": ((), STAFF),
    # The redirect to a snapshot's public page (which answers for itself: 200, or 451 when withheld).
    "view_on_site": (("snapshot_type", "published"), answers(editor=302, moderator=302, superuser=302)),
    "app_list": (("articles",), STAFF),
    # Users, groups and the log-in throttle's records: superusers only.
    "auth_group_changelist": ((), SUPERUSER_ONLY),
    "auth_group_add": ((), SUPERUSER_ONLY),
    "auth_group_history": (("group",), SUPERUSER_ONLY),
    "auth_group_delete": (("group",), SUPERUSER_ONLY),
    "auth_group_change": (("group",), SUPERUSER_ONLY),
    "auth_user_password_change": (("reader_user",), SUPERUSER_ONLY),
    "auth_user_changelist": ((), SUPERUSER_ONLY),
    "auth_user_add": ((), SUPERUSER_ONLY),
    "auth_user_history": (("reader_user",), SUPERUSER_ONLY),
    "auth_user_delete": (("reader_user",), SUPERUSER_ONLY),
    "auth_user_change": (("reader_user",), SUPERUSER_ONLY),
    "axes_accessattempt_changelist": ((), SUPERUSER_ONLY),
    "axes_accessattempt_add": ((), NOBODY),
    "axes_accessattempt_history": (("attempt",), SUPERUSER_ONLY),
    "axes_accessattempt_delete": (("attempt",), SUPERUSER_ONLY),
    "axes_accessattempt_change": (("attempt",), SUPERUSER_ONLY),
    "axes_accesslog_changelist": ((), SUPERUSER_ONLY),
    "axes_accesslog_add": ((), NOBODY),
    "axes_accesslog_history": (("access_log",), SUPERUSER_ONLY),
    "axes_accesslog_delete": (("access_log",), SUPERUSER_ONLY),
    "axes_accesslog_change": (("access_log",), SUPERUSER_ONLY),
    "axes_accessfailurelog_changelist": ((), SUPERUSER_ONLY),
    "axes_accessfailurelog_add": ((), NOBODY),
    "axes_accessfailurelog_history": (("failure_log",), SUPERUSER_ONLY),
    "axes_accessfailurelog_delete": (("failure_log",), SUPERUSER_ONLY),
    "axes_accessfailurelog_change": (("failure_log",), SUPERUSER_ONLY),
    # The archive: editors curate, moderators look, nobody adds a capture or deletes anything by hand.
    "articles_category_changelist": ((), EDITORS_AND_VIEWERS),
    "articles_category_add": ((), EDITORS),
    "articles_category_history": (("category",), EDITORS_AND_VIEWERS),
    "articles_category_delete": (("category",), SUPERUSER_ONLY),
    "articles_category_change": (("category",), EDITORS_AND_VIEWERS),
    "articles_source_changelist": ((), EDITORS_AND_VIEWERS),
    "articles_source_add": ((), EDITORS),
    "articles_source_history": (("source",), EDITORS_AND_VIEWERS),
    "articles_source_delete": (("source",), SUPERUSER_ONLY),
    "articles_source_change": (("source",), EDITORS_AND_VIEWERS),
    "articles_snapshot_changelist": ((), EDITORS_AND_VIEWERS),
    "articles_snapshot_add": ((), NOBODY),
    "articles_snapshot_history": (("published",), EDITORS_AND_VIEWERS),
    "articles_snapshot_simple_history": (("published", "published_version"), EDITORS_AND_VIEWERS),
    "articles_snapshot_delete": (("published",), NOBODY),
    "articles_snapshot_change": (("published",), EDITORS_AND_VIEWERS),
    "articles_snapshot_captures": (("published",), EDITORS_AND_VIEWERS),
    # Captures and uploaded imports: editors; the add pages lead to the "Capture a page" screen.
    "capture_capturerequest_changelist": ((), EDITORS),
    "capture_capturerequest_new": ((), EDITORS),
    "capture_capturerequest_add": ((), answers(editor=302, superuser=302)),
    "capture_capturerequest_history": (("capture_request",), EDITORS),
    "capture_capturerequest_delete": (("capture_request",), NOBODY),
    "capture_capturerequest_change": (("capture_request",), EDITORS),
    "capture_importjob_changelist": ((), EDITORS),
    "capture_importjob_add": ((), answers(editor=302, superuser=302)),
    "capture_importjob_history": (("import_job",), EDITORS),
    "capture_importjob_delete": (("import_job",), NOBODY),
    "capture_importjob_change": (("import_job",), EDITORS),
    # Removal requests: moderators (and superusers) only; read-only pages, moves through the services.
    "moderation_takedownrequest_changelist": ((), MODERATORS),
    "moderation_takedownrequest_add": ((), NOBODY),
    "moderation_takedownrequest_history": (("submitted",), MODERATORS),
    "moderation_takedownrequest_delete": (("submitted",), NOBODY),
    "moderation_takedownrequest_change": (("submitted",), MODERATORS),
    "moderation_takedownrequest_review": (("submitted",), MODERATORS),
    "moderation_takedownrequest_ask": (("in_review",), MODERATORS),
    "moderation_takedownrequest_approve": (("in_review",), MODERATORS),
    "moderation_takedownrequest_reject": (("in_review",), MODERATORS),
    "moderation_takedownrequest_uphold": (("disputed",), MODERATORS),
    "moderation_takedownrequest_restore": (("disputed",), MODERATORS),
    "moderation_takedownrequest_appeal_uphold": (("disputed",), MODERATORS),
    "moderation_takedownrequest_appeal_reverse": (("disputed",), MODERATORS),
    "moderation_takedownrequest_evidence": (("submitted", "evidence"), MODERATORS),
    "moderation_requester_changelist": ((), MODERATORS),
    "moderation_sourcerecord_changelist": ((), MODERATORS),
    "moderation_sourcerecord_add": ((), NOBODY),
    "moderation_sourcerecord_history": (("source",), MODERATORS),
    "moderation_sourcerecord_delete": (("source",), NOBODY),
    "moderation_sourcerecord_change": (("source",), MODERATORS),
    "moderation_requester_add": ((), NOBODY),
    "moderation_requester_history": (("requester",), MODERATORS),
    "moderation_requester_delete": (("requester",), NOBODY),
    "moderation_requester_change": (("requester",), MODERATORS),
    "moderation_requester_warn": (("requester",), MODERATORS),
    "moderation_requester_suspend": (("requester",), MODERATORS),
    "moderation_requester_lift": (("requester",), MODERATORS),
    "moderation_requester_set_publication_delay": (("requester",), MODERATORS),
    "moderation_moderationevent_changelist": ((), MODERATORS),
    "moderation_moderationevent_add": ((), NOBODY),
    "moderation_moderationevent_history": (("event",), MODERATORS),
    "moderation_moderationevent_delete": (("event",), NOBODY),
    "moderation_moderationevent_change": (("event",), MODERATORS),
    # Readers' accounts and subscriptions: personal data, superusers only; sign-ups and digests are
    # made by the site, never added by hand.
    "accounts_reader_changelist": ((), SUPERUSER_ONLY),
    "accounts_reader_add": ((), NOBODY),
    "accounts_reader_history": (("reader_account",), SUPERUSER_ONLY),
    "accounts_reader_delete": (("reader_account",), SUPERUSER_ONLY),
    "accounts_reader_change": (("reader_account",), SUPERUSER_ONLY),
    "subscriptions_subscription_changelist": ((), SUPERUSER_ONLY),
    "subscriptions_subscription_add": ((), SUPERUSER_ONLY),
    "subscriptions_subscription_history": (("subscription",), SUPERUSER_ONLY),
    "subscriptions_subscription_delete": (("subscription",), SUPERUSER_ONLY),
    "subscriptions_subscription_change": (("subscription",), SUPERUSER_ONLY),
    "subscriptions_subscriber_changelist": ((), SUPERUSER_ONLY),
    "subscriptions_subscriber_add": ((), NOBODY),
    "subscriptions_subscriber_history": (("subscriber",), SUPERUSER_ONLY),
    "subscriptions_subscriber_delete": (("subscriber",), SUPERUSER_ONLY),
    "subscriptions_subscriber_change": (("subscriber",), SUPERUSER_ONLY),
    "subscriptions_digest_changelist": ((), SUPERUSER_ONLY),
    "subscriptions_digest_add": ((), NOBODY),
    "subscriptions_digest_history": (("digest",), SUPERUSER_ONLY),
    "subscriptions_digest_delete": (("digest",), SUPERUSER_ONLY),
    "subscriptions_digest_change": (("digest",), SUPERUSER_ONLY),
    # Outgoing mail: moderators read the removal requests' mail (change pages are read-only views),
    # superusers all of it; nobody writes or deletes a message. The task records: superusers only.
    "outbox_message_changelist": ((), MODERATORS),
    "outbox_message_add": ((), NOBODY),
    # An editor's outbox holds no message, so this one is "not found": the admin's redirect to its index.
    "outbox_message_history": (("moderation_message",), answers(editor=302, moderator=200)),
    "outbox_message_delete": (("moderation_message",), NOBODY),
    "outbox_message_change": (("moderation_message",), MODERATORS),
    "django_tasks_database_dbtaskresult_changelist": ((), SUPERUSER_ONLY),
    "django_tasks_database_dbtaskresult_add": ((), NOBODY),
    "django_tasks_database_dbtaskresult_history": (("task_result",), SUPERUSER_ONLY),
    "django_tasks_database_dbtaskresult_delete": (("task_result",), NOBODY),
    "django_tasks_database_dbtaskresult_change": (("task_result",), SUPERUSER_ONLY),
}

# The changelist actions, by model: POSTed by each role; "done" when the change happened, else the
# answer. Run on fresh rows per role (see `action_effect`).
ACTIONS = {
    ("articles_snapshot", "hide"): answers(editor="done", moderator="refused", superuser="done"),
    ("articles_snapshot", "publish"): answers(editor="done", moderator="refused", superuser="done"),
    ("articles_snapshot", "move_to_category"): answers(editor="done", moderator="refused", superuser="done"),
    ("moderation_takedownrequest", "assign_to_me"): answers(moderator="done", superuser="done"),
    ("moderation_takedownrequest", "take_into_review"): answers(moderator="done", superuser="done"),
    ("outbox_message", "send_again"): answers(moderator="done", superuser="done"),
}


def admin_url_names() -> set[str]:
    names = set()
    for pattern in admin.site.get_urls():
        patterns = pattern.url_patterns if isinstance(pattern, URLResolver) else [pattern]
        names.update(p.name for p in patterns if getattr(p, "name", None))
    return names


class AdminObjects:
    """One object of every model registered in the admin, and the five roles."""

    @classmethod
    def setUpTestData(cls):
        cls.enterClassContext(temporary_evidence_storage())
        cls.users = {
            "anonymous": None,
            "reader": User.objects.create_user("reader", "reader@example.org", password=None),
            "editor": make_editor(),
            "moderator": make_moderator("mod"),
            "superuser": make_superuser(),
        }
        published = make_snapshot(title="公开的快照")
        submitted = make_request(published, files=[make_evidence_upload()])
        in_review = make_request(status=Status.IN_REVIEW, email="b@example.org")
        disputed = make_request(status=Status.DISPUTED, email="c@example.org")
        cls.objects = {
            "published": published,
            "published_version": published.history.first(),
            "category": published.category,
            "source": published.source,
            "snapshot_type": ContentType.objects.get_for_model(Snapshot),
            "group": Group.objects.get(name="Editors"),
            "reader_user": cls.users["reader"],
            "attempt": AccessAttempt.objects.create(
                username="x", ip_address="203.0.113.1", user_agent="", failures_since_start=1
            ),
            "access_log": AccessLog.objects.create(username="x", ip_address="203.0.113.1", user_agent=""),
            "failure_log": AccessFailureLog.objects.create(
                username="x", ip_address="203.0.113.1", user_agent="", attempt_time=timezone.now()
            ),
            "submitted": submitted,
            "in_review": in_review,
            "disputed": disputed,
            "evidence": submitted.files.get(),
            "requester": submitted.requester,
            "event": submitted.events.first(),
            "reader_account": Reader.objects.create(user=cls.users["reader"]),
            "subscription": subscribe(cls.users["reader"], keyword="新区"),
            "subscriber": Subscriber.objects.get(reader=cls.users["reader"]),
            "digest": Digest.objects.create(reader=cls.users["reader"]),
            "moderation_message": Message.objects.filter(stream=Message.Stream.MODERATION).first(),
            "task_result": DBTaskResult.objects.first(),
            "capture_request": CaptureRequest.objects.create(url="http://news.example.cn/a.html"),
            "import_job": ImportJob.objects.create(name="crawl.jsonl", file="2024/01/crawl.jsonl"),
        }

    def log_in_as(self, role: str):
        self.client.logout()
        if self.users[role] is not None:
            self.client.force_login(self.users[role])

    def answer_of(self, response) -> object:
        if response.status_code == 302 and response["Location"].startswith(reverse("admin:login") + "?next="):
            return L
        return response.status_code


class AdminAccessTests(AdminObjects, TestCase):
    def url(self, name: str, args: tuple) -> str:
        values = [arg if arg == "articles" else getattr(self.objects[arg], "pk", None) for arg in args]
        if name == "articles_snapshot_simple_history":
            values = [self.objects["published"].pk, self.objects["published_version"].history_id]
        url = reverse(f"admin:{name}", args=values)
        if name == "autocomplete":
            url += "?app_label=articles&model_name=snapshot&field_name=category&term=财"
        return url

    def test_the_table_covers_every_admin_url(self):
        self.assertEqual(admin_url_names() - {"app_list"} - set(TABLE), set())
        self.assertEqual(set(TABLE) - admin_url_names(), set())

    def test_every_admin_url_answers_each_role_as_the_table_says(self):
        actual, expected = {}, {}
        for name, (args, row) in TABLE.items():
            url = self.url(name, args)
            for role in ROLES:
                self.log_in_as(role)
                actual[name, role] = self.answer_of(self.client.get(url))
                expected[name, role] = row[role]
        wrong = {
            cell: f"expected {expected[cell]}, got {actual[cell]}" for cell in actual if actual[cell] != expected[cell]
        }
        self.assertEqual(wrong, {})

    def test_nobody_below_a_superuser_sees_apps_they_have_no_permission_in(self):
        cases = {
            "accounts": answers(editor=404, moderator=404),
            "subscriptions": answers(editor=404, moderator=404),
            "auth": answers(editor=404, moderator=404),
            "axes": answers(editor=404, moderator=404),
            "moderation": answers(editor=404, moderator=200),
        }
        for app_label, row in cases.items():
            for role in ROLES:
                with self.subTest(app=app_label, role=role):
                    self.log_in_as(role)
                    response = self.client.get(reverse("admin:app_list", args=[app_label]))
                    self.assertEqual(self.answer_of(response), row[role])

    def action_effect(self, model: str, action: str, role: str) -> object:
        """POST `action` on one fresh row of `model` as `role`: "done" if it changed the row, else
        "refused" (the page answered but nothing changed) or the answer itself."""
        if model == "articles_snapshot":
            row = make_snapshot(status=Snapshot.Status.HIDDEN if action == "publish" else Snapshot.Status.PUBLISHED)
            extra = (
                {"apply": "1", "category": make_category(f"新类别{role}").pk} if action == "move_to_category" else {}
            )

            def state():
                return Snapshot.objects.filter(pk=row.pk).values_list("status", "category_id").get()
        elif model == "outbox_message":
            row = make_request(email=f"{role}-{action}@example.org").events.get().request
            row = Message.objects.get(reference=row.reference, kind="receipt")  # sent by make_request
            extra = {}

            def state():
                return Message.objects.filter(pk=row.pk).values_list("status").get()
        else:
            row = make_request(email=f"{role}-{action}@example.org")
            extra = {}

            def state():
                return TakedownRequest.objects.filter(pk=row.pk).values_list("status", "assignee_id").get()

        before = state()
        self.log_in_as(role)
        response = self.client.post(
            reverse(f"admin:{model}_changelist"),
            {"action": action, "_selected_action": [row.pk], "index": 0, **extra},
        )
        if state() != before:
            return "done"
        answer = self.answer_of(response)
        return "refused" if answer in (200, 302) else answer

    def test_every_changelist_action_is_done_only_by_the_roles_allowed_it(self):
        wrong = {}
        for (model, action), row in ACTIONS.items():
            for role in ROLES:
                effect = self.action_effect(model, action, role)
                if effect != row[role]:
                    wrong[model, action, role] = f"expected {row[role]}, got {effect}"
        self.assertEqual(wrong, {})
