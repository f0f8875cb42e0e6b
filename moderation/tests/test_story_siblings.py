"""A removal request for one reprint shows the other copies of its story, which a moderator adds
to the decision with one action; the requester is told which were added."""

from django.core import mail
from django.test import TestCase
from django.urls import reverse

from articles.stories import stories_place, story_siblings
from articles.tests.test_stories import make_reprints
from moderation import services
from moderation.models import ModerationEvent, TakedownItem, TakedownRequest
from newsarchive.testing import sending_mail

from .helpers import make_moderator, make_request, make_snapshot

Status = TakedownRequest.Status


class StorySiblingsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.reprints[4].editor_status = "hidden"
        cls.reprints[4].save()
        stories_place(snapshot_ids=[s.pk for s in cls.reprints])
        cls.moderator = make_moderator()
        cls.request = make_request(cls.reprints[1], status=Status.IN_REVIEW, moderator=cls.moderator)

    def test_the_siblings_of_a_listed_snapshot_are_its_storys_other_snapshots_in_any_state(self):
        siblings = story_siblings(snapshot_ids=[self.reprints[1].pk])
        self.assertEqual([s.pk for s in siblings], [s.pk for s in self.reprints if s != self.reprints[1]])
        self.assertEqual(story_siblings(snapshot_ids=[make_snapshot().pk]), [])

    def test_adding_them_lists_each_once_records_it_and_tells_the_requester_which(self):
        siblings = [s.pk for s in story_siblings(snapshot_ids=[self.reprints[1].pk])]
        with sending_mail():
            added = services.takedown_add_items(
                request_id=self.request.pk, snapshot_ids=[*siblings, self.reprints[1].pk], moderator=self.moderator
            )
        self.assertEqual([item.snapshot_id for item in added], siblings)
        items = list(self.request.items.order_by("position"))
        self.assertEqual([item.snapshot_id for item in items], [self.reprints[1].pk, *siblings])
        self.assertEqual([item.position for item in items], [1, 2, 3, 4, 5])
        event = ModerationEvent.objects.filter(request=self.request).order_by("id").last()
        self.assertEqual((event.action, event.actor, event.to_status), ("add_items", self.moderator, Status.IN_REVIEW))
        self.assertEqual(len(mail.outbox), 1)
        for item in added:
            self.assertIn(item.url, mail.outbox[0].body)
        self.assertIn(self.request.reference, mail.outbox[0].subject)
        again = services.takedown_add_items(request_id=self.request.pk, snapshot_ids=siblings, moderator=self.moderator)
        self.assertEqual(again, [])

    def test_approving_then_withholds_the_added_copies_too(self):
        siblings = [s.pk for s in story_siblings(snapshot_ids=[self.reprints[1].pk])]
        services.takedown_add_items(request_id=self.request.pk, snapshot_ids=siblings, moderator=self.moderator)
        services.takedown_approve(request_id=self.request.pk, moderator=self.moderator, reason="同一作品的转载。")
        rows = self.request.items.values_list("snapshot_id", "snapshot__status", "snapshot__withheld")
        # Every copy is withheld; the one an editor hid stays hidden (hidden wins), withheld beneath.
        self.assertTrue(all(withheld for _pk, _status, withheld in rows))
        statuses = {pk: status for pk, status, _withheld in rows}
        self.assertEqual(statuses.pop(self.reprints[4].pk), "hidden")
        self.assertEqual(set(statuses.values()), {"withheld"})
        # Each added copy claims the work of the listed snapshot of its story.
        self.assertEqual(set(self.request.items.values_list("work", flat=True)), {self.request.works.get().pk})

    def test_nothing_can_be_added_to_a_decided_request(self):
        services.takedown_reject(request_id=self.request.pk, moderator=self.moderator, reason="证据不足。")
        with self.assertRaises(services.TransitionError):
            services.takedown_add_items(
                request_id=self.request.pk, snapshot_ids=[self.reprints[0].pk], moderator=self.moderator
            )
        self.assertEqual(self.request.items.count(), 1)

    def test_only_moderators_add(self):
        from articles.tests.helpers import make_editor

        with self.assertRaises(services.TransitionError):
            services.takedown_add_items(
                request_id=self.request.pk, snapshot_ids=[self.reprints[0].pk], moderator=make_editor()
            )

    def test_the_request_page_shows_the_copies_and_one_action_adds_them(self):
        self.client.force_login(self.moderator)
        page = self.client.get(reverse("admin:moderation_takedownrequest_change", args=[self.request.pk]))
        content = page.content.decode()
        self.assertIn('id="story-siblings"', content)
        for sibling in self.reprints:
            if sibling != self.reprints[1]:
                self.assertIn(sibling.title, content.split('id="story-siblings"')[1])
        response = self.client.post(
            reverse("admin:moderation_takedownrequest_changelist"),
            {"action": "add_story_siblings", "_selected_action": [self.request.pk], "index": 0},
        )
        self.assertEqual(response.status_code, 302)
        self.assertEqual(TakedownItem.objects.filter(request=self.request).count(), 5)
