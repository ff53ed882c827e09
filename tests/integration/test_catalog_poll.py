"""The gateway's catalog poll (every catalog_poll_ms, 200 ms here) keeps one
connection to the metadata node (node 1) instead of opening one per poll: a
gateway per application pod polling every second would otherwise make node 1
start a backend per gateway per second. After node 1 restarts, the next poll
opens a new connection and changes made there are loaded again."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402

POLL_MS = 200
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


def pg_ctl(c, *args):
    harness.run_as_postgres([os.path.join(harness.PG_BIN, "pg_ctl")] + list(args) +
                            ["-D", os.path.join(c.dir, "node1")])


@test
def poll_follows_a_restart_of_node1(c):
    before = poll_backends(c)
    pg_ctl(c, "stop", "-m", "fast", "-w")
    pg_ctl(c, "start", "-w", "-l", os.path.join(c.dir, "node1.log"))
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


if __name__ == "__main__":
    harness.main(nodes=2, gateway_set=["catalog_poll_ms=%d" % POLL_MS, "log_level=info"])
