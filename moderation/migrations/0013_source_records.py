"""The sources' removal records (a proxy of articles' Source): moderators may view them, to see
the repeat-infringer count of each."""

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant(apps, schema_editor):
    app_config = apps.get_app_config("moderation")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Moderators").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="moderation", codename="view_sourcerecord")
        )


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0015_source_contact_email'),
        ('moderation', '0012_changes_window_and_publication_delay'),
    ]

    operations = [
        migrations.CreateModel(
            name='SourceRecord',
            fields=[
            ],
            options={
                'verbose_name': "source's removal record",
                'verbose_name_plural': "sources' removal records",
                'proxy': True,
                'indexes': [],
                'constraints': [],
            },
            bases=('articles.source',),
        ),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
