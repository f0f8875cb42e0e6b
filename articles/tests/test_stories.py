import io
from datetime import datetime, timedelta
from unittest import mock

from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.test import TestCase, override_settings

from articles import keyphrases, stories, tasks
from articles.importing import Origin, build_capture
from articles.keyphrases import (
    excerpt,
    key_phrases,
    phrase_candidates,
    related_compute,
    related_links_of,
    segment,
    words,
)
from articles.models import (
    SHANGHAI,
    ComputedRelatedLink,
    KeyPhrase,
    Snapshot,
    SnapshotAnalysis,
    StoryBand,
    TermFrequency,
)
from articles.services import snapshots_import
from articles.stories import shingles, similarity, stories_place, story_reprints, story_text, texts_prepare
from articles.tasks import place_in_stories
from newsarchive.testing import run_tasks

from .helpers import make_snapshot, make_source, status_fields
from .stories_data import ADDED, ORIGINAL, REBYLINED, REPUNCTUATED, SAME_TOPIC, SEED_PARAGRAPHS, TRIMMED, html

START = datetime(2023, 9, 14, 11, 24, tzinfo=SHANGHAI)


def make_same_topic() -> list[Snapshot]:
    """Articles on the reprints' topic that are not reprints of them: other stories, a day apart."""
    return [
        make_snapshot(body=body, title=f"鲁西新区新闻{n}", published_at=START + timedelta(days=n + 1))
        for n, body in enumerate(SAME_TOPIC)
    ]


def make_reprints() -> list[Snapshot]:
    """The seed article and four reprints of it, each under its own source and headline, an hour apart."""
    bodies = [ORIGINAL, TRIMMED, ADDED, REPUNCTUATED, REBYLINED]
    return [
        make_snapshot(
            title=f"鲁西新区以环境之“优”谋发展之“势”（{n}）",
            body=body,
            source=make_source(f"转载网站{n}"),
            published_at=START + timedelta(hours=n),
        )
        for n, body in enumerate(bodies)
    ]


def place(*snapshots: Snapshot):
    return stories_place(snapshot_ids=[s.pk for s in snapshots])


def story_of(snapshot: Snapshot) -> int | None:
    return Snapshot.objects.values_list("story_id", flat=True).get(pk=snapshot.pk)


class ComparingTextsTests(TestCase):
    def test_punctuation_spacing_and_full_width_forms_do_not_count(self):
        self.assertEqual(story_text("<p>鲁西新区，发展“加速度”。</p>"), story_text("<p>鲁西新区, 发展 加速度.</p>"))
        self.assertEqual(story_text("<p>ＡＢＣ １２３</p>"), "abc123")

    def test_a_trimmed_reprint_is_contained_in_its_original(self):
        containment, jaccard = similarity(shingles(story_text(TRIMMED)), shingles(story_text(ORIGINAL)))
        self.assertGreater(containment, 0.99)
        self.assertLess(jaccard, 0.9)

    def test_articles_on_the_same_topic_share_few_shingles(self):
        containment, jaccard = similarity(shingles(story_text(SAME_TOPIC[0])), shingles(story_text(ORIGINAL)))
        self.assertLess(containment, 0.2)
        self.assertLess(jaccard, 0.1)


