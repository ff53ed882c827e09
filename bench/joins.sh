#!/usr/bin/env bash
# Joins that are not co-located (issue 3): the planner's strategies chosen
# from node statistics (broadcast of a small side, semi-join, repartition,
# partial aggregates over joins) against the plain multi-stage pull of every
# side into one node, on one 3-node cluster with the same data, printed as a
# ratio per query.
#
#   bench/joins.sh [--rows N] [--runs R] [--gateway-bin PATH]
#
# --rows N   rows of the big table `jb` (default 400000); `jm` has N/2 rows
#            (both large: repartitioned), `js` 2000 rows (small: broadcast)
# --runs R   each query runs R times after one warm-up; the best time counts
#            (default 3)
#
# The gateway runs twice on the same nodes: with its defaults except
# join_repartition_min_rows = N (so the two large tables are repartitioned on
# this small machine, where pulling them into one node is cheaper), then
# with semijoin_max_keys = 0 and join_repartition_min_rows = 2000000000 (no
# broadcast, semi-join or repartition: every side pulled into the first
# node). Every answer is compared between the two runs.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

ROWS=400000
RUNS=3
GW=${GATEWAY_BIN:-$REPO/build/shardgate}
while [[ $# -gt 0 ]]; do
	case $1 in
	--rows) ROWS=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--gateway-bin) GW=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
[[ -x $GW ]] || { echo "no gateway binary at $GW (build it or pass --gateway-bin)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sg-joins-XXXXXX)
chmod 755 "$WORK"
PORT=$(free_port_block 4)
cleanup() {
	"$REPO/scripts/cluster" down --dir "$WORK/c" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

up() {
	"$REPO/scripts/cluster" down --dir "$WORK/c" >/dev/null 2>&1 || true
	rm -f "$WORK/c/gateway.extra.conf"
	"$REPO/scripts/cluster" up --nodes 3 --port "$PORT" --dir "$WORK/c" --gateway-bin "$GW" \
		--gateway-set stats_interval_ms=1000 "$@" >&2
}

say "3 nodes + gateway on $PORT, jb $ROWS rows"
up --gateway-set "join_repartition_min_rows=$ROWS"

/usr/bin/python3 - "$PORT" "$ROWS" "$RUNS" "$WORK" "$REPO" "$GW" <<'PY'
import json
import os
import subprocess
import sys
import time

import psycopg2

port, rows, runs, work, repo, gw = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]),
                                     sys.argv[4], sys.argv[5], sys.argv[6])


def conn():
    c = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    c.autocommit = True
    return c


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


g = conn()
cur = g.cursor()
for ddl in (
        "CREATE TABLE jb (id int PRIMARY KEY, k int, v int, pad text)",
        "CREATE TABLE jm (id int PRIMARY KEY, k bigint, w int)",
        "CREATE TABLE js (id int PRIMARY KEY, x int, tag text)",
        "SELECT create_distributed_table('jb', 'id')",
        "SELECT create_distributed_table('jm', 'id', colocate_with => 'none')",
        "SELECT create_distributed_table('js', 'id', colocate_with => 'none')"):
    cur.execute(ddl)
say("loading")
cur.execute("INSERT INTO jb SELECT g, g %% %d, g %% 97, repeat('x', 40) FROM generate_series(1, %d) g"
            % (rows // 4, rows))
cur.execute("INSERT INTO jm SELECT g, g %% %d, g %% 13 FROM generate_series(1, %d) g"
            % (rows // 4, rows // 2))
cur.execute("INSERT INTO js SELECT g, g * 37 %% %d, 'tag' || (g %% 20) FROM generate_series(1, 2000) g"
            % (rows // 4))
for t in ("jb", "jm", "js"):
    cur.execute("ANALYZE " + t)
time.sleep(3)  # the gateway re-reads the estimates every second

QUERIES = [
    ("broadcast_rows", "SELECT jb.id, js.tag FROM jb JOIN js ON jb.k = js.x WHERE jb.v < 5"),
    ("broadcast_agg", "SELECT js.tag, count(*), sum(jb.v) FROM jb JOIN js ON jb.k = js.x "
                      "GROUP BY js.tag ORDER BY js.tag"),
    ("semijoin_distinct", "SELECT count(DISTINCT jb.v) FROM jb JOIN js ON jb.k = js.x "
                          "WHERE js.tag <> 'tag3'"),
    ("repartition_rows", "SELECT jb.id, jm.id FROM jb JOIN jm ON jb.k = jm.k WHERE jm.w = 3 "
                         "AND jb.v = 5"),
    ("repartition_agg", "SELECT jm.w, count(*), sum(jb.v) FROM jb JOIN jm ON jb.k = jm.k "
                        "GROUP BY jm.w ORDER BY jm.w"),
]


def run(label):
    c = conn()
    cu = c.cursor()
    out = {}
    for name, q in QUERIES:
        cu.execute("EXPLAIN " + q)
        plan = cu.fetchone()[0]
        cu.execute(q)
        res = sorted(cu.fetchall(), key=repr)
        best = 1e9
        for _ in range(runs):
            t = time.perf_counter()
            cu.execute(q)
            cu.fetchall()
            best = min(best, time.perf_counter() - t)
        out[name] = (best * 1000, res, plan)
    c.close()
    return out


say("strategies on")
on = run("on")
g.close()
subprocess.run([os.path.join(repo, "scripts", "cluster"), "down", "--dir", os.path.join(work, "c")],
               check=True, stdout=subprocess.DEVNULL)
os.remove(os.path.join(work, "c", "gateway.extra.conf"))
subprocess.run([os.path.join(repo, "scripts", "cluster"), "up", "--nodes", "3", "--port", str(port),
                "--dir", os.path.join(work, "c"), "--gateway-bin", gw, "--gateway-set",
                "semijoin_max_keys=0", "--gateway-set", "join_repartition_min_rows=2000000000"],
               check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
say("strategies off")
off = run("off")
print("%-20s %10s %10s %7s  %s" % ("query", "off ms", "on ms", "off/on", "plan with strategies"))
tot_on = tot_off = 0.0
for name, _ in QUERIES:
    if on[name][1] != off[name][1]:
        print("DIFFERENT ANSWER: " + name)
        sys.exit(1)
    tot_on += on[name][0]
    tot_off += off[name][0]
    print("%-20s %10.1f %10.1f %7.2f  %s" % (name, off[name][0], on[name][0],
                                              off[name][0] / on[name][0], on[name][2][10:70]))
print("joins: strategies off / on = %.2f (jb %d rows, best of %d)" % (tot_off / tot_on, rows, runs))
PY
