"""Distribute the tables of 0001. Not atomic: shardgate refuses
create_distributed_table inside a transaction block (as of this writing), and
Django runs a PostgreSQL migration in one transaction unless told otherwise."""

from django.db import migrations


class Migration(migrations.Migration):

    atomic = False
    dependencies = [("clients_app", "0001_initial")]

    operations = [
        migrations.RunSQL("SELECT create_distributed_table('dj_author', 'id')",
                          reverse_sql=migrations.RunSQL.noop),
        migrations.RunSQL("SELECT create_distributed_table('dj_counter', 'k')",
                          reverse_sql=migrations.RunSQL.noop),
    ]
