from django.db import migrations, models
import django.db.models.deletion


class Migration(migrations.Migration):

    initial = True
    dependencies = []

    operations = [
        migrations.CreateModel(
            name="DjAuthor",
            fields=[
                ("id", models.BigIntegerField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=100)),
                ("born", models.DateField(null=True)),
                ("score", models.IntegerField(default=0)),
            ],
            options={"db_table": "dj_author"},
        ),
        migrations.CreateModel(
            name="DjCounter",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("k", models.IntegerField()),
                ("label", models.CharField(max_length=20)),
            ],
            options={"db_table": "dj_counter"},
        ),
        migrations.CreateModel(
            name="DjNote",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False,
                                           verbose_name="ID")),
                ("text", models.TextField()),
            ],
            options={"db_table": "dj_note"},
        ),
    ]
