"""Integration test harness for shardgate.

Each tests/integration/test_*.py file is run by ctest as
`/usr/bin/python3 tests/integration/test_x.py` with the environment
SG_BIN (gateway binary) and SG_ROOT (repo root). A file defines tests with
the @test decorator and ends with `harness.main()`, which

  * starts one cluster for the whole file (`scripts/cluster up --nodes N
    --port P --dir D --fast --gateway-bin $SG_BIN`: nodes on P+1..P+N, the
    gateway on P, user postgres, database postgres, trust),
  * runs every test in definition order (a test takes the Cluster as its only
    argument; tests share the cluster and must drop what they create),
  * stops the cluster (`scripts/cluster down --dir D`) even on failure,
  * fails the file if the gateway log shows an AddressSanitizer, UBSan
    ("runtime error:") or LeakSanitizer report, or if the gateway stopped
    answering,
  * prints `N passed, M failed, K skipped` and exits 1 on any failure.

No pytest: the runner is the few lines below. Raise Skip("why") to skip.

Environment knobs (optional):
  SG_ITEST_KEEP=1        keep the cluster directory after the run
  SG_ITEST_TIMEOUT=S     per-test watchdog in seconds (default 240)
  SG_ITEST_ONLY=a,b      run only the tests with these names
  SG_ITEST_FAKE_GATEWAY=1  self-check of the suite: a plain PostgreSQL stands
                         in for the gateway on port P (distribution tests fail)
"""

import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback

import psycopg2
import psycopg2.extensions

SG_ROOT = os.environ.get("SG_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SG_BIN = os.environ.get("SG_BIN") or os.path.join(SG_ROOT, "build", "shardgate")
PG_BIN = "/usr/lib/postgresql/15/bin"
PSQL = os.path.join(PG_BIN, "psql") if os.path.exists(os.path.join(PG_BIN, "psql")) else "psql"

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "LeakSanitizer")


# --------------------------------------------------------------------------
# runner
# --------------------------------------------------------------------------

class Skip(Exception):
    """Raise inside a test to count it as skipped (not passed)."""


_TESTS = []


def test(fn=None, *, timeout=None):
    """Register a test function fn(cluster). Usable as @test or @test(timeout=60)."""
    def reg(f):
        _TESTS.append((f.__name__, f, timeout))
        return f
    if fn is not None:
        return reg(fn)
    return reg


def log(msg):
    print(msg, flush=True)


class _Watchdog:
    """Kills the whole file (after stopping the cluster) when one test hangs."""

    def __init__(self):
        self.deadline = None
        self.name = None
        self.cluster = None
        self.lock = threading.Lock()
        t = threading.Thread(target=self._run, daemon=True)
        t.start()

    def arm(self, name, seconds):
        with self.lock:
            self.name = name
            self.deadline = time.monotonic() + seconds

    def disarm(self):
        with self.lock:
            self.deadline = None

    def _run(self):
        import faulthandler
        while True:
            time.sleep(1)
            with self.lock:
                expired = self.deadline is not None and time.monotonic() > self.deadline
                name = self.name
            if expired:
                log("FAIL %s: watchdog: test did not finish in time; stacks:" % name)
                faulthandler.dump_traceback(all_threads=True)
                if self.cluster is not None:
                    try:
                        self.cluster.stop()
                    except Exception:  # noqa: BLE001
                        traceback.print_exc()
                log("0 passed, 1 failed (watchdog; remaining tests not run)")
                sys.stdout.flush()
                os._exit(1)


