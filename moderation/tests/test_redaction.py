"""What moderation.redaction takes out of a text before it is published, and what it leaves."""

from django.test import SimpleTestCase
from django.utils import translation

from moderation.redaction import redact


class RedactTests(SimpleTestCase):
    def setUp(self):
        translation.activate("en")
        self.addCleanup(translation.deactivate)

    def assertRedacted(self, text, marker, names=()):
        result = redact(text, names=names)
        self.assertIn(marker, result, result)
        return result

    def test_email_addresses(self):
        for email in ["zhang.san@example.com", "a+b@sub.example.org.cn", "X_Y-1@example.co.uk"]:
            with self.subTest(email=email):
                self.assertEqual(redact(f"联系 {email} 。"), "联系 [email] 。")

    def test_prc_mobile_numbers_in_every_usual_form(self):
        for phone in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            "0086 13812345678",
        ]:
            with self.subTest(phone=phone):
                self.assertEqual(redact(f"电话{phone}。"), "电话[phone]。")

    def test_prc_landlines_with_their_area_code_and_extension(self):
        for phone in [
            "010-12345678",
            "(010) 1234 5678",
            "0755-8899 4421",
            "021 6000 0000",
            "+86 10 1234 5678",
            "0571-88888888 转 123",
        ]:
            with self.subTest(phone=phone):
                self.assertEqual(redact(f"座机 {phone}"), "座机 [phone]")

    def test_international_numbers(self):
        for phone in ["+1 (212) 555-0100", "+44 20 7946 0958", "+49 30 901820", "+852 2123 4567"]:
            with self.subTest(phone=phone):
                self.assertEqual(redact(f"call {phone} now"), "call [phone] now")

    def test_resident_id_numbers_of_both_generations(self):
        for number in ["110105199003071234", "11010519900307123X", "11010519900307123x", "110105900307123"]:
            with self.subTest(number=number):
                self.assertEqual(redact(f"身份证{number}号"), "身份证[ID number]号")

    def test_the_names_given_in_any_case_longest_first(self):
        self.assertEqual(
            redact("张三丰与张三；Zhang San / ZHANG SAN", names=["张三", "张三丰", "Zhang San"]),
            "[name]与[name]；[name] / [name]",
        )

    def test_what_is_not_personal_data_is_kept(self):
        text = "首发于 2023-09-14，案号 (2026)京0491民初1号，第 12345 号，共 3 篇，版本 1.2.3，价格 9999 元"
        self.assertEqual(redact(text, names=["王"]), text)  # a one-character "name" would eat the text

    def test_the_markers_are_in_the_active_language(self):
        with translation.override("zh-hans"):
            self.assertNotIn("[email]", redact("x@example.org"))
