"""Related excerpts are stored without the ellipsis they start with: the page writes its own, so one
kept in the text showed twice ("......"). New imports strip it (articles.importing.LEADING_ELLIPSIS);
this strips it from the excerpts already stored."""

import re

from django.db import migrations
from django.db.models import Q

LEADING_ELLIPSIS = re.compile(r"^(?:\.{3}|…|．{3}|⋯)+")  # as articles.importing has it today


def strip_ellipses(apps, schema_editor):
    RelatedLink = apps.get_model("articles", "RelatedLink")
    starts = Q()
    for prefix in ("...", "…", "．．．", "⋯"):
        starts |= Q(excerpt__startswith=prefix)
    changed = []
    for link in RelatedLink.objects.filter(starts).only("pk", "excerpt").iterator(chunk_size=2000):
        link.excerpt = LEADING_ELLIPSIS.sub("", link.excerpt)
        changed.append(link)
        if len(changed) == 2000:
            RelatedLink.objects.bulk_update(changed, ["excerpt"])
            changed = []
    RelatedLink.objects.bulk_update(changed, ["excerpt"])


class Migration(migrations.Migration):
    dependencies = [("articles", "0009_stored_pg_pairs")]

    operations = [migrations.RunPython(strip_ellipses, migrations.RunPython.noop)]
