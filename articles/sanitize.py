"""The one HTML sanitizer for snapshot bodies: models, imports and the admin all use it."""

import nh3
from django.utils.html import escape

# Text structure a news article needs. No images, media, forms, frames, styles or scripts:
# an archived page must never load or run anything from the place it was captured.
ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr", "h2", "h3", "h4", "h5", "h6",
        "strong", "b", "em", "i", "u", "s", "sub", "sup", "small", "mark", "q", "cite",
        "blockquote", "pre", "code", "ul", "ol", "li", "dl", "dt", "dd",
        "table", "caption", "thead", "tbody", "tfoot", "tr", "th", "td",
        "figure", "figcaption", "span", "a", "abbr", "time",
    }
)  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "time": {"datetime"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
    "ol": {"start"},
}
# Tags whose content is dropped too, not just the tag.
DROPPED_WITH_CONTENT = frozenset({"script", "style", "template", "noscript", "iframe", "object", "svg", "math"})
URL_SCHEMES = frozenset({"http", "https", "mailto"})


# Built once: configuring a cleaner costs five times more than cleaning a typical article.
_cleaner = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags=set(DROPPED_WITH_CONTENT),
    attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
    url_schemes=set(URL_SCHEMES),
    link_rel="noopener noreferrer nofollow",
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Return `html` reduced to the allow-list: no script, style, event attribute or unsafe URL survives."""
    if not html:
        return ""
    return _cleaner.clean(html).strip()


def text_to_html(text: str) -> str:
    """Turn plain text with blank-line-separated paragraphs into sanitized `<p>` paragraphs."""
    blocks = text.replace("\r\n", "\n").replace("\r", "\n").split("\n\n")
    paragraphs = []
    for block in blocks:
        lines = [escape(line.strip()) for line in block.split("\n") if line.strip()]
        if lines:
            # A single line break inside a paragraph is kept as a break, never turned into a space:
            # Chinese text has no spaces to join lines with.
            paragraphs.append("<p>" + "<br>".join(lines) + "</p>")
    return "\n".join(paragraphs)
