"""Who may change what through the admin, where the data changes: every model registered in the
admin, POSTed to its add, change, delete and history pages, to its history-revert form (models
with simple-history) and with each of its changelist actions, by anonymous, reader, editor,
moderator and superuser. Each cell is the answer, or "changed" when the data changed; a refusal
must leave the data as it was. The rows are generated from `admin.site`: a model or an action
added without a row here fails `test_the_table_covers_every_model_and_action_of_the_admin`.

What is POSTed is what a browser would send: the superuser's own form as the admin renders it,
with one value changed (`CHANGES`), so that a role allowed to save does change something. Each
cell runs in a transaction rolled back after it."""

from html.parser import HTMLParser

from django.contrib import admin
from django.db import transaction
from django.test import TestCase
from django.urls import NoReverseMatch, URLResolver, reverse
from simple_history.admin import SimpleHistoryAdmin

from articles.models import Snapshot
from articles.tests.helpers import make_category
from capture.models import CaptureRequest
from moderation.tests.helpers import make_snapshot
from outbox.models import Message

from .test_admin_access import ROLES, AdminObjects, L, answers

C = "changed"

# The object each model's pages are POSTed for (named as in AdminObjects.setUpTestData).
OBJECTS = {
    "auth.group": "group",
    "auth.user": "reader_user",
    "axes.accessattempt": "attempt",
    "axes.accesslog": "access_log",
    "axes.accessfailurelog": "failure_log",
    "django_tasks_database.dbtaskresult": "task_result",
    "outbox.message": "moderation_message",
    "articles.category": "category",
    "articles.source": "source",
    "articles.snapshot": "published",
    "capture.capturerequest": "capture_request",
    "capture.importjob": "import_job",
    "moderation.takedownrequest": "submitted",
    "moderation.requester": "requester",
    "moderation.moderationevent": "event",
    "moderation.sourcerecord": "source",
    "accounts.reader": "reader_account",
    "subscriptions.subscription": "subscription",
    "subscriptions.subscriber": "subscriber",
    "subscriptions.digest": "digest",
}
# An action that changes only an object in another state is run on that one.
ACTION_OBJECTS = {
    ("articles.snapshot", "publish"): "hidden",
    ("outbox.message", "send_again"): "failed_message",
    ("capture.capturerequest", "capture_again"): "failed_capture",
}
# The value changed in the superuser's form (add and change pages, the revert form).
CHANGES = {
    "auth.group": {"name": "新的组"},
    "auth.user": {"first_name": "改过的名字"},
    "articles.category": {"name": "新类别", "slug": "xin-lei-bie"},
    "articles.source": {"name": "新来源"},
    "articles.snapshot": {"title": "改过的标题"},
    "subscriptions.subscription": {"keyword": "改过的关键词"},
    "subscriptions.subscriber": {"digest_enabled": None},  # None: the box unticked
}
# On an add page, what a new object needs besides (added to CHANGES).
ADDS = {
    "auth.user": {"username": "new-user", "password1": "Lang genug 2026!", "password2": "Lang genug 2026!"},
    "subscriptions.subscription": {"kind": "keyword", "keyword": "新关键词"},
}
ACTION_DATA = {("articles.snapshot", "move_to_category"): lambda objects: {"category": objects["other_category"].pk}}

SUPERUSER_ONLY = answers(superuser=C)
NOBODY = answers(superuser=403)
# Every field read-only: the superuser's save is accepted (302) and changes nothing.
SAVED_UNCHANGED = answers(superuser=302)
# A category or source that snapshots use cannot be deleted: the superuser is shown why (200).
IN_USE = answers(superuser=200)
VIEWED_BY_STAFF = answers(editor=200, moderator=200)  # a POST to a history page shows it, changes nothing
VIEWED_BY_MODERATORS = answers(moderator=200)
VIEWED_BY_SUPERUSERS = answers()
EDITORS = answers(editor=C, superuser=C)
# Moderators may view what editors change, never change it: Django's change and history-revert
# views refuse their POST (403) whatever the page shows.
EDITORS_MODERATORS_VIEW = answers(editor=C, moderator=403, superuser=C)
# An action a role may not use is not offered to it: the changelist answers the POST with a
# message and changes nothing (302 back to the list).
PAGES = ("add", "change", "delete", "history", "revert")
REFUSED = REFUSED_ACTION = "refused"
ACTION_FOR_SUPERUSERS = answers(superuser=C)  # a list editors and moderators may not even see: 403

