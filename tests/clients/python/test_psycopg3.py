"""psycopg 3 (Debian python3-psycopg) against the gateway.

psycopg 3 binds parameters on the server: every execute() with parameters is
Parse/Bind/Describe/Execute/Sync (extended protocol). This suite covers text
and binary parameters and results, prepared statements (prepare=True: named
statements reused), pipeline mode (many messages before one Sync, errors
skipping to the Sync), executemany, server-side cursors (DECLARE/FETCH),
COPY (write_row, rows(), binary), transactions, ParameterStatus.

Tables: pg3_items (distributed by id), pg3_copy (distributed by id),
pg3_local (local table).
"""

import datetime
import decimal
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

S = common.Suite("psycopg3")


def connect(autocommit=True, **kw):
    return psycopg.connect(common.DSN, autocommit=autocommit, **kw)


def sqlstate(fn, want):
    try:
        fn()
    except psycopg.Error as e:
        if e.sqlstate != want:
            raise AssertionError("expected SQLSTATE %s, got %s: %s" % (want, e.sqlstate,
                                                                       str(e).strip()))
        return e
    raise AssertionError("expected SQLSTATE %s, statement succeeded" % want)


try:
    conn = connect()
except Exception as e:  # noqa: BLE001
    print("FAIL basic: connect: %s" % common.one_line(e))
    print("psycopg3: 0 passed, 1 failed")
    sys.exit(1)


def x(q, args=None, c=None, **kw):
    return (c or conn).execute(q, args, **kw)


def ids_of(c, table, where="true", args=None):
    """Sorted ids of table (plain fan-out SELECT, sorted on the client)."""
    return sorted(r[0] for r in x("SELECT id FROM %s WHERE %s" % (table, where), args, c=c))


def simple(c, q):
    """Run q through the simple query protocol (no parameters, no prepare)."""
    with c.cursor() as cur:
        cur.execute(q.encode(), prepare=False)
        return cur


@S.case("basic", "setup: CREATE TABLE + create_distributed_table (simple protocol)")
def _():
    for t in ("pg3_items", "pg3_copy", "pg3_local"):
        x("DROP TABLE IF EXISTS %s CASCADE" % t)
    x("CREATE TABLE pg3_items (id bigint PRIMARY KEY, name text, qty int, price numeric(12,2), "
      "at timestamptz, u uuid, tags int[], meta jsonb, blob bytea, f float8, ok bool)")
    x("SELECT create_distributed_table('pg3_items', 'id')")
    x("CREATE TABLE pg3_copy (id int, name text, n bigint, at date)")
    x("SELECT create_distributed_table('pg3_copy', 'id')")
    x("CREATE TABLE pg3_local (id int PRIMARY KEY, v text)")


ROW = (1, "quote ' \" ünï", 7, decimal.Decimal("1234.50"),
       datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc),
       uuid.UUID("12345678-1234-5678-1234-567812345678"), [1, 2, None], {"a": [1, "x"]},
       b"\x00\xde\xad\xbe\xef", 2.5, True)
COLS = "id, name, qty, price, at, u, tags, meta, blob, f, ok"


def row_args(r):
    return r[:7] + (Jsonb(r[7]),) + r[8:]


@S.case("extended", "server-side parameters: INSERT and SELECT by key, every type")
def _():
    x("INSERT INTO pg3_items (%s) VALUES (%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s,%%s)" % COLS,
      row_args(ROW))
    got = x("SELECT %s FROM pg3_items WHERE id = %%s" % COLS, (1,)).fetchall()
    eq(got, [ROW], "row")


@S.case("extended", "parameter type inference: untyped $1 compared to bigint column")
def _():
    eq(x("SELECT name FROM pg3_items WHERE id = %s", ("1",)).fetchall(), [(ROW[1],)], "text param")
    eq(x("SELECT %s::int + %s", (40, 2)).fetchone(), (42,), "expression params")


@S.case("extended", "description (RowDescription via Describe portal): names and type oids")
def _():
    cur = x("SELECT id, name, price, at FROM pg3_items WHERE id = %s", (1,))
    eq([(d.name, d.type_code) for d in cur.description],
       [("id", 20), ("name", 25), ("price", 1700), ("at", 1184)], "description")


@S.case("extended", "executemany INSERT of 200 rows routed per row")
def _():
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO pg3_items (id, name, qty) VALUES (%s, %s, %s)",
                        [(i, "n%d" % i, i % 5) for i in range(2, 202)])
    eq(ids_of(conn, "pg3_items"), list(range(1, 202)), "ids")


