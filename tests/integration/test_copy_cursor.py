"""COPY ... TO STDOUT and server-side cursors (DECLARE / FETCH / MOVE / CLOSE)
over distributed and reference tables, compared with PostgreSQL 15 itself.

The reference is node 1 in a database of its own (`cc_ref`) holding the same
tables and rows as plain tables: every statement runs there and through the
gateway, and the answers must be the same: COPY bytes (text, csv with HEADER,
binary; sorted lines or decoded tuples when the statement does not order its
rows), FETCH rows, MOVE counts, command tags, SQLSTATEs.
"""

import io
import os
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test, Failures  # noqa: E402

REFDB = "cc_ref"

SCHEMA = [
    "CREATE TABLE cc_t (id int PRIMARY KEY, name text, v numeric, d date, b bytea, flag bool)",
    "CREATE TABLE cc_u (uid int PRIMARY KEY, t_id int, amount int)",
    "CREATE TABLE cc_r (id int PRIMARY KEY, label text)",
    "CREATE TABLE cc_e (id int PRIMARY KEY, x text)",
]
DISTRIBUTE = [
    "SELECT create_distributed_table('cc_t', 'id')",
    "SELECT create_distributed_table('cc_u', 'uid')",  # not co-located with cc_t on t_id
    "SELECT create_reference_table('cc_r')",
    "SELECT create_distributed_table('cc_e', 'id')",
]
ODD_NAMES = ["tab\there", "new\nline", 'quote"d', "back\\slash", "comma,semi;colon", "", None,
             "unicode \u00e9\u4e2d", "\\N", "a'b"]


def t_rows():
    rows = []
    for i in range(1, 241):
        name = ODD_NAMES[i % len(ODD_NAMES)] if i % 7 == 0 else "n%d" % i
        v = None if i % 11 == 0 else "%d.%02d" % (i * 3, i % 100)
        d = None if i % 13 == 0 else "2024-01-01"
        b = None if i % 5 == 0 else bytes([i % 256, 0, 255, 10])
        flag = None if i % 17 == 0 else (i % 2 == 0)
        rows.append((i, name, v, d, b, flag))
    return rows


def u_rows():
    return [(k, (k * 7) % 250 + 1, k % 9) for k in range(1, 301)]


def insert(conn, table, rows):
    cols = len(rows[0])
    with conn.cursor() as cur:
        for start in range(0, len(rows), 100):
            chunk = rows[start:start + 100]
            ph = "(" + ", ".join(["%s"] * cols) + ")"
            cur.execute("INSERT INTO %s VALUES %s" % (table, ", ".join([ph] * len(chunk))),
                        [x for r in chunk for x in r])


def load(conn, distribute):
    for s in SCHEMA:
        harness.Cluster.execute(conn, s)
    if distribute:
        for s in DISTRIBUTE:
            harness.Cluster.rows(conn, s)
    insert(conn, "cc_t", t_rows())
    insert(conn, "cc_u", u_rows())
    insert(conn, "cc_r", [(i, "label %d" % i) for i in range(1, 60)])


class Pair:
    """A gateway connection and a reference connection, same statements."""

    def __init__(self, c, autocommit=True):
        self.g = c.gw(autocommit=autocommit)
        self.r = c.connect(c.node_port(1), autocommit=autocommit, dbname=REFDB)

    def close(self):
        self.g.close()
        self.r.close()

    def both(self, fn):
        return fn(self.g), fn(self.r)


def copy_out(conn, sql):
    """(bytes, statusmessage) or raises"""
    buf = io.BytesIO()
    with conn.cursor() as cur:
        cur.copy_expert(sql, buf)
        return buf.getvalue(), cur.statusmessage


