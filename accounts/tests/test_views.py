from django.contrib.auth import get_user_model
from django.core import mail
from django.test import TestCase, override_settings
from django.urls import reverse

from accounts import services
from accounts.models import Reader
from newsarchive.testing import clear_caches, sending_mail

from .helpers import PASSWORD, link_in, make_reader

User = get_user_model()

SIGNUP = reverse("accounts:signup")
LOGIN = reverse("accounts:login")
LOGOUT = reverse("accounts:logout")
RESET = reverse("accounts:password_reset")
RESEND = reverse("accounts:resend_confirmation")
SUBSCRIPTIONS = reverse("subscriptions:index")


def signup_data(email="new@example.org", password=PASSWORD, **extra):
    return {"email": email, "password1": password, "password2": password, **extra}


# Hashing at full strength only slows the tests down.
FAST_HASHING = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])


@FAST_HASHING
class _AccountTestCase(TestCase):
    def setUp(self):
        clear_caches()  # rate-limit counters

    def post(self, *args, **kwargs):
        """A POST whose mail, queued for the commit, is sent."""
        with sending_mail():
            return self.client.post(*args, **kwargs)

    def login(self, email, password=PASSWORD, **extra):
        return self.post(LOGIN, {"email": email, "password": password, **extra})

    def assertLoggedInAs(self, user):
        self.assertEqual(self.client.session.get("_auth_user_id"), str(user.pk))

    def assertLoggedOut(self):
        self.assertNotIn("_auth_user_id", self.client.session)


