"""Analytical suite: TPC-H-shaped queries through the gateway vs plain PostgreSQL.

The schema of tpch/schema.sql is created through the gateway (region and
nation reference tables; supplier, customer, part+partsupp, orders+lineitem
distributed, the pairs co-located) and, unchanged, in a separate database
`sg_ref` on node 1 reached directly (plain PostgreSQL). The same
deterministic data (tpch/gen.py, about 4,000 lineitems) is loaded into both
with multi-row INSERTs. Each query of tpch/queries.py (TPC-H Q1-Q22 and a
few extra shapes) runs on both; results must be identical: column names and
types, and the rows (in order when the ORDER BY is total, else as
multisets). A refusal (0A000) counts as a failure here.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tpch"))

import harness  # noqa: E402
from harness import test  # noqa: E402

import gen  # noqa: E402
import queries  # noqa: E402
import resultcmp  # noqa: E402

TPCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tpch")
REF_DB = "sg_ref"
_state = {}


def statements(path):
    text = open(path).read()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def ref_conn(c):
    return c.connect(c.node_port(1), dbname=REF_DB)


@test(timeout=120)
def load(c):
    data = gen.generate()
    g = c.gw()
    c.drop(*reversed(gen.TABLES))
    n1 = c.node(1)
    c.execute(n1, "DROP DATABASE IF EXISTS %s" % REF_DB)
    c.execute(n1, "CREATE DATABASE %s" % REF_DB)
    n1.close()
    r = ref_conn(c)
    for s in statements(os.path.join(TPCH, "schema.sql")):
        c.execute(g, s)
        c.execute(r, s)
    for s in statements(os.path.join(TPCH, "distribute.sql")):
        c.execute(g, s)
    t0 = time.monotonic()
    for t in gen.TABLES:
        for s in gen.insert_sql(t, data[t]):
            c.execute(g, s)
            c.execute(r, s)
    for t in gen.TABLES:
        c.execute(r, "ANALYZE %s" % t)
        harness.eq(c.scalar(g, "SELECT count(*) FROM %s" % t), len(data[t]), "rows in " + t)
    harness.log("  loaded %d lineitems in %.1fs" % (len(data["lineitem"]), time.monotonic() - t0))
    _state["loaded"] = True
    g.close()
    r.close()


def make_query_test(name, sql, ordered):
    def fn(c):
        if not _state.get("loaded"):
            raise harness.Skip("data not loaded")
        g, r = c.gw(), ref_conn(c)
        try:
            want = resultcmp.run(r, sql)
            got = resultcmp.run(g, sql)
            diff = resultcmp.same(got, want, ordered)
            if diff is not None:
                raise AssertionError("%s: %s" % (name, diff))
            if len(want[1]) == 0:
                harness.log("  note: %s returns no rows" % name)
        finally:
            g.close()
            r.close()
    fn.__name__ = name
    return fn


for _name, _sql, _ordered in queries.QUERIES:
    test(timeout=60)(make_query_test(_name, _sql, _ordered))


@test(timeout=60)
def writes_with_colocated_queries(c):
    """INSERT ... SELECT from a co-located table, DELETE/UPDATE with co-located
    EXISTS / FROM: per shard through the gateway, same rows as PostgreSQL; an
    INSERT ... SELECT that is not co-located: through the gateway."""
    if not _state.get("loaded"):
        raise harness.Skip("data not loaded")
    g, r = c.gw(), ref_conn(c)
    stmts = [
        "INSERT INTO lineitem_big SELECT * FROM lineitem WHERE l_quantity > 40",
        "INSERT INTO lineitem_big (l_orderkey, l_partkey, l_suppkey, l_linenumber, l_quantity, "
        "l_extendedprice, l_discount, l_tax, l_returnflag, l_linestatus, l_shipdate, "
        "l_commitdate, l_receiptdate, l_shipinstruct, l_shipmode, l_comment) "
        "SELECT o_orderkey, 0, 0, 100, 1, o_totalprice, 0, 0, 'X', 'Y', o_orderdate, "
        "o_orderdate, o_orderdate, '', '', 'from orders' FROM orders "
        "WHERE o_orderpriority = '1-URGENT' AND EXISTS (SELECT 1 FROM lineitem "
        "WHERE l_orderkey = o_orderkey AND l_returnflag = 'R')",
        "DELETE FROM lineitem_big WHERE EXISTS (SELECT 1 FROM orders WHERE o_orderkey = "
        "l_orderkey AND o_orderstatus = 'F')",
        "UPDATE lineitem_big SET l_comment = 'upd ' || o_clerk FROM orders "
        "WHERE o_orderkey = l_orderkey AND o_totalprice > 200000",
    ]
    check = ("SELECT count(*), sum(l_extendedprice), count(DISTINCT l_comment), "
             "min(l_comment), max(l_orderkey) FROM lineitem_big")
    try:
        for conn in (g, r):
            c.execute(conn, "DROP TABLE IF EXISTS lineitem_big")
            c.execute(conn, "CREATE TABLE lineitem_big (LIKE lineitem INCLUDING ALL)")
        c.execute(g, "SELECT create_distributed_table('lineitem_big', 'l_orderkey', "
                     "colocate_with => 'orders')")
        for s in stmts:
            ng, nr = c.execute(g, s), c.execute(r, s)
            harness.eq(ng, nr, "row count of: " + s)
            harness.eq(resultcmp.run(g, check), resultcmp.run(r, check), "after: " + s)
        # not co-located on the distribution column (ORDER BY / LIMIT across shards): the
        # rows move through the gateway, same rows as PostgreSQL
        s = ("INSERT INTO lineitem_big SELECT * FROM lineitem WHERE l_quantity <= 40 "
             "ORDER BY l_orderkey, l_linenumber LIMIT 5")
        harness.eq(c.execute(g, s), c.execute(r, s), "row count of: " + s)
        harness.eq(resultcmp.run(g, check), resultcmp.run(r, check), "after: " + s)
        # reading a table that is not co-located: its rows are sent with the statement
        s = "DELETE FROM lineitem_big WHERE l_partkey IN (SELECT p_partkey FROM part WHERE p_size < 5)"
        ng, nr = c.execute(g, s), c.execute(r, s)
        harness.eq(ng, nr, "row count of: " + s)
        harness.eq(resultcmp.run(g, check), resultcmp.run(r, check), "after: " + s)
    finally:
        c.drop("lineitem_big")
        c.execute(r, "DROP TABLE IF EXISTS lineitem_big")
        g.close()
        r.close()


def _stalled_pull(c, during):
    """Run a multi-stage pull of about 60 MB (SELECT count(DISTINCT v) FROM bp_big) in a
    thread; once a fragment streams, stop the merge node's backend (SIGSTOP), call
    during(gateway connection of the pull, [node connections]), resume it (SIGCONT).
    Returns the pull's result or exception."""
    import signal
    import threading
    res = {}
    g2 = c.gw()

    def pull():
        try:
            res["n"] = c.scalar(g2, "SELECT count(DISTINCT v) FROM bp_big")
        except Exception as e:  # noqa: BLE001
            res["err"] = e

    n1, n2, n3 = c.node(1), c.node(2), c.node(3)
    th = threading.Thread(target=pull)
    th.start()
    pid = None
    try:
        # the merge node's backend, once a fragment streams (node 2 holds two shards: 20 MB)
        end = time.monotonic() + 20
        while pid is None and time.monotonic() < end:
            if c.rows(n2, "SELECT 1 FROM pg_stat_activity WHERE state = 'active' "
                          "AND query LIKE 'SELECT v FROM sg_g%%'"):
                rows = c.rows(n1, "SELECT pid FROM pg_stat_activity WHERE pid <> "
                                  "pg_backend_pid() AND query LIKE 'COPY pg_temp.sg_tmp%%'")
                pid = rows[0][0] if rows else None
        assert pid is not None, "the merge node's COPY was not seen"
        os.kill(pid, signal.SIGSTOP)
        try:
            during(g2, (n1, n2, n3))
        finally:
            os.kill(pid, signal.SIGCONT)
        th.join(60)
        assert not th.is_alive(), "the pull did not finish"
        return res
    finally:
        th.join(60)
        for conn in (g2, n1, n2, n3):
            conn.close()


