"""The states of the removal desk's things, apart from the models so that the workflow table
(moderation.workflow) and the models can both read them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TakedownStatus(models.TextChoices):
    SUBMITTED = "submitted", _("submitted")
    IN_REVIEW = "in_review", _("in review")
    INFO_REQUESTED = "info_requested", _("information requested")
    APPROVED = "approved", _("approved")
    REJECTED = "rejected", _("rejected")
    WITHDRAWN = "withdrawn", _("withdrawn")
    DISPUTED = "disputed", _("disputed")
    RESTORED = "restored", _("restored")
    REVERSED = "reversed", _("reversed on appeal")


class RequesterState(models.TextChoices):
    """Where a requester stands with the measures against abuse (DSA art. 23); derived from
    `Requester.warned_at` and `suspended_until` (workflow.requester_state)."""

    CLEAR = "clear", _("no measure")
    WARNED = "warned", _("warned")
    SUSPENDED = "suspended", _("suspended")


class AppealStatus(models.TextChoices):
    OPEN = "open", _("open")
    UPHELD = "upheld", _("decision upheld")
    REVERSED = "reversed", _("decision reversed")


class AppealParty(models.TextChoices):
    """Who appeals a decision (DSA art. 20): the requester (against a refusal), or the source of a
    withheld snapshot (against its withholding)."""

    REQUESTER = "requester", _("the requester")
    SOURCE = "source", _("the source of the snapshots")


class ItemOutcome(models.TextChoices):
    """What the moderator decided for one listed URL."""

    PENDING = "pending", _("pending")
    ACTIONED = "actioned", _("withheld")
    NOT_FOUND = "not_found", _("not found here")
    REFUSED = "refused", _("refused")


class ClaimState(models.TextChoices):
    """The withholding ledger: the state of one request's claim on one snapshot. A snapshot is
    withheld while at least one claim on it is standing or disputed (STANDING_CLAIMS), and public
    when none is and its editor's status is published."""

    NONE = "none", _("no claim")
    SCHEDULED = "scheduled", _("approved, takes effect after the changes window")
    STANDING = "standing", _("withheld")
    DISPUTED = "disputed", _("withheld, disputed by a counter-notice")
    RESTORED = "restored", _("restored after a counter-notice")
    WITHDRAWN = "withdrawn", _("lifted: the requester withdrew")
    REVERSED = "reversed", _("lifted: reversed on appeal")


# Claims that withhold their snapshot now; claims that did and were lifted.
STANDING_CLAIMS = (ClaimState.STANDING, ClaimState.DISPUTED)
LIFTED_CLAIMS = (ClaimState.RESTORED, ClaimState.WITHDRAWN, ClaimState.REVERSED)