class SignupTests(_AccountTestCase):
    def test_sign_up_sends_a_confirmation_link_and_the_account_waits_for_it(self):
        response = self.post(SIGNUP, signup_data("New.Reader@Example.org"))

        self.assertRedirects(response, reverse("accounts:signup_done"))
        self.assertContains(self.client.get(response.url), "New.Reader@Example.org")
        user = User.objects.get(username="new.reader@example.org")
        self.assertEqual(user.email, "New.Reader@Example.org")
        self.assertFalse(user.is_active)
        self.assertIsNone(user.reader.confirmed_at)
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["New.Reader@Example.org"])
        link_in(mail.outbox[0], "/accounts/confirm/")

    def test_an_unconfirmed_account_cannot_log_in_and_is_told_to_confirm(self):
        self.post(SIGNUP, signup_data())

        response = self.login("new@example.org")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "new@example.org")
        self.assertEqual(response.context["form"].errors["__all__"][0].count("new@example.org"), 1)
        self.assertEqual(response.context["form"].non_field_errors().as_data()[0].code, "unconfirmed")
        self.assertContains(response, RESEND)
        self.assertLoggedOut()

    def test_a_wrong_password_on_an_unconfirmed_account_says_nothing_about_it(self):
        self.post(SIGNUP, signup_data())

        response = self.login("new@example.org", "not the password")

        self.assertEqual(response.context["form"].non_field_errors().as_data()[0].code, "invalid_login")
        self.assertNotContains(response, RESEND)

    def test_opening_the_confirmation_link_changes_nothing_until_the_button_is_pressed(self):
        self.post(SIGNUP, signup_data())
        link = link_in(mail.outbox[0], "/accounts/confirm/")

        page = self.client.get(link)

        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "new@example.org")
        self.assertEqual(page["Referrer-Policy"], "same-origin")
        self.assertFalse(User.objects.get(username="new@example.org").is_active)

        response = self.post(link)

        user = User.objects.get(username="new@example.org")
        self.assertTrue(user.is_active)
        self.assertIsNotNone(user.reader.confirmed_at)
        self.assertRedirects(response, SUBSCRIPTIONS)
        self.assertLoggedInAs(user)

    def test_a_confirmation_link_works_once(self):
        self.post(SIGNUP, signup_data())
        link = link_in(mail.outbox[0], "/accounts/confirm/")
        self.post(link)
        self.post(LOGOUT)

        again = self.post(link)

        self.assertEqual(again.status_code, 200)
        self.assertFalse(again.context["valid"])
        self.assertLoggedOut()

    def test_a_forged_or_garbled_confirmation_link_is_refused_without_error(self):
        user = make_reader("someone@example.org", confirmed=False)
        for path in [
            f"/accounts/confirm/{user.pk}/abc-def/",
            "/accounts/confirm/!!!/abc/",
            "/accounts/confirm/MTIzNDU2Nzg5/1-2/",
        ]:
            with self.subTest(path=path):
                response = self.post(path)
                self.assertEqual(response.status_code, 200)
                self.assertFalse(response.context["valid"])
        self.assertFalse(User.objects.get(pk=user.pk).is_active)

    def test_confirming_goes_on_to_the_page_the_reader_came_from(self):
        self.post(SIGNUP + "?next=/category/caijing/", signup_data(next="/category/caijing/"))
        link = link_in(mail.outbox[0], "/accounts/confirm/")
        self.assertIn("next=%2Fcategory%2Fcaijing%2F", link)

        response = self.post(link)

        self.assertEqual(response.url, "/category/caijing/")

    def test_a_next_address_on_another_site_is_ignored(self):
        self.post(SIGNUP, signup_data(next="https://evil.example/phish"))
        link = link_in(mail.outbox[0], "/accounts/confirm/")
        self.assertNotIn("evil", link)

        response = self.post(link + "?next=https://evil.example/phish")

        self.assertRedirects(response, SUBSCRIPTIONS)

    def test_email_is_the_login_and_unique_whatever_its_case(self):
        make_reader("Taken@Example.org")

        response = self.post(SIGNUP, signup_data("taken@EXAMPLE.ORG"))

        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.context["form"].errors.as_data()["email"][0].code, "exists")
        self.assertEqual(User.objects.filter(username="taken@example.org").count(), 1)
        self.assertEqual(mail.outbox, [])
        self.assertEqual(response.context["form"]["email"].value(), "taken@EXAMPLE.ORG")

    def test_signing_up_again_before_confirming_sets_the_new_password_and_replaces_the_link(self):
        self.post(SIGNUP, signup_data(password=PASSWORD))
        first_link = link_in(mail.outbox[0], "/accounts/confirm/")
        self.post(SIGNUP, signup_data(password="another fine passphrase 8"))
        second_link = link_in(mail.outbox[1], "/accounts/confirm/")

        self.assertFalse(self.post(first_link).context["valid"])
        self.post(second_link)
        self.post(LOGOUT)

        self.assertEqual(self.login("new@example.org", PASSWORD).status_code, 200)
        self.assertEqual(self.login("new@example.org", "another fine passphrase 8").status_code, 302)
        self.assertEqual(User.objects.filter(username="new@example.org").count(), 1)

    def test_bad_sign_up_input_is_named_and_the_email_kept(self):
        cases = {
            "mismatch": (signup_data(password2="something else entirely"), "password2"),
            "short": (signup_data(password="short"), "password2"),
            "similar to email": (signup_data("wanglei2024@example.org", password="wanglei2024@example"), "password2"),
            "not an email": (signup_data("not-an-email"), "email"),
            "too long": (signup_data("a" * 140 + "@example.org"), "email"),
        }
        for name, (data, field) in cases.items():
            with self.subTest(name):
                response = self.post(SIGNUP, data)
                self.assertEqual(response.status_code, 200)
                self.assertIn(field, response.context["form"].errors)
                self.assertContains(response, 'class="error-summary"')
                self.assertEqual(response.context["form"]["email"].value(), data["email"])
        self.assertEqual(mail.outbox, [])
        self.assertFalse(User.objects.exists())

    def test_a_confirmed_account_deactivated_by_staff_cannot_confirm_again_or_log_in(self):
        self.post(SIGNUP, signup_data())
        link = link_in(mail.outbox[0], "/accounts/confirm/")
        self.post(link)
        self.post(LOGOUT)
        User.objects.filter(username="new@example.org").update(is_active=False)

        self.assertFalse(self.post(link).context["valid"])
        response = self.login("new@example.org")
        self.assertEqual(response.context["form"].non_field_errors().as_data()[0].code, "inactive")
        self.assertLoggedOut()

    def test_a_new_confirmation_link_can_be_asked_for_without_telling_who_has_an_account(self):
        make_reader("waiting@example.org", confirmed=False)

        for email in ["waiting@example.org", "nobody@example.org"]:
            response = self.post(RESEND, {"email": email})
            self.assertRedirects(response, reverse("accounts:signup_done"))
        self.assertEqual([m.to for m in mail.outbox], [["waiting@example.org"]])
        self.post(link_in(mail.outbox[0], "/accounts/confirm/"))
        self.assertTrue(User.objects.get(username="waiting@example.org").is_active)

    @override_settings(ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT=2)
    def test_mail_to_one_address_is_rate_limited_and_the_form_keeps_what_was_typed(self):
        make_reader("waiting@example.org", confirmed=False)
        for _ in range(2):
            self.post(RESEND, {"email": "waiting@example.org"}, REMOTE_ADDR="192.0.2.1")

        response = self.post(RESEND, {"email": "Waiting@example.org"}, REMOTE_ADDR="192.0.2.2")

        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Waiting@example.org", status_code=429)
        self.assertEqual(response.context["form"].non_field_errors().as_data()[0].code, "rate_limited")
        self.assertEqual(len(mail.outbox), 2)

    @override_settings(ACCOUNTS_MAIL_RATE_LIMIT=2)
    def test_mail_from_one_client_address_is_rate_limited(self):
        for n in range(2):
            self.assertEqual(self.post(SIGNUP, signup_data(f"r{n}@example.org")).status_code, 302)

        response = self.post(SIGNUP, signup_data("r9@example.org"))

        self.assertEqual(response.status_code, 429)
        self.assertFalse(User.objects.filter(username="r9@example.org").exists())
        self.assertEqual(len(mail.outbox), 2)
        other_client = self.post(SIGNUP, signup_data("r9@example.org"), REMOTE_ADDR="192.0.2.77")
        self.assertEqual(other_client.status_code, 302)


