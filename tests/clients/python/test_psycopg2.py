"""psycopg2 against the gateway.

psycopg2 binds parameters on the client (simple query protocol only), so this
suite covers plain queries, executemany/execute_values, named cursors
(DECLARE/FETCH), transactions and savepoints, COPY through copy_expert and
copy_from, session settings (SET/SHOW, ParameterStatus), LISTEN/NOTIFY,
sequences and catalog functions.

Tables: pg2_items (distributed by id), pg2_orders (distributed by item_id,
co-located with pg2_items), pg2_ser (distributed by k, with bigserial and
identity columns: values unique across the nodes), pg2_local (local table).
"""

import datetime
import decimal
import io
import os
import select
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

import psycopg2  # noqa: E402
import psycopg2.extensions  # noqa: E402
import psycopg2.extras  # noqa: E402

# Blocking libpq calls become interruptible (the per-case alarm can fire).
psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)

S = common.Suite("psycopg2")


def connect(autocommit=True):
    c = psycopg2.connect(common.DSN)
    c.autocommit = autocommit
    return c


def q(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description is not None else cur.rowcount


def one(conn, sql, args=None):
    r = q(conn, sql, args)
    assert isinstance(r, list) and len(r) == 1 and len(r[0]) == 1, "expected one value, got %r" % (r,)
    return r[0][0]


def count(c, table, where="true"):
    """Rows of table counted on the client: a plain fan-out SELECT, so that a
    missing cross-shard aggregate does not fail cases about something else."""
    return len(q(c, "SELECT 1 FROM %s WHERE %s" % (table, where)))


def sqlstate(fn, want):
    try:
        fn()
    except psycopg2.Error as e:
        if e.pgcode != want:
            raise AssertionError("expected SQLSTATE %s, got %s: %s" % (want, e.pgcode, str(e).strip()))
        return e
    raise AssertionError("expected SQLSTATE %s, statement succeeded" % want)


conn = None
try:
    conn = connect()
except Exception as e:  # noqa: BLE001
    print("FAIL basic: connect: %s" % common.one_line(e))
    print("psycopg2: 0 passed, 1 failed")
    sys.exit(1)


def setup():
    for t in ("pg2_orders", "pg2_items", "pg2_ser", "pg2_local", "pg2_copy", "pg2_ident"):
        q(conn, "DROP TABLE IF EXISTS %s CASCADE" % t)
    q(conn, "CREATE TABLE pg2_items (id bigint PRIMARY KEY, name text NOT NULL, qty int, "
            "price numeric(10,2), added date, at timestamptz, tags text[], meta jsonb, "
            "blob bytea, ok boolean)")
    common.distribute(lambda s: q(conn, s), "pg2_items", "id")
    q(conn, "CREATE TABLE pg2_orders (id bigint, item_id bigint, amount int)")
    common.distribute(lambda s: q(conn, s), "pg2_orders", "item_id", colocate_with="pg2_items")
    q(conn, "CREATE TABLE pg2_local (id int PRIMARY KEY, v text)")


S.run("basic", "connect, SELECT 1, CREATE TABLE + create_distributed_table", lambda: (
    eq(one(conn, "SELECT 1"), 1, "SELECT 1"), setup()))

ROW = (1, "it's \"quoted\" ünï", 3, decimal.Decimal("12.50"), datetime.date(2024, 2, 29),
       datetime.datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=datetime.timezone.utc),
       ["a", "b c", None], {"k": [1, 2]}, b"\x00\x01\xff", True)


@S.case("basic", "INSERT with every type, read back by key")
def _():
    q(conn, "INSERT INTO pg2_items VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
      ROW[:7] + (psycopg2.extras.Json(ROW[7]), psycopg2.Binary(ROW[8]), ROW[9]))
    r = q(conn, "SELECT id, name, qty, price, added, at, tags, meta, blob, ok FROM pg2_items "
                "WHERE id = %s", (1,))
    eq(len(r), 1, "rows")
    got = list(r[0])
    got[8] = bytes(got[8])
    eq(tuple(got), ROW, "row")


