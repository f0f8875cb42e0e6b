"""Write the removal desk's state diagrams and action table, made from the workflow table
(moderation.workflow), into docs/moderation.md between its markers.

    manage.py workflow_diagram            # rewrite the block
    manage.py workflow_diagram --check    # exit 1 if the block is stale (the test suite does the same)
"""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from moderation import workflow

DOCS = Path(settings.BASE_DIR) / "docs" / "moderation.md"
START = "<!-- workflow:start (made by manage.py workflow_diagram; do not edit by hand) -->"
END = "<!-- workflow:end -->"


def render(text: str) -> str:
    """`text` (the docs page) with the block between the markers made anew from the table."""
    before, start, rest = text.partition(START)
    _old, end, after = rest.partition(END)
    if not start or not end:
        raise CommandError(f"{DOCS} has no {START!r} … {END!r} block.")
    return f"{before}{START}\n{workflow.documentation()}\n{END}{after}"


class Command(BaseCommand):
    help = "Write the workflow table's state diagrams into docs/moderation.md (--check: fail if stale)."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="Only check that the docs are up to date.")

    def handle(self, *args, check=False, **options):
        text = DOCS.read_text(encoding="utf-8")
        fresh = render(text)
        if check:
            if fresh != text:
                raise CommandError(f"{DOCS} is stale: run manage.py workflow_diagram.")
            self.stdout.write("docs/moderation.md is up to date.")
            return
        DOCS.write_text(fresh, encoding="utf-8")
        self.stdout.write(f"Wrote the workflow's diagrams into {DOCS}.")
