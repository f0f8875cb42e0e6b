"""Several works per notice: each request's works become rows of their own (Work), each listed URL
points to its work. The request's one work and its date are carried over as its first work, and
every URL of it points there; then the request's own columns go. An item also records whether
another decision withheld its snapshot already when it was filed (counted as a duplicate notice);
for the items already stored that is not known, and it stays false."""

import django.db.models.deletion
from django.db import migrations, models


def carry_over(apps, schema_editor):
    TakedownRequest = apps.get_model("moderation", "TakedownRequest")
    TakedownItem = apps.get_model("moderation", "TakedownItem")
    Work = apps.get_model("moderation", "Work")
    for req in TakedownRequest.objects.only("pk", "work", "work_date").iterator(chunk_size=2000):
        work = Work.objects.create(request_id=req.pk, position=1, description=req.work, work_date=req.work_date)
        TakedownItem.objects.filter(request_id=req.pk).update(work=work)


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0009_event_log_from_the_workflow_table"),
    ]

    operations = [
        migrations.CreateModel(
            name="Work",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField(verbose_name="position")),
                ("description", models.TextField(verbose_name="the work claimed")),
                ("work_date", models.DateField(blank=True, null=True, verbose_name="date of the work")),
                (
                    "request",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="works",
                        to="moderation.takedownrequest",
                        verbose_name="request",
                    ),
                ),
            ],
            options={
                "verbose_name": "work",
                "verbose_name_plural": "works",
                "ordering": ["request", "position"],
                "constraints": [
                    models.UniqueConstraint(fields=("request", "position"), name="takedown_work_position_unique")
                ],
            },
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="work",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="moderation.work",
                verbose_name="work",
            ),
        ),
        migrations.AddField(
            model_name="takedownitem",
            name="withheld_when_filed",
            field=models.BooleanField(default=False, verbose_name="already withheld when filed"),
        ),
        migrations.RunPython(carry_over, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="takedownitem",
            name="work",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="items",
                to="moderation.work",
                verbose_name="work",
            ),
        ),
        migrations.RemoveField(model_name="takedownrequest", name="work"),
        migrations.RemoveField(model_name="takedownrequest", name="work_date"),
    ]