@S.case("basic", "executemany INSERT 300 rows")
def _():
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO pg2_items (id, name, qty, price) VALUES (%s, %s, %s, %s)",
                        [(i, "item%d" % i, i % 7, decimal.Decimal(i) / 4) for i in range(2, 302)])
    eq(count(conn, "pg2_items"), 301, "count")


@S.case("basic", "execute_values multi-row INSERT across shards")
def _():
    with conn.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO pg2_orders (id, item_id, amount) VALUES %s",
            [(i, (i % 300) + 1, i) for i in range(1, 601)], page_size=200)
    eq(count(conn, "pg2_orders"), 600, "count")


@S.case("basic", "UPDATE/DELETE by key: rowcount")
def _():
    eq(q(conn, "UPDATE pg2_items SET qty = qty + 100 WHERE id = %s", (7,)), 1, "update rowcount")
    eq(one(conn, "SELECT qty FROM pg2_items WHERE id = 7"), 100, "qty")
    eq(q(conn, "DELETE FROM pg2_items WHERE id = %s", (301,)), 1, "delete rowcount")
    eq(q(conn, "UPDATE pg2_items SET ok = false WHERE qty = 0"), 41, "fan-out update rowcount")


@S.case("basic", "fan-out SELECT, ORDER BY/LIMIT and aggregates")
def _():
    ids = sorted(r[0] for r in q(conn, "SELECT id FROM pg2_items"))
    eq(ids, list(range(1, 301)), "ids")
    eq(q(conn, "SELECT id FROM pg2_items ORDER BY id DESC LIMIT 3"), [(300,), (299,), (298,)],
       "order by limit")
    eq(q(conn, "SELECT sum(qty), min(id), max(id), avg(id) FROM pg2_items"),
       [(sum(i % 7 for i in range(2, 301)) + 3 + 100 - (7 % 7), 1, 300, decimal.Decimal("150.5"))],
       "aggregates")
    eq(q(conn, "SELECT qty, count(*) FROM pg2_items WHERE id > 1 AND qty < 3 "
               "GROUP BY qty ORDER BY qty"), [(0, 41), (1, 42), (2, 43)], "group by")


@S.case("basic", "co-located join on the distribution key")
def _():
    eq(q(conn, "SELECT i.name, sum(o.amount) FROM pg2_items i JOIN pg2_orders o "
               "ON o.item_id = i.id WHERE i.id = %s GROUP BY i.name", (5,)),
       [("item5", 4 + 304)], "join")


@S.case("basic", "local (undeclared) table")
def _():
    q(conn, "INSERT INTO pg2_local VALUES (1, 'a'), (2, 'b')")
    eq(q(conn, "SELECT v FROM pg2_local ORDER BY id"), [("a",), ("b",)], "rows")


@S.case("cursor", "named cursor (DECLARE/FETCH) over a distributed table, itersize 50")
def _():
    c = connect(autocommit=False)
    try:
        cur = c.cursor("pg2_named")
        cur.itersize = 50
        cur.execute("SELECT id, name FROM pg2_items")
        ids = sorted(r[0] for r in cur)
        eq(ids, list(range(1, 301)), "ids")
        cur.close()
        c.commit()
    finally:
        c.close()


@S.case("cursor", "named cursor with ORDER BY: fetchmany pages in order")
def _():
    c = connect(autocommit=False)
    try:
        cur = c.cursor("pg2_named2")
        cur.execute("SELECT id FROM pg2_items WHERE id <= %s ORDER BY id", (100,))
        eq([r[0] for r in cur.fetchmany(10)], list(range(1, 11)), "page 1")
        eq([r[0] for r in cur.fetchmany(10)], list(range(11, 21)), "page 2")
        eq(len(cur.fetchall()), 80, "rest")
        cur.close()
        c.rollback()
    finally:
        c.close()


