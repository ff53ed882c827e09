"""EXPLAIN and EXPLAIN ANALYZE through the gateway on distributed queries.

EXPLAIN shows the distributed plan (tier, fragments with their nodes, stages,
final query). EXPLAIN ANALYZE runs the statement: each fragment that answers
(router, fan-out, a multi-stage plan's final query) runs as the node's own
EXPLAIN ANALYZE and its lines appear under the fragment; stage fragments
show the rows and time the gateway measured; a write really writes, in the
usual transaction handling. Also: the per-query memory limit (53200).
"""

import atexit
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import eq, expect_sqlstate, test  # noqa: E402

import psycopg2  # noqa: E402

# The gateway runs with query_memory_limit = 256kB, through a wrapper that execs SG_BIN with
# the flag (scripts/cluster rewrites gateway.conf at every start).
MEMORY_LIMIT_KB = 256


def _make_wrapper():
    d = tempfile.mkdtemp(prefix="sg-explain-bin-", dir="/tmp")
    atexit.register(shutil.rmtree, d, True)  # the wrapper's directory goes with the run
    os.chmod(d, 0o755)
    path = os.path.join(d, "shardgate-memory-limit")
    with open(path, "w") as f:
        f.write("#!/bin/sh\nexec '%s' \"$@\" --set query_memory_limit=%dkB\n"
                % (harness.SG_BIN.replace("'", "'\\''"), MEMORY_LIMIT_KB))
    os.chmod(path, 0o755)
    return path


harness.SG_BIN = _make_wrapper()


def plan_lines(cur, sql, args=None):
    cur.execute(sql, args)
    eq([d[0] for d in cur.description], ["QUERY PLAN"], "column")
    eq(cur.statusmessage, "EXPLAIN", "command tag")
    return [r[0] for r in cur.fetchall()]


def has(lines, pattern, what):
    if not any(re.search(pattern, ln) for ln in lines):
        raise AssertionError("%s: no line matches %r in:\n%s" % (what, pattern, "\n".join(lines)))


def count(lines, pattern):
    return sum(1 for ln in lines if re.search(pattern, ln))


@test
def setup(c):
    g = c.gw()
    cur = g.cursor()
    c.drop("ex_t", "ex_u", "ex_r")
    cur.execute("CREATE TABLE ex_t (id int PRIMARY KEY, k int, v text)")
    cur.execute("SELECT create_distributed_table('ex_t', 'id', shard_count => 6)")
    cur.execute("CREATE TABLE ex_u (uid int PRIMARY KEY, k int)")
    cur.execute("SELECT create_distributed_table('ex_u', 'uid', shard_count => 4)")
    cur.execute("CREATE TABLE ex_r (k int PRIMARY KEY, name text)")
    cur.execute("SELECT create_reference_table('ex_r')")
    cur.execute("INSERT INTO ex_t VALUES " +
                ", ".join("(%d, %d, 'v%d')" % (i, i % 10, i) for i in range(1, 201)))
    cur.execute("INSERT INTO ex_u VALUES " +
                ", ".join("(%d, %d)" % (i, i % 7) for i in range(1, 51)))
    cur.execute("INSERT INTO ex_r VALUES " +
                ", ".join("(%d, 'n%d')" % (i, i) for i in range(10)))


@test
def explain_plain(c):
    cur = c.gw().cursor()
    lines = plan_lines(cur, "EXPLAIN SELECT * FROM ex_t WHERE k = 3")
    has(lines, r"^shardgate: fan-out", "tier")
    eq(count(lines, r"actual"), 0, "no actual figures without ANALYZE")


@test
def analyze_router(c):
    cur = c.gw().cursor()
    lines = plan_lines(cur, "EXPLAIN ANALYZE SELECT * FROM ex_t WHERE id = 7")
    has(lines, r"^shardgate: router", "tier")
    has(lines, r"^  node \d+: SELECT .*sg_g\d+_\d+\.ex_t", "fragment")
    has(lines, r"^    \(round trip from the gateway: [0-9.]+ ms\)", "gateway time")
    has(lines, r"^    Index Scan .*actual time=[0-9.]+\.\.[0-9.]+ rows=1 loops=1", "node plan")
    has(lines, r"^    Execution Time: [0-9.]+ ms", "node's execution time")
    has(lines, r"^Execution Time: [0-9.]+ ms \(shardgate", "total")


