"""Foundation: errors carry PostgreSQL's SQLSTATEs (and messages, compared
with a storage node running the same statement) and the session survives;
transactions that stay on one node behave like PostgreSQL; a transaction
writing on two nodes is refused (0A000) and can be rolled back.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import psycopg2  # noqa: E402
import psycopg2.extensions as ext  # noqa: E402

import harness  # noqa: E402
from harness import eq, test, expect_sqlstate, shard_rows, insert_rows  # noqa: E402

ABORTED_MSG = "current transaction is aborted, commands ignored until end of transaction block"


def error_of(conn, sql):
    """(pgcode, primary message) of running sql on conn, or None if it succeeds."""
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    except psycopg2.Error as e:
        return e.pgcode, e.diag.message_primary
    return None


def check_alive(c, g, what):
    try:
        eq(c.scalar(g, "SELECT 1"), 1, "SELECT 1 after " + what)
    except psycopg2.Error as e:
        raise AssertionError("SELECT 1 after %s failed: %s" % (what, e))


@test
def errors_match_postgres(c):
    """Statements any PostgreSQL rejects: the gateway gives the node's SQLSTATE
    and message, and the connection keeps working."""
    g = c.gw()
    n1 = c.node(1)
    try:
        c.execute(g, "CREATE TABLE e1 (id int PRIMARY KEY, v text NOT NULL)")
        c.rows(g, "SELECT create_distributed_table('e1', 'id')")
        insert_rows(g, "e1", [(i, "v%d" % i) for i in range(1, 21)])
        # (sql, SQLSTATE); the shell table public.e1 exists on node 1 so the
        # node answers the same statement with PostgreSQL's own error.
        cases = [
            ("SELEC 1", "42601"),
            ("SELECT * FROM no_such_table", "42P01"),
            ("SELECT 1/0", "22012"),
            ("SELECT * FROM e1 WHERE id = 'abc'", "22P02"),
            ("SELECT nope FROM e1 WHERE id = 1", "42703"),
            ("INSERT INTO e1 VALUES (1, 'a', 'b')", "42601"),
            ("SELECT no_such_function(1)", "42883"),
            ("SELECT 1/0 FROM e1 WHERE id = 1", "22012"),
        ]
        for sql, code in cases:
            want = error_of(n1, sql)
            eq(want is not None and want[0], code, "node 1's SQLSTATE for %r (test premise)" % sql)
            got = error_of(g, sql)
            if got is None:
                raise AssertionError("%r succeeded through the gateway; node: %r" % (sql, want))
            eq(got, want, "(SQLSTATE, message) of %r via gateway vs node" % sql)
            check_alive(c, g, repr(sql))
    finally:
        g.close()
        n1.close()


@test
def errors_on_distributed_tables(c):
    g = c.gw()
    try:
        if c.table_meta("e1") is None:
            c.execute(g, "CREATE TABLE e1 (id int PRIMARY KEY, v text NOT NULL)")
            c.rows(g, "SELECT create_distributed_table('e1', 'id')")
            insert_rows(g, "e1", [(i, "v%d" % i) for i in range(1, 21)])
        e = expect_sqlstate(lambda: c.execute(g, "INSERT INTO e1 VALUES (5, 'dup')"), "23505",
                            "duplicate key by distribution column")
        assert "duplicate key" in e.diag.message_primary, e.diag.message_primary
        check_alive(c, g, "23505")
        eq(c.rows(g, "SELECT v FROM e1 WHERE id = 5"), [("v5",)], "row 5 after the failed INSERT")

        expect_sqlstate(lambda: c.execute(g, "UPDATE e1 SET v = NULL WHERE id = 5"), "23502",
                        "NOT NULL violation by UPDATE on one shard")
        check_alive(c, g, "23502")
        # PostgreSQL: 23502; the gateway may also refuse to plan it (0A000).
        expect_sqlstate(lambda: c.execute(g, "INSERT INTO e1 (v) VALUES ('no key')"),
                        ("23502", "22004", "0A000"), "INSERT without the distribution column")
        check_alive(c, g, "INSERT without the distribution column")
        expect_sqlstate(lambda: c.execute(g, "INSERT INTO e1 VALUES (NULL, 'null key')"),
                        ("23502", "22004"), "INSERT with NULL distribution column")
        check_alive(c, g, "NULL key")

        expect_sqlstate(lambda: c.rows(g, "SELECT create_distributed_table('no_such_tbl', 'id')"),
                        "42P01", "create_distributed_table on a missing table")
        check_alive(c, g, "create_distributed_table on a missing table")
        c.execute(g, "CREATE TABLE e2 (id int PRIMARY KEY, v text)")
        expect_sqlstate(lambda: c.rows(g, "SELECT create_distributed_table('e2', 'nope')"),
                        "42703", "create_distributed_table with a missing column")
        check_alive(c, g, "create_distributed_table with a missing column")
        eq(c.table_meta("e2"), None, "catalog row for e2 after the failed create_distributed_table")
        expect_sqlstate(lambda: c.rows(g, "SELECT create_reference_table('no_such_tbl')"),
                        "42P01", "create_reference_table on a missing table")
        check_alive(c, g, "create_reference_table on a missing table")
    finally:
        g.close()
        c.drop("e2")


@test
def cross_shard_queries_are_correct_or_refused(c):
    """ORDER BY, DISTINCT, aggregates, GROUP BY and joins across shards: the
    Foundation may refuse them with 0A000 but must never answer wrongly."""
    g = c.gw()
    try:
        if c.table_meta("e1") is None:
            raise AssertionError("table e1 from errors_match_postgres is missing")
        data = {i: "v%d" % i for i in range(1, 21)}
        cases = [
            ("SELECT id, v FROM e1 ORDER BY v", sorted(data.items(), key=lambda r: r[1]), True),
            ("SELECT id FROM e1 ORDER BY id DESC LIMIT 3", [(20,), (19,), (18,)], True),
            ("SELECT id FROM e1 LIMIT 1000", sorted((i,) for i in data), False),
            ("SELECT DISTINCT length(v) FROM e1", [(2,), (3,)], False),
            ("SELECT count(*) FROM e1", [(20,)], False),
            ("SELECT max(id), min(v) FROM e1", [(20, "v1")], False),
            ("SELECT length(v), count(*) FROM e1 GROUP BY 1", [(2, 9), (3, 11)], False),
            ("SELECT a.id FROM e1 a JOIN e1 b ON a.v = b.v WHERE a.id < 4",
             [(1,), (2,), (3,)], False),
        ]
        for sql, want, ordered in cases:
            try:
                got = c.rows(g, sql)
            except psycopg2.Error as e:
                eq(e.pgcode, "0A000", "SQLSTATE of refused %r (%s)" % (sql, e.diag.message_primary))
                assert e.diag.message_primary, "0A000 for %r carries no message" % sql
                harness.log("  refused (0A000): %s -- %s" % (sql, e.diag.message_primary))
            else:
                eq(got if ordered else sorted(got), want, "result of %r" % sql)
            check_alive(c, g, repr(sql))
    finally:
        g.close()


@test
def failed_multi_row_insert_leaves_no_rows(c):
    """A multi-row INSERT whose rows go to several shards and that fails on
    one of them leaves no row behind (statement atomicity), or is refused."""
    g = c.gw()
    try:
        if c.table_meta("e1") is None:
            raise AssertionError("table e1 from errors_match_postgres is missing")
        new = list(range(101, 131))
        values = ", ".join("(%d, 'n')" % i for i in new) + ", (5, 'dup')"
        e = expect_sqlstate(lambda: c.execute(g, "INSERT INTO e1 VALUES " + values),
                            ("23505", "0A000"), "multi-row INSERT with one duplicate key")
        check_alive(c, g, "failed multi-row INSERT")
        left = sorted(r[2][0] for r in shard_rows(c, "e1", "id", "id > 100"))
        eq(left, [], "rows of the failed INSERT left on the nodes (error was %s: %s)" % (
            e.pgcode, e.diag.message_primary))
    finally:
        g.close()
        c.drop("e1")


def keys_on_nodes(c, table):
    """{key: (node_k, shard schema)} for rows of table read directly."""
    return {r[2][0]: (r[0], r[1]) for r in shard_rows(c, table, "id")}


@test
def one_node_transactions_behave_like_postgres(c):
    g = c.gw()
    other = c.gw()
    try:
        c.execute(g, "CREATE TABLE x9 (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('x9', 'id')")
        insert_rows(g, "x9", [(i, "v") for i in range(1, 101)])
        where = keys_on_nodes(c, "x9")
        c.execute(g, "TRUNCATE x9")
        ka = 1
        # another key on the same node but a different shard
        ka2 = next(k for k, (n, s) in where.items() if n == where[ka][0] and s != where[ka][1])

        def present(k):
            return c.rows(other, "SELECT v FROM x9 WHERE id = %s", (k,))

        with g.cursor() as cur:
            cur.execute("BEGIN")
            eq(g.info.transaction_status, ext.TRANSACTION_STATUS_INTRANS, "status after BEGIN")
            cur.execute("INSERT INTO x9 VALUES (%s, 'a')", (ka,))
            cur.execute("SELECT v FROM x9 WHERE id = %s", (ka,))
            eq(cur.fetchall(), [("a",)], "own uncommitted row inside the transaction")
            eq(present(ka), [], "uncommitted row seen by another session")
            cur.execute("ROLLBACK")
            eq(cur.statusmessage, "ROLLBACK", "tag of ROLLBACK")
            eq(g.info.transaction_status, ext.TRANSACTION_STATUS_IDLE, "status after ROLLBACK")
        eq(present(ka), [], "row after ROLLBACK")
        eq(shard_rows(c, "x9", "id"), [], "rows on the nodes after ROLLBACK")

        with g.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("INSERT INTO x9 VALUES (%s, 'a')", (ka,))
            cur.execute("INSERT INTO x9 VALUES (%s, 'b')", (ka2,))
            cur.execute("UPDATE x9 SET v = 'a2' WHERE id = %s", (ka,))
            eq(present(ka), [], "uncommitted row seen by another session")
            cur.execute("COMMIT")
            eq(cur.statusmessage, "COMMIT", "tag of COMMIT")
        eq(present(ka), [("a2",)], "row ka after COMMIT")
        eq(present(ka2), [("b",)], "row ka2 (same node, other shard) after COMMIT")

        # An error aborts the transaction: 25P02 until ROLLBACK, which recovers.
        with g.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE x9 SET v = 'lost' WHERE id = %s", (ka,))
            expect_sqlstate(lambda: cur.execute("SELECT 1/0"), "22012", "division by zero in txn")
            eq(g.info.transaction_status, ext.TRANSACTION_STATUS_INERROR, "status after error")
            e = expect_sqlstate(lambda: cur.execute("SELECT v FROM x9 WHERE id = %s", (ka,)),
                                "25P02", "statement after an error in the transaction")
            eq(e.diag.message_primary, ABORTED_MSG, "message of 25P02")
            expect_sqlstate(lambda: cur.execute("SELECT 1"), "25P02", "SELECT 1 in failed txn")
            cur.execute("ROLLBACK")
            eq(g.info.transaction_status, ext.TRANSACTION_STATUS_IDLE, "status after ROLLBACK")
            cur.execute("SELECT 1")
            eq(cur.fetchall(), [(1,)], "SELECT 1 after ROLLBACK")
        eq(present(ka), [("a2",)], "row after the rolled back UPDATE")

        # COMMIT of a failed transaction rolls back and says so.
        with g.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("UPDATE x9 SET v = 'lost2' WHERE id = %s", (ka,))
            expect_sqlstate(lambda: cur.execute("INSERT INTO x9 VALUES (%s, 'dup')", (ka2,)),
                            "23505", "duplicate key in txn")
            cur.execute("COMMIT")
            eq(cur.statusmessage, "ROLLBACK", "tag of COMMIT of a failed transaction")
            eq(g.info.transaction_status, ext.TRANSACTION_STATUS_IDLE, "status after it")
        eq(present(ka), [("a2",)], "row after COMMIT of a failed transaction")

        # psycopg2's own transaction handling (implicit BEGIN).
        t = c.gw(autocommit=False)
        try:
            c.execute(t, "UPDATE x9 SET v = 'impl' WHERE id = %s", (ka,))
            t.rollback()
            eq(present(ka), [("a2",)], "row after conn.rollback()")
            c.execute(t, "UPDATE x9 SET v = 'impl' WHERE id = %s", (ka,))
            t.commit()
            eq(present(ka), [("impl",)], "row after conn.commit()")
        finally:
            t.close()
    finally:
        g.close()
        other.close()


def prepared_xacts(c):
    return [(k, r) for k, rows in enumerate(c.on_each_node(
        "SELECT gid FROM pg_prepared_xacts"), 1) for r in rows]


@test
def two_node_write_transaction_is_atomic_or_refused(c):
    """BEGIN; write on node A; write on node B: the Foundation refuses the
    second write (0A000, transaction aborted, ROLLBACK/COMMIT leave nothing);
    once two-phase commit exists it is accepted, and then ROLLBACK leaves
    nothing and COMMIT makes both rows visible on their nodes."""
    g = c.gw()
    try:
        if c.table_meta("x9") is None:
            raise AssertionError("table x9 from the previous test is missing")
        c.execute(g, "TRUNCATE x9")
        insert_rows(g, "x9", [(i, "v") for i in range(1, 101)])
        where = keys_on_nodes(c, "x9")
        c.execute(g, "TRUNCATE x9")
        ka = 1
        kb = next(k for k, (n, _s) in where.items() if n != where[ka][0])
        mode = None

        for end in ("ROLLBACK", "COMMIT"):
            with g.cursor() as cur:
                cur.execute("BEGIN")
                cur.execute("INSERT INTO x9 VALUES (%s, 'a')", (ka,))
                try:
                    cur.execute("INSERT INTO x9 VALUES (%s, 'b')", (kb,))
                except psycopg2.Error as e:
                    eq(e.pgcode, "0A000", "SQLSTATE of the refused second-node write (%s)" %
                       e.diag.message_primary)
                    harness.log("  refused: %s" % e.diag.message_primary)
                    assert e.diag.message_primary, "0A000 without a message"
                    eq(mode in (None, "refused"), True, "refused only sometimes")
                    mode = "refused"
                    eq(g.info.transaction_status, ext.TRANSACTION_STATUS_INERROR,
                       "status after the refused statement")
                    cur.execute(end)
                    eq(cur.statusmessage, "ROLLBACK", "tag of %s after the refusal" % end)
                    want = []
                else:
                    eq(mode in (None, "2pc"), True, "accepted only sometimes")
                    mode = "2pc"
                    eq(g.info.transaction_status, ext.TRANSACTION_STATUS_INTRANS, "status")
                    cur.execute("SELECT v FROM x9 WHERE id = %s", (kb,))
                    eq(cur.fetchall(), [("b",)], "own write on node B inside the transaction")
                    cur.execute(end)
                    eq(cur.statusmessage, end, "tag of " + end)
                    want = [] if end == "ROLLBACK" else sorted([ka, kb])
                eq(g.info.transaction_status, ext.TRANSACTION_STATUS_IDLE, "status after " + end)
            eq(sorted(r[2][0] for r in shard_rows(c, "x9", "id")), want,
               "rows on the nodes after the two-node transaction + %s (%s)" % (end, mode))
            eq(sorted(x for k in (ka, kb)
                      for (x,) in c.rows(g, "SELECT id FROM x9 WHERE id = %s", (k,))), want,
               "rows through the gateway after %s (%s)" % (end, mode))
            eq(prepared_xacts(c), [], "prepared transactions left on the nodes")
            check_alive(c, g, "two-node transaction")
            c.execute(g, "TRUNCATE x9")
        harness.log("  two-node write transaction: %s" % mode)

        # Reading from several nodes in a transaction that writes on one is fine.
        with g.cursor() as cur:
            cur.execute("BEGIN")
            cur.execute("SELECT v FROM x9 WHERE id = %s", (kb,))
            cur.execute("INSERT INTO x9 VALUES (%s, 'a')", (ka,))
            cur.execute("COMMIT")
            eq(cur.statusmessage, "COMMIT", "tag of COMMIT after read on B, write on A")
        eq(c.rows(g, "SELECT v FROM x9 WHERE id = %s", (ka,)), [("a",)], "row ka committed")
    finally:
        g.close()
        c.drop("x9")


if __name__ == "__main__":
    harness.main(nodes=3)
