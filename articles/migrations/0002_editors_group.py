from django.contrib.auth.management import create_permissions
from django.db import migrations

# What an editor curates: snapshots (change, never add or delete: captures come from imports and
# nothing is ever deleted), their related links, categories and sources.
EDITOR_PERMISSIONS = [
    "view_snapshot",
    "change_snapshot",
    "view_relatedlink",
    "add_relatedlink",
    "change_relatedlink",
    "delete_relatedlink",
    "view_category",
    "add_category",
    "change_category",
    "view_source",
    "add_source",
    "change_source",
]


def create_editors_group(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name="Editors")
    group.permissions.set(
        Permission.objects.filter(content_type__app_label="articles", codename__in=EDITOR_PERMISSIONS)
    )


def remove_editors_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name="Editors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_editors_group, remove_editors_group)]
