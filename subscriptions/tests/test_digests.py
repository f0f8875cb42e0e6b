import email.policy
import threading
from unittest import mock, skipUnless

from django.conf import settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, connections
from django.test import Client, TestCase, TransactionTestCase, override_settings
from django.urls import reverse

from accounts.tests.helpers import link_in, make_reader
from articles.models import Snapshot
from articles.tests.helpers import make_category, make_snapshot
from newsarchive.testing import run_tasks
from outbox.models import Message
from subscriptions import services
from subscriptions.emails import unsubscribe_token
from subscriptions.models import Digest, DigestItem, Subscriber

from .helpers import added_ago, subscribe


def send_digests():
    """What cron and the worker do: queue the digests, then send what was queued."""
    call_command("send_digests", verbosity=0)
    run_tasks()


def digest_titles(message) -> list[str]:
    """The snapshot titles a digest lists, in order (each is the line above its link)."""
    lines = message.body.splitlines()
    return [lines[i - 2] for i, line in enumerate(lines) if line.startswith(f"{settings.SITE_URL}/detail/")]


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class DigestTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.finance = make_category("财经", "caijing")
        cls.sport = make_category("体育", "tiyu")

    def setUp(self):
        self.reader = make_reader("reader@example.org")
        subscribe(self.reader, category=self.finance)
        subscribe(self.reader, keyword="营商环境")
        # Before the reader subscribed, and before the look-back of a digest run: never in a digest.
        self.before = added_ago(make_snapshot(category=self.finance, title="订阅之前的财经"), hours=5)
        Subscriber.objects.filter(reader=self.reader).update(
            digest_starts_at=self.before.created_at, digest_checked_until=self.before.created_at
        )
        added_ago(self.before, hours=10)

    def test_a_digest_carries_the_new_matches_and_a_second_run_sends_nothing(self):
        finance = make_snapshot(category=self.finance, title="财经新闻")
        keyword = make_snapshot(category=self.sport, title="体育", body="<p>优化营商环境</p>")
        both = make_snapshot(category=self.finance, title="财经里的营商环境")
        make_snapshot(category=self.sport, title="无关的体育")
        make_snapshot(category=self.finance, title="隐藏的财经", status=Snapshot.Status.HIDDEN)
        make_snapshot(category=self.finance, title="屏蔽的财经", status=Snapshot.Status.WITHHELD)

        send_digests()

        self.assertEqual(len(mail.outbox), 1)
        message = mail.outbox[0]
        self.assertEqual(message.to, ["reader@example.org"])
        self.assertEqual(digest_titles(message), [both.title, keyword.title, finance.title])
        self.assertIn(f"{settings.SITE_URL}{finance.get_absolute_url()}", message.body)
        self.assertRegex(message.subject, r"(?<!\d)3(?!\d)")
        self.assertEqual(DigestItem.objects.filter(reader=self.reader).count(), 3)
        self.assertEqual(Digest.objects.get().message.status, Message.Status.SENT)

        send_digests()

        self.assertEqual(len(mail.outbox), 1)

    def test_the_next_digest_carries_only_what_is_new_since(self):
        first = make_snapshot(category=self.finance, title="第一批")
        send_digests()
        second = make_snapshot(category=self.finance, title="第二批")

        send_digests()

        self.assertEqual([digest_titles(m) for m in mail.outbox], [[first.title], [second.title]])

    def test_a_snapshot_whose_import_committed_late_still_comes_once(self):
        send_digests()  # nothing yet; the mark moves to this run's start
        mark = Subscriber.objects.get(reader=self.reader).digest_checked_until
        late = make_snapshot(category=self.finance, title="晚提交的")
        Snapshot.objects.filter(pk=late.pk).update(created_at=mark - services.DIGEST_OVERLAP / 2)

        send_digests()
        send_digests()

        self.assertEqual([digest_titles(m) for m in mail.outbox], [[late.title]])

    def test_each_reader_gets_their_own_matches_and_readers_without_digests_none(self):
        sporty = make_reader("sporty@example.org")
        subscribe(sporty, category=self.sport)
        quiet = make_reader("quiet@example.org")
        subscribe(quiet, category=self.finance)
        services.digest_set(reader=quiet, enabled=False)
        finance = make_snapshot(category=self.finance, title="财经")
        sport = make_snapshot(category=self.sport, title="体育赛事")

        send_digests()

        digests = {tuple(m.to): digest_titles(m) for m in mail.outbox}
        self.assertEqual(digests, {("reader@example.org",): [finance.title], ("sporty@example.org",): [sport.title]})

    def test_a_digest_the_mail_server_refuses_is_kept_and_sent_once_it_accepts(self):
        new = make_snapshot(category=self.finance, title="退信之后重发")
        with mock.patch("django.core.mail.EmailMessage.send", side_effect=ConnectionRefusedError("smtp down")):
            with self.assertLogs("outbox", "WARNING"):
                send_digests()
        message = Digest.objects.get().message
        self.assertEqual((message.status, message.attempts), (Message.Status.PENDING, 1))
        self.assertIn("smtp down", message.last_error)
        self.assertEqual(mail.outbox, [])

        send_digests()  # the next run finds nothing new: the digest is already on its way
        run_tasks(include_deferred=True)  # its retry comes due, and the server accepts

        self.assertEqual([digest_titles(m) for m in mail.outbox], [[new.title]])
        self.assertEqual(Digest.objects.count(), 1)

    def test_one_reader_whose_digest_fails_does_not_stop_the_others(self):
        other = make_reader("other@example.org")
        subscribe(other, category=self.finance)
        make_snapshot(category=self.finance, title="人人有份")
        collect = services.digest_collect

        def failing_for_the_first(*, reader_id, run):
            if reader_id == self.reader.pk:
                raise RuntimeError("a bug of ours")
            return collect(reader_id=reader_id, run=run)

        with mock.patch.object(services, "digest_collect", failing_for_the_first):
            with self.assertRaises(CommandError), self.assertLogs("subscriptions", "ERROR"):
                call_command("send_digests", verbosity=0)
        run_tasks()

        self.assertEqual([m.to for m in mail.outbox], [["other@example.org"]])

    def test_two_runs_at_once_send_each_snapshot_once(self):
        make_snapshot(category=self.finance, title="并发")
        first_run = services.digest_run_start()
        second_run = services.digest_run_start()

        first = services.digest_collect(reader_id=self.reader.pk, run=first_run)
        second = services.digest_collect(reader_id=self.reader.pk, run=second_run)

        self.assertEqual(first.snapshot_count, 1)
        self.assertIsNone(second)
        with self.assertRaises(IntegrityError):
            DigestItem.objects.create(digest=first, reader=self.reader, snapshot=first.items.get().snapshot)

    def test_a_run_that_dies_after_recording_sends_that_digest_once_and_those_snapshots_never_again(self):
        make_snapshot(category=self.finance, title="记录后崩溃")
        services.digest_collect(reader_id=self.reader.pk, run=services.digest_run_start())  # then the process dies

        send_digests()  # the worker sends what the dead run queued; the new run finds nothing
        send_digests()

        self.assertEqual([digest_titles(m) for m in mail.outbox], [["记录后崩溃"]])
        self.assertEqual(Digest.objects.count(), 1)

    @override_settings(SUBSCRIPTIONS_DIGEST_MAX_ITEMS=2)
    def test_a_long_digest_lists_the_newest_and_points_to_the_page_for_the_rest(self):
        for n in range(3):
            make_snapshot(category=self.finance, title=f"批量{n}")

        send_digests()
        send_digests()

        self.assertEqual(len(mail.outbox), 1)
        self.assertEqual(digest_titles(mail.outbox[0]), ["批量2", "批量1"])
        body = mail.outbox[0].body
        page_url = f"{settings.SITE_URL}{reverse('subscriptions:index')}"
        last_listed = f"{settings.SITE_URL}{Snapshot.objects.get(title='批量1').get_absolute_url()}"
        self.assertIn(page_url, body)
        # Between the last snapshot listed and the page's address: "and 1 more", in the site's language.
        self.assertRegex(body.split(last_listed)[1].split(page_url)[0], r"(?<!\d)1(?!\d)")

    def test_turning_the_digest_back_on_starts_from_then(self):
        services.digest_set(reader=self.reader, enabled=False)
        make_snapshot(category=self.finance, title="关闭期间")
        self.client.force_login(self.reader)

        self.client.post(reverse("subscriptions:digest"), {"enabled": "on"})
        send_digests()

        self.assertTrue(Subscriber.objects.get(reader=self.reader).digest_enabled)
        self.assertEqual(mail.outbox, [])


