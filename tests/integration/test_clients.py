"""Real PostgreSQL clients against one 3-node cluster: the client matrix.

Runs every suite of tests/clients/ (psql, psycopg2, psycopg 3, asyncpg,
SQLAlchemy, Django, JDBC, node-postgres, pgbench; see tests/clients/README.md)
against the gateway of one cluster, prints each suite's failures and the
matrix of clients x feature groups, and passes only when every suite passed.
A gateway crash during a suite fails it and the gateway is restarted for the
next suite.

Knobs: SG_CLIENTS_ONLY=psql,jdbc runs some suites; SG_PGBENCH_SECONDS (10)
is the length of each pgbench run; SG_CLIENTS_VERBOSE=1 prints every case.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import test  # noqa: E402

sys.path.insert(0, os.path.join(harness.SG_ROOT, "tests", "clients"))
import run as clients  # noqa: E402


def known_gaps():
    """tests/clients/known_gaps.txt: suite -> [(case title, why)]"""
    gaps = {}
    path = os.path.join(harness.SG_ROOT, "tests", "clients", "known_gaps.txt")
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            suite, title, why = [x.strip() for x in line.split("|", 2)]
            gaps.setdefault(suite, []).append((title, why))
    return gaps


def ran(results):
    return {r.name for r in results}


@test(timeout=420)
def client_matrix(c):
    only = [s for s in os.environ.get("SG_CLIENTS_ONLY", "").split(",") if s]
    crashes = []

    def after_suite(name):
        if not c.gateway_alive():
            crashes.append(name)
            harness.log("  gateway process died during the %s suite:\n%s" % (name, c.log_tail(15)))
            c.restart_gateway()
            harness.log("  gateway restarted")

    results = clients.run_all(c.port, only=only,
                              pgbench_seconds=int(os.environ.get("SG_PGBENCH_SECONDS", "10")),
                              after_suite=after_suite,
                              verbose=os.environ.get("SG_CLIENTS_VERBOSE") == "1")
    passed = sum(r.passed for r in results)
    failed = sum(r.failed for r in results)
    harness.log("client cases: %d passed, %d failed (%d suites)" % (passed, failed, len(results)))
    gaps = known_gaps()
    unexpected, xfail = [], 0
    for r in results:
        for f in r.failures:
            why = next((w for title, w in gaps.get(r.name, []) if f.startswith(title)), None)
            if why is None:
                unexpected.append("%s: %s" % (r.name, f))
            else:
                xfail += 1
                harness.log("  XFAIL %s: %s (%s)" % (r.name, f[:120], why))
        failed_titles = [f for f in r.failures]
        for title, why in gaps.get(r.name, []):
            if not any(f.startswith(title) for f in failed_titles) and r.name in ran(results):
                harness.log("  XPASS %s: %s -- remove it from known_gaps.txt" % (r.name, title))
    harness.log("client cases: %d expected failures (known gaps), %d unexpected" %
                (xfail, len(unexpected)))
    problems = []
    if crashes:
        problems.append("gateway crashed during: " + ", ".join(crashes))
    if unexpected:
        problems.append("unexpected failures: " + "; ".join(u[:200] for u in unexpected))
    if not results:
        problems.append("no suite ran")
    assert not problems, "; ".join(problems)


if __name__ == "__main__":
    harness.main(nodes=3)
