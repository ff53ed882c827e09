"""SQLAlchemy 1.4 ORM (Debian python3-sqlalchemy, psycopg2 driver) against the gateway.

Covers dialect initialisation (version, current_schema, isolation level
queries), MetaData.create_all with an after_create hook that distributes the
tables, relationships (lazy and joined loading), session transactions and
savepoints, bulk inserts, reflection and the Inspector (pg_catalog queries),
drop_all.

Tables: sa_authors (distributed by id), sa_books (distributed by author_id,
co-located with sa_authors), sa_tags (reference table), sa_serial (distributed
by k with a serial primary key: the known sequence gap).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from sqlalchemy import orm  # noqa: E402

psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)

S = common.Suite("sqlalchemy")
URL = "postgresql+psycopg2://%s@%s:%d/%s" % (common.USER, common.HOST, common.PORT, common.DB)

Base = orm.declarative_base()


class Author(Base):
    __tablename__ = "sa_authors"
    id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    name = sa.Column(sa.String(100), nullable=False)
    born = sa.Column(sa.Date)
    books = orm.relationship("Book", back_populates="author", cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "sa_books"
    author_id = sa.Column(sa.BigInteger, sa.ForeignKey("sa_authors.id"), primary_key=True)
    id = sa.Column(sa.BigInteger, primary_key=True, autoincrement=False)
    title = sa.Column(sa.Text, nullable=False, index=True)
    price = sa.Column(sa.Numeric(8, 2))
    author = orm.relationship("Author", back_populates="books")


class Tag(Base):
    __tablename__ = "sa_tags"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    label = sa.Column(sa.String(30), unique=True)


class Serial(Base):
    __tablename__ = "sa_serial"
    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)  # SERIAL
    k = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    v = sa.Column(sa.Text)


sa.event.listen(Author.__table__, "after_create",
                sa.DDL("SELECT create_distributed_table('sa_authors', 'id')"))
sa.event.listen(Book.__table__, "after_create",
                sa.DDL("SELECT create_distributed_table('sa_books', 'author_id', "
                       "colocate_with => 'sa_authors')"))
sa.event.listen(Tag.__table__, "after_create", sa.DDL("SELECT create_reference_table('sa_tags')"))
sa.event.listen(Serial.__table__, "after_create",
                sa.DDL("SELECT create_distributed_table('sa_serial', 'k')"))

engine = None


def drop_all_raw():
    with engine.begin() as c:
        for t in ("sa_books", "sa_authors", "sa_tags", "sa_serial", "sa_plain"):
            c.exec_driver_sql("DROP TABLE IF EXISTS %s CASCADE" % t)


@S.case("orm", "engine connect: dialect initialisation queries")
def _():
    global engine
    engine = sa.create_engine(URL, future=True, pool_pre_ping=True,
                              connect_args={"connect_timeout": 10})
    with engine.connect() as c:
        eq(c.execute(sa.text("SELECT 1")).scalar(), 1, "SELECT 1")
    eq(engine.dialect.server_version_info[0], 15, "server_version_info")
    eq(engine.dialect.default_schema_name, "public", "default schema")


@S.case("orm", "metadata.create_all (one transaction) with after_create distribution hooks")
def _():
    drop_all_raw()
    Base.metadata.create_all(engine)
    insp = sa.inspect(engine)
    for t in ("sa_authors", "sa_books", "sa_tags", "sa_serial"):
        assert insp.has_table(t), "has_table(%s) false after create_all" % t


@S.case("orm", "create_all on an AUTOCOMMIT engine (hooks outside a transaction block)")
def _():
    # The rest of the suite needs the tables: this is the way around a gateway
    # that refuses create_distributed_table inside a transaction block.
    drop_all_raw()
    Base.metadata.create_all(engine.execution_options(isolation_level="AUTOCOMMIT"))
    insp = sa.inspect(engine)
    for t in ("sa_authors", "sa_books", "sa_tags", "sa_serial"):
        assert insp.has_table(t), "has_table(%s) false after create_all" % t


@S.case("orm", "create_all again is a no-op (has_table finds every table)")
def _():
    Base.metadata.create_all(engine)


@S.case("orm", "session add_all with relationship cascade, commit")
def _():
    import datetime
    with orm.Session(engine) as s:
        for a in range(1, 21):
            au = Author(id=a, name="author %d" % a, born=datetime.date(1900 + a, 1, 1))
            au.books = [Book(id=b, title="book %d.%d" % (a, b), price=a + b / 100)
                        for b in range(1, 4)]
            s.add(au)
        s.add_all([Tag(id=i, label="tag%d" % i) for i in range(1, 6)])
        s.commit()
    with engine.connect() as c:
        eq(len(c.execute(sa.text("SELECT 1 FROM sa_books")).all()), 60, "book rows")


@S.case("orm", "get() by primary key and lazy-loaded relationship")
def _():
    with orm.Session(engine) as s:
        a = s.get(Author, 7)
        eq(a.name, "author 7", "name")
        eq(sorted(b.title for b in a.books), ["book 7.1", "book 7.2", "book 7.3"], "books")


@S.case("orm", "joinedload on the co-located key for one author")
def _():
    with orm.Session(engine) as s:
        a = s.execute(sa.select(Author).options(orm.joinedload(Author.books))
                      .where(Author.id == 9)).unique().scalar_one()
        eq(len(a.books), 3, "books")


@S.case("orm", "selectinload of books for many authors (IN on the key)")
def _():
    with orm.Session(engine) as s:
        authors = s.execute(sa.select(Author).options(orm.selectinload(Author.books))
                            .where(Author.id.in_([1, 2, 3, 4]))).scalars().all()
        eq(sorted(len(a.books) for a in authors), [3, 3, 3, 3], "books per author")


@S.case("orm", "query with order_by/limit across shards")
def _():
    with orm.Session(engine) as s:
        names = s.execute(sa.select(Author.name).order_by(Author.id.desc()).limit(2)).scalars().all()
        eq(names, ["author 20", "author 19"], "names")


@S.case("orm", "Query.count() and func.count across shards")
def _():
    with orm.Session(engine) as s:
        eq(s.query(Book).filter(Book.price > 10).count(), 33, "count")
        eq(s.execute(sa.select(sa.func.count(Author.id))).scalar(), 20, "func.count")


@S.case("orm", "update via attribute change, delete with cascade")
def _():
    with orm.Session(engine) as s:
        a = s.get(Author, 3)
        a.name = "renamed"
        s.delete(s.get(Author, 4))
        s.commit()
    with orm.Session(engine) as s:
        eq(s.get(Author, 3).name, "renamed", "renamed")
        eq(s.get(Author, 4), None, "deleted")
        eq(s.execute(sa.select(Book.id).where(Book.author_id == 4)).all(), [], "cascaded books")


@S.case("txn", "session rollback discards pending changes")
def _():
    with orm.Session(engine) as s:
        s.add(Author(id=100, name="ghost"))
        s.flush()
        s.rollback()
    with orm.Session(engine) as s:
        eq(s.get(Author, 100), None, "after rollback")


@S.case("txn", "begin_nested (SAVEPOINT) around an IntegrityError")
def _():
    with orm.Session(engine) as s:
        s.add(Author(id=101, name="kept"))
        try:
            with s.begin_nested():
                s.add(Author(id=5, name="duplicate"))
            raise AssertionError("no IntegrityError")
        except sa.exc.IntegrityError:
            pass
        s.commit()
    with orm.Session(engine) as s:
        eq(s.get(Author, 101).name, "kept", "outer insert")


@S.case("txn", "Core bulk insert (executemany) in engine.begin()")
def _():
    with engine.begin() as c:
        c.execute(Author.__table__.insert(),
                  [{"id": i, "name": "bulk %d" % i} for i in range(200, 300)])
    with engine.connect() as c:
        eq(len(c.execute(sa.select(Author.id).where(Author.id >= 200)).all()), 100, "rows")


@S.case("catalog", "reflection: MetaData.reflect of the distributed tables")
def _():
    md = sa.MetaData()
    md.reflect(engine, only=["sa_authors", "sa_books", "sa_tags"])
    eq(sorted(md.tables), ["sa_authors", "sa_books", "sa_tags"], "tables")
    eq([c.name for c in md.tables["sa_books"].columns], ["author_id", "id", "title", "price"],
       "columns")
    eq(sorted(c.name for c in md.tables["sa_books"].primary_key.columns), ["author_id", "id"], "pk")


@S.case("catalog", "Inspector: columns, pk, foreign keys, indexes, unique constraints")
def _():
    insp = sa.inspect(engine)
    cols = {c["name"]: str(c["type"]) for c in insp.get_columns("sa_authors")}
    eq(cols, {"id": "BIGINT", "name": "VARCHAR(100)", "born": "DATE"}, "columns")
    eq(insp.get_pk_constraint("sa_books")["constrained_columns"], ["author_id", "id"], "pk")
    fks = insp.get_foreign_keys("sa_books")
    eq([(f["referred_table"], f["constrained_columns"]) for f in fks],
       [("sa_authors", ["author_id"])], "foreign keys")
    eq([i["column_names"] for i in insp.get_indexes("sa_books")], [["title"]], "indexes")
    eq([u["column_names"] for u in insp.get_unique_constraints("sa_tags")], [["label"]], "unique")


@S.case("catalog", "Inspector.get_table_names lists each logical table once, no shard tables")
def _():
    names = sa.inspect(engine).get_table_names()
    for t in ("sa_authors", "sa_books", "sa_tags", "sa_serial"):
        eq(names.count(t), 1, "%s in get_table_names" % t)
    schemas = sa.inspect(engine).get_schema_names()
    shardy = [s for s in schemas if s.startswith("sg_")]
    eq(shardy, [], "shard schemas in get_schema_names")


@S.case("sequence", "serial primary key on a distributed table: ids unique across nodes")
def _():
    with orm.Session(engine) as s:
        rows = [Serial(k=k, v="x") for k in range(1, 31)]
        s.add_all(rows)
        s.commit()
        ids = [r.id for r in rows]
    eq(len(set(ids)), 30, "distinct ids among %r" % (ids,))


@S.case("orm", "drop_all")
def _():
    Base.metadata.drop_all(engine)
    insp = sa.inspect(engine)
    eq([t for t in ("sa_authors", "sa_books", "sa_tags", "sa_serial") if insp.has_table(t)], [],
       "tables left")


if engine is not None:
    try:
        drop_all_raw()
    except Exception:  # noqa: BLE001
        pass
    engine.dispose()
S.finish()