def binary_tuples(data):
    """A binary COPY stream as (header, [tuple bytes...], trailer ok)"""
    assert data[:11] == b"PGCOPY\n\xff\r\n\x00", "binary signature: %r" % data[:11]
    ext = struct.unpack("!I", data[15:19])[0]
    pos = 19 + ext
    tuples = []
    while True:
        (n,) = struct.unpack("!h", data[pos:pos + 2])
        if n == -1:
            assert pos + 2 == len(data), "bytes after the trailer"
            return data[:19 + ext], tuples
        start = pos
        pos += 2
        for _ in range(n):
            (ln,) = struct.unpack("!i", data[pos:pos + 4])
            pos += 4 + max(ln, 0)
        tuples.append(data[start:pos])


def same_copy(p, sql, ordered, what, binary=False):
    (gd, gt), (rd, rt) = p.both(lambda conn: copy_out(conn, sql))
    eq(gt, rt, "%s: command tag" % what)
    if ordered:
        eq(gd, rd, "%s: bytes" % what)
    elif binary:
        gh, gtup = binary_tuples(gd)
        rh, rtup = binary_tuples(rd)
        eq(gh, rh, "%s: binary header" % what)
        eq(sorted(gtup), sorted(rtup), "%s: binary tuples" % what)
    else:
        gl, rl = gd.split(b"\n"), rd.split(b"\n")
        # a csv header is the first line in both
        if b"HEADER" in sql.upper().encode():
            eq(gl[0], rl[0], "%s: header line" % what)
            gl, rl = gl[1:], rl[1:]
        eq(sorted(gl), sorted(rl), "%s: lines" % what)
    return gd


def sqlstate_of(fn):
    try:
        fn()
    except psycopg2.Error as e:
        return e.pgcode
    return None


def same_error(p, sql, what, copy=False):
    def run(conn):
        def go():
            if copy:
                copy_out(conn, sql)
            else:
                with conn.cursor() as cur:
                    cur.execute(sql)
        st = sqlstate_of(go)
        if not conn.autocommit:
            conn.rollback()
        return st
    gs, rs = p.both(run)
    assert rs is not None, "%s: the reference accepted it" % what
    eq(gs, rs, "%s: SQLSTATE" % what)
    # the session survives
    eq(harness.Cluster.scalar(p.g, "SELECT count(*) FROM cc_t"), 240, "%s: session usable" % what)


@test
def setup(c):
    n1 = c.node(1)
    try:
        harness.Cluster.execute(n1, "DROP DATABASE IF EXISTS %s" % REFDB)
        harness.Cluster.execute(n1, "CREATE DATABASE %s" % REFDB)
    finally:
        n1.close()
    r = c.connect(c.node_port(1), dbname=REFDB)
    g = c.gw()
    try:
        load(r, False)
        load(g, True)
        eq(harness.Cluster.scalar(g, "SELECT count(*) FROM cc_t"), 240, "rows through the gateway")
        counts = [x[0][0] for x in c.on_each_node(
            "SELECT count(*) FROM pg_tables WHERE tablename = 'cc_t' AND schemaname LIKE 'sg_%'")]
        assert sum(1 for k in counts if k > 0) >= 2, "cc_t shards on several nodes: %r" % counts
    finally:
        r.close()
        g.close()


@test
def copy_table_text_csv_binary(c):
    p = Pair(c)
    f = Failures()
    try:
        for sql, ordered, binary in [
            ("COPY cc_t TO STDOUT", False, False),
            ("COPY cc_t TO STDOUT (FORMAT text)", False, False),
            ("COPY cc_t TO STDOUT (FORMAT csv, HEADER)", False, False),
            ("COPY cc_t TO STDOUT WITH CSV HEADER FORCE QUOTE name", False, False),
            ("COPY cc_t (name, id, flag) TO STDOUT (FORMAT csv, HEADER true, DELIMITER ';', "
             "NULL 'NULL', QUOTE '''', FORCE_QUOTE *)", False, False),
            ("COPY cc_t (d, v) TO STDOUT (DELIMITER '|', NULL '')", False, False),
            ("COPY public.cc_t TO STDOUT (FORMAT binary)", False, True),
            ("COPY cc_t (b, id) TO STDOUT WITH BINARY", False, True),
            ("COPY cc_r TO STDOUT (FORMAT csv, HEADER)", False, False),
            ("COPY cc_r TO STDOUT (FORMAT binary)", False, True),
            ("COPY cc_e TO STDOUT", True, False),
            ("COPY cc_e TO STDOUT (FORMAT csv, HEADER)", True, False),
            ("COPY cc_e TO STDOUT (FORMAT binary)", True, False),
        ]:
            f.check(sql, same_copy, p, sql, ordered, sql, binary)
    finally:
        p.close()
    f.done()


