"""pool_size is one limit for all of the gateway's loops: a node sees at most
pool_size backends of a (user, database) however many loops the gateway
runs. The gateway here runs two loops with pool_size = 2, pool_idle = 2 and
a 3 s queue timeout, in front of one node.

- eight sessions, four per loop, all running statements at once, never make
  the node hold more than two of the gateway's backends;
- connections another loop holds idle move to a loop whose client waits:
  at once beyond an even share of the slots, after 10 ms idle within it
  (without that, the client would time out with 53300); they move as they
  are, the same backends (no backend starts on the node);
- two loops whose clients all keep running statements split the slots, and
  every client gets served (without that, one loop keeps both and the other's
  clients time out), passing backends between them rather than starting new
  ones;
- pool_idle, too, counts over all loops;
- a restart of the node while the loops compete for the slots (and hand
  connections over) is an error for the statements it touches: every
  session goes on, and the pools fill again within the limit.

shardgate_pools() shows each loop's pools and the count over all loops."""

import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test  # noqa: E402

import psycopg2  # noqa: E402

LOOPS = 2
POOL = 2
WAIT_MS = 3000
# Each test logs in as a role of its own, so its pools (per node, user, database) start
# empty and nothing else the harness runs through the gateway takes their slots.
ROLES = ("sg_ps_limit", "sg_ps_idle", "sg_ps_busy", "sg_ps_idlecap", "sg_ps_restart")


def pids_sql(role):
    return ("SELECT pid FROM pg_stat_activity WHERE usename = '%s' "
            "AND pid <> pg_backend_pid() ORDER BY pid" % role)


def make_roles(c):
    n = c.node(1)
    for r in ROLES:
        if not c.scalar(n, "SELECT count(*) FROM pg_roles WHERE rolname = %s", (r,)):
            c.execute(n, "CREATE ROLE %s LOGIN SUPERUSER" % r)
    n.close()


def loop_of(g):
    return g.get_backend_pid() % LOOPS


def sessions_per_loop(c, role, per_loop):
    """per_loop sessions of role on each loop (the gateway balances new connections)"""
    by_loop = {k: [] for k in range(LOOPS)}
    spare = []
    while min(len(v) for v in by_loop.values()) < per_loop:
        g = c.gw(user=role)
        lst = by_loop[loop_of(g)]
        (lst if len(lst) < per_loop else spare).append(g)
        assert len(spare) < 20, "cannot get %d sessions on every loop" % per_loop
    for g in spare:
        g.close()
    return by_loop


def backend_pids(c, role):
    """the node's process ids of the gateway's connections for role on node 1"""
    n = c.node(1)
    try:
        return [r[0] for r in c.rows(n, pids_sql(role))]
    finally:
        n.close()


def gateway_backends(c, role):
    """the gateway's pooled connections for role on node 1"""
    return len(backend_pids(c, role))


class Sampler(threading.Thread):
    """the highest count of the gateway's backends on node 1 while it runs, and every
    backend pid seen"""

    def __init__(self, c, role):
        super().__init__()
        self.c = c
        self.sql = pids_sql(role)
        self.peak = 0
        self.pids = set()
        self.stop = threading.Event()

    def run(self):
        n = self.c.node(1)
        cur = n.cursor()
        while not self.stop.is_set():
            cur.execute(self.sql)
            pids = [r[0] for r in cur.fetchall()]
            self.peak = max(self.peak, len(pids))
            self.pids.update(pids)
            time.sleep(0.02)
        n.close()

    def finish(self):
        self.stop.set()
        self.join(10)
        return self.peak