@S.case("cursor", "scrollable named cursor: scroll back")
def _():
    c = connect(autocommit=False)
    try:
        cur = c.cursor("pg2_scroll", scrollable=True)
        cur.execute("SELECT id FROM pg2_items WHERE id <= 20 ORDER BY id")
        eq(cur.fetchone()[0], 1, "first")
        cur.fetchmany(5)
        cur.scroll(0, mode="absolute")
        eq(cur.fetchone()[0], 1, "after scroll")
        cur.close()
        c.rollback()
    finally:
        c.close()


@S.case("cursor", "WITH HOLD cursor survives COMMIT (autocommit connection)")
def _():
    c = connect(autocommit=True)
    try:
        cur = c.cursor("pg2_hold", withhold=True)
        cur.itersize = 7
        cur.execute("SELECT id FROM pg2_items WHERE id <= 30")
        eq(sorted(r[0] for r in cur), list(range(1, 31)), "ids")
        cur.close()
    finally:
        c.close()


@S.case("txn", "COMMIT and ROLLBACK on one shard")
def _():
    c = connect(autocommit=False)
    try:
        q(c, "INSERT INTO pg2_items (id, name) VALUES (1001, 'txn')")
        c.rollback()
        eq(count(conn, "pg2_items", "id = 1001"), 0, "after rollback")
        q(c, "INSERT INTO pg2_items (id, name) VALUES (1001, 'txn')")
        q(c, "UPDATE pg2_items SET qty = 5 WHERE id = 1001")
        c.commit()
        eq(one(conn, "SELECT qty FROM pg2_items WHERE id = 1001"), 5, "after commit")
    finally:
        c.close()


@S.case("txn", "multi-node write transaction commits atomically")
def _():
    c = connect(autocommit=False)
    try:
        q(c, "INSERT INTO pg2_items (id, name) VALUES (2001,'m'),(2002,'m'),(2003,'m'),"
             "(2004,'m'),(2005,'m'),(2006,'m'),(2007,'m'),(2008,'m')")
        q(c, "UPDATE pg2_items SET qty = 1 WHERE id IN (2001, 2005)")
        c.commit()
        eq(count(conn, "pg2_items", "name = 'm'"), 8, "rows")
    finally:
        c.close()


@S.case("txn", "error inside a transaction: 25P02, then ROLLBACK recovers")
def _():
    c = connect(autocommit=False)
    try:
        q(c, "SELECT * FROM pg2_items WHERE id = 1")
        sqlstate(lambda: q(c, "SELECT 1/0"), "22012")
        sqlstate(lambda: q(c, "SELECT 1"), "25P02")
        c.rollback()
        eq(one(c, "SELECT 2"), 2, "after rollback")
        c.rollback()
    finally:
        c.close()


@S.case("txn", "SAVEPOINT / ROLLBACK TO / RELEASE")
def _():
    c = connect(autocommit=False)
    try:
        q(c, "INSERT INTO pg2_items (id, name) VALUES (3001, 'sp')")
        q(c, "SAVEPOINT a")
        sqlstate(lambda: q(c, "INSERT INTO pg2_items (id, name) VALUES (3001, 'dup')"), "23505")
        q(c, "ROLLBACK TO SAVEPOINT a")
        q(c, "INSERT INTO pg2_items (id, name) VALUES (3002, 'sp')")
        q(c, "RELEASE SAVEPOINT a")
        c.commit()
        eq(count(conn, "pg2_items", "name = 'sp'"), 2, "rows")
    finally:
        c.close()


@S.case("txn", "isolation level REPEATABLE READ / read only via set_session")
def _():
    c = connect(autocommit=False)
    try:
        c.set_session(isolation_level="REPEATABLE READ", readonly=True)
        eq(one(c, "SHOW transaction_isolation"), "repeatable read", "isolation")
        eq(one(c, "SHOW transaction_read_only"), "on", "read only")
        eq(one(c, "SELECT count(*) FROM pg2_items WHERE id = 1"), 1, "read")
        sqlstate(lambda: q(c, "INSERT INTO pg2_items (id, name) VALUES (3003, 'ro')"), "25006")
        c.rollback()
    finally:
        c.close()


