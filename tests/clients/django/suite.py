"""Django 3.2 ORM (Debian python3-django, psycopg2 backend) against the gateway.

migrate (0001 creates the tables, 0002 distributes them, non-atomic), model
CRUD, select_related/prefetch_related, aggregates, F() updates, bulk_create,
transactions (atomic, nested savepoints, get_or_create), introspection as
inspectdb uses it, and a BigAutoField on a distributed table (sequence gap).
"""

import datetime
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
os.environ["DJANGO_SETTINGS_MODULE"] = "dj_settings"

import common  # noqa: E402
from common import eq  # noqa: E402

import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402

psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import IntegrityError, connection, transaction  # noqa: E402
from django.db.models import Count, F, Max, Sum  # noqa: E402

from clients_app.models import DjAuthor, DjBook, DjCounter, DjNote  # noqa: E402

S = common.Suite("django")
TABLES = ("dj_book", "dj_author", "dj_counter", "dj_note", "django_migrations")


def raw(sql_text, args=None):
    with connection.cursor() as cur:
        cur.execute(sql_text, args)
        return cur.fetchall() if cur.description else None


def drop_all():
    for t in TABLES:
        raw("DROP TABLE IF EXISTS %s CASCADE" % t)


@S.case("orm", "connect (backend initialisation)")
def _():
    eq(raw("SELECT 1"), [(1,)], "SELECT 1")
    assert connection.pg_version >= 150000, connection.pg_version
    drop_all()


@S.case("orm", "migrate (CreateModel, RunSQL create_distributed_table, non-atomic)")
def _():
    out = io.StringIO()
    call_command("migrate", "clients_app", verbosity=1, interactive=False, stdout=out)
    assert "Applying clients_app.0004_distribute_book... OK" in out.getvalue(), out.getvalue()


@S.case("orm", "showmigrations after migrate (django_migrations readable)")
def _():
    out = io.StringIO()
    call_command("showmigrations", "clients_app", stdout=out)
    eq(out.getvalue().count("[X]"), 4, "applied migrations:\n" + out.getvalue())


@S.case("orm", "create / get / filter / update / delete")
def _():
    for i in range(1, 21):
        DjAuthor.objects.create(id=i, name="author %d" % i, born=datetime.date(1950, 1, i),
                                score=i)
    a = DjAuthor.objects.get(pk=5)
    eq(a.name, "author 5", "get")
    a.name = "five"
    a.save()
    eq(DjAuthor.objects.get(pk=5).name, "five", "save")
    eq(sorted(x.id for x in DjAuthor.objects.filter(score__gte=18)), [18, 19, 20], "filter")
    eq(DjAuthor.objects.filter(pk=20).delete()[0], 1, "delete")
    eq(DjAuthor.objects.filter(pk=20).exists(), False, "exists")


@S.case("orm", "bulk_create of books across shards")
def _():
    DjBook.objects.bulk_create([DjBook(id=a * 10 + b, author_id=a, title="t%d.%d" % (a, b),
                                       published=datetime.datetime(2020, 1, b,
                                                                   tzinfo=datetime.timezone.utc))
                                for a in range(1, 20) for b in range(1, 4)])
    eq(len(list(DjBook.objects.all())), 57, "books")


@S.case("orm", "related manager and select_related on one author")
def _():
    eq(sorted(b.title for b in DjAuthor.objects.get(pk=3).books.all()),
       ["t3.1", "t3.2", "t3.3"], "books of 3")
    b = DjBook.objects.select_related("author").get(author_id=3, id=32)
    eq(b.author.name, "author 3", "select_related")


@S.case("orm", "prefetch_related over several authors")
def _():
    authors = list(DjAuthor.objects.filter(pk__in=[1, 2, 3]).prefetch_related("books"))
    eq(sorted(len(a.books.all()) for a in authors), [3, 3, 3], "books per author")


@S.case("orm", "ordering and slicing across shards (ORDER BY ... LIMIT)")
def _():
    eq([a.id for a in DjAuthor.objects.order_by("-score")[:3]], [19, 18, 17], "top 3")


@S.case("orm", "aggregate / annotate across shards")
def _():
    eq(DjAuthor.objects.aggregate(n=Count("id"), s=Sum("score"), m=Max("score")),
       {"n": 19, "s": sum(range(1, 20)), "m": 19}, "aggregate")
    eq(DjAuthor.objects.count(), 19, "count()")


@S.case("orm", "F() expression update on one row and on all rows")
def _():
    DjAuthor.objects.filter(pk=7).update(score=F("score") + 100)
    eq(DjAuthor.objects.get(pk=7).score, 107, "one row")
    eq(DjAuthor.objects.update(score=F("score") + 1), 19, "all rows")
    eq(DjAuthor.objects.get(pk=7).score, 108, "after all-rows update")


