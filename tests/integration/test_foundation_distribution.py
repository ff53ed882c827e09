"""Foundation: distributed tables are really spread over the nodes.

Checked by connecting to each storage node directly: a 10,000-row table lands
on every node, the shell table stays empty, every row is readable by key
through the gateway, updates and deletes by key reach exactly one shard,
rows present before create_distributed_table move into the shards,
colocate_with and shard_count are honoured.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, test, shard_rows, shard_counts, shell_counts, insert_rows  # noqa: E402

N = 10000


def per_node(counts, nodes):
    """{(k, schema): n} -> [total on node 1, node 2, ...]"""
    out = [0] * nodes
    for (k, _s), n in counts.items():
        out[k - 1] += n
    return out


@test(timeout=400)
def distribute_10000_rows_over_all_nodes(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE t (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('t', 'id')")

        meta = c.table_meta("t")
        assert meta is not None, "shardgate.tables on node 1 has no row for public.t"
        eq(meta[0], "d", "shardgate.tables.kind of t")
        eq(meta[2], "id", "shardgate.tables.dist_column of t")
        placements = c.shard_placements("t")
        eq(len(placements), 32, "number of placements of t (default shard_count 32)")
        eq(sorted(i for i, _, _ in placements), list(range(32)), "shard indexes of t")
        eq(sorted({k for _, _, k in placements}), list(range(1, c.nodes + 1)),
           "nodes holding shards of t")
        for i, s, _k in placements:
            eq(s, "sg_g%d_%d" % (meta[1], i), "shard schema name")

        rows = [(i, "v%d" % i) for i in range(1, N + 1)]
        eq(insert_rows(g, "t", rows, per_stmt=500), N, "sum of INSERT rowcounts")

        counts = shard_counts(c, "t")
        # Every catalog placement exists as a table on its node.
        for _i, s, k in placements:
            assert (k, s) in counts, "shard table %s.t missing on node %d" % (s, k)
        # Rows only where the catalog places them.
        placed = {(k, s) for _i, s, k in placements}
        for key, n in counts.items():
            if key not in placed:
                eq(n, 0, "rows in %s.t on node %d, which the catalog does not place there" % (
                    key[1], key[0]))
        nodes = per_node(counts, c.nodes)
        harness.log("  rows per node: %r" % nodes)
        for k, n in enumerate(nodes, 1):
            assert n > 0, "node %d holds no rows of t: %r" % (k, nodes)
        eq(sum(nodes), N, "rows over all shards of all nodes")
        eq(shell_counts(c, "t"), [0] * c.nodes, "rows in shell table public.t per node")

        # Every row readable by key through the gateway.
        with g.cursor() as cur:
            for i in range(1, N + 1):
                cur.execute("SELECT v FROM t WHERE id = %s", (i,))
                got = cur.fetchall()
                if got != [("v%d" % i,)]:
                    raise AssertionError("SELECT v FROM t WHERE id = %d: got %r" % (i, got))
            cur.execute("SELECT v FROM t WHERE id = %s", (N + 1,))
            eq(cur.fetchall(), [], "SELECT of a missing key")

        # count(*) across shards: correct or refused (aggregates are a later issue).
        try:
            n = c.scalar(g, "SELECT count(*) FROM t")
            eq(n, N, "SELECT count(*) FROM t")
        except psycopg2.Error as e:
            eq(e.pgcode, "0A000", "SQLSTATE of refused SELECT count(*) FROM t (%s)" % e.pgerror)
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after count(*)")

        got = c.rows(g, "SELECT * FROM t")
        eq(len(got), N, "rows of SELECT * FROM t")
        eq(sorted(got), rows, "contents of SELECT * FROM t")
        got = c.rows(g, "SELECT id FROM t WHERE v = 'v777'")
        eq(got, [(777,)], "fan-out SELECT with a filter on a non-distribution column")
    finally:
        g.close()


@test
def shards_follow_postgres_hash_partitioning(c):
    """Shard i of a group with shard_count m holds exactly the keys that
    PostgreSQL's hash partitioning (modulus m, remainder i) puts there."""
    if c.table_meta("t") is None:
        raise AssertionError("table t from the previous test is missing")
    placements = c.shard_placements("t")
    m = len(placements)
    checked = 0
    for i, s, k in placements:
        n = c.node(k)
        try:
            c.execute(n, "CREATE TEMP TABLE hp (id int) PARTITION BY HASH (id)")
            total = c.scalar(n, 'SELECT count(*) FROM "%s".t' % s)
            bad = c.scalar(n, "SELECT count(*) FROM \"%s\".t WHERE NOT "
                              "satisfies_hash_partition('pg_temp.hp'::regclass, %d, %d, id)"
                           % (s, m, i))
            eq(bad, 0, "rows of %s.t on node %d that PostgreSQL hashes elsewhere (of %d)"
               % (s, k, total))
            checked += total
        finally:
            n.close()
    eq(checked, N, "rows checked")


