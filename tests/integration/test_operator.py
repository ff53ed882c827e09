"""Operator functions: SELECT shardgate_transactions() lists this gateway's
transactions in flight; SELECT shardgate_prepared_transactions() lists the in-doubt
2PC transactions (sg_*) on every node, recover_prepared_transactions()
resolves them now, by the commit log (Citus's name and result: the number
resolved)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test  # noqa: E402


def prepare_on_node(c, k, gid, sql):
    conn = c.node(k)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("BEGIN")
    cur.execute(sql)
    cur.execute("PREPARE TRANSACTION '%s'" % gid)
    conn.close()


@test
def list_and_recover_in_doubt(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE op_t (k int PRIMARY KEY, v text)")
    # two in-doubt participants of made-up transactions: one decided (commit log row on its
    # decider, node 1), one never decided (no row: must roll back)
    n1 = c.node(1)
    n1.autocommit = True
    n1.cursor().execute("INSERT INTO shardgate.commit_log (gid, outcome) "
                        "VALUES ('sg_0000aaaa0000_7_1', 'c')")
    prepare_on_node(c, 2, "sg_0000aaaa0000_7_1_2", "INSERT INTO op_t VALUES (1, 'decided')")
    prepare_on_node(c, 3, "sg_0000aaaa0000_8_1_3", "INSERT INTO op_t VALUES (2, 'undecided')")

    cur.execute("SELECT shardgate_prepared_transactions()")  # columns node_id, gid, prepared
    eq(sorted((r[0], r[1]) for r in cur.fetchall()),
       [(2, "sg_0000aaaa0000_7_1_2"), (3, "sg_0000aaaa0000_8_1_3")], "in-doubt list")
    cur.execute("SELECT recover_prepared_transactions()")
    eq(cur.fetchone()[0], 2, "resolved count")
    cur.execute("SELECT shardgate_prepared_transactions()")
    eq(cur.fetchall(), [], "nothing left in doubt")
    # the decided one committed on node 2, the undecided one rolled back on node 3
    n2 = c.node(2).cursor()
    n2.execute("SELECT v FROM op_t")
    eq(n2.fetchall(), [("decided",)], "node 2 (decided: committed)")
    n3 = c.node(3).cursor()
    n3.execute("SELECT v FROM op_t")
    eq(n3.fetchall(), [], "node 3 (undecided: rolled back)")
    cur.execute("DROP TABLE op_t")


@test
def list_transactions_in_flight(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE op_d (k int PRIMARY KEY, v text)")
    cur.execute("SELECT create_distributed_table('op_d', 'k')")
    cur.execute("INSERT INTO op_d VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')")
    other = c.gw(autocommit=False)
    oc = other.cursor()
    oc.execute("UPDATE op_d SET v = 'x'")  # psycopg2 opened BEGIN: every node joins
    oc.execute("SELECT pg_backend_pid()")
    cur.execute("SELECT shardgate_transactions()")
    rows = cur.fetchall()
    eq(len(rows), 1, "one session in a transaction: %r" % (rows,))
    eq(rows[0][1], "idle in transaction", "state")
    eq(sorted(int(n) for n in rows[0][2].split(",")), [1, 2, 3], "participant nodes")
    eq(rows[0][3], 3, "writers")
    other.rollback()
    cur.execute("SELECT shardgate_transactions()")
    eq(cur.fetchall(), [], "none after ROLLBACK")
    other.close()
    cur.execute("DROP TABLE op_d")


if __name__ == "__main__":
    harness.main(nodes=3)