@S.case("txn", "transaction.atomic commits, rolls back on exception")
def _():
    with transaction.atomic():
        DjAuthor.objects.create(id=100, name="kept")
    try:
        with transaction.atomic():
            DjAuthor.objects.create(id=101, name="lost")
            raise ValueError
    except ValueError:
        pass
    eq(sorted(a.id for a in DjAuthor.objects.filter(pk__in=[100, 101])), [100], "ids")


@S.case("txn", "nested atomic (savepoint) around an IntegrityError")
def _():
    with transaction.atomic():
        DjAuthor.objects.create(id=110, name="outer")
        try:
            with transaction.atomic():
                DjAuthor.objects.create(id=110, name="dup")
        except IntegrityError:
            pass
        DjAuthor.objects.create(id=111, name="after")
    eq(sorted(a.id for a in DjAuthor.objects.filter(pk__in=[110, 111])), [110, 111], "ids")


@S.case("txn", "get_or_create / update_or_create")
def _():
    a, created = DjAuthor.objects.get_or_create(id=120, defaults={"name": "goc"})
    eq(created, True, "created")
    a, created = DjAuthor.objects.get_or_create(id=120, defaults={"name": "other"})
    eq((created, a.name), (False, "goc"), "second")
    a, created = DjAuthor.objects.update_or_create(id=120, defaults={"name": "upd"})
    eq((created, DjAuthor.objects.get(pk=120).name), (False, "upd"), "update_or_create")


@S.case("txn", "select_for_update inside atomic on one key")
def _():
    with transaction.atomic():
        a = DjAuthor.objects.select_for_update().get(pk=2)
        a.score = 999
        a.save()
    eq(DjAuthor.objects.get(pk=2).score, 999, "score")


@S.case("catalog", "introspection: get_table_list, description, constraints, relations")
def _():
    intro = connection.introspection
    with connection.cursor() as cur:
        tables = [t.name for t in intro.get_table_list(cur)]
        for t in ("dj_author", "dj_book", "dj_counter", "dj_note"):
            eq(tables.count(t), 1, "%s in get_table_list" % t)
        shard = [t for t in tables if t.startswith("sg_")]
        eq(shard, [], "shard tables in get_table_list")
        desc = [d.name for d in intro.get_table_description(cur, "dj_book")]
        eq(desc, ["id", "title", "published", "author_id"], "columns")
        rel = intro.get_relations(cur, "dj_book")
        eq(rel, {"author_id": ("id", "dj_author")}, "relations")
        cons = intro.get_constraints(cur, "dj_author")
        pks = [v["columns"] for v in cons.values() if v["primary_key"]]
        eq(pks, [["id"]], "primary key")
        eq(intro.get_sequences(cur, "dj_counter"), [{"table": "dj_counter", "column": "id",
                                                    "name": "dj_counter_id_seq"}], "sequences")


@S.case("catalog", "inspectdb of the distributed tables")
def _():
    out = io.StringIO()
    call_command("inspectdb", "dj_author", "dj_book", stdout=out)
    text = out.getvalue()
    for want in ("class DjAuthor(models.Model):", "class DjBook(models.Model):",
                 "author = models.ForeignKey(DjAuthor", "db_table = 'dj_book'"):
        assert want in text, "%r not in inspectdb output:\n%s" % (want, text)


@S.case("sequence", "BigAutoField on a local table: ids 1..n")
def _():
    ids = [DjNote.objects.create(text="n%d" % i).id for i in range(5)]
    eq(ids, [ids[0] + i for i in range(5)], "ids")


@S.case("sequence", "BigAutoField on a distributed table: ids unique across nodes")
def _():
    ids = [DjCounter.objects.create(k=k, label="c").id for k in range(1, 31)]
    eq(len(set(ids)), 30, "distinct ids among %r" % (ids,))


@S.case("orm", "delete with CASCADE to books (collector queries)")
def _():
    n, per = DjAuthor.objects.filter(pk=1).delete()
    eq(per.get("clients_app.DjBook"), 3, "books deleted")
    eq(list(DjBook.objects.filter(author_id=1)), [], "books left")


@S.case("orm", "migrate back to zero (DROP via migrations)")
def _():
    call_command("migrate", "clients_app", "zero", verbosity=0, interactive=False)
    with connection.cursor() as cur:
        left = [t.name for t in connection.introspection.get_table_list(cur)
                if t.name in ("dj_author", "dj_book", "dj_counter", "dj_note")]
    eq(left, [], "tables left")


try:
    drop_all()
except Exception:  # noqa: BLE001
    pass
S.finish()
