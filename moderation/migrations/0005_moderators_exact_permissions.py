import importlib

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Exactly what a moderator uses, each for one thing (0002 also gave change_takedownrequest,
# view_takedownitem, view_counternotice and change_requester, which nothing checks: requests and
# requesters change only through the workflow, and items and counter-notices are shown on the
# request's own page):
MODERATOR_PERMISSIONS = {
    "moderation": [
        "view_takedownrequest",  # the queue and each request's page
        "decide_takedownrequest",  # every move, "assign to me", and warning or suspending a requester
        "view_evidencefile",  # downloading the files a requester attached
        "view_requester",  # a requester's record and earlier requests
        "view_moderationevent",  # the log of every request's events
    ],
    # The snapshots concerned, read-only: content is the editors' (they hold change_snapshot).
    "articles": ["view_snapshot", "view_relatedlink", "view_category", "view_source"],
}


def set_moderators_permissions(apps, schema_editor, table=MODERATOR_PERMISSIONS):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    permissions = []
    for app_label, codenames in table.items():
        permissions += Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    group.permissions.set(permissions)


def restore_0002_permissions(apps, schema_editor):
    previous = importlib.import_module("moderation.migrations.0002_moderators_group")
    set_moderators_permissions(apps, schema_editor, table=previous.MODERATOR_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("moderation", "0004_info_deadline_and_withheld_by")]

    operations = [migrations.RunPython(set_moderators_permissions, restore_0002_permissions)]
