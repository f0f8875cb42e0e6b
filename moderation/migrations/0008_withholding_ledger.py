"""The withholding ledger. Each actioned URL becomes a claim of its request on its snapshot, with a
state of its own (standing, disputed, restored, ...); a counter-notice names the snapshots and the
claims it disputes instead of one request; an event carries what it did to claims (`data`).

Existing data is carried over: actioned URLs of approved requests become standing claims, of
disputed ones disputed claims (with the request's restoration date and any lawsuit reported), of
restored ones restored claims. A URL answered "already withheld" by another decision becomes a
claim of its own (the bug this fixes: it did not stand when the other decision was lifted). Every
snapshot's `withheld` flag is then recomputed from the claims, and a withheld snapshot an editor
had hidden before gets that editor's status back (from the old `status_before`)."""

from django.db import migrations, models

STANDING = ("standing", "disputed")


def carry_over(apps, schema_editor):
    TakedownRequest = apps.get_model("moderation", "TakedownRequest")
    TakedownItem = apps.get_model("moderation", "TakedownItem")
    CounterNotice = apps.get_model("moderation", "CounterNotice")
    ModerationEvent = apps.get_model("moderation", "ModerationEvent")
    Snapshot = apps.get_model("articles", "Snapshot")

    restored_at = {}
    for event in ModerationEvent.objects.filter(action="restore").order_by("created_at", "id"):
        restored_at[event.request_id] = event.created_at
    for req in TakedownRequest.objects.exclude(status__in=["submitted", "in_review", "info_requested"]).iterator():
        items = TakedownItem.objects.filter(request_id=req.pk, snapshot__isnull=False)
        if req.status == "approved":
            items.filter(outcome__in=["actioned", "already_withheld"]).update(
                outcome="actioned", claim="standing", effective_at=req.decided_at
            )
        elif req.status == "disputed":
            # Only the snapshots its counter-notices named are disputed (the old code disputed, and
            # would have restored, all of them).
            named = CounterNotice.objects.filter(request_id=req.pk).values_list("snapshot_id", flat=True)
            items.filter(outcome="actioned", snapshot_id__in=named).update(
                claim="disputed",
                effective_at=req.decided_at,
                restore_after=req.restore_after,
                lawsuit_reported_at=req.lawsuit_reported_at,
            )
            items.filter(outcome__in=["actioned", "already_withheld"], claim="none").update(
                outcome="actioned", claim="standing", effective_at=req.decided_at
            )
        elif req.status == "restored":
            items.filter(outcome__in=["actioned", "already_withheld"]).update(
                outcome="actioned",
                claim="restored",
                effective_at=req.decided_at,
                lifted_at=restored_at.get(req.pk, req.decided_at),
            )
    TakedownItem.objects.filter(outcome="already_withheld", request__status="rejected").update(outcome="refused")
    TakedownItem.objects.filter(outcome="already_withheld").update(outcome="pending")

    for notice in CounterNotice.objects.all().iterator():
        notice.snapshots.add(notice.snapshot_id)
        claim = TakedownItem.objects.filter(request_id=notice.request_id, snapshot_id=notice.snapshot_id).first()
        if claim is not None:
            notice.claims.add(claim)
        req = TakedownRequest.objects.get(pk=notice.request_id)
        if req.status == "disputed":
            CounterNotice.objects.filter(pk=notice.pk).update(restore_after=req.restore_after)

    # The snapshots follow the ledger: withheld while a claim stands, whatever they were before.
    claimed = set(TakedownItem.objects.filter(claim__in=STANDING).values_list("snapshot_id", flat=True))
    was_withheld = set(Snapshot.objects.filter(withheld=True).values_list("pk", flat=True))
    for pk in sorted(was_withheld - claimed):
        Snapshot.objects.filter(pk=pk, editor_status="published").update(withheld=False, status="published")
        Snapshot.objects.filter(pk=pk, editor_status="hidden").update(withheld=False, status="hidden")
    for pk in sorted(claimed - was_withheld):
        Snapshot.objects.filter(pk=pk, editor_status="published").update(withheld=True, status="withheld")
        Snapshot.objects.filter(pk=pk, editor_status="hidden").update(withheld=True, status="hidden")
    hidden_before = set(
        TakedownItem.objects.filter(claim__in=STANDING, status_before="hidden").values_list("snapshot_id", flat=True)
    )
    for pk in sorted(hidden_before):
        Snapshot.objects.filter(pk=pk).update(editor_status="hidden", status="hidden")
    if schema_editor.connection.vendor == "postgresql":
        # The updates queued the archive version's deferred triggers; the operations after this
        # one alter tables that point at articles_snapshot, which PostgreSQL refuses while trigger
        # events on it are pending.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ("articles", "0014_snapshot_editor_status_and_withheld"),
        ("moderation", "0007_moderators_read_their_mail"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="takedownitem",
            name="takedown_item_outcome_valid",
        ),
        migrations.AddField(
            model_name="counternotice",
            name="claims",
            field=models.ManyToManyField(
                related_name="counter_notices", to="moderation.takedownitem", verbose_name="claims disputed"
            ),
        ),
        migrations.AddField(
            model_name="counternotice",
            name="restore_after",
            field=models.DateTimeField(blank=True, null=True, verbose_name="restore after"),
        ),
        migrations.AddField(
            model_name="counternotice",
            name="snapshots",
            field=models.ManyToManyField(related_name="+", to="articles.snapshot", verbose_name="snapshots"),
        ),
        migrations.AddField(
            model_name="moderationevent",
            name="data",
            field=models.JSONField(blank=True, default=dict, verbose_name="data"),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="claim",
            field=models.CharField(
                choices=[
                    ("none", "no claim"),
                    ("scheduled", "approved, takes effect after the changes window"),
                    ("standing", "withheld"),
                    ("disputed", "withheld, disputed by a counter-notice"),
                    ("restored", "restored after a counter-notice"),
                    ("withdrawn", "lifted: the requester withdrew"),
                    ("reversed", "lifted: reversed on appeal"),
                ],
                default="none",
                max_length=20,
                verbose_name="claim",
            ),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="effective_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="withheld since"),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="lawsuit_reported_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lawsuit or complaint reported"),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="lifted_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="lifted"),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="restore_after",
            field=models.DateTimeField(blank=True, null=True, verbose_name="restore after"),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="counternotice",
            name="request",
        ),
        migrations.RemoveField(
            model_name="counternotice",
            name="snapshot",
        ),
        migrations.RemoveField(
            model_name="takedownrequest",
            name="lawsuit_reported_at",
        ),
        migrations.RemoveField(
            model_name="takedownrequest",
            name="restore_after",
        ),
        migrations.RemoveField(
            model_name="takedownitem",
            name="status_before",
        ),
        migrations.RemoveField(
            model_name="takedownitem",
            name="withheld_by",
        ),
        migrations.AlterField(
            model_name="takedownitem",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("pending", "pending"),
                    ("actioned", "withheld"),
                    ("not_found", "not found here"),
                    ("refused", "refused"),
                ],
                default="pending",
                max_length=20,
                verbose_name="outcome",
            ),
        ),
        migrations.AddIndex(
            model_name="takedownitem",
            index=models.Index(fields=["snapshot", "claim"], name="takedown_item_ledger"),
        ),
        migrations.AddIndex(
            model_name="takedownitem",
            index=models.Index(
                condition=models.Q(("claim", "disputed")), fields=["restore_after"], name="takedown_item_disputed"
            ),
        ),
        migrations.AddConstraint(
            model_name="takedownitem",
            constraint=models.UniqueConstraint(
                condition=models.Q(("snapshot__isnull", False)),
                fields=("request", "snapshot"),
                name="takedown_item_one_claim_per_snapshot",
            ),
        ),
        migrations.AddConstraint(
            model_name="takedownitem",
            constraint=models.CheckConstraint(
                condition=models.Q(("outcome__in", ["pending", "actioned", "not_found", "refused"])),
                name="takedown_item_outcome_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="takedownitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("claim__in", ["none", "scheduled", "standing", "disputed", "restored", "withdrawn", "reversed"])
                ),
                name="takedown_item_claim_valid",
            ),
        ),
        migrations.AddConstraint(
            model_name="takedownitem",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("claim", "none"), models.Q(("outcome", "actioned"), ("snapshot__isnull", False)), _connector="OR"
                ),
                name="takedown_item_claim_actioned",
            ),
        ),
    ]
