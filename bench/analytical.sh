#!/usr/bin/env bash
# The analytical suite (tests/integration/tpch: TPC-H Q1-Q22 and a few extra
# shapes) timed through shardgate on a 3-node cluster vs on one plain
# PostgreSQL 15 holding the same data, printed as a ratio (issue 3).
#
#   bench/analytical.sh [--scale N] [--runs R] [--gateway-bin PATH] [--keep]
#
# --scale N   data size (tests/integration/tpch/gen.py): about 4,000 lineitems
#             per unit (default 2)
# --runs R    each query runs R times on each target after one warm-up run;
#             the best time per query counts (default 3)
#
# Starts `scripts/cluster up --nodes 3` (gateway + nodes) and `scripts/cluster
# up --nodes 1 --no-gateway` (the plain PostgreSQL) under a fresh
# /tmp/sg-analytical-* directory, both with fsync on, loads the same rows into
# both (through the gateway / directly), ANALYZEs, runs the suite, prints one
# line per query and the totals, and stops both clusters (also on Ctrl-C).
# Every query's result through the gateway is checked against the plain one.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

SCALE=2
RUNS=3
KEEP=0
GW=${GATEWAY_BIN:-$REPO/build/shardgate}
while [[ $# -gt 0 ]]; do
	case $1 in
	--scale) SCALE=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--gateway-bin) GW=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "unknown option $1" >&2; exit 2 ;;
	esac
done
[[ -x $GW ]] || { echo "no gateway binary at $GW (build it or pass --gateway-bin)" >&2; exit 2; }

WORK=$(mktemp -d /tmp/sg-analytical-XXXXXX)
chmod 755 "$WORK"
BASE=$(free_port_block 6)
GPORT=$BASE        # gateway; nodes on BASE+1..BASE+3
PPORT=$((BASE + 4)) # plain node on PPORT+1
cleanup() {
	"$REPO/scripts/cluster" down --dir "$WORK/sharded" >/dev/null 2>&1 || true
	"$REPO/scripts/cluster" down --dir "$WORK/plain" >/dev/null 2>&1 || true
	if ((KEEP)); then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT INT TERM

say "starting 3 nodes + gateway on $GPORT and one plain node on $((PPORT + 1))"
"$REPO/scripts/cluster" up --nodes 3 --port "$GPORT" --dir "$WORK/sharded" --gateway-bin "$GW" >&2
"$REPO/scripts/cluster" up --nodes 1 --port "$PPORT" --dir "$WORK/plain" --no-gateway >&2

/usr/bin/python3 - "$REPO" "$GPORT" "$((PPORT + 1))" "$SCALE" "$RUNS" <<'PY'
import os
import sys
import time

repo, gport, pport, scale, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    int(sys.argv[4]), int(sys.argv[5])
sys.path.insert(0, os.path.join(repo, "tests", "integration", "tpch"))
import psycopg2  # noqa: E402

import gen  # noqa: E402
import queries  # noqa: E402
import resultcmp  # noqa: E402


def conn(port):
    c = psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres")
    c.autocommit = True
    return c


def statements(path):
    text = open(path).read()
    lines = [ln for ln in text.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def say(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


g, p = conn(gport), conn(pport)
tdir = os.path.join(repo, "tests", "integration", "tpch")
for s in statements(os.path.join(tdir, "schema.sql")):
    g.cursor().execute(s)
    p.cursor().execute(s)
for s in statements(os.path.join(tdir, "distribute.sql")):
    g.cursor().execute(s)
data = gen.generate(scale=scale)
say("loading scale %d (%d lineitems)" % (scale, len(data["lineitem"])))
for t in gen.TABLES:
    for s in gen.insert_sql(t, data[t]):
        g.cursor().execute(s)
        p.cursor().execute(s)
for k in range(1, 4):
    n = psycopg2.connect(host="127.0.0.1", port=gport + k, user="postgres", dbname="postgres")
    n.autocommit = True
    n.cursor().execute("ANALYZE")
    n.close()
p.cursor().execute("ANALYZE")


def best(c, sql):
    resultcmp.run(c, sql)  # warm-up
    t = []
    for _ in range(runs):
        t0 = time.perf_counter()
        res = resultcmp.run(c, sql)
        t.append(time.perf_counter() - t0)
    return min(t), res


tot_g = tot_p = 0.0
bad = []
print("%-34s %10s %10s %7s" % ("query", "plain ms", "gateway ms", "ratio"))
for name, sql, ordered in queries.QUERIES:
    tp, rp = best(p, sql)
    tg, rg = best(g, sql)
    tot_p += tp
    tot_g += tg
    diff = resultcmp.same(rg, rp, ordered)
    if diff is not None:
        bad.append(name)
    print("%-34s %10.2f %10.2f %7.2f%s" % (name, tp * 1000, tg * 1000, tg / tp,
                                          "" if diff is None else "  RESULT DIFFERS"))
print("%-34s %10.2f %10.2f %7.2f" % ("TOTAL (%d queries)" % len(queries.QUERIES),
                                      tot_p * 1000, tot_g * 1000, tot_g / tot_p))
print("analytical: gateway on 3 nodes / plain PostgreSQL = %.2f (scale %d, best of %d)"
      % (tot_g / tot_p, scale, runs))
if bad:
    print("results differ: " + ", ".join(bad))
    sys.exit(1)
PY
