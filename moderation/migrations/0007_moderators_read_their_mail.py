from django.contrib.auth.management import create_permissions
from django.db import migrations

# Moderators read the mail of removal requests (receipts, questions, decisions, counter-notices) in
# the admin's outbox and can send one again; the outbox shows them no other mail.
CODENAMES = ["view_moderation_mail", "resend_moderation_mail"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("outbox")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.add(*Permission.objects.filter(content_type__app_label="outbox", codename__in=CODENAMES))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.remove(*Permission.objects.filter(content_type__app_label="outbox", codename__in=CODENAMES))


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0006_queue_order_index"),
        ("outbox", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
