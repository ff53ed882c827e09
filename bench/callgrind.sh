#!/usr/bin/env bash
# bench/callgrind.sh: the gateway's own instructions per transaction, counted
# by valgrind's callgrind (a deterministic figure, unlike tps on a shared
# machine). One node, the pgbench tables distributed as in bench/run-all, one
# pgbench client; for each scenario the gateway runs twice under callgrind,
# once for N and once for 2N transactions, and the difference divided by N is
# the cost of one transaction without start-up and warm-up.
#
#   bench/callgrind.sh [--gateway-bin PATH] [--transactions N] [--scenarios LIST] [--top K]
#
#   --gateway-bin PATH  default build/shardgate (a Release build with -g, as CMakeLists sets)
#   --transactions N    default 2000 (N and 2N are run)
#   --scenarios LIST    comma-separated from: simple, prepared, tpcb (default all)
#   --keep DIR          copy the callgrind output files there (for callgrind_annotate
#                       --tree=caller and the like)
#   --top K             also print the K functions with the most own instructions
#                       per transaction in each scenario (default 0)
#
# Needs valgrind (Debian package valgrind) and PostgreSQL 15. Everything runs in
# a fresh /tmp/sg-callgrind-* directory, stopped by pid and scripts/cluster down.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

GW_BIN=$REPO/build/shardgate
NTX=2000
SCEN=simple,prepared,tpcb
TOP=0
KEEP=
while (($# > 0)); do
	case $1 in
	--gateway-bin) GW_BIN=${2:?}; shift 2 ;;
	--transactions) NTX=${2:?}; shift 2 ;;
	--scenarios) SCEN=${2:?}; shift 2 ;;
	--top) TOP=${2:?}; shift 2 ;;
	--keep) KEEP=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "callgrind.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $NTX =~ ^[1-9][0-9]*$ ]] || { echo "callgrind.sh: --transactions needs a positive integer" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
command -v callgrind_annotate >/dev/null || { echo "callgrind.sh: callgrind_annotate is missing (package valgrind)" >&2; exit 1; }
[[ -x $GW_BIN ]] || { echo "callgrind.sh: gateway binary $GW_BIN not found" >&2; exit 1; }
[[ $GW_BIN == /* ]] || GW_BIN=$PWD/$GW_BIN

WORK=$(mktemp -d /tmp/sg-callgrind-XXXXXX)
chmod 755 "$WORK"
DIR=$WORK/cluster
PORT=$(free_port_block 2)
VG_PID=
cleanup() {
	if [[ -n $VG_PID ]] && kill -0 "$VG_PID" 2>/dev/null; then
		kill "$VG_PID" 2>/dev/null
		wait "$VG_PID" 2>/dev/null
	fi
	"$REPO/scripts/cluster" down --dir "$DIR" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "starting one node and the gateway on port $PORT ($DIR)"
one_node_pgbench "$DIR" "$PORT" "$GW_BIN" 1 || exit 1 # one client: one loop
for spec in "${PGBENCH_DISTRIBUTION[@]}"; do
	pg_sql "$PORT" "SELECT create_distributed_table('${spec%%:*}', '${spec#*:}')" >/dev/null || exit 1
done
pg_sql $((PORT + 1)) 'VACUUM ANALYZE' || exit 1

# The gateway the cluster started steps aside; each measurement starts its own.
kill "$(cat "$DIR/gateway.pid")" 2>/dev/null
for _ in $(seq 50); do pg_sql "$PORT" 'SELECT 1' >/dev/null 2>&1 || break; sleep 0.1; done

write_pgbench_scripts "$WORK"

# measure OUT SCRIPT MODE N: total instructions of a gateway that served N
# transactions (after 200 of warm-up) and exited
measure() {
	local out=$1 script=$2 mode=$3 n=$4
	setsid valgrind --tool=callgrind --callgrind-out-file="$out" "$GW_BIN" --config "$DIR/gateway.conf" \
		>"$out.log" 2>&1 </dev/null &
	VG_PID=$!
	local ok=
	for _ in $(seq 300); do
		pg_sql "$PORT" 'SELECT 1' >/dev/null 2>&1 && { ok=1; break; }
		kill -0 "$VG_PID" 2>/dev/null || break
		sleep 0.2
	done
	[[ -n $ok ]] || { echo "error: the gateway did not start under valgrind ($out.log)" >&2; return 1; }
	"$PGBENCH" -n -f "$script" -s 10 -M "$mode" -c 1 -t 200 -h 127.0.0.1 -p "$PORT" -U postgres postgres >/dev/null 2>&1 &&
		"$PGBENCH" -n -f "$script" -s 10 -M "$mode" -c 1 -t "$n" -h 127.0.0.1 -p "$PORT" -U postgres postgres \
			>"$out.pgbench" 2>&1 || { echo "error: pgbench failed: $(first_error "$out.pgbench")" >&2; return 1; }
	kill "$VG_PID"
	wait "$VG_PID" 2>/dev/null
	VG_PID=
	callgrind_annotate --auto=no "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

echo "| scenario (1 client) | gateway instructions per transaction |"
echo "| --- | ---: |"
IFS=, read -r -a LIST <<<"$SCEN"
for s in "${LIST[@]}"; do
	case $s in
	simple) label="point select (-S), -M simple" script=$WORK/select-only.sql mode=simple ;;
	prepared) label="point select (-S), -M prepared" script=$WORK/select-only.sql mode=prepared ;;
	tpcb) label="TPC-B (7 statements)" script=$WORK/tpcb-like.sql mode=simple ;;
	*) echo "callgrind.sh: unknown scenario $s" >&2; exit 2 ;;
	esac
	say "$s: $NTX and $((2 * NTX)) transactions under callgrind"
	a=$(measure "$WORK/$s.1" "$script" "$mode" "$NTX") || exit 1
	b=$(measure "$WORK/$s.2" "$script" "$mode" $((2 * NTX))) || exit 1
	echo "| $label | $(((b - a) / NTX)) |"
	[[ -n $KEEP ]] && mkdir -p "$KEEP" && cp "$WORK/$s.1" "$WORK/$s.2" "$KEEP/"
	if ((TOP > 0)); then
		# per function: instructions in the 2N run minus the N run, over N
		for r in 1 2; do
			callgrind_annotate --auto=no --threshold=100 "$WORK/$s.$r" 2>/dev/null |
				grep -E '^ *[0-9,]+ \(' | grep -v 'PROGRAM TOTALS' |
				sed -E "s/^ *([0-9,]+) \([ 0-9.]+%\) +/$r \1 /"
		done | awk -v n="$NTX" '{ r = $1; v = $2; gsub(",", "", v); $1 = ""; $2 = ""; f = substr($0, 3)
				c[f] += (r == 2 ? v : -v) }
			END { for (f in c) if (c[f] > 0) printf "%8.0f  %s\n", c[f] / n, f }' |
			sort -rn | head -n "$TOP" | sed 's/^/    /' >&2
	fi
done
echo
echo "Command: \`bench/callgrind.sh --gateway-bin ${GW_BIN#"$REPO"/} --transactions $NTX\`; $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null); valgrind $(valgrind --version | sed 's/valgrind-//')"
