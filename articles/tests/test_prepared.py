from django.test import TestCase

from articles.models import Snapshot
from articles.prepared import PreparedQuery

from .helpers import make_category, make_snapshot, make_source


def newest_in_category(limit: int, *, category_id: int, snapshot_id: int):
    return (
        Snapshot.objects.published()
        .filter(category_id=category_id)
        .exclude(pk=snapshot_id)
        .for_listing()
        .newest_first()[:limit]
    )


class PreparedQueryTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.categories = [make_category("财经", "caijing"), make_category("体育", "tiyu")]
        source = make_source()
        cls.snapshots = [
            make_snapshot(title=f"快照{n}", category=cls.categories[n % 2], source=source) for n in range(6)
        ]

    def test_each_call_gives_the_rows_its_queryset_gives_for_its_values(self):
        prepared = PreparedQuery(Snapshot, newest_in_category)
        for category in self.categories:
            for snapshot in self.snapshots:
                for limit in (1, 5):
                    expected = list(newest_in_category(limit, category_id=category.pk, snapshot_id=snapshot.pk))
                    with self.assertNumQueries(1):
                        rows = prepared(limit, category_id=category.pk, snapshot_id=snapshot.pk)
                    self.assertEqual(rows, expected)
                    # Related objects come with them, as select_related makes them.
                    self.assertEqual(
                        [(row.title, row.category.name, row.source.name) for row in rows],
                        [(row.title, row.category.name, row.source.name) for row in expected],
                    )

    def test_a_string_value_and_dict_rows_work_as_in_the_queryset(self):
        prepared = PreparedQuery(Snapshot, lambda *, key: Snapshot.objects.filter(key=key).values("title", "key"))
        for snapshot in self.snapshots:
            self.assertEqual(prepared(key=snapshot.key), [{"title": snapshot.title, "key": snapshot.key}])
        self.assertEqual(prepared(key="0" * 40), [])

    def test_a_value_the_sql_does_not_take_is_refused(self):
        prepared = PreparedQuery(Snapshot, lambda *, key, pk: Snapshot.objects.filter(key=key))
        with self.assertRaisesMessage(ValueError, "no parameter for pk"):
            prepared(key="a" * 40, pk=1)
