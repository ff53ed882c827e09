"""Foundation: reference tables are identical on every node; DDL through the
gateway (CREATE TABLE, CREATE INDEX, ALTER TABLE, TRUNCATE, DROP TABLE)
reaches every node, shard tables included; `\\d` shows what the user created.
All checked by connecting to each storage node directly.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


import harness  # noqa: E402
from harness import eq, test, expect_sqlstate, shard_counts, shell_counts, insert_rows  # noqa: E402


def soft_drop(c, f, sql):
    """Run a DROP TABLE on its own connection as a soft check, so the checks
    of its effect on the nodes still run when the reply is malformed."""
    def run():
        d = c.gw()
        try:
            c.execute(d, sql)
        except Exception as e:  # noqa: BLE001
            raise AssertionError("%s: %s" % (type(e).__name__, str(e).strip()))
        finally:
            d.close()
    f.check(sql, run)


def node_copies(c, table, cols="*"):
    """Sorted rows of public.<table> read directly on each node."""
    return [sorted(r) for r in c.on_each_node('SELECT %s FROM ONLY public."%s"' % (cols, table))]


def assert_identical(c, table, expected, what):
    copies = node_copies(c, table)
    for k, rows in enumerate(copies, 1):
        eq(rows, sorted(expected), "%s: rows of %s on node %d" % (what, table, k))


@test
def reference_table_identical_on_all_nodes(c):
    g = c.gw()
    f = harness.Failures()
    try:
        c.execute(g, "CREATE TABLE r (id int PRIMARY KEY, name text)")
        expected = [(i, "n%d" % i) for i in range(1, 51)]
        eq(insert_rows(g, "r", expected), 50, "INSERT rowcount before create_reference_table")
        c.rows(g, "SELECT create_reference_table('r')")
        meta = c.table_meta("r")
        assert meta is not None, "no shardgate.tables row for r"
        eq(meta[0], "r", "shardgate.tables.kind of r")
        assert_identical(c, "r", expected, "after create_reference_table")

        f.eq(c.execute(g, "INSERT INTO r VALUES (51, 'n51'), (52, 'n52')"), 2,
           "rowcount of INSERT of 2 rows into a reference table")
        expected += [(51, "n51"), (52, "n52")]
        assert_identical(c, "r", expected, "after INSERT")

        f.eq(c.execute(g, "UPDATE r SET name = 'upd' WHERE id = 5"), 1,
           "rowcount of UPDATE of 1 row of a reference table")
        expected = [(i, "upd" if i == 5 else n) for i, n in expected]
        assert_identical(c, "r", expected, "after UPDATE by key")

        f.eq(c.execute(g, "UPDATE r SET name = name || '+' WHERE id > 45"), 7,
           "rowcount of UPDATE of 7 rows of a reference table")
        expected = [(i, n + "+" if i > 45 else n) for i, n in expected]
        assert_identical(c, "r", expected, "after UPDATE of a range")

        f.eq(c.execute(g, "DELETE FROM r WHERE id = 10"), 1, "rowcount of DELETE of 1 row")
        expected = [(i, n) for i, n in expected if i != 10]
        assert_identical(c, "r", expected, "after DELETE")

        got = c.rows(g, "INSERT INTO r VALUES (60, 'sixty') RETURNING id, name")
        f.eq(got, [(60, "sixty")], "INSERT ... RETURNING on a reference table (one copy of the row)")
        expected.append((60, "sixty"))
        assert_identical(c, "r", expected, "after INSERT RETURNING")

        # A failing write changes no node.
        expect_sqlstate(lambda: c.execute(g, "INSERT INTO r VALUES (1, 'dup')"), "23505",
                        "duplicate key in a reference table")
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after the error")
        assert_identical(c, "r", expected, "after a failed INSERT")

        # Reads through the gateway see one copy.
        eq(sorted(c.rows(g, "SELECT id, name FROM r")), sorted(expected), "SELECT * FROM r")
        eq(c.rows(g, "SELECT name FROM r WHERE id = 5"), [("upd",)], "SELECT by key")
        f.done()
    finally:
        g.close()


@test
def reference_table_ddl_reaches_all_nodes(c):
    if c.table_meta("r") is None:
        raise AssertionError("reference table r from the previous test is missing")
    g = c.gw()
    f = harness.Failures()
    try:
        c.execute(g, "ALTER TABLE r ADD COLUMN extra int DEFAULT 7")
        for k, cols in enumerate(c.on_each_node(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = 'public' AND table_name = 'r' ORDER BY ordinal_position"), 1):
            eq([x[0] for x in cols], ["id", "name", "extra"], "columns of r on node %d" % k)
        c.execute(g, "CREATE INDEX r_name_idx ON r (name)")
        for k, idx in enumerate(c.on_each_node(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                "AND tablename = 'r' ORDER BY 1"), 1):
            assert ("r_name_idx",) in idx, "index r_name_idx missing on node %d: %r" % (k, idx)
        eq(c.rows(g, "SELECT extra FROM r WHERE id = 1"), [(7,)], "new column through the gateway")
        c.execute(g, "TRUNCATE r")
        eq(shell_counts(c, "r"), [0] * c.nodes, "rows of r per node after TRUNCATE")
        eq(c.rows(g, "SELECT * FROM r"), [], "SELECT after TRUNCATE")
        soft_drop(c, f, "DROP TABLE r")
        for k, n in enumerate(c.on_each_node(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'r'"), 1):
            eq(n[0][0], 0, "tables named r on node %d after DROP TABLE" % k)
        eq(c.table_meta("r"), None, "shardgate.tables row of r after DROP TABLE")
        expect_sqlstate(lambda: c.rows(g, "SELECT * FROM r"), "42P01", "SELECT from dropped r")
        f.done()
    finally:
        g.close()
        c.drop("r")


@test
def ddl_on_a_distributed_table_reaches_every_shard(c):
    g = c.gw()
    f = harness.Failures()
    try:
        c.execute(g, "CREATE TABLE d6 (id int PRIMARY KEY, v text)")
        for k, n in enumerate(c.on_each_node(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = 'public' AND table_name = 'd6'"), 1):
            eq(n[0][0], 1, "public.d6 on node %d after CREATE TABLE" % k)
        c.rows(g, "SELECT create_distributed_table('d6', 'id', shard_count => 8)")
        insert_rows(g, "d6", [(i, "v%d" % i) for i in range(1, 101)])
        shard_schemas = {k: set(c.shard_tables_on_node(k, "d6")) for k in range(1, c.nodes + 1)}
        eq(sum(len(s) for s in shard_schemas.values()) >= 8, True,
           "at least 8 shard tables of d6 over the nodes: %r" % shard_schemas)

        c.execute(g, "CREATE INDEX d6_v_idx ON d6 (v)")
        for k in range(1, c.nodes + 1):
            n = c.node(k)
            try:
                have = {r[0] for r in c.rows(
                    n, "SELECT schemaname FROM pg_indexes WHERE tablename = 'd6' "
                       "AND indexdef LIKE '%%(v)%%'")}
            finally:
                n.close()
            eq(have, shard_schemas[k] | {"public"},
               "schemas on node %d whose d6 has an index on (v)" % k)

        c.execute(g, "ALTER TABLE d6 ADD COLUMN extra int DEFAULT 7")
        for k in range(1, c.nodes + 1):
            n = c.node(k)
            try:
                have = {r[0] for r in c.rows(
                    n, "SELECT table_schema FROM information_schema.columns "
                       "WHERE table_name = 'd6' AND column_name = 'extra'")}
            finally:
                n.close()
            eq(have, shard_schemas[k] | {"public"},
               "schemas on node %d whose d6 has column extra" % k)
        eq(c.rows(g, "SELECT id, v, extra FROM d6 WHERE id = 3"), [(3, "v3", 7)],
           "new column through the gateway")
        eq(c.execute(g, "INSERT INTO d6 (id, v, extra) VALUES (1000, 'k', 9)"), 1,
           "INSERT using the new column")
        eq(c.rows(g, "SELECT extra FROM d6 WHERE id = 1000"), [(9,)], "row with the new column")

        rc, out, err = c.psql("\\d d6")
        eq(rc, 0, "psql \\d d6 exit code (stderr: %s)" % err.strip())
        for word in ("id", "v", "extra", "integer", "text", "d6_v_idx", "d6_pkey"):
            assert word in out, "%r missing from \\d d6 output:\n%s" % (word, out)
        assert "sg_g" not in out, "\\d d6 shows shard internals:\n%s" % out
        rc, out, err = c.psql("\\dt")
        eq(rc, 0, "psql \\dt exit code (stderr: %s)" % err.strip())
        assert " d6 " in out, "d6 missing from \\dt:\n%s" % out

        c.execute(g, "TRUNCATE d6")
        counts = shard_counts(c, "d6")
        eq(sum(counts.values()), 0, "rows in shard tables of d6 after TRUNCATE: %r" % counts)
        eq(c.rows(g, "SELECT * FROM d6"), [], "SELECT after TRUNCATE")

        soft_drop(c, f, "DROP TABLE d6")
        for k, n in enumerate(c.on_each_node(
                "SELECT table_schema FROM information_schema.tables WHERE table_name = 'd6'"), 1):
            eq(n, [], "tables named d6 on node %d after DROP TABLE" % k)
        eq(c.table_meta("d6"), None, "shardgate.tables row of d6 after DROP TABLE")
        expect_sqlstate(lambda: c.rows(g, "SELECT * FROM d6"), "42P01", "SELECT from dropped d6")
        f.done()
    finally:
        g.close()
        c.drop("d6")


@test
def ddl_on_a_local_table(c):
    """A table that is not distributed: its shell exists on every node and
    its DDL reaches every node; rows live on one node only."""
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE l6 (id int PRIMARY KEY, v text)")
        c.execute(g, "INSERT INTO l6 VALUES (1, 'a'), (2, 'b')")
        c.execute(g, "CREATE INDEX l6_v_idx ON l6 (v)")
        c.execute(g, "ALTER TABLE l6 ADD COLUMN w text")
        for k in range(1, c.nodes + 1):
            n = c.node(k)
            try:
                eq([r[0] for r in c.rows(n, "SELECT column_name FROM information_schema.columns "
                                           "WHERE table_schema = 'public' AND table_name = 'l6' "
                                           "ORDER BY ordinal_position")],
                   ["id", "v", "w"], "columns of l6 on node %d" % k)
                assert c.rows(n, "SELECT 1 FROM pg_indexes WHERE indexname = 'l6_v_idx'"), \
                    "index l6_v_idx missing on node %d" % k
            finally:
                n.close()
        eq(sum(shell_counts(c, "l6")), 2, "rows of local table l6 over all nodes")
        eq(sorted(c.rows(g, "SELECT id, v, w FROM l6")), [(1, "a", None), (2, "b", None)],
           "SELECT from local table")
        c.execute(g, "TRUNCATE l6")
        eq(shell_counts(c, "l6"), [0] * c.nodes, "rows of l6 per node after TRUNCATE")
        c.execute(g, "DROP TABLE l6")
        for k, n in enumerate(c.on_each_node(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'l6'"), 1):
            eq(n[0][0], 0, "tables named l6 on node %d after DROP TABLE" % k)
    finally:
        g.close()
        c.drop("l6")


@test
def drop_table_replies_like_postgres_and_name_is_reusable(c):
    """DROP TABLE answers exactly what PostgreSQL answers (one CommandComplete,
    one notice for IF EXISTS on a missing table, no stray rows), and the name
    can be used again for a table of another kind."""
    with c.wire() as w:
        w.login()

        def q(sql):
            return harness.summarize(w.query(sql))

        ok = [("C", "CREATE TABLE"), ("Z", "I")]
        dropped = [("C", "DROP TABLE"), ("Z", "I")]
        skip = [("N", '00000 table "dd6" does not exist, skipping'), ("C", "DROP TABLE"),
                ("Z", "I")]
        steps = [
            ("DROP TABLE IF EXISTS dd6", skip),
            ("CREATE TABLE dd6 (id int PRIMARY KEY)", ok),
            ("SELECT create_distributed_table('dd6', 'id')", None),
            ("DROP TABLE dd6", dropped),
            ("DROP TABLE IF EXISTS dd6", skip),
            ("CREATE TABLE dd6 (id int PRIMARY KEY)", ok),
            ("INSERT INTO dd6 VALUES (1)", [("C", "INSERT 0 1"), ("Z", "I")]),
            ("SELECT create_reference_table('dd6')", None),
            ("DROP TABLE dd6 CASCADE", dropped),
            ("CREATE TABLE dd6 (id int)", ok),
            ("DROP TABLE dd6", dropped),
            ("CREATE TABLE dd6 (id int PRIMARY KEY)", ok),
            ("SELECT create_distributed_table('dd6', 'id', shard_count => 4)", None),
            ("DROP TABLE IF EXISTS dd6 CASCADE", dropped),
        ]
        try:
            for sql, want in steps:
                got = q(sql)
                if want is None:
                    eq([m for m in got if m[0] in "ECZ"], [("C", "SELECT 1"), ("Z", "I")],
                       "reply to %r" % sql)
                else:
                    eq(got, want, "reply to %r" % sql)
        finally:
            c.drop("dd6")
    for k, n in enumerate(c.on_each_node(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'dd6'"), 1):
        eq(n, [], "tables named dd6 on node %d at the end" % k)


@test
def distribute_inside_a_transaction_block(c):
    """create_distributed_table / create_reference_table inside BEGIN ... COMMIT
    (an ORM creating its tables in one transaction): the calls run when the
    transaction commits, rows inserted in the block move into the shards; a
    ROLLBACK (or ROLLBACK TO an earlier savepoint) forgets them."""
    g = c.gw()
    g.autocommit = False
    cur = g.cursor()
    cur.execute("CREATE TABLE tb_d (id int PRIMARY KEY, v text)")
    cur.execute("SELECT create_distributed_table('tb_d', 'id')")
    cur.execute("INSERT INTO tb_d VALUES " + ",".join("(%d, 'v%d')" % (i, i) for i in range(1, 51)))
    cur.execute("CREATE TABLE tb_r (k int PRIMARY KEY)")
    cur.execute("SELECT create_reference_table('tb_r')")
    cur.execute("INSERT INTO tb_r VALUES (1), (2)")
    cur.execute("SAVEPOINT s1")
    cur.execute("CREATE TABLE tb_undone (id int PRIMARY KEY)")
    cur.execute("SELECT create_distributed_table('tb_undone', 'id')")
    cur.execute("ROLLBACK TO s1")
    g.commit()
    g.autocommit = True
    cur.execute("SELECT count(*), sum(id) FROM tb_d")
    eq(cur.fetchone(), (50, sum(range(1, 51))), "rows through the gateway")
    eq(c.rows(c.node(1), "SELECT count(*) FROM tb_d"), [(0,)], "shell empty: rows in shards")
    for k in (1, 2, 3):
        eq(c.rows(c.node(k), "SELECT count(*) FROM tb_r"), [(2,)], "reference copy on node %d" % k)
    meta = c.rows(c.node(1), "SELECT table_name FROM shardgate.tables "
                             "WHERE table_name LIKE 'tb_%' ORDER BY 1")
    eq(meta, [("tb_d",), ("tb_r",)], "catalogued tables (tb_undone rolled back)")
    cur.execute("SELECT v FROM tb_d WHERE id = 42")
    eq(cur.fetchall(), [("v42",)], "routed read")
    g.autocommit = False
    cur.execute("CREATE TABLE tb_gone (id int PRIMARY KEY)")
    cur.execute("SELECT create_distributed_table('tb_gone', 'id')")
    g.rollback()
    g.autocommit = True
    eq(c.rows(c.node(1), "SELECT count(*) FROM pg_class WHERE relname = 'tb_gone'"), [(0,)],
       "rolled back")
    cur.execute("DROP TABLE tb_d, tb_r")


if __name__ == "__main__":
    harness.main(nodes=3)
