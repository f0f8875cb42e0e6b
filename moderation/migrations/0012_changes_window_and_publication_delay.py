"""The changes window's automatic action (take_effect) and the requesters' publication delay
(set_publication_delay) join the event log's actions; a decision is published from `publish_after`
(the decisions already taken: at once). SQLite rebuilds the event table to change its check of the
actions, which drops the append-only triggers: they are made again at the end."""


from django.conf import settings
from django.db import migrations, models
from django.db.models import F

APPEND_ONLY_SQLITE = [
    "DROP TRIGGER IF EXISTS moderation_event_no_update",
    "DROP TRIGGER IF EXISTS moderation_event_no_delete",
    """CREATE TRIGGER moderation_event_no_update BEFORE UPDATE ON moderation_moderationevent
    BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END""",
    """CREATE TRIGGER moderation_event_no_delete BEFORE DELETE ON moderation_moderationevent
    BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END""",
]


def append_only_again(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in APPEND_ONLY_SQLITE:
            schema_editor.execute(statement)


def publish_decided(apps, schema_editor):
    TakedownRequest = apps.get_model("moderation", "TakedownRequest")
    TakedownRequest.objects.filter(decided_at__isnull=False).update(publish_after=F("decided_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0011_appeals'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='moderationevent',
            name='moderation_event_action',
        ),
        migrations.AddField(
            model_name='requester',
            name='publication_delay_days',
            field=models.PositiveIntegerField(default=0, verbose_name='publication delay (days)'),
        ),
        migrations.AddField(
            model_name='takedownrequest',
            name='publish_after',
            field=models.DateTimeField(blank=True, db_index=True, null=True, verbose_name='published from'),
        ),
        migrations.AlterField(
            model_name='moderationevent',
            name='action',
            field=models.CharField(choices=[('submit', 'request received'), ('assign', 'assigned to a moderator'), ('review', 'taken into review'), ('ask', 'the moderator asked a question'), ('answer', 'you answered'), ('approve', 'approved'), ('reject', 'rejected'), ('lapse', 'closed automatically: the question was not answered in time'), ('withdraw', 'withdrawn'), ('take_effect', 'withholding took effect automatically at the end of the changes window'), ('counter_notice', 'counter-notice received'), ('report_lawsuit', 'lawsuit or complaint reported'), ('uphold', 'withholding upheld after the dispute'), ('restore', 'snapshots restored'), ('restore_due', 'snapshots restored automatically: no lawsuit was reported in time'), ('appeal', 'appeal received'), ('appeal_uphold', 'decision upheld on appeal'), ('appeal_reverse', 'decision reversed on appeal'), ('warn', 'warned'), ('suspend', 'suspended'), ('set_publication_delay', 'publication delay set'), ('lift', 'suspension lifted')], max_length=30, verbose_name='action'),
        ),
        migrations.AddConstraint(
            model_name='moderationevent',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['submit', 'assign', 'review', 'ask', 'answer', 'approve', 'reject', 'lapse', 'withdraw', 'take_effect', 'counter_notice', 'report_lawsuit', 'uphold', 'restore', 'restore_due', 'appeal', 'appeal_uphold', 'appeal_reverse', 'warn', 'suspend', 'set_publication_delay', 'lift'])), name='moderation_event_action'),
        ),
        migrations.RunPython(publish_decided, migrations.RunPython.noop),
        migrations.RunPython(append_only_again, migrations.RunPython.noop),
    ]
