"""The Jinja2 engine of the reader pages (newsarchive/jinja2.py) behaves as Django's templates did
where those pages rely on it, and Django's templates share its header and footer."""

import re
from datetime import UTC, datetime
from itertools import product

from django.contrib.auth.models import User
from django.template import Context, Template, engines
from django.test import SimpleTestCase, TestCase
from django.utils import timezone, translation

from articles.models import SHANGHAI
from articles.tests.helpers import make_category, make_snapshot
from newsarchive import fragments
from newsarchive.jinja2 import ENGINE, environment

HEADER = re.compile(r'<a class="skip-link".*?</header>', re.S)
FOOTER = re.compile(r'<footer class="site-footer">.*?</footer>', re.S)


def jinja(source: str, **context) -> str:
    return engines[ENGINE].from_string(source).render(context)


class EnvironmentTests(SimpleTestCase):
    def test_an_undefined_name_or_attribute_is_empty_as_in_django(self):
        self.assertEqual(jinja("[{{ missing }}|{{ missing.pk }}|{{ category.name }}]", category=None), "[||]")

    def test_values_are_escaped_whatever_the_options_say(self):
        env = environment(autoescape=False, loader=None)
        self.assertEqual(env.from_string("{{ v }}").render(v="<b>'&"), "&lt;b&gt;&#39;&amp;")
        self.assertEqual(jinja("{{ v }}|{{ v|safe }}", v="<b>"), "&lt;b&gt;|<b>")

    def test_the_last_newline_of_a_template_is_kept_as_django_keeps_it(self):
        self.assertEqual(jinja("a\n"), "a\n")

    def test_times_are_shown_in_the_current_time_zone_as_the_date_filter_shows_them(self):
        moments = [datetime(2024, 3, 1, 1, 2, 3, tzinfo=UTC), datetime(2023, 12, 31, 23, 59, 59, tzinfo=SHANGHAI)]
        formats = [("Y-m-d\\TH:i:sO", "%Y-%m-%dT%H:%M:%S%z"), ("Y-m-d H:i", "%Y-%m-%d %H:%M")]
        for zone, moment, (django_format, c_format) in product(
            ["Asia/Shanghai", "UTC", "America/New_York"], moments, formats
        ):
            with self.subTest(zone=zone, moment=moment, format=c_format), timezone.override(zone):
                self.assertEqual(
                    jinja(f"{{{{ t|strftime('{c_format}') }}}}", t=moment),
                    Template(f'{{{{ t|date:"{django_format}" }}}}').render(Context({"t": moment})),
                )
        self.assertEqual(jinja("[{{ t|strftime('%Y') }}]", t=None), "[]")

    def test_strings_are_translated_into_the_active_language(self):
        for language, expected in [("en", "Latest snapshots"), ("zh-hans", "最新快照")]:
            with self.subTest(language), translation.override(language):
                self.assertEqual(jinja('{{ _("Latest snapshots") }}'), expected)

    def test_a_translation_with_markup_keeps_it_and_escapes_its_values(self):
        with translation.override("en"):
            html = jinja(
                """{{ _('Looking up snapshots on this site is a non-profit public service. <a href="%(url)s" rel="nofollow">If this infringes your rights, contact us to have it removed</a>.')|safe|format(url=url) }}""",
                url='/takedown/new/?url="x"&y',
            )
        self.assertIn('<a href="/takedown/new/?url=&#34;x&#34;&amp;y" rel="nofollow">', html)

    def test_plural_forms_come_from_the_catalogue(self):
        with translation.override("en"):
            self.assertEqual(jinja("{{ capture_count(1) }}, {{ capture_count(3) }}"), "1 capture, 3 captures")
            self.assertEqual(jinja("{{ reprint_count(2) }}"), "2 reprints")


class FragmentTests(SimpleTestCase):
    def setUp(self):
        fragments.forget()
        self.addCleanup(fragments.forget)
        self.renders = 0

    def count(self):
        self.renders += 1
        return self.renders

    def render(self, key, extra) -> str:
        source = '{% call fragment("part", key, extra) %}<b>{{ count() }}</b>{% endcall %}'
        return jinja(source, key=key, extra=extra, count=self.count)

    def test_a_part_is_rendered_once_per_key_and_not_escaped_again(self):
        self.assertEqual(self.render("a", 1), "<b>1</b>")
        self.assertEqual(self.render("a", 1), "<b>1</b>")
        self.assertEqual(self.render("a", 2), "<b>2</b>")
        self.assertEqual(self.render("b", 1), "<b>3</b>")

    def test_a_false_key_renders_the_part_each_time(self):
        self.assertEqual(self.render(None, 1), "<b>1</b>")
        self.assertEqual(self.render("", 1), "<b>2</b>")

    def test_at_most_limit_parts_are_kept_the_least_recently_used_going_first(self):
        for n in range(fragments.LIMIT + 10):
            self.render("k", n)
        self.assertEqual(len(fragments._kept), fragments.LIMIT)
        self.assertEqual(self.render("k", 0), f"<b>{fragments.LIMIT + 11}</b>")  # gone: rendered again
        self.assertEqual(self.render("k", fragments.LIMIT + 9), f"<b>{fragments.LIMIT + 10}</b>")  # kept


class SharedLayoutTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.category = make_category("财经", "caijing")
        cls.snapshot = make_snapshot(title="报道", category=cls.category)
        cls.reader = User.objects.create_user("reader", "reader@example.com", "a long enough password")

    def parts(self, url: str) -> tuple[str, str]:
        """The header and the footer of the page at `url`, its own address (in "log in" and language
        links) and its CSRF token (different on every page) written as "…"."""
        html = self.client.get(url).content.decode()
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken" value="…"', html)
        html = html.replace(url, "…")
        return HEADER.search(html).group(0), FOOTER.search(html).group(0)

    def test_django_and_jinja2_pages_show_the_same_header_and_footer(self):
        for logged_in in (False, True):
            if logged_in:
                self.client.force_login(self.reader)
            with self.subTest(logged_in=logged_in):
                reader_page = self.parts(self.snapshot.get_absolute_url())  # Jinja2
                django_page = self.parts("/takedown/new/")  # Django's templates
                self.assertEqual(reader_page, django_page)
                self.assertEqual(logged_in, "reader@example.com" in django_page[0])
                # The log-out form posts with a token on either kind of page.
                self.assertEqual(logged_in, 'name="csrfmiddlewaretoken"' in reader_page[0])
                self.assertEqual(logged_in, 'name="csrfmiddlewaretoken"' in django_page[0])

    def test_the_test_client_sees_what_a_jinja2_page_was_rendered_with(self):
        response = self.client.get(self.category.get_absolute_url())
        self.assertTemplateUsed(response, "articles/category_detail.html")
        self.assertEqual(response.context["category"], self.category)
        self.assertEqual([row.title for row in response.context["snapshots"]], ["报道"])
