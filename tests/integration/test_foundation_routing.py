"""Foundation: routing by key is right for every kind of key and statement.

Distribution columns of type bigint, text, varchar and uuid (rows land in
the shard PostgreSQL's hash partitioning chooses, and each is found by key),
INSERT with a column list in another order, quoted identifiers and literals
with quotes (fragments are deparsed, never pasted), tables in another schema,
IN lists and OR on the key, and an UPDATE of the distribution column (moved
correctly or refused with 0A000).
"""

import io
import os
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import eq, expect_sqlstate, test, shard_rows, shell_counts, insert_rows  # noqa: E402


def check_hash_placement(c, table, keytype, schema="public"):
    """Every row of every shard satisfies PostgreSQL's hash partitioning
    (modulus shard_count, remainder shard index) for the key type; returns
    the number of rows checked."""
    placements = c.shard_placements(table, schema)
    m = len(placements)
    assert m > 0, "no placements for %s.%s" % (schema, table)
    total = 0
    for i, s, k in placements:
        n = c.node(k)
        try:
            c.execute(n, "DROP TABLE IF EXISTS pg_temp.hp")
            c.execute(n, "CREATE TEMP TABLE hp (id %s) PARTITION BY HASH (id)" % keytype)
            rows = c.scalar(n, 'SELECT count(*) FROM "%s"."%s"' % (s, table))
            bad = c.rows(n, "SELECT id::text FROM \"%s\".\"%s\" WHERE NOT "
                            "satisfies_hash_partition('pg_temp.hp'::regclass, %d, %d, id) LIMIT 5"
                         % (s, table, m, i))
            eq(bad, [], "keys in %s.%s on node %d that PostgreSQL hashes to another shard" % (
                s, table, k))
            total += rows
        finally:
            n.close()
    return total


@test
def key_types_bigint_text_varchar_uuid(c):
    g = c.gw()
    types = {
        "bigint": [(i * 7919 * 1000003, "b%d" % i) for i in range(1, 151)],
        "text": [("key-%d" % i, "t%d" % i) for i in range(1, 151)] + [("O'Brien", "q"), ("", "e")],
        "varchar(20)": [("vc%d" % i, "v%d" % i) for i in range(1, 151)],
        "uuid": [(str(uuid.UUID(int=i * 0x9E3779B97F4A7C15)), "u%d" % i) for i in range(1, 151)],
    }
    try:
        for n, (typ, rows) in enumerate(types.items()):
            name = "k%d" % n
            c.execute(g, "CREATE TABLE %s (id %s PRIMARY KEY, v text)" % (name, typ))
            c.rows(g, "SELECT create_distributed_table('%s', 'id')" % name)
            eq(insert_rows(g, name, rows, per_stmt=50), len(rows), "INSERT rowcount (%s)" % typ)
            eq(check_hash_placement(c, name, typ), len(rows), "rows checked (%s)" % typ)
            nodes = {k for k, _s, _r in shard_rows(c, name, "id")}
            eq(nodes, set(range(1, c.nodes + 1)), "nodes holding %s keys" % typ)
            eq(shell_counts(c, name), [0] * c.nodes, "rows in the shell of the %s table" % typ)
            with g.cursor() as cur:
                for key, v in rows:
                    cur.execute("SELECT v FROM " + name + " WHERE id = %s", (key,))
                    got = cur.fetchall()
                    if got != [(v,)]:
                        raise AssertionError("%s key %r: got %r" % (typ, key, got))
            # Other spellings of the same key.
            key, v = rows[3]
            lit = psycopg2.extensions.adapt(key).getquoted().decode()
            for where in ("id = %s::%s" % (lit, typ), "%s = id" % lit, "(id = %s)" % lit,
                          "id = %s AND v = '%s'" % (lit, v)):
                eq(c.rows(g, "SELECT v FROM %s WHERE %s" % (name, where)), [(v,)],
                   "%s: WHERE %s" % (typ, where))
            eq(c.execute(g, "UPDATE %s SET v = 'new' WHERE id = %s" % (name, lit)), 1,
               "UPDATE by %s key" % typ)
            eq(c.execute(g, "DELETE FROM %s WHERE id = %s" % (name, lit)), 1,
               "DELETE by %s key" % typ)
            eq(c.rows(g, "SELECT v FROM %s WHERE id = %s" % (name, lit)), [],
               "row after DELETE (%s)" % typ)
    finally:
        g.close()
        c.drop(*["k%d" % n for n in range(len(types))])