@test
def update_and_delete_by_key_hit_exactly_one_shard(c):
    g = c.gw()
    trig_nodes = []
    try:
        c.execute(g, "CREATE TABLE t2 (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('t2', 'id')")
        rows = [(i, "v%d" % i) for i in range(1, 301)]
        eq(insert_rows(g, "t2", rows), 300, "INSERT rowcount")

        # A statement-level trigger on every shard table, created directly on
        # the nodes, records every UPDATE/DELETE statement a shard receives
        # (statement triggers fire even when no row matches).
        for k in range(1, c.nodes + 1):
            n = c.node(k)
            try:
                c.execute(n, "CREATE SCHEMA IF NOT EXISTS itest")
                c.execute(n, "CREATE TABLE IF NOT EXISTS itest.hits (sch text, op text)")
                c.execute(n, """CREATE OR REPLACE FUNCTION itest.note() RETURNS trigger
                                LANGUAGE plpgsql AS $$ BEGIN
                                INSERT INTO itest.hits VALUES (TG_TABLE_SCHEMA, TG_OP);
                                RETURN NULL; END $$""")
                trig_nodes.append(k)
                for s in c.shard_tables_on_node(k, "t2"):
                    c.execute(n, 'CREATE TRIGGER itest_note AFTER UPDATE OR DELETE ON "%s".t2 '
                                 "FOR EACH STATEMENT EXECUTE FUNCTION itest.note()" % s)
            finally:
                n.close()

        def hits():
            out = []
            for k in range(1, c.nodes + 1):
                n = c.node(k)
                try:
                    out += [(k, s, op) for s, op in c.rows(n, "SELECT sch, op FROM itest.hits")]
                    c.execute(n, "DELETE FROM itest.hits")
                finally:
                    n.close()
            return sorted(out)

        def where(key):
            r = shard_rows(c, "t2", "id, v", "id = %d" % key)
            return r

        hits()
        loc = where(42)
        eq(len(loc), 1, "copies of row 42 over all shards")
        k42, s42, _ = loc[0]

        eq(c.execute(g, "UPDATE t2 SET v = 'x' WHERE id = 42"), 1, "rowcount of UPDATE ... id = 42")
        eq(hits(), [(k42, s42, "UPDATE")], "shards that received UPDATE ... WHERE id = 42")
        eq(where(42), [(k42, s42, (42, "x"))], "row 42 on the nodes after UPDATE")
        eq(len(shard_rows(c, "t2", "id", "v = 'x'")), 1, "rows with v = 'x' on all nodes")
        eq(c.rows(g, "SELECT v FROM t2 WHERE id = 42"), [("x",)], "row 42 through the gateway")

        loc = where(43)
        k43, s43, _ = loc[0]
        eq(c.execute(g, "DELETE FROM t2 WHERE id = 43"), 1, "rowcount of DELETE ... id = 43")
        eq(hits(), [(k43, s43, "DELETE")], "shards that received DELETE ... WHERE id = 43")
        eq(where(43), [], "row 43 on the nodes after DELETE")
        eq(len(shard_rows(c, "t2", "id")), 299, "rows left on all nodes")

        eq(c.execute(g, "DELETE FROM t2 WHERE id = 43"), 0, "rowcount of repeated DELETE")
        eq(c.execute(g, "UPDATE t2 SET v = 'y' WHERE id = 100000"), 0,
           "rowcount of UPDATE of a missing key")
        got = hits()
        assert len(got) <= 2, "statements on a single key reached %r" % got

        # Without the key: every shard, rowcounts summed.
        eq(c.execute(g, "UPDATE t2 SET v = v || '!' WHERE id > 290"), 10,
           "rowcount of fan-out UPDATE ... WHERE id > 290")
        eq(sorted(r[2] for r in shard_rows(c, "t2", "id, v", "v LIKE '%!'")),
           [(i, "v%d!" % i) for i in range(291, 301)], "rows changed by the fan-out UPDATE")
        eq(c.execute(g, "DELETE FROM t2 WHERE v LIKE '%!'"), 10, "rowcount of fan-out DELETE")
        eq(len(shard_rows(c, "t2", "id")), 289, "rows left after fan-out DELETE")

        # INSERT ... RETURNING, rows split over shards.
        got = c.rows(g, "INSERT INTO t2 VALUES (1001, 'a'), (1002, 'b'), (1003, 'c'), "
                        "(1004, 'd') RETURNING id, v")
        eq(sorted(got), [(1001, "a"), (1002, "b"), (1003, "c"), (1004, "d")],
           "INSERT ... RETURNING id, v")
        got = c.rows(g, "UPDATE t2 SET v = 'z' WHERE id = 1002 RETURNING id, v")
        eq(got, [(1002, "z")], "UPDATE ... RETURNING")
        got = c.rows(g, "DELETE FROM t2 WHERE id = 1003 RETURNING v")
        eq(got, [("c",)], "DELETE ... RETURNING")
    finally:
        g.close()
        c.drop("t2")
        for k in trig_nodes:
            n = c.node(k)
            try:
                c.execute(n, "DROP SCHEMA IF EXISTS itest CASCADE")
            finally:
                n.close()