class PlacingInStoriesTests(TestCase):
    def test_reprint_variants_form_one_story(self):
        reprints = make_reprints()
        result = place(*reprints)
        self.assertEqual(result.compared, 5)
        self.assertEqual(result.stories_made, 1)
        story_ids = {story_of(s) for s in reprints}
        self.assertEqual(len(story_ids), 1)
        self.assertIsNotNone(story_ids.pop())

    def test_reprints_arriving_later_join_the_story_of_the_earlier_ones(self):
        first, second, *later = make_reprints()
        place(first, second)
        story = story_of(first)
        self.assertIsNotNone(story)
        for reprint in later:
            place(reprint)
        self.assertEqual({story_of(s) for s in later}, {story})

    def test_same_topic_articles_that_are_not_reprints_stay_apart(self):
        original = make_snapshot(body=ORIGINAL)
        others = [make_snapshot(body=body, title="鲁西新区营商环境持续优化") for body in SAME_TOPIC]
        result = place(original, *others)
        self.assertEqual(result.joined, 0)
        self.assertEqual([story_of(s) for s in (original, *others)], [None, None, None])

    def test_every_compared_snapshot_is_in_the_band_index(self):
        original, trimmed = make_reprints()[:2]
        place(original, trimmed)
        self.assertEqual(StoryBand.objects.filter(snapshot=original).count(), 32)

    def test_placing_again_an_unchanged_text_changes_nothing(self):
        reprints = make_reprints()
        place(*reprints)
        story = story_of(reprints[0])
        result = place(*reprints)
        self.assertEqual((result.compared, result.unchanged), (0, 5))
        self.assertEqual({story_of(s) for s in reprints}, {story})

    def test_a_body_edited_into_another_text_moves_the_snapshot_out_of_its_story(self):
        reprints = make_reprints()
        place(*reprints)
        story = story_of(reprints[0])
        edited = reprints[2]
        Snapshot.objects.filter(pk=edited.pk).update(body=SAME_TOPIC[1])
        result = place(edited)
        self.assertEqual(result.moved_out, 1)
        self.assertIsNone(story_of(edited))
        self.assertEqual({story_of(s) for s in reprints if s != edited}, {story})

    def test_a_story_left_with_one_snapshot_ends(self):
        original, trimmed = make_reprints()[:2]
        place(original, trimmed)
        Snapshot.objects.filter(pk=trimmed.pk).update(body=SAME_TOPIC[0])
        place(trimmed)
        self.assertEqual([story_of(original), story_of(trimmed)], [None, None])

    def test_a_text_too_short_to_judge_is_in_no_story(self):
        one = make_snapshot(body="<p>图片新闻：鲁西新区秋色。</p>")
        two = make_snapshot(body="<p>图片新闻：鲁西新区秋色。</p>")
        place(one, two)
        self.assertEqual([story_of(one), story_of(two)], [None, None])
        self.assertEqual(SnapshotAnalysis.objects.get(pk=one.pk).text_digest, "")

    def test_the_similarity_threshold_is_a_setting(self):
        # A paragraph trimmed and a long one added: Jaccard about 0.7, containment below 0.9.
        body = html([*SEED_PARAGRAPHS[:5], "新区管委会相关负责人在接受采访时说，" + SAME_TOPIC[1][3:300]])
        original, changed = make_snapshot(body=ORIGINAL), make_snapshot(body=body)
        containment, jaccard = similarity(shingles(story_text(body)), shingles(story_text(ORIGINAL)))
        self.assertTrue(0.5 < jaccard < 0.9 and containment < 0.9, (containment, jaccard))
        with self.settings(STORIES_SIMILARITY=0.95):
            place(original, changed)
        self.assertIsNone(story_of(changed))
        Snapshot.objects.filter(pk=changed.pk).update(body=body + "<p>再次导入。</p>")
        place(changed)
        self.assertIsNotNone(story_of(changed))
        self.assertEqual(story_of(changed), story_of(original))


class PreparedBeforeTheLockTests(TestCase):
    def test_prepared_texts_are_placed_as_others_and_a_body_changed_since_is_computed_again(self):
        reprints = make_reprints()
        ids = [s.pk for s in reprints]
        prepared = texts_prepare({s.pk: s.body for s in reprints})
        self.assertEqual(len(prepared), len(reprints))
        Snapshot.objects.filter(pk=reprints[4].pk).update(body=SAME_TOPIC[0])  # edited after preparing
        with mock.patch("articles.stories.signature", side_effect=stories.signature) as computed:
            stories_place(snapshot_ids=ids, prepared=prepared)
        self.assertEqual(computed.call_count, 1)  # the edited body's, alone
        story = story_of(reprints[0])
        self.assertIsNotNone(story)
        self.assertEqual([story_of(s) for s in reprints[:4]], [story] * 4)
        self.assertIsNone(story_of(reprints[4]))


class StoryReprintsTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        place(*cls.reprints)

    def test_a_story_lists_its_other_published_snapshots_earliest_first_with_their_number(self):
        shown = story_reprints(self.reprints[2])
        self.assertEqual([s.pk for s in shown], [s.pk for s in self.reprints if s != self.reprints[2]])
        self.assertEqual({s.reprints_total for s in shown}, {4})

    def test_a_withheld_or_hidden_member_vanishes_from_its_storys_public_list(self):
        Snapshot.objects.filter(pk=self.reprints[0].pk).update(**status_fields(Snapshot.Status.WITHHELD))
        Snapshot.objects.filter(pk=self.reprints[1].pk).update(**status_fields(Snapshot.Status.HIDDEN))
        shown = story_reprints(self.reprints[4])
        self.assertEqual([s.pk for s in shown], [s.pk for s in self.reprints[2:4]])
        self.assertEqual(shown[0].reprints_total, 2)

    def test_a_limit_shows_fewer_but_still_counts_them_all(self):
        shown = story_reprints(self.reprints[0], limit=2)
        self.assertEqual(len(shown), 2)
        self.assertEqual(shown[0].reprints_total, 4)

    def test_a_snapshot_in_no_story_has_no_reprints(self):
        alone = make_snapshot(body=SAME_TOPIC[0])
        place(alone)
        with self.assertNumQueries(1):
            self.assertEqual(story_reprints(alone), [])

    def test_one_entry_per_story_keeps_each_storys_first_seen_with_its_size(self):
        alone = make_snapshot(body=SAME_TOPIC[0], published_at=START + timedelta(hours=2, minutes=30))
        rows = list(Snapshot.objects.published().one_per_story().newest_first())
        self.assertEqual([(s.pk, s.story_size) for s in rows], [(alone.pk, None), (self.reprints[0].pk, 5)])

    def test_one_entry_per_story_keeps_the_first_seen_among_what_the_list_holds(self):
        later = Snapshot.objects.published().filter(published_at__gte=START + timedelta(hours=2))
        rows = list(later.one_per_story())
        self.assertEqual([s.pk for s in rows], [self.reprints[2].pk])
        Snapshot.objects.filter(pk=self.reprints[0].pk).update(**status_fields(Snapshot.Status.WITHHELD))
        rows = list(Snapshot.objects.published().one_per_story())
        self.assertEqual([(s.pk, s.story_size) for s in rows], [(self.reprints[1].pk, 4)])


