"""Reader pages' faster paths give exactly what Django's own give: the `strftime` filter and the
`date` filter, `snapshot_address` and `reverse`, a category page's prepared query and the filtered
QuerySet it stands for (docs/performance.md, "A crawler's walk")."""

from datetime import UTC, date, datetime, timedelta
from itertools import product

from django.template import Context, Template
from django.test import SimpleTestCase, TestCase, override_settings
from django.urls import NoReverseMatch, include, path, reverse, set_script_prefix
from django.utils import timezone

from articles.filters import SnapshotFilter
from articles.models import SHANGHAI, Snapshot, snapshot_address
from articles.pagination import Cursor, keyset_page
from articles.views import ListedSnapshot, category_page, category_snapshots

from .helpers import make_category, make_snapshot, make_source

urlpatterns = [path("archive/", include("articles.urls"))]

FORMATS = [
    ("Y-m-d\\TH:i:sO", "%Y-%m-%dT%H:%M:%S%z"),
    ("Y-m-d H:i:s", "%Y-%m-%d %H:%M:%S"),
    ("Y-m-d H:i", "%Y-%m-%d %H:%M"),
    ("Y-m-d", "%Y-%m-%d"),
]


class StrftimeFilterTests(SimpleTestCase):
    def render(self, template: str, value) -> str:
        return Template("{% load archive_dates %}" + template).render(Context({"value": value}))

    def test_it_writes_what_the_date_filter_writes_in_the_current_time_zone(self):
        moments = [
            datetime(2024, 3, 1, 1, 2, 3, tzinfo=UTC),
            datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=SHANGHAI),
            # A year before 1000, padded as `Y` pads it; Shanghai's offset then was +08:05:43, of
            # which `O` writes hours and minutes.
            datetime(999, 6, 1, 12, 0, tzinfo=UTC),
            datetime(2024, 7, 1, 12, 0, tzinfo=UTC),
        ]
        for zone, moment, (django_format, c_format) in product(
            ["Asia/Shanghai", "UTC", "America/New_York"], moments, FORMATS
        ):
            with self.subTest(zone=zone, moment=moment, format=django_format), timezone.override(zone):
                self.assertEqual(
                    self.render(f'{{{{ value|strftime:"{c_format}" }}}}', moment),
                    self.render(f'{{{{ value|date:"{django_format}" }}}}', moment),
                )

    def test_no_value_is_written_as_nothing_as_by_date(self):
        for value in (None, ""):
            self.assertEqual(self.render('{{ value|strftime:"%Y-%m-%d" }}', value), "")
        self.assertEqual(self.render('{{ value|strftime:"%Y-%m-%d" }}', date(2024, 5, 1)), "2024-05-01")


class SnapshotAddressTests(SimpleTestCase):
    def test_it_is_the_reversed_address_of_any_key(self):
        for key in ["0123456789abcdef" * 2 + "01234567", "ABCDEF0123456789" * 2 + "ABCDEF01"]:
            self.assertEqual(snapshot_address(key), reverse("articles:detail", kwargs={"key": key}))

    def test_it_follows_the_script_prefix(self):
        key = "a" * 40
        self.addCleanup(set_script_prefix, "/")
        set_script_prefix("/archive/")
        self.assertEqual(snapshot_address(key), f"/archive/detail/{key}.html")
        self.assertEqual(snapshot_address(key), reverse("articles:detail", kwargs={"key": key}))

    def test_a_key_the_address_does_not_take_is_refused_as_reverse_refuses_it(self):
        for key in ["a" * 39, "g" * 40, "a" * 40 + "/x"]:
            with self.assertRaises(NoReverseMatch):
                snapshot_address(key)

    def test_it_follows_the_urlconf(self):
        key = "b" * 40
        self.assertEqual(snapshot_address(key), f"/detail/{key}.html")
        with override_settings(ROOT_URLCONF=__name__):  # the patterns below
            self.assertEqual(snapshot_address(key), f"/archive/detail/{key}.html")


