"""Stored XSS: snapshots imported (by `import_snapshots`, as crawlers deliver them) with real
payloads in every field a page shows are opened in Chromium, on every page that shows them, with
the Content Security Policy on and with it bypassed (so that escaping and the sanitizer are proven
on their own). Nothing may run: no dialog opens, the marker the payloads set stays unset, and the
DOM holds no event-handler attribute, script, frame or javascript:/data: address of theirs."""

import json
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from articles.models import Category, RelatedLink, Snapshot
from moderation.models import TakedownRequest
from moderation.tests.helpers import make_request

SET = "window.top.__xss=1;alert(1)"
PAYLOADS = [
    f"<script>{SET}</script>",
    f'<img src=x onerror="{SET}">',
    f'<svg onload="{SET}"><script>{SET}</script></svg>',
    f'<svg><animate onbegin="{SET}" attributeName=x dur=1s></animate></svg>',
    f'<a href="javascript:{SET}">javascript link</a>',
    f'<a href="JaVaScRiPt:{SET}">mixed case</a>',
    f'<a href="&#106;avascript:{SET}">entity</a>',
    f'<a href="java\tscript:{SET}">tab</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD50b3AuX194c3M9MTwvc2NyaXB0Pg==">data link</a>',
    f'<iframe src="javascript:{SET}"></iframe>',
    f'<iframe srcdoc="<script>{SET}</script>"></iframe>',
    f'<object data="data:text/html,<script>{SET}</script>"></object>',
    f'<embed src="javascript:{SET}">',
    f'<body onload="{SET}">',
    f'<input autofocus onfocus="{SET}">',
    f'<details open ontoggle="{SET}"><summary>x</summary></details>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{SET}"></style></mglyph></table></mtext></math>',
    f'<noscript><p title="</noscript><img src=x onerror={SET}>"></noscript>',
    f'"><script>{SET}</script>',
    f"'><img src=x onerror={SET}>",
    f'<style>@import "javascript:{SET}";</style>',
    f'<div style="background:url(javascript:{SET})">styled</div>',
    f'<meta http-equiv="refresh" content="0;url=javascript:{SET}">',
    f'<base href="javascript:{SET}//">',
    f'<form action="javascript:{SET}"><button>go</button></form>',
    f"<scr<script>ipt>{SET}</scr</script>ipt>",
    f"<<script>script>{SET}<</script>/script>",
    f'<img src="x" onerror="{SET}"',
    f'<a href="https://x.example/" onclick="{SET}" onmouseover="{SET}">hover</a>',
    f"</textarea><script>{SET}</script>",
    f"</title><script>{SET}</script>",
    f"<template><script>{SET}</script></template>",
    f'<time datetime="2024" onmouseover="{SET}">time</time>',
    f"<!--<script>{SET}</script>-->",
    f"<![CDATA[<script>{SET}</script>]]>",
    f'<x onclick="{SET}" contenteditable>custom element</x>',
]
# Addresses are checked on import (http and https only); these must arrive intact and harmless.
URL_PAYLOADS = [
    f'https://x.example/"><script>{SET}</script>',
    f"https://x.example/#<img/src=x/onerror={SET}>",
    f"https://x.example/?q='onmouseover='{SET}'",
]
# And these must be refused.
REFUSED_URLS = [
    f"javascript:{SET}",
    "data:text/html,<script>alert(1)</script>",
    f"JAVASCRIPT:{SET}",
    f" javascript:{SET}",
]

