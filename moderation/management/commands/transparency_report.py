"""The removal desk's monthly report (DSA art. 15): decisions of one month by ground, by outcome and
by who decided (a person or the clock), and the median and 90th percentile of the time from receipt
to decision (automatic lapses apart). The same figures are on /transparency/.

    manage.py transparency_report --month 2026-11
    manage.py transparency_report --month 2026-11 --json
"""

import json as _json
from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from moderation import selectors
from moderation.models import TakedownRequest


def _hours(value) -> float | None:
    return round(value.total_seconds() / 3600, 2) if value is not None else None


def as_dict(report: selectors.MonthReport) -> dict:
    return {
        "month": report.month.strftime("%Y-%m"),
        "decided": report.decided,
        "by_ground": report.by_ground,
        "by_outcome": report.by_outcome,
        "by_automation": {"person": report.by_person, "automatic": report.automatically},
        "hours_to_decision": {"median": _hours(report.median), "p90": _hours(report.p90)},
        "hours_to_automatic_lapse": {"median": _hours(report.lapse_median)},
    }


class Command(BaseCommand):
    help = "Print the monthly transparency report of removal decisions (counts, median and 90th percentile)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, metavar="YYYY-MM", help="The month, in Asia/Shanghai time.")
        parser.add_argument("--json", action="store_true", help="Print JSON instead of a table.")

    def handle(self, *args, month, json: bool = False, **options):
        try:
            year, number = (int(part) for part in month.split("-"))
            first = date(year, number, 1)
        except ValueError:
            raise CommandError(f"--month must be YYYY-MM, not {month!r}.") from None
        (report,) = selectors.monthly_report(since=first, until=first) or [
            selectors.MonthReport(first, dict.fromkeys(TakedownRequest.Ground.values, 0), {}, 0, 0, None, None, None)
        ]
        data = as_dict(report)
        if json:
            self.stdout.write(_json.dumps(data, ensure_ascii=False, indent=1))
            return
        self.stdout.write(f"Removal decisions in {data['month']} (Asia/Shanghai; report made {timezone.localdate()})")
        self.stdout.write(
            f"  decided: {report.decided} (by a person {report.by_person}, automatically {report.automatically})"
        )
        for title, counts in (("by ground", report.by_ground), ("by outcome", report.by_outcome)):
            self.stdout.write(f"  {title}: " + ", ".join(f"{key} {count}" for key, count in counts.items()))
        hours = data["hours_to_decision"]
        self.stdout.write(
            f"  hours from receipt to decision (by a person): median {hours['median']}, 90th percentile {hours['p90']}"
        )
        self.stdout.write(f"  hours to an automatic lapse: median {data['hours_to_automatic_lapse']['median']}")
