"""The event log follows the workflow table (moderation.workflow): its actions are a closed set of
the table's names, an event is about a request or a requester (warnings, suspensions and lifts are
events with their actor now), and the database refuses to update or delete an event.

Carried over: a restoration the clock made (no actor) becomes `restore_due`, the table's automatic
action; a requester warned or suspended before this gets the events that say so, by an actor no
longer known. The triggers come last, after every change to the table's rows and shape (SQLite
rebuilds a table to alter it, which drops its triggers: a test checks they are there)."""


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def carry_over(apps, schema_editor):
    ModerationEvent = apps.get_model("moderation", "ModerationEvent")
    Requester = apps.get_model("moderation", "Requester")
    ModerationEvent.objects.filter(action="restore", actor__isnull=True).update(action="restore_due")
    before_the_log = "moderator (before the event log)"
    for requester in Requester.objects.filter(warned_at__isnull=False).order_by("pk"):
        ModerationEvent.objects.create(
            requester=requester,
            actor_label=before_the_log,
            action="warn",
            from_status="clear",
            to_status="warned",
            note=requester.abuse_note,
            created_at=requester.warned_at,
            data={},
        )
        if requester.suspended_until:
            ModerationEvent.objects.create(
                requester=requester,
                actor_label=before_the_log,
                action="suspend",
                from_status="warned",
                to_status="suspended",
                created_at=requester.warned_at,
                data={"until": requester.suspended_until.isoformat()},
            )


APPEND_ONLY = {
    "sqlite": [
        """CREATE TRIGGER moderation_event_no_update BEFORE UPDATE ON moderation_moderationevent
        BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END""",
        """CREATE TRIGGER moderation_event_no_delete BEFORE DELETE ON moderation_moderationevent
        BEGIN SELECT RAISE(ABORT, 'moderation events are append-only'); END""",
    ],
    "postgresql": [
        """CREATE FUNCTION moderation_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'moderation events are append-only' USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
        """CREATE TRIGGER moderation_event_append_only BEFORE UPDATE OR DELETE ON moderation_moderationevent
        FOR EACH ROW EXECUTE FUNCTION moderation_event_append_only()""",
    ],
}
NOT_APPEND_ONLY = {
    "sqlite": [
        "DROP TRIGGER IF EXISTS moderation_event_no_update",
        "DROP TRIGGER IF EXISTS moderation_event_no_delete",
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS moderation_event_append_only ON moderation_moderationevent",
        "DROP FUNCTION IF EXISTS moderation_event_append_only()",
    ],
}


def run(statements):
    def operation(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor not in statements:
            raise RuntimeError(f"The event log's triggers are written for SQLite and PostgreSQL, not {vendor}.")
        for statement in statements[vendor]:
            schema_editor.execute(statement)

    return operation


class Migration(migrations.Migration):

    dependencies = [
        ('moderation', '0008_withholding_ledger'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='moderationevent',
            name='requester',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='moderation.requester', verbose_name='requester'),
        ),
        migrations.AlterField(
            model_name='moderationevent',
            name='action',
            field=models.CharField(choices=[('submit', 'request received'), ('assign', 'assigned to a moderator'), ('review', 'taken into review'), ('ask', 'the moderator asked a question'), ('answer', 'you answered'), ('approve', 'approved'), ('reject', 'rejected'), ('lapse', 'closed automatically: the question was not answered in time'), ('withdraw', 'withdrawn'), ('counter_notice', 'counter-notice received'), ('report_lawsuit', 'lawsuit or complaint reported'), ('uphold', 'withholding upheld after the dispute'), ('restore', 'snapshots restored'), ('restore_due', 'snapshots restored automatically: no lawsuit was reported in time'), ('warn', 'warned'), ('suspend', 'suspended'), ('lift', 'suspension lifted')], max_length=30, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='moderationevent',
            name='request',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='moderation.takedownrequest', verbose_name='request'),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name='moderationevent',
            index=models.Index(fields=['action', 'created_at'], name='moderation_event_by_action'),
        ),
        migrations.AddConstraint(
            model_name='moderationevent',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['submit', 'assign', 'review', 'ask', 'answer', 'approve', 'reject', 'lapse', 'withdraw', 'counter_notice', 'report_lawsuit', 'uphold', 'restore', 'restore_due', 'warn', 'suspend', 'lift'])), name='moderation_event_action'),
        ),
        migrations.AddConstraint(
            model_name='moderationevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('request__isnull', False), ('requester__isnull', True)), models.Q(('request__isnull', True), ('requester__isnull', False)), _connector='OR'), name='moderation_event_one_subject'),
        ),
        migrations.RunPython(run(APPEND_ONLY), run(NOT_APPEND_ONLY)),
    ]
