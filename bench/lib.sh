# shellcheck shell=bash
# bench/lib.sh: helpers for bench/run-all, sourced (not run). Ports, process
# pinning, pgbench runs and their parsing, pgbouncer start/stop, formatting.
# Nothing here starts a process that it does not also say how to stop by pid.

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PGBENCH=$PG_BIN/pgbench
[[ -x $PGBENCH ]] || PGBENCH=pgbench
PSQL=$PG_BIN/psql
[[ -x $PSQL ]] || PSQL=psql

# Progress goes to stderr, so stdout holds only the report.
say() { echo "bench: $*" >&2; }

# First port B such that B..B+N-1 are all free on 127.0.0.1 (random search).
# free_port_block N
free_port_block() {
	/usr/bin/python3 - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(500):
    b = random.randrange(20000, 60000 - n)
    if all(free(b + i) for i in range(n)):
        print(b)
        break
else:
    raise SystemExit("no block of %d free ports found" % n)
EOF
}

# Pids of the direct children of PID.
child_pids() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' '
}

# Set the CPU affinity of each PID, all its threads and all its descendants.
# pin_tree CPUS PID...
pin_tree() {
	local cpus=$1 pid
	shift
	for pid in "$@"; do
		[[ -n $pid && -e /proc/$pid ]] || continue
		taskset -a -p -c "$cpus" "$pid" >/dev/null 2>&1 || true
		# shellcheck disable=SC2046
		pin_tree "$cpus" $(child_pids "$pid")
	done
}

# Postmaster pid of a data directory (first line of postmaster.pid).
postmaster_pid() {
	head -n1 "$1/postmaster.pid" 2>/dev/null | tr -dc '0-9'
}

# CPU time (user + system, all threads) of PID in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null
}

# CPU time of a PostgreSQL instance in clock ticks: its postmaster (own time
# plus that of the children it has reaped: backends that exited) plus every
# live child (backends, checkpointer, walwriter...).
# pg_ticks POSTMASTER_PID
pg_ticks() {
	local pm=$1 sum c
	sum=$(awk '{ print $14 + $15 + $16 + $17 }' "/proc/$pm/stat" 2>/dev/null) || return 0
	[[ -n $sum ]] || return 0
	for c in $(child_pids "$pm"); do
		sum=$((sum + $(awk '{ print $14 + $15 }' "/proc/$c/stat" 2>/dev/null || echo 0)))
	done
	echo "$sum"
}

# The machine's CPU time so far, in clock ticks over all CPUs: "IDLE STEAL
# TOTAL" (idle includes iowait; steal is time a virtual CPU was ready to run
# but its host ran something else, which on a VM also covers the wait for a
# halted virtual CPU to be woken).
machine_ticks() {
	awk '/^cpu / { print $5 + $6, $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# "IDLE% STEAL%" of the machine between two machine_ticks readings.
# machine_pct "BEFORE" "AFTER"
machine_pct() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		split(a, x, " "); split(b, y, " "); t = y[3] - x[3]
		if (t <= 0) { print "0 0"; exit }
		printf "%.0f %.0f\n", 100 * (y[1] - x[1]) / t, 100 * (y[2] - x[2]) / t }'
}

