import hashlib
import json
import re
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from django.core import serializers
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.test import TestCase

from articles.models import SHANGHAI, Category, RelatedLink, Snapshot, Source, snapshot_key

from .helpers import (
    SEED_FIXTURE,
    SEED_KEY,
    load_seed,
    make_category,
    make_related_link,
    make_snapshot,
    make_source,
    status_fields,
)

UNSAFE_BODY = '<p onclick="alert(1)">正文</p><script>alert(1)</script><img src=x onerror=alert(2)>'
SAFE_BODY = "<p>正文</p>"


def sha1(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8"), usedforsecurity=False).hexdigest()


def key_of(url: str) -> str:
    return snapshot_key(
        original_url=url, source="人民资讯", title="标题", published_at=datetime(2024, 1, 1, tzinfo=UTC)
    )


class SnapshotKeyTests(TestCase):
    def test_addresses_differing_only_in_scheme_or_host_case_default_port_or_fragment_share_one_key(self):
        variants = [
            "https://news.example.com/a/Story.html?id=7",
            "HTTPS://News.Example.COM/a/Story.html?id=7",
            "https://news.example.com:443/a/Story.html?id=7",
            "https://news.example.com/a/Story.html?id=7#comments",
            "  HTTPS://NEWS.example.com:443/a/Story.html?id=7#top  ",
        ]
        self.assertEqual({key_of(url) for url in variants}, {sha1("https://news.example.com/a/Story.html?id=7")})

    def test_http_default_port_is_dropped_and_an_empty_path_is_the_root(self):
        self.assertEqual(key_of("HTTP://Example.com:80"), sha1("http://example.com/"))
        self.assertEqual(key_of("http://example.com/"), key_of("http://example.com"))

    def test_path_case_query_and_other_ports_name_different_articles(self):
        base = key_of("https://example.com/news/A.html?id=1")
        for other in [
            "https://example.com/news/a.html?id=1",
            "https://example.com/news/A.html?id=2",
            "https://example.com:8443/news/A.html?id=1",
            "http://example.com/news/A.html?id=1",
        ]:
            with self.subTest(other=other):
                self.assertNotEqual(key_of(other), base)

    def test_snapshot_with_an_original_url_is_keyed_by_its_canonical_url(self):
        snapshot = make_snapshot(original_url="https://SD.people.com.cn:443/n2/2023/0914/c1.html#p2")
        self.assertEqual(snapshot.key, sha1("https://sd.people.com.cn/n2/2023/0914/c1.html"))
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).key, snapshot.key)

    def test_snapshot_without_url_is_keyed_by_source_title_and_publication_time_in_shanghai(self):
        snapshot = make_snapshot(
            source=make_source("人民资讯"),
            title="一个标题",
            published_at=datetime(2023, 9, 14, 3, 24, tzinfo=UTC),
            original_url="",
        )
        self.assertEqual(snapshot.key, sha1("人民资讯\n一个标题\n2023-09-14T11:24:00+08:00"))

    def test_the_same_instant_in_another_time_zone_gives_the_same_key(self):
        in_utc = snapshot_key(
            original_url="", source="来源", title="标题", published_at=datetime(2023, 9, 14, 3, 24, tzinfo=UTC)
        )
        in_shanghai = snapshot_key(
            original_url="", source="来源", title="标题", published_at=datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)
        )
        self.assertEqual(in_utc, in_shanghai)

    def test_seed_snapshot_key_is_derived_from_its_source_title_and_publication_time(self):
        seed = load_seed()
        self.assertEqual(seed.key, sha1("人民资讯\n鲁西新区以环境之“优”谋发展之“势”\n2023-09-14T11:24:00+08:00"))
        self.assertEqual(seed.compute_key(), SEED_KEY)

    def test_key_is_forty_lower_case_hex_digits(self):
        snapshot = make_snapshot(original_url="https://example.com/ABC")
        self.assertRegex(snapshot.key, r"^[0-9a-f]{40}$")


class ContentHashTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(
            title="原标题",
            reprinted_from="人民网-山东频道",
            byline="孙安琪 王燕",
            body="<p>第一段</p>\n<p>第二段</p>",
            original_url="https://example.com/news/1.html",
        )

    def test_content_hash_is_stored_on_creation_and_describes_the_capture(self):
        self.assertRegex(self.snapshot.content_hash, r"^[0-9a-f]{64}$")
        self.assertEqual(self.snapshot.content_hash, Snapshot.objects.get(pk=self.snapshot.pk).compute_content_hash())

    def test_content_hash_changes_when_any_captured_field_changes(self):
        other_category = make_category("科技")
        other_source = make_source("新华网")
        changes = {
            "title": "新标题",
            "category": other_category,
            "source": other_source,
            "reprinted_from": "新华网",
            "byline": "另一位记者",
            "body": "<p>第一段</p>\n<p>第二段改了</p>",
            "published_at": datetime(2024, 1, 2, 8, 0, tzinfo=SHANGHAI),
            "captured_at": datetime(2024, 1, 2, 9, 0, tzinfo=SHANGHAI),
            "collected_by": "another.crawler",
            "original_url": "https://example.com/news/2.html",
        }
        for name, value in changes.items():
            with self.subTest(field=name):
                snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
                setattr(snapshot, name, value)
                self.assertNotEqual(snapshot.compute_content_hash(), self.snapshot.content_hash)

    def test_content_hash_changes_when_the_related_links_change(self):
        snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
        make_related_link(snapshot, excerpt="相关摘要")
        with_link = snapshot.compute_content_hash()
        self.assertNotEqual(with_link, self.snapshot.content_hash)
        RelatedLink.objects.filter(snapshot=snapshot).update(excerpt="另一段摘要")
        self.assertNotEqual(snapshot.compute_content_hash(), with_link)

    def test_content_hash_ignores_editorial_state(self):
        snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
        snapshot.status = Snapshot.Status.HIDDEN
        snapshot.is_featured = True
        self.assertEqual(snapshot.compute_content_hash(), self.snapshot.content_hash)

    def test_content_hash_does_not_depend_on_the_time_zone_the_times_are_given_in(self):
        snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
        snapshot.published_at = snapshot.published_at.astimezone(UTC)
        snapshot.captured_at = snapshot.captured_at.astimezone(UTC)
        self.assertEqual(snapshot.compute_content_hash(), self.snapshot.content_hash)

    def test_an_editors_later_change_keeps_the_hash_of_the_capture(self):
        snapshot = Snapshot.objects.get(pk=self.snapshot.pk)
        snapshot.title = "编辑改过的标题"
        snapshot.save()
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).content_hash, self.snapshot.content_hash)

    def test_seed_fixture_hash_matches_its_capture_including_related_links(self):
        seed = load_seed()
        self.assertEqual(seed.related_links.count(), 9)
        self.assertEqual(seed.content_hash, seed.compute_content_hash())

    def test_content_hash_of_a_new_snapshot_describes_its_stored_sanitized_body(self):
        snapshot = make_snapshot(body=UNSAFE_BODY)
        stored = Snapshot.objects.get(pk=snapshot.pk)
        self.assertEqual(stored.body, SAFE_BODY)
        self.assertEqual(stored.content_hash, stored.compute_content_hash())


class DatabaseConstraintTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    def test_database_refuses_a_status_outside_the_three_states(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            Snapshot.objects.filter(pk=self.snapshot.pk).update(status="bogus")
        self.assertEqual(Snapshot.objects.get(pk=self.snapshot.pk).status, Snapshot.Status.PUBLISHED)

    def test_database_refuses_a_second_snapshot_with_the_same_key(self):
        with self.assertRaises(IntegrityError), transaction.atomic():
            make_snapshot(key=self.snapshot.key, title="另一篇")

    def test_database_refuses_a_key_that_is_not_forty_characters(self):
        for bad_key in ["", "abc", "a" * 39]:
            with self.subTest(key=bad_key), self.assertRaises(IntegrityError), transaction.atomic():
                Snapshot.objects.filter(pk=self.snapshot.pk).update(key=bad_key)


class PublishedTests(TestCase):
    def test_published_leaves_out_hidden_and_withheld_snapshots(self):
        published = make_snapshot(title="公开")
        make_snapshot(title="隐藏", status=Snapshot.Status.HIDDEN)
        make_snapshot(title="屏蔽", status=Snapshot.Status.WITHHELD)
        self.assertQuerySetEqual(Snapshot.objects.published(), [published])


class RelatedLinkVisibilityTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()
        cls.to_published = make_related_link(cls.snapshot, target=make_snapshot(title="公开的目标"))
        make_related_link(cls.snapshot, target=make_snapshot(status=Snapshot.Status.HIDDEN))
        make_related_link(cls.snapshot, target=make_snapshot(status=Snapshot.Status.WITHHELD))
        cls.external = make_related_link(cls.snapshot, url="https://www.example.com/other.html")
        cls.plain = make_related_link(cls.snapshot, excerpt="只有摘要")

    def test_visible_drops_links_to_hidden_or_withheld_snapshots_and_keeps_the_rest(self):
        self.assertQuerySetEqual(
            RelatedLink.objects.visible().filter(snapshot=self.snapshot).order_by("position"),
            [self.to_published, self.external, self.plain],
        )

    def test_a_link_comes_back_when_its_target_is_published_again(self):
        hidden_target_link = RelatedLink.objects.get(snapshot=self.snapshot, position=2)
        Snapshot.objects.filter(pk=hidden_target_link.target_id).update(**status_fields(Snapshot.Status.PUBLISHED))
        self.assertIn(hidden_target_link, RelatedLink.objects.visible())


class NaturalKeyTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经")
        cls.source = make_source("人民资讯")
        cls.snapshot = make_snapshot(category=cls.category, source=cls.source, title="自然键")
        cls.link = make_related_link(cls.snapshot, position=3, excerpt="摘要")

    def test_rows_are_found_by_their_natural_keys(self):
        self.assertEqual(Category.objects.get_by_natural_key("财经"), self.category)
        self.assertEqual(Source.objects.get_by_natural_key("人民资讯"), self.source)
        self.assertEqual(Snapshot.objects.get_by_natural_key(self.snapshot.key), self.snapshot)
        self.assertEqual(RelatedLink.objects.get_by_natural_key(self.snapshot.key, 3), self.link)
        self.assertEqual(self.link.natural_key(), (self.snapshot.key, 3))

    def test_serialized_rows_refer_to_each_other_by_natural_key_and_load_back(self):
        dumped = serializers.serialize(
            "json",
            [self.category, self.source, self.snapshot, self.link],
            use_natural_foreign_keys=True,
            use_natural_primary_keys=True,
        )
        rows = json.loads(dumped)
        self.assertEqual(rows[2]["fields"]["category"], ["财经"])
        self.assertEqual(rows[3]["fields"]["snapshot"], [self.snapshot.key])
        self.assertTrue(all("pk" not in row for row in rows))

        RelatedLink.objects.all().delete()
        Snapshot.objects.all().delete()
        for obj in serializers.deserialize("json", dumped):
            obj.save()
        link = RelatedLink.objects.get()
        self.assertEqual((link.snapshot.key, link.position, link.excerpt), (self.snapshot.key, 3, "摘要"))
        self.assertEqual(link.snapshot.category, self.category)

    def test_seed_fixture_loads_by_natural_keys(self):
        seed = load_seed()
        self.assertEqual(seed.category.slug, "财经")
        self.assertEqual(list(seed.related_links.values_list("position", flat=True)), list(range(1, 10)))

    def test_demo_fixture_loads_by_name(self):
        call_command("loaddata", "seed", verbosity=0)
        self.assertTrue(Snapshot.objects.filter(key=SEED_KEY).exists())


class SanitizedBodyTests(TestCase):
    def test_body_is_sanitized_when_a_snapshot_is_saved(self):
        snapshot = make_snapshot(body=UNSAFE_BODY)
        self.assertEqual(snapshot.body, SAFE_BODY)
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).body, SAFE_BODY)

    def test_body_is_sanitized_when_an_editor_saves_again(self):
        snapshot = make_snapshot()
        snapshot.body = UNSAFE_BODY
        snapshot.save()
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).body, SAFE_BODY)

    def test_body_is_sanitized_by_bulk_create(self):
        category, source = make_category(), make_source()
        Snapshot.objects.bulk_create(
            [
                Snapshot(
                    key=sha1(f"bulk {n}"),
                    title=f"批量 {n}",
                    category=category,
                    source=source,
                    body=UNSAFE_BODY,
                    published_at=datetime(2024, 5, 1, tzinfo=SHANGHAI),
                    captured_at=datetime(2024, 5, 2, tzinfo=SHANGHAI),
                    collected_by="test.crawler",
                    content_hash="0" * 64,
                )
                for n in range(3)
            ]
        )
        self.assertEqual(
            list(Snapshot.objects.filter(title__startswith="批量").values_list("body", flat=True)), [SAFE_BODY] * 3
        )

    def test_body_is_sanitized_by_bulk_update(self):
        snapshot = make_snapshot()
        snapshot.body = UNSAFE_BODY
        Snapshot.objects.bulk_update([snapshot], ["body"])
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).body, SAFE_BODY)

    def test_body_is_sanitized_by_queryset_update(self):
        snapshot = make_snapshot()
        Snapshot.objects.filter(pk=snapshot.pk).update(body=UNSAFE_BODY)
        self.assertEqual(Snapshot.objects.get(pk=snapshot.pk).body, SAFE_BODY)

    def test_body_is_sanitized_when_loaded_from_a_fixture(self):
        rows = json.loads(SEED_FIXTURE.read_text(encoding="utf-8"))
        for row in rows:
            if row["model"] == "articles.snapshot":
                row["fields"]["body"] = UNSAFE_BODY
        fixture = self._tmp_fixture(rows)
        call_command("loaddata", str(fixture), verbosity=0)
        self.assertEqual(Snapshot.objects.get(key=SEED_KEY).body, SAFE_BODY)

    def _tmp_fixture(self, rows):
        directory = tempfile.TemporaryDirectory()
        self.addCleanup(directory.cleanup)
        path = Path(directory.name) / "unsafe.json"
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        return path


class CategoryTests(TestCase):
    def test_category_slug_is_made_from_a_chinese_name(self):
        category = make_category("国际新闻")
        self.assertEqual(category.slug, "国际新闻")
        self.assertEqual(category.get_absolute_url(), "/category/%E5%9B%BD%E9%99%85%E6%96%B0%E9%97%BB/")

    def test_snapshot_page_address_is_its_key(self):
        snapshot = make_snapshot()
        self.assertTrue(re.fullmatch(rf"/detail/{snapshot.key}\.html", snapshot.get_absolute_url()))