class LoginLogoutTests(_AccountTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("Reader@Example.org")

    def test_a_reader_logs_in_with_their_email_in_any_case(self):
        response = self.login("reader@EXAMPLE.org")

        self.assertRedirects(response, SUBSCRIPTIONS)
        self.assertLoggedInAs(self.reader)

    def test_a_wrong_password_is_refused_with_a_message(self):
        response = self.login("reader@example.org", "wrong")

        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'class="error-summary"')
        self.assertEqual(response.context["form"]["email"].value(), "reader@example.org")
        self.assertLoggedOut()

    def test_log_in_goes_back_to_next_but_never_to_another_site(self):
        self.assertEqual(
            self.login("reader@example.org", next="/category/caijing/?page=2").url, "/category/caijing/?page=2"
        )
        self.post(LOGOUT)
        self.assertEqual(self.login("reader@example.org", next="//evil.example/").url, SUBSCRIPTIONS)

    def test_the_log_in_page_for_someone_logged_in_goes_on_without_looping(self):
        self.client.force_login(self.reader)

        for next_url in ["", LOGIN, "/category/caijing/"]:
            with self.subTest(next=next_url):
                response = self.client.get(LOGIN, {"next": next_url} if next_url else {})
                self.assertEqual(response.status_code, 302)
                self.assertEqual(response.url, next_url if next_url.startswith("/category/") else SUBSCRIPTIONS)

    def test_log_out_is_a_post_and_get_changes_nothing(self):
        self.client.force_login(self.reader)

        self.assertEqual(self.client.get(LOGOUT).status_code, 405)
        self.assertLoggedInAs(self.reader)
        response = self.post(LOGOUT)

        self.assertRedirects(response, "/")
        self.assertLoggedOut()

    def test_the_header_offers_log_in_and_sign_up_or_the_account_and_log_out(self):
        anonymous = self.client.get("/")
        self.assertContains(anonymous, f'href="{SUBSCRIPTIONS}"')
        self.assertContains(anonymous, f'href="{LOGIN}"')
        self.assertContains(anonymous, f'href="{SIGNUP}"')
        self.assertNotContains(anonymous, LOGOUT)

        self.client.force_login(self.reader)
        reader = self.client.get("/")
        self.assertContains(reader, "Reader@Example.org")
        self.assertContains(reader, f'action="{LOGOUT}"')
        self.assertNotContains(reader, f'href="{SIGNUP}"')

    def test_my_subscriptions_asks_an_anonymous_visitor_to_log_in_and_comes_back(self):
        response = self.client.get(SUBSCRIPTIONS)
        self.assertEqual(response.url, f"{LOGIN}?next={SUBSCRIPTIONS}")

        response = self.login("reader@example.org", next=SUBSCRIPTIONS)
        self.assertRedirects(response, SUBSCRIPTIONS)


