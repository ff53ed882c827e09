"""Session pooling (pool_mode = session): a client session keeps its backend
connections between transactions, so what PostgreSQL keeps per connection
works across statements (temporary tables, SQL-level PREPARE on local
tables, pg_backend_pid(), advisory locks), and none of it reaches the next
session that gets the connection (DISCARD ALL on the way back to the pool).
The cluster's gateway runs with pool_mode = session."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test  # noqa: E402


@test
def connection_state_survives_transactions(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.execute("CREATE TEMP TABLE sp_tmp (x int)")
    cur.execute("INSERT INTO sp_tmp VALUES (1), (2)")
    cur.execute("PREPARE sp_p (int) AS SELECT x + $1 FROM sp_tmp ORDER BY x")
    cur.execute("SELECT pg_advisory_lock(4242)")
    for _ in range(5):
        cur.execute("EXECUTE sp_p(10)")
        eq(cur.fetchall(), [(11,), (12,)], "temp table and prepared statement")
        cur.execute("SELECT pg_backend_pid()")
        eq(cur.fetchone()[0], pid, "same backend for every statement")
    # a second session has its own backend and does not see the first one's state
    g2 = c.gw()
    cur2 = g2.cursor()
    cur2.execute("SELECT pg_backend_pid()")
    assert cur2.fetchone()[0] != pid, "two sessions share a backend"
    cur2.execute("SELECT pg_try_advisory_lock(4242)")
    eq(cur2.fetchone()[0], False, "advisory lock held by the first session")
    g2.close()
    cur.execute("SELECT pg_advisory_unlock(4242)")
    g.close()


@test
def state_does_not_leak_to_the_next_session(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("SET application_name = 'sp_first'")
    cur.execute("SELECT pg_backend_pid()")
    pid = cur.fetchone()[0]
    cur.execute("CREATE TEMP TABLE sp_leak (x int)")
    cur.execute("PREPARE sp_leak_p AS SELECT 1")
    g.close()
    time.sleep(0.5)  # its connection goes back after DISCARD ALL
    # the next sessions reuse pooled connections (the last one returned first), reset
    seen = False
    for _ in range(4):
        g2 = c.gw()
        cur2 = g2.cursor()
        cur2.execute("SELECT pg_backend_pid()")
        seen = seen or cur2.fetchone()[0] == pid
        cur2.execute("SELECT count(*) FROM pg_class WHERE relname = 'sp_leak' "
                     "AND relpersistence = 't'")
        eq(cur2.fetchone()[0], 0, "temp table of an earlier session")
        cur2.execute("SELECT count(*) FROM pg_prepared_statements WHERE name = 'sp_leak_p'")
        eq(cur2.fetchone()[0], 0, "prepared statement of an earlier session")
        cur2.execute("SHOW application_name")
        assert cur2.fetchone()[0] != "sp_first", "setting of an earlier session"
        g2.close()
    assert seen, "the first session's backend was never reused"


@test
def distributed_work_in_session_mode(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE sp_d (id int PRIMARY KEY, v int)")
    cur.execute("SELECT create_distributed_table('sp_d', 'id')")
    cur.execute("INSERT INTO sp_d VALUES " + ",".join("(%d, %d)" % (i, i) for i in range(1, 201)))
    g.autocommit = False
    for i in range(1, 21):
        cur.execute("UPDATE sp_d SET v = v + 1 WHERE id = %s", (i,))
    g.commit()
    g.autocommit = True
    cur.execute("SELECT sum(v), count(*) FROM sp_d")
    eq(cur.fetchone(), (sum(range(1, 201)) + 20, 200), "sum after the transaction")
    # a failed transaction does not poison the kept connections
    g.autocommit = False
    try:
        cur.execute("INSERT INTO sp_d VALUES (1, 1)")
        raise AssertionError("duplicate key accepted")
    except Exception as e:  # noqa: BLE001
        assert "duplicate" in str(e), e
    g.rollback()
    g.autocommit = True
    cur.execute("SELECT count(*) FROM sp_d")
    eq(cur.fetchone()[0], 200, "rows after the rollback")
    cur.execute("DROP TABLE sp_d")


if __name__ == "__main__":
    # one loop: pools are per loop, and the reuse test needs the next session on the same one
    harness.main(nodes=2, gateway_set=["pool_mode=session", "loops=1"])
