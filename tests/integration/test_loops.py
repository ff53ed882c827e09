"""One event loop per core (`loops`): this cluster's gateway runs three loops
on a two-core machine, so sessions land on different loops and everything
that crosses loops is exercised: CancelRequest for a session on another loop,
catalog changes made through one loop seen by the next statement on every
loop, shardgate_transactions() listing every loop's sessions, a distributed
deadlock between sessions on different loops, and a clean shutdown (the
harness fails the file on any sanitizer report)."""

import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, test  # noqa: E402

import psycopg2  # noqa: E402

LOOPS = 3


def spread(conns):
    """the loops serving conns (BackendKeyData pid modulo the loop count)"""
    return sorted(set(g.get_backend_pid() % LOOPS for g in conns))


@test
def sessions_spread_over_loops(c):
    conns = [c.gw() for _ in range(24)]
    loops = spread(conns)
    assert len(loops) >= 2, "24 sessions all on loop %r" % loops
    for g in conns:
        cur = g.cursor()
        cur.execute("SELECT 1")
        eq(cur.fetchone(), (1,), "a session on loop %d" % (g.get_backend_pid() % LOOPS))
        g.close()


@test
def sessions_balanced_over_loops(c):
    # the kernel's SO_REUSEPORT hash alone leaves 30 sessions over 3 loops
    # uneven most of the time (10 +- 2.6 each); the gateway hands a new
    # connection to the loop with the fewest, so they come out even
    time.sleep(0.5)  # sessions of the tests before have been closed
    conns = [c.gw() for _ in range(30)]
    per_loop = [0] * LOOPS
    for g in conns:
        per_loop[g.get_backend_pid() % LOOPS] += 1
    for g in conns:
        g.close()
    assert max(per_loop) - min(per_loop) <= 2, "30 sessions per loop: %r" % per_loop


@test
def catalog_change_seen_by_every_loop(c):
    conns = [c.gw() for _ in range(12)]
    assert len(spread(conns)) >= 2, "sessions on one loop only"
    for round_ in range(3):
        name = "lp_cat_%d" % round_
        owner = conns[round_]
        cur = owner.cursor()
        cur.execute("CREATE TABLE %s (id int PRIMARY KEY, v int)" % name)
        cur.execute("SELECT create_distributed_table('%s', 'id')" % name)
        # at once, from every loop: the rows must go to the shards, not the shell
        for i, g in enumerate(conns):
            g.cursor().execute("INSERT INTO %s VALUES (%d, %d)" % (name, i, i))
        eq(c.rows(c.node(1), "SELECT count(*) FROM %s" % name), [(0,)],
           "%s: shell empty (every loop routed)" % name)
        cur.execute("SELECT count(*) FROM %s" % name)
        eq(cur.fetchone()[0], len(conns), name)
        cur.execute("DROP TABLE %s" % name)
    for g in conns:
        g.close()


@test
def cancel_reaches_the_session_on_any_loop(c):
    conns = [c.gw() for _ in range(12)]
    assert len(spread(conns)) >= 2, "sessions on one loop only"
    for g in conns:
        err = []

        def run():
            try:
                g.cursor().execute("SELECT pg_sleep(30)")
            except psycopg2.Error as e:  # noqa: PERF203
                err.append(e.pgcode)

        t = threading.Thread(target=run)
        t0 = time.monotonic()
        t.start()
        time.sleep(0.3)
        g.cancel()  # a new connection: whichever loop accepts it
        t.join(10)
        eq(err, ["57014"], "cancelled (session on loop %d)" % (g.get_backend_pid() % LOOPS))
        assert time.monotonic() - t0 < 8, "cancel took too long"
        g.rollback()
        g.close()


@test
def transactions_listed_from_every_loop(c):
    conns = [c.gw(autocommit=False) for _ in range(12)]
    assert len(spread(conns)) >= 2, "sessions on one loop only"
    for g in conns:
        g.cursor().execute("SELECT 1")  # inside a block now
    watcher = c.gw()
    cur = watcher.cursor()
    cur.execute("SELECT shardgate_transactions()")
    pids = sorted(int(r[0]) for r in cur.fetchall())
    eq(pids, sorted(g.get_backend_pid() for g in conns), "sessions in transactions")
    for g in conns:
        g.rollback()
        g.close()
    watcher.close()


@test
def deadlock_across_loops(c):
    g = c.gw()
    cur = g.cursor()
    cur.execute("CREATE TABLE lp_dl (id int PRIMARY KEY, v int)")
    cur.execute("SELECT create_distributed_table('lp_dl', 'id')")
    cur.execute("INSERT INTO lp_dl VALUES " + ",".join("(%d, 0)" % i for i in range(1, 61)))
    # two keys whose shards are on different nodes, read on the nodes themselves
    k1 = k2 = None
    for k in (1, 2, 3):
        q = c.rows(c.node(k), "SELECT string_agg(format('SELECT id FROM %I.lp_dl', n.nspname), "
                              "' UNION ALL ') FROM pg_class r JOIN pg_namespace n "
                              "ON n.oid = r.relnamespace WHERE r.relname = 'lp_dl' "
                              "AND n.nspname LIKE 'sg_g%'")[0][0]
        ids = [r[0] for r in c.rows(c.node(k), q)] if q else []
        if ids and k1 is None:
            k1 = ids[0]
        elif ids and k2 is None:
            k2 = ids[0]
    assert k1 is not None and k2 is not None, "no two keys on different nodes"
    # a pair of sessions on different loops
    pool = [c.gw(autocommit=False) for _ in range(16)]
    a = pool[0]
    b = next((x for x in pool[1:] if x.get_backend_pid() % LOOPS != a.get_backend_pid() % LOOPS),
             None)
    assert b is not None, "no second loop"
    a.cursor().execute("UPDATE lp_dl SET v = 1 WHERE id = %d" % k1)
    b.cursor().execute("UPDATE lp_dl SET v = 2 WHERE id = %d" % k2)
    codes = []

    def cross(conn, key):
        try:
            conn.cursor().execute("UPDATE lp_dl SET v = 3 WHERE id = %d" % key)
            conn.commit()
            codes.append("ok")
        except psycopg2.Error as e:  # noqa: PERF203
            codes.append(e.pgcode)
            conn.rollback()

    ta = threading.Thread(target=cross, args=(a, k2))
    tb = threading.Thread(target=cross, args=(b, k1))
    ta.start()
    time.sleep(0.2)
    tb.start()
    ta.join(20)
    tb.join(20)
    eq(sorted(codes), ["40P01", "ok"], "one victim, one commit")
    for x in pool:
        x.close()
    cur.execute("DROP TABLE lp_dl")


if __name__ == "__main__":
    harness.main(nodes=3, gateway_set=["loops=%d" % LOOPS])
