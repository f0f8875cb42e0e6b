import importlib
import re
from datetime import datetime
from html.parser import HTMLParser
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from articles.admin import SnapshotAdmin
from articles.models import SHANGHAI, Category, Snapshot
from newsarchive.admin import LargeTablePaginator

from .helpers import make_category, make_editor, make_related_link, make_snapshot, make_source, make_superuser
from .query_counts import ADMIN

CHANGELIST = reverse("admin:articles_snapshot_changelist")


def change_url(snapshot) -> str:
    return reverse("admin:articles_snapshot_change", args=[snapshot.pk])


# --- submitting admin forms the way a browser does -----------------------------------------------


class _Forms(HTMLParser):
    """Every form of a page with the values a browser would submit unchanged."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._form: list[tuple[str, str]] | None = None
        self._select: dict | None = None
        self._option: dict | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._form = []
        elif self._form is None:
            return
        elif tag == "input" and attrs.get("name"):
            kind = attrs.get("type", "text")
            if kind in {"submit", "button", "image", "file", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in attrs:
                return
            self._form.append((attrs["name"], attrs.get("value", "on" if kind == "checkbox" else "")))
        elif tag == "select" and attrs.get("name"):
            self._select = {"name": attrs["name"], "first": None, "chosen": None}
        elif tag == "option" and self._select is not None:
            value = attrs.get("value")
            self._option = {"value": value, "text": []}
            if self._select["first"] is None:
                self._select["first"] = self._option
            if "selected" in attrs:
                self._select["chosen"] = self._option
        elif tag == "textarea" and attrs.get("name"):
            self._textarea = [attrs["name"], []]

    def handle_data(self, data):
        if self._option is not None:
            self._option["text"].append(data)
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "option":
            self._option = None
        elif tag == "select" and self._select is not None:
            option = self._select["chosen"] or self._select["first"]
            if option is not None:
                value = option["value"] if option["value"] is not None else "".join(option["text"]).strip()
                self._form.append((self._select["name"], value))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            name, parts = self._textarea
            self._form.append((name, "".join(parts).removeprefix("\n")))
            self._textarea = None
        elif tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None


def form_data(response, **changes) -> dict:
    """The fields of the page's form holding `title`, as the browser would post them, with `changes`."""
    parser = _Forms()
    parser.feed(response.content.decode())
    form = next(form for form in parser.forms if any(name == "title" for name, _ in form))
    data: dict = {}
    for name, value in form:
        data.setdefault(name, []).append(value)
    data.update(changes)
    data.setdefault("_save", "保存")
    return data


def changelist_titles(response) -> list[str]:
    return re.findall(r'<th class="field-title"><a href="[^"]*">(.*?)</a></th>', response.content.decode())


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the snapshot admin for a superuser ----------------------------------------------------------


class SnapshotAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.admin = make_superuser()
        cls.finance = make_category("财经")
        cls.tech = make_category("科技")
        cls.people = make_source("人民资讯")
        cls.xinhua = make_source("新华网")
        cls.published = make_snapshot(
            title="公开的快照",
            category=cls.finance,
            source=cls.people,
            published_at=datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI),
            original_url="https://sd.people.com.cn/n2/2023/0914/c1.html",
            body="<p>原始正文</p>",
        )
        cls.hidden = make_snapshot(
            title="隐藏的快照", category=cls.tech, source=cls.xinhua, status=Snapshot.Status.HIDDEN
        )
        cls.withheld = make_snapshot(title="屏蔽的快照", category=cls.finance, status=Snapshot.Status.WITHHELD)
        make_related_link(cls.published, title="相关链接", url="https://www.example.com/1.html")

    def setUp(self):
        self.client.force_login(self.admin)

    def post_action(self, action, snapshots, **extra):
        data = {"action": action, "_selected_action": [s.pk for s in snapshots], "index": 0, **extra}
        return self.client.post(CHANGELIST, data)

    def test_changelist_shows_snapshots_in_every_state(self):
        response = self.client.get(CHANGELIST)
        self.assertEqual(response.status_code, 200)
        self.assertCountEqual(changelist_titles(response), ["公开的快照", "隐藏的快照", "屏蔽的快照"])

    def test_changelist_pages_keep_the_newest_first_order(self):
        more = [
            make_snapshot(title=f"第{n}条", published_at=datetime(2022, 1, 1 + n, tzinfo=SHANGHAI)) for n in range(4)
        ]
        newest_first = [
            s.title
            for s in sorted(
                [self.published, self.hidden, self.withheld, *more], key=lambda s: (s.published_at, s.pk), reverse=True
            )
        ]
        shown = []
        with mock.patch.object(SnapshotAdmin, "list_per_page", 2):
            for page in range(1, 5):
                response = self.client.get(CHANGELIST, {"p": page})
                self.assertEqual(response.status_code, 200)
                shown += changelist_titles(response)
        self.assertEqual(shown, newest_first)

    def test_a_large_list_is_counted_from_the_planners_estimate_on_postgresql_and_exactly_on_sqlite(self):
        with mock.patch.object(LargeTablePaginator, "ESTIMATE_ABOVE", 0), CaptureQueriesContext(connection) as queries:
            response = self.client.get(CHANGELIST)
        self.assertCountEqual(changelist_titles(response), ["公开的快照", "隐藏的快照", "屏蔽的快照"])
        counts = [query["sql"] for query in queries if "COUNT(" in query["sql"].upper()]
        self.assertEqual(len(counts), 0 if connection.vendor == "postgresql" else 1, counts)

    def test_changelist_filters_and_search(self):
        cases = [
            ({"status__exact": "hidden"}, ["隐藏的快照"]),
            ({"status__exact": "withheld"}, ["屏蔽的快照"]),
            ({"category__id__exact": self.tech.pk}, ["隐藏的快照"]),
            ({"source__id__exact": self.xinhua.pk}, ["隐藏的快照"]),
            ({"is_featured__exact": "0", "category__id__exact": self.finance.pk}, ["公开的快照", "屏蔽的快照"]),
            ({"published_at__year": "2023"}, ["公开的快照"]),
            ({"q": "公开"}, ["公开的快照"]),
            ({"q": self.withheld.key}, ["屏蔽的快照"]),
            ({"q": self.withheld.key[:20]}, []),
            ({"q": "刘洋"}, ["隐藏的快照"]),
            ({"q": "0914/c1024"}, ["公开的快照"]),
        ]
        Snapshot.objects.filter(pk=self.hidden.pk).update(byline="（记者 刘洋）")
        Snapshot.objects.filter(pk=self.published.pk).update(
            original_url="https://sd.people.com.cn/n2/2023/0914/c1024.html"
        )
        for query, titles in cases:
            with self.subTest(query=query):
                response = self.client.get(CHANGELIST, query)
                self.assertEqual(response.status_code, 200)
                self.assertCountEqual(changelist_titles(response), titles)

    def test_actions_offered_are_publish_hide_and_move_but_not_delete(self):
        content = self.client.get(CHANGELIST).content.decode()
        select = re.search(r'<select name="action".*?</select>', content, re.S).group(0)
        self.assertEqual(re.findall(r'<option value="(\w+)"', select), ["publish", "hide", "move_to_category"])

    def test_hide_action_hides_the_selected_snapshots_withheld_ones_included(self):
        response = self.post_action("hide", [self.published, self.withheld, self.hidden])
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        statuses = dict(Snapshot.objects.values_list("title", "status"))
        self.assertEqual(statuses, {"公开的快照": "hidden", "隐藏的快照": "hidden", "屏蔽的快照": "hidden"})
        self.assertTrue(Snapshot.objects.get(pk=self.withheld.pk).withheld)  # the decision still stands
        self.assertEqual(
            messages_of(self.client.get(CHANGELIST)),
            [
                "已隐藏 2 个快照。",
                "1 个快照已是该状态。",
                "其中 1 个快照被删除决定屏蔽：在审核流程撤销该决定之前，它仍处于屏蔽状态。",
            ],
        )
        record = Snapshot.objects.get(pk=self.published.pk).history.latest()
        self.assertEqual((record.status, record.history_user), ("hidden", self.admin))

    def test_publish_action_publishes_hidden_snapshots_but_not_withheld_ones(self):
        self.post_action("publish", [self.hidden, self.withheld])
        self.assertEqual(Snapshot.objects.get(pk=self.hidden.pk).status, "published")
        self.assertEqual(Snapshot.objects.get(pk=self.withheld.pk).status, "withheld")
        self.assertIn("已发布 1 个快照。", messages_of(self.client.get(CHANGELIST)))

    def test_move_to_category_first_asks_which_category(self):
        response = self.post_action("move_to_category", [self.published, self.withheld])
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "admin/articles/snapshot/move_to_category.html")
        content = response.content.decode()
        self.assertIn("将 2 个快照移动到:", content)
        self.assertIn('<select name="category"', content)
        self.assertIn('<input type="hidden" name="action" value="move_to_category">', content)
        self.assertCountEqual(
            re.findall(r'name="_selected_action" value="(\d+)"', content),
            [str(self.published.pk), str(self.withheld.pk)],
        )
        self.assertEqual(Category.objects.get(snapshots=self.published), self.finance)

    def test_move_to_category_applies_the_chosen_category(self):
        intermediate = self.post_action("move_to_category", [self.published, self.hidden])
        parser = _Forms()
        parser.feed(intermediate.content.decode())
        (form,) = [f for f in parser.forms if ("apply", "1") in f]
        data: dict = {}
        for name, value in form:
            data.setdefault(name, []).append(value)
        data["category"] = self.tech.pk

        response = self.client.post(CHANGELIST, data)
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        self.assertEqual(Snapshot.objects.get(pk=self.published.pk).category, self.tech)
        messages = messages_of(self.client.get(CHANGELIST))
        self.assertEqual(messages, ["已移动 1 个快照。", "1 个快照已是该状态。"])
        record = Snapshot.objects.get(pk=self.published.pk).history.latest()
        self.assertEqual((record.category_id, record.history_user), (self.tech.pk, self.admin))

    def test_move_to_category_without_a_category_asks_again_and_moves_nothing(self):
        response = self.post_action("move_to_category", [self.published], apply="1")
        self.assertEqual(response.status_code, 200)
        self.assertTrue(response.context["form"].errors)
        self.assertEqual(Snapshot.objects.get(pk=self.published.pk).category, self.finance)

    def test_change_form_offers_published_and_hidden_only(self):
        content = self.client.get(change_url(self.published)).content.decode()
        self.assertNotIn('name="status"', content)
        select = re.search(r'<select name="editor_status".*?</select>', content, re.S).group(0)
        self.assertEqual(re.findall(r'<option value="(\w+)"', select), ["published", "hidden"])

    def test_change_form_of_a_withheld_snapshot_shows_status_read_only(self):
        response = self.client.get(change_url(self.withheld))
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, 'name="status"')
        self.assertContains(response, "已屏蔽")

    def test_posting_withheld_through_the_change_form_is_rejected(self):
        data = form_data(self.client.get(change_url(self.published)), editor_status="withheld")
        response = self.client.post(change_url(self.published), data)
        self.assertEqual(response.status_code, 200)
        self.assertIn("editor_status", response.context["adminform"].form.errors)
        self.assertEqual(Snapshot.objects.get(pk=self.published.pk).status, "published")

    def test_publishing_a_withheld_snapshot_through_the_change_form_leaves_it_withheld(self):
        data = form_data(
            self.client.get(change_url(self.withheld)), editor_status="published", title="屏蔽的快照（改题）"
        )
        response = self.client.post(change_url(self.withheld), data)
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        stored = Snapshot.objects.get(pk=self.withheld.pk)
        self.assertEqual((stored.status, stored.title, stored.withheld), ("withheld", "屏蔽的快照（改题）", True))

    def test_captured_fields_are_read_only(self):
        response = self.client.get(change_url(self.published))
        for name in ["key", "body", "captured_at", "original_url", "source", "published_at"]:
            self.assertNotIn(f'name="{name}"', response.content.decode())
        before = Snapshot.objects.get(pk=self.published.pk)
        data = form_data(
            response,
            title="改过的标题",
            key="0" * 40,
            body="<p>改过的正文</p>",
            captured_at_0="2030-01-01",
            captured_at_1="00:00:00",
            captured_at="2030-01-01 00:00:00",
            original_url="https://evil.example/",
            source=self.xinhua.pk,
        )
        self.assertRedirects(
            self.client.post(change_url(self.published), data), CHANGELIST, fetch_redirect_response=False
        )
        after = Snapshot.objects.get(pk=self.published.pk)
        self.assertEqual(after.title, "改过的标题")
        for name in ["key", "body", "captured_at", "original_url", "source_id", "content_hash"]:
            with self.subTest(field=name):
                self.assertEqual(getattr(after, name), getattr(before, name))

    def test_editing_the_title_is_recorded_and_can_be_reverted_from_history(self):
        original = Snapshot.objects.get(pk=self.published.pk)
        history_before = original.history.count()
        self.client.post(change_url(original), form_data(self.client.get(change_url(original)), title="编辑改的标题"))
        edited = Snapshot.objects.get(pk=original.pk)
        self.assertEqual(edited.title, "编辑改的标题")
        self.assertEqual(edited.history.count(), history_before + 1)
        latest = edited.history.latest()
        self.assertEqual((latest.title, latest.history_user, latest.history_type), ("编辑改的标题", self.admin, "~"))

        old_version = latest.prev_record
        self.assertEqual(old_version.title, "公开的快照")
        revert_url = reverse("admin:articles_snapshot_simple_history", args=[original.pk, old_version.history_id])
        revert_page = self.client.get(revert_url)
        self.assertEqual(revert_page.status_code, 200)
        self.assertContains(revert_page, 'value="公开的快照"')
        response = self.client.post(revert_url, form_data(revert_page))
        self.assertEqual(response.status_code, 302)

        reverted = Snapshot.objects.get(pk=original.pk)
        self.assertEqual(reverted.title, "公开的快照")
        self.assertEqual((reverted.body, reverted.key, reverted.status), (original.body, original.key, "published"))
        self.assertEqual(reverted.history.count(), history_before + 2)

    def test_reverting_a_withheld_snapshot_from_history_reverts_the_title_and_keeps_it_withheld(self):
        version = self.withheld.history.latest()
        Snapshot.objects.filter(pk=self.withheld.pk).update(title="屏蔽后的标题")
        revert_url = reverse("admin:articles_snapshot_simple_history", args=[self.withheld.pk, version.history_id])
        response = self.client.post(revert_url, form_data(self.client.get(revert_url)))
        self.assertEqual(response.status_code, 302)
        stored = Snapshot.objects.get(pk=self.withheld.pk)
        self.assertEqual((stored.title, stored.status, stored.withheld), ("屏蔽的快照", "withheld", True))

    def test_reverting_to_a_version_from_before_a_withholding_does_not_lift_it(self):
        before = self.published.history.latest()
        Snapshot.objects.filter(pk=self.published.pk).update(withheld=True, status=Snapshot.Status.WITHHELD)
        revert_url = reverse("admin:articles_snapshot_simple_history", args=[self.published.pk, before.history_id])
        self.client.post(revert_url, form_data(self.client.get(revert_url)))
        stored = Snapshot.objects.get(pk=self.published.pk)
        self.assertEqual((stored.status, stored.withheld), ("withheld", True))

    def test_snapshots_cannot_be_added_or_deleted_even_by_a_superuser(self):
        self.assertEqual(self.client.get(reverse("admin:articles_snapshot_add")).status_code, 403)
        delete_url = reverse("admin:articles_snapshot_delete", args=[self.published.pk])
        self.assertEqual(self.client.get(delete_url).status_code, 403)
        self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Snapshot.objects.filter(pk=self.published.pk).exists())
        self.assertNotContains(self.client.get(CHANGELIST), reverse("admin:articles_snapshot_add"))

    def test_two_related_links_at_one_position_are_refused_and_nothing_is_saved(self):
        page = self.client.get(change_url(self.published))
        data = form_data(
            page,
            **{
                "related_links-TOTAL_FORMS": ["2"],
                "related_links-1-position": ["1"],
                "related_links-1-excerpt": ["第二条"],
                "related_links-1-snapshot": [str(self.published.pk)],
            },
        )
        data["related_links-0-position"] = ["1"]
        response = self.client.post(change_url(self.published), data)
        self.assertEqual(response.status_code, 200)
        with translation.override(settings.LANGUAGE_CODE):  # the page's language, whatever its catalogue says
            message = gettext("Two related links have position %(position)s; give each link its own position.")
        self.assertContains(response, message % {"position": 1})
        self.assertEqual(self.published.related_links.count(), 1)

    def test_change_form_links_to_the_snapshot_on_the_site(self):
        content_type = ContentType.objects.get_for_model(Snapshot)
        shortcut = reverse("admin:view_on_site", args=[content_type.pk, self.published.pk])
        self.assertContains(self.client.get(change_url(self.published)), f'href="{shortcut}" class="viewsitelink"')
        response = self.client.get(shortcut)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].endswith(f"/detail/{self.published.key}.html"))


