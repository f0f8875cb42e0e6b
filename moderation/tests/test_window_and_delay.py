"""The changes window (TAKEDOWN_CHANGES_WINDOW_HOURS) between an approval and its effect, and the
per-requester delay before a decision appears in the public record."""

import json
from datetime import timedelta
from unittest import mock

from django.core import mail
from django.test import override_settings
from django.utils import timezone

from articles.models import Snapshot, Source
from articles.tests.helpers import make_source
from moderation import services
from moderation.models import Appeal, TakedownItem, TakedownRequest
from newsarchive.testing import sending_mail

from .helpers import EN, PublicPageTestCase, make_moderator, make_request, make_snapshot
from .test_workflow import replayed_matches_database

Status = TakedownRequest.Status
Claim = TakedownItem.Claim


def status_of(snapshot) -> str:
    return Snapshot.objects.values_list("status", flat=True).get(pk=snapshot.pk)


@override_settings(TAKEDOWN_CHANGES_WINDOW_HOURS=48)
class ChangesWindowTests(PublicPageTestCase):
    @classmethod
    def setUpTestData(cls):
        cls.decider, cls.reviewer = make_moderator("decider"), make_moderator("reviewer")
        cls.source = make_source("有联系方式的来源")
        Source.objects.filter(pk=cls.source.pk).update(contact_email="desk@source.example")

    def approve(self, snapshot):
        req = make_request(snapshot, status=Status.IN_REVIEW, moderator=self.decider)
        mail.outbox.clear()
        services.takedown_approve(request_id=req.pk, moderator=self.decider, reason="成立。")
        return TakedownRequest.objects.get(pk=req.pk)

    def test_an_approval_takes_effect_when_the_window_ends_and_the_source_is_told_meanwhile(self):
        snapshot = make_snapshot(source=self.source)
        before = timezone.now()
        req = self.approve(snapshot)
        item = req.items.get()
        self.assertEqual(item.claim, Claim.SCHEDULED)
        self.assertTrue(before + timedelta(hours=48) <= item.effective_at <= timezone.now() + timedelta(hours=48))
        self.assertEqual(status_of(snapshot), Snapshot.Status.PUBLISHED)  # not yet
        self.assertEqual(self.client.get(snapshot.get_absolute_url()).status_code, 200)
        self.assertEqual(services.takedown_tick(now=item.effective_at - timedelta(minutes=1)).took_effect, [])
        with sending_mail():
            self.assertEqual(services.takedown_tick(now=item.effective_at).took_effect, [req.reference])
        self.assertEqual((req.items.get().claim, status_of(snapshot)), (Claim.STANDING, Snapshot.Status.WITHHELD))
        event = req.events.latest("id")
        self.assertEqual((event.action, event.actor, event.actor_label), ("take_effect", None, "system"))
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), ["desk@source.example", req.email])
        replayed_matches_database(self)

    def test_a_source_appeal_in_the_window_holds_the_effect_until_it_is_reviewed(self):
        snapshot = make_snapshot(source=self.source)
        req = self.approve(snapshot)
        appeal = services.appeal_file(request_id=req.pk, party=Appeal.Party.SOURCE, source=self.source, reason="原创。")
        later = timezone.now() + timedelta(days=3)
        self.assertEqual(services.takedown_tick(now=later).took_effect, [])
        self.assertEqual(status_of(snapshot), Snapshot.Status.PUBLISHED)
        services.appeal_uphold(appeal_id=appeal.pk, moderator=self.reviewer, reason="维持。")
        self.assertEqual(services.takedown_tick(now=later).took_effect, [req.reference])
        self.assertEqual(status_of(snapshot), Snapshot.Status.WITHHELD)

    def test_a_source_appeal_reversed_in_the_window_means_the_snapshot_is_never_withheld(self):
        snapshot = make_snapshot(source=self.source)
        req = self.approve(snapshot)
        appeal = services.appeal_file(request_id=req.pk, party=Appeal.Party.SOURCE, source=self.source, reason="原创。")
        services.appeal_reverse(appeal_id=appeal.pk, moderator=self.reviewer, reason="成立。")
        services.takedown_tick(now=timezone.now() + timedelta(days=3))
        self.assertEqual((req.items.get().claim, status_of(snapshot)), (Claim.REVERSED, Snapshot.Status.PUBLISHED))
        self.assertEqual(TakedownRequest.objects.get(pk=req.pk).status, Status.REVERSED)

    def test_withdrawing_in_the_window_means_the_snapshot_is_never_withheld(self):
        snapshot = make_snapshot()
        req = self.approve(snapshot)
        services.takedown_withdraw(request_id=req.pk)
        services.takedown_tick(now=timezone.now() + timedelta(days=3))
        self.assertEqual((req.items.get().claim, status_of(snapshot)), (Claim.WITHDRAWN, Snapshot.Status.PUBLISHED))

    @override_settings(TAKEDOWN_CHANGES_WINDOW_HOURS=0)
    def test_by_default_there_is_no_window(self):
        snapshot = make_snapshot()
        self.approve(snapshot)
        self.assertEqual(status_of(snapshot), Snapshot.Status.WITHHELD)


class PublicationDelayTests(PublicPageTestCase):
    def test_a_requesters_decisions_appear_in_the_public_record_after_their_delay(self):
        moderator = make_moderator()
        first = make_request(status=Status.IN_REVIEW, moderator=moderator, organisation="延迟发布的机构")
        services.requester_set_publication_delay(
            requester_id=first.requester_id, moderator=moderator, days=10, note="机构需要先通知其客户。"
        )
        event = first.requester.events.get()
        self.assertEqual((event.action, event.actor, event.data["days"]), ("set_publication_delay", moderator, 10))
        services.takedown_approve(request_id=first.pk, moderator=moderator, reason="成立。")
        req = TakedownRequest.objects.get(pk=first.pk)
        self.assertEqual(req.publish_after, req.decided_at + timedelta(days=10))
        other = make_request(status=Status.APPROVED, moderator=moderator, email="other@example.org")

        def published_references():
            html = self.client.get("/transparency/", headers=EN).content.decode()
            data = json.loads(self.client.get("/transparency/decisions.json").content)
            in_json = {d["reference"] for d in data["decisions"]}
            return {ref for ref in (req.reference, other.reference) if f'id="{ref}"' in html}, in_json

        self.assertEqual(published_references(), ({other.reference}, {other.reference}))
        with mock.patch("django.utils.timezone.now", return_value=req.publish_after):
            self.assertEqual(published_references(), ({req.reference, other.reference},) * 2)