class CategoryPageTests(TestCase):
    """`category_page` (one prepared query per filter shape) reads the rows of the QuerySet the
    category's filters make, from the top and from every cursor."""

    @classmethod
    def setUpTestData(cls):
        cls.category, other = make_category("财经", "caijing"), make_category("体育", "tiyu")
        cls.sources = [make_source("人民资讯"), make_source("新华网")]
        start = datetime(2024, 4, 30, 22, 0, tzinfo=SHANGHAI)
        statuses = [Snapshot.Status.PUBLISHED] * 4 + [Snapshot.Status.HIDDEN, Snapshot.Status.WITHHELD]
        for n in range(60):
            make_snapshot(
                title=f"报道 {n}",
                category=cls.category if n % 7 else other,
                source=cls.sources[n % 2],
                status=statuses[n % 6],
                # Three snapshots an hour, two at the same instant (ties broken by id).
                published_at=start + timedelta(minutes=20 * (n // 3) + (n % 3 == 2) * 20),
            )

    def test_the_prepared_page_knows_every_filter_of_a_category_page(self):
        # A filter added to SnapshotFilter but not to SnapshotFilter.bounds and _category_page would
        # be ignored by the prepared page: the rows would not be filtered. Teach both, then here.
        self.assertEqual(set(SnapshotFilter.base_filters), {"published_after", "published_before", "source", "stories"})
        data = {"published_after": "2024-05-01", "published_before": "2024-05-01", "source": self.sources[0].pk}
        filterset = SnapshotFilter(data, queryset=Snapshot.objects.all())
        self.assertTrue(filterset.is_valid())
        self.assertEqual(
            filterset.bounds(),
            {
                "since": datetime(2024, 5, 1, tzinfo=SHANGHAI),
                "until": datetime(2024, 5, 2, tzinfo=SHANGHAI),
                "source_id": self.sources[0].pk,
            },
        )

    def test_every_filter_shape_and_cursor_gives_the_querysets_rows(self):
        shapes = [
            {},
            {"source_id": self.sources[1].pk},
            {"since": datetime(2024, 5, 1, tzinfo=SHANGHAI)},
            {"until": datetime(2024, 5, 2, tzinfo=SHANGHAI)},
            {"since": datetime(2024, 5, 1, tzinfo=SHANGHAI), "until": datetime(2024, 5, 1, 6, tzinfo=SHANGHAI)},
        ]
        rows_checked = 0
        for bounds in shapes:
            queryset = category_snapshots(category_id=self.category.pk)
            if "since" in bounds:
                queryset = queryset.filter(published_at__gte=bounds["since"])
            if "until" in bounds:
                queryset = queryset.filter(published_at__lt=bounds["until"])
            if "source_id" in bounds:
                queryset = queryset.filter(source_id=bounds["source_id"])
            expected_all = list(queryset)
            cursors = [None] + [Cursor.of(row) for row in expected_all] + [Cursor(datetime(2030, 1, 1, tzinfo=UTC), 1)]
            for before in cursors:
                with self.subTest(bounds=bounds, before=str(before)):
                    values = {"category_id": self.category.pk, **bounds}
                    if before is not None:
                        values |= {"published_at": before.published_at, "pk": before.pk}
                    with self.assertNumQueries(1):
                        rows = category_page(3, **values)
                    expected = list(keyset_page(queryset, size=3, before=before).object_list)
                    listed = [ListedSnapshot(row, self.category) for row in rows[:3]]
                    self.assertEqual(
                        [
                            (row.pk, row.key, row.title, row.published_at, row.source.pk, row.source.name)
                            for row in listed
                        ],
                        [
                            (row.pk, row.key, row.title, row.published_at, row.source.pk, row.source.name)
                            for row in expected
                        ],
                    )
                    self.assertEqual(
                        [row.get_absolute_url() for row in listed], [row.get_absolute_url() for row in expected]
                    )
                    rows_checked += len(expected)
        self.assertGreater(rows_checked, 100)
