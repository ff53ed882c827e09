"""The gateway's catalog poll (every catalog_poll_ms, 200 ms here) keeps one
connection to the metadata node (node 1) instead of opening one per poll: a
gateway per application pod polling every second would otherwise make node 1
start a backend per gateway per second. After node 1 restarts, the next poll
opens a new connection and changes made there are loaded again.

The statistics refresh and the 2PC recovery (every 300 ms here) keep their
connections to every node between runs in the same way, and open new ones
after a node restarts; so do the deadlock detector's rounds (every 200 ms
here while a statement waits)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402

POLL_MS = 200
JOB_MS = 300  # stats_interval_ms and recovery_interval_ms
JOBS = ("shardgate stats", "shardgate recovery")
DEADLOCK_MS = 200
POLL_QUERY = "SELECT version FROM shardgate.version"


def node1_sql(c, sql):
    n = c.node(1)
    try:
        cur = n.cursor()
        cur.execute(sql)
        return cur.fetchall() if cur.description else None
    finally:
        n.close()


def poll_backends(c):
    """pids of node 1's backends whose last statement is the gateway's poll"""
    rows = node1_sql(c, "SELECT pid FROM pg_stat_activity WHERE query = '%s' "
                        "AND pid <> pg_backend_pid()" % POLL_QUERY)
    return {r[0] for r in rows}


def sessions_started(c):
    return node1_sql(c, "SELECT sessions FROM pg_stat_database WHERE datname = 'postgres'")[0][0]


def job_backends(c, k, jobs=JOBS):
    """{application_name: pids} of the periodic jobs' backends on node k"""
    n = c.node(k)
    try:
        rows = c.rows(n, "SELECT application_name, pid FROM pg_stat_activity "
                         "WHERE application_name IN %s", (tuple(jobs),))
    finally:
        n.close()
    out = {}
    for app, pid in rows:
        out.setdefault(app, set()).add(pid)
    return out


def one_per_job(c, k):
    b = job_backends(c, k)
    return all(len(b.get(j, ())) == 1 for j in JOBS)


@test
def poll_keeps_one_connection(c):
    time.sleep(3 * POLL_MS / 1000.0)
    first = poll_backends(c)
    s0 = sessions_started(c)
    time.sleep(2.0)  # ten polls
    second = poll_backends(c)
    s1 = sessions_started(c)
    assert len(first) == 1, "backends answering the poll: %r" % first
    assert second == first, "the poll moved from backend %r to %r" % (first, second)
    # the two sampling connections of this test, a statistics refresh per node at most
    assert s1 - s0 <= 5, "node 1 started %d sessions during ten polls" % (s1 - s0)


@test
def periodic_jobs_keep_their_connections(c):
    g = c.gw()
    c.execute(g, "CREATE TABLE cp_stats (id int PRIMARY KEY)")  # the refresh runs with tables
    c.execute(g, "SELECT create_distributed_table('cp_stats', 'id')")
    g.close()
    for k in (1, 2):
        harness.wait_until(lambda: one_per_job(c, k), timeout=10,
                           what="a stats and a recovery backend on node %d" % k)
    before = {k: job_backends(c, k) for k in (1, 2)}
    s0 = sessions_started(c)
    time.sleep(2.0)  # six runs of each job
    after = {k: job_backends(c, k) for k in (1, 2)}
    s1 = sessions_started(c)
    assert after == before, "the jobs' backends were %r, then %r" % (before, after)
    # this test's own sampling connections to node 1: three
    assert s1 - s0 <= 4, "node 1 started %d sessions during six runs of each job" % (s1 - s0)


@test
def deadlock_rounds_keep_their_connections(c):
    a, b = c.gw(), c.gw()
    c.execute(a, "CREATE TABLE cp_lock (id int PRIMARY KEY, v int)")
    c.execute(a, "SELECT create_distributed_table('cp_lock', 'id')")
    c.execute(a, "INSERT INTO cp_lock VALUES (1, 0)")
    c.execute(a, "BEGIN")
    c.execute(a, "UPDATE cp_lock SET v = 1 WHERE id = 1")
    waited = []

    def wait_for_lock():
        c.execute(b, "UPDATE cp_lock SET v = 2 WHERE id = 1")  # blocks until a ends
        waited.append(True)

    t = threading.Thread(target=wait_for_lock)
    t.start()
    try:
        dl = ("shardgate deadlock",)

        def round_pids():
            return {k: job_backends(c, k, dl).get(dl[0], set()) for k in (1, 2)}

        harness.wait_until(lambda: all(len(p) == 1 for p in round_pids().values()),
                           timeout=10, what="a deadlock-round backend on each node")
        first = round_pids()
        for _ in range(10):  # five rounds; every sample sees the same backends
            time.sleep(0.1)
            now = round_pids()
            assert now == first, "the rounds' backends were %r, then %r" % (first, now)
    finally:
        c.execute(a, "ROLLBACK")
        t.join(10)
        a.close()
        b.close()
    assert waited, "the blocked UPDATE did not finish"


@test
def poll_follows_a_restart_of_node1(c):
    before = poll_backends(c)
    c.restart_node(1)
    # a change made on node 1 itself, as another gateway's DDL would make it
    version = node1_sql(c, "UPDATE shardgate.version SET version = version + 1 "
                           "RETURNING version")[0][0]
    want = "version %d loaded" % version
    harness.wait_until(lambda: want in c.gateway_log(), timeout=10,
                       what="the gateway to load catalog version %d" % version)
    # the load ran over the poll's connection; the next poll shows on it again
    harness.wait_until(lambda: len(poll_backends(c)) == 1, timeout=5, what="the next poll")
    after = poll_backends(c)
    assert after != before, "poll backends %r, then %r" % (before, after)
    # and the periodic jobs connect to node 1 again
    harness.wait_until(lambda: one_per_job(c, 1), timeout=10,
                       what="the stats and recovery backends back on node 1")


if __name__ == "__main__":
    harness.main(nodes=2, gateway_set=["catalog_poll_ms=%d" % POLL_MS, "log_level=info",
                                       "stats_interval_ms=%d" % JOB_MS,
                                       "recovery_interval_ms=%d" % JOB_MS,
                                       "deadlock_check_ms=%d" % DEADLOCK_MS])