@test
def distributing_a_table_with_rows_moves_them(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE t3 (id int PRIMARY KEY, v text)")
        rows = [(i, "w%d" % i) for i in range(1, 1001)]
        eq(insert_rows(g, "t3", rows), 1000, "INSERT rowcount before distribution")
        eq(sorted(c.rows(g, "SELECT id, v FROM t3")), rows, "local table before distribution")
        c.rows(g, "SELECT create_distributed_table('t3', 'id')")

        counts = shard_counts(c, "t3")
        nodes = per_node(counts, c.nodes)
        harness.log("  rows per node: %r" % nodes)
        for k, n in enumerate(nodes, 1):
            assert n > 0, "node %d holds no rows of t3: %r" % (k, nodes)
        eq(sum(nodes), 1000, "rows over all shards")
        eq(shell_counts(c, "t3"), [0] * c.nodes, "rows left in shell table public.t3 per node")
        with g.cursor() as cur:
            for i, v in rows:
                cur.execute("SELECT v FROM t3 WHERE id = %s", (i,))
                got = cur.fetchall()
                if got != [(v,)]:
                    raise AssertionError("SELECT v FROM t3 WHERE id = %d: got %r" % (i, got))
        eq(sorted(c.rows(g, "SELECT id, v FROM t3")), rows, "SELECT * after distribution")
    finally:
        g.close()
        c.drop("t3")


@test
def colocate_with_and_shard_count(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE t4 (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('t4', 'id')")
        c.execute(g, "CREATE TABLE u4 (id int PRIMARY KEY, w text)")
        c.rows(g, "SELECT create_distributed_table('u4', 'id', colocate_with => 't4')")
        c.execute(g, "CREATE TABLE s8 (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('s8', 'id', shard_count => 8)")

        mt, mu, m8 = c.table_meta("t4"), c.table_meta("u4"), c.table_meta("s8")
        assert mt and mu and m8, "catalog rows missing: %r %r %r" % (mt, mu, m8)
        eq(mu[1], mt[1], "group_id of u4 (colocate_with => 't4')")
        assert m8[1] != mt[1], "s8 (8 shards) shares group %d with t4 (32 shards)" % mt[1]
        eq(mu[2], "id", "dist_column of u4")

        n1 = c.node(1)
        try:
            eq(c.scalar(n1, "SELECT shard_count FROM shardgate.colocation_groups "
                            "WHERE group_id = %s", (m8[1],)), 8, "shard_count of s8's group")
            eq(c.scalar(n1, "SELECT count(*) FROM shardgate.shards WHERE group_id = %s",
                        (m8[1],)), 8, "shards of s8's group")
            eq(c.scalar(n1, "SELECT shard_count FROM shardgate.colocation_groups "
                            "WHERE group_id = %s", (mt[1],)), 32, "shard_count of t4's group")
        finally:
            n1.close()
        eq(len(c.shard_placements("s8")), 8, "placements of s8")
        eq(sorted(s for _i, s, _k in c.shard_placements("u4")),
           sorted(s for _i, s, _k in c.shard_placements("t4")), "shard schemas of u4 and t4")

        # Equal keys of co-located tables live in the same shard on the same node.
        insert_rows(g, "t4", [(i, "t") for i in range(1, 201)])
        insert_rows(g, "u4", [(i, "u") for i in range(1, 201)])
        insert_rows(g, "s8", [(i, "s") for i in range(1, 201)])
        where_t = {r[2][0]: (r[0], r[1]) for r in shard_rows(c, "t4", "id")}
        where_u = {r[2][0]: (r[0], r[1]) for r in shard_rows(c, "u4", "id")}
        eq(len(where_t), 200, "rows of t4 on the nodes")
        eq(where_u, where_t, "node and shard of each key in u4 vs t4")
        c8 = shard_counts(c, "s8")
        eq(sum(c8.values()), 200, "rows of s8 on the nodes")
        eq(len({s for (_k, s) in c8}), 8, "shard tables of s8")
    finally:
        g.close()
        c.drop("u4", "t4", "s8")


@test
def cleanup_t(c):
    """Drop t (made by the first test) and check it is gone everywhere."""
    c.drop("t")
    for k in range(1, c.nodes + 1):
        eq(c.shard_tables_on_node(k, "t"), [], "shard tables of t left on node %d" % k)
    eq(c.table_meta("t"), None, "shardgate.tables row of t after DROP")


if __name__ == "__main__":
    harness.main(nodes=3)