@S.case("extended", "executemany returning=True")
def _():
    with conn.cursor() as cur:
        cur.executemany("UPDATE pg3_items SET qty = qty + 10 WHERE id = %s RETURNING id, qty",
                        [(i,) for i in (3, 4, 5)], returning=True)
        got = []
        while True:
            got += cur.fetchall()
            if not cur.nextset():
                break
    eq(got, [(3, 13), (4, 14), (5, 10)], "returned rows")


@S.case("extended", "fan-out SELECT with a parameter on a non-key column")
def _():
    eq(ids_of(conn, "pg3_items", "qty = %s AND id < %s", (1, 20)), [6, 11, 16], "ids")


@S.case("extended", "NULL parameters and IS NULL")
def _():
    x("INSERT INTO pg3_items (id, name, qty) VALUES (%s, %s, %s)", (500, None, None))
    eq(x("SELECT name, qty FROM pg3_items WHERE id = %s", (500,)).fetchall(), [(None, None)], "row")


@S.case("binary", "binary results: cursor(binary=True) over every type")
def _():
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT %s FROM pg3_items WHERE id = %%s" % COLS, (1,))
        eq(cur.fetchall(), [ROW], "row")
        eq(cur.pgresult.fformat(0), 1, "result format")


@S.case("binary", "binary parameters (%b placeholders)")
def _():
    x("INSERT INTO pg3_items (%s) VALUES (%%b,%%b,%%b,%%b,%%b,%%b,%%b,%%b,%%b,%%b,%%b)" % COLS,
      row_args((2000,) + ROW[1:]))
    eq(x("SELECT %s FROM pg3_items WHERE id = %%b" % COLS, (2000,)).fetchall(),
       [(2000,) + ROW[1:]], "row")


@S.case("binary", "binary fan-out results merged from several nodes")
def _():
    with conn.cursor(binary=True) as cur:
        cur.execute("SELECT id, qty FROM pg3_items WHERE id BETWEEN %s AND %s", (2, 41))
        eq(sorted(cur.fetchall()), [(i, (i % 5) + (10 if i in (3, 4, 5) else 0))
                                    for i in range(2, 42)], "rows")


@S.case("prepared", "prepare=True: named statement reused across executions")
def _():
    c = connect()
    try:
        for i in range(2, 12):
            eq(c.execute("SELECT name FROM pg3_items WHERE id = %s", (i,), prepare=True).fetchone(),
               ("n%d" % i,), "row %d" % i)
        names = [r[0] for r in c.execute("SELECT name FROM pg_prepared_statements").fetchall()]
        assert any(n.startswith("_pg3_") for n in names), "pg_prepared_statements: %r" % names
    finally:
        c.close()


@S.case("prepared", "automatic preparation after prepare_threshold executions")
def _():
    c = connect(prepare_threshold=2)
    try:
        for i in range(2, 10):
            eq(c.execute("UPDATE pg3_items SET f = %s WHERE id = %s", (i * 0.5, i)).rowcount, 1,
               "rowcount %d" % i)
        eq(c.execute("SELECT f FROM pg3_items WHERE id = %s", (9,)).fetchone(), (4.5,), "f")
    finally:
        c.close()


@S.case("prepared", "SQL-level PREPARE / EXECUTE / DEALLOCATE routed by the argument")
def _():
    c = connect()
    try:
        c.execute("PREPARE pg3_p (bigint) AS SELECT name FROM pg3_items WHERE id = $1")
        eq(c.execute("EXECUTE pg3_p (2)").fetchall(), [("n2",)], "EXECUTE 2")
        eq(c.execute("EXECUTE pg3_p (150)").fetchall(), [("n150",)], "EXECUTE 150")
        c.execute("DEALLOCATE pg3_p")
    finally:
        c.close()


@S.case("prepared", "prepared INSERT routed to different shards by the bound key")
def _():
    c = connect(prepare_threshold=0)
    try:
        for i in range(3000, 3030):
            c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, %s)", (i, "p%d" % i))
        eq(ids_of(c, "pg3_items", "id >= 3000"), list(range(3000, 3030)), "ids")
        for i in (3000, 3013, 3029):
            eq(c.execute("SELECT name FROM pg3_items WHERE id = %s", (i,)).fetchone(),
               ("p%d" % i,), "by key %d" % i)
    finally:
        c.close()


