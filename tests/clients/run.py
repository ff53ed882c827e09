#!/usr/bin/python3
"""Run the client suites of tests/clients/ against one server and print the
matrix of clients x features.

  /usr/bin/python3 tests/clients/run.py --port P [--only psql,jdbc] [--reference]
      [--pgbench-seconds N]

--port P      the gateway (or, with --reference, a plain PostgreSQL 15)
--reference   self-check of the suites: P is a plain PostgreSQL; a database
              clients_ref is (re)created there with stub create_distributed_table
              and create_reference_table functions, and every suite must pass.

tests/integration/test_clients.py starts a 3-node cluster and calls run_all().
Exit code 0 only when every suite passed.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PG_BIN = "/usr/lib/postgresql/15/bin"
JDBC_JAR = "/usr/share/java/postgresql.jar"

# name, argv (relative to HERE), timeout in seconds
SUITES = [
    ("psql", ["/usr/bin/python3", "psql/suite.py"], 60),
    ("psycopg2", ["/usr/bin/python3", "python/test_psycopg2.py"], 60),
    ("psycopg3", ["/usr/bin/python3", "python/test_psycopg3.py"], 60),
    ("asyncpg", ["/usr/bin/python3", "python/test_asyncpg.py"], 60),
    ("sqlalchemy", ["/usr/bin/python3", "python/test_sqlalchemy.py"], 60),
    ("django", ["/usr/bin/python3", "django/suite.py"], 90),
    ("jdbc", None, 60),
    ("node-pg", ["node", "node/suite.js"], 60),
    ("pgbench", ["/usr/bin/python3", "pgbench/suite.py"], 120),
]

STUBS = """
CREATE FUNCTION create_distributed_table(t regclass, col text,
    colocate_with text DEFAULT NULL, shard_count int DEFAULT 32)
RETURNS void LANGUAGE plpgsql AS $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = t
                   AND attname = col AND attnum > 0) THEN
        RAISE EXCEPTION 'column "%" does not exist', col USING ERRCODE = '42703';
    END IF; END $$;
CREATE FUNCTION create_reference_table(t regclass) RETURNS void
    LANGUAGE sql AS $$ SELECT $$;