@test
def analyze_fanout(c):
    g = c.gw()
    cur = g.cursor()
    lines = plan_lines(cur, "EXPLAIN ANALYZE SELECT * FROM ex_t WHERE k = 3")
    m = re.match(r"^shardgate: fan-out to (\d+) node\(s\)", lines[0])
    assert m, lines[0]
    nodes = int(m.group(1))
    eq(count(lines, r"^  node \d+: \(?SELECT"), nodes, "one fragment per node")
    eq(count(lines, r"^    Execution Time"), nodes, "each node's figures")
    # the rows the nodes report add up to the answer
    rows = [int(m.group(1)) for ln in lines
            for m in [re.match(r"^    \S.*actual time=\S+ rows=(\d+)", ln)] if m]
    eq(sum(rows), 20, "rows of the fragments' top nodes")
    # options reach the nodes: COSTS off, TIMING off, SUMMARY off
    lines = plan_lines(cur, "EXPLAIN (ANALYZE, COSTS off, TIMING off, SUMMARY off, VERBOSE) "
                            "SELECT v FROM ex_t WHERE k = 3")
    eq(count(lines, r"cost="), 0, "COSTS off")
    eq(count(lines, r"actual time="), 0, "TIMING off")
    eq(count(lines, r"Execution Time"), 0, "SUMMARY off")
    eq(count(lines, r"round trip"), 0, "TIMING off: no gateway times either")
    has(lines, r"Output: ", "VERBOSE")
    has(lines, r"actual rows=\d+ loops=1", "rows still shown")
    # FORMAT text is fine; other formats and unknown options are refused
    plan_lines(cur, "EXPLAIN (ANALYZE, FORMAT text) SELECT * FROM ex_t")
    expect_sqlstate(lambda: cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM ex_t"),
                    "0A000", "FORMAT JSON")
    expect_sqlstate(lambda: cur.execute("EXPLAIN (ANALYZE, FOO) SELECT * FROM ex_t"),
                    "42601", "unknown option")
    # the option checks and messages are PostgreSQL's (node 1 asked directly)
    ncur = c.node(1).cursor()
    for opts, code in (("TIMING", "22023"), ("WAL", "22023"), ("ANALYZE, FOO", "42601")):
        want = expect_sqlstate(lambda: ncur.execute("EXPLAIN (%s) SELECT 1" % opts), code, opts)
        got = expect_sqlstate(lambda: cur.execute("EXPLAIN (%s) SELECT * FROM ex_t" % opts),
                              code, opts)
        eq(got.diag.message_primary, want.diag.message_primary, "message for " + opts)
    plan_lines(cur, "EXPLAIN (TIMING off) SELECT * FROM ex_t")  # allowed, as in PostgreSQL
    lines = plan_lines(cur, "EXPLAIN (ANALYZE, WAL, BUFFERS, SETTINGS) "
                            "UPDATE ex_t SET v = v WHERE id = 3")
    has(lines, r"^    Update on ", "WAL, BUFFERS, SETTINGS reach the node")


@test
def analyze_multistage(c):
    cur = c.gw().cursor()
    sql = ("SELECT t.k, count(*) FROM ex_t t JOIN ex_u u ON t.k = u.k "
           "GROUP BY t.k ORDER BY t.k")
    cur.execute(sql)
    want = cur.fetchall()
    lines = plan_lines(cur, "EXPLAIN ANALYZE " + sql)
    has(lines, r"^shardgate: multi-stage, 2 distributed", "tier")
    eq(count(lines, r"^  Stage \d+ \(actual time=[0-9.]+ ms\)"), 2, "stages ran")
    # every row of both tables was pulled: the fragments' and local shards' rows add up
    copied = [int(m.group(1)) for ln in lines
              for m in [re.match(r"^      \((?:copied|inserted): rows=(\d+)", ln)] if m]
    eq(sum(copied), 250, "rows pulled into the temporary tables")
    has(lines, r"^  Final query on node \d+: SELECT .*pg_temp\.sg_tmp_1", "final query")
    # the final query ran over the filled temporary tables: its top node has the answer's rows
    has(lines, r"^    Sort .*actual time=\S+ rows=%d loops=1" % len(want), "final plan")
    has(lines, r"^Execution Time: ", "total")
    # the temporary tables are gone and the session still works
    cur.execute(sql)
    eq(cur.fetchall(), want, "same answer after EXPLAIN ANALYZE")
    # partial aggregates and top-N through EXPLAIN ANALYZE
    lines = plan_lines(cur, "EXPLAIN ANALYZE SELECT k, count(*), avg(id) FROM ex_t GROUP BY k")
    has(lines, r"HashAggregate|GroupAggregate", "final aggregate")
    lines = plan_lines(cur, "EXPLAIN ANALYZE SELECT * FROM ex_t ORDER BY v LIMIT 3")
    has(lines, r"^    Limit .*rows=3 loops=1", "top-N final")