@S.case("extended", "pipeline mode: 50 INSERTs and SELECTs before one Sync")
def _():
    c = connect()
    try:
        with c.pipeline():
            curs = []
            for i in range(4000, 4050):
                c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, %s)", (i, "pl"))
            for i in (4000, 4025, 4049):
                curs.append(c.execute("SELECT id FROM pg3_items WHERE id = %s", (i,)))
        eq([cur.fetchone()[0] for cur in curs], [4000, 4025, 4049], "selects")
        eq(ids_of(c, "pg3_items", "name = 'pl'"), list(range(4000, 4050)), "ids")
    finally:
        c.close()


@S.case("extended", "pipeline: an error skips to Sync, later statements run after it")
def _():
    c = connect()
    try:
        try:
            with c.pipeline():
                c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, %s)", (4100, "a"))
                c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, %s)", (1, "dup"))
                c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, %s)", (4101, "b"))
            raise AssertionError("no error from the pipeline")
        except psycopg.errors.UniqueViolation:
            pass
        # In autocommit each statement is its own implicit transaction up to the
        # Sync: PostgreSQL runs the whole pipeline segment as one implicit
        # transaction, so the first INSERT rolls back with the error.
        eq(ids_of(c, "pg3_items", "id IN (4100, 4101)"), [], "rows after failed pipeline")
        eq(c.execute("SELECT %s::int", (5,)).fetchone(), (5,), "usable after")
    finally:
        c.close()


@S.case("cursor", "server-side cursor (DECLARE/FETCH) over a distributed table")
def _():
    c = connect(autocommit=False)
    try:
        with c.cursor(name="pg3_sc") as cur:
            cur.itersize = 40
            cur.execute("SELECT id FROM pg3_items WHERE id < %s", (202,))
            eq(sorted(r[0] for r in cur), list(range(1, 202)), "ids")
        c.rollback()
    finally:
        c.close()


@S.case("cursor", "binary server-side cursor with scroll")
def _():
    c = connect(autocommit=False)
    try:
        with c.cursor(name="pg3_sc2", binary=True, scrollable=True) as cur:
            cur.execute("SELECT id FROM pg3_items WHERE id <= 30 ORDER BY id")
            eq([r[0] for r in cur.fetchmany(5)], [1, 2, 3, 4, 5], "page")
            cur.scroll(0, mode="absolute")
            eq(cur.fetchone(), (1,), "after scroll")
        c.rollback()
    finally:
        c.close()


@S.case("txn", "transaction() block: commit and rollback on exception")
def _():
    c = connect()
    try:
        with c.transaction():
            c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 't')", (5000,))
        try:
            with c.transaction():
                c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 't')", (5001,))
                raise ZeroDivisionError
        except ZeroDivisionError:
            pass
        eq(ids_of(c, "pg3_items", "name = 't'"), [5000], "ids")
    finally:
        c.close()


@S.case("txn", "nested transaction() = SAVEPOINT, inner failure kept local")
def _():
    c = connect()
    try:
        with c.transaction():
            c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 'sp')", (5100,))
            try:
                with c.transaction():
                    c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 'sp')", (5100,))
            except psycopg.errors.UniqueViolation:
                pass
            c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 'sp')", (5101,))
        eq(ids_of(c, "pg3_items", "name = 'sp'"), [5100, 5101], "ids")
    finally:
        c.close()


@S.case("txn", "non-autocommit connection: extended-protocol statements inside BEGIN")
def _():
    c = connect(autocommit=False)
    try:
        c.execute("INSERT INTO pg3_items (id, name) VALUES (%s, 'nc')", (5200,))
        c.execute("UPDATE pg3_items SET qty = %s WHERE id = %s", (9, 5200))
        eq(c.info.transaction_status, psycopg.pq.TransactionStatus.INTRANS, "status")
        c.rollback()
        eq(ids_of(c, "pg3_items", "id = %s", (5200,)), [], "after rollback")
        c.rollback()
    finally:
        c.close()


@S.case("copy", "COPY FROM STDIN with write_row (text) into a distributed table")
def _():
    with conn.cursor() as cur:
        with cur.copy("COPY pg3_copy (id, name, n, at) FROM STDIN") as cp:
            for i in range(1, 501):
                cp.write_row((i, "r\t%d" % i, i * 10, datetime.date(2024, 1, 1 + i % 28)))
    eq(sorted(r[0] for r in x("SELECT n FROM pg3_copy")), [i * 10 for i in range(1, 501)], "n")
    eq(x("SELECT name FROM pg3_copy WHERE id = %s", (42,)).fetchall(), [("r\t42",)], "row 42")


