"""Appeals (DSA art. 20): a request's decision may be appealed by its requester or a snapshot's
source, and reversed on appeal (a new request state, `reversed`); the event log takes the three new
actions of the workflow table. Sources are sent the notice and the decision (条例 art. 15), each
with a secret link to its page of the request (SourceNotice).

SQLite rebuilds the event table to change its check of the actions, which drops the append-only
triggers of migration 0009: they are made again at the end (PostgreSQL keeps them)."""


import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

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


class Migration(migrations.Migration):

    dependencies = [
        ('articles', '0014_snapshot_editor_status_and_withheld'),
        ('moderation', '0010_works'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Appeal',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('party', models.CharField(choices=[('requester', 'the requester'), ('source', 'the source of the snapshots')], max_length=20, verbose_name='appellant')),
                ('reason', models.TextField(verbose_name='why the decision is wrong')),
                ('status', models.CharField(choices=[('open', 'open'), ('upheld', 'decision upheld'), ('reversed', 'decision reversed')], default='open', max_length=20, verbose_name='status')),
                ('filed_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='filed')),
                ('decided_at', models.DateTimeField(blank=True, null=True, verbose_name='decided')),
                ('decision_reason', models.TextField(blank=True, verbose_name='reasons of the review')),
            ],
            options={
                'verbose_name': 'appeal',
                'verbose_name_plural': 'appeals',
                'ordering': ['request', 'filed_at', 'id'],
            },
        ),
        migrations.RemoveConstraint(
            model_name='moderationevent',
            name='moderation_event_action',
        ),
        migrations.RemoveConstraint(
            model_name='takedownrequest',
            name='takedown_status_valid',
        ),
        migrations.AlterField(
            model_name='moderationevent',
            name='action',
            field=models.CharField(choices=[('submit', 'request received'), ('assign', 'assigned to a moderator'), ('review', 'taken into review'), ('ask', 'the moderator asked a question'), ('answer', 'you answered'), ('approve', 'approved'), ('reject', 'rejected'), ('lapse', 'closed automatically: the question was not answered in time'), ('withdraw', 'withdrawn'), ('counter_notice', 'counter-notice received'), ('report_lawsuit', 'lawsuit or complaint reported'), ('uphold', 'withholding upheld after the dispute'), ('restore', 'snapshots restored'), ('restore_due', 'snapshots restored automatically: no lawsuit was reported in time'), ('appeal', 'appeal received'), ('appeal_uphold', 'decision upheld on appeal'), ('appeal_reverse', 'decision reversed on appeal'), ('warn', 'warned'), ('suspend', 'suspended'), ('lift', 'suspension lifted')], max_length=30, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='takedownrequest',
            name='status',
            field=models.CharField(choices=[('submitted', 'submitted'), ('in_review', 'in review'), ('info_requested', 'information requested'), ('approved', 'approved'), ('rejected', 'rejected'), ('withdrawn', 'withdrawn'), ('disputed', 'disputed'), ('restored', 'restored'), ('reversed', 'reversed on appeal')], default='submitted', max_length=20, verbose_name='status'),
        ),
        migrations.AddConstraint(
            model_name='moderationevent',
            constraint=models.CheckConstraint(condition=models.Q(('action__in', ['submit', 'assign', 'review', 'ask', 'answer', 'approve', 'reject', 'lapse', 'withdraw', 'counter_notice', 'report_lawsuit', 'uphold', 'restore', 'restore_due', 'appeal', 'appeal_uphold', 'appeal_reverse', 'warn', 'suspend', 'lift'])), name='moderation_event_action'),
        ),
        migrations.AddConstraint(
            model_name='takedownrequest',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['submitted', 'in_review', 'info_requested', 'approved', 'rejected', 'withdrawn', 'disputed', 'restored', 'reversed'])), name='takedown_status_valid'),
        ),
        migrations.AddField(
            model_name='appeal',
            name='decided_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='reviewer'),
        ),
        migrations.AddField(
            model_name='appeal',
            name='items',
            field=models.ManyToManyField(related_name='appeals', to='moderation.takedownitem', verbose_name='URLs concerned'),
        ),
        migrations.AddField(
            model_name='appeal',
            name='request',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='appeals', to='moderation.takedownrequest', verbose_name='request'),
        ),
        migrations.AddField(
            model_name='appeal',
            name='source',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='articles.source', verbose_name='source'),
        ),
        migrations.AddConstraint(
            model_name='appeal',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['open', 'upheld', 'reversed'])), name='appeal_status_valid'),
        ),
        migrations.AddConstraint(
            model_name='appeal',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('party', 'requester'), ('source__isnull', True)), models.Q(('party', 'source'), ('source__isnull', False)), _connector='OR'), name='appeal_party_source'),
        ),
        migrations.AddConstraint(
            model_name='appeal',
            constraint=models.UniqueConstraint(condition=models.Q(('party', 'requester'), ('status', 'open')), fields=('request',), name='appeal_one_open_by_the_requester'),
        ),
        migrations.AddConstraint(
            model_name='appeal',
            constraint=models.UniqueConstraint(condition=models.Q(('party', 'source'), ('status', 'open')), fields=('request', 'source'), name='appeal_one_open_per_source'),
        ),
        migrations.CreateModel(
            name='SourceNotice',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('email', models.EmailField(max_length=254, verbose_name='sent to')),
                ('token_hash', models.CharField(editable=False, max_length=64, unique=True)),
                ('sent_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='sent')),
                ('request', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='source_notices', to='moderation.takedownrequest', verbose_name='request')),
                ('source', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='articles.source', verbose_name='source')),
            ],
            options={
                'verbose_name': 'notice to a source',
                'verbose_name_plural': 'notices to sources',
                'constraints': [models.UniqueConstraint(fields=('request', 'source'), name='source_notice_once_per_source')],
            },
        ),
        migrations.RunPython(append_only_again, migrations.RunPython.noop),
    ]
