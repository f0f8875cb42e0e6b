"""Markup the Nu HTML Checker found invalid (the browser tests run it on every page); pinned here so
the quick suite catches a regression too."""

import re

from django.test import TestCase

from articles.tests.helpers import make_category, make_snapshot
from moderation.models import TakedownRequest
from moderation.tests.helpers import make_request


class MarkupTests(TestCase):
    def test_an_invalid_date_typed_into_a_filter_is_named_not_echoed_into_the_date_input(self):
        make_category("财经", "caijing")
        html = self.client.get("/category/caijing/", {"published_after": "2024-13-45"}).content.decode()
        self.assertIn('role="alert"', html)
        self.assertRegex(html, r'<input type="date" name="published_after"(?![^>]*value=)[^>]*>')
        html = self.client.get("/category/caijing/", {"published_after": "20240301"}).content.decode()
        self.assertIn('name="published_after" value="2024-03-01"', html)

    def test_machine_readable_times_have_no_fraction_of_a_second(self):
        snapshot = make_snapshot()
        make_request(snapshot, status=TakedownRequest.Status.APPROVED)
        html = (
            self.client.get("/transparency/").content.decode()
            + self.client.get(snapshot.get_absolute_url()).content.decode()
        )
        stamps = re.findall(r'datetime="([^"]+)"', html)
        self.assertTrue(stamps)
        for stamp in stamps:
            self.assertRegex(stamp, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4}$")