@S.case("copy", "COPY FROM STDIN binary with write_row")
def _():
    with conn.cursor() as cur:
        with cur.copy("COPY pg3_copy (id, name, n, at) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "text", "int8", "date"])
            for i in range(501, 601):
                cp.write_row((i, "b%d" % i, i, datetime.date(2024, 2, 2)))
    eq(x("SELECT name, n FROM pg3_copy WHERE id = %s", (555,)).fetchall(), [("b555", 555)], "row")
    eq(len(x("SELECT 1 FROM pg3_copy").fetchall()), 600, "rows")


@S.case("copy", "COPY TO STDOUT rows() and COPY (query) TO STDOUT binary")
def _():
    with conn.cursor() as cur:
        with cur.copy("COPY pg3_copy (id, name) TO STDOUT") as cp:
            rows = list(cp.rows())
        eq(len(rows), 600, "rows")
        with cur.copy("COPY (SELECT id, n FROM pg3_copy WHERE id <= 3 ORDER BY id) "
                      "TO STDOUT (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "int8"])
            eq(list(cp.rows()), [(1, 10), (2, 20), (3, 30)], "binary rows")


@S.case("copy", "COPY with a bad row: 22P02 and nothing of it stays")
def _():
    def bad():
        with conn.cursor() as cur:
            with cur.copy("COPY pg3_copy (id, name, n) FROM STDIN") as cp:
                for i in range(700, 760):
                    cp.write(("%d\tok\t%d\n" % (i, i)).encode())
                cp.write(b"760\tbad\tnot-a-number\n")
    sqlstate(bad, "22P02")
    eq(ids_of(conn, "pg3_copy", "id >= 700"), [], "rows after failed COPY")


@S.case("session", "SET via execute with parameters: set_config and ParameterStatus")
def _():
    c = connect()
    try:
        c.execute("SELECT set_config('application_name', %s, false)", ("pg3app",))
        eq(c.execute("SHOW application_name").fetchone(), ("pg3app",), "SHOW")
        eq(c.info.parameter_status("application_name"), "pg3app", "ParameterStatus")
        c.execute("SET TimeZone = 'America/New_York'")
        eq(c.info.parameter_status("TimeZone"), "America/New_York", "TimeZone ParameterStatus")
        at = c.execute("SELECT at FROM pg3_items WHERE id = %s", (1,)).fetchone()[0]
        eq(str(at.tzinfo), "America/New_York", "timestamptz parsed in session time zone")
    finally:
        c.close()


@S.case("catalog", "psycopg TypeInfo.fetch (pg_type lookup with parameters)")
def _():
    from psycopg.types import TypeInfo
    ti = TypeInfo.fetch(conn, "jsonb")
    assert ti is not None and ti.oid == 3802, ti
    from psycopg.types.composite import CompositeInfo
    x("DROP TYPE IF EXISTS pg3_pair")
    x("CREATE TYPE pg3_pair AS (a int, b text)")
    ci = CompositeInfo.fetch(conn, "pg3_pair")
    assert ci is not None and list(ci.field_names) == ["a", "b"], ci
    x("DROP TYPE pg3_pair")


@S.case("catalog", "sql.Identifier composition and pg_catalog query with parameters")
def _():
    q = sql.SQL("SELECT attname FROM pg_attribute WHERE attrelid = {}::regclass AND attnum > 0 "
                "AND NOT attisdropped ORDER BY attnum").format(sql.Literal("pg3_items"))
    eq([r[0] for r in x(q).fetchall()], [c.strip() for c in COLS.split(",")], "attributes")


@S.case("errors", "error in extended protocol: SQLSTATE, position and session usable")
def _():
    e = sqlstate(lambda: x("SELECT nosuchcol FROM pg3_items WHERE id = %s", (1,)), "42703")
    eq(e.diag.statement_position, "8", "position")
    sqlstate(lambda: x("SELECT 1 / %s", (0,)), "22012")
    sqlstate(lambda: x("INSERT INTO pg3_items (id) VALUES (%s)", (1,)), "23505")
    eq(x("SELECT %s::text", ("ok",)).fetchone(), ("ok",), "usable")


@S.case("errors", "wrong parameter type: 22P02 from Bind")
def _():
    sqlstate(lambda: x("SELECT name FROM pg3_items WHERE id = %s::bigint", ("abc",)), "22P02")


for t in ("pg3_items", "pg3_copy", "pg3_local"):
    try:
        x("DROP TABLE IF EXISTS %s CASCADE" % t)
    except psycopg.Error:
        pass
S.finish()
