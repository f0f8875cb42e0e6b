"""Reader pages name what they show for a CDN, and every change to a snapshot reaches the purge
hook through the task queue once it commits (articles/purge.py)."""

from django.db import transaction
from django.test import TestCase, override_settings

from articles import services
from articles.importing import build_capture
from articles.models import Category, Snapshot, key_for_url
from newsarchive.testing import clear_caches, run_tasks

from .helpers import make_category, make_editor, make_related_link, make_snapshot, make_superuser
from .test_importing import ORIGIN, make_record

PURGED: list[list[str]] = []


def recording_purger(keys: list[str]) -> None:
    PURGED.append(keys)


RECORDING = override_settings(ARTICLES_PURGE_HOOK="articles.tests.test_purge.recording_purger")


def purged() -> set[str]:
    run_tasks()
    keys = {key for call in PURGED for key in call}
    PURGED.clear()
    return keys


class SurrogateKeyHeaderTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经", "caijing")
        cls.target = make_snapshot(category=cls.finance)
        cls.snapshot = make_snapshot(category=cls.finance)
        make_related_link(cls.snapshot, target=cls.target)

    def keys(self, path: str) -> set[str]:
        response = self.client.get(path)
        self.assertEqual(response.status_code, 200)
        return set(response["Surrogate-Key"].split())

    def test_each_reader_page_names_what_it_shows_and_lets_a_cdn_keep_it(self):
        finance = f"category-{self.finance.pk}"
        self.assertEqual(
            self.keys(self.snapshot.get_absolute_url()),
            {"archive", f"snapshot-{self.snapshot.key}", finance, f"snapshot-{self.target.key}"},
        )
        self.assertEqual(self.keys(self.finance.get_absolute_url()), {"archive", finance})
        self.assertEqual(self.keys("/feeds/category/caijing.xml"), {"archive", finance})
        for path in ["/", "/search/?q=测试", "/feeds/latest.xml", "/sitemap.xml"]:
            with self.subTest(path=path):
                self.assertEqual(self.keys(path), {"archive", "lists"})
        response = self.client.get("/")
        self.assertEqual(response["Cache-Control"], "public, max-age=0, s-maxage=600")
        self.assertEqual(self.client.get("/").headers["Surrogate-Key"], response["Surrogate-Key"])  # from the cache

    def test_a_link_to_an_address_names_the_snapshot_it_will_lead_to(self):
        later = "https://news.example.cn/2024/0301/later.html"
        make_related_link(self.snapshot, url=later, position=2)
        self.assertIn(f"snapshot-{key_for_url(later)}", self.keys(self.snapshot.get_absolute_url()))

    def test_a_logged_in_readers_page_is_private(self):
        self.client.force_login(make_superuser())
        self.assertIn("private", self.client.get("/")["Cache-Control"])


@RECORDING
class PurgeHookTests(TestCase):
    def setUp(self):
        PURGED.clear()
        self.finance = make_category("财经", "caijing")
        self.sport = make_category("体育", "tiyu")
        self.snapshot = make_snapshot(category=self.finance)
        self.editor = make_editor()

    def test_hiding_a_snapshot_purges_its_page_its_category_and_the_lists(self):
        services.snapshot_set_status(snapshot_ids=[self.snapshot.pk], status=Snapshot.Status.HIDDEN, actor=self.editor)

        self.assertEqual(purged(), {f"snapshot-{self.snapshot.key}", f"category-{self.finance.pk}", "lists"})

    def test_a_move_purges_both_categories(self):
        services.snapshot_move_to_category(snapshot_ids=[self.snapshot.pk], category=self.sport, actor=self.editor)

        self.assertEqual(
            purged(),
            {f"snapshot-{self.snapshot.key}", f"category-{self.finance.pk}", f"category-{self.sport.pk}", "lists"},
        )

    def test_an_import_purges_what_it_added_and_what_it_changed(self):
        record = make_record(title="第一版", category="财经")
        services.snapshots_import(records=[build_capture(ORIGIN, record)])
        added = Snapshot.objects.get(title="第一版")
        self.assertEqual(purged(), {f"snapshot-{added.key}", f"category-{self.finance.pk}", "lists"})

        services.snapshots_import(records=[build_capture(ORIGIN, {**record, "title": "第二版", "category": "体育"})])

        self.assertEqual(
            purged(),
            {f"snapshot-{added.key}", f"category-{self.finance.pk}", f"category-{self.sport.pk}", "lists"},
        )

    def test_an_import_purges_the_pages_whose_links_waited_for_it(self):
        later = "https://news.example.cn/2024/0301/later.html"
        make_related_link(self.snapshot, url=later, title="稍后收录的报道")
        page = self.client.get(self.snapshot.get_absolute_url())
        self.assertIn(f'href="{later}"', page.content.decode())
        named = set(page["Surrogate-Key"].split())
        PURGED.clear()

        services.snapshots_import(records=[build_capture(ORIGIN, make_record(url=later, related=[]))])

        self.assertIn(f"snapshot-{key_for_url(later)}", purged() & named)
        clear_caches()
        page = self.client.get(self.snapshot.get_absolute_url()).content.decode()
        self.assertIn(f'href="/detail/{key_for_url(later)}.html"', page)

    def test_a_change_rolled_back_purges_nothing(self):
        with self.assertRaises(RuntimeError), transaction.atomic():
            services.snapshot_set_status(
                snapshot_ids=[self.snapshot.pk], status=Snapshot.Status.HIDDEN, actor=self.editor
            )
            raise RuntimeError

        self.assertEqual(purged(), set())

    def test_an_editors_save_in_the_admin_purges_the_snapshot(self):
        self.client.force_login(make_superuser())
        url = f"/admin/articles/snapshot/{self.snapshot.pk}/change/"
        form = self.client.get(url).context["adminform"].form
        data = {name: form[name].value() or "" for name in form.fields}
        data.update(
            {
                "title": "编辑改过的标题",
                "category": self.sport.pk,
                "published_at_0": "2024-01-01",
                "published_at_1": "08:00:00",
                "captured_at_0": "2024-01-01",
                "captured_at_1": "09:00:00",
                "related_links-TOTAL_FORMS": "0",
                "related_links-INITIAL_FORMS": "0",
            }
        )

        response = self.client.post(url, data)

        self.assertEqual(response.status_code, 302, getattr(response, "context", None) and response.context["errors"])
        self.assertLessEqual({f"snapshot-{self.snapshot.key}", f"category-{self.finance.pk}"}, purged())

    def test_renaming_a_category_purges_every_page(self):
        self.client.force_login(make_superuser())

        self.client.post(f"/admin/articles/category/{self.finance.pk}/change/", {"name": "金融", "slug": "caijing"})

        self.assertEqual(Category.objects.get(pk=self.finance.pk).name, "金融")
        self.assertEqual(purged(), {"archive"})

    def test_deleting_categories_from_the_list_purges_every_page(self):
        unused = make_category("未用", "weiyong")
        self.client.force_login(make_superuser())

        self.client.post(
            "/admin/articles/category/", {"action": "delete_selected", "_selected_action": [unused.pk], "post": "yes"}
        )

        self.assertFalse(Category.objects.filter(pk=unused.pk).exists())
        self.assertEqual(purged(), {"archive"})

    @override_settings(ARTICLES_PURGE_HOOK="")
    def test_without_a_hook_nothing_is_queued(self):
        services.snapshot_set_status(snapshot_ids=[self.snapshot.pk], status=Snapshot.Status.HIDDEN, actor=self.editor)

        self.assertEqual(run_tasks(), 0)