@test
def analyze_write(c):
    g = c.gw()
    cur = g.cursor()
    # EXPLAIN ANALYZE of a write performs it, like PostgreSQL
    lines = plan_lines(cur, "EXPLAIN ANALYZE UPDATE ex_t SET v = 'x' WHERE k = 5")
    has(lines, r"^shardgate: fan-out", "tier")
    has(lines, r"Update on ", "node plan")
    eq(c.scalar(g, "SELECT count(*) FROM ex_t WHERE v = 'x'"), 20, "rows updated")
    lines = plan_lines(cur, "EXPLAIN ANALYZE INSERT INTO ex_t VALUES (1001, 1, 'a'), (1002, 2, 'b')")
    has(lines, r"Insert on ", "insert plan")
    eq(c.scalar(g, "SELECT count(*) FROM ex_t WHERE id > 1000"), 2, "rows inserted")
    # inside a transaction block: rolled back with it
    g2 = c.gw(autocommit=False)
    cur2 = g2.cursor()
    plan_lines(cur2, "EXPLAIN ANALYZE DELETE FROM ex_t WHERE id > 1000")
    eq(c.scalar(g2, "SELECT count(*) FROM ex_t WHERE id > 1000"), 0, "deleted in the block")
    g2.rollback()
    eq(c.scalar(g, "SELECT count(*) FROM ex_t WHERE id > 1000"), 2, "rolled back")
    # a failing write reports the node's error and writes nothing
    expect_sqlstate(lambda: cur.execute("EXPLAIN ANALYZE INSERT INTO ex_t VALUES (1001, 0, 'dup')"),
                    "23505", "duplicate key")
    cur.execute("DELETE FROM ex_t WHERE id > 1000")
    cur.execute("UPDATE ex_t SET v = 'v' || id WHERE k = 5")
    # a reference table write: every node
    lines = plan_lines(cur, "EXPLAIN ANALYZE UPDATE ex_r SET name = name WHERE k = 1")
    eq(count(lines, r"^  node \d+: UPDATE"), 3, "every node")


@test
def analyze_extended_protocol(c):
    """Parse/Bind/Describe/Execute with a parameter: Describe gives the QUERY PLAN
    column, Execute the rows (no second RowDescription)."""
    import struct
    m = harness.message
    sql = b"EXPLAIN ANALYZE SELECT * FROM ex_t WHERE k = $1"
    with c.wire() as w:
        w.login()
        w.send(m(b"P", b"\0" + sql + b"\0" + struct.pack("!hI", 1, 23)) +
               m(b"B", b"\0\0" + struct.pack("!hhi", 0, 1, 1) + b"3" + struct.pack("!h", 0)) +
               m(b"D", b"P\0") +
               m(b"E", b"\0" + struct.pack("!I", 0)) +
               m(b"S"))
        msgs = w.read_until_ready()
    types = [t for t, _ in msgs]
    if "E" in types:
        raise AssertionError("error: %r" % harness.summarize(msgs))
    eq(types.count("T"), 1, "one RowDescription")
    lines = [pl[6:].decode() for t, pl in msgs if t == "D"]
    has(lines, r"^shardgate: fan-out", "tier")
    eq(count(lines, r"^    Execution Time"), 3, "each node's figures")
    tags = [harness.cstrings(pl)[0] for t, pl in msgs if t == "C"]
    eq(tags, ["EXPLAIN"], "command tag")


