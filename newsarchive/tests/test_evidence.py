"""Evidence files attached to removal requests: typed by content, size-capped, stored where no URL
reaches, and handed only to moderators, as a download the browser never renders."""

from pathlib import Path

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse

from moderation.forms import sniff_content_type
from moderation.models import EvidenceFile
from moderation.tests.helpers import (
    EN,
    form_data,
    make_editor,
    make_moderator,
    make_request,
    make_snapshot,
    make_superuser,
    temporary_evidence_storage,
)
from newsarchive.testing import sending_mail

POLYGLOT = b"%PDF-1.4\n<html><script>alert(document.cookie)</script></html>"


class EvidenceTests(TestCase):
    @classmethod
    def setUpTestData(cls):
        cls.location = cls.enterClassContext(temporary_evidence_storage())
        upload = SimpleUploadedFile("证据.pdf", POLYGLOT, content_type="text/html")
        upload.checked_content_type = sniff_content_type(upload)  # as the form's check leaves it
        cls.req = make_request(files=[upload])
        cls.evidence = cls.req.files.get()
        cls.download = reverse("admin:moderation_takedownrequest_evidence", args=[cls.req.pk, cls.evidence.pk])

    def test_the_file_is_stored_under_the_private_root_typed_by_its_content(self):
        stored = Path(self.location) / self.evidence.file.name
        self.assertEqual(stored.read_bytes(), POLYGLOT)
        self.assertEqual(self.evidence.original_name, "证据.pdf")
        self.assertEqual(self.evidence.content_type, "application/pdf")
        self.assertFalse(Path(settings.EVIDENCE_ROOT).resolve().is_relative_to(Path(settings.STATIC_ROOT).resolve()))

    def test_no_public_address_reaches_the_file(self):
        name = self.evidence.file.name
        candidates = [
            f"/{name}",
            f"/media/{name}",
            f"/static/{name}",
            f"/private/evidence/{name}",
            f"/evidence/{name}",
            f"/static/../private/evidence/{name}",
            f"/static/%2e%2e/private/evidence/{name}",
            f"/takedown/{name}",
        ]
        for path in candidates:
            with self.subTest(path=path):
                response = self.client.get(path)
                self.assertIn(response.status_code, (301, 404))
                self.assertNotIn(POLYGLOT, b"".join(response) if response.streaming else response.content)

    def test_only_moderators_download_it_and_only_as_an_attachment_never_rendered(self):
        for user, expected in [(make_editor(), 403), (make_moderator(), 200), (make_superuser(), 200)]:
            with self.subTest(user=user.username):
                self.client.force_login(user)
                response = self.client.get(self.download)
                self.assertEqual(response.status_code, expected)
                if expected == 200:
                    self.assertEqual(b"".join(response.streaming_content), POLYGLOT)
                    self.assertEqual(response["Content-Type"], "application/octet-stream")
                    self.assertTrue(response["Content-Disposition"].startswith("attachment;"))
                    self.assertEqual(response["X-Content-Type-Options"], "nosniff")
                    self.assertIn("no-store", response["Cache-Control"])
                    self.assertIn("default-src 'self'", response["Content-Security-Policy"])
        self.client.logout()
        response = self.client.get(self.download)
        self.assertEqual(response.status_code, 302)
        self.assertTrue(response["Location"].startswith(reverse("admin:login")))

    def test_a_file_of_another_request_is_not_reachable_through_this_one(self):
        other = make_request(email="other@example.org", files=[SimpleUploadedFile("x.txt", b"plain text")])
        self.client.force_login(make_moderator())
        url = reverse("admin:moderation_takedownrequest_evidence", args=[self.req.pk, other.files.get().pk])
        self.assertEqual(self.client.get(url).status_code, 404)


@override_settings(TAKEDOWN_MAX_FILE_BYTES=1024, TAKEDOWN_RATE_LIMIT=1000)
class UploadCheckTests(TestCase):
    """Through the public form: what a file is, is decided by its first bytes, never its name or
    the type the browser claims; and no file over the cap is kept."""

    @classmethod
    def setUpTestData(cls):
        cls.snapshot = make_snapshot()

    def post(self, name: str, content: bytes, claimed: str):
        data = form_data(self.snapshot)
        data["files"] = [SimpleUploadedFile(name, content, content_type=claimed)]
        with temporary_evidence_storage(), sending_mail():
            return self.client.post("/takedown/new/", data, headers=EN)

    def test_names_and_claimed_types_do_not_decide(self):
        cases = [
            ("scan.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "application/x-msdownload", "image/png"),
            ("photo.exe", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "application/octet-stream", "image/jpeg"),
            ("licence.html", b"%PDF-1.7\n%%EOF", "text/html", "application/pdf"),
            ("notes.pdf", "著作权登记号 2023-L-000123".encode(), "application/pdf", "text/plain"),
        ]
        for name, content, claimed, stored in cases:
            with self.subTest(name=name):
                EvidenceFile.objects.all().delete()
                self.post(name, content, claimed)
                self.assertEqual(EvidenceFile.objects.get().content_type, stored)

    def test_markup_executables_and_archives_are_refused_whatever_they_are_called(self):
        cases = {
            "evidence.pdf": b"<html><body onload=alert(1)>",
            "evidence.png": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "evidence.jpg": b"MZ\x90\x00",
            "evidence.txt": b"PK\x03\x04zip",
            "evidence.gif": b"GIF89a\x01\x00",
        }
        for name, content in cases.items():
            with self.subTest(name=name):
                response = self.post(name, content, "image/png")
                self.assertContains(response, f"“{name}” is not a PDF, PNG, JPEG or plain text file")
        self.assertFalse(EvidenceFile.objects.exists())

    def test_a_file_over_the_cap_is_refused_by_name_and_size(self):
        response = self.post("big.pdf", b"%PDF-1.7\n" + b"0" * 2000, "application/pdf")
        self.assertContains(response, "“big.pdf” is 2.0")
        self.assertFalse(EvidenceFile.objects.exists())
