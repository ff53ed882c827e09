#!/usr/bin/python3
"""
test_bank.py: the bank test of issue 4. Transfers between accounts on three
storage nodes stay atomic while the gateway and the nodes are killed and
every 2PC fault point fires.

Set-up: a 3-node cluster whose gateway runs with recovery_interval_ms=1000
and recovery_min_age_sec=2 (a wrapper around SG_BIN adds the two --set
flags, because scripts/cluster rewrites D/gateway.conf at every start; the
wrapper execs, so D/gateway.pid and the script's "is it our gateway" check
still see the real binary). Tables

    accounts(id int primary key, balance bigint)            distributed by id
    transfers_log(transfer_id bigint, account_id int,
                  amount bigint, kind text)                  distributed by account_id,
                                                             co-located with accounts

with N_ACCOUNTS accounts of INITIAL each.

Load: N_CLIENTS threads, each on its own psycopg2 connection to the gateway
(autocommit on at the driver, the transaction block written out, so the
client sees COMMIT's command tag):

    BEGIN; UPDATE accounts -x (a); UPDATE accounts +x (b)   -- in id order,
    INSERT debit row (account a); INSERT credit row (account b); COMMIT

A quarter of the transfers split the amount between two credited accounts
(one debit row, two credit rows), so a transfer may span three nodes: two
participants PREPARE besides the decider, and between_prepares /
between_commit_prepared fire with work still to do on one of them.

The UPDATEs go in id order so that two transfers never wait on each other in
a cycle across nodes (the gateway has no distributed deadlock detector yet;
lock_timeout=4s is a further guard). Each transfer's outcome is recorded:

  acknowledged  COMMIT returned the tag COMMIT
  failed        an error with a SQLSTATE before or at COMMIT, the connection
                lost before COMMIT was sent, or COMMIT answered ROLLBACK
  unknown       the connection was lost during COMMIT, or 08007

One more thread runs `UPDATE marks SET n = n + 1` (no key: a single statement
writing every shard of a 30-row table on every node, committed atomically by
the gateway) about every 0.3 s, recording acknowledged / failed / unknown.

Faults, at random moments over the run (seed printed; SG_BANK_SEED=n
repeats a schedule): kill -9 of the gateway (pid from D/gateway.pid) and
restart with `scripts/cluster up --dir D`; kill -9 of each storage node's
postmaster (first line of D/nodeK/postmaster.pid) and restart the same way;
and for each 2PC fault point (before_prepare, between_prepares,
before_decide, after_decide, between_commit_prepared) the gateway is
restarted with SG_FAULTS="<point>=crash@P" in its environment, the test waits
until it has crashed there (its log says "<point>: crash"), then restarts
it without faults.

Checks, after the last fault, with everything up again:
  * within 30 s no sg_% row is left in pg_prepared_xacts on any node;
  * read from the shard tables on the nodes directly (not through the gateway):
    sum of balances == initial sum; every balance == initial + credits -
    debits; every transfer id has exactly one debit and one credit, with the
    amount and accounts the client sent, each on its account's node;
  * every acknowledged transfer present, every failed one absent, unknown
    ones whole or absent (a transfer's rows are exactly the debit and credit(s) sent,
    or none), no transfer the clients never sent;
  * the gateway still serves pool_size concurrent transactions on every
    node (its pools run with pool_size = N_CLIENTS + 1, SG_BANK_POOL_SIZE, and
    the last two faults are node kills under the running gateway, so connection
    slots lost with broken connections show up);
  * every mark row has the same n (fan-out UPDATEs all-or-nothing), with
    acknowledged <= n <= acknowledged + unknown;
  * no client statement hung for HANG_S seconds.
Prints: bank: transfers acknowledged=N failed=N unknown=N, faults
injected=N, in-doubt resolved=N, invariant violations=N.

Synchronous commit: the cluster runs with --fast (fsync=off,
synchronous_commit=off). A kill -9 keeps the OS page cache, so fsync does
not matter, but an asynchronous COMMIT can be acknowledged and still be lost
with the WAL buffers when the postmaster is killed: a plain one-node commit
(and the deciding participant's commit, i.e. the 2PC decision) would vanish
without any fault of the gateway. The test sets synchronous_commit=on on every
node with ALTER SYSTEM before the run.

Env: SG_BIN, SG_ROOT (as for every integration test); SG_BANK_SECONDS
(load duration, default 60), SG_BANK_SEED, SG_BANK_RECOVERY_MS (1000) and
SG_BANK_MIN_AGE (2): the gateway's recovery_interval_ms and
recovery_min_age_sec (0 and 100 make recovery race live coordinators all
the time), SG_BANK_BASE_FAULTS: fault points armed in every gateway of the
run, e.g. "before_decide=stall:300@0.05,after_decide=stall:300@0.05" (a
stall blocks the gateway's loop while its recovery worker runs on),
SG_ITEST_KEEP=1 (keep the dir).
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import log, test  # noqa: E402

import psycopg2  # noqa: E402

N_ACCOUNTS = 240
INITIAL = 1000
N_CLIENTS = 8
SPLIT_SHARE = 0.25  # transfers from one account to two (up to three nodes)
N_MARKS = 30  # rows of the fan-out table (on every node)
FANOUT_EVERY_S = 0.3
SECONDS = int(os.environ.get("SG_BANK_SECONDS", "60"))
HANG_S = 20.0
RECOVERY_WAIT_S = 30.0
FAULT_POINTS = ("before_prepare", "between_prepares", "before_decide", "after_decide",
                "between_commit_prepared")
CONNECT_OPTS = "-c lock_timeout=4000"
# the gateway's recovery settings; SG_BANK_MIN_AGE=0 SG_BANK_RECOVERY_MS=100 makes every
# recovery pass race the live coordinators (the claim protocol must keep them apart)
RECOVERY_MS = int(os.environ.get("SG_BANK_RECOVERY_MS", "1000"))
MIN_AGE = int(os.environ.get("SG_BANK_MIN_AGE", "2"))
# fault points armed in every gateway of the run (e.g. stalls that widen the windows
# between PREPARE and the decision): SG_BANK_BASE_FAULTS="before_decide=stall:300@0.05"
BASE_FAULTS = os.environ.get("SG_BANK_BASE_FAULTS", "")
# a small pool per node (the clients need N_CLIENTS at most): a pool slot lost on every
# broken or abandoned node connection then exhausts it within the run
POOL_SIZE = int(os.environ.get("SG_BANK_POOL_SIZE", str(N_CLIENTS + 1)))
if BASE_FAULTS:
    os.environ["SG_FAULTS"] = BASE_FAULTS  # the first gateway, started by the harness
else:
    os.environ.pop("SG_FAULTS", None)

REAL_BIN = harness.SG_BIN


def make_wrapper():
    """A gateway 'binary' that execs the real one with fast recovery settings."""
    d = tempfile.mkdtemp(prefix="sg-bank-bin-", dir="/tmp")
    os.chmod(d, 0o755)
    path = os.path.join(d, "shardgate-bank")
    with open(path, "w") as f:
        f.write("#!/bin/sh\n# test_bank.py: the gateway with fast 2PC recovery\n"
                "exec '%s' \"$@\" --set recovery_interval_ms=%d "
                "--set recovery_min_age_sec=%d --set pool_size=%d "
                "--set pool_wait_timeout_ms=5000\n" % (
                    REAL_BIN.replace("'", "'\\''"), RECOVERY_MS, MIN_AGE, POOL_SIZE))
    os.chmod(path, 0o755)
    return path


WRAPPER = make_wrapper()
harness.SG_BIN = WRAPPER  # the harness starts and restarts the gateway through it


class Outcomes:
    def __init__(self):
        self.lock = threading.Lock()
        self.sent = {}      # tid -> sorted [(account, amount, 'debit'/'credit')]
        self.acked = set()
        self.failed = {}    # tid -> reason
        self.unknown = {}   # tid -> reason
        self.hangs = []     # descriptions
        self.errors = {}    # sqlstate/reason -> count (for the report)

    def note_error(self, key):
        with self.lock:
            self.errors[key] = self.errors.get(key, 0) + 1


class Client(threading.Thread):
    """One bank client: transfers until stop is set."""

    def __init__(self, idx, cluster, out, stop, seed):
        super().__init__(daemon=True, name="client%d" % idx)
        self.idx = idx
        self.cluster = cluster
        self.out = out
        self.stop = stop
        self.rng = random.Random(seed)
        self.conn = None
        self.seq = 0
        self.busy_since = None  # monotonic time a statement was sent, None when idle
        self.busy_what = None
        self.lock = threading.Lock()

    def _drop(self):
        with self.lock:
            c, self.conn = self.conn, None
        if c is not None:
            try:
                c.close()
            except Exception:  # noqa: BLE001
                pass

    def unstick(self):
        """Called by the hang monitor: shut the socket so the blocked call returns."""
        with self.lock:
            c = self.conn
        if c is None:
            return
        try:
            s = socket.socket(fileno=os.dup(c.fileno()))
            s.shutdown(socket.SHUT_RDWR)
            s.close()
        except OSError:
            pass

    def _exec(self, cur, sql, args=None, what=""):
        self.busy_what = what
        self.busy_since = time.monotonic()
        try:
            cur.execute(sql, args)
        finally:
            self.busy_since = None

    def run(self):
        while not self.stop.is_set():
            if self.conn is None:
                try:
                    c = self.cluster.gw(connect_timeout=3, options=CONNECT_OPTS,
                                        application_name="bank%d" % self.idx)
                    with self.lock:
                        self.conn = c
                except psycopg2.Error:
                    time.sleep(0.1)
                    continue
            self.transfer()

    def transfer(self):
        """One transfer: a debit of amount from a, credited to b, or (SPLIT_SHARE of them)
        split between b and c, so that a transfer can span three nodes (two PREPAREs)."""
        if self.rng.random() < SPLIT_SHARE:
            a, b, c = self.rng.sample(range(1, N_ACCOUNTS + 1), 3)
            amount = self.rng.randint(2, 100)
            x = self.rng.randint(1, amount - 1)
            rows = [(a, amount, "debit"), (b, x, "credit"), (c, amount - x, "credit")]
        else:
            a, b = self.rng.sample(range(1, N_ACCOUNTS + 1), 2)
            amount = self.rng.randint(1, 100)
            rows = [(a, amount, "debit"), (b, amount, "credit")]
        self.seq += 1
        tid = (self.idx + 1) * 1000000000 + self.seq
        out = self.out
        with out.lock:
            out.sent[tid] = sorted(rows)
        stage = "body"
        try:
            cur = self.conn.cursor()
            self._exec(cur, "BEGIN", what="BEGIN")
            # locks in id order: no cycle of waits between two transfers
            for acc, amt, kind in sorted(rows):
                delta = -amt if kind == "debit" else amt
                self._exec(cur, "UPDATE accounts SET balance = balance + %s WHERE id = %s",
                           (delta, acc), what="UPDATE %d" % acc)
                if cur.rowcount != 1:
                    raise AssertionError("UPDATE of account %d touched %d rows" %
                                         (acc, cur.rowcount))
            for acc, amt, kind in rows:
                self._exec(cur, "INSERT INTO transfers_log VALUES (%s, %s, %s, %s)",
                           (tid, acc, amt, kind), what="INSERT %s %d" % (kind, acc))
            stage = "commit"
            self._exec(cur, "COMMIT", what="COMMIT %d" % tid)
            tag = cur.statusmessage
            with out.lock:
                if tag == "COMMIT":
                    out.acked.add(tid)
                else:
                    out.failed[tid] = "COMMIT answered %r" % tag
            if tag != "COMMIT":
                out.note_error("COMMIT->%s" % tag)
        except AssertionError as e:
            with out.lock:
                out.unknown[tid] = "client check: %s" % e
            out.note_error("client-check")
            self._drop()
        except psycopg2.Error as e:
            code = e.pgcode
            lost = code is None or self.conn is None or self.conn.closed != 0
            if stage == "body":
                # COMMIT was never sent: the transaction cannot have committed
                with out.lock:
                    out.failed[tid] = "%s before COMMIT" % (code or "connection lost")
            elif code == "08007" or code is None:
                with out.lock:
                    out.unknown[tid] = code or "connection lost during COMMIT"
            else:
                with out.lock:
                    out.failed[tid] = "%s at COMMIT" % code
            out.note_error("%s:%s" % (stage, code or "lost"))
            if lost:
                self._drop()
                time.sleep(0.05)
            else:
                try:
                    self.conn.cursor().execute("ROLLBACK")
                except psycopg2.Error:
                    self._drop()


class FanOut(Client):
    """Single-statement multi-node writes: `UPDATE marks SET n = n + 1` (no key: every
    shard on every node, one implicit transaction the gateway must commit atomically),
    about every FANOUT_EVERY_S, on its own connection in autocommit."""

    def __init__(self, cluster, stop, seed):
        super().__init__(N_CLIENTS, cluster, Outcomes(), stop, seed)
        self.name = "fanout"
        self.acked = 0
        self.failed = 0
        self.unknown = 0
        self.problems = []

    def transfer(self):
        time.sleep(FANOUT_EVERY_S)
        try:
            cur = self.conn.cursor()
            self._exec(cur, "UPDATE marks SET n = n + 1", what="fan-out UPDATE")
            if cur.rowcount != N_MARKS:
                self.problems.append("fan-out UPDATE reported %d rows, expected %d" % (
                    cur.rowcount, N_MARKS))
            self.acked += 1
        except psycopg2.Error as e:
            if e.pgcode is None or e.pgcode == "08007":
                self.unknown += 1  # it may have committed
            else:
                self.failed += 1
            if e.pgcode is None or self.conn is None or self.conn.closed != 0:
                self._drop()
                time.sleep(0.05)


class Faults:
    """Kills and fault-point runs; keeps a timeline."""

    def __init__(self, cluster, t0):
        self.c = cluster
        self.t0 = t0
        self.injected = 0
        self.fired_points = set()
        self.problems = []

    def note(self, msg):
        log("  [%5.1fs] %s" % (time.monotonic() - self.t0, msg))

    def up(self, faults=None):
        """scripts/cluster up --dir D: restarts what is down. With faults, the gateway gets
        SG_FAULTS and may crash at its point before the script sees it ready: one try, its
        exit status ignored."""
        env = dict(os.environ, PGUSER="postgres")
        env.pop("SG_FAULTS", None)
        spec = ",".join(x for x in (BASE_FAULTS, faults) if x)
        if spec:
            env["SG_FAULTS"] = spec
        cmd = [os.path.join(harness.SG_ROOT, "scripts", "cluster"), "up", "--dir", self.c.dir,
               "--gateway-bin", WRAPPER]
        for attempt in range(3):
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
            if r.returncode == 0 or faults:
                return
            self.note("cluster up failed (rc %d), retrying: %s" % (
                r.returncode, (r.stderr or r.stdout).strip().splitlines()[-1:]))
            time.sleep(1)
        raise RuntimeError("scripts/cluster up failed:\n%s\n%s" % (r.stdout, r.stderr))

    def wait_gateway_dead(self, pid, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                with open("/proc/%d/stat" % pid) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                if state in ("Z", "X"):
                    return True
            except (OSError, IndexError):
                return True
            time.sleep(0.05)
        return False

    def kill_gateway(self):
        pid = self.c.gateway_pid()
        if pid is None or not self.c.gateway_alive():
            self.note("gateway not running before kill; restarting")
            self.up()
            return
        os.kill(pid, signal.SIGKILL)
        self.injected += 1
        self.wait_gateway_dead(pid, 5)
        self.note("kill -9 gateway (pid %d)" % pid)
        self.up()
        self.note("gateway restarted (pid %s)" % self.c.gateway_pid())

    def kill_node(self, k, mode):
        """mode 'postmaster': kill -9 of the postmaster only (its backends finish what they are
        doing and exit); 'all': the postmaster and every backend at once (a machine crash)."""
        path = os.path.join(self.c.dir, "node%d" % k, "postmaster.pid")
        with open(path) as f:
            pid = int(f.readline().strip())
        victims = [pid]
        if mode == "all":
            victims += children_of(pid)
        for v in victims:
            try:
                os.kill(v, signal.SIGKILL)
            except OSError:
                pass
        self.injected += 1
        self.note("kill -9 node%d %s (pid %d%s)" % (
            k, "postmaster" if mode == "postmaster" else "postmaster and backends", pid,
            ", %d children" % (len(victims) - 1) if mode == "all" else ""))
        time.sleep(random.uniform(0.2, 1.5))  # let the clients meet the dead node
        self.up()
        self.note("node%d restarted" % k)

    def fault_point(self, point, prob):
        marker = "%s: crash" % point
        before = self.c.gateway_log().count(marker)
        pid = self.c.gateway_pid()
        if pid is not None and self.c.gateway_alive():
            os.kill(pid, signal.SIGKILL)
            self.wait_gateway_dead(pid, 5)
            self.injected += 1
        self.up("%s=crash@%s" % (point, prob))
        pid = self.c.gateway_pid()
        self.note("gateway restarted with SG_FAULTS=%s=crash@%s (pid %s)" % (point, prob, pid))
        died = pid is None or self.wait_gateway_dead(pid, 10)
        fired = self.c.gateway_log().count(marker) > before
        if fired:
            self.injected += 1
            self.fired_points.add(point)
            self.note("gateway crashed at %s" % point)
        elif died:
            self.problems.append("gateway armed with %s died without firing it" % point)
            self.note("gateway died, but not at %s" % point)
        else:
            self.note("%s did not fire within 10 s; killing the gateway" % point)
            os.kill(pid, signal.SIGKILL)
            self.wait_gateway_dead(pid, 5)
        self.up()
        self.note("gateway restarted without faults (pid %s)" % self.c.gateway_pid())


def children_of(ppid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == ppid:
            out.append(int(d))
    return out


def read_state(c):
    """Balances {id: (balance, node)} and log rows [(tid, acc, amount, kind, node)] from the
    shard tables on the nodes."""
    balances = {}
    dup_accounts = []
    for k, _s, (aid, bal) in harness.shard_rows(c, "accounts", "id, balance"):
        if aid in balances:
            dup_accounts.append(aid)
        balances[aid] = (bal, k)
    logrows = [(tid, acc, amt, kind, k) for k, _s, (tid, acc, amt, kind) in
               harness.shard_rows(c, "transfers_log", "transfer_id, account_id, amount, kind")]
    return balances, dup_accounts, logrows


def prepared_sg(c):
    out = []
    for k, rows in enumerate(c.on_each_node(
            "SELECT gid FROM pg_prepared_xacts WHERE gid LIKE 'sg\\_%%'"), start=1):
        out += ["node%d:%s" % (k, r[0]) for r in rows]
    return out


def verify(c, out, violations):
    balances, dups, logrows = read_state(c)
    viol = violations.append
    for aid in dups:
        viol("account %d stored twice" % aid)
    if sorted(balances) != list(range(1, N_ACCOUNTS + 1)):
        viol("accounts present: %d of %d" % (len(balances), N_ACCOUNTS))
    total = sum(b for b, _ in balances.values())
    if total != N_ACCOUNTS * INITIAL:
        viol("sum of balances %d != initial sum %d" % (total, N_ACCOUNTS * INITIAL))
    # per transfer
    by_tid = {}
    for tid, acc, amt, kind, k in logrows:
        by_tid.setdefault(tid, []).append((acc, amt, kind, k))
    net = {aid: 0 for aid in balances}
    for tid, rows in by_tid.items():
        sent = out.sent.get(tid)
        if sent is None:
            viol("transfer %d in the log was never sent: %r" % (tid, rows))
            continue
        got = sorted((acc, amt, kind) for acc, amt, kind, _k in rows)
        if got != sent:
            if sorted(r[2] for r in got) != sorted(r[2] for r in sent):
                viol("transfer %d is not whole: rows %r, sent %r (a debit without its credits "
                     "or the reverse)" % (tid, got, sent))
            else:
                viol("transfer %d rows %r do not match what was sent %r" % (tid, got, sent))
        for acc, amt, kind, k in rows:
            if acc in balances and balances[acc][1] != k:
                viol("transfer %d %s row on node%d, its account %d lives on node%d" % (
                    tid, kind, k, acc, balances[acc][1]))
            if acc in net:
                net[acc] += amt if kind == "credit" else -amt
    for aid, (bal, _k) in balances.items():
        if bal != INITIAL + net[aid]:
            viol("account %d balance %d != initial %d + credits - debits %d" % (
                aid, bal, INITIAL, net[aid]))
    for tid in out.acked:
        if tid not in by_tid:
            viol("acknowledged transfer %d %r is missing" % (tid, out.sent[tid]))
    for tid, why in out.failed.items():
        if tid in by_tid:
            viol("transfer %d %r reported failed (%s) but is present" % (tid, out.sent[tid], why))
    unknown_present = sum(1 for tid in out.unknown if tid in by_tid)
    return len(by_tid), unknown_present


def balances_nodes(c):
    """{node k: one account id on it}"""
    out = {}
    for aid, (_bal, k) in read_state(c)[0].items():
        out.setdefault(k, aid)
    return out


def serve_check(c, one_per_node):
    """POOL_SIZE sessions (the clients are stopped), each opens a transaction touching every
    node and keeps it open until all have: every pool slot of every node must be usable."""
    problems = []
    conns = []
    try:
        for i in range(POOL_SIZE):
            g = c.gw(connect_timeout=5, options="-c statement_timeout=10000")
            conns.append(g)
            c.execute(g, "BEGIN")
            for k, aid in sorted(one_per_node.items()):
                t = time.monotonic()
                try:
                    c.rows(g, "SELECT balance FROM accounts WHERE id = %s", (aid,))
                except psycopg2.Error as e:
                    problems.append(
                        "after the run, session %d of %d (pool_size) could not reach node %d: "
                        "%s %s (after %.1f s; pool slots lost with broken connections?)" % (
                            i + 1, POOL_SIZE, k, e.pgcode, str(e).strip(),
                            time.monotonic() - t))
                    break
            if problems:
                break
    except psycopg2.Error as e:
        problems.append("after the run, a gateway session failed: %s %s" % (
            e.pgcode, str(e).strip()))
    finally:
        for g in conns:
            try:
                g.close()
            except psycopg2.Error:
                pass
    return problems


def count_resolved(c):
    text = c.gateway_log()
    return len(re.findall(r"recovery: (committed|rolled back) on node", text))


@test(timeout=SECONDS + 150)
def bank(c):
    seed = int(os.environ.get("SG_BANK_SEED", str(random.randrange(1 << 30))))
    log("  seed %d (SG_BANK_SEED=%d repeats the fault schedule)" % (seed, seed))
    rng = random.Random(seed)
    random.seed(seed)
    # durable commits on the nodes (see the header)
    for k in range(1, c.nodes + 1):
        n = c.node(k)
        c.execute(n, "ALTER SYSTEM SET synchronous_commit = on")
        c.execute(n, "SELECT pg_reload_conf()")
        n.close()
    g = c.gw()
    c.execute(g, "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint)")
    c.execute(g, "SELECT create_distributed_table('accounts', 'id')")
    c.execute(g, "CREATE TABLE transfers_log (transfer_id bigint, account_id int, "
                 "amount bigint, kind text)")
    c.execute(g, "SELECT create_distributed_table('transfers_log', 'account_id', "
                 "colocate_with => 'accounts')")
    harness.insert_rows(g, "accounts", [(i, INITIAL) for i in range(1, N_ACCOUNTS + 1)])
    c.execute(g, "CREATE TABLE marks (id int PRIMARY KEY, n int NOT NULL)")
    c.execute(g, "SELECT create_distributed_table('marks', 'id')")
    harness.insert_rows(g, "marks", [(i, 0) for i in range(1, N_MARKS + 1)])
    g.close()
    balances, _, _ = read_state(c)
    nodes_used = sorted(set(k for _, k in balances.values()))
    log("  %d accounts on nodes %s" % (len(balances), nodes_used))
    harness.eq(len(balances), N_ACCOUNTS, "accounts loaded")

    out = Outcomes()
    stop = threading.Event()
    t0 = time.monotonic()
    clients = [Client(i, c, out, stop, rng.randrange(1 << 30)) for i in range(N_CLIENTS)]
    fan = FanOut(c, stop, rng.randrange(1 << 30))
    clients.append(fan)  # joined, watched for hangs and stopped like the clients
    for cl in clients:
        cl.start()

    hang_stop = threading.Event()

    def hang_monitor():
        while not hang_stop.wait(1.0):
            for cl in clients:
                since = cl.busy_since
                if since is not None and time.monotonic() - since > HANG_S:
                    msg = "%s: '%s' blocked for more than %.0f s (at %.1fs)" % (
                        cl.name, cl.busy_what, HANG_S, since - t0)
                    with out.lock:
                        out.hangs.append(msg)
                    log("  HANG " + msg)
                    cl.unstick()
                    cl.busy_since = None
    hm = threading.Thread(target=hang_monitor, daemon=True)
    hm.start()

    f = Faults(c, t0)
    modes = ["postmaster", "all", rng.choice(("postmaster", "all"))]
    rng.shuffle(modes)
    events = [("gateway",), ("gateway",)] + \
        [("node", k, modes[k - 1]) for k in range(1, c.nodes + 1)] + \
        [("fp", p) for p in FAULT_POINTS]
    # random moments in [3 s, SECONDS - 22 s], in order; a fault that overruns delays the next
    at = sorted(rng.uniform(3, max(4, SECONDS - 22)) for _ in events)
    rng.shuffle(events)
    last_fault = time.monotonic()
    try:
        for when, ev in zip(at, events):
            delay = t0 + when - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if ev[0] == "gateway":
                f.kill_gateway()
            elif ev[0] == "node":
                f.kill_node(ev[1], ev[2])
            else:
                f.fault_point(ev[1], rng.choice(("0.3", "0.5", "1")))
        # a point that did not fire gets a second chance
        for p in FAULT_POINTS:
            if p not in f.fired_points:
                f.fault_point(p, "1")
        # The last faults kill nodes under the running gateway, so that what the gateway
        # loses with the broken connections (pool slots) is still there at the serve check.
        # Twice, each once the clients are back at work.
        for k in rng.sample(range(1, c.nodes + 1), 2):
            time.sleep(3)
            f.kill_node(k, "all")
        last_fault = time.monotonic()
        f.note("last fault done")
        f.up()  # everything up, without faults
        while time.monotonic() - t0 < SECONDS or time.monotonic() - last_fault < 8:
            time.sleep(0.2)
    finally:
        stop.set()
        for cl in clients:
            cl.join(timeout=HANG_S + 5)
            if cl.is_alive():
                cl.unstick()
                cl.join(timeout=5)
        hang_stop.set()
        for cl in clients:
            cl._drop()
    load_s = time.monotonic() - t0
    f.note("load stopped")

    violations = []
    # 1. no sg_* prepared transaction left 30 s after the last fault
    deadline = last_fault + RECOVERY_WAIT_S
    left = prepared_sg(c)
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = prepared_sg(c)
    if left:
        violations.append("%d sg_* prepared transactions left %.0f s after the last fault: %s" % (
            len(left), time.monotonic() - last_fault, left[:5]))
    else:
        f.note("no sg_* prepared transaction left")

    # 2. the gateway still serves every node: N_CLIENTS sessions at once, each holding a
    # transaction open on all the nodes (one pool slot per node each)
    serve_problems = serve_check(c, balances_nodes(c))
    violations += serve_problems
    if not serve_problems:
        f.note("the gateway still serves %d (pool_size) concurrent transactions on every node"
               % POOL_SIZE)

    present, unknown_present = verify(c, out, violations)
    marks = sorted(set(r[2][0] for r in harness.shard_rows(c, "marks", "n")))
    nmarks = len(harness.shard_rows(c, "marks", "id"))
    if nmarks != N_MARKS or len(marks) != 1:
        violations.append("fan-out UPDATEs not atomic: %d mark rows with values %r (all must "
                          "be equal)" % (nmarks, marks))
    elif not fan.acked <= marks[0] <= fan.acked + fan.unknown:
        violations.append("fan-out UPDATEs: marks at %d, but %d acknowledged and %d unknown" % (
            marks[0], fan.acked, fan.unknown))
    violations += fan.problems
    for h in out.hangs:
        violations.append("hang: " + h)
    missing_points = [p for p in FAULT_POINTS if p not in f.fired_points]
    for p in missing_points:
        violations.append("fault point %s never fired" % p)
    violations += f.problems

    resolved = count_resolved(c)
    log("  %d transfers sent in %.0f s, %d present at the end (%d of %d unknown present); "
        "errors seen: %s" % (len(out.sent), load_s, present, unknown_present, len(out.unknown),
                             ", ".join("%s=%d" % kv for kv in sorted(out.errors.items()))))
    log("  fan-out UPDATEs acknowledged=%d failed=%d unknown=%d, every mark row at %s" % (
        fan.acked, fan.failed, fan.unknown, marks))
    log("bank: transfers acknowledged=%d failed=%d unknown=%d, faults injected=%d, "
        "in-doubt resolved=%d, invariant violations=%d" % (
            len(out.acked), len(out.failed), len(out.unknown), f.injected, resolved,
            len(violations)))
    if len(out.acked) < 100:
        violations.append("only %d transfers acknowledged: the load did not run" % len(out.acked))
    if violations:
        raise AssertionError("%d violation(s):\n  " % len(violations) +
                             "\n  ".join(violations[:40]))


if __name__ == "__main__":
    try:
        harness.main(nodes=3)
    finally:
        import shutil
        shutil.rmtree(os.path.dirname(WRAPPER), ignore_errors=True)
