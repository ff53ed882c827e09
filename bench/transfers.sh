#!/usr/bin/env bash
# bench/transfers.sh: bank transfers per second (issue 4), with pgbench and a
# custom script, for
#   gw-2node   two-node transactions through the gateway (two-phase commit)
#   gw-1node   single-node transactions through the gateway (plain COMMIT)
#   direct     the same single-node transaction directly on PostgreSQL
# and prints the tps figures with their ratios.
#
#   bench/transfers.sh [--duration S] [--clients N] [--accounts N] [--fast]
#                      [--gateway-bin PATH] [--keep]
#
# A transfer (the bank test's, tests/integration/test_bank.py):
#   BEGIN; UPDATE accounts (-x, +x, in id order); INSERT the debit row;
#   INSERT the credit row; COMMIT
# on accounts(id int primary key, balance bigint) distributed by id and
# transfers_log(transfer_id, account_id, amount, kind) distributed by
# account_id and co-located with accounts, so each log row lives with its
# account. Two-node transfers take one account on node 1 and one on node 2;
# single-node transfers take both on node 1. The accounts of each node are
# found after loading (by reading the shard tables on the nodes) and written
# into the pgbench scripts as CASE expressions, so choosing a pair costs no
# query. direct runs the single-node script against plain tables in a
# database of its own on node 1 (same server, same settings).
#
# Cluster: scripts/cluster, 3 nodes and the gateway, fsync on unless --fast
# (fsync matters: a two-node commit flushes WAL three times, PREPARE, the
# decision and COMMIT PREPARED; a one-node commit once). pgbench -c N -j 2 -T S
# -M simple -n --max-tries 10 (retries 40001/40P01; pairs are locked in id
# order, so deadlocks are not expected). After the runs the sum of all
# balances is checked on the nodes directly.
#
# Everything lives in a fresh /tmp/sg-bench-transfers-* directory and is
# stopped with scripts/cluster down at the end, also on Ctrl-C. Progress on
# stderr, the report on stdout.
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

DURATION=20
CLIENTS=8
ACCOUNTS=200 # per node used (node 1 and node 2)
FAST=0
KEEP=0
GW_BIN=${GATEWAY_BIN:-$REPO/build/shardgate}
COMMAND_LINE="bench/transfers.sh${*:+ $*}"

usage() { sed -n '2,/^set /{/^set /d;p}' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

while (($# > 0)); do
	case $1 in
	--duration)
		DURATION=${2:?--duration needs a value}
		shift 2
		;;
	--clients)
		CLIENTS=${2:?--clients needs a value}
		shift 2
		;;
	--accounts)
		ACCOUNTS=${2:?--accounts needs a value}
		shift 2
		;;
	--fast)
		FAST=1
		shift
		;;
	--gateway-bin)
		GW_BIN=${2:?--gateway-bin needs a value}
		shift 2
		;;
	--keep)
		KEEP=1
		shift
		;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		echo "transfers.sh: unknown argument: $1 (try --help)" >&2
		exit 2
		;;
	esac
done
for v in DURATION CLIENTS ACCOUNTS; do
	[[ ${!v} =~ ^[1-9][0-9]*$ ]] || {
		echo "transfers.sh: ${v,,} must be a positive integer" >&2
		exit 2
	}
done
[[ -x $GW_BIN ]] || {
	echo "transfers.sh: gateway binary $GW_BIN not found (build it or pass --gateway-bin)" >&2
	exit 2
}

WORK=$(mktemp -d /tmp/sg-bench-transfers-XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/scripts"
CDIR=$WORK/cluster

cleanup() {
	trap - EXIT INT TERM
	[[ -f $CDIR/cluster.env ]] && "$REPO/scripts/cluster" down --dir "$CDIR" >/dev/null 2>&1
	if ((KEEP)); then
		say "work directory kept: $WORK"
	else
		rm -rf -- "$WORK"
	fi
}
trap cleanup EXIT
trap 'say "interrupted; stopping everything"; exit 130' INT TERM

# A free block of 4 ports below the kernel's ephemeral range (outgoing
# connections take ephemeral ports and could grab one before a node binds it).
low_port_block() {
	/usr/bin/python3 - <<'EOF2'
import random, socket
try:
    eph = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError, IndexError):
    eph = 32768
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
    b = random.randrange(10000, max(eph - 5, 12000))
    if not (b <= 5432 <= b + 3) and all(free(b + i) for i in range(4)):
        print(b)
        break
else:
    raise SystemExit("no block of 4 free ports found")
EOF2
}