class PasswordResetTests(_AccountTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reader = make_reader("reader@example.org")

    def test_a_reader_resets_their_password_by_the_emailed_link(self):
        response = self.post(RESET, {"email": "READER@example.org"})
        self.assertRedirects(response, reverse("accounts:password_reset_done"))
        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(mail.outbox[0].to, ["reader@example.org"])

        link = link_in(mail.outbox[0], "/accounts/password/reset/")
        form_page = self.client.get(link, follow=True)
        self.assertTrue(form_page.context["validlink"])
        token = link.rstrip("/").rsplit("/", 1)[1]
        self.assertNotIn(token, form_page.request["PATH_INFO"])  # moved out of the address, into the session
        done = self.post(
            form_page.request["PATH_INFO"],
            {"new_password1": "a brand new passphrase 9", "new_password2": "a brand new passphrase 9"},
        )
        self.assertRedirects(done, reverse("accounts:password_reset_complete"))

        self.assertEqual(self.login("reader@example.org").status_code, 200)
        self.assertEqual(self.login("reader@example.org", "a brand new passphrase 9").status_code, 302)

    def test_a_reset_link_works_once(self):
        self.post(RESET, {"email": "reader@example.org"})
        link = link_in(mail.outbox[0], "/accounts/password/reset/")
        page = self.client.get(link, follow=True)
        self.post(
            page.request["PATH_INFO"],
            {"new_password1": "a brand new passphrase 9", "new_password2": "a brand new passphrase 9"},
        )

        again = self.client.get(link, follow=True)

        self.assertFalse(again.context["validlink"])

    def test_an_unknown_address_gets_the_same_answer_and_no_mail(self):
        response = self.post(RESET, {"email": "nobody@example.org"})

        self.assertRedirects(response, reverse("accounts:password_reset_done"))
        self.assertEqual(mail.outbox, [])

    @override_settings(ACCOUNTS_MAIL_PER_RECIPIENT_LIMIT=1)
    def test_reset_mail_is_rate_limited(self):
        self.post(RESET, {"email": "reader@example.org"})

        response = self.post(RESET, {"email": "reader@example.org"})

        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "reader@example.org", status_code=429)
        self.assertEqual(len(mail.outbox), 1)


@FAST_HASHING
class ReaderServiceTests(TestCase):
    def test_signing_up_makes_an_inactive_account_with_an_unconfirmed_reader_row(self):
        user = make_reader("x@example.org", confirmed=False)

        self.assertFalse(user.is_active)
        self.assertFalse(Reader.objects.get(user=user).is_confirmed)

    def test_confirming_twice_is_refused(self):
        user = make_reader("x@example.org")

        with self.assertRaises(services.NotConfirmable):
            services.reader_confirm(user_id=user.pk)

    def test_a_staff_account_with_that_username_is_not_taken_over(self):
        User.objects.create_user("staff@example.org", "staff@example.org", "x", is_staff=True)

        with self.assertRaises(services.AccountExists):
            services.reader_sign_up(email="Staff@example.org", password=PASSWORD)
        self.assertTrue(User.objects.get(username="staff@example.org").check_password("x"))
