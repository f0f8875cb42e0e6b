"""Appeals (DSA art. 20) by requesters and by the sources of withheld snapshots, reviewed by another
moderator; and what the sources are sent (条例 art. 15) and their own page of a request."""

import io
import re
from datetime import timedelta
from unittest import mock

from django.core import mail
from django.core.management import call_command
from django.test import TestCase

from articles.models import Snapshot, Source
from articles.tests.helpers import make_source
from moderation import services
from moderation.models import Appeal, SourceNotice, TakedownItem, TakedownRequest
from newsarchive.testing import sending_mail

from .helpers import (
    EN,
    PublicPageTestCase,
    make_counter_notice,
    make_moderator,
    make_request,
    make_snapshot,
    settle_mail,
    status_path,
    submit,
)
from .test_workflow import replayed_matches_database

Status = TakedownRequest.Status
Claim = TakedownItem.Claim
Party = Appeal.Party


def status_of(snapshot: Snapshot) -> str:
    return Snapshot.objects.values_list("status", flat=True).get(pk=snapshot.pk)


def secret_link(message) -> str:
    match = re.search(r"https?://\S+/takedown/status/[^/\s]+/", message.body)
    assert match, message.body
    return status_path(match.group(0))


class RequesterAppealTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.decider = make_moderator("decider")
        cls.reviewer = make_moderator("reviewer")

    def file_and_reject(self):
        snapshot = make_snapshot()
        with sending_mail():
            receipt = submit(snapshot, email="holder@example.org")
        path = secret_link(mail.outbox[-1])
        services.takedown_review(request_id=receipt.request.pk, moderator=self.decider)
        services.takedown_reject(request_id=receipt.request.pk, moderator=self.decider, reason="证据不足。")
        settle_mail()
        return TakedownRequest.objects.get(pk=receipt.request.pk), snapshot, path

    def test_the_requester_appeals_a_rejection_from_the_status_page_and_another_moderator_reverses_it(self):
        req, snapshot, path = self.file_and_reject()
        page = self.client.get(path, headers=EN)
        self.assertContains(page, "you may appeal it until")
        with sending_mail():
            response = self.client.post(path, {"action": "appeal", "appeal-reason": "我已补充了著作权登记证书。"})
        self.assertRedirects(response, path)
        appeal = Appeal.objects.get()
        self.assertEqual(
            (appeal.party, appeal.status, list(appeal.items.all())), (Party.REQUESTER, "open", [req.items.get()])
        )
        self.assertEqual([m.to for m in mail.outbox], [["holder@example.org"]])  # the receipt of the appeal
        self.assertNotContains(self.client.get(path, headers=EN), 'value="appeal"')  # one open appeal at a time

        with sending_mail():
            services.appeal_reverse(appeal_id=appeal.pk, moderator=self.reviewer, reason="证书有效，改为批准。")
        req.refresh_from_db()
        self.assertEqual((req.status, req.ground), (Status.APPROVED, TakedownRequest.Ground.COPYRIGHT))
        self.assertEqual(list(req.items.values_list("outcome", "claim")), [("actioned", "standing")])
        self.assertEqual(status_of(snapshot), Snapshot.Status.WITHHELD)
        self.assertIn("证书有效，改为批准。", mail.outbox[-1].body)
        record = self.client.get(f"/transparency/?reference={req.reference}", headers=EN).content.decode()
        self.assertIn("by the requester: decision reversed", record)
        replayed_matches_database(self)

    def test_the_moderator_who_decided_may_not_review_the_appeal(self):
        req, _snapshot, _path = self.file_and_reject()
        appeal = services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="不服。")
        with self.assertRaisesMessage(services.TransitionError, req.reference):
            services.appeal_uphold(appeal_id=appeal.pk, moderator=self.decider, reason="维持。")
        services.appeal_uphold(appeal_id=appeal.pk, moderator=self.reviewer, reason="维持。")
        self.assertEqual(Appeal.objects.get().status, "upheld")
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.REJECTED)

    def test_an_appeal_is_possible_for_six_months_after_the_decision_and_not_after(self):
        req, _snapshot, path = self.file_and_reject()
        later = req.decided_at + timedelta(days=183)
        with mock.patch("django.utils.timezone.now", return_value=later):
            services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="在期限内。")
        services.appeal_uphold(appeal_id=Appeal.objects.get().pk, moderator=self.reviewer, reason="维持。")
        with mock.patch("django.utils.timezone.now", return_value=later + timedelta(days=1)):
            with self.assertRaisesMessage(services.TransitionError, req.reference):
                services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="太晚了。")
            self.assertNotContains(self.client.get(path, headers=EN), 'value="appeal"')

    def test_nothing_refused_means_nothing_for_the_requester_to_appeal(self):
        req = make_request(status=Status.APPROVED, moderator=self.decider)
        with self.assertRaises(services.TransitionError):
            services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="?")
        self.assertFalse(Appeal.objects.exists())

    def test_a_partial_approval_may_be_appealed_for_the_refused_urls_only(self):
        kept, refused = make_snapshot(), make_snapshot()
        req = make_request(kept, refused, status=Status.IN_REVIEW, moderator=self.decider)
        item = req.items.get(snapshot=refused)
        services.takedown_approve(
            request_id=req.pk, moderator=self.decider, reason="部分。", outcomes={item.pk: "refused"}
        )
        appeal = services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="第二篇也是我方的。")
        self.assertEqual(list(appeal.items.all()), [item])
        services.appeal_reverse(appeal_id=appeal.pk, moderator=self.reviewer, reason="成立。")
        self.assertEqual([status_of(kept), status_of(refused)], [Snapshot.Status.WITHHELD, Snapshot.Status.WITHHELD])


class SourceTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.decider = make_moderator("decider")
        cls.reviewer = make_moderator("reviewer")
        cls.source = make_source("来源报社")
        Source.objects.filter(pk=cls.source.pk).update(contact_email="legal@source.example")
        cls.quiet = make_source("没有联系方式的来源")

    def approve(self, *snapshots, **fields):
        req = make_request(*snapshots, status=Status.IN_REVIEW, moderator=self.decider, **fields)
        with sending_mail():
            services.takedown_approve(
                request_id=req.pk, moderator=self.decider, reason=f"成立。联系人 {req.name}，电话 13912345678。"
            )
        return TakedownRequest.objects.get(pk=req.pk)

    def test_the_source_is_sent_the_notice_without_the_requesters_private_data_and_the_decision(self):
        mine, other = make_snapshot(source=self.source), make_snapshot(source=self.quiet)
        req = self.approve(mine, other, name="欧阳寒梅", email="hanmei@private.example", phone="+86 139 0000 1111")
        to_source = [m for m in mail.outbox if m.to == ["legal@source.example"]]
        self.assertEqual(len(to_source), 1)  # and none to the source without an address
        self.assertEqual(SourceNotice.objects.get().source, self.source)
        body = to_source[0].body
        self.assertIn(req.reference, body)
        self.assertIn(mine.title, body)
        self.assertNotIn(other.title, body)  # another source's snapshot is not its business
        for private in ["欧阳寒梅", "hanmei@private.example", "139 0000 1111", "13912345678", req.address]:
            self.assertNotIn(private, body)
        self.assertIn("/takedown/counter/", body)
        self.assertIn("/takedown/status/", body)

    def test_the_sources_page_shows_its_snapshots_and_it_may_appeal_and_have_the_withholding_reversed(self):
        mine, other = make_snapshot(source=self.source), make_snapshot(source=self.quiet)
        req = self.approve(mine, other)
        path = secret_link(next(m for m in mail.outbox if m.to == ["legal@source.example"]))
        page = self.client.get(path, headers=EN)
        self.assertTemplateUsed(page, "moderation/takedownrequest_source.html")
        self.assertContains(page, mine.title)
        self.assertNotContains(page, other.title)
        self.assertNotContains(page, req.email)
        self.assertContains(page, "/takedown/counter/?url=")
        mail.outbox.clear()
        with sending_mail():
            self.client.post(path, {"action": "appeal", "appeal-reason": "该报道系本社原创，请求人并非权利人。"})
        appeal = Appeal.objects.get()
        self.assertEqual(
            (appeal.party, appeal.source, list(appeal.items.all())),
            (Party.SOURCE, self.source, [req.items.get(snapshot=mine)]),
        )
        self.assertEqual([m.to for m in mail.outbox], [["legal@source.example"]])

        mail.outbox.clear()
        with sending_mail():
            services.appeal_reverse(appeal_id=appeal.pk, moderator=self.reviewer, reason="来源方证明了权利。")
        self.assertEqual(status_of(mine), Snapshot.Status.PUBLISHED)
        self.assertEqual(status_of(other), Snapshot.Status.WITHHELD)  # the other source's stays
        self.assertEqual(
            dict(req.items.values_list("snapshot", "claim")), {mine.pk: Claim.REVERSED, other.pk: Claim.STANDING}
        )
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.APPROVED)
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), ["legal@source.example", req.email])
        replayed_matches_database(self)

    def test_a_request_all_of_whose_claims_are_reversed_shows_as_reversed_on_the_public_record(self):
        mine = make_snapshot(source=self.source)
        req = self.approve(mine)
        appeal = services.appeal_file(request_id=req.pk, party=Party.SOURCE, source=self.source, reason="原创。")
        services.appeal_reverse(appeal_id=appeal.pk, moderator=self.reviewer, reason="成立。")
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.REVERSED)
        record = self.client.get(f"/transparency/?reference={req.reference}", headers=EN).content.decode()
        self.assertIn("reversed on appeal", record)
        self.assertIn("lifted: reversed on appeal", record)
        self.assertIn("by the source of the snapshots: decision reversed", record)

    def test_a_source_may_counter_notice_its_snapshot_too(self):
        mine = make_snapshot(source=self.source)
        req = self.approve(mine)
        make_counter_notice(mine, email="legal@source.example")
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.DISPUTED)

    def test_an_unknown_or_overlong_source_token_is_not_found(self):
        for token in ["x" * 43, "y" * 400]:
            self.assertEqual(self.client.get(f"/takedown/status/{token}/").status_code, 404)


class AppealCommandTests(TestCase):
    def test_the_command_decides_an_appeal(self):
        decider, reviewer = make_moderator("decider"), make_moderator("reviewer")
        req = make_request(status=Status.REJECTED, moderator=decider)
        services.appeal_file(request_id=req.pk, party=Party.REQUESTER, reason="不服。")
        out = io.StringIO()
        call_command("takedown", "appeal_reverse", req.reference, "--by", "reviewer", "--reason", "成立。", stdout=out)
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.APPROVED)
        self.assertEqual(Appeal.objects.get().decided_by, reviewer)
        self.assertEqual(list(req.events.values_list("action", flat=True))[-2:], ["appeal", "appeal_reverse"])
