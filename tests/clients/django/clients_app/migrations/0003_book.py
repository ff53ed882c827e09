"""DjBook comes after DjAuthor is distributed: distributing a table that another
table already references fails at the gateway (it empties the shell table
with TRUNCATE, which the foreign key refuses)."""

from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    dependencies = [("clients_app", "0002_distribute")]

    operations = [
        migrations.CreateModel(
            name="DjBook",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("title", models.TextField()),
                ("published", models.DateTimeField(null=True)),
                ("author", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE,
                                             related_name="books", to="clients_app.djauthor")),
            ],
            options={"db_table": "dj_book"},
        ),
    ]