@test
def insert_column_order_and_defaults(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE co (a text DEFAULT 'dflt', id int NOT NULL, b int, "
                     "PRIMARY KEY (id))")
        c.rows(g, "SELECT create_distributed_table('co', 'id')")
        eq(c.execute(g, "INSERT INTO co (b, id, a) VALUES (1, 101, 'x'), (2, 102, 'y')"), 2,
           "INSERT with columns in another order")
        eq(c.execute(g, "INSERT INTO co (id) VALUES (103)"), 1, "INSERT with defaults")
        eq(c.execute(g, "INSERT INTO co VALUES ('z', 104, 4)"), 1, "INSERT without column list")
        got = sorted(r[2] for r in shard_rows(c, "co", "id, a, b"))
        eq(got, [(101, "x", 1), (102, "y", 2), (103, "dflt", None), (104, "z", 4)],
           "rows on the nodes")
        eq(check_hash_placement(c, "co", "int"), 4, "rows in the right shards")
        for k, a in ((101, "x"), (102, "y"), (103, "dflt"), (104, "z")):
            eq(c.rows(g, "SELECT a FROM co WHERE id = %s", (k,)), [(a,)], "row %d by key" % k)
    finally:
        g.close()
        c.drop("co")


@test
def quoted_identifiers_and_literals(c):
    g = c.gw()
    try:
        c.execute(g, 'CREATE TABLE "Order Items" ("Key" int PRIMARY KEY, "select" text, '
                     '"Quote""d" text)')
        c.rows(g, "SELECT create_distributed_table('\"Order Items\"', 'Key')")
        vals = [(i, "it's %d" % i, 'say "%d"; DROP TABLE x; --' % i) for i in range(1, 41)]
        eq(insert_rows(g, '"Order Items"', vals, per_stmt=10), 40, "INSERT rowcount")
        got = sorted(r[2] for r in shard_rows(c, "Order Items", '"Key", "select", "Quote""d"'))
        eq(got, vals, "rows on the nodes")
        with g.cursor() as cur:
            for k, s1, s2 in vals:
                cur.execute('SELECT "select", "Quote""d" FROM "Order Items" WHERE "Key" = %s',
                            (k,))
                eq(cur.fetchall(), [(s1, s2)], "row %d by key" % k)
        eq(c.execute(g, r"""UPDATE "Order Items" SET "select" = E'back\\slash \'q\''"""
                        ' WHERE "Key" = 7'), 1, "UPDATE with escape-string literal")
        eq(c.rows(g, 'SELECT "select" FROM "Order Items" WHERE "Key" = 7'),
           [("back\\slash 'q'",)], "escape-string literal stored")
        eq(c.rows(g, 'SELECT "Key" FROM "Order Items" WHERE "select" = $$it\'s 9$$'),
           [(9,)], "dollar-quoted literal in a fan-out filter")
        rc, out, err = c.psql('\\d "Order Items"')
        eq(rc, 0, "psql \\d of a quoted name (%s)" % err.strip())
        assert "Quote\"d" in out and "select" in out, out
    finally:
        g.close()
        c.drop('"Order Items"')


@test
def table_in_another_schema(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE SCHEMA app")
        c.execute(g, "CREATE TABLE app.acct (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('app.acct', 'id')")
        meta = c.table_meta("acct", schema="app")
        assert meta and meta[0] == "d", "catalog row of app.acct: %r" % (meta,)
        eq(insert_rows(g, "app.acct", [(i, "a%d" % i) for i in range(1, 101)]), 100, "INSERT")
        eq(check_hash_placement(c, "acct", "int", schema="app"), 100, "rows in shards")
        eq(shell_counts(c, "acct", schema="app"), [0] * c.nodes, "rows in the shell app.acct")
        eq(c.rows(g, "SELECT v FROM app.acct WHERE id = 42"), [("a42",)], "by key")
        c.execute(g, "SET search_path = app, public")
        try:
            eq(c.rows(g, "SELECT v FROM acct WHERE id = 43"), [("a43",)],
               "by key through search_path")
        finally:
            c.execute(g, "RESET search_path")
    finally:
        g.close()
        c.drop("app.acct")
        d = c.gw()
        try:
            c.execute(d, "DROP SCHEMA IF EXISTS app CASCADE")
        except psycopg2.Error:
            pass
        finally:
            d.close()


@test
def in_lists_or_and_moving_keys(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE mk (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('mk', 'id')")
        insert_rows(g, "mk", [(i, "m%d" % i) for i in range(1, 201)])
        eq(sorted(c.rows(g, "SELECT id FROM mk WHERE id IN (3, 50, 177, 1000)")),
           [(3,), (50,), (177,)], "IN list of keys")
        eq(sorted(c.rows(g, "SELECT id FROM mk WHERE id = 4 OR id = 99")), [(4,), (99,)],
           "OR of keys")
        eq(sorted(c.rows(g, "SELECT id FROM mk WHERE id BETWEEN 10 AND 14")),
           [(i,) for i in range(10, 15)], "range of keys")
        eq(c.execute(g, "DELETE FROM mk WHERE id IN (5, 6, 7)"), 3, "DELETE with IN list")
        eq(sorted(r[2][0] for r in shard_rows(c, "mk", "id", "id BETWEEN 4 AND 8")), [4, 8],
           "rows left after DELETE ... IN")

        # Changing the distribution column: moved to the right shard, or refused.
        try:
            n = c.execute(g, "UPDATE mk SET id = 5000 WHERE id = 1")
        except psycopg2.Error as e:
            eq(e.pgcode, "0A000", "SQLSTATE of a refused key update (%s)" % e.diag.message_primary)
            harness.log("  key update refused: %s" % e.diag.message_primary)
            eq([r[2] for r in shard_rows(c, "mk", "id, v", "id IN (1, 5000)")], [(1, "m1")],
               "rows after the refused key update")
        else:
            eq(n, 1, "rowcount of the key update")
            eq([r[2] for r in shard_rows(c, "mk", "id, v", "id IN (1, 5000)")], [(5000, "m1")],
               "rows after the key update")
            check_hash_placement(c, "mk", "int")
            eq(c.rows(g, "SELECT v FROM mk WHERE id = 5000"), [("m1",)], "moved row by key")
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 afterwards")
    finally:
        g.close()
        c.drop("mk")


@test
def multi_row_insert_returning_in_values_order(c):
    """PostgreSQL returns an INSERT's RETURNING rows in VALUES order; rows that
    go to several nodes come back in that order too (simple and extended
    protocol, serial column filled on the nodes)."""
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE ret_o (id serial, k int PRIMARY KEY, v text)")
    cur.execute("SELECT create_distributed_table('ret_o', 'k')")
    keys = [37, 2, 91, 14, 5, 66, 23, 8, 71, 40, 1, 55]
    cur.execute("INSERT INTO ret_o (k, v) VALUES %s RETURNING k, v" %
                ",".join("(%d, 'v%d')" % (k, k) for k in keys))
    eq(cur.fetchall(), [(k, "v%d" % k) for k in keys], "simple protocol")
    import psycopg  # extended protocol, parameters
    with psycopg.connect(host="127.0.0.1", port=c.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        more = [k + 100 for k in keys]
        rows = conn.execute("INSERT INTO ret_o (k) VALUES %s RETURNING k, id" %
                            ",".join(["(%s)"] * len(more)), more).fetchall()
        eq([r[0] for r in rows], more, "extended protocol")
        eq(len(set(r[1] for r in rows)), len(more), "serial ids distinct")
    cur.execute("DROP TABLE ret_o")


@test
def serial_distribution_column_filled_by_gateway(c):
    """An INSERT that leaves a serial (or identity BY DEFAULT) distribution column
    to its default gets a value drawn from the column's sequence by the gateway and
    goes to that value's shard, as Citus does."""
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE ser_d (id serial PRIMARY KEY, name text)")
    cur.execute("SELECT create_distributed_table('ser_d', 'id')")
    cur.execute("INSERT INTO ser_d (name) VALUES ('a')")
    cur.execute("INSERT INTO ser_d (name) VALUES ('b'), ('c'), ('d') RETURNING id, name")
    rows = cur.fetchall()
    eq([r[1] for r in rows], ["b", "c", "d"], "RETURNING in VALUES order")
    cur.execute("INSERT INTO ser_d VALUES (DEFAULT, 'e'), (100000, 'given') RETURNING id, name")
    eq(cur.fetchall()[1], (100000, "given"), "an explicit value is kept")
    g.autocommit = False
    cur.execute("INSERT INTO ser_d (name) VALUES ('in txn') RETURNING id")
    g.rollback()
    g.autocommit = True
    cur.execute("SELECT id, name FROM ser_d")
    all_rows = cur.fetchall()
    eq(sorted(r[1] for r in all_rows), ["a", "b", "c", "d", "e", "given"], "rows")
    eq(len(set(r[0] for r in all_rows)), 6, "ids distinct")
    for rid, name in all_rows:  # each row is on its id's shard: the routed read finds it
        cur.execute("SELECT name FROM ser_d WHERE id = %s", (rid,))
        eq(cur.fetchall(), [(name,)], "routed read of id %d" % rid)
    eq(c.rows(c.node(1), "SELECT count(*) FROM ser_d"), [(0,)], "shell empty")
    import psycopg
    with psycopg.connect(host="127.0.0.1", port=c.port, user="postgres", dbname="postgres",
                         autocommit=True) as conn:
        for i in range(6):
            r = conn.execute("INSERT INTO ser_d (name) VALUES (%s) RETURNING id, name",
                             ("p%d" % i,), prepare=True).fetchone()
            eq(r[1], "p%d" % i, "prepared insert %d" % i)
            got = conn.execute("SELECT name FROM ser_d WHERE id = %s", (r[0],)).fetchall()
            eq(got, [("p%d" % i,)], "routed read after prepared insert")
    cur.execute("CREATE TABLE ser_i (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, v int)")
    cur.execute("SELECT create_distributed_table('ser_i', 'id')")
    cur.execute("INSERT INTO ser_i (v) VALUES (1), (2) RETURNING v")
    eq(cur.fetchall(), [(1,), (2,)], "identity BY DEFAULT")
    cur.execute("DROP TABLE ser_d, ser_i")


@test
def identity_always_and_default_values(c):
    """A GENERATED ALWAYS identity distribution column is filled by the gateway
    like a serial one, and a GENERATED ALWAYS column (distribution column or
    not) refuses a value given without OVERRIDING SYSTEM VALUE with
    PostgreSQL's 428C9 (its message, detail and hint), although the shard
    tables hold a plain default; INSERT ... DEFAULT VALUES fills the
    distribution column and takes every other default. Each row lands on its
    id's shard (a routed read finds it)."""
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE ida (v int DEFAULT 7, id bigint GENERATED ALWAYS AS IDENTITY "
                "PRIMARY KEY, note text DEFAULT 'dflt')")
    cur.execute("SELECT create_distributed_table('ida', 'id')")
    cur.execute("INSERT INTO ida (v) VALUES (1), (2) RETURNING v, note")
    eq(cur.fetchall(), [(1, "dflt"), (2, "dflt")], "column left out")
    cur.execute("INSERT INTO ida DEFAULT VALUES RETURNING v, note")
    eq(cur.fetchall(), [(7, "dflt")], "DEFAULT VALUES")
    cur.execute("INSERT INTO ida VALUES (3, DEFAULT, 'x') RETURNING v, note")
    eq(cur.fetchall(), [(3, "x")], "explicit DEFAULT")
    cur.execute("INSERT INTO ida (v) SELECT 4 RETURNING v")
    eq(cur.fetchall(), [(4,)], "INSERT ... SELECT leaving it out")
    cur.execute("INSERT INTO ida OVERRIDING SYSTEM VALUE VALUES (5, 100000) RETURNING id")
    eq(cur.fetchall(), [(100000,)], "OVERRIDING SYSTEM VALUE keeps the value")
    cur.execute("INSERT INTO ida (id, v) OVERRIDING SYSTEM VALUE SELECT 100001, 6")
    for sql in ("INSERT INTO ida VALUES (8, 42)",
                "INSERT INTO ida VALUES (8, DEFAULT), (9, 43)",
                "INSERT INTO ida (id, v) SELECT 44, 10"):
        e = expect_sqlstate(lambda: cur.execute(sql), "428C9", sql)
        eq(e.diag.message_primary, 'cannot insert a non-DEFAULT value into column "id"', sql)
        eq(e.diag.message_detail,
           'Column "id" is an identity column defined as GENERATED ALWAYS.', sql)
        eq(e.diag.message_hint, "Use OVERRIDING SYSTEM VALUE to override.", sql)
    expect_sqlstate(lambda: cur.execute("INSERT INTO ida OVERRIDING USER VALUE VALUES (1, 5)"),
                    "0A000", "OVERRIDING USER VALUE would move the row off its shard")
    cur.execute("SELECT id, v, note FROM ida ORDER BY v")
    rows = cur.fetchall()
    eq([r[1] for r in rows], [1, 2, 3, 4, 5, 6, 7], "rows")
    eq(len(set(r[0] for r in rows)), 7, "ids distinct")
    for rid, v, note in rows:
        cur.execute("SELECT v, note FROM ida WHERE id = %s", (rid,))
        eq(cur.fetchall(), [(v, note)], "routed read of id %d" % rid)
    cur.execute("CREATE TABLE dfv (id bigserial PRIMARY KEY, at timestamptz DEFAULT now(), "
                "n int DEFAULT 1)")
    cur.execute("SELECT create_distributed_table('dfv', 'id')")
    for _ in range(3):
        cur.execute("INSERT INTO dfv DEFAULT VALUES RETURNING id, n")
    cur.execute("SELECT id, n, at IS NOT NULL FROM dfv")
    rows = cur.fetchall()
    eq(len(set(r[0] for r in rows)), 3, "serial ids distinct")
    eq(set((r[1], r[2]) for r in rows), {(1, True)}, "other defaults taken")
    for rid, _, _ in rows:
        cur.execute("SELECT count(*) FROM dfv WHERE id = %s", (rid,))
        eq(cur.fetchall(), [(1,)], "routed read of id %d" % rid)
    # no default at all: the value is NULL, as on PostgreSQL (the NULL shard, or 23502)
    cur.execute("CREATE TABLE dfn (k int PRIMARY KEY, v int DEFAULT 1)")
    cur.execute("SELECT create_distributed_table('dfn', 'k')")
    for sql in ("INSERT INTO dfn DEFAULT VALUES", "INSERT INTO dfn (v) VALUES (2)",
                "INSERT INTO dfn VALUES (DEFAULT, 3)"):
        e = expect_sqlstate(lambda: cur.execute(sql), "23502", sql)
        eq(e.diag.column_name, "k", sql)
    cur.execute("CREATE TABLE dfz (k int, v int DEFAULT 1)")
    cur.execute("SELECT create_distributed_table('dfz', 'k')")
    cur.execute("INSERT INTO dfz DEFAULT VALUES")
    cur.execute("INSERT INTO dfz (v) VALUES (2), (3)")
    cur.execute("INSERT INTO dfz VALUES (DEFAULT, 4), (10, 5)")
    cur.copy_expert("COPY dfz (v) FROM STDIN", io.StringIO("6\n7\n"))
    cur.copy_expert("COPY dfz (v) FROM STDIN (FORMAT csv)", io.StringIO("8\n"))
    cur.execute("SELECT k, v FROM dfz ORDER BY v")
    eq(cur.fetchall(), [(None, 1), (None, 2), (None, 3), (None, 4), (10, 5), (None, 6), (None, 7),
                        (None, 8)], "NULL keys")
    cur.execute("SELECT count(*) FROM dfz WHERE k IS NULL")
    eq(cur.fetchall(), [(7,)], "NULL keys found")
    e = expect_sqlstate(lambda: cur.copy_expert("COPY dfn (v) FROM STDIN", io.StringIO("1\n")),
                        "23502", "COPY leaving out a NOT NULL key")
    eq(e.diag.column_name, "k", "COPY 23502 column")
    expect_sqlstate(lambda: cur.copy_expert("COPY dfv (n) FROM STDIN", io.StringIO("1\n")),
                    "0A000", "COPY leaving out a serial key (not drawn yet)")
    # a default the gateway cannot evaluate: refused rather than routed wrong
    cur.execute("CREATE TABLE dfc (k int DEFAULT 5, v int)")
    cur.execute("SELECT create_distributed_table('dfc', 'k')")
    expect_sqlstate(lambda: cur.execute("INSERT INTO dfc (v) VALUES (1)"), "0A000",
                    "a default other than a sequence")
    expect_sqlstate(lambda: cur.copy_expert("COPY dfc (v) FROM STDIN", io.StringIO("1\n")),
                    "0A000", "COPY: a default other than a sequence")
    cur.execute("CREATE TABLE gax (k int PRIMARY KEY, n bigint GENERATED ALWAYS AS IDENTITY, "
                "v int)")
    cur.execute("SELECT create_distributed_table('gax', 'k')")
    for sql in ("INSERT INTO gax VALUES (1, 55, 1)", "INSERT INTO gax (v, n, k) VALUES (1, 55, 1)",
                "INSERT INTO gax SELECT 4, 5, 6"):
        e = expect_sqlstate(lambda: cur.execute(sql), "428C9", sql)
        eq(e.diag.message_primary, 'cannot insert a non-DEFAULT value into column "n"', sql)
    cur.execute("INSERT INTO gax VALUES (2, DEFAULT, 1)")
    cur.execute("INSERT INTO gax (k, v) VALUES (3, 1)")
    cur.execute("INSERT INTO gax (k, n, v) OVERRIDING SYSTEM VALUE VALUES (4, 900, 1)")
    cur.execute("SELECT k, n = 900 FROM gax ORDER BY k")
    eq(cur.fetchall(), [(2, False), (3, False), (4, True)], "identity not the distribution column")
    cur.execute("DROP TABLE ida, dfv, dfn, dfz, dfc, gax")


if __name__ == "__main__":
    harness.main(nodes=3)