def capture(n: int, body: str, **fields) -> object:
    data = {
        "url": f"https://news.example.com/{n}.html",
        "title": f"鲁西新区以环境之“优”谋发展之“势”{n}",
        "category": "财经",
        "source": f"来源{n}",
        "published_at": (START + timedelta(hours=n)).isoformat(),
        "captured_at": (START + timedelta(hours=n + 3)).isoformat(),
        "collected_by": "test.crawler",
        "body_html": body,
    } | fields
    return build_capture(Origin("test", n), data)


class ArrivalTests(TestCase):
    def test_imported_reprints_are_placed_in_one_story_by_the_worker(self):
        snapshots_import(records=[capture(n, body) for n, body in enumerate([ORIGINAL, TRIMMED, REBYLINED])])
        self.assertEqual(Snapshot.objects.filter(story__isnull=False).count(), 0)
        run_tasks()
        self.assertEqual(Snapshot.objects.filter(story__isnull=False).values("story").distinct().count(), 1)
        self.assertEqual(Snapshot.objects.filter(story__isnull=False).count(), 3)

    def test_a_changed_capture_whose_body_is_another_text_leaves_the_story(self):
        snapshots_import(records=[capture(n, body) for n, body in enumerate([ORIGINAL, TRIMMED, ADDED])])
        run_tasks()
        snapshots_import(records=[capture(2, SAME_TOPIC[0])])
        run_tasks()
        self.assertIsNone(Snapshot.objects.get(original_url="https://news.example.com/2.html").story_id)
        self.assertEqual(Snapshot.objects.filter(story__isnull=False).count(), 2)


class BulkLoadTests(TestCase):
    def test_a_load_is_counted_whole_before_its_lists_are_weighed_so_none_goes_stale(self):
        first, second = make_reprints(), make_same_topic()
        place_in_stories.enqueue([s.pk for s in first])
        place_in_stories.enqueue([s.pk for s in second])
        run_tasks()
        loaded = len(first) + len(second)
        self.assertEqual(TermFrequency.objects.get(term="").documents, loaded)  # each counted once
        self.assertEqual(set(SnapshotAnalysis.objects.values_list("related_documents", flat=True)), {loaded})
        self.assertEqual(keyphrases.stale_related(limit=None), [])
        lists = list(ComputedRelatedLink.objects.order_by("snapshot", "position").values_list("snapshot", "target"))
        self.assertTrue(lists)
        related_compute(snapshot_ids=[s.pk for s in [*first, *second]])  # weighed again, all counted
        self.assertEqual(
            list(ComputedRelatedLink.objects.order_by("snapshot", "position").values_list("snapshot", "target")), lists
        )

    def test_a_snapshot_placed_again_is_not_counted_again(self):
        snapshot = make_snapshot(body=ORIGINAL)
        place_in_stories.call([snapshot.pk])
        Snapshot.objects.filter(pk=snapshot.pk).update(body=html(["城市马拉松周日开跑，三万名跑者将沿江而行。"]))
        place_in_stories.call([snapshot.pk])
        self.assertEqual(TermFrequency.objects.get(term="").documents, 1)
        self.assertEqual(TermFrequency.objects.get(term="鲁西").documents, 1)