# VmRSS of PID in KiB (empty when the process is gone).
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# The text shown in a failed cell: the first line of pgbench's stderr that
# reports an error (else its first line), without the "pgbench: " prefix.
# first_error FILE
first_error() {
	local line
	line=$(grep -m1 -E 'error|ERROR|FATAL|fatal|failed|aborted' "$1" 2>/dev/null)
	[[ -n $line ]] || line=$(grep -m1 -v '^[[:space:]]*$' "$1" 2>/dev/null)
	[[ -n $line ]] || line="no output"
	line=${line#pgbench: }
	line=${line#error: }
	# pgbench: "client 3 script 0 aborted in command 1 query 0: ERROR: ..."
	line=$(echo "$line" | sed -E 's/^client [0-9]+ script [0-9]+ aborted in command [0-9]+ query [0-9]+: //')
	# Collapse runs of blanks (ERROR:  text) and keep cells readable.
	line=$(echo "$line" | tr -s ' \t' ' ')
	((${#line} <= 110)) || line="${line:0:107}..."
	echo "$line"
}

# Run pgbench; on success print "TPS LATENCY_MS TRANSACTIONS", on failure print
# "error: <first line of stderr>" and return 1. Its full output is kept in
# LOGFILE.out/.err.
# run_pgbench LOGFILE TIMEOUT_S PREFIX_CMD... -- PGBENCH_ARGS...
#   PREFIX_CMD is run in front of pgbench (e.g. taskset -c 0), may be empty.
run_pgbench() {
	local log=$1 limit=$2 rc tps lat ntx
	shift 2
	local prefix=()
	while (($# > 0)) && [[ $1 != -- ]]; do
		prefix+=("$1")
		shift
	done
	shift # the --
	# --foreground: stay in our process group so Ctrl-C reaches pgbench.
	timeout --foreground -k 5 "$limit" "${prefix[@]}" "$PGBENCH" "$@" \
		>"$log.out" 2>"$log.err" </dev/null
	rc=$?
	if ((rc == 124 || rc == 137)); then
		echo "error: timed out after ${limit} s"
		return 1
	fi
	if ((rc != 0)); then
		echo "error: $(first_error "$log.err")"
		return 1
	fi
	tps=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$log.out" | head -n1)
	lat=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' "$log.out" | head -n1)
	if [[ -z $tps ]] || awk -v t="$tps" 'BEGIN { exit !(t <= 0) }'; then
		echo "error: no transactions completed ($(first_error "$log.err"))"
		return 1
	fi
	ntx=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$log.out" | head -n1)
	echo "$tps ${lat:-0} ${ntx:-0}"
}

# Start pgbouncer in transaction mode on PORT in front of NODE_HOST:NODE_PORT
# (NODE_HOST: 127.0.0.1 or a socket directory; default 127.0.0.1),
# its ini, userlist, pid file and log under DIR (owned by postgres when we are
# root: pgbouncer refuses to run as root). Prints nothing; returns 1 on failure.
# pgbouncer_start DIR PORT NODE_PORT [NODE_HOST]
pgbouncer_start() {
	local dir=$1 port=$2 node_port=$3 node_host=${4:-127.0.0.1} i
	mkdir -p "$dir"
	cat >"$dir/pgbouncer.ini" <<EOF
; written by bench/run-all
[databases]
postgres = host=$node_host port=$node_port dbname=postgres user=postgres

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = 20
max_client_conn = 12000
ignore_startup_parameters = extra_float_digits
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
log_connections = 0
log_disconnections = 0
EOF
	echo '"postgres" ""' >"$dir/userlist.txt"
	if [[ $(id -u) -eq 0 ]]; then
		chown -R postgres:postgres "$dir"
		(cd / && setpriv --reuid=postgres --regid=postgres --init-groups pgbouncer -d "$dir/pgbouncer.ini") >"$dir/start.log" 2>&1 || return 1
	else
		pgbouncer -d "$dir/pgbouncer.ini" >"$dir/start.log" 2>&1 || return 1
	fi
	for ((i = 0; i < 100; i++)); do
		if [[ -s $dir/pgbouncer.pid ]] &&
			PGCONNECT_TIMEOUT=2 "$PSQL" -X -w -h 127.0.0.1 -p "$port" -U postgres -d postgres \
				-Atc 'select 1' >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# Stop the pgbouncer whose pid is in DIR/pgbouncer.pid (TERM, then KILL).
pgbouncer_stop() {
	local dir=$1 pid i
	pid=$(tr -dc '0-9' 2>/dev/null <"$dir/pgbouncer.pid")
	[[ -n $pid ]] || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# Markdown-safe cell text.
md_cell() {
	local s=$1
	echo "${s//|/\\|}"
}

# ratio A B: A/B with two decimals and a ×, or empty when either is missing.
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f×", a / b }'
}

# The pgbench tables and their distribution columns, as the gateway targets
# distribute them (table:column).
PGBENCH_DISTRIBUTION=(pgbench_accounts:aid pgbench_branches:bid pgbench_tellers:tid pgbench_history:aid)

# Write the benchmark scripts into DIR: select-only.sql, tpcb-like.sql, select1.sql.
# write_pgbench_scripts DIR
write_pgbench_scripts() {
	local dir=$1
	mkdir -p "$dir"
	# The text of pgbench's built-in select-only and tpcb-like scripts, run with
	# -f so that pgbench does not start with `select count(*) from
	# pgbench_branches` (a cross-shard aggregate); -s sets :scale.
	cat >"$dir/select-only.sql" <<'EOF'
\set aid random(1, 100000 * :scale)
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
EOF
	cat >"$dir/tpcb-like.sql" <<'EOF'
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
EOF
	echo 'SELECT 1;' >"$dir/select1.sql"
}

# median of the numbers given as arguments
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

CLK_TCK=$(getconf CLK_TCK)

# µs of CPU per transaction from two tick counts: per_tx AFTER BEFORE TRANSACTIONS
per_tx() {
	awk -v a="$1" -v b="$2" -v n="$3" -v hz="$CLK_TCK" 'BEGIN { printf "%.1f", (a - b) / hz * 1e6 / n }'
}

# rotated ROUND ITEM...: the items, one per line, rotated by one more place each
# round, so that none always runs first (or last) in a round while the machine drifts
rotated() {
	local round=$1 i
	shift
	local items=("$@")
	for ((i = 0; i < ${#items[@]}; i++)); do
		echo "${items[$(((i + round - 1) % ${#items[@]}))]}"
	done
}

# paired_median EXPR "FIGURES..." "DIRECT_FIGURES...": the median over rounds of
# the awk expression EXPR of x (a round's figure) and y (direct's in the same
# round); rounds are recorded in order, and when one is missing on either side,
# EXPR of the two medians
paired_median() {
	local expr=$1 i p
	local -a fig dir pairs=() per=()
	read -r -a fig <<<"$2"
	read -r -a dir <<<"$3"
	if ((${#fig[@]} == 0 || ${#fig[@]} != ${#dir[@]})); then
		# shellcheck disable=SC2086
		pairs=("$(median $2) $(median $3)")
	else
		for ((i = 0; i < ${#fig[@]}; i++)); do
			pairs+=("${fig[$i]} ${dir[$i]}")
		done
	fi
	for p in "${pairs[@]}"; do
		per+=("$(awk -v x="${p% *}" -v y="${p#* }" \
			"BEGIN { if (x + 0 > 0 && y + 0 > 0) printf \"%.6f\", $expr; else print 0 }")")
	done
	median "${per[@]}"
}

# paired_ratio "TPS..." "DIRECT_TPS...": a target's tps against direct's, "0.72×"
paired_ratio() {
	awk -v r="$(paired_median 'x / y' "$1" "$2")" 'BEGIN { if (r + 0 > 0) printf "%.2f×", r }'
}

# paired_added_us "TPS..." "DIRECT_TPS...": the latency a target adds at one
# client (latency = 1/tps), in µs, "+8.4"
paired_added_us() {
	awk -v r="$(paired_median '1e6 / x - 1e6 / y' "$1" "$2")" 'BEGIN { printf "%+.1f", r }'
}

# pg_sql PORT SQL: one statement through psql as postgres, stopping on error
pg_sql() {
	PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -w -h 127.0.0.1 -p "$1" -U postgres \
		-v ON_ERROR_STOP=1 -c "$2" postgres
}

# one_node_pgbench DIR PORT GATEWAY_BIN [LOOPS]: a 1-node cluster under DIR
# (gateway on PORT with LOOPS event loops, default 0: one per CPU; node on
# PORT+1) with the pgbench tables of scale 10 made through the gateway (not
# distributed); logs in DIR.cluster.log and DIR.init.log, whose tail is
# printed on failure (returns 1)
one_node_pgbench() {
	local dir=$1 port=$2 bin=$3 loops=${4:-0}
	"$REPO/scripts/cluster" up --nodes 1 --port "$port" --dir "$dir" --gateway-bin "$bin" \
		--log-level warning --gateway-set "loops=$loops" >"$dir.cluster.log" 2>&1 ||
		{ tail -n 5 "$dir.cluster.log" >&2; return 1; }
	"$PGBENCH" -i -q -s 10 -I dtGvp -h 127.0.0.1 -p "$port" -U postgres postgres >"$dir.init.log" 2>&1 ||
		{ tail -n 5 "$dir.init.log" >&2; return 1; }
}
