"""Statements of reasons as the EU's DSA Transparency Database takes them (DSA art. 24(5); the
database's API and its schema, app/Http/Requests/StatementStoreRequest.php): one per listed URL a
decision restricted, in the database's own field names and values, redacted as the public record is.

Mapping: the restriction is "disabling access" (the snapshot answers 451; nothing is deleted), on
the ground of illegal content (the notices are about rights, not terms of service), notified under
DSA art. 16; nothing here detects content or decides automatically except the clock's lapses, which
restrict nothing and so make no statement. The application date is when the withholding took
effect, the end date when it was lifted (restored, withdrawn, reversed), if it was.
"""

from django.utils import timezone

from .models import ClaimState, DecisionGround, ItemOutcome, TakedownItem
from .redaction import redact

# The database's keys for our grounds: category, keywords (category_specification), and the legal
# ground as the statement names it.
GROUNDS = {
    DecisionGround.COPYRIGHT: (
        "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS",
        ["KEYWORD_COPYRIGHT_INFRINGEMENT"],
        "Copyright: right of communication through information networks (信息网络传播权保护条例 arts. 14-15)",
    ),
    DecisionGround.PERSONALITY: (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS",
        [],
        "Personality rights: reputation, privacy, personal information (民法典 arts. 1194-1195)",
    ),
    DecisionGround.OTHER_LAW: ("STATEMENT_CATEGORY_NOT_SPECIFIED_NOTICE", [], "Another legal ground"),
}
# Where the withholding applies: everywhere, so every country the database knows (the EEA).
EEA = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE",
    "IS", "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
]  # fmt: skip
# The fields of a statement, in the database's order of its form (the CSV's columns).
FIELDS = [
    "puid",
    "decision_visibility",
    "decision_visibility_other",
    "decision_monetary",
    "decision_provision",
    "decision_account",
    "account_type",
    "decision_ground",
    "decision_ground_reference_url",
    "illegal_content_legal_ground",
    "illegal_content_explanation",
    "incompatible_content_ground",
    "incompatible_content_explanation",
    "incompatible_content_illegal",
    "category",
    "category_specification",
    "content_type",
    "content_language",
    "content_date",
    "application_date",
    "end_date_visibility_restriction",
    "territorial_scope",
    "decision_facts",
    "source_type",
    "source_identity",
    "automated_detection",
    "automated_decision",
]

RESTRICTED = (ItemOutcome.ACTIONED,)
LIFTED = (ClaimState.RESTORED, ClaimState.WITHDRAWN, ClaimState.REVERSED)


def statement_items():
    """The listed URLs that make a statement: actioned by a published decision (its publication
    delay passed), with a claim that took effect (or was lifted before it did, in a window)."""
    return (
        TakedownItem.objects.filter(
            outcome__in=RESTRICTED,
            request__publish_after__lte=timezone.now(),
        )
        .exclude(claim=ClaimState.NONE)
        .select_related("request", "snapshot", "work")
        .only(
            "pk",
            "position",
            "claim",
            "effective_at",
            "lifted_at",
            "request__reference",
            "request__ground",
            "request__decision_reason",
            "request__organisation",
            "request__name",
            "request__signature",
            "request__decided_at",
            "snapshot__published_at",
            "work__description",
        )
        .order_by("-request__decided_at", "request_id", "position")
    )


def _date(moment) -> str | None:
    return timezone.localtime(moment).date().isoformat() if moment else None


def statement(item: TakedownItem) -> dict:
    """One statement of reasons, with the DSA Transparency Database's field names and values."""
    req = item.request
    names = (req.name, req.signature)
    category, keywords, legal_ground = GROUNDS.get(req.ground, GROUNDS[DecisionGround.OTHER_LAW])
    reason = redact(req.decision_reason, names=names)
    work = redact(item.work.description, names=names)
    facts = f"{reason}\n\nWork claimed: {work}" if work else reason
    return {
        # The platform's unique id of the statement: the request's reference and the URL's position.
        "puid": f"{req.reference}-{item.position}",
        "decision_visibility": ["DECISION_VISIBILITY_CONTENT_DISABLED"],
        "decision_visibility_other": None,
        "decision_monetary": None,
        "decision_provision": None,
        "decision_account": None,
        "account_type": None,
        "decision_ground": "DECISION_GROUND_ILLEGAL_CONTENT",
        "decision_ground_reference_url": None,
        "illegal_content_legal_ground": legal_ground[:500],
        "illegal_content_explanation": reason[:2000],
        "incompatible_content_ground": None,
        "incompatible_content_explanation": None,
        "incompatible_content_illegal": None,
        "category": category,
        "category_specification": keywords,
        "content_type": ["CONTENT_TYPE_TEXT"],
        "content_language": "ZH",
        "content_date": _date(item.snapshot.published_at) if item.snapshot_id else None,
        "application_date": _date(item.effective_at or req.decided_at),
        "end_date_visibility_restriction": _date(item.lifted_at) if item.claim in LIFTED else None,
        "territorial_scope": EEA,
        "decision_facts": facts[:5000],
        "source_type": "SOURCE_ARTICLE_16",
        # An organisation is named, as on the public record; an individual is not.
        "source_identity": req.organisation[:500] or None,
        "automated_detection": "No",
        "automated_decision": "AUTOMATED_DECISION_NOT_AUTOMATED",
    }