@test
def partial_sum_types(c):
    """sum() split into per-shard partials: the answer and its column types are PostgreSQL's
    (compared with the same rows in a local table, which the first node answers alone)."""
    g = c.gw()
    cur = g.cursor()
    c.drop("ex_sum", "ex_sum_local")
    cols = "id int, g int, a int2, b int4, c int8, d numeric(12,3), e float4, f float8, " \
           "m money, i interval"
    cur.execute("CREATE TABLE ex_sum (%s)" % cols)
    cur.execute("SELECT create_distributed_table('ex_sum', 'id', shard_count => 5)")
    cur.execute("CREATE TABLE ex_sum_local (%s)" % cols)
    rows = ", ".join("(%d, %d, %d, %d, %d, %d.125, %d.5, %d.25, %d.75, '%d minutes')" % (
        i, i % 3, i, 100000 * i, 4000000000000000000 // 400 * i, i, i, i, i, i)
        for i in range(1, 401))
    for t in ("ex_sum", "ex_sum_local"):
        cur.execute("INSERT INTO %s VALUES %s" % (t, rows))
        cur.execute("INSERT INTO %s (id, g) VALUES (0, 1), (1000, 7)" % t)  # NULLs
    queries = [
        "SELECT sum(a), sum(b), sum(c), sum(d), sum(e), sum(f), sum(m), sum(i) FROM %s",
        "SELECT g, sum(a) AS sa, sum(b * 2 - 1), sum(c / 3), sum(d * 1.5), sum(f * b), "
        "count(*), avg(b) FROM %s GROUP BY g ORDER BY g",
        "SELECT sum(a) FROM %s WHERE id < 0",
        "SELECT g, sum(b) FROM %s GROUP BY g HAVING sum(b) > 1000 ORDER BY sum(b) DESC",
    ]
    for q in queries:
        cur.execute(q % "ex_sum_local")
        want_types = [d[1] for d in cur.description]
        want_names = [d[0] for d in cur.description]
        want = cur.fetchall()
        cur.execute(q % "ex_sum")
        eq([d[1] for d in cur.description], want_types, "types of " + q)
        eq([d[0] for d in cur.description], want_names, "names of " + q)
        eq(cur.fetchall(), want, q)
        lines = plan_lines(cur, "EXPLAIN " + q % "ex_sum")
        has(lines, r"AS sg_p1", "partial aggregates for " + q)
    c.drop("ex_sum", "ex_sum_local")


@test
def memory_limit(c):
    """A statement whose intermediate rows through the gateway exceed query_memory_limit
    fails with 53200 (not a crash, not a hang); the session and the gateway go on."""
    g = c.gw()
    cur = g.cursor()
    c.drop("ex_big")
    cur.execute("CREATE TABLE ex_big (id int PRIMARY KEY, v text)")
    cur.execute("SELECT create_distributed_table('ex_big', 'id', shard_count => 6)")
    pad = "x" * 100
    for base in range(0, 6000, 1000):
        cur.execute("INSERT INTO ex_big VALUES " + ", ".join(
            "(%d, '%s%d')" % (i, pad, i) for i in range(base, base + 1000)))
    big = "SELECT count(DISTINCT v) FROM ex_big"  # every v pulled: about 600 kB
    e = expect_sqlstate(lambda: cur.execute(big), "53200", "over the limit")
    eq(e.diag.message_primary, "out of memory", "message")
    if "query_memory_limit (%d kB)" % MEMORY_LIMIT_KB not in (e.diag.message_detail or ""):
        raise AssertionError("detail: %r" % e.diag.message_detail)
    # the same session goes on; under the limit the statement runs
    cur.execute("SELECT count(DISTINCT v) FROM ex_big WHERE id < 500")
    eq(cur.fetchone()[0], 500, "filtered on the nodes: under the limit")
    cur.execute("SELECT count(*), sum(id) FROM ex_big")  # partial aggregates: a few rows
    eq(cur.fetchone(), (6000, sum(range(6000))), "partial aggregates")
    # fan-out and router answers stream to the client: not counted
    cur.execute("SELECT v FROM ex_big")
    eq(len(cur.fetchall()), 6000, "fan-out rows")
    # EXPLAIN ANALYZE of the statement fails the same way (it really runs the stages)
    expect_sqlstate(lambda: cur.execute("EXPLAIN ANALYZE " + big), "53200", "EXPLAIN ANALYZE")
    # in a transaction block the block fails, as any error does
    g2 = c.gw(autocommit=False)
    cur2 = g2.cursor()
    cur2.execute("SELECT 1")
    expect_sqlstate(lambda: cur2.execute(big), "53200", "in a block")
    expect_sqlstate(lambda: cur2.execute("SELECT 1"), "25P02", "block failed")
    g2.rollback()
    cur2.execute("SELECT count(*) FROM ex_big")
    eq(cur2.fetchone()[0], 6000, "after ROLLBACK")
    g2.rollback()
    # no temporary table is left behind on the merge node
    cur.execute("SELECT count(DISTINCT v) FROM ex_big WHERE id >= 5500")
    eq(cur.fetchone()[0], 500, "again")
    c.drop("ex_big")


if __name__ == "__main__":
    harness.main(nodes=3)