@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class UnsubscribeLinkTests(TestCase):
    def setUp(self):
        self.reader = make_reader("reader@example.org")
        subscribe(self.reader, category=make_category("财经", "caijing"))
        make_snapshot(category=self.reader.subscriptions.get().category, title="财经")
        send_digests()
        self.message = mail.outbox[0]
        self.link = link_in(self.message, "/unsubscribe/")

    def assertDigestEnabled(self, enabled: bool):
        self.assertEqual(Subscriber.objects.get(reader=self.reader).digest_enabled, enabled)

    def test_every_digest_has_a_one_click_unsubscribe_link_and_headers_as_sent(self):
        sent = self.message.message(policy=email.policy.SMTP).as_bytes()  # the bytes the SMTP backend sends
        header_lines = sent.split(b"\r\n\r\n", 1)[0].split(b"\r\n")

        # Written as they are, not as RFC 2047 encoded words, so mail clients read them (RFC 8058).
        self.assertIn(f"List-Unsubscribe: <{settings.SITE_URL}{self.link}>".encode(), header_lines)
        self.assertIn(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", header_lines)
        parsed = email.message_from_bytes(sent, policy=email.policy.default)
        self.assertEqual(parsed["List-Unsubscribe"], f"<{settings.SITE_URL}{self.link}>")
        # The body is UTF-8 as it is, readable in the console and in the sent bytes alike.
        self.assertEqual(parsed["Content-Transfer-Encoding"], "8bit")
        self.assertIn("财经".encode(), sent)

    def test_opening_the_link_asks_and_changes_nothing_then_the_button_unsubscribes_without_log_in(self):
        page = self.client.get(self.link)

        self.assertEqual(page.status_code, 200)
        self.assertContains(page, "reader@example.org")
        self.assertDigestEnabled(True)

        done = Client(enforce_csrf_checks=True).post(self.link)

        self.assertEqual(done.status_code, 200)
        self.assertDigestEnabled(False)
        self.assertEqual(self.reader.subscriptions.count(), 1)  # the subscriptions themselves stay

    def test_a_mail_clients_one_click_post_unsubscribes(self):
        client = Client(enforce_csrf_checks=True)

        response = client.post(
            self.link, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )

        self.assertEqual(response.status_code, 200)
        self.assertDigestEnabled(False)

    def test_unsubscribed_readers_get_no_more_digests(self):
        self.client.post(self.link)
        make_snapshot(category=self.reader.subscriptions.get().category, title="之后的财经")

        send_digests()

        self.assertEqual(len(mail.outbox), 1)

    def test_a_forged_or_garbled_link_is_refused(self):
        other = make_reader("other@example.org")
        subscribe(other, keyword="营商环境")
        forged = unsubscribe_token(other.pk).rsplit(":", 1)[0] + ":" + "A" * 27
        for token in ["garbage", forged, f"{other.pk}", unsubscribe_token(999999)]:
            with self.subTest(token=token):
                path = reverse("subscriptions:digest_unsubscribe", kwargs={"token": token})
                self.assertEqual(self.client.post(path).status_code, 404)
        self.assertTrue(Subscriber.objects.get(reader=other).digest_enabled)


@skipUnless(connection.vendor == "postgresql", "row locks between connections: PostgreSQL (SQLite serializes writers)")
@override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
class ConcurrentDigestRunTests(TransactionTestCase):
    def test_two_runs_started_together_send_each_snapshot_once(self):
        finance = make_category("财经", "caijing")
        readers = [make_reader(f"r{n}@example.org") for n in range(3)]
        for reader in readers:
            subscribe(reader, category=finance)
        for n in range(4):
            make_snapshot(category=finance, title=f"同时{n}")
        start = threading.Barrier(2)
        errors = []

        def run():
            try:
                start.wait()
                send_digests()
            except Exception as error:  # reported below, not lost in the thread
                errors.append(error)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        self.assertEqual(errors, [])
        run_tasks()
        self.assertEqual(sorted(m.to[0] for m in mail.outbox), [f"r{n}@example.org" for n in range(3)])
        self.assertEqual(DigestItem.objects.count(), 12)
