"""Reader pages' faster paths give exactly what Django's own give: the `strftime` filter and the
`date` filter, `snapshot_address` and `reverse` (docs/performance.md, "A crawler's walk")."""

from datetime import UTC, date, datetime
from itertools import product

from django.template import Context, Template
from django.test import SimpleTestCase, override_settings
from django.urls import NoReverseMatch, include, path, reverse, set_script_prefix
from django.utils import timezone

from articles.models import SHANGHAI, snapshot_address

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
