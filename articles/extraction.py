"""From a news page's HTML to a Capture: title, publication time, source, reprinted-from, byline,
body paragraphs and the page's own related links.

trafilatura finds the article's text (and htmldate its date when nothing better says it); the
metadata Chinese news sites print in a `来源/作者/发布时间` line, in JSON-LD `NewsArticle` or in
`article:*` meta tags is read here first, since it names the time to the minute and the publisher
by name. Nothing here touches the network or the database: a page comes in as bytes, and a
Capture (validated by `importing.build_capture`, like any imported record) or an InvalidRecord
naming what is missing comes out. URL captures and WARC imports both call `extract_capture`.
"""

import json
import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urljoin, urlsplit

import htmldate
import lxml.html
import trafilatura
from django.conf import settings
from django.utils.dateparse import parse_datetime
from lxml import etree

from .importing import MAX_RELATED, Capture, InvalidRecord, Origin, build_capture, clean_url
from .models import SHANGHAI, canonical_url

HTML_TYPES = ("text/html", "application/xhtml+xml")

# Chinese labels of the metadata line (来源：人民资讯　作者：孙安琪　发布时间：2023-09-14 11:24:00).
_LABELS = {
    "来源": "source",
    "稿源": "source",
    "本文转自": "reprinted",
    "转自": "reprinted",
    "作者": "author",
    "记者": "author",
    "发布时间": "time",
    "发布日期": "time",
    "发表时间": "time",
    "时间": "time",
    "日期": "time",
    "责任编辑": "editor",
    "编辑": "editor",
}
_LABEL = re.compile("(" + "|".join(sorted(_LABELS, key=len, reverse=True)) + r")\s*[:：]\s*")
_SEPARATORS = " \u3000\t\r\n|丨/｜·•"
_DATE_TIME = re.compile(
    r"(?P<y>\d{4})\s*[-年/.]\s*(?P<m>\d{1,2})\s*[-月/.]\s*(?P<d>\d{1,2})\s*日?"
    r"(?:\s*(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)
_REPRINT_LINE = re.compile(r"^[（(]?\s*(?:本文转自|转自|来源|稿源)\s*[:：]\s*(?P<value>[^）)]{1,100}?)\s*[）)]?\s*$")
_EDITOR_LINE = re.compile(r"^[（(\[【]?\s*(?:责任编辑|编辑|责编)\s*[:：].{0,40}$")
_TRAILING_BYLINE = re.compile(r"^(?P<text>.*?)[(（](?P<byline>[^()（）。：:]{1,40})[)）]\s*$", re.DOTALL)
_RELATED_MARK = re.compile(r"related|relate|xgxw|xgyd|xgwz|recommend|tuijian|相关", re.IGNORECASE)
_RELATED_HEADING = re.compile(r"^\s*(?:相关新闻|相关阅读|相关报道|相关链接|相关文章|延伸阅读|推荐阅读)")
_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle", "BlogPosting", "WebPage"}
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
# Fewer characters of text than this, and the page holds no article (an index, an error page).
MIN_ARTICLE_CHARS = 20


@dataclass
class PageMeta:
    title: str = ""
    published: datetime | None = None
    source: str = ""
    reprinted_from: str = ""
    byline: str = ""
    category: str = ""


def is_html(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() in HTML_TYPES


def charset_of(content_type: str) -> str:
    for part in content_type.split(";")[1:]:
        name, _, value = part.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip("\"'").lower()
    return ""


def _codec(name: str) -> str:
    """GBK and GB2312 pages often hold characters only GB18030 has; GB18030 reads all three."""
    name = name.lower().replace("_", "-")
    return "gb18030" if name in {"gbk", "gb2312", "gb-2312", "x-gbk", "cp936", "euc-cn"} else name


def decode_html(body: bytes, content_type: str = "") -> str:
    """The page as text: the charset the HTTP header names, else the page's own <meta charset>,
    else UTF-8, else GB18030 (the common Chinese encodings), whichever decodes without error."""
    if body.startswith(b"\xef\xbb\xbf"):
        return body[3:].decode("utf-8", "replace")
    candidates = []
    if header := charset_of(content_type):
        candidates.append(_codec(header))
    if match := _CHARSET.search(body[:4096]):
        candidates.append(_codec(match.group(1).decode("ascii")))
    candidates += ["utf-8", "gb18030"]
    for codec in candidates:
        try:
            return body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
    return body.decode("utf-8", "replace")


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _parse_moment(value: str) -> datetime | None:
    """An ISO 8601 time (with its own offset, else Asia/Shanghai) or a Chinese date-time."""
    value = (value or "").strip()
    if not value:
        return None
    iso = value.replace("Z", "+00:00") if value.endswith("Z") else value
    try:
        moment = parse_datetime(iso)
    except ValueError:
        moment = None
    if moment is None and (match := _DATE_TIME.search(value)):
        parts = {key: int(number) if number else 0 for key, number in match.groupdict().items()}
        try:
            moment = datetime(parts["y"], parts["m"], parts["d"], parts["H"], parts["M"], parts["S"])
        except ValueError:
            return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment if 1900 <= moment.year <= 2999 else None


def _json_ld(tree) -> dict:
    """The page's JSON-LD article object (NewsArticle and its kin), or {}."""
    found = []

    def walk(item):
        if isinstance(item, list):
            for member in item:
                walk(member)
        elif isinstance(item, dict):
            kinds = item.get("@type")
            kinds = set(kinds) if isinstance(kinds, list) else {kinds}
            if kinds & _ARTICLE_TYPES:
                found.append(item)
            walk(item.get("@graph"))

    for script in tree.xpath("//script[@type='application/ld+json']"):
        try:
            walk(json.loads(script.text or ""))
        except (ValueError, RecursionError):
            continue
    found.sort(key=lambda item: item.get("@type") == "WebPage")  # an article before a mere page
    return found[0] if found else {}


def _names(value) -> list[str]:
    if isinstance(value, str):
        return [value.strip()] if value.strip() else []
    if isinstance(value, dict):
        return _names(value.get("name"))
    if isinstance(value, list):
        return [name for item in value for name in _names(item)]
    return []


def _meta(tree, *names: str) -> str:
    for name in names:
        for attribute in ("property", "name", "itemprop"):
            values = tree.xpath(
                f"//meta[translate(@{attribute}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', "
                f"'abcdefghijklmnopqrstuvwxyz')=$name]/@content",
                name=name.lower(),
            )
            for value in values:
                if value.strip():
                    return value.strip()
    return ""


def _labelled(text: str) -> dict[str, str]:
    """Fields of a metadata line: {'source': '人民资讯', 'author': '孙安琪 王燕', 'time': '2023-09-14 11:24'}."""
    fields: dict[str, str] = {}
    matches = list(_LABEL.finditer(text))
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        value = text[match.end() : end].strip(_SEPARATORS)
        kind = _LABELS[match.group(1)]
        if kind == "time":
            if found := _DATE_TIME.search(value):
                value = found.group(0)
        else:
            value = re.split(r"\s{2,}|\u3000", value)[0].strip(_SEPARATORS)
        if value and kind not in fields:
            fields[kind] = value[:200]
    return fields


def _metadata_line(tree) -> dict[str, str]:
    """The short block that names 来源, 作者 and 发布时间 (the most labels wins; the first on a tie)."""
    best: dict[str, str] = {}
    for element in tree.xpath("//body//*[not(self::script or self::style or self::a)]"):
        text = _text(element)
        if not text or len(text) > 200 or not _LABEL.search(text):
            continue
        fields = _labelled(text)
        if "time" in fields and not _DATE_TIME.search(fields["time"]):
            del fields["time"]
        if len(fields) > len(best):
            best = fields
    return best


def _first_date_time(tree) -> str:
    """The first short element that holds a date with a time (a mobile page's unlabelled byline)."""
    for element in tree.xpath("//body//*[not(self::script or self::style or self::a)]"):
        text = _text(element)
        if len(text) <= 60 and (match := _DATE_TIME.search(text)) and match.group("H"):
            return match.group(0)
    return ""


def _page_meta(tree, *, url: str, document) -> PageMeta:
    article = _json_ld(tree)
    line = _metadata_line(tree)
    meta = PageMeta()

    headline = article.get("headline") if isinstance(article.get("headline"), str) else ""
    h1 = next((_text(h) for h in tree.xpath("//h1") if _text(h)), "")
    meta.title = headline.strip() or h1 or _meta(tree, "og:title") or (document.title if document else "") or ""
    if not meta.title and (titles := tree.xpath("//title")):
        meta.title = _text(titles[0])

    for candidate in (
        article.get("datePublished") if isinstance(article.get("datePublished"), str) else "",
        _meta(
            tree,
            "article:published_time",
            "og:published_time",
            "publishdate",
            "pubdate",
            "publish_date",
            "datePublished",
        ),
        line.get("time", ""),
        next(iter(tree.xpath("//time/@datetime")), ""),
        _first_date_time(tree),
    ):
        if moment := _parse_moment(candidate):
            meta.published = moment
            break

    # The publisher, when the page names one; else the 来源 of its metadata line is the source and
    # only 本文转自 names a reprint (the seed's shape: 来源:人民资讯, 本文转自:人民网-山东频道).
    publisher = (_names(article.get("publisher")) or [""])[0] or _meta(
        tree, "og:site_name", "application-name", "source"
    )
    if publisher:
        meta.source = publisher
        reprinted = line.get("reprinted") or line.get("source") or ""
    else:
        meta.source = line.get("source") or (document.sitename if document and document.sitename else "")
        meta.source = meta.source or urlsplit(url).hostname or ""
        reprinted = line.get("reprinted") or ""
    if reprinted and reprinted != meta.source:
        meta.reprinted_from = reprinted
    authors = _names(article.get("author"))
    meta.byline = (
        line.get("author")
        or " ".join(authors)
        or _meta(tree, "author", "article:author")
        or (document.author if document and document.author else "")
    )
    section = article.get("articleSection")
    section = section[0] if isinstance(section, list) and section else section
    meta.category = (section if isinstance(section, str) else "") or _meta(tree, "article:section")
    return meta


def _paragraphs(document) -> list[str]:
    """The article's text as trafilatura found it, one string per paragraph, heading or list item."""
    if document is None or document.body is None:
        return []
    paragraphs = []
    for element in document.body:
        if element.tag in ("p", "head", "quote", "code"):
            paragraphs.append(_text(element))
        elif element.tag == "list":
            paragraphs.extend(_text(item) for item in element.iter("item"))
    return [p for p in paragraphs if p]


def _related_links(tree, *, url: str) -> list[dict]:
    """The page's own related-news list: each entry's title, excerpt and date where it gives them."""
    containers = [
        element
        for element in tree.xpath("//*[@class or @id]")
        if _RELATED_MARK.search(f"{element.get('class', '')} {element.get('id', '')}")
    ]
    for heading in tree.xpath("//h2|//h3|//h4|//h5|//div[not(*)]|//span[not(*)]|//p[not(*)]"):
        if _RELATED_HEADING.match(_text(heading)):
            containers.append(heading.getparent())
    links: list[dict] = []
    seen: set[str] = set()
    for container in containers:
        items = container.xpath(".//li") or [container]
        for item in items:
            anchors = item.xpath(".//a[@href]")
            if not anchors:
                continue
            try:
                href = clean_url(urljoin(url, anchors[0].get("href").strip()), "related link")
            except (InvalidRecord, ValueError):
                continue  # a link this archive could not store (javascript:, spaces) is left out
            if not href or href in seen:
                continue
            seen.add(href)
            title = _text(anchors[0])
            whole = _text(item)
            if title.startswith(("...", "…")):
                title = ""  # the seed's shape: a link that is an excerpt, with no title
            date = _DATE_TIME.search(whole)
            excerpt = " ".join(_text(p) for p in item.xpath(".//p|.//*[contains(@class, 'summary')]"))
            if not excerpt:
                rest = whole.replace(title, "", 1)
                excerpt = rest.replace(date.group(0), "", 1) if date else rest
            moment = _parse_moment(date.group(0)) if date else None
            links.append(
                {
                    "title": title[:500],
                    "excerpt": excerpt.strip(_SEPARATORS).lstrip(".…")[:5000],
                    "date": moment.isoformat() if moment else None,
                    "url": href,
                }
            )
        if links:
            break  # the first list found is the page's own
    return links[:MAX_RELATED]


# Second-level labels under which a country's registrable domains sit (people.com.cn, gov.cn's
# sd.gov.cn stays sd.gov.cn): enough of the public suffix list for news sites, without fetching it.
_GENERIC_SECOND_LEVEL = frozenset({"com", "net", "org", "gov", "edu", "ac", "co", "mil", "or", "ne", "go"})


def site_of(host: str) -> str:
    """The registrable part of a host name ("m.people.com.cn" → "people.com.cn"), an IP address as it is."""
    host = host.lower().rstrip(".")
    labels = host.split(".")
    if host.replace(".", "").isdigit() or ":" in host or len(labels) <= 2:
        return host
    keep = 3 if len(labels[-1]) == 2 and labels[-2] in _GENERIC_SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def _canonical(tree, *, url: str) -> str:
    """The page's rel=canonical when it names a page of the same site (a mobile page its desktop
    one), else the address it was fetched from. A canonical on another site is not followed: it
    would let any page put its content under the key of another site's article already archived."""
    own_site = site_of(urlsplit(url).hostname or "")
    for link in tree.xpath("//link[@href]"):
        if "canonical" in (link.get("rel") or "").lower().split():
            href = urljoin(url, link.get("href").strip())
            if href.startswith(("http://", "https://")) and site_of(urlsplit(href).hostname or "") == own_site:
                return canonical_url(href)
    return canonical_url(url)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _parse(body: bytes, content_type: str) -> tuple[str, etree._Element]:
    """The page's text and its tree; InvalidRecord when it is not HTML or not readable."""
    if not is_html(content_type):
        raise InvalidRecord(f"not an HTML page ({content_type.split(';')[0].strip() or 'no content type'})")
    html = decode_html(body, content_type)
    html = re.sub(r"^\s*<\?xml[^>]*>", "", html)  # lxml refuses an encoding declaration in a str
    if not html.strip():
        raise InvalidRecord("the page is empty")
    try:
        return html, lxml.html.fromstring(html)
    except (etree.ParserError, ValueError) as error:
        raise InvalidRecord(f"not readable as HTML: {error}") from None


def _article_paragraphs(paragraphs: list[str], meta) -> tuple[list[str], str]:
    """The paragraphs of the article itself, and its reprinted-from: metadata lines, a 本文转自/来源
    line (taken as reprinted-from unless it names the source itself), an editor's credit and the
    headline repeated as the first paragraph are left out."""
    reprinted_from = meta.reprinted_from
    kept = []
    for paragraph in paragraphs:
        labelled = _labelled(paragraph) if len(paragraph) <= 200 else {}
        if len(labelled) >= 2 or (labelled and "time" in labelled):
            continue  # the metadata line, taken into the fields already
        if match := _REPRINT_LINE.match(paragraph):
            if not reprinted_from and match.group("value").strip() != meta.source:
                reprinted_from = match.group("value").strip()
            continue
        if _EDITOR_LINE.match(paragraph) or (not kept and paragraph == meta.title):
            continue  # an editor's credit; the headline repeated as the first paragraph
        if len(paragraph) <= 40 and (match := _DATE_TIME.search(paragraph)) and match.group("H"):
            continue  # a line of metadata: a source and a time
        kept.append(paragraph)
    return kept, reprinted_from


def _take_trailing_byline(kept: list[str], byline: str) -> str:
    """The byline: the page's own, else the one closing the last paragraph, which is taken off it
    (in place) when it is that byline."""
    if not kept or not (match := _TRAILING_BYLINE.match(kept[-1])):
        return byline
    trailing = match.group("byline").strip()
    byline = byline or trailing
    if trailing == byline:
        kept[-1] = match.group("text").rstrip()
        if not kept[-1]:
            kept.pop()
    return byline


def _htmldate(html: str, *, url: str):
    found = htmldate.find_date(html, url=url, original_date=True, outputformat="%Y-%m-%d %H:%M:%S")
    return _parse_moment(found) if found else None


def extract_capture(
    *,
    body: bytes,
    content_type: str,
    url: str,
    captured_at: datetime,
    origin: Origin,
    collected_by: str | None = None,
    category: str = "",
) -> Capture:
    """One news page as a Capture; raises InvalidRecord when it is not HTML or holds no article.

    The key comes from the page's rel=canonical, else the address it was fetched from, normalized:
    a mobile page that names its desktop page as canonical is the same snapshot."""
    html, tree = _parse(body, content_type)
    document = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, favor_precision=True
    )
    meta = _page_meta(tree, url=url, document=document)
    kept, reprinted_from = _article_paragraphs(_paragraphs(document), meta)
    byline = _take_trailing_byline(kept, meta.byline)
    if sum(len(p) for p in kept) < MIN_ARTICLE_CHARS:
        raise InvalidRecord("no article found on the page (no paragraphs of text)")
    published = meta.published or _htmldate(html, url=url)
    if published is None:
        raise InvalidRecord("no publication time found on the page")
    if not meta.title:
        raise InvalidRecord("no title found on the page")

    record = {
        "url": _canonical(tree, url=url),
        "title": meta.title[:500],
        "category": (category or meta.category or settings.CAPTURE_DEFAULT_CATEGORY)[:100],
        "source": meta.source[:200],
        "reprinted_from": reprinted_from[:200],
        "byline": byline[:300],
        "published_at": published.isoformat(),
        "captured_at": captured_at.isoformat(),
        "collected_by": (collected_by or settings.CAPTURE_CRAWLER_NAME)[:200],
        "body_html": "\n".join(f"<p>{_escape(p)}</p>" for p in kept),
        "related": _related_links(tree, url=url),
    }
    return build_capture(origin, record)
