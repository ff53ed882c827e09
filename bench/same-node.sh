#!/usr/bin/env bash
# bench/same-node.sh: direct PostgreSQL, pgbouncer and the gateway in front of
# ONE node and the same tables, so that the two proxies are compared without
# the difference between two nodes' states (bench/run-all gives each target
# its own node, and the gateway's tables are distributed there).
#
#   bench/same-node.sh [--gateway-bin PATH] [--rounds N] [--duration S]
#
#   --gateway-bin PATH  default build/shardgate
#   --rounds N          default 3; each round runs direct, pgbouncer and the gateway
#                       back to back, in an order rotated by one each round
#   --duration S        seconds per pgbench run (default 6)
#
# The tables stay local (not distributed): the gateway still parses, plans and
# routes every statement (to the one node), and direct PostgreSQL and
# pgbouncer read the very same tables.
#
# Scenarios: 8-client simple point select and TPC-B (pgbench's scripts, -s 10).
# Prints tps (median), ×direct (median of each round's ratio to direct's tps in
# that round) and CPU µs per transaction of the proxy and of the node.
# Everything runs in a fresh /tmp/sg-samenode-* directory and is stopped by
# pid (pgbouncer) and scripts/cluster down.
set -u
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"

GW_BIN=$REPO/build/shardgate
ROUNDS=3
DURATION=6
while (($# > 0)); do
	case $1 in
	--gateway-bin) GW_BIN=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--duration) DURATION=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "same-node.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ $ROUNDS =~ ^[1-9][0-9]*$ && $DURATION =~ ^[1-9][0-9]*$ ]] ||
	{ echo "same-node.sh: --rounds and --duration need positive integers" >&2; exit 2; }
[[ -x $GW_BIN ]] || { echo "same-node.sh: gateway binary $GW_BIN not found" >&2; exit 1; }
[[ $GW_BIN == /* ]] || GW_BIN=$PWD/$GW_BIN
command -v pgbouncer >/dev/null || { echo "same-node.sh: pgbouncer is not installed" >&2; exit 1; }

WORK=$(mktemp -d /tmp/sg-samenode-XXXXXX)
chmod 755 "$WORK"
DIR=$WORK/cluster
PORT=$(free_port_block 4)
BOUNCER_PORT=$((PORT + 3))
cleanup() {
	pgbouncer_stop "$WORK/pgbouncer"
	"$REPO/scripts/cluster" down --dir "$DIR" >/dev/null 2>&1
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "one node and the gateway on port $PORT, pgbouncer on $BOUNCER_PORT ($WORK)"
one_node_pgbench "$DIR" "$PORT" "$GW_BIN" || exit 1
pg_sql $((PORT + 1)) 'VACUUM ANALYZE' || exit 1
pg_sql $((PORT + 1)) 'CHECKPOINT' || exit 1
pgbouncer_start "$WORK/pgbouncer" "$BOUNCER_PORT" $((PORT + 1)) "$DIR/run" ||
	{ echo "same-node.sh: pgbouncer did not start" >&2; exit 1; }
write_pgbench_scripts "$WORK"

PM=$(postmaster_pid "$DIR/node1")
GW=$(tr -dc '0-9' <"$DIR/gateway.pid")
BOUNCER=$(tr -dc '0-9' <"$WORK/pgbouncer/pgbouncer.pid")
TARGETS=(direct pgbouncer gateway)
declare -A TPORT=([direct]=$((PORT + 1)) [pgbouncer]=$BOUNCER_PORT [gateway]=$PORT)
declare -A TPID=([direct]="" [pgbouncer]=$BOUNCER [gateway]=$GW)
declare -A TPS=() PCPU=() NCPU=() # "scenario|target" -> one figure per round

SCENARIOS=("simple|point select (-S), -M simple, 8 clients|select-only.sql"
	"tpcb|TPC-B (default script), 8 clients|tpcb-like.sql")
for sc in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label script <<<"$sc"
	for ((round = 1; round <= ROUNDS; round++)); do
		for t in $(rotated "$round" "${TARGETS[@]}"); do
			say "$label: $t (round $round/$ROUNDS)"
			n0=$(pg_ticks "$PM")
			p0=""
			[[ -n ${TPID[$t]} ]] && p0=$(cpu_ticks "${TPID[$t]}")
			r=$(run_pgbench "$WORK/$id.$t.$round" $((DURATION + 60)) -- -n -f "$WORK/$script" -s 10 \
				-M simple -c 8 -j 2 -T "$DURATION" -h 127.0.0.1 -p "${TPORT[$t]}" -U postgres postgres)
			if [[ $r == error:* ]]; then
				echo "same-node.sh: $t: $r" >&2
				exit 1
			fi
			read -r tps _ ntx <<<"$r"
			TPS[$id|$t]+="$tps "
			NCPU[$id|$t]+="$(per_tx "$(pg_ticks "$PM")" "$n0" "$ntx") "
			[[ -n $p0 ]] && PCPU[$id|$t]+="$(per_tx "$(cpu_ticks "${TPID[$t]}")" "$p0" "$ntx") "
		done
	done
done

echo "| scenario | direct tps | pgbouncer tps (×direct) | gateway tps (×direct) |"
echo "| --- | ---: | ---: | ---: |"
for sc in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label _ <<<"$sc"
	row="| $label |"
	for t in "${TARGETS[@]}"; do
		# shellcheck disable=SC2086
		cell=$(printf '%.0f' "$(median ${TPS[$id|$t]})")
		[[ $t == direct ]] || cell+=" ($(paired_ratio "${TPS[$id|$t]}" "${TPS[$id|direct]}"))"
		row+=" $cell |"
	done
	echo "$row"
done
echo
echo "| CPU µs per transaction: proxy / node | direct | pgbouncer | gateway |"
echo "| --- | ---: | ---: | ---: |"
for sc in "${SCENARIOS[@]}"; do
	IFS='|' read -r id label _ <<<"$sc"
	row="| $label |"
	for t in "${TARGETS[@]}"; do
		# shellcheck disable=SC2086
		n=$(median ${NCPU[$id|$t]})
		if [[ $t == direct ]]; then
			row+=" $n |"
		else
			# shellcheck disable=SC2086
			row+=" $(median ${PCPU[$id|$t]}) / $n |"
		fi
	done
	echo "$row"
done
echo
echo "One node, local (undistributed) pgbench tables, scale 10, fsync on; pgbouncer $(pgbouncer --version 2>/dev/null | head -n1 | awk '{ print $2 }') (transaction pooling, default_pool_size 20) and the gateway (one event loop per CPU, its default) both over the node's unix socket; pgbench over TCP, 8 clients, -j 2, $DURATION s per run, $ROUNDS rounds; tps the median, ×direct the median of each round's ratio."
echo
echo "Command: \`bench/same-node.sh --gateway-bin ${GW_BIN#"$REPO"/} --rounds $ROUNDS --duration $DURATION\`; $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null)"