@test
def copy_query(c):
    p = Pair(c)
    f = Failures()
    try:
        for sql, ordered, binary in [
            ("COPY (SELECT * FROM cc_t ORDER BY id) TO STDOUT", True, False),
            ("COPY (SELECT * FROM cc_t ORDER BY id) TO STDOUT (FORMAT binary)", True, False),
            ("COPY (SELECT id, name FROM cc_t WHERE id = 42) TO STDOUT (FORMAT csv, HEADER)",
             True, False),
            ("COPY (SELECT * FROM cc_t WHERE id IN (3, 4, 5) ORDER BY id DESC) TO STDOUT "
             "(FORMAT binary)", True, False),
            ("COPY (SELECT name, count(*) AS n, sum(v), avg(v), min(d) FROM cc_t GROUP BY name "
             "ORDER BY name NULLS FIRST) TO STDOUT (FORMAT csv, HEADER)", True, False),
            ("COPY (SELECT count(*), max(id) FROM cc_t) TO STDOUT (FORMAT binary)", True, False),
            ("COPY (SELECT t.id, t.name, u.uid, u.amount FROM cc_t t JOIN cc_u u ON u.t_id = t.id "
             "ORDER BY u.uid) TO STDOUT (FORMAT csv, HEADER)", True, False),
            ("COPY (SELECT t.id, r.label FROM cc_t t LEFT JOIN cc_r r ON r.id = t.id "
             "WHERE t.id < 80) TO STDOUT", False, False),
            ("COPY (SELECT id, name FROM cc_t ORDER BY id DESC LIMIT 7 OFFSET 3) TO STDOUT",
             True, False),
            ("COPY (SELECT DISTINCT flag FROM cc_t ORDER BY 1) TO STDOUT (FORMAT csv)", True, False),
            ("COPY (WITH x AS (SELECT t_id, sum(amount) AS s FROM cc_u GROUP BY t_id) "
             "SELECT t.name, x.s FROM x JOIN cc_t t ON t.id = x.t_id ORDER BY x.s DESC, t.id) "
             "TO STDOUT (FORMAT binary)", True, False),
            ("COPY (SELECT id FROM cc_t WHERE id < 20 UNION SELECT uid FROM cc_u "
             "WHERE uid < 25 ORDER BY 1) TO STDOUT", True, False),
            ("COPY (SELECT * FROM cc_e) TO STDOUT (FORMAT csv, HEADER)", True, False),
            ("COPY (SELECT * FROM cc_t WHERE id > 1000) TO STDOUT (FORMAT binary)", True, False),
            ("COPY (SELECT label FROM cc_r WHERE id < 5 ORDER BY id) TO STDOUT", True, False),
            ("COPY (SELECT b FROM cc_t) TO STDOUT (FORMAT binary)", False, True),
        ]:
            f.check(sql, same_copy, p, sql, ordered, sql, binary)
        # the same inside a transaction block, twice (temporary tables reused)
        p2 = Pair(c, autocommit=False)
        try:
            for k in range(2):
                sql = "COPY (SELECT * FROM cc_t ORDER BY id) TO STDOUT (FORMAT csv)"
                f.check("in a block #%d" % k, same_copy, p2, sql, True, sql)
            p2.g.commit()
            p2.r.commit()
        finally:
            p2.close()
    finally:
        p.close()
    f.done()


