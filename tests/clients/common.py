"""Shared helpers of the client suites in tests/clients/.

Every suite is a real client program run against one database server named
by the environment:

  SG_CLIENT_HOST   (default 127.0.0.1)
  SG_CLIENT_PORT   (default 6432)   the gateway, or a plain PostgreSQL
  SG_CLIENT_DB     (default postgres)
  SG_CLIENT_USER   (default postgres)
  SG_CLIENT_REF=1  the server is plain PostgreSQL (reference run): the suite
                   must pass completely there; create_distributed_table() is
                   a stub in that database (see run.py --reference)
  SG_CLIENT_TIMEOUT  seconds one case may take (default 20)

A suite prints one line per case,

  ok   <group>: <case>
  FAIL <group>: <case>: <what went wrong>

(group = the gateway feature the case exercises: basic, extended, binary,
prepared, copy, cursor, txn, catalog, session, sequence, errors, orm...),
then the failures again and a closing line `<client>: N passed, M failed`.
It exits 1 when a case failed. run.py reads those lines to build the matrix.
"""

import os
import signal
import sys
import time
import traceback

HOST = os.environ.get("SG_CLIENT_HOST", "127.0.0.1")
PORT = int(os.environ.get("SG_CLIENT_PORT", "6432"))
DB = os.environ.get("SG_CLIENT_DB", "postgres")
USER = os.environ.get("SG_CLIENT_USER", "postgres")
REFERENCE = os.environ.get("SG_CLIENT_REF") == "1"
CASE_TIMEOUT = int(os.environ.get("SG_CLIENT_TIMEOUT", "20"))

DSN = "host=%s port=%d dbname=%s user=%s connect_timeout=10 application_name=clients" % (
    HOST, PORT, DB, USER)


class CaseTimeout(Exception):
    pass


def _alarm(signum, frame):
    raise CaseTimeout("case did not finish in %d s" % CASE_TIMEOUT)


def one_line(s, limit=400):
    s = " ".join(str(s).split())
    return s if len(s) <= limit else s[:limit] + "..."


class Suite:
    """Counts cases. Use `case(group, name)` as a decorator on a function that
    raises on failure; it runs at once (definition order is run order)."""

    def __init__(self, client):
        self.client = client
        self.passed = 0
        self.failures = []
        self.t0 = time.monotonic()
        signal.signal(signal.SIGALRM, _alarm)

    def run(self, group, name, fn, *args):
        signal.alarm(CASE_TIMEOUT)
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001
            signal.alarm(0)
            msg = "%s: %s" % (type(e).__name__, one_line(e))
            if os.environ.get("SG_CLIENT_TRACE") == "1":
                traceback.print_exc(file=sys.stdout)
            self.failures.append("%s: %s: %s" % (group, name, msg))
            print("FAIL %s: %s: %s" % (group, name, msg), flush=True)
            return False
        signal.alarm(0)
        self.passed += 1
        print("ok   %s: %s" % (group, name), flush=True)
        return True

    def case(self, group, name):
        def deco(fn):
            self.run(group, name, fn)
            return fn
        return deco

    def finish(self):
        if self.failures:
            print("%s failures:" % self.client)
            for f in self.failures:
                print("  - " + f)
        print("%s took %.1fs" % (self.client, time.monotonic() - self.t0))
        print("%s: %d passed, %d failed" % (self.client, self.passed, len(self.failures)),
              flush=True)
        sys.exit(1 if self.failures else 0)


def eq(got, want, what="value"):
    if got != want:
        raise AssertionError("%s: expected %r, got %r" % (what, want, got))


def distribute(execute, table, column, colocate_with=None):
    """Run create_distributed_table(table, column) with the given execute(sql)."""
    sql = "SELECT create_distributed_table('%s', '%s'" % (table, column)
    if colocate_with:
        sql += ", colocate_with => '%s'" % colocate_with
    execute(sql + ")")
