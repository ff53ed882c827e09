"""INSERT ... SELECT that is not co-located: the SELECT's rows pulled through
the gateway and inserted in per-shard batches (PLAN_INSERT_SELECT).

Every case runs the same statements through the gateway and on plain
PostgreSQL (the same tables, undistributed, in schema `plain` on node 1) and
compares rows, command tags, RETURNING rows (as sets) and SQLSTATEs. Rows
inserted into a distributed table must also be found by the router (each row
lives in the shard its distribution value hashes to).
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, expect_sqlstate, test  # noqa: E402

import psycopg2  # noqa: E402

MEMORY_LIMIT = "2MB"

# table definitions, created distributed (or reference / local) through the gateway and
# plain in schema plain on node 1
TABLES = [
    ("is_a", "id int PRIMARY KEY, k int, v text", ("dist", "id", 8)),
    ("is_b", "bid int PRIMARY KEY, x int, t text", ("dist", "bid", 5)),
    ("is_r", "k int PRIMARY KEY, name text", ("ref",)),
    ("is_r2", "k int PRIMARY KEY, name text", ("ref",)),
    ("is_d", "id int PRIMARY KEY, n int DEFAULT 42, note text DEFAULT 'dflt', "
             "flag boolean DEFAULT true", ("dist", "id", 6)),
    ("is_s", "id bigserial PRIMARY KEY, v text, w int DEFAULT 7", ("dist", "id", 4)),
    ("is_n", "id int, v text", ("dist", "id", 4)),
    ("is_t", "name text PRIMARY KEY, n int", ("dist", "name", 4)),
    ("is_rt", "id int PRIMARY KEY, b bytea, j jsonb, ts timestamptz, arr int[], f float8, "
              "f4 real, num numeric, tarr text[], iv interval, u uuid", ("dist", "id", 4)),
    ("is_rt2", "id bigint PRIMARY KEY, b bytea, j jsonb, ts timestamptz, arr int[], f float8, "
               "f4 real, num numeric, tarr text[], iv interval, u uuid", ("dist", "id", 3)),
]


def plain(c):
    """a connection to node 1 whose unqualified names are the plain tables"""
    n = c.node(1)
    n.cursor().execute("SET search_path = plain, public")
    return n


def run(conn, sql):
    """(status, rows or None, sqlstate) of one statement; errors rolled into the result"""
    cur = conn.cursor()
    try:
        cur.execute(sql)
    except psycopg2.Error as e:
        if not conn.autocommit:
            conn.rollback()
        return (None, None, e.pgcode)
    rows = cur.fetchall() if cur.description is not None else None
    return (cur.statusmessage, rows, None)


def same(c, sql, what, ordered=False):
    """the statement gives the same tag, rows (as a multiset unless ordered) and SQLSTATE
    through the gateway and on plain PostgreSQL"""
    g, p = c.gw(), plain(c)
    try:
        got, want = run(g, sql), run(p, sql)
    finally:
        g.close()
        p.close()
    if not ordered:
        got = (got[0], sorted(got[1], key=repr) if got[1] is not None else None, got[2])
        want = (want[0], sorted(want[1], key=repr) if want[1] is not None else None, want[2])
    if got != want and got[1] is not None and want[1] is not None and len(got[1]) == len(
            want[1]):
        for gr, wr in zip(got[1], want[1]):
            if gr != wr:
                raise AssertionError("%s: first different row: expected %r, got %r" %
                                     (what, wr, gr))
    eq(got, want, what)
    return got


def same_table(c, table, what, key="1"):
    same(c, "SELECT * FROM %s ORDER BY %s" % (table, key), what + ": table " + table,
         ordered=True)


def routed(c, table, col, what):
    """every row of table is found by a router lookup on its distribution value"""
    g = c.gw()
    try:
        vals = [r[0] for r in c.rows(g, "SELECT %s FROM %s WHERE %s IS NOT NULL" %
                                     (col, table, col))]
        for v in vals[:300]:
            n = c.scalar(g, "SELECT count(*) FROM %s WHERE %s = %%s" % (table, col), (v,))
            if n != 1:
                raise AssertionError("%s: %s.%s = %r found %d times by the router" %
                                     (what, table, col, v, n))
    finally:
        g.close()


@test
def setup(c):
    g = c.gw()
    cur = g.cursor()
    p = c.node(1)
    pc = p.cursor()
    pc.execute("DROP SCHEMA IF EXISTS plain CASCADE")
    pc.execute("CREATE SCHEMA plain")
    c.drop(*[t[0] for t in TABLES], "is_loc", "is_lt")
    for name, cols, how in TABLES:
        cur.execute("CREATE TABLE %s (%s)" % (name, cols))
        if how[0] == "dist":
            cur.execute("SELECT create_distributed_table('%s', '%s', shard_count => %d)" %
                        (name, how[1], how[2]))
        else:
            cur.execute("SELECT create_reference_table('%s')" % name)
        pc.execute("CREATE TABLE plain.%s (%s)" % (name, cols))
    # a local table (lives on node 1, read by both sides) and a local target
    cur.execute("CREATE TABLE is_loc (id int, k int, v text)")
    cur.execute("INSERT INTO is_loc SELECT g, g % 7, 'loc' || g FROM generate_series(1, 300) g")
    cur.execute("CREATE TABLE is_lt (id int, v text)")
    pc.execute("CREATE TABLE plain.is_lt (id int, v text)")
    for conn in (g, plain(c)):
        conn.cursor().execute("INSERT INTO is_r SELECT g, 'ref' || g FROM generate_series(0, 9) g")
    g.close()
    p.close()


@test
def from_generate_series(c):
    same(c, "INSERT INTO is_a SELECT g, g % 10, 'v' || g FROM generate_series(1, 1000) g",
         "insert")
    same_table(c, "is_a", "generate_series")
    routed(c, "is_a", "id", "generate_series")


@test
def from_local_table(c):
    same(c, "INSERT INTO is_b SELECT id + 100000, k, v FROM is_loc WHERE id <= 200", "insert")
    same_table(c, "is_b", "local")
    routed(c, "is_b", "bid", "local")


@test
def from_reference_table(c):
    same(c, "INSERT INTO is_a SELECT k + 2000, k, name FROM is_r", "insert")
    same_table(c, "is_a", "reference")
    routed(c, "is_a", "id", "reference")


@test
def from_other_distributed_table(c):
    # is_b is not co-located with is_a (other shard count): rows move between shards
    same(c, "INSERT INTO is_b SELECT id, k, v FROM is_a WHERE id <= 500", "insert")
    same_table(c, "is_b", "not co-located")
    routed(c, "is_b", "bid", "not co-located")


@test
def computed_distribution_value(c):
    same(c, "INSERT INTO is_b SELECT id * 2 + 1000001, k, v FROM is_a WHERE k = 3", "computed")
    # the same table as source and target (reads the rows before the insert, as PostgreSQL)
    same(c, "INSERT INTO is_a SELECT id + 5000, k + 1, v || '+' FROM is_a WHERE id < 100",
         "self")
    same_table(c, "is_b", "computed")
    same_table(c, "is_a", "computed")
    routed(c, "is_b", "bid", "computed")


@test
def order_by_limit(c):
    same(c, "INSERT INTO is_b SELECT id + 2000000, k, v FROM is_a ORDER BY v DESC, id LIMIT 7",
         "order by limit")
    same(c, "INSERT INTO is_b SELECT id + 3000000, k, v FROM is_a ORDER BY id OFFSET 990",
         "offset")
    same_table(c, "is_b", "order by limit")


@test
def aggregates(c):
    same(c, "INSERT INTO is_b SELECT k + 4000000, count(*), string_agg(v, ',' ORDER BY id) "
            "FROM is_a GROUP BY k HAVING count(*) > 1", "group by")
    same(c, "INSERT INTO is_b SELECT 5000000, sum(id), max(v) FROM is_a", "aggregate")
    same(c, "INSERT INTO is_b SELECT DISTINCT k + 6000000, 0, 'd' FROM is_a", "distinct")
    same(c, "INSERT INTO is_b SELECT a.id + 7000000, b.x, b.t FROM is_a a JOIN is_b b "
            "ON a.id = b.bid WHERE a.id < 50", "join")
    same_table(c, "is_b", "aggregates")


@test
def assignment_casts(c):
    # numeric into int rounds (2.5 -> 3), int into text, text literal into int
    same(c, "INSERT INTO is_b SELECT 8000000 + g, g + 0.5, g FROM generate_series(1, 6) g",
         "numeric->int, int->text")
    same(c, "INSERT INTO is_b (bid, x, t) SELECT 8000100, '17', 12.25", "literal, numeric->text")
    same(c, "INSERT INTO is_b SELECT 8000200, 1.5::float8, now()::date", "float->int, date->text")
    # a distribution value of another integer type, and an integer into a text one
    same(c, "INSERT INTO is_b SELECT g::bigint + 8000300, 0, 'big' FROM generate_series(1, 5) g",
         "bigint into int")
    same(c, "INSERT INTO is_t SELECT g, g FROM generate_series(1, 30) g", "int into text key")
    same(c, "INSERT INTO is_t SELECT 'n' || g, g FROM generate_series(1, 30) g", "text key")
    same_table(c, "is_b", "casts")
    same_table(c, "is_t", "casts")
    routed(c, "is_b", "bid", "casts")
    routed(c, "is_t", "name", "casts")
    # errors PostgreSQL raises for the same statements
    same(c, "INSERT INTO is_b SELECT 'abc', 1, 'x'", "bad literal (22P02)")
    same(c, "INSERT INTO is_b SELECT 9000000, 'abc'::text, 'x'", "text into int (42804)")
    same(c, "INSERT INTO is_b SELECT 9000001, 5000000000, 'x'", "out of range (22003)")
    same(c, "INSERT INTO is_b SELECT 9000002, 1, 'x', 4", "too many expressions (42601)")
    same(c, "INSERT INTO is_b (bid, x) SELECT 9000003", "too few expressions (42601)")
    # a distribution value whose stored form the gateway cannot hash: refused, nothing inserted
    g = c.gw()
    expect_sqlstate(lambda: g.cursor().execute("INSERT INTO is_b SELECT 9000004.5, 1, 'x'"),
                    "0A000", "numeric distribution value")
    eq(c.scalar(g, "SELECT 1"), 1, "session usable")
    g.close()


@test
def defaults_and_column_subset(c):
    same(c, "INSERT INTO is_d (id) SELECT g FROM generate_series(1, 20) g", "defaults")
    same(c, "INSERT INTO is_d (note, id) SELECT 'n' || g, g + 100 FROM generate_series(1, 20) g",
         "reordered subset")
    same(c, "INSERT INTO is_d SELECT g + 200, g FROM generate_series(1, 5) g", "prefix")
    same_table(c, "is_d", "defaults")
    routed(c, "is_d", "id", "defaults")


@test
def serial_distribution_column(c):
    # the gateway draws the values from the sequence on the first node (as for INSERT ...
    # VALUES), so the numbers are not plain PostgreSQL's: distinct, in SELECT order
    g = c.gw()
    cur = g.cursor()
    cur.execute("INSERT INTO is_s (v) SELECT 'x' || g FROM generate_series(1, 25) g")
    eq(cur.statusmessage, "INSERT 0 25", "tag")
    cur.execute("INSERT INTO is_s (w, v) SELECT g, 'y' || g FROM generate_series(1, 5) g "
                "RETURNING id, v, w")
    ret = cur.fetchall()
    eq(sorted((v, w) for _i, v, w in ret), [("y%d" % i, i) for i in range(1, 6)], "returning")
    cur.execute("INSERT INTO is_s VALUES (DEFAULT, 'values', 1)")
    rows = c.rows(g, "SELECT id, v, w FROM is_s ORDER BY id")
    eq([r[1] for r in rows], ["x%d" % i for i in range(1, 26)] + ["y%d" % i for i in range(1, 6)]
       + ["values"], "ids in SELECT order")
    eq([r[2] for r in rows], [7] * 25 + [1, 2, 3, 4, 5, 1], "defaults")
    eq(len(set(r[0] for r in rows)), 31, "distinct ids")
    g.close()
    routed(c, "is_s", "id", "serial")


@test
def on_conflict(c):
    same(c, "INSERT INTO is_b SELECT id, 0, 'dup' FROM is_a WHERE id BETWEEN 490 AND 510 "
            "ON CONFLICT DO NOTHING", "do nothing")
    same(c, "INSERT INTO is_b SELECT id, 1, 'upd' FROM is_a WHERE id BETWEEN 495 AND 505 "
            "ON CONFLICT (bid) DO UPDATE SET t = EXCLUDED.t || is_b.t, x = is_b.x + 1 "
            "WHERE is_b.bid % 2 = 0 RETURNING bid, x, t", "do update")
    same_table(c, "is_b", "on conflict")
    g = c.gw()
    expect_sqlstate(lambda: g.cursor().execute(
        "INSERT INTO is_b SELECT id, 0, 'x' FROM is_a WHERE id < 3 "
        "ON CONFLICT (bid) DO UPDATE SET bid = EXCLUDED.bid + 1"), "0A000",
        "updating the distribution column")
    g.close()


@test
def returning(c):
    same(c, "INSERT INTO is_b SELECT id + 9100000, k, v FROM is_a WHERE id <= 40 "
            "RETURNING *, bid * 2 AS twice", "returning")
    same(c, "INSERT INTO is_b SELECT id + 9200000, k, v FROM is_a WHERE false RETURNING bid",
         "returning no rows")
    same(c, "INSERT INTO is_r2 SELECT id, v FROM is_a WHERE id < 30 RETURNING k, name",
         "reference target returning")
    same_table(c, "is_b", "returning")


@test
def reference_and_local_targets(c):
    same(c, "INSERT INTO is_r2 SELECT id + 100, v FROM is_a WHERE id % 50 = 0", "reference")
    same_table(c, "is_r2", "reference")
    counts = [r[0][0] for r in c.on_each_node("SELECT count(*) FROM is_r2")]
    eq(len(set(counts)), 1, "every node holds the reference rows: %r" % counts)
    # a reference table from a local one (refused before)
    same(c, "INSERT INTO is_r2 SELECT id + 1000, v FROM is_loc WHERE id < 10", "ref from local")
    counts = [r[0][0] for r in c.on_each_node("SELECT count(*) FROM is_r2")]
    eq(len(set(counts)), 1, "every node, from local: %r" % counts)
    # a local table from a distributed one
    same(c, "INSERT INTO is_lt SELECT id, v FROM is_a WHERE k = 7", "local target")
    same_table(c, "is_lt", "local target")


@test
def transactions(c):
    g = c.gw(autocommit=False)
    cur = g.cursor()
    before = c.scalar(g, "SELECT count(*) FROM is_b")
    cur.execute("INSERT INTO is_b SELECT id + 9300000, k, v FROM is_a")
    eq(cur.statusmessage, "INSERT 0 %d" % c.scalar(g, "SELECT count(*) FROM is_a"), "tag")
    g.rollback()
    eq(c.scalar(g, "SELECT count(*) FROM is_b"), before, "after ROLLBACK")
    cur.execute("INSERT INTO is_b SELECT id + 9400000, k, v FROM is_a WHERE id < 100")
    cur.execute("SELECT count(*) FROM is_b WHERE bid > 9400000")
    eq(cur.fetchone()[0], 99, "seen inside the block")
    g.commit()
    g.close()
    g = c.gw()
    eq(c.scalar(g, "SELECT count(*) FROM is_b WHERE bid > 9400000"), 99, "after COMMIT")
    g.close()
    p = plain(c)
    p.cursor().execute("INSERT INTO is_b SELECT id + 9400000, k, v FROM is_a WHERE id < 100")
    p.close()
    same_table(c, "is_b", "transactions")


@test
def unique_violation(c):
    g = c.gw()
    before = c.scalar(g, "SELECT count(*) FROM is_b")
    # rows for many shards, one of them a duplicate: nothing stays (one transaction)
    e = expect_sqlstate(lambda: g.cursor().execute(
        "INSERT INTO is_b SELECT g, 0, 'new' FROM generate_series(9500000, 9500100) g "
        "UNION ALL SELECT 1, 0, 'dup'"), "23505", "duplicate")
    eq(c.scalar(g, "SELECT count(*) FROM is_b"), before, "nothing inserted")
    eq(c.scalar(g, "SELECT 1"), 1, "session usable")
    assert "is_b_pkey" in str(e), str(e)
    # NOT NULL on the distribution column
    same(c, "INSERT INTO is_b SELECT NULL, 0, 'null'", "NULL into the key (23502)")
    # inside a block: the block fails, ROLLBACK recovers
    g2 = c.gw(autocommit=False)
    cur = g2.cursor()
    cur.execute("INSERT INTO is_b SELECT 9600000, 0, 'x'")
    expect_sqlstate(lambda: cur.execute("INSERT INTO is_b SELECT bid, 0, 'x' FROM is_b "
                                        "WHERE bid = 9600000"), "23505", "in a block")
    expect_sqlstate(lambda: cur.execute("SELECT 1"), "25P02", "block failed")
    g2.rollback()
    eq(c.scalar(g2, "SELECT count(*) FROM is_b WHERE bid = 9600000"), 0, "rolled back")
    g2.close()
    g.close()


@test
def null_distribution_value(c):
    # INSERT ... VALUES puts a NULL distribution value in the NULL shard: the same here
    g = c.gw()
    g.cursor().execute("INSERT INTO is_n VALUES (NULL, 'values')")
    g.cursor().execute("INSERT INTO is_n SELECT NULL::int, 'select'")
    g.cursor().execute("INSERT INTO is_n SELECT NULL, 'select unknown'")
    g.cursor().execute("INSERT INTO is_n SELECT CASE WHEN g > 0 THEN NULL ELSE g END, 'case' "
                       "FROM generate_series(1, 3) g")
    # CASE of NULLs only is text, as in PostgreSQL
    same(c, "INSERT INTO is_n SELECT CASE WHEN g > 0 THEN NULL END, 'x' "
            "FROM generate_series(1, 3) g", "CASE of NULL (42804)")
    g.close()
    where = {}
    for _node, schema, row in harness.shard_rows(c, "is_n", "v"):
        where.setdefault(row[0], set()).add(schema)
    eq(len(where["values"]), 1, "one shard")
    for v in ("select", "select unknown", "case"):
        eq(where[v], where["values"], "NULL row from %r in the VALUES one's shard" % v)


RT_VALUES = """
SELECT g,
       decode(md5(g::text) || '00ff5c27', 'hex'),
       jsonb_build_object('g', g, 'f', g / 3.0, 's', 'é"\\', 'a', jsonb_build_array(1, null)),
       timestamptz '2024-03-31 01:59:59.123456+02' + g * interval '1 hour 7 minutes',
       ARRAY[g, NULL, -g],
       CASE WHEN g = 1 THEN 'NaN'::float8 WHEN g = 2 THEN '-Infinity' ELSE 1.0 / 3 * g + 1e-300 END,
       (g / 7.0)::real,
       CASE WHEN g = 3 THEN 'NaN'::numeric ELSE 12345678901234567890.123456789 * g END,
       ARRAY['a,b', NULL, '{x}', '"q"', ''],
       g * interval '1 year 2 mons 3 days 04:05:06.789',
       md5(g::text)::uuid
