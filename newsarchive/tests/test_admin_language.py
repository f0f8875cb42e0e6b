import re

from django.test import TestCase

from articles.tests.helpers import make_superuser


class AdminLanguageTests(TestCase):
    def test_the_chinese_admin_names_every_app_in_chinese(self):
        self.client.force_login(make_superuser())

        page = self.client.get("/admin/", headers={"accept-language": "zh-hans"})

        names = [str(app["name"]) for app in page.context["app_list"]]
        self.assertGreaterEqual(len(names), 8)
        self.assertEqual([name for name in names if re.search("[A-Za-z]", name)], [])