@test(timeout=180)
def merge_node_backpressure(c):
    """A multi-stage pull whose merge node stalls (its backend stopped with SIGSTOP): the
    gateway stops reading the fragments once about 1 MB waits for the merge node (they
    block in ClientWrite instead of being buffered whole in the gateway), then finishes
    with the right answer when the merge node goes on. Cancelled while stalled, it ends
    with 57014 once the merge node goes on, and the session works afterwards."""
    g = c.gw()
    c.drop("bp_big")
    c.execute(g, "CREATE TABLE bp_big (id int PRIMARY KEY, v text)")
    c.execute(g, "SELECT create_distributed_table('bp_big', 'id', shard_count => 6)")
    pad = "x" * 1000
    n = 60000
    for base in range(0, n, 10000):
        c.execute(g, "INSERT INTO bp_big VALUES " + ", ".join(
            "(%d, '%s%d')" % (i, pad, i) for i in range(base, base + 10000)))

    seen = []

    def blocked_fragments(g2, nodes):
        time.sleep(1.0)
        blocked = []
        for conn in nodes[1:]:
            blocked += c.rows(conn, "SELECT state, wait_event FROM pg_stat_activity "
                                    "WHERE query LIKE 'SELECT v FROM sg_g%%'")
        harness.log("  fragments while the merge node is stopped: %r" % blocked)
        seen.append(("active", "ClientWrite") in [tuple(b) for b in blocked])

    stalled = []

    def cancel(g2, nodes):
        time.sleep(0.5)
        blocked = []
        for conn in nodes[1:]:
            blocked += c.rows(conn, "SELECT state, wait_event FROM pg_stat_activity "
                                    "WHERE query LIKE 'SELECT v FROM sg_g%%'")
        stalled.append(("active", "ClientWrite") in [tuple(b) for b in blocked])
        g2.cancel()
        time.sleep(0.5)

    try:
        # the merge node must be stopped while fragments still stream: on a busy machine
        # they may all have been consumed first, so up to three tries
        for _ in range(3):
            res = _stalled_pull(c, blocked_fragments)
            if "err" in res:
                raise res["err"]
            harness.eq(res.get("n"), n, "count after the stall")
            if seen[-1]:
                break
        if not any(seen):
            raise AssertionError("no fragment ever waited for the gateway in %d tries" % len(seen))
        # cancelled while the pull is really stalled (else it may finish first): up to 3 tries
        for _ in range(3):
            res = _stalled_pull(c, cancel)
            if stalled[-1]:
                break
        if not any(stalled):
            raise AssertionError("the pull never stalled in time in %d tries" % len(stalled))
        err = res.get("err")
        if getattr(err, "pgcode", None) != "57014":
            raise AssertionError("cancelled while stalled: expected 57014, got %r" % (res,))
        harness.eq(c.scalar(g, "SELECT count(*) FROM bp_big"), n, "the gateway goes on")
    finally:
        c.drop("bp_big")
        g.close()


@test
def cleanup(c):
    c.drop(*reversed(gen.TABLES))
    n1 = c.node(1)
    c.execute(n1, "DROP DATABASE IF EXISTS %s" % REF_DB)
    n1.close()


if __name__ == "__main__":
    harness.main()
