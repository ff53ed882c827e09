#!/usr/bin/env bash
# Read-only pgbench (-S: one primary-key SELECT per transaction) against one
# storage node directly and then through the gateway, to measure what the
# gateway costs. Starts its own one-node cluster under /tmp (fsync on) and
# stops it at the end. Prints both tps figures and "gateway/direct = 0.xx".
# No pass/fail.
# Environment: SCALE (10), DURATION (seconds per run, 20), CLIENTS (8),
# THREADS (2), GATEWAY_BIN (default build/shardgate).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCALE=${SCALE:-10}
DURATION=${DURATION:-20}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
GW_BIN=${GATEWAY_BIN:-$REPO/build/shardgate}
PGBENCH=/usr/lib/postgresql/15/bin/pgbench
[[ -x $PGBENCH ]] || PGBENCH=pgbench

[[ -x $GW_BIN ]] || {
	echo "bench: gateway binary $GW_BIN not found; build it first (cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build)" >&2
	exit 1
}

# First port P such that P and P+1 are free on 127.0.0.1.
free_port() {
	/usr/bin/python3 - <<'EOF'
import random, socket
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    p = random.randrange(20000, 60000)
    if free(p) and free(p + 1):
        print(p)
        break
else:
    raise SystemExit("no free port pair found")
EOF
}

PORT=$(free_port)
NODE_PORT=$((PORT + 1))
DIR=$(mktemp -d /tmp/sg-bench-XXXXXX)
chmod 755 "$DIR"

cleanup() {
	"$REPO/scripts/cluster" down --dir "$DIR" >/dev/null 2>&1 || true
	rm -rf -- "$DIR"
}
trap cleanup EXIT

echo "bench: starting a 1-node cluster in $DIR (gateway port $PORT, node port $NODE_PORT)"
"$REPO/scripts/cluster" up --nodes 1 --port "$PORT" --dir "$DIR" --gateway-bin "$GW_BIN" --log-level warning

echo "bench: pgbench -i -s $SCALE on the node"
"$PGBENCH" -i -q -s "$SCALE" -h 127.0.0.1 -p "$NODE_PORT" -U postgres postgres

# run_select PORT LABEL: print the tps of a read-only run (no vacuum: -n).
run_select() {
	local port=$1 label=$2 out tps
	out=$("$PGBENCH" -n -S -T "$DURATION" -c "$CLIENTS" -j "$THREADS" -M simple \
		-h 127.0.0.1 -p "$port" -U postgres postgres 2>&1) || {
		echo "$out" >&2
		echo "bench: pgbench $label failed" >&2
		return 1
	}
	tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) (without initial connection time).*/\1/p' | head -n1)
	[[ -n $tps ]] || tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)
	echo "$tps"
}

echo "bench: pgbench -S -T $DURATION -c $CLIENTS -j $THREADS -M simple, direct to the node"
direct=$(run_select "$NODE_PORT" direct)
echo "bench: same, through the gateway"
gateway=$(run_select "$PORT" gateway)

echo
printf 'direct:  %.0f tps\n' "$direct"
printf 'gateway: %.0f tps\n' "$gateway"
awk -v g="$gateway" -v d="$direct" 'BEGIN { if (d > 0) printf "gateway/direct = %.2f\n", g / d }'
