#!/usr/bin/env bash
# Read-only pgbench (-S: one primary-key SELECT per transaction, 8 clients,
# -M simple) directly against one PostgreSQL node and through shardgate over
# one node, printing both tps figures and the ratio: the short benchmark of
# issue 2. It is one scenario of bench/run-all (see bench/README.md); extra
# arguments are passed on, e.g. --duration 20 or --gateway-bin PATH.
exec "$(dirname "${BASH_SOURCE[0]}")/run-all" --targets direct,shardgate-1 \
	--scenarios sel_simple_8 --no-idle "$@"