class KeyPhraseTests(TestCase):
    def test_words_leave_out_numbers_signs_and_stop_words(self):
        found = [w for w in words("2023年，我们在鲁西新区进行调研。") if w]
        self.assertIn("鲁西", found)
        self.assertNotIn("我们", found)
        self.assertNotIn("2023", found)

    def test_neighbouring_words_seen_together_become_one_phrase(self):
        text = "鲁西新区发展。鲁西新区招商。鲁西新区服务。"
        phrases = dict(key_phrases(phrase_candidates(words(text)), lambda word: 1.0))
        self.assertIn("鲁西新区", phrases)
        self.assertNotIn("鲁西", phrases)

    def test_rare_words_outweigh_common_ones(self):
        idf = {"鲁西": 5.0, "新区": 5.0, "发展": 1.0}.get
        candidates = phrase_candidates(["发展", None, "发展", None, "鲁西", None])
        phrases = key_phrases(candidates, lambda word: idf(word, 1.0))
        self.assertEqual(phrases[0][0], "鲁西")

    def test_an_excerpt_is_centred_on_the_phrase_with_a_leading_ellipsis(self):
        text = "甲" * 100 + "鲁西新区" + "乙" * 100
        shown = excerpt(text, "鲁西新区", length=40)
        self.assertTrue(shown.startswith("…"))
        self.assertEqual(shown, "…" + "甲" * 18 + "鲁西新区" + "乙" * 18)
        self.assertEqual(excerpt("鲁西新区在前", "鲁西新区"), "鲁西新区在前")


class RelatedComputedTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.others = make_same_topic()
        cls.unrelated = make_snapshot(
            body=html(["城市马拉松周日开跑，三万名跑者将沿江而行，赛道经过老城区和滨江公园。" * 3])
        )
        everything = [*cls.reprints, *cls.others, cls.unrelated]
        place(*everything)
        related_compute(snapshot_ids=[s.pk for s in everything])

    def targets(self, snapshot) -> list[int]:
        return list(
            ComputedRelatedLink.objects.filter(snapshot=snapshot).order_by("position").values_list("target", flat=True)
        )

    def test_same_topic_snapshots_of_other_stories_are_related_with_an_excerpt_on_a_shared_phrase(self):
        self.assertEqual(set(self.targets(self.reprints[0])), {s.pk for s in self.others})
        link = ComputedRelatedLink.objects.filter(snapshot=self.reprints[0]).first()
        self.assertIn(link.phrase, link.excerpt)

    def test_a_related_list_leaves_out_the_snapshot_itself_and_its_own_story(self):
        story = {s.pk for s in self.reprints}
        for snapshot in self.reprints:
            self.assertFalse(story & set(self.targets(snapshot)))

    def test_a_snapshot_sharing_no_phrase_has_no_related_list(self):
        self.assertEqual(self.targets(self.unrelated), [])

    def test_hidden_and_withheld_snapshots_are_never_computed_as_related(self):
        Snapshot.objects.filter(pk=self.others[0].pk).update(**status_fields(Snapshot.Status.HIDDEN))
        Snapshot.objects.filter(pk=self.others[1].pk).update(**status_fields(Snapshot.Status.WITHHELD))
        related_compute(snapshot_ids=[self.reprints[0].pk])
        self.assertEqual(self.targets(self.reprints[0]), [])

    def test_a_related_snapshot_withheld_later_vanishes_from_the_shown_list_at_once(self):
        crawled, computed = related_links_of(self.reprints[0])
        self.assertEqual(len(computed), 2)
        Snapshot.objects.filter(pk=self.others[0].pk).update(**status_fields(Snapshot.Status.WITHHELD))
        crawled, computed = related_links_of(self.reprints[0])
        self.assertEqual([link.target_key for link in computed], [self.others[1].key])

    @override_settings(ARTICLES_COMPUTED_RELATED=1)
    def test_the_number_of_computed_links_is_a_setting(self):
        related_compute(snapshot_ids=[self.reprints[0].pk])
        self.assertEqual(len(self.targets(self.reprints[0])), 1)

    def test_arrivals_are_counted_once_in_the_document_frequencies(self):
        from articles.models import TermFrequency

        documents = TermFrequency.objects.get(term="").documents
        related_compute(snapshot_ids=[self.reprints[0].pk])
        self.assertEqual(TermFrequency.objects.get(term="").documents, documents)
        self.assertEqual(documents, 8)