class no_wait_callback:
    """psycopg2's COPY refuses to run with a wait callback installed."""

    def __enter__(self):
        psycopg2.extensions.set_wait_callback(None)

    def __exit__(self, *exc):
        psycopg2.extensions.set_wait_callback(psycopg2.extras.wait_select)
        return False


def copy_in(sql, data):
    with no_wait_callback(), conn.cursor() as cur:
        cur.copy_expert(sql, io.StringIO(data) if isinstance(data, str) else io.BytesIO(data))
        return cur.rowcount


@S.case("copy", "copy_expert COPY FROM STDIN csv HEADER with column list (1000 rows)")
def _():
    q(conn, "CREATE TABLE pg2_copy (id bigint, name text, n int, note text)")
    common.distribute(lambda s: q(conn, s), "pg2_copy", "id")
    data = "id,name,n\n" + "".join('%d,"name, %d",%d\n' % (i, i, i * 2) for i in range(1, 1001))
    copy_in("COPY pg2_copy (id, name, n) FROM STDIN WITH (FORMAT csv, HEADER)", data)
    eq(sorted(r[0] for r in q(conn, "SELECT n FROM pg2_copy")), [2 * i for i in range(1, 1001)],
       "n values")
    eq(one(conn, "SELECT name FROM pg2_copy WHERE id = 77"), "name, 77", "row 77")


@S.case("copy", "copy_from (text format, NULLs, tabs escaped)")
def _():
    with no_wait_callback(), conn.cursor() as cur:
        cur.copy_from(io.StringIO("1001\tx\\ty\t\\N\t\\N\n1002\tz\t5\tnote\n"), "pg2_copy",
                      columns=("id", "name", "n", "note"))
    eq(q(conn, "SELECT id, name, n, note FROM pg2_copy WHERE id IN (1001, 1002) ORDER BY id"),
       [(1001, "x\ty", None, None), (1002, "z", 5, "note")], "rows")


@S.case("copy", "COPY FROM STDIN binary")
def _():
    buf = bytearray(b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0))
    for i in (2001, 2002):
        name = ("bin%d" % i).encode()
        buf += struct.pack("!h", 3) + struct.pack("!iq", 8, i) + struct.pack("!i", len(name)) + \
            name + struct.pack("!ii", 4, i)
    buf += struct.pack("!h", -1)
    copy_in("COPY pg2_copy (id, name, n) FROM STDIN (FORMAT binary)", bytes(buf))
    eq(q(conn, "SELECT id, name, n FROM pg2_copy WHERE id >= 2001 ORDER BY id"),
       [(2001, "bin2001", 2001), (2002, "bin2002", 2002)], "rows")


@S.case("copy", "COPY table TO STDOUT csv")
def _():
    out = io.StringIO()
    with no_wait_callback(), conn.cursor() as cur:
        cur.copy_expert("COPY pg2_copy (id, n) TO STDOUT WITH (FORMAT csv)", out)
    lines = out.getvalue().splitlines()
    eq(len(lines), 1004, "lines")
    eq(sorted(int(x.split(",")[0]) for x in lines)[:3], [1, 2, 3], "first ids")


@S.case("copy", "COPY (query) TO STDOUT")
def _():
    out = io.StringIO()
    with no_wait_callback(), conn.cursor() as cur:
        cur.copy_expert("COPY (SELECT id, name FROM pg2_copy WHERE id <= 3 ORDER BY id) "
                        "TO STDOUT WITH (FORMAT csv, HEADER)", out)
    eq(out.getvalue(), 'id,name\n1,"name, 1"\n2,"name, 2"\n3,"name, 3"\n', "output")