FROM generate_series(1, 40) g
"""


@test
def exact_round_trip(c):
    # a time zone other than the nodes' default, and bytea/jsonb/timestamptz/arrays/floats
    for conn_tz in ("Asia/Kolkata", "America/St_Johns"):
        g, p = c.gw(), plain(c)
        for conn in (g, p):
            cur = conn.cursor()
            cur.execute("SET TimeZone = '%s'" % conn_tz)
            cur.execute("SET extra_float_digits = 0")  # text output would lose digits
            cur.execute("TRUNCATE is_rt, is_rt2")
            cur.execute("INSERT INTO is_rt " + RT_VALUES)
            # distributed -> distributed, not co-located (another key type too)
            cur.execute("INSERT INTO is_rt2 SELECT * FROM is_rt")
            cur.execute("INSERT INTO is_rt2 SELECT id + 1000, b, j, ts, arr, f, f4, num, tarr, iv, "
                        "u FROM is_rt2 WHERE id % 2 = 0")
        g.close()
        p.close()
        # exact equality of every column, checked by PostgreSQL with float8 bits
        g = c.gw()
        for t in ("is_rt", "is_rt2"):
            rows = c.rows(g, "SELECT id, b, j::text, ts, arr, float8send(f), float4send(f4), "
                             "num::text, tarr, iv, u FROM %s ORDER BY id" % t)
            p = plain(c)
            want = c.rows(p, "SELECT id, b, j::text, ts, arr, float8send(f), float4send(f4), "
                             "num::text, tarr, iv, u FROM %s ORDER BY id" % t)
            p.close()
            eq([tuple(bytes(x) if isinstance(x, memoryview) else x for x in r) for r in rows],
               [tuple(bytes(x) if isinstance(x, memoryview) else x for x in r) for r in want],
               "exact values in %s (%s)" % (t, conn_tz))
        g.close()
    routed(c, "is_rt2", "id", "round trip")


@test
def with_clause(c):
    same(c, "WITH src AS (SELECT id, k, v FROM is_a WHERE id BETWEEN 600 AND 620) "
            "INSERT INTO is_b SELECT id + 9700000, k, v FROM src", "with")
    same_table(c, "is_b", "with")


@test
def many_rows(c):
    # several batches per shard
    same(c, "INSERT INTO is_b SELECT g, g % 100, 'm' || g FROM generate_series(10000000, 10012000) g",
         "12001 rows")
    same(c, "SELECT count(*), sum(bid), sum(x), max(t) FROM is_b", "sums")


@test
def memory_limit(c):
    g = c.gw()
    before = c.scalar(g, "SELECT count(*) FROM is_b")
    expect_sqlstate(lambda: g.cursor().execute(
        "INSERT INTO is_b SELECT g, 0, repeat('x', 1000) FROM generate_series(20000000, 20005000) g"),
        "53200", "over query_memory_limit")
    eq(c.scalar(g, "SELECT count(*) FROM is_b"), before, "nothing inserted")
    eq(c.scalar(g, "SELECT 1"), 1, "session usable")
    g.close()


def _msg(t, payload):
    return t + struct.pack("!I", len(payload) + 4) + payload


@test
def extended_protocol(c):
    """Parse/Bind/Execute with a parameter in the SELECT, RETURNING in binary"""
    sql = ("INSERT INTO is_b SELECT g, $1::int, 'ext' || g FROM generate_series(11000000, "
           "11000009) g RETURNING bid")
    with c.wire() as w:
        w.login()
        w.sock.sendall(
            _msg(b"P", b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0)) +
            _msg(b"B", b"\0\0" + struct.pack("!HHI", 0, 1, 2) + b"77" + struct.pack("!HH", 1, 1)) +
            _msg(b"D", b"P\0") +
            _msg(b"E", b"\0" + struct.pack("!I", 0)) +
            _msg(b"S", b""))
        msgs = w.read_until_ready()
    types = [t for t, _ in msgs]
    assert "E" not in types, harness.errors(msgs)
    eq(types.count("T"), 1, "one RowDescription (from Describe)")
    vals = sorted(struct.unpack("!i", pl[6:10])[0] for t, pl in msgs if t == "D")
    eq(vals, list(range(11000000, 11000010)), "binary RETURNING rows")
    eq(harness.tags(msgs), ["INSERT 0 10"], "tag")
    g = c.gw()
    eq(c.scalar(g, "SELECT count(*) FROM is_b WHERE bid >= 11000000 AND x = 77"), 10, "rows")
    g.close()
    p = plain(c)
    p.cursor().execute(sql.replace("$1", "77"))
    p.close()
    same_table(c, "is_b", "extended")


@test
def explain_and_refusals(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("EXPLAIN INSERT INTO is_b SELECT id, k, v FROM is_a")
    eq(len(cur.fetchall()) > 0, True, "EXPLAIN answers")
    expect_sqlstate(lambda: cur.execute(
        "INSERT INTO is_b SELECT id + 12000000, k, v FROM is_a WHERE id < 3 RETURNING "
        "(SELECT count(*) FROM is_r)"), "0A000", "subquery in RETURNING")
    eq(c.scalar(g, "SELECT 1"), 1, "session usable")
    g.close()


if __name__ == "__main__":
    harness.main(nodes=3, gateway_set=["query_memory_limit=%s" % MEMORY_LIMIT])