"""


def log(msg):
    print(msg, flush=True)


def psql(port, db, sql):
    r = subprocess.run([os.path.join(PG_BIN, "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
                        "-c", sql], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError("psql -p %d -d %s failed: %s" % (port, db, r.stderr))


def make_reference_db(port, db="clients_ref"):
    psql(port, "postgres", "DROP DATABASE IF EXISTS %s WITH (FORCE)" % db)
    psql(port, "postgres", "CREATE DATABASE %s" % db)
    psql(port, db, STUBS)
    return db


def jdbc_argv(workdir):
    """Compile JdbcSuite.java into workdir; the java command line."""
    classes = os.path.join(workdir, "jdbc-classes")
    os.makedirs(classes, exist_ok=True)
    src = os.path.join(HERE, "jdbc", "JdbcSuite.java")
    r = subprocess.run(["javac", "-nowarn", "-cp", JDBC_JAR, "-d", classes, src],
                       capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("javac failed:\n" + r.stdout + r.stderr)
    return ["java", "-cp", classes + ":" + JDBC_JAR, "JdbcSuite"]


def node_ready():
    """npm ci in node/ when node_modules is missing; True when usable."""
    nd = os.path.join(HERE, "node")
    if os.path.isdir(os.path.join(nd, "node_modules", "pg")):
        return True
    r = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=nd,
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        log("npm ci failed in %s:\n%s%s" % (nd, r.stdout, r.stderr))
        return False
    return True


LINE = re.compile(r"^(ok  |FAIL) ([a-z0-9_-]+): (.*)$")
CLOSING = re.compile(r"^([A-Za-z0-9_-]+): (\d+) passed, (\d+) failed$")


class Result:
    def __init__(self, name):
        self.name = name
        self.groups = {}  # group -> [passed, total]
        self.passed = 0
        self.failed = 0
        self.failures = []
        self.note = ""
        self.closed = False
        self.seconds = 0.0


def parse(name, out):
    res = Result(name)
    for line in out.splitlines():
        m = LINE.match(line)
        if m:
            g = res.groups.setdefault(m.group(2), [0, 0])
            g[1] += 1
            if m.group(1) == "ok  ":
                g[0] += 1
            else:
                res.failures.append("%s: %s" % (m.group(2), m.group(3)))
            continue
        m = CLOSING.match(line)
        if m and m.group(1) == name:
            res.passed, res.failed = int(m.group(2)), int(m.group(3))
            res.closed = True
    return res


def run_suite(name, argv, timeout, env, workdir):
    t0 = time.monotonic()
    if argv is None and name == "jdbc":
        try:
            argv = jdbc_argv(workdir)
        except Exception as e:  # noqa: BLE001
            res = Result(name)
            res.note = "could not compile: %s" % str(e).strip()[:300]
            res.failed = 1
            return res, ""
    if name == "node-pg" and not node_ready():
        res = Result(name)
        res.note = "npm ci failed (no node_modules)"
        res.failed = 1
        return res, ""
    try:
        r = subprocess.run(argv, cwd=HERE, env=env, capture_output=True, text=True,
                           timeout=timeout)
        out = r.stdout + (("\n[stderr]\n" + r.stderr) if r.stderr.strip() else "")
        rc = r.returncode
    except subprocess.TimeoutExpired as e:
        def s(x):
            return x.decode(errors="replace") if isinstance(x, bytes) else (x or "")
        out = s(e.stdout) + "\n[stderr]\n" + s(e.stderr)
        rc = None
    res = parse(name, out)
    res.seconds = time.monotonic() - t0
    if rc is None:
        res.note = "killed after %d s" % timeout
        res.failed = max(res.failed, len(res.failures)) + 1
        res.failures.append("suite: timed out after %d s" % timeout)
    elif not res.closed:
        res.note = "no closing line (rc %s)" % rc
        res.passed = sum(g[0] for g in res.groups.values())
        res.failed = sum(g[1] - g[0] for g in res.groups.values()) + 1
        res.failures.append("suite: ended without its closing line (rc %s)" % rc)
    elif rc != 0 and res.failed == 0:
        res.note = "rc %s" % rc
        res.failed = 1
    return res, out


def matrix(results):
    groups = []
    for r in results:
        for g in r.groups:
            if g not in groups:
                groups.append(g)
    order = ["basic", "extended", "binary", "prepared", "copy", "cursor", "txn", "session",
             "catalog", "sequence", "errors", "orm", "pgbench"]
    groups.sort(key=lambda g: (order.index(g) if g in order else len(order), g))
    w0 = max([len("client")] + [len(r.name) for r in results])
    cols = [max(len(g), 5) for g in groups]
    head = "%-*s " % (w0, "client") + " ".join("%*s" % (w, g) for w, g in zip(cols, groups)) + \
        "   total   time"
    lines = [head, "-" * len(head)]
    for r in results:
        cells = []
        for w, g in zip(cols, groups):
            v = r.groups.get(g)
            cells.append("%*s" % (w, "%d/%d" % (v[0], v[1]) if v else "-"))
        lines.append("%-*s " % (w0, r.name) + " ".join(cells) + "  %3d/%-3d %5.1fs%s" % (
            r.passed, r.passed + r.failed, r.seconds, ("  (" + r.note + ")") if r.note else ""))
    return "\n".join(lines)


def run_all(port, host="127.0.0.1", db="postgres", only=None, reference=False,
            pgbench_seconds=None, after_suite=None, verbose=False, workdir=None):
    """Run the suites; print each suite's output, the matrix and the failures.
    after_suite(name) is called after every suite (the integration test
    restarts a crashed gateway there). Returns the list of Results."""
    env = dict(os.environ, SG_CLIENT_HOST=host, SG_CLIENT_PORT=str(port), SG_CLIENT_DB=db,
               SG_CLIENT_USER="postgres", PGUSER="postgres", PYTHONDONTWRITEBYTECODE="1")
    if reference:
        env["SG_CLIENT_REF"] = "1"
    if pgbench_seconds:
        env["SG_PGBENCH_SECONDS"] = str(pgbench_seconds)
    workdir = workdir or os.path.join("/tmp", "sg-clients-%d" % os.getpid())
    os.makedirs(workdir, exist_ok=True)
    env["SG_CLIENT_WORKDIR"] = workdir
    results = []
    for name, argv, timeout in SUITES:
        if only and name not in only:
            continue
        log("=== %s" % name)
        res, out = run_suite(name, argv, timeout, env, workdir)
        if verbose or res.failed:
            log(out.rstrip())
        else:
            log("%s: %d passed, %d failed" % (name, res.passed, res.failed))
        results.append(res)
        if after_suite:
            after_suite(name)
    shutil.rmtree(workdir, ignore_errors=True)
    log("")
    log("client matrix (passed/total per feature group) against %s port %d%s:" % (
        host, port, " (plain PostgreSQL reference)" if reference else ""))
    log(matrix(results))
    failures = [(r.name, f) for r in results for f in r.failures]
    if failures:
        log("")
        log("failures:")
        for n, f in failures:
            log("  %s: %s" % (n, f))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--db", default="postgres")
    ap.add_argument("--only", default="")
    ap.add_argument("--reference", action="store_true")
    ap.add_argument("--pgbench-seconds", type=int, default=None)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    db = a.db
    if a.reference:
        db = make_reference_db(a.port)
    only = [s for s in a.only.split(",") if s]
    results = run_all(a.port, a.host, db, only, a.reference, a.pgbench_seconds, verbose=a.verbose)
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    log("clients: %d passed, %d failed" % (passed, failed))
    sys.exit(0 if failed == 0 and results else 1)


if __name__ == "__main__":
    main()