@test
def copy_errors(c):
    p = Pair(c)
    f = Failures()
    try:
        for sql in [
            "COPY cc_t (nope) TO STDOUT",
            "COPY cc_t (id, id) TO STDOUT",
            "COPY (SELECT nope FROM cc_t) TO STDOUT",
            "COPY (SELECT 1 / (id - id) FROM cc_t) TO STDOUT",
            "COPY cc_t TO STDOUT (FORMAT xml)",
            "COPY cc_t TO STDOUT (FORMAT binary, HEADER)",
            "COPY cc_t TO STDOUT (DELIMITER 'ab')",
            "COPY (SELECT * FROM cc_t t JOIN cc_u u ON u.t_id = t.id WHERE u.amount / 0 = 1) "
            "TO STDOUT",
        ]:
            f.check(sql, same_error, p, sql, sql, True)
        # in a block: the error fails the block in both
        p2 = Pair(c, autocommit=False)
        try:
            def failed_block():
                for conn in (p2.g, p2.r):
                    st = sqlstate_of(lambda: copy_out(conn, "COPY (SELECT nope FROM cc_t) TO STDOUT"))
                    eq(st, "42703", "error in a block")
                    st = sqlstate_of(lambda: copy_out(conn, "COPY cc_t TO STDOUT"))
                    eq(st, "25P02", "next statement in the failed block")
                    conn.rollback()
            f.check("failed block", failed_block)
        finally:
            p2.close()
    finally:
        p.close()
    f.done()
    # a server file of a distributed table is refused by name
    g = c.gw()
    try:
        st = sqlstate_of(lambda: harness.Cluster.execute(g, "COPY cc_t TO '/tmp/cc_t.out'"))
        eq(st, "0A000", "COPY TO a server file")
    finally:
        g.close()