INSPECT = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase(), value = attr.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(`${el.tagName} ${name}`);
      if (['href', 'src', 'action', 'formaction', 'data', 'srcdoc', 'xlink:href'].includes(name)
          && (value.startsWith('javascript:') || value.startsWith('data:') || value.startsWith('vbscript:'))) {
        found.push(`${el.tagName} ${name}=${attr.value}`);
      }
    }
    if (['IFRAME', 'OBJECT', 'EMBED', 'BASE', 'FRAME'].includes(el.tagName)) found.push(el.tagName);
    if (el.tagName === 'SCRIPT') found.push('SCRIPT');
    if (el.tagName === 'META' && (el.getAttribute('http-equiv') || '').toLowerCase() === 'refresh') found.push('META refresh');
  }
  return found;
}"""


def crawl_file(tmp_path):
    records = []
    for n, payload in enumerate(PAYLOADS):
        records.append(
            {
                "url": f"https://news.example.com/xss/{n}.html",
                "title": f"XSS {n} {payload}",
                "category": "财经" if n % 4 else f"类别{n} {payload}"[:100],
                "source": f"来源{n} {payload}"[:200],
                "reprinted_from": payload[:200],
                "byline": payload[:300],
                "published_at": f"2024-03-{1 + n % 28:02d}T09:00:00+08:00",
                "captured_at": "2024-04-01T09:00:00+08:00",
                "collected_by": f"crawler {payload}"[:200],
                "body_html": f"<p>正文 {n}</p>{payload}<p>{payload}</p>",
                "related": [
                    {"title": payload, "excerpt": payload, "date": None, "url": URL_PAYLOADS[n % len(URL_PAYLOADS)]},
                    {
                        "title": None,
                        "excerpt": payload,
                        "url": f"https://news.example.com/xss/{(n + 1) % len(PAYLOADS)}.html",
                    },
                ],
            }
        )
    records.append(
        {**records[1], "url": "https://news.example.com/xss/text.html", "body_html": None, "body_text": PAYLOADS[0]}
    )
    records.append({**records[2], "url": "https://news.example.com/xss/odd-category.html", "category": "\"'><>&"})
    for n, url in enumerate(REFUSED_URLS):
        records.append({**records[0], "url": url, "title": f"refused {n}"})
        records.append(
            {
                **records[0],
                "url": f"https://news.example.com/xss/r{n}.html",
                "title": f"refused related {n}",
                "related": [{"title": "x", "excerpt": "x", "url": url}],
            }
        )
    path = tmp_path / "xss.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def xss_archive(tmp_path):
    # The records with javascript: and data: addresses are refused, as they must be; all others import.
    with pytest.raises(CommandError, match=f"^{2 * len(REFUSED_URLS)} record"):
        call_command("import_snapshots", str(crawl_file(tmp_path)), verbosity=0)
    assert not Snapshot.objects.filter(title__startswith="refused").exists()
    assert Snapshot.objects.count() == len(PAYLOADS) + 2
    assert RelatedLink.objects.filter(target__isnull=False).count() == len(PAYLOADS) + 2
    withheld = list(Snapshot.objects.order_by("pk")[:3])
    decided = make_request(*withheld, status=TakedownRequest.Status.APPROVED)
    User.objects.create_superuser("chief", "chief@example.org", "correct horse battery")
    return {"decided": decided}


def pages_showing_payloads(decided):
    yield "/"
    for category in Category.objects.order_by("pk"):
        yield category.get_absolute_url()
    for snapshot in Snapshot.objects.published().order_by("pk"):
        yield snapshot.get_absolute_url()
    for snapshot in Snapshot.objects.exclude(status=Snapshot.Status.PUBLISHED):
        yield snapshot.get_absolute_url()  # 451
    yield "/transparency/"
    # Search results highlight the query inside titles and excerpts: the marks must not open the payloads.
    for query in ["XSS", "script", "onerror", "<img", "javascript", "window.top", '">', "alert(1)"]:
        yield f"/search/?{urlencode({'q': query})}"
        yield f"/search/?{urlencode({'q': query, 'order': 'relevance'})}"
    yield f"/admin/moderation/takedownrequest/{decided.pk}/change/"
    yield "/admin/articles/snapshot/"
    for snapshot in Snapshot.objects.order_by("pk")[:8]:
        yield f"/admin/articles/snapshot/{snapshot.pk}/change/"
        yield f"/admin/articles/snapshot/{snapshot.pk}/history/"


@pytest.mark.parametrize("csp", ["with CSP", "CSP bypassed"])
def test_no_imported_payload_runs_in_the_browser(journey, xss_archive, csp):
    page = journey.person(bypass_csp=csp == "CSP bypassed")
    dialogs, findings = [], {}
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/admin/login/")
    page.locator("#id_username").fill("chief")
    page.locator("#id_password").fill("correct horse battery")
    page.locator("input[type=submit]").click()
    visited = 0
    for path in pages_showing_payloads(xss_archive["decided"]):
        response = page.goto(path)
        assert response.status in (200, 451), f"{path} answered {response.status}"
        page.mouse.move(10, 10)
        for element in page.locator("main a, main time, main x").all()[:60]:
            element.dispatch_event("mouseover")
        page.keyboard.press("Tab")
        marked = [frame.url for frame in page.frames if frame.evaluate("() => window.__xss")]
        found = page.evaluate(INSPECT)
        if path.startswith("/admin/"):
            found = [f for f in found if f != "SCRIPT"]  # the admin's own scripts (from our origin)
        if marked or found:
            findings[path] = {"marker": marked, "dom": found}
        visited += 1
    assert visited > len(PAYLOADS)
    assert dialogs == []
    assert findings == {}