# (model, page or action) → the answer per role.
WRITES = {
    # Users, groups and the log-in throttle's records: superusers only; the throttle's records are
    # made by log-ins, never by hand.
    ("auth.group", "add"): SUPERUSER_ONLY,
    ("auth.group", "change"): SUPERUSER_ONLY,
    ("auth.group", "delete"): SUPERUSER_ONLY,
    ("auth.group", "history"): VIEWED_BY_SUPERUSERS,
    ("auth.group", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("auth.user", "add"): SUPERUSER_ONLY,
    ("auth.user", "change"): SUPERUSER_ONLY,
    ("auth.user", "delete"): SUPERUSER_ONLY,
    ("auth.user", "history"): VIEWED_BY_SUPERUSERS,
    ("auth.user", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("axes.accessattempt", "add"): NOBODY,
    ("axes.accessattempt", "change"): SAVED_UNCHANGED,
    ("axes.accessattempt", "delete"): SUPERUSER_ONLY,
    ("axes.accessattempt", "history"): VIEWED_BY_SUPERUSERS,
    ("axes.accessattempt", "delete_selected"): ACTION_FOR_SUPERUSERS,
    # Every log-in already clears expired attempts, so the superuser's action finds none to clear.
    ("axes.accessattempt", "cleanup_expired_attempts"): answers(superuser=REFUSED),
    ("axes.accesslog", "add"): NOBODY,
    ("axes.accesslog", "change"): SAVED_UNCHANGED,
    ("axes.accesslog", "delete"): SUPERUSER_ONLY,
    ("axes.accesslog", "history"): VIEWED_BY_SUPERUSERS,
    ("axes.accesslog", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("axes.accessfailurelog", "add"): NOBODY,
    ("axes.accessfailurelog", "change"): SAVED_UNCHANGED,
    ("axes.accessfailurelog", "delete"): SUPERUSER_ONLY,
    ("axes.accessfailurelog", "history"): VIEWED_BY_SUPERUSERS,
    ("axes.accessfailurelog", "delete_selected"): ACTION_FOR_SUPERUSERS,
    # The task records: superusers read them; nobody writes or deletes one.
    ("django_tasks_database.dbtaskresult", "add"): NOBODY,
    ("django_tasks_database.dbtaskresult", "change"): NOBODY,
    ("django_tasks_database.dbtaskresult", "delete"): NOBODY,
    ("django_tasks_database.dbtaskresult", "history"): VIEWED_BY_SUPERUSERS,
    ("django_tasks_database.dbtaskresult", "delete_selected"): answers(superuser=REFUSED_ACTION),
    # Outgoing mail: read-only for everyone; moderators and superusers may send one again.
    ("outbox.message", "add"): NOBODY,
    ("outbox.message", "change"): NOBODY,
    ("outbox.message", "delete"): NOBODY,
    ("outbox.message", "history"): answers(editor=302, moderator=200),  # an editor's outbox holds none
    ("outbox.message", "delete_selected"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    ("outbox.message", "send_again"): answers(moderator=C, superuser=C),
    # The archive: editors curate; moderators look and change nothing; nobody adds a capture or
    # deletes a snapshot, a category or a source by hand (superusers may delete an unused
    # category or source).
    ("articles.category", "add"): EDITORS,
    ("articles.category", "change"): EDITORS_MODERATORS_VIEW,
    ("articles.category", "delete"): IN_USE,
    ("articles.category", "history"): VIEWED_BY_STAFF,
    ("articles.category", "delete_selected"): answers(editor=REFUSED, moderator=REFUSED, superuser=REFUSED),
    ("articles.source", "add"): EDITORS,
    ("articles.source", "change"): EDITORS_MODERATORS_VIEW,
    ("articles.source", "delete"): IN_USE,
    ("articles.source", "history"): VIEWED_BY_STAFF,
    ("articles.source", "delete_selected"): answers(editor=REFUSED, moderator=REFUSED, superuser=REFUSED),
    ("articles.snapshot", "add"): NOBODY,
    ("articles.snapshot", "change"): EDITORS_MODERATORS_VIEW,
    ("articles.snapshot", "delete"): NOBODY,
    ("articles.snapshot", "history"): VIEWED_BY_STAFF,
    ("articles.snapshot", "revert"): EDITORS_MODERATORS_VIEW,
    ("articles.snapshot", "delete_selected"): answers(
        editor=REFUSED_ACTION, moderator=REFUSED_ACTION, superuser=REFUSED_ACTION
    ),
    ("articles.snapshot", "publish"): answers(editor=C, moderator=REFUSED_ACTION, superuser=C),
    ("articles.snapshot", "hide"): answers(editor=C, moderator=REFUSED_ACTION, superuser=C),
    ("articles.snapshot", "move_to_category"): answers(editor=C, moderator=REFUSED_ACTION, superuser=C),
    # Captures and file imports: editors start them (the add page leads to the "Capture a page"
    # screen, which queues them) and capture again; their task alone changes a job.
    ("capture.capturerequest", "add"): answers(editor=302, superuser=302),
    ("capture.capturerequest", "change"): NOBODY,
    ("capture.capturerequest", "delete"): NOBODY,
    ("capture.capturerequest", "history"): answers(editor=200),
    ("capture.capturerequest", "delete_selected"): answers(editor=REFUSED_ACTION, superuser=REFUSED_ACTION),
    ("capture.capturerequest", "capture_again"): EDITORS,
    ("capture.importjob", "add"): answers(editor=302, superuser=302),
    ("capture.importjob", "change"): NOBODY,
    ("capture.importjob", "delete"): NOBODY,
    ("capture.importjob", "history"): answers(editor=200),
    ("capture.importjob", "delete_selected"): answers(editor=REFUSED_ACTION, superuser=REFUSED_ACTION),
    # Removal requests, requesters and events change only through the workflow's own views.
    ("moderation.takedownrequest", "add"): NOBODY,
    ("moderation.takedownrequest", "change"): NOBODY,
    ("moderation.takedownrequest", "delete"): NOBODY,
    ("moderation.takedownrequest", "history"): VIEWED_BY_MODERATORS,
    ("moderation.takedownrequest", "delete_selected"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    ("moderation.takedownrequest", "assign_to_me"): answers(moderator=C, superuser=C),
    ("moderation.takedownrequest", "take_into_review"): answers(moderator=C, superuser=C),
    # Offered to moderators, but this request's snapshot is in no story: nothing to add, so the data
    # stays as it was, which the table reads as "refused" (moderation/tests/test_story_siblings.py
    # adds some, and shows that only moderators may).
    ("moderation.takedownrequest", "add_story_siblings"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    ("moderation.requester", "add"): NOBODY,
    ("moderation.requester", "change"): NOBODY,
    ("moderation.requester", "delete"): NOBODY,
    ("moderation.requester", "history"): VIEWED_BY_MODERATORS,
    ("moderation.requester", "delete_selected"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    ("moderation.moderationevent", "add"): NOBODY,
    ("moderation.moderationevent", "change"): NOBODY,
    ("moderation.moderationevent", "delete"): NOBODY,
    ("moderation.moderationevent", "history"): VIEWED_BY_MODERATORS,
    ("moderation.moderationevent", "delete_selected"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    # The sources' removal records are read-only (sources change in the articles admin).
    ("moderation.sourcerecord", "add"): NOBODY,
    ("moderation.sourcerecord", "change"): NOBODY,
    ("moderation.sourcerecord", "delete"): NOBODY,
    ("moderation.sourcerecord", "history"): VIEWED_BY_MODERATORS,
    ("moderation.sourcerecord", "delete_selected"): answers(moderator=REFUSED_ACTION, superuser=REFUSED_ACTION),
    # Readers' accounts and subscriptions: personal data, superusers only; accounts, subscribers
    # and digests are made by the site.
    ("accounts.reader", "add"): NOBODY,
    ("accounts.reader", "change"): SAVED_UNCHANGED,
    ("accounts.reader", "delete"): SUPERUSER_ONLY,
    ("accounts.reader", "history"): VIEWED_BY_SUPERUSERS,
    ("accounts.reader", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("subscriptions.subscription", "add"): SUPERUSER_ONLY,
    ("subscriptions.subscription", "change"): SUPERUSER_ONLY,
    ("subscriptions.subscription", "delete"): SUPERUSER_ONLY,
    ("subscriptions.subscription", "history"): VIEWED_BY_SUPERUSERS,
    ("subscriptions.subscription", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("subscriptions.subscriber", "add"): NOBODY,
    ("subscriptions.subscriber", "change"): SUPERUSER_ONLY,
    ("subscriptions.subscriber", "delete"): SUPERUSER_ONLY,
    ("subscriptions.subscriber", "history"): VIEWED_BY_SUPERUSERS,
    ("subscriptions.subscriber", "delete_selected"): ACTION_FOR_SUPERUSERS,
    ("subscriptions.digest", "add"): NOBODY,
    ("subscriptions.digest", "change"): NOBODY,
    ("subscriptions.digest", "delete"): SUPERUSER_ONLY,
    ("subscriptions.digest", "history"): VIEWED_BY_SUPERUSERS,
    ("subscriptions.digest", "delete_selected"): ACTION_FOR_SUPERUSERS,
}


def admin_write_cells() -> list[tuple[str, str]]:
    """Every (model, page or action) of `admin.site` that takes a POST."""
    cells = []
    for model, model_admin in admin.site._registry.items():
        label = model._meta.label_lower
        cells += [(label, page) for page in ("add", "change", "delete", "history")]
        if isinstance(model_admin, SimpleHistoryAdmin):
            cells.append((label, "revert"))
        cells += [(label, action.name) for action in model_admin._get_base_actions()]
    return cells


class _FormFields(HTMLParser):
    """The name/value pairs a browser submits from the admin's main form."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: list[tuple[str, str]] = []
        self._select: str | None = None
        self._options: list[tuple[str, bool]] = []
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("id") or "").endswith(self.form_id):
            self.inside = True
        if not self.inside or "disabled" in attrs:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.append((name, attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and name:
            self._select, self._options = name, []
            self._multiple = "multiple" in attrs
        elif tag == "option" and self._select:
            self._options.append((attrs.get("value", ""), "selected" in attrs))
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.append((name, ""))

    def handle_endtag(self, tag):
        if tag == "form" and self.inside:
            self.inside = False
        if tag == "select" and self._select:
            chosen = [value for value, selected in self._options if selected]
            if not chosen and not self._multiple and self._options:
                chosen = [self._options[0][0]]
            self.data += [(self._select, value) for value in chosen]
            self._select = None
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self.data and self.data[-1][0] == self._textarea:
            name, value = self.data[-1]
            self.data[-1] = (name, value + data)


def form_data(html: str, form_id: str, changes: dict) -> dict[str, list[str]]:
    parser = _FormFields(form_id)
    parser.feed(html)
    data: dict[str, list[str]] = {}
    for name, value in parser.data:
        data.setdefault(name, []).append(value.removeprefix("\n"))
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [value]
    data["_save"] = ["1"]
    return data


class AdminWriteTests(AdminObjects, TestCase):
    maxDiff = None

    @classmethod
    def setUpTestData(cls):
        super().setUpTestData()
        cls.objects["hidden"] = make_snapshot(status=Snapshot.Status.HIDDEN)
        cls.objects["other_category"] = make_category("另一类别", "ling-yi-lei-bie")
        failed = Message.objects.filter(stream=Message.Stream.MODERATION).first()
        cls.objects["failed_message"] = Message.objects.create(
            stream=failed.stream, kind=failed.kind, to=failed.to, subject=failed.subject, body=failed.body
        )
        Message.objects.filter(pk=cls.objects["failed_message"].pk).update(status=Message.Status.FAILED)
        cls.objects["failed_capture"] = CaptureRequest.objects.create(
            url="http://news.example.cn/down.html", status=CaptureRequest.Status.FAILED, reason="timed out"
        )

    def model_and_admin(self, label: str):
        for model, model_admin in admin.site._registry.items():
            if model._meta.label_lower == label:
                return model, model_admin
        raise LookupError(label)

    def state(self, model, model_admin) -> list:
        """Every row of the model and of its inlines' models."""
        rows = [list(model._default_manager.order_by("pk").values())]
        for inline in model_admin.inlines:
            rows.append(list(inline.model._default_manager.order_by("pk").values()))
        return rows

    def superuser_form(self, url: str, form_id: str, label: str) -> dict:
        self.log_in_as("superuser")
        response = self.client.get(url)
        if response.status_code != 200:
            return {}
        return form_data(response.content.decode(), form_id, CHANGES.get(label, {}))

    def request_for(self, label: str, page: str) -> tuple[str, dict]:
        model, model_admin = self.model_and_admin(label)
        info = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        obj = self.objects[ACTION_OBJECTS.get((label, page), OBJECTS[label])]
        form_id = f"{model._meta.model_name}_form"  # the revert form's is historical<name>_form
        if page == "add":
            url = reverse(f"{info}_add")
            data = self.superuser_form(url, form_id, label)
            if data:
                data.update({name: [value] for name, value in ADDS.get(label, {}).items()})
                if label == "subscriptions.subscription":
                    data["reader"] = [str(self.users["editor"].pk)]
            return url, data
        if page == "change":
            url = reverse(f"{info}_change", args=[obj.pk])
            return url, self.superuser_form(url, form_id, label)
        if page == "delete":
            return reverse(f"{info}_delete", args=[obj.pk]), {"post": "yes"}
        if page == "history":
            return reverse(f"{info}_history", args=[obj.pk]), {}
        if page == "revert":
            version = obj.history.order_by("history_id").first()
            url = reverse(f"{info}_simple_history", args=[obj.pk, version.history_id])
            return url, self.superuser_form(url, form_id, label)
        extra = ACTION_DATA.get((label, page), lambda objects: {})(self.objects)
        data = {"action": page, "_selected_action": [obj.pk], "index": 0, "post": "yes", "apply": "1", **extra}
        return reverse(f"{info}_changelist"), data

    def effect(self, label: str, page: str, role: str, request: tuple[str, dict] | None = None) -> object:
        model, model_admin = self.model_and_admin(label)
        url, data = request or self.request_for(label, page)
        with transaction.atomic():
            self.log_in_as(role)
            before = self.state(model, model_admin)
            response = self.client.post(url, data)
            after = self.state(model, model_admin)
            transaction.set_rollback(True)
        if before != after:
            return C
        answer = self.answer_of(response)
        if page not in PAGES and answer in (200, 302):
            # An action the role may not use: not offered to it, so the changelist shows itself
            # again (200 when the role has no action there at all, else a redirect with "No action
            # selected"). Nothing changed either way.
            return REFUSED
        return answer

    def test_the_table_covers_every_model_and_action_of_the_admin(self):
        cells = admin_write_cells()
        self.assertEqual(set(cells) - set(WRITES), set())
        self.assertEqual(set(WRITES) - set(cells), set())
        self.assertEqual(set(OBJECTS), {model._meta.label_lower for model in admin.site._registry})

    def test_every_post_is_answered_and_changes_data_only_as_the_table_says(self):
        wrong = {}
        for label, page in admin_write_cells():
            row = WRITES.get((label, page))
            if row is None:
                continue  # reported by the coverage test
            request = self.request_for(label, page)
            for role in ROLES:
                effect = self.effect(label, page, role, request)
                if effect != row[role]:
                    wrong[label, page, role] = f"expected {row[role]}, got {effect}"
        self.assertEqual(wrong, {})

    def test_a_refused_post_changes_nothing_whoever_sends_it(self):
        # The table's cells other than "changed" are refusals or views: the same check, stated
        # on its own for the case the probe found (a moderator's history-revert POST).
        snapshot = self.objects["published"]
        title = snapshot.title
        self.assertEqual(self.effect("articles.snapshot", "revert", "moderator"), 403)
        self.assertEqual(self.effect("articles.snapshot", "change", "moderator"), 403)
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).title, title)
        self.assertEqual(L, "login")


def admin_patterns_with_arguments():
    """(url name, number of arguments) of every admin URL that takes some."""
    found = []
    for pattern in admin.site.get_urls():
        patterns = pattern.url_patterns if isinstance(pattern, URLResolver) else [pattern]
        for each in patterns:
            regex = each.pattern.regex
            if each.name and regex.groups:
                found.append((each.name, regex.groups))
    return found


class AdminIdTests(AdminObjects, TestCase):
    def test_an_id_that_is_no_number_is_not_found_on_every_admin_page_never_an_error(self):
        self.log_in_as("superuser")
        wrong = {}
        for name, count in admin_patterns_with_arguments():
            if name in ("view_on_site", "app_list"):
                continue  # no object ids: a content type and an app label
            for value in ["abc", "1x", "99999999999999999999999", "-1", "½"]:
                args = [value] * count
                try:
                    url = reverse(f"admin:{name}", args=args)
                except NoReverseMatch:  # <int:…>: only digits reach the view
                    url = reverse(f"admin:{name}", args=[value, 1][:count] if count > 1 else [1])
                for method in ("get", "post"):
                    response = getattr(self.client, method)(url)
                    if response.status_code >= 500 or response.status_code == 200 and method == "post":
                        wrong[name, value, method] = response.status_code
        self.assertEqual(wrong, {})