def psql_copy_to(c, port, dbname, cmd, path):
    r = subprocess.run([harness.PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
                        str(port), "-U", "postgres", "-d", dbname, "-c", cmd % path],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "psql %s: %s" % (cmd, r.stderr)
    with open(path, "rb") as fh:
        return fh.read(), r.stdout


@test
def psql_backslash_copy_to(c):
    f = Failures()
    with tempfile.TemporaryDirectory() as d:
        for k, (cmd, ordered) in enumerate([
            ("\\copy cc_t to '%s'", False),
            ("\\copy cc_t (id, name) to '%s' with (format csv, header)", False),
            ("\\copy (SELECT * FROM cc_t ORDER BY id) to '%s' csv header", True),
            ("\\copy (SELECT name, count(*) FROM cc_t GROUP BY 1 ORDER BY 1) to '%s'", True),
            ("\\copy cc_e to '%s' csv header", True),
        ]):
            def one(cmd=cmd, ordered=ordered, k=k):
                gd, gout = psql_copy_to(c, c.port, "postgres", cmd, os.path.join(d, "g%d" % k))
                rd, rout = psql_copy_to(c, c.node_port(1), REFDB, cmd, os.path.join(d, "r%d" % k))
                eq(gout, rout, "psql output (COPY n)")
                if ordered:
                    eq(gd, rd, "file bytes")
                else:
                    gl, rl = gd.split(b"\n"), rd.split(b"\n")
                    if b"header" in cmd.encode():
                        eq(gl[0], rl[0], "header")
                        gl, rl = gl[1:], rl[1:]
                    eq(sorted(gl), sorted(rl), "file lines")
            f.check(cmd, one)
    f.done()


def fetch(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        rows = cur.fetchall() if cur.description is not None else None
        return rows, cur.statusmessage


def same_script(p, script, what):
    """Run the statements on both connections; each answer (rows and tag) equal.
    A statement prefixed with '~' has rows in no particular order."""
    for sql in script:
        unordered = sql.startswith("~")
        sql = sql.lstrip("~")
        (gr, gt), (rr, rt) = p.both(lambda conn: fetch(conn, sql))
        if unordered and gr is not None and rr is not None:
            gr, rr = sorted(gr, key=repr), sorted(rr, key=repr)
        eq(gt, rt, "%s: %s: tag" % (what, sql))
        eq(gr, rr, "%s: %s: rows" % (what, sql))


@test
def cursors_in_a_block(c):
    f = Failures()
    scripts = {
        "forward pages, ordered": [
            "BEGIN",
            "DECLARE c1 CURSOR FOR SELECT * FROM cc_t ORDER BY id",
            "FETCH FORWARD 10 FROM c1",
            "FETCH 5 IN c1",
            "FETCH NEXT FROM c1",
            "MOVE FORWARD 100 IN c1",
            "FETCH 3 FROM c1",
            "FETCH ALL FROM c1",
            "FETCH 1 FROM c1",
            "MOVE 5 IN c1",
            "CLOSE c1",
            "COMMIT",
        ],
        "scroll": [
            "BEGIN",
            "DECLARE c2 SCROLL CURSOR FOR SELECT id, name, v FROM cc_t WHERE id <= 60 ORDER BY v "
            "NULLS LAST, id",
            "FETCH 7 FROM c2",
            "FETCH BACKWARD 3 FROM c2",
            "FETCH PRIOR FROM c2",
            "FETCH FIRST FROM c2",
            "FETCH LAST FROM c2",
            "FETCH ABSOLUTE 20 FROM c2",
            "FETCH RELATIVE -5 FROM c2",
            "MOVE BACKWARD ALL IN c2",
            "FETCH 2 FROM c2",
            "MOVE LAST IN c2",
            "FETCH BACKWARD ALL FROM c2",
            "CLOSE c2",
            "COMMIT",
        ],
        "unordered, aggregates, joins, several cursors": [
            "BEGIN",
            "DECLARE a CURSOR FOR SELECT id, name FROM cc_t",
            "DECLARE b CURSOR FOR SELECT name IS NULL, count(*), sum(v) FROM cc_t GROUP BY 1 "
            "ORDER BY 1",
            "DECLARE j NO SCROLL CURSOR FOR SELECT t.id, u.uid FROM cc_t t JOIN cc_u u "
            "ON u.t_id = t.id ORDER BY u.uid",
            "DECLARE k CURSOR FOR SELECT * FROM cc_t WHERE id = 77",
            "DECLARE e CURSOR FOR SELECT * FROM cc_e",
            "DECLARE rr CURSOR FOR SELECT * FROM cc_r ORDER BY id",
            "FETCH 3 FROM j",
            "FETCH ALL FROM b",
            "FETCH ALL FROM k",
            "FETCH ALL FROM e",
            "FETCH 4 FROM rr",
            "SELECT count(*) FROM cc_t t JOIN cc_u u ON u.t_id = t.id",
            "FETCH 3 FROM j",
            "~FETCH ALL FROM a",
            "CLOSE a",
            "DECLARE a CURSOR FOR SELECT id FROM cc_t ORDER BY id DESC",
            "FETCH 2 FROM a",
            "CLOSE ALL",
            "COMMIT",
        ],
        "binary cursor": [
            "BEGIN",
            # psycopg2 decodes text only: a text column's binary form is its text
            "DECLARE bc BINARY CURSOR FOR SELECT name FROM cc_t WHERE name LIKE 'n%' "
            "ORDER BY id",
            "FETCH 3 FROM bc",
            "CLOSE bc",
            "COMMIT",
        ],
        "rollback drops the cursor": [
            "BEGIN",
            "DECLARE rb CURSOR FOR SELECT id FROM cc_t ORDER BY id",
            "FETCH 2 FROM rb",
            "ROLLBACK",
            "BEGIN",
            "DECLARE rb CURSOR FOR SELECT id FROM cc_t ORDER BY id DESC",
            "FETCH 2 FROM rb",
            "SAVEPOINT s",
            "DECLARE rs CURSOR FOR SELECT id FROM cc_t ORDER BY id",
            "FETCH 1 FROM rs",
            "ROLLBACK TO SAVEPOINT s",
            "FETCH 1 FROM rb",
            "COMMIT",
        ],
    }
    for what, script in scripts.items():
        p = Pair(c)
        try:
            f.check(what, same_script, p, script, what)
        finally:
            p.close()
    f.done()


@test
def cursor_errors(c):
    f = Failures()
    p = Pair(c)
    try:
        # DECLARE outside a block
        def outside(conn):
            return sqlstate_of(lambda: fetch(conn, "DECLARE x CURSOR FOR SELECT * FROM cc_t"))
        f.check("DECLARE outside a block", lambda: eq(*p.both(outside), what="SQLSTATE"))

        def sequence(conn):
            out = []
            for sql in ["BEGIN", "DECLARE y CURSOR FOR SELECT nope FROM cc_t", "ROLLBACK",
                        "BEGIN", "DECLARE y CURSOR FOR SELECT id FROM cc_t ORDER BY id",
                        "DECLARE y CURSOR FOR SELECT id FROM cc_t", "ROLLBACK",
                        "BEGIN", "FETCH 1 FROM nosuch", "ROLLBACK",
                        "BEGIN", "DECLARE z CURSOR FOR SELECT id FROM cc_t ORDER BY id",
                        "FETCH BACKWARD 1 FROM z", "ROLLBACK",
                        "BEGIN", "DECLARE w CURSOR FOR SELECT 1 / (id - id) FROM cc_t",
                        "FETCH 1 FROM w", "ROLLBACK",
                        "SELECT count(*) FROM cc_t"]:
                try:
                    out.append(fetch(conn, sql))
                except psycopg2.Error as e:
                    out.append(e.pgcode)
            return out
        f.check("error sequence", lambda: eq(*p.both(sequence), what="answers"))
    finally:
        p.close()
    f.done()


@test
def cursor_with_hold(c):
    f = Failures()
    scripts = {
        "autocommit": [
            "DECLARE h1 CURSOR WITH HOLD FOR SELECT id, name FROM cc_t ORDER BY id",
            "FETCH 4 FROM h1",
            "SELECT count(*) FROM cc_t",
            "FETCH 4 FROM h1",
            "MOVE 200 IN h1",
            "FETCH ALL FROM h1",
            "CLOSE h1",
        ],
        "declared in a block, read after COMMIT": [
            "BEGIN",
            "DECLARE h2 SCROLL CURSOR WITH HOLD FOR SELECT t.id, u.amount FROM cc_t t "
            "JOIN cc_u u ON u.t_id = t.id ORDER BY u.uid",
            "FETCH 2 FROM h2",
            "COMMIT",
            "FETCH 2 FROM h2",
            "FETCH BACKWARD 3 FROM h2",
            "FETCH LAST FROM h2",
            "CLOSE h2",
        ],
        "rolled back": [
            "BEGIN",
            "DECLARE h3 CURSOR WITH HOLD FOR SELECT id FROM cc_t ORDER BY id",
            "ROLLBACK",
        ],
        "aggregate": [
            "DECLARE h4 CURSOR WITH HOLD FOR SELECT count(*), min(id) FROM cc_t",
            "FETCH ALL FROM h4",
            "CLOSE h4",
        ],
    }
    for what, script in scripts.items():
        p = Pair(c)
        try:
            f.check(what, same_script, p, script, what)
        finally:
            p.close()
    p = Pair(c)
    try:
        f.check("rolled back: gone", lambda: eq(
            *p.both(lambda conn: sqlstate_of(lambda: fetch(conn, "FETCH 1 FROM h3"))),
            what="SQLSTATE"))
    finally:
        p.close()
    f.done()


@test
def with_hold_stays_with_its_session(c):
    """A WITH HOLD cursor outlives its transaction on the session's own backend:
    another session (which may get any pooled connection) cannot see it, and
    the owner finds it again whatever ran in between, as on one PostgreSQL"""
    f = Failures()
    a, b = c.gw(), c.gw()
    try:
        ca, cb = a.cursor(), b.cursor()
        ca.execute("DECLARE hp CURSOR WITH HOLD FOR SELECT id FROM cc_t ORDER BY id")
        cl = None
        for k in range(5):
            f.check("other session #%d" % k, lambda: eq(
                sqlstate_of(lambda: cb.execute("FETCH 1 FROM hp")), "34000", "SQLSTATE"))
            cb.execute("SELECT count(*) FROM cc_t t JOIN cc_u u ON u.t_id = t.id")
            ca.execute("SELECT count(*) FROM cc_t t JOIN cc_u u ON u.t_id = t.id")
            ca.execute("BEGIN")
            ca.execute("FETCH 1 FROM hp")
            cl = ca.fetchall()
            ca.execute("COMMIT")
            f.eq(cl, [(k + 1,)], "owner's FETCH #%d" % k)
        ca.execute("CLOSE hp")
        ca.execute("DECLARE hq CURSOR WITH HOLD FOR SELECT id FROM cc_t")
        a.close()
        # the owner's backend is closed with its session, not handed to another
        for k in range(3):
            f.check("after the owner left #%d" % k, lambda: eq(
                sqlstate_of(lambda: cb.execute("FETCH 1 FROM hq")), "34000", "SQLSTATE"))
    finally:
        a.close()
        b.close()
    f.done()


@test
def client_cursors(c):
    """psycopg2 named cursors: plain, scrollable, WITH HOLD"""
    f = Failures()

    def named(conn, **kw):
        cur = conn.cursor("cc_named", **kw)
        cur.itersize = 17
        cur.execute("SELECT id, name FROM cc_t WHERE id > %s ORDER BY id", (5,))
        first = cur.fetchmany(3)
        if kw.get("scrollable"):
            cur.scroll(0, mode="absolute")
        rest = list(cur)
        cur.close()
        if not conn.autocommit:
            conn.commit()
        return first, rest

    for kw, autocommit in [({}, False), ({"scrollable": True}, False),
                           ({"withhold": True}, True), ({"withhold": True}, False)]:
        p = Pair(c, autocommit=autocommit)
        try:
            f.check("%r autocommit=%s" % (kw, autocommit),
                    lambda: eq(*p.both(lambda conn: named(conn, **kw)), what="rows"))
        finally:
            p.close()
    f.done()


@test
def client_cursors_psycopg3(c):
    """psycopg 3 server-side cursors: DECLARE with $n parameters (extended
    protocol), Describe of the cursor's portal, binary FETCH, scroll"""
    try:
        import psycopg
    except ImportError:
        raise harness.Skip("psycopg 3 is not installed")
    f = Failures()

    def run(port, dbname, binary, scrollable):
        conn = psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname=dbname,
                               autocommit=False)
        try:
            with conn.cursor(name="cc_pg3", binary=binary, scrollable=scrollable) as cur:
                cur.itersize = 13
                cur.execute("SELECT id, name, v, d, b, flag FROM cc_t WHERE id > %s AND id < %s "
                            "ORDER BY id", (10, 200))
                desc = [(d.name, d.type_code) for d in cur.description]
                first = cur.fetchmany(4)
                if scrollable:
                    cur.scroll(-2)
                rest = cur.fetchall()
            conn.rollback()
            return desc, first, rest
        finally:
            conn.close()

    for binary, scrollable in [(False, False), (True, True)]:
        f.check("binary=%s scrollable=%s" % (binary, scrollable), lambda: eq(
            run(c.port, "postgres", binary, scrollable),
            run(c.node_port(1), REFDB, binary, scrollable), "description and rows"))
    f.done()


@test
def cleanup(c):
    g = c.gw()
    try:
        for t in ("cc_t", "cc_u", "cc_r", "cc_e"):
            harness.Cluster.execute(g, "DROP TABLE IF EXISTS %s" % t)
    finally:
        g.close()
    n1 = c.node(1)
    try:
        # no temporary table of a cursor or a COPY is left on node 1
        left = harness.Cluster.scalar(
            n1, "SELECT count(*) FROM pg_class WHERE relname LIKE 'sg\\_tmp\\_%' "
            "AND relpersistence = 't'")
        eq(left, 0, "temporary tables left on node 1")
        harness.Cluster.execute(n1, "DROP DATABASE IF EXISTS %s" % REFDB)
    finally:
        n1.close()


if __name__ == "__main__":
    harness.main()