class SegmentedBeforeTheTransactionTests(TestCase):
    """`segment` (what a worker does before its transaction) changes no list, and is not used for a
    snapshot whose text changed in between."""

    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.others = make_same_topic()
        cls.everything = [*cls.reprints, *cls.others]
        place(*cls.everything)

    def lists(self) -> tuple[list, list]:
        return (
            list(
                ComputedRelatedLink.objects.order_by("snapshot", "position").values_list(
                    "snapshot", "target", "excerpt"
                )
            ),
            list(KeyPhrase.objects.order_by("snapshot", "phrase").values_list("snapshot", "phrase", "weight")),
        )

    def test_the_lists_are_those_computed_without_it_and_nothing_is_segmented_again(self):
        ids = [s.pk for s in self.everything]
        related_compute(snapshot_ids=ids)
        expected = self.lists()
        SnapshotAnalysis.objects.update(terms_counted=False)  # as if they had just arrived
        TermFrequency.objects.all().delete()
        ready = segment(ids)
        with mock.patch("articles.keyphrases.words", side_effect=AssertionError("segmented again")):
            related_compute(snapshot_ids=ids, segmented=ready)
        self.assertEqual(self.lists(), expected)

    def test_the_task_writes_its_lists_a_few_snapshots_a_transaction(self):
        # What the task must come to: the same task with every text segmented in its transactions.
        ids = [s.pk for s in self.everything]
        with transaction.atomic(), mock.patch.object(tasks, "RELATED_PER_TRANSACTION", 3):
            with mock.patch("articles.keyphrases.segment", return_value={}):
                tasks.compute_related.call(ids)
            expected = self.lists()
            transaction.set_rollback(True)
        self.assertTrue(expected[0])
        chunks = []
        real = keyphrases.related_compute

        def recording(**kwargs):
            if not kwargs.get("reuse_terms"):
                chunks.append(kwargs["snapshot_ids"])
            return real(**kwargs)

        with (
            mock.patch.object(tasks, "RELATED_PER_TRANSACTION", 3),
            mock.patch("articles.keyphrases.related_compute", side_effect=recording),
        ):
            tasks.compute_related.call(ids)
        self.assertEqual(sorted(pk for chunk in chunks for pk in chunk), sorted(ids))
        self.assertEqual(max(len(chunk) for chunk in chunks), 3)
        self.assertEqual(self.lists(), expected)

    def test_a_text_changed_after_segmenting_is_segmented_again(self):
        changed = self.others[0]
        ready = segment([changed.pk])
        Snapshot.objects.filter(pk=changed.pk).update(title="城市马拉松周日开跑", body=html(["三万名跑者将沿江而行。"]))
        related_compute(snapshot_ids=[changed.pk], segmented=ready)
        phrases = set(KeyPhrase.objects.filter(snapshot=changed).values_list("phrase", flat=True))
        self.assertTrue(phrases)
        self.assertFalse(phrases & {phrase for phrase, *_ in ready[changed.pk].candidates})


class WeighedBeforeTheTransactionTests(TestCase):
    """phrases_compute and lists_compute read and weigh outside their transaction; what changed in
    between is not written from the old reading."""

    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.others = make_same_topic()
        for snapshot in [*cls.reprints, *cls.others]:
            place_in_stories.call([snapshot.pk])  # placed and counted, one at a time

    def test_a_text_changed_while_it_was_weighed_gets_the_phrases_of_its_new_text(self):
        changed = self.others[0]
        real = keyphrases._weigh_apart

        def then_edited(*args):
            weighed = real(*args)
            Snapshot.objects.filter(pk=changed.pk).update(
                title="城市马拉松周日开跑", body=html(["三万名跑者将沿江而行。"])
            )
            return weighed

        with mock.patch("articles.keyphrases._weigh_apart", side_effect=then_edited):
            self.assertEqual(keyphrases.phrases_compute(snapshot_ids=[s.pk for s in self.others]), len(self.others))
        phrases = set(KeyPhrase.objects.filter(snapshot=changed).values_list("phrase", flat=True))
        self.assertIn("马拉松", phrases)
        self.assertNotIn("鲁西新区", phrases)
        self.assertTrue(KeyPhrase.objects.filter(snapshot=self.others[1]).exists())

    def test_a_snapshot_deleted_while_it_was_weighed_is_left_out(self):
        gone = self.others[0]
        real = keyphrases._weigh_apart

        def then_deleted(*args):
            weighed = real(*args)
            Snapshot.objects.filter(pk=gone.pk).delete()
            return weighed

        with mock.patch("articles.keyphrases._weigh_apart", side_effect=then_deleted):
            self.assertEqual(keyphrases.phrases_compute(snapshot_ids=[s.pk for s in self.others]), len(self.others) - 1)
        self.assertFalse(KeyPhrase.objects.filter(snapshot_id=gone.pk).exists())

    def test_a_snapshot_deleted_before_its_list_is_computed_is_left_out(self):
        gone = self.others[0]
        Snapshot.objects.filter(pk=gone.pk).delete()
        result = related_compute(snapshot_ids=[gone.pk, self.others[1].pk])
        self.assertEqual(result.computed, 1)
        self.assertFalse(SnapshotAnalysis.objects.filter(snapshot_id=gone.pk).exists())

    def test_a_target_deleted_while_the_lists_were_chosen_is_left_out(self):
        everything = [*self.reprints, *self.others]
        keyphrases.phrases_compute(snapshot_ids=[s.pk for s in everything])
        gone = self.others[0]
        real = keyphrases._link_rows

        def then_deleted(chosen):
            rows = real(chosen)
            self.assertIn(gone.pk, {row["target_id"] for row in rows})
            Snapshot.objects.filter(pk=gone.pk).delete()
            return rows

        with mock.patch("articles.keyphrases._link_rows", side_effect=then_deleted):
            result = keyphrases.lists_compute(snapshot_ids=[s.pk for s in self.reprints])
        self.assertEqual(result.computed, len(self.reprints))
        targets = set(ComputedRelatedLink.objects.values_list("target", flat=True))
        self.assertTrue(targets)
        self.assertNotIn(gone.pk, targets)


