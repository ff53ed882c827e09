"""Plans reused without parsing (issue 6): the simple-protocol plan cache and
prepared-statement routing give the same answers as planning every time.

Every statement runs twice, against a distributed table and against a local
copy of the same rows (planned the normal way, on one node), with the
constants varying so that cached shapes are reused for other shards; the
counters of SELECT shardgate_plan_cache() must show the reuse. Then the
things that must invalidate a cached plan: search_path, distributing a
table the cache knew as local, DDL between Describes of a prepared
statement."""

import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test  # noqa: E402

import psycopg  # noqa: E402


def counters(cur):
    cur.execute("SELECT shardgate_plan_cache()")
    names = [d[0] for d in cur.description]
    return dict(zip(names, cur.fetchone()))


def load(cur, name, distribute):
    cur.execute("DROP TABLE IF EXISTS %s" % name)
    cur.execute("CREATE TABLE %s (aid int PRIMARY KEY, abalance int, filler text)" % name)
    if distribute:
        cur.execute("SELECT create_distributed_table('%s', 'aid')" % name)
    vals = ",".join("(%d, %d, 'f%d')" % (i, i % 7, i) for i in range(1, 501))
    cur.execute("INSERT INTO %s VALUES %s" % (name, vals))


SHAPES = [
    "select abalance, filler from {t} where aid = {k}",
    "update {t} set abalance = abalance + {d} where aid = {k}",
    "SELECT * FROM {t} WHERE aid = '{k}' AND abalance > {d}",
    "select count(*) from {t} where abalance = {m} and aid = {k}",
    "insert into {t} (aid, abalance, filler) values ({k2}, {d}, 'n''{k}') "
    "on conflict (aid) do update set abalance = excluded.abalance returning *",
    "delete from {t} where aid = {k2} returning aid, filler",
    "select aid from {t} where aid = {k} or aid = {k2}",  # not cacheable: two shards
    "/* comment */ SELECT   abalance FROM {t}\n WHERE aid = {k} ;",
]


@test
def simple_protocol_same_answers(c):
    g = c.gw()
    cur = g.cursor()
    load(cur, "pc_dist", True)
    load(cur, "pc_local", False)
    before = counters(cur)
    rnd = random.Random(7)
    differing = []
    for _ in range(300):
        k = rnd.randint(-3, 560)
        d = rnd.randint(-40, 40)
        vals = dict(k=k, k2=k + 1000, d=d, m=d % 7)
        for shape in SHAPES:
            res = []
            for t in ("pc_dist", "pc_local"):
                cur.execute(shape.format(t=t, **vals))
                rows = cur.fetchall() if cur.description else None
                res.append((cur.statusmessage, sorted(rows) if rows else rows))
            if res[0] != res[1]:
                differing.append((shape.format(t="?", **vals), res))
    eq(differing[:3], [], "statements answering differently")
    after = counters(cur)
    hits = after["hits"] - before["hits"]
    # 300 rounds x 8 shapes x 2 tables; the OR shape and negative constants plan normally
    assert hits > 3000, "only %d plan cache hits: %r -> %r" % (hits, before, after)
    cur.execute("SELECT sum(abalance), count(*) FROM pc_dist")
    a = cur.fetchall()
    cur.execute("SELECT sum(abalance), count(*) FROM pc_local")
    eq(a, cur.fetchall(), "tables after the writes")
    cur.execute("DROP TABLE pc_dist, pc_local")