node_port() { echo $((PORT + $1)); }

q() { # q PORT DB ARGS...: psql as postgres on 127.0.0.1, quiet, stop on error
	local port=$1 db=$2
	shift 2
	PGOPTIONS='-c client_min_messages=warning' "$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
		-p "$port" -U postgres -d "$db" "$@"
}

# Start the cluster; on a port clash retry twice with other ports.
for attempt in 1 2 3; do
	PORT=$(low_port_block) || exit 1
	say "starting 3 nodes and the gateway on port $PORT ($([[ $FAST == 1 ]] && echo 'fsync off' || echo 'fsync on'))"
	UP_ARGS=(up --nodes 3 --port "$PORT" --dir "$CDIR" --gateway-bin "$GW_BIN" --log-level warning)
	((FAST)) && UP_ARGS+=(--fast)
	if PGUSER=postgres "$REPO/scripts/cluster" "${UP_ARGS[@]}" >"$WORK/logs/cluster.log" 2>&1; then
		break
	fi
	"$REPO/scripts/cluster" down --dir "$CDIR" >/dev/null 2>&1
	rm -rf -- "$CDIR"
	if ((attempt == 3)) || ! grep -q -e 'already in use' -e 'failed to start on port' "$WORK/logs/cluster.log"; then
		cat "$WORK/logs/cluster.log" >&2
		exit 1
	fi
	say "port clash; retrying with other ports"
done
GW_PORT=$PORT

# --- data ---------------------------------------------------------------------

LOAD=$((ACCOUNTS * 6)) # enough keys that node 1 and node 2 get ACCOUNTS each
INITIAL=1000000
say "creating and distributing accounts and transfers_log ($LOAD accounts)"
{
	echo "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint);"
	echo "SELECT create_distributed_table('accounts', 'id');"
	echo "CREATE TABLE transfers_log (transfer_id bigint, account_id int, amount bigint, kind text);"
	echo "SELECT create_distributed_table('transfers_log', 'account_id', colocate_with => 'accounts');"
	for ((i = 1; i <= LOAD; i += 500)); do
		echo -n "INSERT INTO accounts VALUES "
		seq "$i" $((i + 499 < LOAD ? i + 499 : LOAD)) | awk -v b="$INITIAL" '{ printf "%s(%d, %d)", (NR > 1 ? ", " : ""), $1, b } END { print ";" }'
	done
} >"$WORK/scripts/load.sql"
q "$GW_PORT" postgres -f "$WORK/scripts/load.sql" >/dev/null 2>"$WORK/logs/load.err" || {
	say "loading through the gateway failed: $(head -n3 "$WORK/logs/load.err")"
	exit 1
}