def run_all(sessions, body):
    """body(g) in a thread per session; the errors (SQLSTATE or text) they raised"""
    errors = []

    def one(g):
        try:
            body(g)
        except psycopg2.Error as e:
            errors.append("loop %d: %s %s" % (loop_of(g), e.pgcode, str(e).strip()))

    threads = [threading.Thread(target=one, args=(g,)) for g in sessions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


@test
def limit_holds_across_loops(c):
    make_roles(c)
    role = ROLES[0]
    by_loop = sessions_per_loop(c, role, 4)
    sessions = by_loop[0] + by_loop[1]
    sampler = Sampler(c, role)
    sampler.start()

    def body(g):
        cur = g.cursor()
        for _ in range(3):
            cur.execute("SELECT pg_sleep(0.3)")

    errors = run_all(sessions, body)
    peak = sampler.finish()
    for g in sessions:
        g.close()
    eq(errors, [], "statements of 8 sessions on 2 loops")
    # one limit: 2, not 2 per loop; and the pool was used to its limit
    eq(peak, POOL, "the gateway's backends on node 1 at the busiest moment")
    # the operator view: this role's pool on each loop, their connections summing to the
    # shared count, which the node sees
    g = c.gw()
    rows = [r for r in c.rows(g, "SELECT shardgate_pools()") if r[1] == role]
    e = harness.expect_sqlstate(lambda: c.rows(g, "SELECT * FROM shardgate_pools()"), "0A000",
                                "the view inside another statement")
    assert "shardgate_pools must be called alone" in str(e), str(e)
    eq(c.scalar(g, "SELECT 1"), 1, "the session after the error")
    g.close()
    eq(sorted(r[3] for r in rows), list(range(LOOPS)), "loops with a pool for %s" % role)
    for r in rows:
        eq((r[0], r[2], r[6], r[8]), (1, "postgres", 0, POOL), "node, database, waiting, limit")
        eq(r[7], sum(x[4] for x in rows), "open_all_loops against the loops' open")
    eq(rows[0][7], gateway_backends(c, role), "open_all_loops against node 1's backends")


@test
def idle_connections_move_to_a_waiting_loop(c):
    make_roles(c)
    role = ROLES[1]
    by_loop = sessions_per_loop(c, role, 2)
    # loop 0's two sessions at once: its pool opens both slots, then keeps them idle
    errors = run_all(by_loop[0], lambda g: g.cursor().execute("SELECT pg_sleep(0.3)"))
    eq(errors, [], "loop 0's statements")
    before = backend_pids(c, role)
    eq(len(before), POOL, "backends after loop 0's statements")
    # loop 1's client finds no slot free: loop 0 holds more than its share (1 of 2) and
    # must give one up at once
    a, b = by_loop[1]
    t0 = time.monotonic()
    c.execute(a, "BEGIN")
    eq(c.scalar(a, "SELECT 41 + 1"), 42, "a transaction on loop 1")
    took = time.monotonic() - t0
    assert took < WAIT_MS / 2000.0, "loop 1's statement waited %.2f s for a connection" % took
    # a holds its connection; b needs the second one, which loop 0 keeps idle within its
    # share: an idle connection is given up when another loop waits
    t0 = time.monotonic()
    eq(c.scalar(b, "SELECT 43"), 43, "a second session on loop 1")
    took = time.monotonic() - t0
    assert took < WAIT_MS / 2000.0, "loop 1's second session waited %.2f s" % took
    # loop 0 handed its connections over as they were: the same two backends, none started
    eq(backend_pids(c, role), before, "node 1's backends for loop 1's sessions")
    c.execute(a, "COMMIT")
    for lst in by_loop.values():
        for x in lst:
            x.close()


@test
def busy_loops_split_the_slots(c):
    make_roles(c)
    role = ROLES[2]
    by_loop = sessions_per_loop(c, role, 3)
    done = {k: 0 for k in range(LOOPS)}
    lock = threading.Lock()
    run_s = 2.5 * WAIT_MS / 1000.0  # longer than a queue timeout
    until = time.monotonic() + run_s
    sampler = Sampler(c, role)
    sampler.start()

    def body(g):
        cur = g.cursor()
        while time.monotonic() < until:
            cur.execute("SELECT pg_sleep(0.05)")
            with lock:
                done[loop_of(g)] += 1

    # loop 0's clients first, so its pool holds both slots when loop 1's clients come
    errors = []
    first = threading.Thread(target=lambda: errors.extend(run_all(by_loop[0], body)))
    first.start()
    harness.wait_until(lambda: gateway_backends(c, role) == POOL, what="loop 0 holds both")
    time.sleep(0.3)
    errors.extend(run_all(by_loop[1], body))
    first.join(30)
    peak = sampler.finish()
    for lst in by_loop.values():
        for g in lst:
            g.close()
    eq(errors, [], "6 sessions on 2 loops, each running statements for %.1f s" % run_s)
    assert min(done.values()) > 0, "statements per loop: %r" % done
    assert peak <= POOL, "the gateway had %d backends on node 1" % peak
    # the slots moved between the loops with their backends: no backend started after the
    # first two
    eq(len(sampler.pids), POOL, "backends node 1 started for the gateway")


def restart_gateway_with(c, setting):
    """stop the gateway (by its pid) and start it again with one setting changed"""
    pid = c.gateway_pid()
    os.kill(pid, signal.SIGTERM)
    harness.wait_until(lambda: not c.gateway_alive(), timeout=20, what="the gateway stopped")
    c.script("up", "--dir", c.dir, "--gateway-bin", harness.SG_BIN, "--gateway-set", setting)
    harness.wait_until(c._gw_answers, timeout=30, what="the restarted gateway")


@test
def pool_idle_counts_over_all_loops(c):
    make_roles(c)
    role = ROLES[3]
    # pool_idle below pool_size, which the other tests here need equal
    restart_gateway_with(c, "pool_idle=1")
    try:
        by_loop = sessions_per_loop(c, role, 1)
        # a transaction on each loop holds one of the 2 slots; when both end, both
        # connections are idle: pool_idle 1 over all loops keeps one (per loop, each loop's
        # pool would keep its own, 2 in all)
        a, b = by_loop[0][0], by_loop[1][0]
        for g in (a, b):
            c.execute(g, "BEGIN")
            eq(c.scalar(g, "SELECT 1"), 1, "a transaction on loop %d" % loop_of(g))
        eq(gateway_backends(c, role), POOL, "backends while both transactions are open")
        for g in (a, b):
            c.execute(g, "COMMIT")
        harness.wait_until(lambda: gateway_backends(c, role) <= 1, timeout=5,
                           what="one backend left idle")
        rows = [r for r in c.rows(a, "SELECT shardgate_pools()") if r[1] == role]
        eq(sum(r[5] for r in rows), 1, "idle connections in the loops' pools")
        eq(sum(r[4] for r in rows), 1, "open connections in the loops' pools")
        for g in (a, b):
            g.close()
    finally:
        restart_gateway_with(c, "pool_idle=%d" % POOL)


@test
def node_restart_while_loops_compete(c):
    make_roles(c)
    role = ROLES[4]
    by_loop = sessions_per_loop(c, role, 3)
    sessions = by_loop[0] + by_loop[1]
    codes = []
    closed = []
    lock = threading.Lock()
    stop = threading.Event()
    done = {id(g): 0 for g in sessions}

    def body(g):
        cur = g.cursor()
        while not stop.is_set():
            try:
                cur.execute("SELECT pg_sleep(0.02)")
                with lock:
                    done[id(g)] += 1
            except psycopg2.Error as e:
                if g.closed:
                    with lock:
                        closed.append("loop %d: %s" % (loop_of(g), str(e).strip()))
                    return
                with lock:
                    codes.append(e.pgcode)
                time.sleep(0.05)

    threads = [threading.Thread(target=body, args=(g,)) for g in sessions]
    for t in threads:
        t.start()
    try:
        time.sleep(1.0)  # the loops share the two slots by now
        c.restart_node(1, down_s=0.5)
        with lock:
            before = dict(done)
        # every session runs statements again once the node is back
        harness.wait_until(lambda: all(done[k] > before[k] for k in done), timeout=15,
                           what="every session's statements after the restart")
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    eq(closed, [], "client sessions the gateway closed")
    assert c.gateway_alive(), "the gateway died"
    # the statements the restart touched failed as PostgreSQL's clients see it: the node's
    # shutdown (57P01), a lost connection (08006), or a node not yet accepting (57P03)
    assert set(codes) <= {"57P01", "08006", "57P03"}, "errors during the restart: %r" % codes
    assert gateway_backends(c, role) <= POOL, "more backends than pool_size after the restart"
    for g in sessions:
        eq(c.scalar(g, "SELECT 7"), 7, "a statement after the restart")
        g.close()


if __name__ == "__main__":
    harness.main(nodes=1, gateway_set=["loops=%d" % LOOPS, "pool_size=%d" % POOL,
                                       "pool_idle=%d" % POOL,
                                       "pool_wait_timeout_ms=%d" % WAIT_MS])
