"""POST /api/takedown/: the same request as the form, as JSON, with the same checks."""

import json
import random

from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone

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
            [{"url": u, "outcome": "pending"} for u in body["urls"]],
        )
        token = status_path(data["status_url"]).split("/")[-2]
        self.assertEqual(req.token_hash, hash_token(token))
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertEqual(self.client.get(status_path(data["status_url"])).status_code, 200)
        self.assertEqual(
            (req.name, req.organisation, req.role, req.email, req.phone, req.address),
            tuple(body["requester"][k] for k in ["name", "organisation", "role", "email", "phone", "address"]),
        )
        self.assertEqual((str(req.work_date), req.work, req.signature), ("2023-09-14", body["work"], "赵六"))
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
            (TakedownRequest.objects.get().work_date, TakedownRequest.objects.get().organisation), (None, "")
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

    def test_an_address_that_is_not_a_snapshot_here_is_named_by_its_index(self):
        body = api_body(
            self.snapshot,
            urls=[
                snapshot_url(self.snapshot),
                "https://www.example.com/news/1.html",
                f"{settings.SITE_URL}/detail/{'0' * 40}.html",
                "",
                42,
                "two\nlines",
                snapshot_url(self.snapshot),
            ],
        )
        errors = self.errors(self.post(body))
        self.assertEqual(set(errors), {"urls.1", "urls.2", "urls.3", "urls.4", "urls.5"})
        self.assertIn("is not the address of a snapshot page of this site", errors["urls.1"][0])
        self.assertIn("there is no snapshot with this address", errors["urls.2"][0])
        for key in ["urls.3", "urls.4", "urls.5"]:
            self.assertEqual(errors[key], ["Expected one address as a non-empty string."])
        # The duplicate is reported by the service, once the rest is valid.
        errors = self.errors(self.post(api_body(self.snapshot, urls=[snapshot_url(self.snapshot)] * 2)))
        self.assertEqual(errors, {"urls.1": ["The same snapshot as address 1."]})

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

    def test_a_form_encoded_body_is_not_json(self):
        response = self.client.post(API, {"name": "x"}, headers=EN)
        self.assertEqual(self.errors(response), {"__all__": ["The body is not valid JSON (UTF-8)."]})

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
