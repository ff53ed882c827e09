"""Joins that are not co-located, planned from the nodes' statistics (and window
functions partitioned by the distribution column, which run per shard).

When a distributed table is joined to a much smaller one (row estimates
read from every node), the gateway fetches the small side's join keys
first and sends them to the big side's fragments (`= ANY (keys)`), so the
big side's nodes send only rows that can find a partner (a semi-join
reduction; planner/semijoin.c). Every answer is compared with plain
PostgreSQL holding the same data (plain tables on node 1, schema sjref).

The gateway runs with stats_interval_ms = 300 (estimates follow ANALYZE
quickly), semijoin_max_keys = 100 (so a key set can overflow) and
join_broadcast_min_rows = join_repartition_min_rows = 1000 (the test's big
table has 20000 rows).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test, wait_until  # noqa: E402

TEXT_KEYS = ['a"b', "c\\d", "e,f", "{g}", "NULL", " h ", "i'j", "", "k l"]

DDL = [
    "CREATE TABLE {s}sj_big (id int PRIMARY KEY, k int, t text, v int)",
    "CREATE TABLE {s}sj_small (id int PRIMARY KEY, x int, t text, tag text)",
    "CREATE TABLE {s}sj_mid (id int PRIMARY KEY, y int)",
]


def load(cur, schema):
    for d in DDL:
        cur.execute(d.format(s=schema))
    big = []
    for i in range(1, 20001):
        big.append((i, i % 2000, TEXT_KEYS[i % len(TEXT_KEYS)] if i % 7 else None, i % 97))
    args = ",".join(cur.mogrify("(%s,%s,%s,%s)", r).decode() for r in big)
    cur.execute("INSERT INTO %ssj_big VALUES %s" % (schema, args))
    small = []
    for i in range(1, 61):
        small.append((i, i * 13 if i % 10 else None, TEXT_KEYS[i % len(TEXT_KEYS)],
                      "tag%d" % (i % 4)))
    args = ",".join(cur.mogrify("(%s,%s,%s,%s)", r).decode() for r in small)
    cur.execute("INSERT INTO %ssj_small VALUES %s" % (schema, args))
    cur.execute("INSERT INTO %ssj_mid SELECT g, g * 3 FROM generate_series(1, 40) g" % schema)


QUERIES = [
    # int keys, filter on the small side, an aggregate that does not combine across shards:
    # semi-join reduction of the big side
    "SELECT count(DISTINCT b.v), sum(b.v) FROM sj_big b JOIN sj_small s ON b.k = s.x "
    "WHERE s.tag <> 'tag1'",
    # the same with aggregates that combine: broadcast join, partial aggregates per shard
    "SELECT count(*), sum(b.v) FROM sj_big b JOIN sj_small s ON b.k = s.x WHERE s.tag <> 'tag1'",
    # the same written in WHERE, grouped and ordered
    "SELECT s.tag, count(*), min(b.id) FROM sj_big b, sj_small s WHERE b.k = s.x "
    "GROUP BY s.tag ORDER BY s.tag",
    # text keys with quotes, backslashes, commas, braces, the word NULL, spaces, empty
    "SELECT b.t, count(*) FROM sj_big b JOIN sj_small s ON s.t = b.t GROUP BY b.t ORDER BY b.t",
    # no key passes the small side's filter: nothing can match
    "SELECT count(*) FROM sj_big b JOIN sj_small s ON b.k = s.x WHERE s.tag = 'none'",
    # a preserved side of an outer join is never reduced
    "SELECT count(*), count(s.id) FROM sj_big b LEFT JOIN sj_small s ON b.k = s.x",
    "SELECT count(*) FROM sj_small s RIGHT JOIN sj_big b ON b.k = s.x WHERE b.v < 5",
    # three relations: big reduced by its smallest partner, rows listed in order
    "SELECT b.id, s.id, m.id FROM sj_big b JOIN sj_small s ON b.k = s.x "
    "JOIN sj_mid m ON m.y = b.k WHERE b.v < 50 ORDER BY 1, 2, 3",
    # inside a subquery level
    "SELECT count(*) FROM sj_mid m WHERE EXISTS (SELECT 1 FROM sj_big b JOIN sj_small s "
    "ON b.k = s.x WHERE b.v = m.id)",
    # an OR keeps the equality from filtering: no reduction may apply
    "SELECT count(*) FROM sj_big b JOIN sj_small s ON b.k = s.x OR b.v = s.id",
    # broadcast joins (no aggregate across shards), inner and outer
    "SELECT b.id, s.tag, b.t FROM sj_big b JOIN sj_small s ON b.k = s.x WHERE b.v < 20",
    "SELECT b.id, s.id FROM sj_big b LEFT JOIN sj_small s ON b.k = s.x WHERE b.id % 50 = 1",
    "SELECT b.id, s.id FROM sj_big b JOIN sj_small s ON s.t = b.t AND b.k = s.x",
    # DISTINCT and LIMIT over the reduced join
    "SELECT DISTINCT b.k FROM sj_big b JOIN sj_small s ON b.k = s.x ORDER BY b.k DESC LIMIT 5",
]


def ref_rows(c, sql):
    n = c.node(1)
    cur = n.cursor()
    cur.execute("SET search_path = sjref")
    cur.execute(sql)
    rows = cur.fetchall()
    n.close()
    return rows


def gw_rows(c, sql):
    g = c.gw()
    rows = c.rows(g, sql)
    g.close()
    return rows


def explain(c, sql):
    return "\n".join(r[0] for r in gw_rows(c, "EXPLAIN " + sql))


@test
def setup(c):
    n = c.node(1)
    cur = n.cursor()
    cur.execute("DROP SCHEMA IF EXISTS sjref CASCADE")
    cur.execute("CREATE SCHEMA sjref")
    load(cur, "sjref.")
    n.close()
    g = c.gw()
    cur = g.cursor()
    for t in ("sj_big", "sj_small", "sj_mid"):
        cur.execute("DROP TABLE IF EXISTS %s" % t)
    for d in DDL:
        cur.execute(d.format(s=""))
    cur.execute("SELECT create_distributed_table('sj_big', 'id')")
    cur.execute("SELECT create_distributed_table('sj_small', 'id', colocate_with => 'none')")
    cur.execute("SELECT create_distributed_table('sj_mid', 'id', shard_count => 4, "
                "colocate_with => 'none')")
    # data through the gateway, then statistics on every shard
    big = [r for r in ref_rows(c, "SELECT * FROM sj_big ORDER BY id")]
    args = ",".join(cur.mogrify("(%s,%s,%s,%s)", r).decode() for r in big)
    cur.execute("INSERT INTO sj_big VALUES " + args)
    small = ref_rows(c, "SELECT * FROM sj_small ORDER BY id")
    args = ",".join(cur.mogrify("(%s,%s,%s,%s)", r).decode() for r in small)
    cur.execute("INSERT INTO sj_small VALUES " + args)
    cur.execute("INSERT INTO sj_mid VALUES " + ",".join("(%d,%d)" % (i, i * 3) for i in range(1, 41)))
    cur.execute("ANALYZE sj_big")
    cur.execute("ANALYZE sj_small")
    cur.execute("ANALYZE sj_mid")
    g.close()
    wait_until(lambda: "(est. 60 rows) sent to the fragments of b (est. 20000 rows)"
               in explain(c, QUERIES[0]), timeout=30,
               what="the estimates reach the planner")


@test
def explain_shows_the_reduction(c):
    text = explain(c, QUERIES[0])
    assert "Semi-join: keys of s.x (est. 60 rows) sent to the fragments of b (est. 20000 rows)" \
        in text, text
    assert "WITH sg_inline_sg_keys AS MATERIALIZED (SELECT * FROM unnest(" in text, text
    assert "b.k IN (SELECT sg_key FROM sg_inline_sg_keys sg_keys)" in text, text
    # the small side is pulled as before, filtered by its own condition
    assert "s.tag <> 'tag1'" in text, text
    # an outer join's preserved side: no reduction
    text = explain(c, QUERIES[5])
    assert "Semi-join" not in text, text
    text = explain(c, QUERIES[9])
    assert "Semi-join" not in text, text
    # aggregates that combine over a broadcast join: joined and aggregated per shard
    for q in (QUERIES[1], QUERIES[2]):
        text = explain(c, q)
        assert "join and partial aggregates per shard" in text, text
        assert "unnest('{<rows of sj_small>}'::public.sj_small[]) s" in text, text
    # no aggregate across shards: the small side's rows go to the big side's nodes, which
    # join per shard (a broadcast join)
    text = explain(c, "SELECT b.id, s.tag FROM sj_big b JOIN sj_small s ON b.k = s.x")
    assert "fan-out to 3 node(s)" in text, text
    # the rows once per node (a WITH query), joined in every shard's branch
    assert "WITH sg_inline_s AS MATERIALIZED (SELECT * FROM unnest('{<rows of sj_small>}'" \
        "::public.sj_small[]) s)" in text, text
    assert "JOIN sg_inline_s s ON b.k = s.x" in text, text


@test
def answers_match_postgresql(c):
    for q in QUERIES:
        got = gw_rows(c, q)
        want = ref_rows(c, q)
        if "ORDER BY" not in q:
            got, want = sorted(got, key=repr), sorted(want, key=repr)
        eq(got, want, q)


@test
def own_uncommitted_rows_are_keys(c):
    # the key set is read inside the transaction: the session's own new row counts
    g = c.gw(autocommit=False)
    cur = g.cursor()
    cur.execute("INSERT INTO sj_small VALUES (1000, 1999, 'zz', 'tagx')")
    cur.execute("SELECT count(*) FROM sj_big b JOIN sj_small s ON b.k = s.x "
                "WHERE s.tag = 'tagx'")
    eq(cur.fetchone()[0], 10, "rows matching the uncommitted key")
    g.rollback()
    cur.execute("SELECT count(*) FROM sj_big b JOIN sj_small s ON b.k = s.x "
                "WHERE s.tag = 'tagx'")
    eq(cur.fetchone()[0], 0, "after rollback")
    g.rollback()
    g.close()


@test
def key_set_too_large_falls_back(c):
    # estimates say 40 rows; 400 more arrive before the statistics are read again: the key
    # set overflows semijoin_max_keys (100) and the big side is pulled whole
    g = c.gw()
    cur = g.cursor()
    cur.execute("INSERT INTO sj_mid VALUES " + ",".join("(%d,%d)" % (i, i) for i in range(1000, 1400)))
    q = "SELECT count(*), sum(b.v) FROM sj_big b JOIN sj_mid m ON m.y = b.k"
    cur.execute(q)
    got = cur.fetchall()
    n = c.node(1)
    ncur = n.cursor()
    ncur.execute("INSERT INTO sjref.sj_mid SELECT g, g FROM generate_series(1000, 1399) g")
    n.close()
    eq(got, ref_rows(c, q), q)
    cur.execute("DELETE FROM sj_mid WHERE id >= 1000")
    n = c.node(1)
    n.cursor().execute("DELETE FROM sjref.sj_mid WHERE id >= 1000")
    n.close()
    g.close()


WRITES = [
    "UPDATE sj_big b SET v = s.id + 1000 FROM sj_small s WHERE b.k = s.x AND s.tag = 'tag2'",
    "UPDATE sj_big SET t = 'moved' WHERE k IN (SELECT x FROM sj_small WHERE id < 20) AND v < 30",
    "DELETE FROM sj_big b USING sj_small s WHERE b.k = s.x AND s.t = 'e,f'",
    "DELETE FROM sj_big WHERE v > (SELECT count(*) FROM sj_small WHERE tag = 'tag3') + 80",
    "UPDATE sj_big b SET v = -1 WHERE NOT EXISTS (SELECT 1 FROM sj_mid m WHERE m.y = b.k) "
    "AND b.id % 100 = 0",
    "DELETE FROM sj_big WHERE id = 39 AND k IN (SELECT x FROM sj_small)",
]


@test
def updates_and_deletes_reading_other_tables(c):
    # UPDATE / DELETE reading a table that is not co-located: its rows are read first and
    # sent with the statement to every node of the target (a broadcast)
    g = c.gw()
    n = c.node(1)
    ncur = n.cursor()
    ncur.execute("SET search_path = sjref")
    cur = g.cursor()
    for q in WRITES:
        cur.execute(q)
        ncur.execute(q)
        eq(cur.rowcount, ncur.rowcount, "row count of " + q)
        check = "SELECT id, k, t, v FROM sj_big ORDER BY id"
        eq(c.rows(g, check), c.rows(n, check), "table after " + q)
    # inside a block: rolled back with the block
    g.autocommit = False
    cur.execute("DELETE FROM sj_big b USING sj_small s WHERE b.k = s.x")
    assert cur.rowcount > 0
    g.rollback()
    g.autocommit = True
    eq(c.rows(g, "SELECT count(*) FROM sj_big"), c.rows(n, "SELECT count(*) FROM sj_big"),
       "rolled back")
    # more rows than semijoin_max_keys (100): refused, nothing changed
    try:
        cur.execute("UPDATE sj_small s SET tag = 'x' FROM sj_big b WHERE b.k = s.x")
        raise AssertionError("reading 20000 rows of sj_big was not refused")
    except Exception as e:  # noqa: BLE001
        eq(getattr(e, "pgcode", None), "0A000", str(e))
    eq(c.rows(g, "SELECT count(*) FROM sj_small WHERE tag = 'x'"), [(0,)], "nothing changed")
    # a float column's text form depends on extra_float_digits: such rows are not inlined
    c.execute(g, "CREATE TABLE sj_flt (id int PRIMARY KEY, f float8)")
    c.execute(g, "SELECT create_distributed_table('sj_flt', 'id', colocate_with => 'none')")
    try:
        c.execute(g, "INSERT INTO sj_flt VALUES (1, 0.1), (2, 1e-7)")
        harness.expect_sqlstate(
            lambda: c.execute(g, "DELETE FROM sj_big b USING sj_flt f WHERE b.v = f.id"), "0A000")
    finally:
        c.execute(g, "DROP TABLE sj_flt")
    n.close()
    g.close()


@test
def two_phase_commit_after_a_multi_stage_read(c):
    # a transaction writing on several nodes that also ran a multi-stage read (temporary
    # tables on the merge node) must commit: PostgreSQL cannot PREPARE a transaction that
    # used temporary tables, so that node decides
    g = c.gw(autocommit=False)
    cur = g.cursor()
    ids = list(range(50001, 50041))
    for i in ids:
        cur.execute("INSERT INTO sj_big VALUES (%s, 1, 'x', 1)", (i,))
        if i == ids[3]:
            cur.execute("SELECT count(*) FROM sj_big b JOIN sj_small s ON b.k = s.x")
    g.commit()
    cur.execute("SELECT count(*) FROM sj_big WHERE id > 50000")
    eq(cur.fetchone()[0], len(ids), "rows committed")
    cur.execute("DELETE FROM sj_big WHERE id > 50000")
    g.commit()
    g.close()


WINDOW_QUERIES = [
    "SELECT k, v, row_number() OVER (PARTITION BY k ORDER BY v DESC), "
    "sum(v) OVER (PARTITION BY k) FROM {t}",
    "SELECT k, s, rank() OVER w, count(*) OVER (w ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) "
    "FROM {t} WINDOW w AS (PARTITION BY s, k ORDER BY v, s)",
    "SELECT * FROM (SELECT k, v, lag(v) OVER (PARTITION BY k ORDER BY v) AS p FROM {t}) x "
    "WHERE p IS NULL",
    # not by the distribution column: computed over the merged rows
    "SELECT k, v, rank() OVER (PARTITION BY s ORDER BY v, k) FROM {t}",
]


@test
def windows_partitioned_by_the_distribution_column(c):
    # a window partitioned by the distribution column runs per shard (each partition lives
    # in one shard); answers compared with plain PostgreSQL
    rows = [(i % 50, i, "x%d" % (i % 7)) for i in range(1, 2001)] + [(1, 1, "a"), (1, 1, "b")]
    values = ",".join("(%d,%d,'%s')" % r for r in rows)
    g, n = c.gw(), c.node(1)
    c.execute(g, "CREATE TABLE sj_win (k int, v int, s text)")
    c.execute(g, "SELECT create_distributed_table('sj_win', 'k')")
    c.execute(g, "INSERT INTO sj_win VALUES " + values)
    c.execute(n, "CREATE TABLE sjref.sj_win (k int, v int, s text)")
    c.execute(n, "INSERT INTO sjref.sj_win VALUES " + values)
    try:
        for i, q in enumerate(WINDOW_QUERIES):
            plan = explain(c, q.format(t="sj_win"))
            if i < 3:
                assert "fan-out" in plan, plan
            else:
                assert "multi-stage" in plan, plan
            got = sorted(gw_rows(c, q.format(t="sj_win")), key=repr)
            want = sorted(c.rows(n, q.format(t="sjref.sj_win")), key=repr)
            eq(got, want, q)
    finally:
        c.execute(g, "DROP TABLE sj_win")
        g.close()
        n.close()


JOINAGG_QUERIES = [
    "SELECT b.t, s.tag, count(*), sum(b.v), avg(s.x), min(b.id), max(s.t) FROM sj_big b "
    "JOIN sj_co s ON s.id = b.id GROUP BY b.t, s.tag ORDER BY 1, 2",
    "SELECT s.tag, sum(b.v * 2) AS total FROM sj_big b, sj_co s WHERE s.id = b.id AND b.k < 900 "
    "GROUP BY s.tag HAVING count(*) > 10 ORDER BY total DESC LIMIT 2",
    "SELECT count(*), sum(b.v), bool_and(b.v > 0) FROM sj_big b JOIN sj_co s USING (id) "
    "WHERE s.tag = 'none'",
    "SELECT upper(s.tag) AS u, b.v % 3 AS m, count(*) FROM sj_big b JOIN sj_co s ON s.id = b.id "
    "GROUP BY s.tag, b.v ORDER BY u, m, 3 LIMIT 7",
    "SELECT s.tag, count(*) FROM sj_big b LEFT JOIN sj_co s ON s.id = b.id GROUP BY s.tag "
    "ORDER BY s.tag NULLS FIRST",
    # subqueries in WHERE run per shard: correlated on the distribution column, or over no
    # distributed table
    "SELECT s.tag, count(*) FROM sj_big b JOIN sj_co s ON s.id = b.id WHERE EXISTS "
    "(SELECT 1 FROM sj_co s2 WHERE s2.id = b.id AND s2.x > 3) AND b.v < (SELECT 50) "
    "GROUP BY s.tag ORDER BY 1",
]


@test
def aggregates_over_a_colocated_join(c):
    # joined per shard, partial aggregates combined on the merge node; compared with plain
    # PostgreSQL
    g, n = c.gw(), c.node(1)
    rows = [(i, "tag%d" % (i % 5) if i % 11 else None, i % 13, "s%d" % (i % 3))
            for i in range(1, 20001, 2)]
    values = ",".join("(%d,%s,%d,'%s')" % (r[0], "'%s'" % r[1] if r[1] else "NULL", r[2], r[3])
                      for r in rows)
    ddl = "CREATE TABLE %ssj_co (id int PRIMARY KEY, tag text, x int, t text)"
    c.execute(g, ddl % "")
    c.execute(g, "SELECT create_distributed_table('sj_co', 'id', colocate_with => 'sj_big')")
    c.execute(g, "INSERT INTO sj_co VALUES " + values)
    c.execute(n, ddl % "sjref.")
    c.execute(n, "INSERT INTO sjref.sj_co VALUES " + values)
    try:
        for q in JOINAGG_QUERIES:
            plan = explain(c, q)
            assert "join and partial aggregates per shard" in plan, plan
            got = gw_rows(c, q)
            want = ref_rows(c, q)
            if "ORDER BY" not in q:
                got, want = sorted(got, key=repr), sorted(want, key=repr)
            eq(got, want, q)
    finally:
        c.execute(g, "DROP TABLE sj_co")
        g.close()
        n.close()


REPARTITION_QUERIES = [
    "SELECT b.id, r.id, r.w FROM sj_big b JOIN sj_rb r ON b.k = r.k WHERE b.id < 3000",
    "SELECT r.w, count(*), sum(b.v), min(b.t), max(r.id) FROM sj_big b, sj_rb r "
    "WHERE b.k = r.k GROUP BY r.w ORDER BY 1",
    "SELECT count(*) FROM sj_big b JOIN sj_rb r ON r.k = b.k AND r.w = 3",
    "SELECT b.t, r.w FROM sj_big b JOIN sj_rb r ON b.k = r.k WHERE r.id BETWEEN 100 AND 130 "
    "ORDER BY 1 NULLS FIRST, 2",
]


@test
def repartition_of_two_large_tables(c):
    # neither side is small enough to broadcast: both are hashed on the join key to every
    # node, which joins its part; compared with plain PostgreSQL, and inside a transaction
    # block (where the plan pulls both sides to one node instead)
    rows = [(i, i % 3000, i % 7) for i in range(1, 6001)]
    values = ",".join("(%d,%d,%d)" % r for r in rows)
    ddl = "CREATE TABLE %ssj_rb (id int PRIMARY KEY, k bigint, w int)"
    g, n = c.gw(), c.node(1)
    c.execute(g, ddl % "")
    c.execute(g, "SELECT create_distributed_table('sj_rb', 'id', colocate_with => 'none')")
    c.execute(g, "INSERT INTO sj_rb VALUES " + values)
    c.execute(g, "ANALYZE sj_rb")
    c.execute(n, ddl % "sjref.")
    c.execute(n, "INSERT INTO sjref.sj_rb VALUES " + values)
    try:
        wait_until(lambda: "repartition join" in explain(c, REPARTITION_QUERIES[0]), timeout=30,
                   what="the estimates of sj_rb reach the planner")
        text = explain(c, REPARTITION_QUERIES[1])
        assert "Repartition: b.k and r.k" in text and "partial aggregates combined" in text, text
        for q in REPARTITION_QUERIES:
            want = ref_rows(c, q)
            got = gw_rows(c, q)
            if "ORDER BY" not in q:
                got, want = sorted(got, key=repr), sorted(want, key=repr)
            eq(got, want, q)
            g.autocommit = False
            got = c.rows(g, q)
            g.rollback()
            g.autocommit = True
            if "ORDER BY" not in q:
                got = sorted(got, key=repr)
            eq(got, want, "in a block: " + q)
    finally:
        c.execute(g, "DROP TABLE sj_rb")
        g.close()
        n.close()


@test
def cleanup(c):
    g = c.gw()
    g.cursor().execute("DROP TABLE sj_big, sj_small, sj_mid")
    g.close()
    n = c.node(1)
    n.cursor().execute("DROP SCHEMA sjref CASCADE")
    n.close()


if __name__ == "__main__":
    harness.main(nodes=3, gateway_set=["stats_interval_ms=300", "semijoin_max_keys=100",
                                      "join_broadcast_min_rows=1000",
                                      "join_repartition_min_rows=1000"])