class CatchUpTests(TestCase):
    """`manage.py stories_catch_up` queues again the snapshots whose stories or related-list task was
    lost, and only those."""

    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.others = make_same_topic()
        place(*cls.reprints, *cls.others)
        related_compute(snapshot_ids=[s.pk for s in [*cls.reprints, *cls.others]])

    def catch_up(self, *args) -> str:
        out = io.StringIO()
        call_command("stories_catch_up", "--min-age-hours", "0", *args, stdout=out)
        return out.getvalue()

    def test_snapshots_whose_tasks_failed_get_their_story_and_list(self):
        never_placed, never_listed = self.reprints[1], self.others[0]
        SnapshotAnalysis.objects.filter(pk=never_placed.pk).delete()  # its placing task failed
        StoryBand.objects.filter(snapshot=never_placed).delete()
        Snapshot.objects.filter(pk=never_placed.pk).update(story=None)
        ComputedRelatedLink.objects.filter(snapshot=never_listed).delete()  # its related-list task failed
        SnapshotAnalysis.objects.filter(pk=never_listed.pk).update(related_documents=None)

        self.assertEqual(self.catch_up(), "Queued 2 snapshots in 1 tasks.\n")
        run_tasks()

        never_placed.refresh_from_db()
        self.assertEqual(never_placed.story_id, Snapshot.objects.get(pk=self.reprints[0].pk).story_id)
        self.assertTrue(ComputedRelatedLink.objects.filter(snapshot=never_listed).exists())
        self.assertEqual(self.catch_up(), "Queued 0 snapshots in 0 tasks.\n")

    def test_nothing_is_queued_while_the_stories_queue_still_holds_work(self):
        SnapshotAnalysis.objects.filter(pk=self.reprints[1].pk).delete()
        place_in_stories.enqueue([self.others[0].pk])
        self.assertEqual(self.catch_up(), "The stories queue still holds work: nothing queued.\n")
        run_tasks()
        self.assertEqual(self.catch_up(), "Queued 1 snapshots in 1 tasks.\n")

    def test_snapshots_younger_than_the_minimum_age_are_left_to_the_queue(self):
        SnapshotAnalysis.objects.filter(pk=self.reprints[1].pk).delete()
        out = io.StringIO()
        call_command("stories_catch_up", stdout=out)  # six hours by default
        self.assertEqual(out.getvalue(), "Queued 0 snapshots in 0 tasks.\n")


