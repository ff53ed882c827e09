"""pgbench through the gateway.

  pgbench -i -s 1 -I dtGvp      (drop, create tables, server-side generate,
                                 vacuum, primary keys) through the gateway
  create_distributed_table: pgbench_accounts by aid, pgbench_branches by bid,
                            pgbench_tellers by tid, pgbench_history by aid
                            (moves the rows generated into the shell tables)
  pgbench -T N -c 4 -j 2        default TPC-B-like script, zero errors wanted
  pgbench -T N -c 4 -j 2 -M prepared / -S (select-only) as separate cases

N is SG_PGBENCH_SECONDS (default 10; the 30 s figure is reported once).
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

PG_BIN = "/usr/lib/postgresql/15/bin"
SECONDS = int(os.environ.get("SG_PGBENCH_SECONDS", "10"))
# Every pgbench run needs its own -T plus start-up and connection time.
common.CASE_TIMEOUT = max(common.CASE_TIMEOUT, SECONDS + 40)
S = common.Suite("pgbench")
ENV = dict(os.environ, PGHOST=common.HOST, PGPORT=str(common.PORT), PGUSER=common.USER,
           PGDATABASE=common.DB, PGCONNECT_TIMEOUT="10")


def sh(args, timeout=None):
    r = subprocess.run(args, capture_output=True, text=True, env=ENV,
                       timeout=timeout or common.CASE_TIMEOUT - 2)
    return r.returncode, r.stdout, r.stderr


def psql(sql):
    rc, out, err = sh([os.path.join(PG_BIN, "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                       "-c", sql])
    if rc != 0:
        raise AssertionError("psql %r: %s" % (sql, common.one_line(err)))
    return out.strip()


def bench(*extra):
    rc, out, err = sh([os.path.join(PG_BIN, "pgbench"), "-n", "-T", str(SECONDS), "-c", "4",
                       "-j", "2"] + list(extra), timeout=SECONDS + 38)
    m = re.search(r"number of failed transactions: (\d+)", out)
    failed = int(m.group(1)) if m else None
    tps = re.search(r"tps = ([0-9.]+) \(without initial connection time\)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    summary = "tps %s, %s transactions, %s failed" % (
        tps.group(1) if tps else "?", done.group(1) if done else "?", failed)
    print("  pgbench %s: %s" % (" ".join(extra) or "(TPC-B)", summary), flush=True)
    if rc != 0 or failed != 0:
        errs = [line for line in err.splitlines() if "error" in line.lower()][:3]
        raise AssertionError("rc %d, %s; %s" % (rc, summary, common.one_line(" | ".join(errs)
                                                                             or err)))


@S.case("pgbench", "pgbench -i -s 1 -I dtGvp through the gateway")
def _():
    rc, out, err = sh([os.path.join(PG_BIN, "pgbench"), "-i", "-s", "1", "-I", "dtGvp"])
    if rc != 0:
        raise AssertionError("rc %d: %s" % (rc, common.one_line(err)))


@S.case("pgbench", "distribute the four tables (rows move into the shards)")
def _():
    for t, col in (("pgbench_accounts", "aid"), ("pgbench_branches", "bid"),
                   ("pgbench_tellers", "tid"), ("pgbench_history", "aid")):
        psql("SELECT create_distributed_table('%s', '%s')" % (t, col))
    eq(psql("SELECT abalance FROM pgbench_accounts WHERE aid = 77777"), "0", "account 77777")
    eq(psql("SELECT bid FROM pgbench_tellers WHERE tid = 7"), "1", "teller 7")


@S.case("pgbench", "rows readable after distribution (fan-out, counted on the client)")
def _():
    n = len(psql("SELECT aid FROM pgbench_accounts").split())
    eq(n, 100000, "accounts")


@S.case("pgbench", "pgbench -T N -c 4 default TPC-B (simple protocol): zero failed")
def _():
    bench()


def tpcb_file():
    """pgbench's own tpcb-like script as a file: run as a custom script with
    -D scale=1, pgbench skips its start-up `select count(*) from
    pgbench_branches` (a cross-shard aggregate)."""
    rc, out, err = sh([os.path.join(PG_BIN, "pgbench"), "--show-script=tpcb-like"])
    body = "\n".join(l for l in (out + err).splitlines() if not l.startswith("-- "))
    path = os.path.join(os.environ.get("SG_CLIENT_WORKDIR", "/tmp"), "tpcb-like.sql")
    with open(path, "w") as f:
        f.write(body + "\n")
    return path


@S.case("pgbench", "TPC-B as a custom script (-f tpcb-like, -D scale=1): zero failed")
def _():
    bench("-f", tpcb_file(), "-D", "scale=1")


@S.case("pgbench", "TPC-B custom script -M prepared: zero failed")
def _():
    bench("-f", tpcb_file(), "-D", "scale=1", "-M", "prepared")


@S.case("pgbench", "pgbench -M extended TPC-B: zero failed")
def _():
    bench("-M", "extended")


@S.case("pgbench", "pgbench -M prepared TPC-B: zero failed")
def _():
    bench("-M", "prepared")


@S.case("pgbench", "pgbench -S (select only) -M prepared: zero failed")
def _():
    bench("-S", "-M", "prepared")


try:
    psql("DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_tellers, "
         "pgbench_history CASCADE")
except Exception:  # noqa: BLE001
    pass
S.finish()
