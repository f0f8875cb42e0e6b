"""The statements of reasons in the EU DSA Transparency Database's fields (/transparency/statements.json
and .csv) and the monthly report of decisions (manage.py transparency_report, and /transparency/)."""

import csv
import io
import json
from datetime import datetime, timedelta
from unittest import mock

from django.core.management import CommandError, call_command
from django.utils import timezone

from moderation import selectors, services, statements
from moderation.models import Requester, TakedownItem, TakedownRequest

from .helpers import EN, PublicPageTestCase, make_moderator, make_request, make_snapshot

Status = TakedownRequest.Status
Outcome = TakedownItem.Outcome
STATEMENTS_JSON = "/transparency/statements.json"
STATEMENTS_CSV = "/transparency/statements.csv"

# The values the DSA Transparency Database accepts for the fields we fill with a constant or a
# choice (its API documentation and StatementStoreRequest): a statement with any other is refused.
TDB_VALUES = {
    "decision_visibility": {
        "DECISION_VISIBILITY_CONTENT_REMOVED",
        "DECISION_VISIBILITY_CONTENT_DISABLED",
        "DECISION_VISIBILITY_CONTENT_DEMOTED",
        "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
        "DECISION_VISIBILITY_CONTENT_LABELLED",
        "DECISION_VISIBILITY_OTHER",
    },
    "decision_ground": {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"},
    "content_type": {
        "CONTENT_TYPE_APP",
        "CONTENT_TYPE_AUDIO",
        "CONTENT_TYPE_IMAGE",
        "CONTENT_TYPE_PRODUCT",
        "CONTENT_TYPE_SYNTHETIC_MEDIA",
        "CONTENT_TYPE_TEXT",
        "CONTENT_TYPE_VIDEO",
        "CONTENT_TYPE_OTHER",
    },
    "source_type": {
        "SOURCE_ARTICLE_16",
        "SOURCE_TRUSTED_FLAGGER",
        "SOURCE_TYPE_OTHER_NOTIFICATION",
        "SOURCE_VOLUNTARY",
    },
    "automated_detection": {"Yes", "No"},
    "automated_decision": {
        "AUTOMATED_DECISION_FULLY",
        "AUTOMATED_DECISION_PARTIALLY",
        "AUTOMATED_DECISION_NOT_AUTOMATED",
    },
}


def statements_json(client, **params) -> dict:
    response = client.get(STATEMENTS_JSON, params, headers=EN)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()


def statements_csv(client) -> list[dict]:
    response = client.get(STATEMENTS_CSV, headers=EN)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


class StatementTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.moderator = make_moderator()
        cls.withheld, cls.refused = make_snapshot(title="屏蔽"), make_snapshot(title="保留")
        cls.req = make_request(cls.withheld, cls.refused, status=Status.IN_REVIEW)
        refused_item = cls.req.items.get(snapshot=cls.refused)
        services.takedown_approve(
            request_id=cls.req.pk,
            moderator=cls.moderator,
            reason="权利人提交了首发证明，联系 13977770421。",
            outcomes={refused_item.pk: Outcome.REFUSED},
        )
        cls.rejected = make_request(status=Status.REJECTED)
        cls.restored = make_request(status=Status.RESTORED, organisation="")

    def test_a_statement_per_withheld_url_with_the_databases_names_and_values(self):
        data = statements_json(self.client)
        by_puid = {record["puid"]: record for record in data["statements"]}
        # The withheld URL of the approved request and the once-withheld one of the restored
        # request; not the refused URL, and nothing of the rejected request.
        item = self.req.items.get(snapshot=self.withheld)
        restored = self.restored.items.get()
        self.assertEqual(set(by_puid), {f"{self.req.reference}-{item.position}", f"{self.restored.reference}-1"})
        self.assertEqual(data["count"], 2)
        for record in data["statements"]:
            with self.subTest(puid=record["puid"]):
                self.assertEqual(list(record), statements.FIELDS)
                for field, accepted in TDB_VALUES.items():
                    values = record[field] if isinstance(record[field], list) else [record[field]]
                    self.assertTrue(set(values) <= accepted, (field, values))
                self.assertEqual(record["decision_visibility"], ["DECISION_VISIBILITY_CONTENT_DISABLED"])
                self.assertEqual(record["decision_ground"], "DECISION_GROUND_ILLEGAL_CONTENT")
                self.assertEqual(record["category"], "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS")
                self.assertEqual(record["category_specification"], ["KEYWORD_COPYRIGHT_INFRINGEMENT"])
                self.assertEqual(record["automated_decision"], "AUTOMATED_DECISION_NOT_AUTOMATED")
                self.assertEqual(record["automated_detection"], "No")
                self.assertEqual(record["source_type"], "SOURCE_ARTICLE_16")
                self.assertIn("DE", record["territorial_scope"])
        approved = by_puid[f"{self.req.reference}-{item.position}"]
        self.assertEqual(approved["application_date"], timezone.localtime(item.effective_at).date().isoformat())
        self.assertIsNone(approved["end_date_visibility_restriction"])
        self.assertEqual(approved["source_identity"], "人民资讯版权部")
        # The statement of reasons is redacted as on the public record.
        self.assertIn("[phone]", approved["decision_facts"])
        self.assertNotIn("13977770421", json.dumps(data, ensure_ascii=False))
        # The restored claim's restriction ended; its individual requester is not named.
        lifted = by_puid[f"{self.restored.reference}-1"]
        self.assertEqual(
            lifted["end_date_visibility_restriction"], timezone.localtime(restored.lifted_at).date().isoformat()
        )
        self.assertIsNone(lifted["source_identity"])

    def test_the_csv_has_the_same_statements_in_the_databases_columns(self):
        rows = statements_csv(self.client)
        records = {record["puid"]: record for record in statements_json(self.client)["statements"]}
        self.assertEqual(len(rows), 2)
        for row in rows:
            with self.subTest(puid=row["puid"]):
                self.assertEqual(list(row), statements.FIELDS)
                record = records[row["puid"]]
                self.assertEqual(json.loads(row["territorial_scope"]), record["territorial_scope"])
                self.assertEqual(json.loads(row["decision_visibility"]), ["DECISION_VISIBILITY_CONTENT_DISABLED"])
                self.assertEqual(row["decision_facts"], record["decision_facts"])
                self.assertEqual(row["decision_monetary"], "")  # nothing, as an empty cell

    def test_a_personality_rights_decision_has_its_own_category(self):
        req = make_request(make_snapshot(), status=Status.IN_REVIEW)
        services.takedown_approve(
            request_id=req.pk,
            moderator=self.moderator,
            reason="侵害名誉权。",
            ground=TakedownRequest.Ground.PERSONALITY,
        )
        record = next(r for r in statements_json(self.client)["statements"] if r["puid"].startswith(req.reference))
        self.assertEqual(record["category"], "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS")
        self.assertEqual(record["category_specification"], [])

    def test_a_decision_under_a_publication_delay_makes_no_statement_until_it_ends(self):
        requester = Requester.objects.get(email="rights@example.org")
        Requester.objects.filter(pk=requester.pk).update(publication_delay_days=30)
        req = make_request(status=Status.APPROVED)
        puids = {r["puid"] for r in statements_json(self.client)["statements"]}
        self.assertNotIn(f"{req.reference}-1", puids)
        later = timezone.now() + timedelta(days=31)
        with mock.patch("django.utils.timezone.now", return_value=later):
            puids = {r["puid"] for r in statements_json(self.client)["statements"]}
        self.assertIn(f"{req.reference}-1", puids)

    def test_pages_of_five_hundred(self):
        with mock.patch("moderation.views.STATEMENTS_PAGE_SIZE", 1):
            first = statements_json(self.client)
            self.assertEqual((first["pages"], first["previous"]), (2, None))
            self.assertTrue(first["next"].endswith("/transparency/statements.json?page=2"))
            second = statements_json(self.client, page=2)
            self.assertIsNone(second["next"])
            self.assertNotEqual(first["statements"], second["statements"])
            self.assertEqual(self.client.get(STATEMENTS_JSON, {"page": "9"}).status_code, 404)

    def test_query_counts_do_not_grow_with_the_statements(self):
        for _n in range(5):
            make_request(make_snapshot(), make_snapshot(), status=Status.APPROVED)
        with self.assertNumQueries(STATEMENTS_JSON_QUERIES):
            self.assertEqual(len(statements_json(self.client)["statements"]), 12)
        with self.assertNumQueries(STATEMENTS_CSV_QUERIES):
            self.assertEqual(len(statements_csv(self.client)), 12)


# Measured, then pinned: the count and the page (URLs with their request, snapshot and work in one
# join); the CSV reads them all in one.
STATEMENTS_JSON_QUERIES = 2
STATEMENTS_CSV_QUERIES = 1


# --- the monthly report --------------------------------------------------------------------------


def at(day: str, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def dated(req: TakedownRequest, received: datetime, decided: datetime) -> TakedownRequest:
    TakedownRequest.objects.filter(pk=req.pk).update(received_at=received, decided_at=decided)
    return req


class MonthlyReportTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        moderator = make_moderator()
        # November 2026, decided by a person in 2, 4, 6, 8 and 30 hours.
        for n, (status, hours) in enumerate(
            [
                (Status.APPROVED, 2),
                (Status.REJECTED, 4),
                (Status.APPROVED, 6),
                (Status.RESTORED, 8),
                (Status.REVERSED, 30),
            ]
        ):
            req = make_request(status=status, moderator=moderator, email=f"m{n}@example.org")
            dated(req, at("2026-11-10"), at("2026-11-10") + timedelta(hours=hours))
        # A partial approval in November, decided in 10 hours.
        snapshots = make_snapshot(), make_snapshot()
        req = make_request(*snapshots, status=Status.IN_REVIEW, email="partly@example.org")
        services.takedown_approve(
            request_id=req.pk,
            moderator=moderator,
            reason="部分成立。",
            outcomes={req.items.get(snapshot=snapshots[1]).pk: Outcome.REFUSED},
        )
        dated(req, at("2026-11-12"), at("2026-11-12") + timedelta(hours=10))
        # A request that lapsed in November: asked, unanswered, closed by the clock after 15 days.
        lapsed = make_request(status=Status.INFO_REQUESTED, moderator=moderator, email="silent@example.org")
        services.takedown_tick(now=lapsed.info_due_at + timedelta(minutes=1))
        dated(lapsed, at("2026-11-01"), at("2026-11-16"))
        # Received in November, decided (approved, then withdrawn) in December.
        withdrawn = make_request(status=Status.APPROVED, email="late@example.org")
        services.takedown_withdraw(request_id=withdrawn.pk)
        dated(withdrawn, at("2026-11-28"), at("2026-12-02"))
        # Still open: not in any month's decisions.
        make_request(status=Status.IN_REVIEW, email="open@example.org")

    def test_counts_by_ground_outcome_and_automation_and_times_by_month_of_decision(self):
        november, december = selectors.monthly_report()
        self.assertEqual((november.month.isoformat(), december.month.isoformat()), ("2026-11-01", "2026-12-01"))
        self.assertEqual((november.decided, november.by_person, november.automatically), (7, 6, 1))
        self.assertEqual(november.by_ground["copyright"], 5)  # the approvals (and the restored, reversed)
        self.assertEqual(november.by_ground["none"], 2)  # the rejection and the lapse
        self.assertEqual(
            november.by_outcome,
            {
                "approved": 2,
                "partly_approved": 1,
                "rejected": 2,
                "disputed": 0,
                "restored": 1,
                "reversed": 1,
                "withdrawn": 0,
            },
        )
        # Decided by a person in 2, 4, 6, 8, 10 and 30 hours: the median between 6 and 8, the 90th
        # percentile between 10 and 30 (interpolated at rank 4.5); the lapse's 15 days are apart.
        self.assertEqual(november.median, timedelta(hours=7))
        self.assertEqual(november.p90, timedelta(hours=20))
        self.assertEqual(november.lapse_median, timedelta(days=15))
        self.assertEqual((december.decided, december.by_outcome["withdrawn"]), (1, 1))

    def test_the_command_prints_one_month(self):
        out = io.StringIO()
        call_command("transparency_report", "--month", "2026-11", stdout=out)
        text = out.getvalue()
        self.assertIn("Removal decisions in 2026-11", text)
        self.assertIn("decided: 7 (by a person 6, automatically 1)", text)
        self.assertIn("median 7.0, 90th percentile 20.0", text)
        self.assertIn("hours to an automatic lapse: median 360.0", text)
        out = io.StringIO()
        call_command("transparency_report", "--month", "2026-11", "--json", stdout=out)
        data = json.loads(out.getvalue())
        self.assertEqual(data["by_automation"], {"person": 6, "automatic": 1})
        self.assertEqual(data["hours_to_decision"], {"median": 7.0, "p90": 20.0})
        self.assertEqual(data["by_outcome"]["partly_approved"], 1)

    def test_a_month_without_decisions_and_a_malformed_month(self):
        out = io.StringIO()
        call_command("transparency_report", "--month", "2025-01", "--json", stdout=out)
        data = json.loads(out.getvalue())
        self.assertEqual((data["decided"], data["hours_to_decision"]["median"]), (0, None))
        with self.assertRaises(CommandError):
            call_command("transparency_report", "--month", "November")

    def test_the_transparency_page_shows_the_last_twelve_months(self):
        with mock.patch("django.utils.timezone.localdate", return_value=at("2027-01-15").date()):
            html = self.client.get("/transparency/", headers=EN).content.decode()
        table = html[html.index('class="report-table monthly-table"') :]
        table = table[: table.index("</table>")]
        self.assertIn("Decisions per month, the last twelve months", table)
        self.assertLess(table.index("2026-12"), table.index("2026-11"))  # newest first
        self.assertIn('<th scope="row">2026-11</th><td>7</td><td>6</td><td>1</td>', table)
        self.assertIn("7.0 hours", table)
        self.assertIn("20.0 hours", table)
        self.assertIn("15.0 days", table)
        # In November 2027, November 2026 is no longer among the last twelve months; in December,
        # nor is December 2026.
        with mock.patch("django.utils.timezone.localdate", return_value=at("2027-11-15").date()):
            html = self.client.get("/transparency/", headers=EN).content.decode()
        self.assertIn('<th scope="row">2026-12</th>', html)
        self.assertNotIn('<th scope="row">2026-11</th><td>7</td>', html)
        with mock.patch("django.utils.timezone.localdate", return_value=at("2027-12-15").date()):
            html = self.client.get("/transparency/", headers=EN).content.decode()
        self.assertIn("No request was decided in the last twelve months.", html)
