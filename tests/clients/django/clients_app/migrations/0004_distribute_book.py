from django.db import migrations


class Migration(migrations.Migration):

    atomic = False
    dependencies = [("clients_app", "0003_book")]

    operations = [
        migrations.RunSQL("SELECT create_distributed_table('dj_book', 'author_id', "
                          "colocate_with => 'dj_author')",
                          reverse_sql=migrations.RunSQL.noop),
    ]
