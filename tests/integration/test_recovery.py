#!/usr/bin/python3
"""
test_recovery.py: txn/recovery.c (2PC recovery and commit-log GC) against
three real PostgreSQL 15 nodes, without the gateway.

Starts three throwaway PostgreSQL servers itself (initdb as the postgres
user into a temp dir, free TCP ports on 127.0.0.1, fsync=off,
max_prepared_transactions=50), loads sql/catalog.sql on each, registers them
as nodes 1..3 on node 1, and calls recovery_run_opts() through a small
program compiled here with cc (recovery_cli, source below) that loads the
catalog, runs one recovery pass and prints its stats.

Prepared transactions are made by hand exactly as txn.c makes them: the
participant gid is sg_<gw>_<txid>_<decider>_<node>, the decision row
sg_<gw>_<txid>_<decider> lives in shardgate.commit_log on node <decider>.

Cases: decision 'c' -> participants on two nodes committed; no decision ->
rolled back and an 'a' row claimed; decision 'a' -> rolled back; a deciding
transaction still open with its uncommitted 'c' insert -> recovery waits and
COMMITS once the decider commits (the race the claim protocol exists for),
rolls back if the decider rolls back, and with a short lock_timeout leaves
it for the next run; young transactions skipped; non-sg and malformed sg_
gids untouched; unknown or stopped deciding node -> left prepared, no GC;
GC deletes old rows without participants and keeps the others.

Exit status 0 only if every check passed. Env: SG_ROOT (repository root),
SG_RECOVERY_CFLAGS (extra cc flags, e.g. -fsanitize=address,undefined),
SG_ITEST_KEEP=1 (keep the temp dir).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import psycopg2

PG_BIN = "/usr/lib/postgresql/15/bin"
SG_ROOT = os.environ.get("SG_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

CLI_SOURCE = r'''
#include <stdio.h>
#include <stdlib.h>

#include "common/log.h"
#include "storage/catalog.h"
#include "txn/recovery.h"

/* recovery_cli META_CONNINFO MIN_AGE GC_COMMIT_AGE GC_ABORT_AGE LOCK_TIMEOUT_MS */
int
main(int argc, char **argv)
{
	SgError err = {0};
	if (argc != 6)
		return 2;
	sg_log_set_level(LOG_DEBUG);
	CatalogSnapshot *snap = catalog_load(argv[1], &err);
	if (snap == NULL) {
		printf("load-error %s %s\n", err.sqlstate, err.message);
		return 1;
	}
	RecoveryOptions o;
	recovery_options_defaults(&o);
	o.user = "postgres";
	o.dbname = "postgres";
	o.min_age_sec = atoi(argv[2]);
	o.gc_commit_age_sec = atoi(argv[3]);
	o.gc_abort_age_sec = atoi(argv[4]);
	o.lock_timeout_ms = atoi(argv[5]);
	o.connect_timeout_sec = 2;
	RecoveryStats st;
	bool ok = recovery_run_opts(snap, &o, &st, &err);
	char line[400];
	printf("stats %s\n", recovery_stats_format(&st, line, sizeof(line)));
	if (ok)
		printf("result ok\n");
	else
		printf("result fail %s %s\n", err.sqlstate, err.message);
	catalog_unref(snap);
	return 0;
}
'''

SOURCES = ["txn/recovery.c", "txn/gid.c", "storage/catalog.c", "storage/linkset.c",
           "common/arena.c", "common/error.c", "common/log.c", "common/buf.c"]


def as_postgres(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def free_port(taken):
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 5432 and port not in taken:
            return port


class Node:
    def __init__(self, root, node_id, port):
        self.id = node_id
        self.root = os.path.join(root, "n%d" % node_id)
        self.data = os.path.join(self.root, "data")
        self.port = port
        self.started = False

    def opts(self):
        return ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone=UTC "
                "-c max_prepared_transactions=50" % (self.port, self.root))

    def init(self):
        os.makedirs(self.root)
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(as_postgres([PG_BIN + "/initdb", "-D", self.data, "-A", "trust",
                                    "-U", "postgres", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, cwd=self.root)

    def start(self):
        self.started = True
        subprocess.run(as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-o", self.opts(),
                                    "-l", os.path.join(self.root, "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL, cwd=self.root)

    def stop(self):
        if self.started:
            subprocess.run(as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-m", "fast",
                                        "-w", "stop"]),
                           stdout=subprocess.DEVNULL, cwd=self.root)
            self.started = False

    def conninfo(self):
        return "host=127.0.0.1 port=%d user=postgres dbname=postgres" % self.port

    def connect(self, autocommit=True):
        c = psycopg2.connect(self.conninfo())
        c.autocommit = autocommit
        return c


def rows(conn, sql, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall() if cur.description else []


def scalar(conn, sql, args=None):
    return rows(conn, sql, args)[0][0]


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL", what, flush=True)

    def eq(self, got, want, what):
        self.check(got == want, "%s: expected %r, got %r" % (what, want, got))


def parse_out(out):
    stats, result = {}, None
    for ln in out.splitlines():
        if ln.startswith("stats "):
            for kv in ln[6:].split():
                k, v = kv.split("=")
                stats[k] = int(v)
        elif ln.startswith("result "):
            result = ln[7:]
    return stats, result


class Cli:
    def __init__(self, binary, meta):
        self.binary = binary
        self.meta = meta

    def args(self, min_age, gc_commit, gc_abort, lock_ms):
        return [self.binary, self.meta, str(min_age), str(gc_commit), str(gc_abort), str(lock_ms)]

    def run(self, min_age=0, gc_commit=300, gc_abort=3600, lock_ms=10000):
        p = subprocess.run(self.args(min_age, gc_commit, gc_abort, lock_ms), capture_output=True,
                           text=True, timeout=120)
        return self.finish(p.returncode, p.stdout, p.stderr)

    def start(self, min_age=0, gc_commit=300, gc_abort=3600, lock_ms=10000):
        return subprocess.Popen(self.args(min_age, gc_commit, gc_abort, lock_ms),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait(self, proc):
        out, errout = proc.communicate(timeout=120)
        return self.finish(proc.returncode, out, errout)

    @staticmethod
    def finish(rc, out, errout):
        log = errout.strip()
        if log:
            print("  recovery log:\n    " + log.replace("\n", "\n    "), flush=True)
        print("  " + out.strip().replace("\n", "\n  "), flush=True)
        stats, result = parse_out(out)
        return rc, stats, result


def prepare(node, gid, acct_id):
    """A participant as txn.c leaves it: a write, then PREPARE TRANSACTION gid."""
    c = node.connect()
    rows(c, "BEGIN")
    rows(c, "INSERT INTO acct VALUES (%s, %s)", (acct_id, node.id))
    rows(c, "PREPARE TRANSACTION %s", (gid,))
    c.close()


def prepared(node):
    c = node.connect()
    out = sorted(r[0] for r in rows(c, "SELECT gid FROM pg_prepared_xacts"))
    c.close()
    return out


def acct(node, acct_id):
    c = node.connect()
    n = scalar(c, "SELECT count(*) FROM acct WHERE id = %s", (acct_id,))
    c.close()
    return n


def decision(node, gid):
    c = node.connect()
    r = rows(c, "SELECT outcome FROM shardgate.commit_log WHERE gid = %s", (gid,))
    c.close()
    return r[0][0] if r else None


def decide(node, gid, outcome, age_sec=0):
    c = node.connect()
    rows(c, "INSERT INTO shardgate.commit_log (gid, outcome, created_at) VALUES "
            "(%s, %s, now() - make_interval(secs => %s))", (gid, outcome, age_sec))
    c.close()


def no_stats(st, keys):
    return {k: st.get(k) for k in keys}


def run(ck, nodes, cli):
    n1, n2, n3 = nodes
    catalog_sql = open(os.path.join(SG_ROOT, "sql", "catalog.sql")).read()
    for n in nodes:
        c = n.connect()
        rows(c, catalog_sql)
        rows(c, "CREATE TABLE acct (id int PRIMARY KEY, node int)")
        c.close()
    meta = n1.connect()
    for n in nodes:
        rows(meta, "INSERT INTO shardgate.nodes (node_id, host, port) VALUES (%s, '127.0.0.1', %s)",
             (n.id, n.port))

    # --- nothing to do
    rc, st, res = cli.run()
    ck.eq((rc, res), (0, "ok"), "empty run")
    ck.eq(no_stats(st, ["examined", "committed", "rolled_back", "gc_ran"]),
          {"examined": 0, "committed": 0, "rolled_back": 0, "gc_ran": 1}, "empty run stats")

    # --- (1) decision 'c' on node 1, participants on nodes 2 and 3
    decide(n1, "sg_t_1_1", "c")
    prepare(n2, "sg_t_1_1_2", 101)
    prepare(n3, "sg_t_1_1_3", 101)
    # --- (2) no decision: participants on nodes 2 and 3, decider node 1
    prepare(n2, "sg_t_2_1_2", 201)
    prepare(n3, "sg_t_2_1_3", 201)
    # --- (3) decision 'a' on node 2, participants on nodes 1 and 3
    decide(n2, "sg_t_3_2", "a")
    prepare(n1, "sg_t_3_2_1", 301)
    prepare(n3, "sg_t_3_2_3", 301)
    # --- (7) not ours: a foreign gid, a malformed sg_ gid, a transaction-shaped sg_ gid
    prepare(n2, "other_app_7", 701)
    prepare(n2, "sg_Bad_7", 702)
    prepare(n3, "sg_t_7_1", 703)
    rc, st, res = cli.run()
    ck.eq((rc, res), (0, "ok"), "run 1 result")
    ck.eq(no_stats(st, ["examined", "committed", "rolled_back", "skipped_young",
                        "skipped_unreachable", "failed"]),
          {"examined": 6, "committed": 2, "rolled_back": 4, "skipped_young": 0,
           "skipped_unreachable": 0, "failed": 0}, "run 1 stats")
    ck.eq((acct(n2, 101), acct(n3, 101)), (1, 1), "(1) 'c': both participants committed")
    ck.eq(decision(n1, "sg_t_1_1"), "c", "(1) decision row kept")
    ck.eq((acct(n2, 201), acct(n3, 201)), (0, 0), "(2) no decision: both rolled back")
    ck.eq(decision(n1, "sg_t_2_1"), "a", "(2) 'a' claimed on the deciding node")
    ck.eq((acct(n1, 301), acct(n3, 301)), (0, 0), "(3) 'a': both rolled back")
    ck.eq(decision(n2, "sg_t_3_2"), "a", "(3) decision row kept")
    ck.eq(prepared(n1), [], "node 1: nothing prepared")
    ck.eq(prepared(n2), ["other_app_7", "sg_Bad_7"], "(7) node 2: foreign gids untouched")
    ck.eq(prepared(n3), ["sg_t_7_1"], "(7) node 3: transaction-shaped gid untouched")
    c = n3.connect()
    ck.eq(scalar(c, "SELECT count(*) FROM shardgate.commit_log"), 0, "(7) no claim for sg_t_7_1")
    c.close()
    for n, gids in ((n2, ["other_app_7", "sg_Bad_7"]), (n3, ["sg_t_7_1"])):
        c = n.connect()
        for g in gids:
            rows(c, "ROLLBACK PREPARED %s", (g,))
        c.close()

    # --- (6) young: min_age 60 leaves it, min_age 0 resolves it
    prepare(n2, "sg_t_6_3_2", 601)
    rc, st, res = cli.run(min_age=60)
    ck.eq((rc, res), (0, "ok"), "(6) young run result")
    ck.eq(no_stats(st, ["examined", "skipped_young", "committed", "rolled_back"]),
          {"examined": 1, "skipped_young": 1, "committed": 0, "rolled_back": 0}, "(6) stats")
    ck.eq(prepared(n2), ["sg_t_6_3_2"], "(6) young participant left prepared")
    ck.eq(decision(n3, "sg_t_6_3"), None, "(6) no claim for a young transaction")
    rc, st, res = cli.run(min_age=0)
    ck.eq(st.get("rolled_back"), 1, "(6) resolved once old enough")
    ck.eq(prepared(n2), [], "(6) gone")

    # --- (4) the race: the decider's transaction holds its uncommitted 'c' insert
    def open_decider(gid, acct_id):
        d = n1.connect(autocommit=False)
        rows(d, "INSERT INTO acct VALUES (%s, 1)", (acct_id,))
        rows(d, "INSERT INTO shardgate.commit_log (gid, outcome) VALUES (%s, 'c')", (gid,))
        return d

    def waiting_recoveries():
        c = n1.connect()
        n = scalar(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                      "'shardgate recovery' AND wait_event_type = 'Lock'")
        c.close()
        return n

    for case, commit in (("(4)", True), ("(5)", False)):
        txid = 4 if commit else 5
        gid = "sg_t_%d_1" % txid
        d = open_decider(gid, 400 + txid)
        prepare(n2, gid + "_2", 400 + txid)
        prepare(n3, gid + "_3", 400 + txid)
        proc = cli.start(min_age=0)
        blocked = False
        for _ in range(50):
            if waiting_recoveries() > 0:
                blocked = True
                break
            time.sleep(0.1)
        ck.check(blocked, "%s recovery waits on the open deciding transaction" % case)
        time.sleep(1.0)
        ck.check(proc.poll() is None, "%s recovery still waiting after 1 s" % case)
        if commit:
            d.commit()
        else:
            d.rollback()
        d.close()
        rc, st, res = cli.wait(proc)
        ck.eq((rc, res), (0, "ok"), "%s result" % case)
        want = 1 if commit else 0
        ck.eq((acct(n1, 400 + txid), acct(n2, 400 + txid), acct(n3, 400 + txid)),
              (want, want, want), "%s all three nodes agree" % case)
        ck.eq(decision(n1, gid), "c" if commit else "a", "%s decision row" % case)
        ck.eq(no_stats(st, ["committed", "rolled_back"]),
              {"committed": 2 if commit else 0, "rolled_back": 0 if commit else 2},
              "%s stats" % case)
        ck.eq(prepared(n2) + prepared(n3), [], "%s nothing left prepared" % case)

    # --- (4b) the decider stays open past lock_timeout: left for the next run, then committed
    d = open_decider("sg_t_8_1", 408)
    prepare(n2, "sg_t_8_1_2", 408)
    rc, st, res = cli.run(min_age=0, lock_ms=300)
    ck.eq((rc, res), (0, "ok"), "(4b) busy is not a failure")
    ck.eq(no_stats(st, ["skipped_busy", "committed", "rolled_back"]),
          {"skipped_busy": 1, "committed": 0, "rolled_back": 0}, "(4b) stats")
    ck.eq(prepared(n2), ["sg_t_8_1_2"], "(4b) still prepared")
    d.commit()
    d.close()
    rc, st, res = cli.run(min_age=0)
    ck.eq(st.get("committed"), 1, "(4b) committed on the next run")
    ck.eq((acct(n1, 408), acct(n2, 408)), (1, 1), "(4b) both committed")

    # --- deciding node unknown to the catalog: never guessed
    prepare(n2, "sg_t_9_9_2", 909)
    rc, st, res = cli.run(min_age=0)
    ck.check(res is not None and res.startswith("fail"), "unknown decider: run reports it (%s)" % res)
    ck.eq(no_stats(st, ["skipped_unreachable", "rolled_back", "committed"]),
          {"skipped_unreachable": 1, "rolled_back": 0, "committed": 0}, "unknown decider stats")
    ck.eq(prepared(n2), ["sg_t_9_9_2"], "unknown decider: left prepared")
    c = n2.connect()
    rows(c, "ROLLBACK PREPARED 'sg_t_9_9_2'")
    c.close()

    # --- deciding node down: left prepared, no GC; resolved when it is back
    decide(n3, "sg_t_10_3", "c")
    prepare(n2, "sg_t_10_3_2", 1010)
    decide(n1, "sg_t_11_1", "c", age_sec=3600)  # GC candidate: must survive while node 3 is down
    n3.stop()
    try:
        rc, st, res = cli.run(min_age=0)
        ck.check(res is not None and res.startswith("fail 08006"),
                 "node down: run reports 08006 (%s)" % res)
        ck.eq(no_stats(st, ["skipped_unreachable", "nodes_unreachable", "committed",
                            "rolled_back", "gc_ran", "gc_deleted"]),
              {"skipped_unreachable": 1, "nodes_unreachable": 1, "committed": 0,
               "rolled_back": 0, "gc_ran": 0, "gc_deleted": 0}, "node down stats")
        ck.eq(prepared(n2), ["sg_t_10_3_2"], "node down: participant left prepared")
        ck.eq(decision(n1, "sg_t_11_1"), "c", "node down: no GC")
    finally:
        n3.start()
    rc, st, res = cli.run(min_age=0)
    ck.eq((rc, res), (0, "ok"), "node back: result")
    ck.eq(st.get("committed"), 1, "node back: committed")
    ck.eq(acct(n2, 1010), 1, "node back: participant committed")

    # --- (8) GC: old rows without participants go, the rest stays
    c1 = n1.connect()
    rows(c1, "DELETE FROM shardgate.commit_log")
    c1.close()
    for n in nodes:
        c = n.connect()
        rows(c, "DELETE FROM shardgate.commit_log")
        c.close()
    decide(n1, "sg_g_1_1", "c", age_sec=600)    # old, no participant -> deleted
    decide(n1, "sg_g_2_1", "c", age_sec=600)    # old, participant still prepared -> kept
    prepare(n3, "sg_g_2_1_3", 802)
    decide(n1, "sg_g_3_1", "c", age_sec=0)      # young -> kept
    decide(n1, "sg_g_4_1", "a", age_sec=7200)   # old abort -> deleted
    decide(n1, "sg_g_5_1", "a", age_sec=600)    # abort younger than gc_abort_age -> kept
    decide(n2, "sg_g_6_2", "c", age_sec=600)    # old, no participant, node 2 -> deleted
    decide(n2, "sg_g_7_2", "c", age_sec=600)    # old, participant on node 1 -> kept
    prepare(n1, "sg_g_7_2_1", 807)
    rc, st, res = cli.run(min_age=60)          # participants are young: not resolved
    ck.eq((rc, res), (0, "ok"), "(8) GC result")
    ck.eq(no_stats(st, ["gc_ran", "gc_deleted", "skipped_young"]),
          {"gc_ran": 1, "gc_deleted": 3, "skipped_young": 2}, "(8) GC stats")
    c1, c2 = n1.connect(), n2.connect()
    ck.eq(sorted(r[0] for r in rows(c1, "SELECT gid FROM shardgate.commit_log")),
          ["sg_g_2_1", "sg_g_3_1", "sg_g_5_1"], "(8) node 1 rows after GC")
    ck.eq(sorted(r[0] for r in rows(c2, "SELECT gid FROM shardgate.commit_log")),
          ["sg_g_7_2"], "(8) node 2 rows after GC")
    c1.close()
    c2.close()
    # resolve the rest: GC runs after resolution, so their 'c' rows go in the same run
    rc, st, res = cli.run(min_age=0)
    ck.eq(no_stats(st, ["committed", "gc_ran", "gc_deleted"]),
          {"committed": 2, "gc_ran": 1, "gc_deleted": 2}, "(8) participants committed, rows collected")
    ck.eq((acct(n3, 802), acct(n1, 807)), (1, 1), "(8) participant rows committed")
    rc, st, res = cli.run(min_age=0)
    ck.eq(no_stats(st, ["gc_deleted", "examined"]), {"gc_deleted": 0, "examined": 0},
          "(8) idle run")
    ck.eq([prepared(n) for n in nodes], [[], [], []], "nothing prepared at the end")
    meta.close()


def main():
    tmp = tempfile.mkdtemp(prefix="sg_recovery_")
    os.chmod(tmp, 0o755)
    ports = []
    for _ in range(3):
        ports.append(free_port(ports))
    nodes = [Node(tmp, i + 1, ports[i]) for i in range(3)]
    ck = Checker()
    try:
        binary = os.path.join(tmp, "recovery_cli")
        src = os.path.join(tmp, "recovery_cli.c")
        with open(src, "w") as f:
            f.write(CLI_SOURCE)
        extra = os.environ.get("SG_RECOVERY_CFLAGS", "").split()
        subprocess.run(["cc", "-std=gnu11", "-g", "-Wall", "-Werror"] + extra + ["-I", SG_ROOT,
                        "-I", "/usr/include/postgresql", "-o", binary, src]
                       + [os.path.join(SG_ROOT, s) for s in SOURCES] + ["-lpq", "-lm"],
                       check=True)
        for n in nodes:
            n.init()
            n.start()
        run(ck, nodes, Cli(binary, nodes[0].conninfo()))
    except Exception:  # noqa: BLE001
        traceback.print_exc(file=sys.stdout)
        ck.failed += 1
    finally:
        for n in nodes:
            n.stop()
        if os.environ.get("SG_ITEST_KEEP"):
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (ck.passed, ck.failed))
    sys.exit(1 if ck.failed else 0)


if __name__ == "__main__":
    main()