# ids_on_node K: the account ids whose shard lives on node K (read on the node)
ids_on_node() {
	local port sql schemas s
	port=$(node_port "$1")
	schemas=$(q "$port" postgres -Atc "SELECT table_schema FROM information_schema.tables WHERE table_name = 'accounts' AND table_schema LIKE 'sg\\_g%'")
	sql=""
	for s in $schemas; do
		sql+="${sql:+ UNION ALL }SELECT id FROM \"$s\".accounts"
	done
	[[ -n $sql ]] || return 0
	q "$port" postgres -Atc "SELECT id FROM ($sql) x ORDER BY id LIMIT $ACCOUNTS"
}
mapfile -t IDS1 < <(ids_on_node 1)
mapfile -t IDS2 < <(ids_on_node 2)
if ((${#IDS1[@]} < ACCOUNTS || ${#IDS2[@]} < ACCOUNTS)); then
	say "too few accounts on node 1 (${#IDS1[@]}) or node 2 (${#IDS2[@]}); raise --accounts' load"
	exit 1
fi
say "using $ACCOUNTS accounts on node 1 and $ACCOUNTS on node 2"

# case_expr VAR IDS...: a pgbench CASE expression mapping :VAR in 0..n-1 to IDS[i]
case_expr() {
	local var=$1 i=0 out="CASE"
	shift
	for id in "$@"; do
		out+=" WHEN :$var = $i THEN $id"
		i=$((i + 1))
	done
	echo "$out ELSE -1 END"
}

# transfer_script FILE PAIR: PAIR "12" takes a on node 1, b on node 2 (direction random);
# "11" both on node 1 (distinct)
transfer_script() {
	local file=$1 pair=$2 n=$ACCOUNTS
	{
		echo "\\set i random(0, $((n - 1)))"
		if [[ $pair == 12 ]]; then
			echo "\\set j random(0, $((n - 1)))"
			echo "\\set x $(case_expr i "${IDS1[@]}")"
			echo "\\set y $(case_expr j "${IDS2[@]}")"
			echo "\\set flip random(0, 1)"
			echo "\\set a CASE WHEN :flip = 0 THEN :x ELSE :y END"
			echo "\\set b CASE WHEN :flip = 0 THEN :y ELSE :x END"
		else
			echo "\\set j (:i + random(1, $((n - 1)))) % $n"
			echo "\\set a $(case_expr i "${IDS1[@]}")"
			echo "\\set b $(case_expr j "${IDS1[@]}")"
		fi
		cat <<'EOF'
\set amount random(1, 100)
\set tid random(1, 9000000000000000000)
\set lo least(:a, :b)
\set hi greatest(:a, :b)
\set dlo CASE WHEN :lo = :a THEN -:amount ELSE :amount END
\set dhi -:dlo
BEGIN;
UPDATE accounts SET balance = balance + :dlo WHERE id = :lo;
UPDATE accounts SET balance = balance + :dhi WHERE id = :hi;
INSERT INTO transfers_log VALUES (:tid, :a, :amount, 'debit');
INSERT INTO transfers_log VALUES (:tid, :b, :amount, 'credit');
COMMIT;
EOF
	} >"$file"
}
transfer_script "$WORK/scripts/two_node.sql" 12
transfer_script "$WORK/scripts/one_node.sql" 11

# direct: plain tables in a database of their own on node 1
say "creating the direct tables on node 1 (database sg_bench_direct)"
q "$(node_port 1)" postgres -c "CREATE DATABASE sg_bench_direct" >/dev/null || exit 1
{
	echo "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint);"
	echo "CREATE TABLE transfers_log (transfer_id bigint, account_id int, amount bigint, kind text);"
	echo "INSERT INTO accounts SELECT unnest(ARRAY[$(
		IFS=,
		echo "${IDS1[*]}"
	)]), $INITIAL;"
	echo "VACUUM ANALYZE;"
} | q "$(node_port 1)" sg_bench_direct >/dev/null || exit 1
for k in 1 2 3; do
	q "$(node_port "$k")" postgres -c "VACUUM ANALYZE" >/dev/null 2>&1 || true
done

# --- runs ---------------------------------------------------------------------