@S.case("copy", "bad row aborts COPY with 22P02 and nothing stays")
def _():
    before = count(conn, "pg2_copy")
    data = "".join("%d,ok,%d\n" % (i, i) for i in range(5001, 5500)) + "5500,bad,notanint\n"
    sqlstate(lambda: copy_in("COPY pg2_copy (id, name, n) FROM STDIN (FORMAT csv)", data), "22P02")
    eq(count(conn, "pg2_copy"), before, "count after failed COPY")
    eq(one(conn, "SELECT 1"), 1, "session usable")


@S.case("session", "SET TimeZone: ParameterStatus and every node's answer")
def _():
    c = connect()
    try:
        q(c, "SET TimeZone = 'Asia/Tokyo'")
        eq(c.get_parameter_status("TimeZone"), "Asia/Tokyo", "ParameterStatus TimeZone")
        eq(one(c, "SHOW TimeZone"), "Asia/Tokyo", "SHOW")
        q(c, "UPDATE pg2_items SET at = '2024-01-01 00:00:00+00' WHERE id <= 300")
        vals = set(r[0] for r in q(c, "SELECT at::text FROM pg2_items WHERE id <= 300"))
        eq(vals, {"2024-01-01 09:00:00+09"}, "timestamptz text on every shard")
        q(c, "RESET TimeZone")
        eq(c.get_parameter_status("TimeZone"), one(c, "SHOW TimeZone"), "ParameterStatus after RESET")
    finally:
        c.close()


@S.case("session", "SET application_name / DateStyle report ParameterStatus")
def _():
    c = connect()
    try:
        q(c, "SET application_name = 'pg2_app'")
        eq(c.get_parameter_status("application_name"), "pg2_app", "application_name")
        q(c, "SET DateStyle = 'ISO, DMY'")
        eq(c.get_parameter_status("DateStyle"), "ISO, DMY", "DateStyle")
        eq(one(c, "SELECT '03/04/2024'::date::text"), "2024-04-03", "DMY parsing")
    finally:
        c.close()


@S.case("session", "statement_timeout applies: 57014")
def _():
    c = connect()
    try:
        q(c, "SET statement_timeout = '200ms'")
        sqlstate(lambda: q(c, "SELECT pg_sleep(2)"), "57014")
        eq(one(c, "SELECT 1"), 1, "usable after")
    finally:
        c.close()


@S.case("session", "search_path to another schema")
def _():
    q(conn, "DROP SCHEMA IF EXISTS pg2_s CASCADE")
    q(conn, "CREATE SCHEMA pg2_s")
    c = connect()
    try:
        q(c, "SET search_path = pg2_s, public")
        q(c, "CREATE TABLE pg2_in_s (id int PRIMARY KEY, v text)")
        common.distribute(lambda s: q(c, s), "pg2_s.pg2_in_s", "id")
        q(c, "INSERT INTO pg2_in_s VALUES (1, 'one'), (2, 'two')")
        eq(q(c, "SELECT v FROM pg2_in_s WHERE id = 2"), [("two",)], "by key")
        eq(count(conn, "pg2_s.pg2_in_s"), 2, "qualified")
    finally:
        c.close()
        q(conn, "DROP SCHEMA IF EXISTS pg2_s CASCADE")


@S.case("session", "DISCARD ALL resets settings")
def _():
    c = connect()
    try:
        q(c, "SET work_mem = '7MB'")
        q(c, "DISCARD ALL")
        eq(one(c, "SHOW work_mem"), "4MB", "work_mem after DISCARD ALL")
    finally:
        c.close()


@S.case("session", "LISTEN/NOTIFY between two sessions")
def _():
    a, b = connect(), connect()
    try:
        q(a, "LISTEN pg2_chan")
        q(b, "NOTIFY pg2_chan, 'hello'")
        end = time.monotonic() + 5
        while not a.notifies and time.monotonic() < end:
            if select.select([a], [], [], 0.5) != ([], [], []):
                a.poll()
        eq([(n.channel, n.payload) for n in a.notifies], [("pg2_chan", "hello")], "notifies")
    finally:
        a.close()
        b.close()