# --- editors: the group the migrations create ----------------------------------------------------


EDITOR_PERMISSIONS = {
    "view_snapshot",
    "change_snapshot",
    "view_relatedlink",
    "add_relatedlink",
    "change_relatedlink",
    "delete_relatedlink",
    "view_category",
    "add_category",
    "change_category",
    "view_source",
    "add_source",
    "change_source",
}


class EditorsGroupTests(TestCase):
    def test_editors_group_exists_with_exactly_the_listed_permissions(self):
        migration = importlib.import_module("articles.migrations.0002_editors_group")
        self.assertEqual(set(migration.EDITOR_PERMISSIONS), EDITOR_PERMISSIONS)
        captures = importlib.import_module("capture.migrations.0002_editors_capture")
        group = Group.objects.get(name="Editors")
        self.assertEqual(
            set(group.permissions.values_list("content_type__app_label", "codename")),
            {("articles", codename) for codename in EDITOR_PERMISSIONS}
            | {("capture", codename) for codename in captures.EDITOR_PERMISSIONS},
        )


class EditorAdminTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.editor = make_editor()
        cls.category = make_category("财经")
        cls.snapshot = make_snapshot(title="编辑可改的快照", category=cls.category)

    def setUp(self):
        self.client.force_login(self.editor)

    def test_editor_can_open_the_snapshot_changelist_and_change_form(self):
        response = self.client.get(CHANGELIST)
        self.assertEqual(response.status_code, 200)
        self.assertEqual(changelist_titles(response), ["编辑可改的快照"])
        response = self.client.get(change_url(self.snapshot))
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'name="title"')

    def test_editor_can_edit_a_title(self):
        data = form_data(self.client.get(change_url(self.snapshot)), title="编辑改好的标题")
        response = self.client.post(change_url(self.snapshot), data)
        self.assertRedirects(response, CHANGELIST, fetch_redirect_response=False)
        snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
        self.assertEqual(snapshot.title, "编辑改好的标题")
        self.assertEqual(snapshot.history.latest().history_user, self.editor)

    def test_editor_can_hide_snapshots_with_the_action(self):
        self.client.post(CHANGELIST, {"action": "hide", "_selected_action": [self.snapshot.pk], "index": 0})
        self.assertEqual(Snapshot.objects.get(pk=self.snapshot.pk).status, "hidden")

    def test_editor_cannot_open_users_or_groups(self):
        for url in ["/admin/auth/user/", "/admin/auth/group/"]:
            with self.subTest(url=url):
                self.assertEqual(self.client.get(url).status_code, 403)

    def test_editor_cannot_delete_a_category(self):
        delete_url = reverse("admin:articles_category_delete", args=[self.category.pk])
        self.assertEqual(self.client.get(delete_url).status_code, 403)
        self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Category.objects.filter(pk=self.category.pk).exists())

    def test_editor_cannot_add_or_delete_snapshots(self):
        self.assertEqual(self.client.get(reverse("admin:articles_snapshot_add")).status_code, 403)
        delete_url = reverse("admin:articles_snapshot_delete", args=[self.snapshot.pk])
        self.assertEqual(self.client.post(delete_url, {"post": "yes"}).status_code, 403)
        self.assertTrue(Snapshot.objects.filter(pk=self.snapshot.pk).exists())


class ChangelistQueryCountTests(TestCase):
    """The editors' list costs the same queries whatever the number of snapshots (pinned in
    query_counts.ADMIN)."""

    def test_snapshot_changelist_queries_do_not_grow_with_the_rows(self):
        self.client.force_login(make_superuser())
        category, source = make_category("财经"), make_source("人民资讯")
        counts = []
        for total in (5, 30):
            while Snapshot.objects.count() < total:
                snapshot = make_snapshot(category=category, source=source)
                make_related_link(snapshot=snapshot)
            # As at a million rows: PostgreSQL's count is the planner's estimate, and there are many pages.
            with (
                mock.patch.object(LargeTablePaginator, "ESTIMATE_ABOVE", 0),
                mock.patch.object(SnapshotAdmin, "list_per_page", 2),
                CaptureQueriesContext(connection) as queries,
            ):
                response = self.client.get(CHANGELIST, {"p": 2})
            self.assertEqual(response.status_code, 200)
            self.assertEqual(len(changelist_titles(response)), 2)
            counts.append(len(queries))
        self.assertEqual(counts, [ADMIN["snapshots"]] * 2, "\n".join(q["sql"] for q in queries))
