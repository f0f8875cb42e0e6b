from datetime import datetime

from django.contrib.auth.models import User
from django.test import TestCase

from articles.models import SHANGHAI, Snapshot
from articles.services import BulkResult, snapshot_move_to_category, snapshot_set_status

from .helpers import make_category, make_snapshot, make_source


def statuses(*snapshots: Snapshot) -> list[str]:
    return [Snapshot.objects.get(pk=s.pk).status for s in snapshots]


class SnapshotSetStatusTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.editor = User.objects.create_user("editor")
        cls.published = make_snapshot(title="公开")
        cls.other_published = make_snapshot(title="另一篇公开")
        cls.hidden = make_snapshot(title="隐藏", status=Snapshot.Status.HIDDEN)
        cls.withheld = make_snapshot(title="屏蔽", status=Snapshot.Status.WITHHELD)

    def set_status(self, snapshots, status):
        return snapshot_set_status(snapshot_ids=[s.pk for s in snapshots], status=status, actor=self.editor)

    def test_hiding_published_snapshots_hides_them(self):
        result = self.set_status([self.published, self.other_published], Snapshot.Status.HIDDEN)
        self.assertEqual(result, BulkResult(changed=2, unchanged=0))
        self.assertEqual(statuses(self.published, self.other_published), ["hidden", "hidden"])
        self.assertFalse(Snapshot.objects.published().filter(pk=self.published.pk).exists())

    def test_publishing_a_hidden_snapshot_makes_it_public_again(self):
        result = self.set_status([self.hidden, self.published], Snapshot.Status.PUBLISHED)
        self.assertEqual(result, BulkResult(changed=1, unchanged=1))
        self.assertEqual(statuses(self.hidden, self.published), ["published", "published"])

    def test_an_editor_may_hide_or_publish_a_withheld_snapshot_which_stays_withheld_until_the_decision_is_lifted(self):
        result = self.set_status([self.withheld, self.hidden, self.published], Snapshot.Status.HIDDEN)
        self.assertEqual(result, BulkResult(changed=2, unchanged=1, withheld=1))
        self.assertEqual(statuses(self.withheld, self.hidden, self.published), ["hidden", "hidden", "hidden"])

        result = self.set_status([self.withheld, self.hidden, self.published], Snapshot.Status.PUBLISHED)
        self.assertEqual(result, BulkResult(changed=3, unchanged=0, withheld=1))
        self.assertEqual(statuses(self.withheld, self.hidden, self.published), ["withheld", "published", "published"])
        self.assertTrue(Snapshot.objects.get(pk=self.withheld.pk).withheld)

    def test_editors_cannot_withhold(self):
        with self.assertRaisesMessage(ValueError, "Editors may only set published or hidden, not 'withheld'"):
            self.set_status([self.published], Snapshot.Status.WITHHELD)
        self.assertEqual(statuses(self.published), ["published"])

    def test_each_change_is_recorded_in_history_with_the_acting_editor(self):
        before = self.published.history.count()
        self.set_status([self.published, self.hidden], Snapshot.Status.HIDDEN)
        self.assertEqual(self.published.history.count(), before + 1)
        record = self.published.history.latest()
        self.assertEqual(
            (record.status, record.history_user, record.history_type, record.history_change_reason),
            ("hidden", self.editor, "~", "status: hidden"),
        )
        self.assertEqual(record.prev_record.status, "published")

    def test_unchanged_snapshots_get_no_history_record(self):
        counts = [self.hidden.history.count()]
        self.set_status([self.hidden], Snapshot.Status.HIDDEN)
        self.assertEqual([self.hidden.history.count()], counts)

    def test_a_snapshot_without_history_gets_its_prior_state_recorded_first_so_it_can_be_reverted(self):
        (bare,) = Snapshot.objects.bulk_create(
            [
                Snapshot(
                    key="b" * 40,
                    title="无历史",
                    category=make_category(),
                    source=make_source(),
                    published_at=datetime(2024, 4, 1, tzinfo=SHANGHAI),
                    captured_at=datetime(2024, 4, 2, tzinfo=SHANGHAI),
                    collected_by="test.crawler",
                    content_hash="0" * 64,
                )
            ]
        )
        bare = Snapshot.objects.get(key="b" * 40)
        self.assertFalse(bare.history.exists())
        self.set_status([bare], Snapshot.Status.HIDDEN)
        self.assertEqual(
            list(bare.history.order_by("history_date", "history_id").values_list("status", "history_user")),
            [("published", None), ("hidden", self.editor.pk)],
        )


class SnapshotMoveToCategoryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.editor = User.objects.create_user("editor")
        cls.finance = make_category("财经")
        cls.tech = make_category("科技")
        cls.first = make_snapshot(category=cls.finance)
        cls.second = make_snapshot(category=cls.finance)
        cls.already = make_snapshot(category=cls.tech)

    def test_moves_snapshots_to_the_category_and_counts_those_already_there(self):
        result = snapshot_move_to_category(
            snapshot_ids=[self.first.pk, self.second.pk, self.already.pk], category=self.tech, actor=self.editor
        )
        self.assertEqual(result, BulkResult(changed=2, unchanged=1))
        self.assertEqual(set(Snapshot.objects.values_list("category__name", flat=True)), {"科技"})

    def test_each_move_is_recorded_in_history_with_the_acting_editor(self):
        before = self.first.history.count()
        snapshot_move_to_category(snapshot_ids=[self.first.pk, self.already.pk], category=self.tech, actor=self.editor)
        self.assertEqual(self.first.history.count(), before + 1)
        record = self.first.history.latest()
        self.assertEqual(
            (record.category_id, record.history_user, record.history_change_reason),
            (self.tech.pk, self.editor, "category: 科技"),
        )
        self.assertEqual(record.prev_record.category_id, self.finance.pk)
        self.assertEqual(self.already.history.count(), 1)