class StoryPagesTests(TestCase):
    """The snapshot page's reprints and computed related news; one entry per story on lists."""

    @classmethod
    def setUpTestData(cls):
        cls.reprints = make_reprints()
        cls.others = make_same_topic()
        Snapshot.objects.filter(pk=cls.reprints[1].pk).update(reprinted_from="人民网-山东频道")
        everything = [*cls.reprints, *cls.others]
        place(*everything)
        related_compute(snapshot_ids=[s.pk for s in everything])

    def page(self, snapshot, **params):
        response = self.client.get(snapshot.get_absolute_url(), params, headers={"Accept-Language": "zh-CN"})
        self.assertEqual(response.status_code, 200)
        return response.content.decode()

    def test_snapshot_page_lists_the_other_reprints_with_source_reprinted_from_and_times(self):
        page = self.page(self.reprints[2])
        self.assertIn("同一报道的其他转载 (4)", page)
        section = page.split('class="reprints"')[1].split("</section>")[0]
        for other in [self.reprints[0], self.reprints[1], self.reprints[3], self.reprints[4]]:
            self.assertIn(other.get_absolute_url(), section)
            self.assertIn(other.source.name, section)
            self.assertIn(other.captured_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), section)
        self.assertIn("转自：人民网-山东频道", section.replace(":", "："))
        self.assertNotIn(self.reprints[2].get_absolute_url(), section)

    def test_the_earliest_published_reprint_is_marked_first_seen(self):
        page = self.page(self.reprints[3])
        section = page.split('class="reprints"')[1].split("</section>")[0]
        self.assertEqual(section.count('class="first-seen"'), 1)
        first_item = section.split("<li>")[1]
        self.assertIn(self.reprints[0].get_absolute_url(), first_item)
        self.assertIn('class="first-seen"', first_item)
        page = self.page(self.reprints[0])
        self.assertIn('class="first-seen-note"', page)
        self.assertNotIn('class="first-seen"', page)

    def test_a_withheld_reprint_vanishes_from_the_page_at_once(self):
        self.page(self.reprints[2])  # cached
        Snapshot.objects.filter(pk=self.reprints[4].pk).update(**status_fields(Snapshot.Status.WITHHELD))
        page = self.page(self.reprints[2])
        self.assertIn("同一报道的其他转载 (3)", page)
        self.assertNotIn(self.reprints[4].get_absolute_url(), page)

    def test_a_reprint_placed_after_the_page_was_cached_shows_at_once(self):
        self.assertIn("同一报道的其他转载 (4)", self.page(self.reprints[0]))
        late = make_snapshot(body=TRIMMED, source=make_source("晚到的网站"), published_at=START + timedelta(days=9))
        self.assertIn("同一报道的其他转载 (4)", self.page(self.reprints[0]))  # not placed yet
        place(late)
        self.assertIn("同一报道的其他转载 (5)", self.page(self.reprints[0]))

    def test_computed_related_news_follow_the_crawled_links_with_excerpt_date_and_title(self):
        from .helpers import make_related_link

        make_related_link(self.reprints[0], title="抓取的相关链接", excerpt="抓取的摘要")
        page = self.page(self.reprints[0])
        self.assertIn("本站相关资讯", page)
        self.assertLess(page.index("抓取的摘要"), page.index("本站相关资讯"))
        section = page.split('class="computed-related"')[1].split("</section>")[0]
        for other in self.others:
            self.assertIn(other.title, section)
            self.assertIn(other.get_absolute_url(), section)
            self.assertIn(other.published_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"), section)
        self.assertEqual(section.count('<p class="excerpt">'), 2)
        self.assertEqual(section.count('<p class="excerpt">今年以来,鲁西新区聚焦营商环境建设'), 1)

    def test_a_computed_link_to_a_hidden_snapshot_vanishes_from_the_page(self):
        Snapshot.objects.filter(pk=self.others[0].pk).update(**status_fields(Snapshot.Status.HIDDEN))
        page = self.page(self.reprints[0])
        self.assertNotIn(self.others[0].get_absolute_url(), page)
        self.assertIn(self.others[1].get_absolute_url(), page)

    def test_snapshot_page_with_reprints_and_computed_links_keeps_its_query_count(self):
        from .query_counts import PAGE_CACHE_CHECK, RENDER

        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["detail"]):
            self.page(self.reprints[1])

    def test_category_page_shows_one_entry_per_story_when_asked_and_keeps_it_in_its_links(self):
        category = self.reprints[0].category
        with self.settings(ARTICLES_PAGE_SIZE=2):
            everything = self.client.get(category.get_absolute_url()).content.decode()
            page = self.client.get(category.get_absolute_url(), {"stories": "1"}).content.decode()
            older = self.client.get(category.get_absolute_url(), {"stories": "1", "before": "x"})
        self.assertEqual(older.status_code, 404)
        self.assertIn(self.others[1].title, everything)
        self.assertIn(self.others[1].title, page)
        self.assertIn("stories=1", page.split('rel="next"')[1].split(">")[0])
        cache.clear()  # the same address, now with pages of 20
        with self.settings(ARTICLES_PAGE_SIZE=20):
            page = self.client.get(category.get_absolute_url(), {"stories": "1"}).content.decode()
        self.assertIn("5 家转载", page)
        self.assertEqual(sum(page.count(s.get_absolute_url()) for s in self.reprints), 1)
        self.assertIn(self.reprints[0].get_absolute_url(), page)
        self.assertIn('name="stories" value="1" id="id_stories" checked', page)

    def test_category_page_with_one_entry_per_story_keeps_its_query_count(self):
        from .query_counts import PAGE_CACHE_CHECK, RENDER

        with self.assertNumQueries(PAGE_CACHE_CHECK + RENDER["category"]):
            response = self.client.get(self.reprints[0].category.get_absolute_url(), {"stories": "1"})
        self.assertContains(response, "5 家转载")

    def test_search_shows_one_entry_per_story_when_asked(self):
        everything = self.client.get("/search/", {"q": "鲁西新区"}).content.decode()
        self.assertEqual(sum(everything.count(s.get_absolute_url()) for s in self.reprints), 5)
        page = self.client.get("/search/", {"q": "鲁西新区", "stories": "1"}).content.decode()
        self.assertEqual(sum(page.count(s.get_absolute_url()) for s in self.reprints), 1)
        self.assertIn("5 家转载", page)
        for other in self.others:
            self.assertIn(other.get_absolute_url(), page)

    def test_search_by_relevance_shows_one_entry_per_story_too(self):
        page = self.client.get("/search/", {"q": "鲁西新区", "stories": "1", "order": "relevance"}).content.decode()
        self.assertEqual(sum(page.count(s.get_absolute_url()) for s in self.reprints), 1)
        self.assertIn("5 家转载", page)

    def test_search_keeps_a_storys_first_match_when_its_first_seen_does_not_match(self):
        query = "记者从鲁西新区管委会获悉"  # only in ADDED, reprints[2]
        page = self.client.get("/search/", {"q": query, "stories": "1"}).content.decode()
        self.assertIn(self.reprints[2].get_absolute_url(), page)