declare -A TPS=() LAT=()
# bench ID PORT DB SCRIPT
bench() {
	local id=$1 port=$2 db=$3 script=$4 r
	say "$id: pgbench -c $CLIENTS -T $DURATION ($(basename "$script"))"
	r=$(run_pgbench "$WORK/logs/$id" $((DURATION + 60)) -- -n -M simple -c "$CLIENTS" \
		-j 2 -T "$DURATION" --max-tries 10 -f "$script" -h 127.0.0.1 -p "$port" -U postgres "$db")
	say "  -> $r"
	if [[ $r == error:* ]]; then
		TPS[$id]=$r
		LAT[$id]=""
	else
		TPS[$id]=${r%% *}
		LAT[$id]=${r##* }
	fi
	# failed transactions pgbench counted (after retries)
	FAILED[$id]=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$WORK/logs/$id.out" | head -n1)
}
declare -A FAILED=()
bench direct "$(node_port 1)" sg_bench_direct "$WORK/scripts/one_node.sql"
bench gw-1node "$GW_PORT" postgres "$WORK/scripts/one_node.sql"
bench gw-2node "$GW_PORT" postgres "$WORK/scripts/two_node.sql"

# --- checks -------------------------------------------------------------------

sum_on_nodes() {
	local k total=0 port s sql v
	for k in 1 2 3; do
		port=$(node_port "$k")
		sql=""
		for s in $(q "$port" postgres -Atc "SELECT table_schema FROM information_schema.tables WHERE table_name = 'accounts' AND table_schema LIKE 'sg\\_g%'"); do
			sql+="${sql:+ UNION ALL }SELECT balance FROM \"$s\".accounts"
		done
		[[ -n $sql ]] || continue
		v=$(q "$port" postgres -Atc "SELECT coalesce(sum(balance), 0) FROM ($sql) x")
		total=$((total + v))
	done
	echo "$total"
}
SUM=$(sum_on_nodes)
WANT_SUM=$((LOAD * INITIAL))
PREPARED=0
for k in 1 2 3; do
	n=$(q "$(node_port "$k")" postgres -Atc "SELECT count(*) FROM pg_prepared_xacts WHERE gid LIKE 'sg\\_%'")
	PREPARED=$((PREPARED + n))
done
GW_DEAD=""
pid=$(tr -dc '0-9' 2>/dev/null <"$CDIR/gateway.pid")
[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || GW_DEAD=" (the gateway is no longer running!)"

# --- report -------------------------------------------------------------------

cell() { # cell ID: tps (latency) or the error
	local t=${TPS[$1]}
	if [[ $t == error:* ]]; then
		md_cell "$t"
	else
		awk -v t="$t" -v l="${LAT[$1]}" -v f="${FAILED[$1]:-0}" 'BEGIN {
			printf "%.0f tps, %.2f ms", t, l; if (f > 0) printf ", %d failed", f }'
	fi
}
r() { # r A B: ratio of A's tps to B's, or n/a
	local x
	x=$(ratio "${TPS[$1]}" "${TPS[$2]}")
	echo "${x:-n/a}"
}

echo "## Transfers per second (bench/transfers.sh)"
echo
echo "| transaction | target | result |"
echo "| --- | --- | ---: |"
echo "| single-node transfer | PostgreSQL directly (node 1) | $(cell direct) |"
echo "| single-node transfer | through shardgate (plain COMMIT) | $(cell gw-1node) |"
echo "| two-node transfer | through shardgate (two-phase commit) | $(cell gw-2node) |"
echo
echo "- single-node through shardgate / direct: $(r gw-1node direct)"
echo "- two-node through shardgate / single-node through shardgate: $(r gw-2node gw-1node)"
echo "- two-node through shardgate / single-node direct: $(r gw-2node direct)"
echo
echo "Checks: sum of balances on the nodes $SUM (expected $WANT_SUM$([[ $SUM == "$WANT_SUM" ]] && echo ', ok' || echo ', MISMATCH')); sg_* prepared transactions left: $PREPARED$GW_DEAD"
echo
echo "Set-up: 3 PostgreSQL 15 nodes + gateway (scripts/cluster, $([[ $FAST == 1 ]] && echo 'fsync off, synchronous_commit off' || echo 'fsync on')), $ACCOUNTS accounts used on node 1 and on node 2 (of $LOAD loaded, 32 shards), pgbench $("$PGBENCH" --version | awk '{ print $3 }') -c $CLIENTS -j 2 -T $DURATION -M simple -n --max-tries 10 over TCP on 127.0.0.1; $(nproc) CPUs shared by pgbench, the nodes and the gateway; shardgate $(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null) ($GW_BIN, built $(date -u -r "$GW_BIN" '+%Y-%m-%d %H:%M UTC' 2>/dev/null)); $(date -u '+%Y-%m-%d %H:%M UTC')"
echo
echo "Command: \`$COMMAND_LINE\`"
[[ $SUM == "$WANT_SUM" && $PREPARED == 0 && -z $GW_DEAD ]]
