"""Helpers for the tests of the public pages and the API: what a requester types, and how a page
reads. Requests in other states are built with `helpers.make_request`, through the services."""

import itertools
import re
from html.parser import HTMLParser

from django.core.cache import cache
from django.test import TestCase
from django.utils import translation

from articles.models import Snapshot

from .helpers import snapshot_url

EN = {"Accept-Language": "en"}
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}

PNG_BYTES = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
PDF_BYTES = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"

# Every element of a complete request, by form field, with the message naming it when it is missing.
REQUIRED = {
    "name": "Give your full name.",
    "role": "Say whether you are the rights holder or an agent.",
    "email": "Give an email address: the receipt and the decision are sent there.",
    "phone": "Give a phone number.",
    "address": "Give your postal address.",
    "work": "Describe the work whose rights you hold.",
    "urls": "List at least one snapshot address.",
    "explanation": "Explain why the snapshots infringe your rights.",
    "evidence": "Give preliminary proof of your rights.",
    "good_faith": "Confirm the good-faith statement.",
    "accurate_and_authorised": "Confirm the statement of accuracy and authority.",
    "signature": "Sign the notice by typing your full name.",
}

_counter = itertools.count(1)


def form_data(*snapshots: Snapshot, **overrides) -> dict:
    """What a requester types into /takedown/new/ for a complete request for `snapshots`."""
    n = next(_counter)
    data = {
        "name": "王五",
        "organisation": "新华网版权中心",
        "role": "rights_holder",
        "email": f"copyright{n}@example.org",
        "phone": "+86 10 6307 1234",
        "address": "北京市西城区宣武门西大街 57 号",
        "work": f"原创报道第 {n} 篇",
        "work_date": "2023-09-14",
        "urls": "\n".join(snapshot_url(s) for s in snapshots),
        "explanation": "该快照全文转载了我方享有著作权的报道。",
        "evidence": "原文由我方记者撰写并于 2023-09-14 首发。",
        "good_faith": "on",
        "accurate_and_authorised": "on",
        "signature": "王五",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def api_body(*snapshots: Snapshot, requester: dict | None = None, **overrides) -> dict:
    """A complete JSON body for POST /api/takedown/."""
    n = next(_counter)
    body = {
        "requester": {
            "name": "赵六",
            "organisation": "澎湃新闻法务部",
            "role": "agent",
            "email": f"legal{n}@example.org",
            "phone": "+86 21 6000 0000",
            "address": "上海市静安区某路 8 号",
            **(requester or {}),
        },
        "work": f"深度报道第 {n} 篇",
        "work_date": "2023-09-14",
        "urls": [snapshot_url(s) for s in snapshots],
        "explanation": "快照转载了我方报道全文。",
        "evidence": "我方为该报道的著作权人,首发于澎湃新闻。",
        "good_faith": True,
        "accurate_and_authorised": True,
        "signature": "赵六",
    }
    body.update(overrides)
    return body


class PublicPageTestCase(TestCase):
    """Every test starts with an empty cache, so that the rate limit counts its own requests only,
    and ends with no language active: a request's Accept-Language stays active in the thread after
    the response, and would otherwise decide the language of the next test's messages."""

    def setUp(self):
        super().setUp()
        cache.clear()
        self.addCleanup(cache.clear)
        self.addCleanup(translation.deactivate)


class _Fields(HTMLParser):
    """The `div.field` blocks of a page by field name, and the error summary's links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.checked: set[str] = set()
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.checked.add(f"{attrs['name']}={attrs.get('value', 'on')}")
            elif attrs.get("type") != "hidden" or attrs["name"] == "action":
                self.values[attrs["name"]] = attrs.get("value", "")
        elif tag == "textarea":
            self._textarea = attrs.get("name")
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_values(html: str) -> tuple[dict[str, str], set[str]]:
    """The values a page's form fields hold (textareas without Django's leading newline), and the
    checked boxes as "name=value"."""
    parser = _Fields()
    parser.feed(html)
    return {k: v.removeprefix("\n") for k, v in parser.values.items()}, parser.checked


def field_block(html: str, name: str) -> str:
    """The markup of one field's block (label, help, errors and input)."""
    match = re.search(rf'<div class="field[^"]*" id="field-{re.escape(name)}">(.*?)\n</div>', html, re.S)
    assert match, f"no field block for {name!r}"
    return match.group(1)


def error_summary(html: str) -> str:
    match = re.search(r'<div class="error-summary".*?</div>', html, re.S)
    assert match, "no error summary"
    return match.group(0)


def status_path(status_url: str) -> str:
    """The path of a status URL (which is absolute, under SITE_URL)."""
    match = re.search(r"/takedown/status/[^/]+/", status_url)
    assert match, status_url
    return match.group(0)