class StoryPurgeTests(TestCase):
    """A CDN's copies of the pages a story change alters are purged (articles/purge.py)."""

    def test_a_new_reprint_purges_every_member_of_its_story_and_its_page_names_them(self):
        from .test_purge import RECORDING, purged

        with RECORDING:
            first, second, third = make_reprints()[:3]
            place(first, second)
            purged()
            place(third)
            keys = purged()
            self.assertTrue({f"snapshot-{s.key}" for s in (first, second, third)} <= keys)
            related_compute(snapshot_ids=[first.pk])
            self.assertIn(f"snapshot-{first.key}", purged())
            response = self.client.get(first.get_absolute_url())
        shown = set(response["Surrogate-Key"].split())
        self.assertTrue({f"snapshot-{second.key}", f"snapshot-{third.key}"} <= shown)


class RefreshTests(TestCase):
    def test_a_refresh_weighs_the_stored_candidates_again_without_segmenting_the_text(self):
        from unittest import mock

        snapshot = make_snapshot(body=ORIGINAL)
        related_compute(snapshot_ids=[snapshot.pk])
        stored = SnapshotAnalysis.objects.get(pk=snapshot.pk).terms
        self.assertIn("鲁西新区", [candidate[0] for candidate in stored])
        before = list(snapshot.key_phrases.values_list("phrase", flat=True))
        with mock.patch("articles.keyphrases.words", side_effect=AssertionError("segmented again")):
            related_compute(snapshot_ids=[snapshot.pk], reuse_terms=True)
        self.assertEqual(list(snapshot.key_phrases.values_list("phrase", flat=True)), before)

    def test_a_list_goes_stale_when_the_archive_has_grown_enough_and_the_worker_refreshes_it(self):
        from django.core.management import call_command

        from articles.keyphrases import stale_related

        first = make_snapshot(body=ORIGINAL)
        related_compute(snapshot_ids=[first.pk])
        self.assertEqual(stale_related(limit=10), [])
        others = [make_snapshot(body=body) for body in SAME_TOPIC]
        related_compute(snapshot_ids=[s.pk for s in others])  # 1 document then, 3 now
        self.assertEqual(stale_related(limit=10), [first.pk])
        call_command("related_refresh", verbosity=0)
        run_tasks()
        self.assertEqual(stale_related(limit=10), [])
        self.assertEqual(
            set(ComputedRelatedLink.objects.filter(snapshot=first).values_list("target", flat=True)),
            {s.pk for s in others},
        )

    def test_the_admin_page_of_a_snapshot_lists_the_other_snapshots_of_its_story(self):
        from .helpers import make_editor

        reprints = make_reprints()[:3]
        Snapshot.objects.filter(pk=reprints[2].pk).update(**status_fields(Snapshot.Status.HIDDEN))
        place(*reprints)
        self.client.force_login(make_editor())
        content = self.client.get(f"/admin/articles/snapshot/{reprints[0].pk}/change/").content.decode()
        for other in reprints[1:]:
            self.assertIn(f"/admin/articles/snapshot/{other.pk}/change/", content)
        self.assertIn("隐藏", content.split(f"/admin/articles/snapshot/{reprints[2].pk}/change/")[1][:300])

    def test_an_editor_saving_a_snapshot_in_the_admin_queues_its_analysis(self):
        from .helpers import make_superuser
        from .test_admin import form_data

        original, trimmed = make_snapshot(body=ORIGINAL), make_snapshot(body=TRIMMED)
        place(original)
        self.client.force_login(make_superuser())
        url = f"/admin/articles/snapshot/{trimmed.pk}/change/"
        response = self.client.post(url, form_data(self.client.get(url)))
        self.assertEqual(response.status_code, 302)
        run_tasks()
        self.assertIsNotNone(story_of(trimmed))
        self.assertEqual(story_of(trimmed), story_of(original))