@test
def search_path_and_catalog_changes(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("DROP SCHEMA IF EXISTS pc_app CASCADE")
    cur.execute("CREATE SCHEMA pc_app")
    for schema, v in (("public", "pub"), ("pc_app", "app")):
        cur.execute("CREATE TABLE %s.pc_t (id int PRIMARY KEY, v text)" % schema)
        cur.execute("SELECT create_distributed_table('%s.pc_t', 'id')" % schema)
        cur.execute("INSERT INTO %s.pc_t VALUES (1, '%s'), (2, '%s')" % (schema, v, v))
    q = "SELECT v FROM pc_t WHERE id = %d"
    for _ in range(3):
        cur.execute(q % 1)
        eq(cur.fetchall(), [("pub",)], "public.pc_t")
    cur.execute("SET search_path = pc_app, public")
    for k in (1, 2, 1):
        cur.execute(q % k)
        eq(cur.fetchall(), [("app",)], "pc_app.pc_t through search_path")
    cur.execute("RESET search_path")
    cur.execute(q % 2)
    eq(cur.fetchall(), [("pub",)], "public.pc_t again")

    # a shape learnt while the table was local must not survive its distribution
    cur.execute("CREATE TABLE pc_later (id int PRIMARY KEY, v int)")
    cur.execute("INSERT INTO pc_later SELECT g, g * 10 FROM generate_series(1, 50) g")
    for k in (3, 4, 5):
        cur.execute("SELECT v FROM pc_later WHERE id = %d" % k)
        eq(cur.fetchall(), [(k * 10,)], "local table")
    cur.execute("SELECT create_distributed_table('pc_later', 'id')")
    for k in range(1, 51):
        cur.execute("SELECT v FROM pc_later WHERE id = %d" % k)
        eq(cur.fetchall(), [(k * 10,)], "distributed table, id %d" % k)
    shells = c.rows(c.node(1), "SELECT count(*) FROM pc_later")
    eq(shells, [(0,)], "rows moved out of the shell")
    cur.execute("DROP TABLE pc_later, pc_t, pc_app.pc_t")
    cur.execute("DROP SCHEMA pc_app CASCADE")


@test
def prepared_routing_same_answers(c):
    g = c.gw()
    cur = g.cursor()
    load(cur, "pc_pdist", True)
    load(cur, "pc_plocal", False)
    conn = psycopg.connect(host="127.0.0.1", port=c.port, user="postgres", dbname="postgres",
                           autocommit=True)
    rnd = random.Random(11)
    differing = []
    stmts = [
        "SELECT abalance, filler FROM {t} WHERE aid = %s",
        "UPDATE {t} SET abalance = abalance + %s WHERE aid = %s",
        "INSERT INTO {t} (aid, abalance, filler) VALUES (%s, %s, 'p') "
        "ON CONFLICT (aid) DO UPDATE SET abalance = {t}.abalance + 1 RETURNING abalance",
    ]
    for i in range(400):
        k = rnd.randint(1, 520)
        d = rnd.randint(-9, 9)
        args = [(k,), (d, k), (k + 600, d)]
        for s, a in zip(stmts, args):
            res = []
            for t in ("pc_pdist", "pc_plocal"):
                pc = conn.cursor()
                pc.execute(s.format(t=t), a, prepare=True)
                res.append((pc.statusmessage, pc.fetchall() if pc.description else None))
            if res[0] != res[1]:
                differing.append((s, a, res))
    eq(differing[:3], [], "prepared statements answering differently")
    # binary parameters and results
    for k in (1, 2, 3, 250, 499):
        pc = conn.cursor(binary=True)
        pc.execute("SELECT aid, filler FROM pc_pdist WHERE aid = %b", (k,), prepare=True)
        eq(pc.fetchall(), [(k, "f%d" % k)], "binary, aid %d" % k)
    # a column added between executions: the result reflects it (Describe is not stale)
    pc = conn.cursor()
    pc.execute("SELECT * FROM pc_pdist WHERE aid = %s", (5,), prepare=True)
    eq(len(pc.description), 3, "columns before")
    cur.execute("ALTER TABLE pc_pdist ADD COLUMN extra int DEFAULT 42")
    conn2 = psycopg.connect(host="127.0.0.1", port=c.port, user="postgres", dbname="postgres",
                            autocommit=True)
    pc2 = conn2.cursor()
    for k in (5, 6, 7):
        pc2.execute("SELECT * FROM pc_pdist WHERE aid = %s", (k,), prepare=True)
        eq([d.name for d in pc2.description], ["aid", "abalance", "filler", "extra"],
           "columns after ALTER")
        eq(pc2.fetchall()[0][3], 42, "new column's value")
    conn.close()
    conn2.close()
    cur.execute("DROP TABLE pc_pdist, pc_plocal")


@test
def sql_level_prepare_execute(c):
    """PREPARE / EXECUTE / DEALLOCATE are kept by the gateway's session: they work on
    distributed tables and with transaction pooling (each EXECUTE may use another
    backend connection), with PostgreSQL's errors."""
    g = c.gw()
    cur = g.cursor()
    load(cur, "pc_sdist", True)
    cur.execute("CREATE TEMP TABLE IF NOT EXISTS pc_dummy (x int)")  # any backend
    cur.execute("PREPARE pc_get (int) AS SELECT filler FROM pc_sdist WHERE aid = $1")
    cur.execute("PREPARE pc_upd AS UPDATE pc_sdist SET abalance = $2 WHERE aid = $1")
    cur.execute("PREPARE pc_local (int) AS SELECT $1 * 2")
    for k in (1, 77, 250, 499):
        cur.execute("EXECUTE pc_get (%d)" % k)
        eq(cur.fetchall(), [("f%d" % k,)], "EXECUTE pc_get(%d)" % k)
        cur.execute("EXECUTE pc_upd (%d, -%d)" % (k, k))
        eq(cur.statusmessage, "UPDATE 1", "EXECUTE pc_upd")
        cur.execute("EXECUTE pc_local (%d)" % k)
        eq(cur.fetchall(), [(2 * k,)], "local prepared statement")
    cur.execute("SELECT sum(abalance) FROM pc_sdist WHERE aid IN (1, 77, 250, 499)")
    eq(cur.fetchone()[0], -(1 + 77 + 250 + 499), "updates")
    for sql, state in (("EXECUTE pc_get (1, 2)", "42601"), ("PREPARE pc_get AS SELECT 1", "42P05"),
                       ("EXECUTE nosuch (1)", "26000"), ("DEALLOCATE nosuch", "26000")):
        try:
            cur.execute(sql)
            raise AssertionError("%s accepted" % sql)
        except psycopg2_errors() as e:
            eq(e.pgcode, state, sql)
    cur.execute("DEALLOCATE pc_get")
    cur.execute("DEALLOCATE ALL")
    try:
        cur.execute("EXECUTE pc_upd (1, 1)")
        raise AssertionError("EXECUTE after DEALLOCATE ALL accepted")
    except psycopg2_errors() as e:
        eq(e.pgcode, "26000", "after DEALLOCATE ALL")
    cur.execute("DROP TABLE pc_sdist")


def psycopg2_errors():
    import psycopg2
    return psycopg2.Error


if __name__ == "__main__":
    harness.main(nodes=3)