def main(nodes=3, gateway_set=()):
    """Start a cluster, run the registered tests, stop it, print the summary."""
    only = [s for s in os.environ.get("SG_ITEST_ONLY", "").split(",") if s]
    tests = [t for t in _TESTS if not only or t[0] in only]
    per_test = int(os.environ.get("SG_ITEST_TIMEOUT", "240"))
    passed, failed, skipped = 0, 0, 0
    failures = []
    wd = _Watchdog()
    cluster = Cluster(nodes=nodes, gateway_set=gateway_set)
    wd.cluster = cluster
    wd.arm("cluster up", 300)
    try:
        cluster.start()
    except Exception:  # noqa: BLE001
        wd.disarm()
        log("FAIL cluster start-up:")
        traceback.print_exc(file=sys.stdout)
        cluster.stop()
        log("0 passed, %d failed, 0 skipped" % max(1, len(tests)))
        sys.exit(1)
    wd.disarm()
    try:
        for name, fn, tmo in tests:
            t0 = time.monotonic()
            wd.arm(name, tmo or per_test)
            try:
                fn(cluster)
            except Skip as s:
                skipped += 1
                log("SKIP %s: %s" % (name, s))
            except Exception:  # noqa: BLE001  (AssertionError and everything else)
                failed += 1
                failures.append(name)
                log("FAIL %s (%.1fs):" % (name, time.monotonic() - t0))
                traceback.print_exc(file=sys.stdout)
            else:
                if cluster.gateway_alive():
                    passed += 1
                    log("ok   %s (%.1fs)" % (name, time.monotonic() - t0))
                else:
                    failed += 1
                    failures.append(name)
                    log("FAIL %s: the gateway process died during the test" % name)
            finally:
                wd.disarm()
            # A crash must not take the following tests down with it.
            if not cluster.gateway_alive():
                log("  gateway process is gone after %s:\n%s" % (name, cluster.log_tail(15)))
                wd.arm("gateway restart", 120)
                try:
                    cluster.restart_gateway()
                    log("  gateway restarted")
                except Exception:  # noqa: BLE001
                    traceback.print_exc(file=sys.stdout)
                wd.disarm()
        # The gateway must still answer after everything the tests threw at it.
        wd.arm("gateway alive at end", 60)
        try:
            c = cluster.gw()
            assert cluster.scalar(c, "SELECT 1") == 1
            c.close()
        except Exception:  # noqa: BLE001
            failed += 1
            failures.append("gateway alive at end")
            log("FAIL gateway alive at end:")
            traceback.print_exc(file=sys.stdout)
        wd.disarm()
    finally:
        wd.arm("cluster down", 120)
        cluster.stop()
        wd.disarm()
    report = cluster.sanitizer_report()
    if report:
        failed += 1
        failures.append("sanitizer report in gateway log")
        log("FAIL sanitizer report in %s:\n%s" % (cluster.log_path, report))
    if failures:
        log("failed: " + ", ".join(failures))
    log("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    sys.exit(1 if failed else 0)


# --------------------------------------------------------------------------
# assertions
# --------------------------------------------------------------------------

def eq(got, want, what=""):
    if got != want:
        raise AssertionError("%s: expected %r, got %r" % (what or "value", want, got))


class Failures:
    """Soft checks: collects failing cases so that one test reports them all
    (and later checks still run). Call done() at the end."""

    def __init__(self):
        self.items = []

    def check(self, what, fn, *args):
        try:
            fn(*args)
        except (AssertionError, OSError, EOFError) as e:
            msg = str(e) if str(e).startswith(what) else "%s: %s" % (what, e)
            self.items.append(msg)
            log("  case failed: " + msg)

    def eq(self, got, want, what):
        self.check(what, eq, got, want, what)

    def done(self):
        if self.items:
            raise AssertionError("%d case(s) failed:\n  " % len(self.items) +
                                 "\n  ".join(self.items))


def expect_sqlstate(fn, sqlstates, what=""):
    """Run fn(); it must raise a psycopg2 error whose pgcode is in sqlstates.

    Returns the exception. sqlstates: one code or a tuple of codes."""
    if isinstance(sqlstates, str):
        sqlstates = (sqlstates,)
    try:
        fn()
    except psycopg2.Error as e:
        if e.pgcode not in sqlstates:
            raise AssertionError("%s: expected SQLSTATE %s, got %s: %s" % (
                what, "/".join(sqlstates), e.pgcode, (e.pgerror or str(e)).strip()))
        return e
    raise AssertionError("%s: expected an error with SQLSTATE %s, statement succeeded" % (
        what, "/".join(sqlstates)))


def run_as_postgres(cmd):
    """run a PostgreSQL program (initdb, pg_ctl...): as the postgres user when we are root"""
    cmd = list(cmd)
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--"] + cmd
    subprocess.run(cmd, check=True, capture_output=True, cwd="/")


def wait_until(pred, timeout=10.0, interval=0.1, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


# --------------------------------------------------------------------------
# cluster
# --------------------------------------------------------------------------

def _port_free(port):
    for fam, addr in ((socket.AF_INET, "127.0.0.1"),):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_port_range(n):
    """A port P such that P..P+n are all free (and none is 5432).

    Chosen at random below the kernel's ephemeral range, so outgoing
    connections (which take ephemeral ports) cannot grab it before the
    cluster binds it."""
    import random
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            eph_lo = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        eph_lo = 32768
    hi = max(eph_lo - n - 2, 12000)
    for _ in range(500):
        p = random.randint(10000, hi)
        if p <= 5432 <= p + n:
            continue
        if all(_port_free(p + i) for i in range(n + 1)):
            return p
    raise RuntimeError("no free port range of %d ports" % (n + 1))


class Cluster:
    """A local shardgate cluster for one test file.

    Use as a context manager or call start()/stop(). Attributes: port (the
    gateway), dir, nodes, log_path (gateway log)."""

    def __init__(self, nodes=3, gateway_set=()):
        self.nodes = nodes
        self.gateway_set = list(gateway_set)  # KEY=VALUE gateway settings (--gateway-set)
        self.port = None
        self.dir = None
        self.log_path = None
        self._stopped = True
        self._lock = threading.Lock()
        self._fake = os.environ.get("SG_ITEST_FAKE_GATEWAY") == "1"

    # -- lifecycle --
    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def script(self, *args, check=True, timeout=300):
        cmd = [os.path.join(SG_ROOT, "scripts", "cluster")] + list(args)
        # The contract is "user postgres"; libpq defaults to the OS user (root
        # under ctest), so say it for every libpq client the script starts.
        env = dict(os.environ, PGUSER="postgres")
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (rc %d)\nstdout:\n%s\nstderr:\n%s\n%s" % (
                " ".join(cmd), r.returncode, r.stdout, r.stderr, self.log_tail()))
        return r

    def start(self):
        """Start the cluster; on a port clash (another process took a port
        between the check and the bind) retry twice with other ports."""
        for attempt in range(3):
            try:
                return self._start_once()
            except RuntimeError as e:
                clash = "already in use" in str(e) or "failed to start on port" in str(e)
                if not clash or attempt == 2:
                    raise
                log("cluster start-up: port clash on %d, retrying with other ports" % self.port)
                self.stop()

    def _start_once(self):
        if not self._fake and not os.access(SG_BIN, os.X_OK):
            raise RuntimeError("gateway binary %s not found (set SG_BIN)" % SG_BIN)
        self.port = free_port_range(self.nodes)
        self._saved_log = None
        self.dir = tempfile.mkdtemp(prefix="sg-itest-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        self.log_path = os.path.join(self.dir, "gateway.log")
        self._stopped = False
        args = ["up", "--nodes", str(self.nodes), "--port", str(self.port), "--dir", self.dir,
                "--fast"]
        if self._fake:
            args.append("--no-gateway")
        else:
            args += ["--gateway-bin", SG_BIN]
            for kv in self.gateway_set:
                args += ["--gateway-set", kv]
        self.script(*args)
        if self._fake:
            self._start_fake_gateway()
        wait_until(self._gw_answers, timeout=30, what="gateway on port %d" % self.port)

    def _gw_answers(self):
        try:
            c = self.gw(connect_timeout=2)
            c.close()
            return True
        except psycopg2.Error:
            return False

    def _start_fake_gateway(self):
        d = os.path.join(self.dir, "fakegw")
        def pg(*a):
            run_as_postgres(a)
        os.makedirs(d)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
        os.chmod(d, 0o700)
        pg(os.path.join(PG_BIN, "initdb"), "-D", d, "--auth=trust", "-U", "postgres", "-E",
           "UTF8", "--locale=C")
        with open(os.path.join(d, "postgresql.conf"), "a") as f:
            f.write("port = %d\nlisten_addresses='127.0.0.1'\nunix_socket_directories='%s'\n"
                    "fsync=off\n" % (self.port, d))
        open(self.log_path, "a").close()
        if os.geteuid() == 0:
            shutil.chown(self.log_path, "postgres", "postgres")
        pg(os.path.join(PG_BIN, "pg_ctl"), "start", "-w", "-D", d, "-l", self.log_path)
        # Stubs so that tests get past set-up (they check nothing is distributed).
        c = self.connect(self.port)
        try:
            self.execute(c, """
                CREATE FUNCTION create_distributed_table(t regclass, col text,
                    colocate_with text DEFAULT NULL, shard_count int DEFAULT 32)
                RETURNS void LANGUAGE plpgsql AS $$ BEGIN
                    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t
                                   AND attname = col AND attnum > 0) THEN
                        RAISE EXCEPTION 'column "%" does not exist', col USING ERRCODE = '42703';
                    END IF; END $$;
                CREATE FUNCTION create_reference_table(t regclass) RETURNS void
                    LANGUAGE sql AS $$ SELECT $$;""")
        finally:
            c.close()

    def stop(self):
        with self._lock:
            if self._stopped or self.dir is None:
                return
            self._stopped = True
        if self._fake:
            cmd = [os.path.join(PG_BIN, "pg_ctl"), "stop", "-m", "immediate", "-D",
                   os.path.join(self.dir, "fakegw")]
            if os.geteuid() == 0:
                cmd = ["runuser", "-u", "postgres", "--"] + cmd
            subprocess.run(cmd, capture_output=True, cwd="/")
        try:
            r = self.script("down", "--dir", self.dir, check=False, timeout=180)
            if r.returncode != 0:
                log("warning: cluster down rc %d: %s %s" % (r.returncode, r.stdout, r.stderr))
        except Exception:  # noqa: BLE001
            traceback.print_exc(file=sys.stdout)
        if os.environ.get("SG_ITEST_KEEP") == "1":
            log("cluster kept in %s" % self.dir)
        else:
            # Keep the gateway log around for the sanitizer check and post-mortem.
            try:
                if os.path.exists(self.log_path):
                    self._saved_log = open(self.log_path, errors="replace").read()
            except OSError:
                pass
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- logs --
    def gateway_log(self):
        if getattr(self, "_saved_log", None) is not None:
            return self._saved_log
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def log_tail(self, n=40):
        lines = self.gateway_log().splitlines()
        return "--- tail of gateway log ---\n" + "\n".join(lines[-n:])

    def sanitizer_report(self):
        text = self.gateway_log()
        lines = text.splitlines()
        for i, line in enumerate(lines):
            if any(m in line for m in SANITIZER_MARKERS):
                return "\n".join(lines[max(0, i - 5):i + 60])
        return ""

    def gateway_alive(self):
        """True if the gateway process is running (always True in fake mode)."""
        if self._fake:
            return True
        pid = self.gateway_pid()
        if pid is None:
            return False
        try:
            with open("/proc/%d/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return False
        return state not in ("Z", "X")

    def restart_gateway(self):
        """`scripts/cluster up --dir D` starts whatever is down (the gateway)."""
        self.script("up", "--dir", self.dir, "--gateway-bin", SG_BIN)
        wait_until(self._gw_answers, timeout=30, what="restarted gateway")

    def restart_node(self, k, down_s=0.0):
        """pg_ctl stop -m fast, then start, of node k (its data dir and log under the
        cluster directory), down_s seconds apart"""
        data = os.path.join(self.dir, "node%d" % k)
        pg_ctl = os.path.join(PG_BIN, "pg_ctl")
        run_as_postgres([pg_ctl, "stop", "-m", "fast", "-w", "-D", data])
        time.sleep(down_s)
        run_as_postgres([pg_ctl, "start", "-w", "-D", data, "-l",
                         os.path.join(self.dir, "node%d.log" % k)])

    def gateway_pid(self):
        try:
            with open(os.path.join(self.dir, "gateway.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    # -- connections --
    def node_port(self, k):
        """Port of node k (1-based)."""
        assert 1 <= k <= self.nodes
        return self.port + k

    def connect(self, port, autocommit=True, **kw):
        kw.setdefault("connect_timeout", 10)
        kw.setdefault("application_name", "itest")
        c = psycopg2.connect(host="127.0.0.1", port=port, user=kw.pop("user", "postgres"),
                             dbname=kw.pop("dbname", "postgres"), **kw)
        c.autocommit = autocommit
        return c

    def gw(self, autocommit=True, **kw):
        """A psycopg2 connection to the gateway (autocommit by default)."""
        return self.connect(self.port, autocommit=autocommit, **kw)

    def node(self, k, autocommit=True, **kw):
        """A psycopg2 connection straight to storage node k (1-based)."""
        return self.connect(self.node_port(k), autocommit=autocommit, **kw)

    @staticmethod
    def rows(conn, sql, args=None):
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall() if cur.description is not None else None

    @staticmethod
    def execute(conn, sql, args=None):
        """Run sql; return cursor.rowcount."""
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.rowcount

    @classmethod
    def scalar(cls, conn, sql, args=None):
        r = cls.rows(conn, sql, args)
        assert r is not None and len(r) == 1 and len(r[0]) == 1, \
            "expected one value from %r, got %r" % (sql, r)
        return r[0][0]

    def on_each_node(self, sql, args=None):
        """Run sql on every node directly; list of row lists, index k-1 for node k."""
        out = []
        for k in range(1, self.nodes + 1):
            c = self.node(k)
            try:
                out.append(self.rows(c, sql, args))
            finally:
                c.close()
        return out

    def psql(self, sql, port=None, args=(), stdin=None, timeout=60):
        """Run `psql -X -v ON_ERROR_STOP=1 -c sql` (or stdin when sql is None)
        against the gateway (or port). Returns (rc, stdout, stderr)."""
        cmd = [PSQL, "-X", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p",
               str(port or self.port), "-U", "postgres", "-d", "postgres"] + list(args)
        if sql is not None:
            cmd += ["-c", sql]
        env = dict(os.environ, PGCONNECT_TIMEOUT="10")
        r = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                           env=env)
        return r.returncode, r.stdout, r.stderr

    def wire(self, port=None, timeout=10):
        """A raw protocol client connected (TCP) to the gateway or port."""
        return Wire(port or self.port, timeout=timeout)

    # -- catalog helpers (read from node 1, the metadata node) --
    def table_meta(self, name, schema="public"):
        """(kind, group_id, dist_column) from shardgate.tables, or None."""
        c = self.node(1)
        try:
            r = self.rows(c, "SELECT kind, group_id, dist_column FROM shardgate.tables "
                             "WHERE schema_name = %s AND table_name = %s", (schema, name))
        finally:
            c.close()
        return r[0] if r else None

    def shard_placements(self, name, schema="public"):
        """[(shard_index, shard_schema, node_k)] of a distributed table, node_k 1-based
        (mapped from shardgate.nodes.port)."""
        c = self.node(1)
        try:
            r = self.rows(c, """
                SELECT s.shard_index, s.schema_name, n.port
                FROM shardgate.tables t
                JOIN shardgate.shards s ON s.group_id = t.group_id
                JOIN shardgate.placements p ON p.group_id = s.group_id
                                           AND p.shard_index = s.shard_index
                JOIN shardgate.nodes n ON n.node_id = p.node_id
                WHERE t.schema_name = %s AND t.table_name = %s
                ORDER BY s.shard_index""", (schema, name))
        finally:
            c.close()
        return [(i, s, port - self.port) for (i, s, port) in r]

    def shard_tables_on_node(self, k, name):
        """Schemas sg_g*_* on node k that hold a table called name."""
        c = self.node(k)
        try:
            r = self.rows(c, "SELECT table_schema FROM information_schema.tables "
                             "WHERE table_name = %s AND table_schema LIKE 'sg\\_g%%' "
                             "ORDER BY 1", (name,))
        finally:
            c.close()
        return [x[0] for x in r]

    def drop(self, *tables):
        """DROP TABLE IF EXISTS through the gateway, ignoring errors (cleanup)."""
        try:
            c = self.gw()
        except psycopg2.Error:
            return
        try:
            for t in tables:
                try:
                    self.execute(c, "DROP TABLE IF EXISTS %s CASCADE" % t)
                except psycopg2.Error as e:
                    log("  (cleanup: DROP TABLE %s failed: %s)" % (t, str(e).strip()))
        finally:
            c.close()


# --------------------------------------------------------------------------
# raw protocol client
# --------------------------------------------------------------------------

PROTO_3_0 = 196608
CANCEL_CODE = 80877102
SSL_CODE = 80877103
GSSENC_CODE = 80877104


def startup_packet(params=None, version=PROTO_3_0):
    params = params if params is not None else {"user": "postgres", "database": "postgres"}
    body = struct.pack("!I", version)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def message(typ, payload=b""):
    return typ + struct.pack("!I", len(payload) + 4) + payload


def query_msg(sql):
    return message(b"Q", sql.encode() + b"\0")


def parse_fields(payload):
    """ErrorResponse/NoticeResponse body -> {code char: value}."""
    out = {}
    i = 0
    while i < len(payload) and payload[i] != 0:
        code = chr(payload[i])
        j = payload.index(b"\0", i + 1)
        out[code] = payload[i + 1:j].decode(errors="replace")
        i = j + 1
    return out


def cstrings(payload):
    return [s.decode(errors="replace") for s in payload.split(b"\0")[:-1]]


class Wire:
    """Minimal blocking PostgreSQL v3 client over TCP for protocol tests."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.params = {}
        self.backend_key = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        """Read more bytes; raise EOFError on orderly close or reset."""
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            raise EOFError("connection reset")
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def recv_exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_msg(self):
        """(type char, payload bytes). Raises EOFError, socket.timeout."""
        hdr = self.recv_exact(5)
        typ = chr(hdr[0])
        (ln,) = struct.unpack("!I", hdr[1:5])
        if ln < 4 or ln > 64 * 1024 * 1024:
            raise AssertionError("server sent message %r with bad length %d" % (typ, ln))
        return typ, self.recv_exact(ln - 4)

    def read_until_ready(self):
        """Messages up to and including ReadyForQuery."""
        msgs = []
        while True:
            m = self.read_msg()
            msgs.append(m)
            if m[0] == "Z":
                return msgs

    def read_until_eof(self, timeout=10):
        """All messages until the server closes the connection. Raises
        AssertionError if it is still open after timeout seconds."""
        self.sock.settimeout(timeout)
        msgs = []
        try:
            while True:
                msgs.append(self.read_msg())
        except EOFError:
            return msgs
        except socket.timeout:
            raise AssertionError("connection still open after %.0fs; got %r" % (
                timeout, summarize(msgs)))

    def startup(self, params=None, version=PROTO_3_0):
        self.send(startup_packet(params, version))

    def login(self, user="postgres", database="postgres", **extra):
        """Startup + trust auth; returns the messages up to ReadyForQuery and
        fills self.params and self.backend_key."""
        p = {"user": user, "database": database}
        p.update(extra)
        self.startup(p)
        msgs = self.read_until_ready()
        for t, pl in msgs:
            if t == "E":
                raise AssertionError("login failed: %r" % parse_fields(pl))
            if t == "S":
                k, v = cstrings(pl)[:2]
                self.params[k] = v
            if t == "K":
                self.backend_key = struct.unpack("!II", pl)
        auth = [pl for t, pl in msgs if t == "R"]
        assert auth and struct.unpack("!I", auth[-1][:4])[0] == 0, \
            "no AuthenticationOk in %r" % summarize(msgs)
        return msgs

    def query(self, sql):
        """Send a simple Query; messages up to ReadyForQuery."""
        self.send(query_msg(sql))
        return self.read_until_ready()


def summarize(msgs):
    """Readable form of a message list: [('C', 'INSERT 0 1'), ('E', '22012 ...'), ('Z', 'I')]."""
    out = []
    for t, pl in msgs:
        if t in "EN":
            f = parse_fields(pl)
            out.append((t, "%s %s" % (f.get("C"), f.get("M"))))
        elif t == "C":
            out.append((t, pl.rstrip(b"\0").decode(errors="replace")))
        elif t == "Z":
            out.append((t, chr(pl[0])))
        elif t == "S":
            out.append((t, "=".join(cstrings(pl)[:2])))
        else:
            out.append((t, len(pl)))
    return out


def types(msgs):
    return "".join(t for t, _ in msgs)


def errors(msgs):
    return [parse_fields(pl) for t, pl in msgs if t == "E"]


def ready_status(msgs):
    assert msgs and msgs[-1][0] == "Z", "no ReadyForQuery at end of %r" % summarize(msgs)
    return chr(msgs[-1][1][0])


def tags(msgs):
    return [pl.rstrip(b"\0").decode() for t, pl in msgs if t == "C"]


def data_rows(msgs):
    """DataRow values as lists of str/None."""
    out = []
    for t, pl in msgs:
        if t != "D":
            continue
        (n,) = struct.unpack("!H", pl[:2])
        i = 2
        row = []
        for _ in range(n):
            (ln,) = struct.unpack("!i", pl[i:i + 4])
            i += 4
            if ln < 0:
                row.append(None)
            else:
                row.append(pl[i:i + ln].decode())
                i += ln
        out.append(row)
    return out


# --------------------------------------------------------------------------
# reading shards directly from the nodes
# --------------------------------------------------------------------------

def shard_rows(cluster, table, cols="*", where=""):
    """Rows of every shard table sg_g*_*.<table> on every node, read directly.

    Returns [(node_k, shard_schema, row tuple)]."""
    out = []
    for k in range(1, cluster.nodes + 1):
        c = cluster.node(k)
        try:
            schemas = [r[0] for r in cluster.rows(
                c, "SELECT table_schema FROM information_schema.tables "
                   "WHERE table_name = %s AND table_schema LIKE 'sg\\_g%%'", (table,))]
            for s in schemas:
                sql = 'SELECT %s FROM "%s"."%s"' % (cols, s, table)
                if where:
                    sql += " WHERE " + where
                for row in cluster.rows(c, sql):
                    out.append((k, s, row))
        finally:
            c.close()
    return out


def shard_counts(cluster, table):
    """{(node_k, shard_schema): row count} for every shard table of table on every node."""
    out = {}
    for k in range(1, cluster.nodes + 1):
        c = cluster.node(k)
        try:
            schemas = [r[0] for r in cluster.rows(
                c, "SELECT table_schema FROM information_schema.tables "
                   "WHERE table_name = %s AND table_schema LIKE 'sg\\_g%%'", (table,))]
            for s in schemas:
                out[(k, s)] = cluster.scalar(c, 'SELECT count(*) FROM "%s"."%s"' % (s, table))
        finally:
            c.close()
    return out


def shell_counts(cluster, table, schema="public"):
    """Row count of the logical (shell) table itself on each node (ONLY, no children)."""
    return [r[0][0] for r in cluster.on_each_node(
        'SELECT count(*) FROM ONLY "%s"."%s"' % (schema, table))]


def insert_rows(conn, table, rows, per_stmt=500):
    """Multi-row INSERTs of rows (tuples) through conn; returns total rowcount."""
    total = 0
    with conn.cursor() as cur:
        for i in range(0, len(rows), per_stmt):
            chunk = rows[i:i + per_stmt]
            ncol = len(chunk[0])
            ph = "(" + ",".join(["%s"] * ncol) + ")"
            sql = "INSERT INTO %s VALUES %s" % (table, ",".join(
                cur.mogrify(ph, r).decode() for r in chunk))
            cur.execute(sql)
            total += cur.rowcount
    return total
