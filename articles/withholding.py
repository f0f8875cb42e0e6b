"""What a withheld snapshot's page (HTTP 451) says about the decisions that withhold it.

articles knows that a snapshot is withheld (`Snapshot.withheld`, kept by the withholding ledger of
the removal workflow); which decisions withhold it, and where their public record is, belongs to the
app that decides removal requests. That app registers a provider here from its AppConfig.ready()
(moderation does), so articles imports nothing from it: apps depend in one direction only. With no
provider registered the page still answers 451, without naming a decision.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Claim:
    """One standing decision that withholds the snapshot, as the public may read it."""

    reference: str
    decided_at: datetime | None
    ground: str  # the ground's label, or ""
    record_url: str  # the decision's public record
    disputed: bool = False  # a counter-notice disputes it
    lawsuit_reported: bool = False  # ... and the requester answered it with a lawsuit or complaint
    restore_after: datetime | None = None  # when it lapses unless a lawsuit is reported


@dataclass(frozen=True)
class Notice:
    claims: list[Claim] = field(default_factory=list)
    record_url: str = ""  # the public record of decisions
    counter_url: str = ""  # where to send a counter-notice; "" when none can be sent now


Provider = Callable[..., Notice]

_provider: Provider | None = None


def register(provider: Provider) -> None:
    """Set the function that describes the withholding of a snapshot: called with the snapshot
    and `page_url` (its absolute address), it returns a Notice in a fixed number of queries."""
    global _provider
    _provider = provider


def notice_for(snapshot, *, page_url: str) -> Notice:
    """The notice for a withheld snapshot's page; an empty one when nobody registered a provider."""
    if _provider is None:
        return Notice()
    return _provider(snapshot, page_url=page_url)