@S.case("catalog", "version(), current_setting, pg_backend_pid(), current_database()")
def _():
    r = q(conn, "SELECT version(), current_setting('server_version_num')::int, "
                "pg_backend_pid(), current_database(), current_user")[0]
    assert r[0].startswith("PostgreSQL 15"), r[0]
    assert r[1] >= 150000, r[1]
    assert isinstance(r[2], int) and r[2] > 0, r[2]
    eq(r[3:], (common.DB, common.USER), "database, user")
    eq(conn.server_version >= 150000, True, "server_version")


@S.case("catalog", "information_schema.columns lists the logical table once")
def _():
    eq(q(conn, "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
               "AND table_name = 'pg2_items' ORDER BY ordinal_position"),
       [(c,) for c in ("id", "name", "qty", "price", "added", "at", "tags", "meta", "blob", "ok")],
       "columns")
    eq(one(conn, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE c.relname = 'pg2_items' AND n.nspname = 'public'"), 1, "pg_class")


@S.case("sequence", "standalone sequence nextval() increases")
def _():
    q(conn, "DROP SEQUENCE IF EXISTS pg2_seq")
    q(conn, "CREATE SEQUENCE pg2_seq")
    vals = [one(conn, "SELECT nextval('pg2_seq')") for _ in range(5)]
    eq(vals, [1, 2, 3, 4, 5], "nextval values")
    eq(one(conn, "SELECT currval('pg2_seq')"), 5, "currval")
    q(conn, "DROP SEQUENCE pg2_seq")


@S.case("sequence", "bigserial on a distributed table: values unique across nodes")
def _():
    q(conn, "CREATE TABLE pg2_ser (k int, id bigserial, v text)")
    common.distribute(lambda s: q(conn, s), "pg2_ser", "k")
    ids = [one(conn, "INSERT INTO pg2_ser (k, v) VALUES (%s, 'x') RETURNING id", (k,))
           for k in range(1, 31)]
    eq(len(set(ids)), 30, "distinct ids among %r" % (ids,))


@S.case("sequence", "GENERATED ALWAYS AS IDENTITY on a distributed table: unique")
def _():
    q(conn, "CREATE TABLE pg2_ident (k int, id int GENERATED ALWAYS AS IDENTITY, v text)")
    common.distribute(lambda s: q(conn, s), "pg2_ident", "k")
    q(conn, "INSERT INTO pg2_ident (k, v) VALUES " + ",".join("(%d,'x')" % k for k in range(1, 31)))
    ids = [r[0] for r in q(conn, "SELECT id FROM pg2_ident")]
    eq(len(ids), 30, "rows")
    eq(len(set(ids)), 30, "distinct ids among %r" % (sorted(ids),))


@S.case("errors", "SQLSTATEs: 23505, 42P01, 42601, 22012; session survives")
def _():
    sqlstate(lambda: q(conn, "INSERT INTO pg2_items (id, name) VALUES (1, 'dup')"), "23505")
    sqlstate(lambda: q(conn, "SELECT * FROM pg2_nope"), "42P01")
    e = sqlstate(lambda: q(conn, "SELEC 1"), "42601")
    eq(e.diag.statement_position, "1", "error position")
    sqlstate(lambda: q(conn, "SELECT 1/0"), "22012")
    eq(one(conn, "SELECT 1"), 1, "usable")


@S.case("errors", "NOT NULL violation on a shard: 23502 with column name")
def _():
    e = sqlstate(lambda: q(conn, "INSERT INTO pg2_items (id, name) VALUES (9999, NULL)"), "23502")
    eq(e.diag.column_name, "name", "column_name")


for t in ("pg2_orders", "pg2_items", "pg2_ser", "pg2_local", "pg2_copy", "pg2_ident"):
    try:
        q(conn, "DROP TABLE IF EXISTS %s CASCADE" % t)
    except psycopg2.Error:
        pass
S.finish()
