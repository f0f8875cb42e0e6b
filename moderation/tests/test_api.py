"""POST /api/takedown/: the same request as the form, as JSON, with the same checks."""

import json
import random
import threading
from datetime import date

from django.conf import settings
from django.core import mail
from django.db import connection
from django.test import Client, TransactionTestCase, override_settings, skipUnlessDBFeature
from django.utils import timezone

from articles.models import Snapshot
from moderation.models import Requester, TakedownItem, TakedownRequest, hash_token
from newsarchive.testing import sending_mail

from .helpers import EN, REQUIRED, PublicPageTestCase, api_body, make_request, make_snapshot, snapshot_url, status_path

API = "/api/takedown/"
Status = TakedownRequest.Status

# The API's name for each form field: the requester's own fields are nested under "requester".
API_KEYS = {
    name: f"requester.{name}" if name in {"name", "role", "email", "phone", "address"} else name for name in REQUIRED
}


class ApiTestCase(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot(title="接口投诉的快照")
        cls.other = make_snapshot()

    def post(self, body, *, raw: bool = False, **kwargs):
        data = body if raw else json.dumps(body)
        kwargs.setdefault("content_type", "application/json")
        kwargs.setdefault("CONTENT_TYPE", kwargs["content_type"])  # the test client sends none with an empty body
        with sending_mail():
            return self.client.post(API, data, headers=EN, **kwargs)

    def errors(self, response) -> dict:
        self.assertEqual(response.status_code, 400, response.content)
        self.assertEqual(response["Content-Type"], "application/json")
        return response.json()["errors"]


class ApiFilingTests(ApiTestCase):
    def test_a_complete_request_is_filed_with_201_reference_and_status_url(self):
        body = api_body(self.snapshot, self.other)
        response = self.post(body, REMOTE_ADDR="203.0.113.50")
        self.assertEqual(response.status_code, 201, response.content)
        data = response.json()
        req = TakedownRequest.objects.get()
        self.assertEqual(data["reference"], req.reference)
        self.assertEqual(
            data["items"],
            [{"url": u, "work": 0, "outcome": "pending"} for u in body["urls"]],
        )
        token = status_path(data["status_url"]).split("/")[-2]
        self.assertEqual(req.token_hash, hash_token(token))
        self.assertEqual(response["Cache-Control"], "private, no-store")
        self.assertEqual(self.client.get(status_path(data["status_url"])).status_code, 200)
        self.assertEqual(
            (req.name, req.organisation, req.role, req.email, req.phone, req.address),
            tuple(body["requester"][k] for k in ["name", "organisation", "role", "email", "phone", "address"]),
        )
        self.assertEqual(
            (str(req.works.get().work_date), req.works.get().description, req.signature),
            ("2023-09-14", body["work"], "赵六"),
        )
        self.assertEqual(req.submitted_ip, "203.0.113.50")
        self.assertEqual(len(mail.outbox), 1)
        self.assertIn(data["status_url"], mail.outbox[0].body)
        self.assertNotIn(token, str(list(TakedownRequest.objects.values())))

    def test_csrf_is_not_required(self):
        client = Client(enforce_csrf_checks=True)
        response = client.post(API, json.dumps(api_body(self.snapshot)), content_type="application/json")
        self.assertEqual(response.status_code, 201)

    def test_the_date_of_the_work_and_the_organisation_may_be_null(self):
        body = api_body(self.snapshot, work_date=None)
        body["requester"]["organisation"] = None
        self.assertEqual(self.post(body).status_code, 201)
        self.assertEqual(
            (TakedownRequest.objects.get().works.get().work_date, TakedownRequest.objects.get().organisation),
            (None, ""),
        )

    def test_a_snapshot_already_withheld_is_answered_as_such(self):
        make_request(self.snapshot, status=Status.APPROVED, email="first@example.org")
        response = self.post(api_body(self.snapshot, self.other))
        self.assertEqual(response.status_code, 201)
        self.assertEqual([i["outcome"] for i in response.json()["items"]], ["already_withheld", "pending"])


class ApiValidationTests(ApiTestCase):
    def test_every_missing_element_is_named(self):
        errors = self.errors(self.post({}))
        self.assertEqual(set(errors), set(API_KEYS.values()))
        for name, key in API_KEYS.items():
            with self.subTest(key):
                self.assertEqual(errors[key], [REQUIRED[name]])
        self.assertFalse(TakedownRequest.objects.exists())

    def test_false_statements_are_refused(self):
        errors = self.errors(self.post(api_body(self.snapshot, good_faith=False, accurate_and_authorised=False)))
        self.assertEqual(
            errors,
            {
                "good_faith": [REQUIRED["good_faith"]],
                "accurate_and_authorised": [REQUIRED["accurate_and_authorised"]],
            },
        )

    def test_invalid_values_are_named_with_the_bodys_own_paths(self):
        body = api_body(self.snapshot, requester={"email": "not-an-email", "role": "owner"}, work_date="14/09/2099")
        errors = self.errors(self.post(body))
        self.assertEqual(set(errors), {"requester.email", "requester.role", "work_date"})
        self.assertEqual(errors["requester.email"], ["Enter a valid email address."])

    def test_an_address_that_is_no_single_web_address_is_named_by_its_index(self):
        body = api_body(
            self.snapshot,
            urls=[snapshot_url(self.snapshot), "not an address", "", 42, "two\nlines", snapshot_url(self.snapshot)],
        )
        errors = self.errors(self.post(body))
        self.assertEqual(set(errors), {"urls.1", "urls.2", "urls.3", "urls.4"})
        self.assertIn("is not a web address", errors["urls.1"][0])
        for key in ["urls.2", "urls.3", "urls.4"]:
            self.assertEqual(errors[key], ["Expected one address as a non-empty string."])
        # The duplicate is reported by the service, once the rest is valid.
        errors = self.errors(self.post(api_body(self.snapshot, urls=[snapshot_url(self.snapshot)] * 2)))
        self.assertEqual(errors, {"urls.1": ["The same snapshot as address 1."]})

    def test_an_address_that_names_nothing_here_is_filed_and_answered_as_not_found(self):
        urls = [
            snapshot_url(self.snapshot),
            "https://www.example.com/news/1.html",
            f"{settings.SITE_URL}/detail/{'0' * 40}.html",
        ]
        response = self.post(api_body(self.snapshot, urls=urls))
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual([i["outcome"] for i in response.json()["items"]], ["pending", "not_found", "not_found"])

    def test_a_hidden_snapshot_is_not_in_this_archive(self):
        hidden = make_snapshot(title="编辑隐藏的标题", status=Snapshot.Status.HIDDEN)
        response = self.post(api_body(self.snapshot, urls=[snapshot_url(self.snapshot), snapshot_url(hidden)]))
        self.assertEqual([i["outcome"] for i in response.json()["items"]], ["pending", "not_found"])
        self.assertNotIn("编辑隐藏的标题", response.content.decode())
        self.assertEqual(TakedownRequest.objects.get().items.get(position=2).snapshot, None)
        errors = self.errors(self.post(api_body(urls=[snapshot_url(hidden)])))
        self.assertIn("None of these addresses names a snapshot in this archive", errors["urls"][0])

    def test_several_works_each_with_its_urls(self):
        body = api_body(
            works=[
                {"description": "报道甲", "work_date": "2023-09-14", "urls": [snapshot_url(self.snapshot)]},
                {"description": "报道乙", "work_date": None, "urls": [snapshot_url(self.other), "https://x.example/a"]},
            ]
        )
        del body["work"], body["work_date"], body["urls"]
        response = self.post(body)
        self.assertEqual(response.status_code, 201, response.content)
        self.assertEqual(
            [(i["work"], i["outcome"]) for i in response.json()["items"]],
            [(0, "pending"), (1, "pending"), (1, "not_found")],
        )
        req = TakedownRequest.objects.get()
        self.assertEqual(
            list(req.works.values_list("description", "work_date")), [("报道甲", date(2023, 9, 14)), ("报道乙", None)]
        )

    def test_errors_in_several_works_are_named_by_each_works_path(self):
        body = api_body(
            works=[
                {"description": "报道甲", "urls": [snapshot_url(self.snapshot)]},
                {"description": "", "work_date": "2099-01-01", "urls": [snapshot_url(self.other), "nope", 7]},
                {"urls": "not a list"},
            ]
        )
        del body["work"], body["work_date"], body["urls"]
        errors = self.errors(self.post(body))
        self.assertEqual(
            set(errors),
            {
                "works.1.description",
                "works.1.work_date",
                "works.1.urls.1",
                "works.1.urls.2",
                "works.2.urls",
                "works.2.description",
            },
        )
        for bad in [[], "x", [1], [{"urls": []}] * 11]:
            with self.subTest(works=bad):
                body = {**api_body(self.snapshot), "works": bad}
                self.assertIn("works", self.errors(self.post(body)))

    @override_settings(TAKEDOWN_MAX_URLS=1)
    def test_more_addresses_than_the_cap_are_refused(self):
        errors = self.errors(self.post(api_body(self.snapshot, self.other)))
        self.assertEqual(errors, {"urls": ["At most 1 addresses per request; send the rest in another."]})

    def test_values_of_the_wrong_type_are_named(self):
        body = api_body(self.snapshot, work=["a"], urls="https://one.example/", good_faith="yes", signature=7)
        body["requester"]["phone"] = {"number": 1}
        errors = self.errors(self.post(body))
        self.assertEqual(errors["work"], ["Expected a string."])
        self.assertEqual(errors["signature"], ["Expected a string."])
        self.assertEqual(errors["requester.phone"], ["Expected a string."])
        self.assertEqual(errors["urls"], ["Expected a list of addresses."])
        self.assertEqual(errors["good_faith"], ["Expected true or false."])
        body = api_body(self.snapshot)
        body["requester"] = "张三"
        errors = self.errors(self.post(body))
        self.assertEqual(
            errors, {"requester": ["Expected an object with the requester's name, email, phone and address."]}
        )

    def test_a_suspended_requester_is_refused(self):
        Requester.objects.create(
            email="banned@example.org",
            warned_at=timezone.now(),
            suspended_until=timezone.now() + timezone.timedelta(days=3),
        )
        errors = self.errors(self.post(api_body(self.snapshot, requester={"email": "banned@example.org"})))
        self.assertEqual(list(errors), ["requester.email"])
        self.assertIn("suspended until", errors["requester.email"][0])


class ApiProtocolTests(ApiTestCase):
    def test_only_post_is_allowed(self):
        for method in ["get", "put", "patch", "delete"]:
            with self.subTest(method):
                response = getattr(self.client, method)(API)
                self.assertEqual(response.status_code, 405)
                self.assertEqual(response["Allow"], "POST")
                self.assertIn("errors", response.json())

    def test_a_body_that_is_not_a_json_object_is_refused_clearly(self):
        cases = {
            "": "The body is not valid JSON (UTF-8).",
            "{": "The body is not valid JSON (UTF-8).",
            "{'single': 'quotes'}": "The body is not valid JSON (UTF-8).",
            b"\xff\xfe{}": "The body is not valid JSON (UTF-8).",
            "[" * 100_000 + "]" * 100_000: "The body is not valid JSON (UTF-8).",
            "1" * 5000: "The body is not valid JSON (UTF-8).",
            "[]": "The body must be a JSON object.",
            '"text"': "The body must be a JSON object.",
            "null": "The body must be a JSON object.",
            "42": "The body must be a JSON object.",
        }
        for body, message in cases.items():
            with self.subTest(body=body[:20]):
                errors = self.errors(self.post(body, raw=True))
                self.assertEqual(errors, {"__all__": [message]})
        self.assertFalse(TakedownRequest.objects.exists())

    def test_a_body_that_is_not_declared_json_is_refused_with_415(self):
        for content_type in [
            "multipart/form-data; boundary=BoUnDaRy",
            "text/plain",
            "application/json; charset=latin-1",
        ]:
            with self.subTest(content_type=content_type):
                response = self.client.post(
                    API, json.dumps(api_body(self.snapshot)), content_type=content_type, headers=EN
                )
                self.assertEqual(response.status_code, 415)
                self.assertEqual(
                    response.json(),
                    {"errors": {"__all__": ["Send the body as Content-Type: application/json (UTF-8)."]}},
                )
        self.assertFalse(TakedownRequest.objects.exists())

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_a_body_over_the_size_limit_is_refused(self):
        response = self.post(api_body(self.snapshot, explanation="长" * 1000))
        self.assertEqual(response.status_code, 413)

    def test_text_that_cannot_be_stored_is_refused_not_failed(self):
        body = api_body(self.snapshot, work="\ud800 lone surrogate", explanation="nul \x00 byte")
        errors = self.errors(self.post(body))
        self.assertEqual(errors["work"], ["Expected a string."])
        self.assertEqual(errors["explanation"], ["Null characters are not allowed."])

    def test_overlong_values_are_refused_not_failed(self):
        body = api_body(self.snapshot, signature="签" * 201)
        body["requester"]["name"] = "名" * 201
        body["urls"] = [snapshot_url(self.snapshot) + "?" + "q" * 2000]
        errors = self.errors(self.post(body))
        self.assertEqual(set(errors), {"signature", "requester.name", "urls.0"})

    @override_settings(TAKEDOWN_RATE_LIMIT=2)
    def test_past_the_limit_the_api_answers_429_with_retry_after(self):
        self.assertEqual(self.post({}).status_code, 400)
        self.assertEqual(self.post(api_body(self.snapshot)).status_code, 201)
        response = self.post(api_body(self.other))
        self.assertEqual(response.status_code, 429)
        self.assertTrue(0 < int(response["Retry-After"]) <= 3600)
        self.assertIn("Too many requests", response.json()["errors"]["__all__"][0])
        self.assertEqual(TakedownRequest.objects.count(), 1)

    @override_settings(TAKEDOWN_RATE_LIMIT=10_000)
    def test_no_input_makes_a_server_error(self):
        rng = random.Random(4)
        values = [None, True, False, 0, -1, 1.5, "", " ", "x", "\x00", "☃" * 300, [], [1], {}, {"a": 1}, "2023-02-30"]
        keys = ["requester", "work", "work_date", "urls", "explanation", "evidence", "good_faith", "signature"]
        sub = ["name", "organisation", "role", "email", "phone", "address"]
        for _n in range(150):
            body = api_body(self.snapshot)
            for key in rng.sample(keys, 3):
                body[key] = rng.choice(values)
            if isinstance(body.get("requester"), dict):
                for key in rng.sample(sub, 2):
                    body["requester"][key] = rng.choice(values)
            if rng.random() < 0.3:
                body["urls"] = [rng.choice(values + [snapshot_url(self.other)]) for _i in range(3)]
            with self.subTest(body=body):
                response = self.post(body)
                self.assertIn(response.status_code, (201, 400))
                TakedownItem.objects.all().delete()
                TakedownRequest.objects.all().delete()


class ApiOriginTests(ApiTestCase):
    """A program sends no Origin; a browser on another site's page does, and is refused."""

    def post_from(self, origin: str | None, **kwargs):
        headers = {**EN, "Origin": origin} if origin is not None else EN
        with sending_mail():
            return self.client.post(API, json.dumps(api_body(self.snapshot)), content_type="application/json",
                                    headers=headers, **kwargs)  # fmt: skip

    def test_a_request_from_another_sites_page_is_refused_with_403_and_nothing_is_stored(self):
        for origin in ["https://evil.example", "null", "http://testserver.evil.example", "https://testserver"]:
            with self.subTest(origin=origin):
                response = self.post_from(origin)
                self.assertEqual(response.status_code, 403)
                self.assertEqual(response["Content-Type"], "application/json")
                self.assertIn("another site", response.json()["errors"]["__all__"][0])
        self.assertFalse(TakedownRequest.objects.exists())

    def test_the_probes_cross_site_text_plain_post_is_refused(self):
        response = self.client.post(
            API,
            json.dumps(api_body(self.snapshot)),
            content_type="text/plain",
            headers={**EN, "Origin": "https://evil.example"},
        )
        self.assertEqual(response.status_code, 403)
        self.assertFalse(TakedownRequest.objects.exists())

    @override_settings(
        SITE_URL="https://archive.example.org", CSRF_TRUSTED_ORIGINS=["https://*.partner.example", "https://b.example"]
    )
    def test_this_sites_own_origins_and_the_trusted_ones_are_accepted(self):
        for origin in [
            None,
            "http://testserver",  # the request's own scheme and host
            "https://archive.example.org",  # SITE_URL's
            "https://desk.partner.example",  # CSRF_TRUSTED_ORIGINS, a wildcard's subdomain
            "https://b.example",
        ]:
            with self.subTest(origin=origin):
                self.assertEqual(self.post_from(origin).status_code, 201)


class ApiAnswersAreJsonTests(ApiTestCase):
    def assert_json_error(self, response, status: int) -> dict:
        self.assertEqual(response.status_code, status)
        self.assertEqual(response["Content-Type"], "application/json")
        errors = response.json()["errors"]
        self.assertTrue(all(messages and all(m.strip() for m in messages) for messages in errors.values()))
        return errors

    @override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
    def test_a_body_over_the_size_limit_is_answered_413_in_json(self):
        self.assert_json_error(self.post(api_body(self.snapshot, explanation="长" * 1000)), 413)

    def test_a_database_that_is_away_is_answered_503_in_json_with_retry_after(self):
        from unittest import mock

        from django.db import OperationalError, connection

        client = Client(raise_request_exception=False)
        broken = OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")
        with mock.patch.object(connection, "cursor", side_effect=broken), self.assertLogs("django.request", "ERROR"):
            response = client.post(API, json.dumps(api_body(self.snapshot)), content_type="application/json")
        errors = self.assert_json_error(response, 503)
        self.assertEqual(response["Retry-After"], "30")
        self.assertNotIn("5432", json.dumps(errors))

    def test_an_error_of_the_code_is_answered_500_in_json(self):
        from unittest import mock

        client = Client(raise_request_exception=False)
        with (
            mock.patch("moderation.services.takedown_submit", side_effect=RuntimeError("bug")),
            self.assertLogs("django.request", "ERROR"),
        ):
            response = client.post(API, json.dumps(api_body(self.snapshot)), content_type="application/json")
        self.assertNotIn("bug", json.dumps(self.assert_json_error(response, 500)))

    def test_an_address_under_the_api_that_is_nothing_is_answered_404_in_json(self):
        self.assert_json_error(self.client.get("/api/nothing/"), 404)

    def test_a_nul_in_the_query_is_answered_400_in_json(self):
        response = self.client.post(API + "?x=%00", "{}", content_type="application/json", headers=EN)
        self.assertEqual(
            self.assert_json_error(response, 400), {"__all__": ["The query parameter “x” contains a NUL character."]}
        )


class ApiRecipientLimitTests(ApiTestCase):
    @override_settings(TAKEDOWN_RECIPIENT_RATE_LIMIT=2, TAKEDOWN_RATE_LIMIT=100)
    def test_receipts_to_one_address_are_limited_per_hour_whatever_the_client(self):
        snapshots = [make_snapshot() for _n in range(3)]
        answers = []
        for number, snapshot in enumerate(snapshots):
            body = api_body(snapshot, requester={"email": "Target@Example.org" if number else "target@example.org"})
            answers.append(self.post(body, REMOTE_ADDR=f"198.51.100.{number + 1}"))
        self.assertEqual([a.status_code for a in answers], [201, 201, 429])
        self.assertTrue(0 < int(answers[2]["Retry-After"]) <= 3600)
        self.assertIn("from this email address", answers[2].json()["errors"]["requester.email"][0])
        self.assertEqual(TakedownRequest.objects.count(), 2)
        self.assertEqual(len([m for m in mail.outbox if m.to == ["target@example.org"]]), 1)
        self.assertEqual(len(mail.outbox), 2)

    @override_settings(TAKEDOWN_RECIPIENT_RATE_LIMIT=1, TAKEDOWN_RATE_LIMIT=100)
    def test_the_form_counts_toward_the_same_limit(self):
        self.assertEqual(self.post(api_body(self.snapshot, requester={"email": "one@example.org"})).status_code, 201)
        from .helpers import form_data

        data = form_data(self.other, email="one@example.org")
        response = self.client.post("/takedown/new/", data, headers=EN)
        self.assertEqual(response.status_code, 429)
        self.assertContains(response, "Too many removal requests from this email address", status_code=429)
        self.assertEqual(TakedownRequest.objects.count(), 1)


class ApiDuplicateTests(ApiTestCase):
    def test_a_duplicate_is_answered_with_the_first_requests_reference_and_never_its_token(self):
        body = api_body(self.snapshot)
        first = self.post(body)
        self.assertEqual(first.status_code, 201)
        second = self.post(body)
        errors = self.errors(second)
        reference = first.json()["reference"]
        self.assertEqual(errors, {"urls": [f"You already have an open request for these snapshots: {reference}."]})
        self.assertNotIn(status_path(first.json()["status_url"]).split("/")[3], second.content.decode())
        self.assertEqual(TakedownRequest.objects.count(), 1)


def post_in_thread(body: dict, barrier: threading.Barrier, answers: list) -> None:
    """POST `body` on this thread's own connection once every thread is ready."""
    try:
        client = Client()
        barrier.wait()
        answers.append(client.post(API, json.dumps(body), content_type="application/json", headers=EN))
    except Exception as error:  # reported to the test, whatever it is
        answers.append(error)
    finally:
        connection.close()


@skipUnlessDBFeature("has_select_for_update")
@override_settings(TAKEDOWN_RATE_LIMIT=1000, TAKEDOWN_RECIPIENT_RATE_LIMIT=1000)
class ConcurrentDuplicateTests(TransactionTestCase):
    """Real threads on their own connections (PostgreSQL): the probe stored 2 of 16 to 32 identical
    notices sent at once, one per worker; the requester's row lock makes it one."""

    serialized_rollback = True  # the Editors and Moderators groups come from data migrations

    def test_32_identical_notices_at_once_store_one_and_answer_the_rest_as_its_duplicates(self):
        for requester_exists in (False, True):
            with self.subTest(requester_exists=requester_exists):
                snapshot = make_snapshot()
                body = api_body(snapshot)
                if requester_exists:
                    Requester.objects.create(email=body["requester"]["email"])
                barrier = threading.Barrier(32, timeout=20)
                answers = []
                threads = [threading.Thread(target=post_in_thread, args=(body, barrier, answers)) for _n in range(32)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join(timeout=120)
                self.assertFalse(any(thread.is_alive() for thread in threads))
                statuses = sorted(a.status_code if hasattr(a, "status_code") else repr(a) for a in answers)
                self.assertEqual(statuses, [201] + [400] * 31)
                stored = TakedownRequest.objects.filter(items__snapshot=snapshot)
                self.assertEqual(stored.count(), 1)
                reference = stored.get().reference
                token_url = next(a.json()["status_url"] for a in answers if a.status_code == 201)
                token = status_path(token_url).split("/")[3]
                for answer in answers:
                    if answer.status_code == 400:
                        self.assertEqual(
                            answer.json()["errors"],
                            {"urls": [f"You already have an open request for these snapshots: {reference}."]},
                        )
                        self.assertNotIn(token, answer.content.decode())
                self.assertEqual(Requester.objects.filter(email__iexact=body["requester"]["email"]).count(), 1)
