from django.contrib.auth.management import create_permissions
from django.db import migrations

# What a moderator needs: decide removal requests (through the admin's workflow buttons, which call
# the services), see everything about them, take measures against abusive requesters, and look at
# the snapshots concerned without being able to change their content.
MODERATOR_PERMISSIONS = {
    "moderation": [
        "view_takedownrequest",
        "change_takedownrequest",
        "decide_takedownrequest",
        "view_takedownitem",
        "view_evidencefile",
        "view_moderationevent",
        "view_counternotice",
        "view_requester",
        "change_requester",
    ],
    "articles": ["view_snapshot", "view_relatedlink", "view_category", "view_source"],
}


def create_moderators_group(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Moderators")
    permissions = []
    for app_label, codenames in MODERATOR_PERMISSIONS.items():
        permissions += Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    group.permissions.set(permissions)


def remove_moderators_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Moderators").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0001_initial"),
        ("articles", "0002_editors_group"),
    ]

    operations = [migrations.RunPython(create_moderators_group, remove_moderators_group)]
