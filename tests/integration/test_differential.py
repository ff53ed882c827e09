"""Differential testing: generated SELECTs through the gateway vs plain PostgreSQL.

A small schema (da by id; dc by a_id co-located with da; db by id, joined to
da on a non-distribution column; dr a reference table; NULLs in most
columns) is created through the gateway and, with the same rows, in a
separate database `sg_diff` on node 1 (plain PostgreSQL). A seeded generator
(SG_DIFF_SEED, default 20240501; SG_DIFF_N queries, default 2000) builds
SELECTs: filters (comparisons, IN lists, BETWEEN, LIKE, IS NULL, AND/OR/NOT),
inner/left joins (co-located, not co-located, reference), aggregates with
GROUP BY/HAVING, DISTINCT, ORDER BY ... LIMIT/OFFSET, IN/EXISTS/NOT EXISTS/
scalar subqueries (correlated too), derived tables, CTEs, set operations and
window functions. Each query runs on both; results are compared (column
names and types, rows: in order when the ORDER BY covers every output
column, else as multisets; both failing with the same SQLSTATE counts as
identical). Prints `differential: N run, N identical, N refused (0A000), N
differing` and fails when differing > 0.
"""

import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "tpch"))

import psycopg2  # noqa: E402

import harness  # noqa: E402
from harness import test  # noqa: E402

import gen  # noqa: E402  (literal formatting)
import resultcmp  # noqa: E402

REF_DB = "sg_diff"
SEED = int(os.environ.get("SG_DIFF_SEED", "20240501"))
NQUERIES = int(os.environ.get("SG_DIFF_N", "2000"))
THREADS = 2

SCHEMA = [
    "CREATE TABLE da (id int PRIMARY KEY, x int, y text, z numeric(10,2), d date)",
    "CREATE TABLE db (id int PRIMARY KEY, a_id int, v int, w text)",
    "CREATE TABLE dc (a_id int NOT NULL, k int, amount numeric(10,2))",
    "CREATE TABLE dr (k int PRIMARY KEY, label text)",
]
DISTRIBUTE = [
    "SELECT create_distributed_table('da', 'id')",
    "SELECT create_distributed_table('db', 'id')",
    "SELECT create_distributed_table('dc', 'a_id', colocate_with => 'da')",
    "SELECT create_reference_table('dr')",
]
TABLES = ["da", "db", "dc", "dr"]

# column name -> kind, per table
COLS = {
    "da": [("id", "int"), ("x", "int"), ("y", "text"), ("z", "num"), ("d", "date")],
    "db": [("id", "int"), ("a_id", "int"), ("v", "int"), ("w", "text")],
    "dc": [("a_id", "int"), ("k", "int"), ("amount", "num")],
    "dr": [("k", "int"), ("label", "text")],
}
WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "Iota", "kappa"]


def make_data(rnd):
    import datetime
    from decimal import Decimal

    def maybe(v, p=0.1):
        return None if rnd.random() < p else v
    da = [(i, maybe(rnd.randint(-20, 100)), maybe(rnd.choice(WORDS) + str(rnd.randint(0, 9))),
           maybe(Decimal(rnd.randint(-5000, 50000)) / 100),
           maybe(datetime.date(2020, 1, 1) + datetime.timedelta(days=rnd.randint(0, 900))))
          for i in range(1, 401)]
    db = [(i, maybe(rnd.randint(1, 450)), maybe(rnd.randint(0, 50)), maybe(rnd.choice(WORDS)))
          for i in range(1, 501)]
    dc = [(rnd.randint(1, 420), maybe(rnd.randint(0, 9)),
           maybe(Decimal(rnd.randint(0, 100000)) / 100)) for _ in range(800)]
    dr = [(k, maybe(rnd.choice(WORDS), 0.2)) for k in range(0, 10)]
    return {"da": da, "db": db, "dc": dc, "dr": dr}


class Gen:
    """Random SELECT generator; every query is deterministic given the data
    (no LIMIT without an ORDER BY that covers every output column)."""

    def __init__(self, rnd):
        self.r = rnd
        self.n_alias = 0

    def alias(self):
        self.n_alias += 1
        return "t%d" % self.n_alias

    def const(self, kind):
        r = self.r
        if kind == "int":
            return str(r.randint(-5, 60))
        if kind == "num":
            return "%d.%02d" % (r.randint(-10, 400), r.randint(0, 99))
        if kind == "date":
            return "date '2021-%02d-%02d'" % (r.randint(1, 12), r.randint(1, 28))
        return "'%s'" % (r.choice(WORDS) + (str(r.randint(0, 9)) if r.random() < 0.5 else ""))

    def col(self, rels, kinds=None):
        cands = [(a, c, k) for a, t in rels for c, k in COLS[t] if kinds is None or k in kinds]
        if not cands:
            return None
        a, c, k = self.r.choice(cands)
        return ("%s.%s" % (a, c), k)

    def pred(self, rels, depth=0, outer=None):
        r = self.r
        x = r.random()
        if depth < 2 and x < 0.15:
            op = r.choice(["AND", "OR"])
            return "(%s %s %s)" % (self.pred(rels, depth + 1, outer), op,
                                   self.pred(rels, depth + 1, outer))
        if depth < 2 and x < 0.2:
            return "NOT (%s)" % self.pred(rels, depth + 1, outer)
        if depth < 1 and x < 0.32:
            return self.sublink(rels)
        c, k = self.col(rels)
        y = r.random()
        if y < 0.12:
            return "%s IS %sNULL" % (c, r.choice(["", "NOT "]))
        if k == "text":
            if y < 0.4:
                return "%s LIKE '%s%%'" % (c, r.choice(WORDS)[:r.randint(1, 3)])
            if y < 0.55:
                return "%s IN (%s)" % (c, ", ".join(self.const(k) for _ in range(3)))
            return "%s %s %s" % (c, r.choice(["=", "<>", "<", ">="]), self.const(k))
        if y < 0.3:
            lo = self.const(k)
            return "%s BETWEEN %s AND %s" % (c, lo, self.const(k))
        if y < 0.45 and k == "int":
            return "%s IN (%s)" % (c, ", ".join(self.const(k) for _ in range(4)))
        if y < 0.55:
            c2 = self.col(rels, [k])
            if c2 is not None:
                return "%s %s %s" % (c, r.choice(["=", "<", ">", "<>"]), c2[0])
        return "%s %s %s" % (c, r.choice(["=", "<>", "<", "<=", ">", ">="]), self.const(k))

    def sublink(self, rels):
        r = self.r
        a, t = r.choice(rels)
        inner_t = r.choice(["da", "db", "dc", "dr"])
        ia = self.alias()
        inner = [(ia, inner_t)]
        y = r.random()
        if y < 0.35:
            oc = self.col(rels, ["int"])
            ic = self.col(inner, ["int"])
            where = (" WHERE " + self.pred(inner, 1)) if r.random() < 0.6 else ""
            return "%s %sIN (SELECT %s FROM %s %s%s)" % (
                oc[0], r.choice(["", "NOT "]) if r.random() < 0.3 else "", ic[0], inner_t, ia,
                where)
        if y < 0.75:
            oc = self.col(rels, ["int"])
            ic = self.col(inner, ["int"])
            corr = "%s = %s" % (ic[0], oc[0])
            extra = (" AND " + self.pred(inner, 1)) if r.random() < 0.5 else ""
            return "%sEXISTS (SELECT 1 FROM %s %s WHERE %s%s)" % (
                r.choice(["", "NOT "]), inner_t, ia, corr, extra)
        oc = self.col(rels, ["int", "num"])
        ic = self.col(inner, [oc[1]]) or self.col(inner, ["int"])
        agg = r.choice(["max", "min", "count", "sum"])
        corr = ""
        if r.random() < 0.5:
            c1 = self.col(inner, ["int"])
            c2 = self.col(rels, ["int"])
            corr = " WHERE %s = %s" % (c1[0], c2[0])
        return "%s %s (SELECT %s(%s) FROM %s %s%s)" % (
            oc[0], r.choice(["<", ">", "="]), agg, ic[0], inner_t, ia, corr)

    def from_clause(self):
        """(FROM text, [(alias, table)])"""
        r = self.r
        t1 = r.choice(["da", "da", "db", "dc", "dr"])
        a1 = self.alias()
        rels = [(a1, t1)]
        text = "%s %s" % (t1, a1)
        y = r.random()
        if y < 0.55:
            return text, rels
        njoins = 1 if r.random() < 0.75 else 2
        for _ in range(njoins):
            t2 = r.choice(["da", "db", "dc", "dr"])
            a2 = self.alias()
            c1 = self.col(rels, ["int"])
            c2 = self.col([(a2, t2)], ["int"])
            jt = r.choice(["JOIN", "JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"])
            if t2 == "dr":
                cond = "%s.k = %s %% 10" % (a2, c1[0])
            else:
                cond = "%s = %s" % (c2[0], c1[0])
            text += " %s %s %s ON %s" % (jt, t2, a2, cond)
            rels.append((a2, t2))
        return text, rels

    def select_core(self, force_simple=False):
        """(sql, ncols, grouped)"""
        r = self.r
        frm, rels = self.from_clause()
        where = (" WHERE " + self.pred(rels)) if r.random() < 0.8 else ""
        if not force_simple and r.random() < 0.4:
            # aggregate query
            ng = r.choice([0, 1, 1, 2])
            groups = []
            for _ in range(ng):
                c = self.col(rels)
                if c[0] not in groups:
                    groups.append(c[0])
            aggs = []
            for _ in range(r.randint(1, 3)):
                c, k = self.col(rels)
                y = r.random()
                if y < 0.2:
                    aggs.append("count(*)")
                elif y < 0.35:
                    aggs.append("count(%s)" % c)
                elif y < 0.45:
                    aggs.append("count(DISTINCT %s)" % c)
                elif k in ("int", "num") and y < 0.65:
                    aggs.append("%s(%s)" % (r.choice(["sum", "avg"]), c))
                elif k == "text" and y < 0.7:
                    aggs.append("string_agg(%s, ',' ORDER BY %s)" % (c, c))
                elif y < 0.75:
                    aggs.append("bool_or(%s IS NULL)" % c)
                else:
                    aggs.append("%s(%s)" % (r.choice(["min", "max"]), c))
            sel = groups + aggs
            sql = "SELECT %s FROM %s%s" % (", ".join(sel), frm, where)
            if groups:
                sql += " GROUP BY " + ", ".join(groups)
                if r.random() < 0.3:
                    sql += " HAVING count(*) > %d" % r.randint(0, 3)
            return sql, len(sel), True
        ncols = r.randint(1, 3)
        sel = []
        for _ in range(ncols):
            c, k = self.col(rels)
            if k in ("int", "num") and r.random() < 0.2:
                c = "%s + %s" % (c, self.const(k))
            elif k == "text" and r.random() < 0.1:
                c = "upper(%s)" % c
            sel.append(c)
        if not force_simple and r.random() < 0.1:
            c = self.col(rels, ["int"])
            pc = self.col(rels)
            # rank() and count() OVER are determined even with ties (row_number() is not)
            if r.random() < 0.5:
                sel.append("rank() OVER (PARTITION BY %s ORDER BY %s)" % (pc[0], c[0]))
            else:
                sel.append("count(*) OVER (PARTITION BY %s)" % pc[0])
        if not force_simple and r.random() < 0.08:
            # correlated scalar subquery in the select list
            oc = self.col(rels, ["int"])
            ia = self.alias()
            it = r.choice(["db", "dc"])
            ic = "a_id"
            sel.append("(SELECT %s(%s.%s) FROM %s %s WHERE %s.%s = %s)" % (
                r.choice(["max", "min", "count"]), ia, r.choice([c for c, k in COLS[it]]), it, ia,
                ia, ic, oc[0]))
        distinct = "DISTINCT " if not force_simple and r.random() < 0.15 else ""
        sql = "SELECT %s%s FROM %s%s" % (distinct, ", ".join(sel), frm, where)
        return sql, len(sel), False

    def query(self):
        """(sql, ordered)"""
        r = self.r
        y = r.random()
        if y < 0.08:
            a, n1, _ = self.select_core(force_simple=True)
            b, n2, _ = self.select_core(force_simple=True)
            while n2 != n1:
                b, n2, _ = self.select_core(force_simple=True)
            op = r.choice(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"])
            # equal numerics of different scales (1.50 vs 1.5) are one set element, and which
            # of them PostgreSQL shows depends on its plan (it may swap INTERSECT's inputs by
            # size): compare numeric values, not their scale
            return "(%s) %s (%s)" % (a, op, b), "numeric-values"

        if y < 0.16:
            inner, n, _ = self.select_core()
            cols = ", ".join("c%d" % i for i in range(1, n + 1))
            s = self.alias()
            if r.random() < 0.5:
                return "SELECT count(*), %s FROM (%s) AS %s(%s) GROUP BY %s" % (
                    "c1", inner, s, cols, "c1"), False
            if r.random() < 0.3:
                # a CTE referenced twice
                return ("WITH %s(%s) AS (%s) SELECT count(*), count(x.c1) FROM %s x JOIN %s y "
                        "ON x.c1 = y.c1" % (s, cols, inner, s, s)), False
            return "WITH %s(%s) AS (%s) SELECT * FROM %s WHERE c1 IS NOT NULL" % (
                s, cols, inner, s), False
        sql, n, grouped = self.select_core()
        if r.random() < 0.35:
            dirs = [" " + r.choice(["ASC", "DESC"]) + r.choice(["", " NULLS FIRST", " NULLS LAST"])
                    for _ in range(n)]
            sql += " ORDER BY " + ", ".join("%d%s" % (i + 1, dirs[i]) for i in range(n))
            if r.random() < 0.6:
                sql += " LIMIT %d" % r.randint(0, 15)
                if r.random() < 0.3:
                    sql += " OFFSET %d" % r.randint(0, 10)
            return sql, True
        return sql, False


def ref_conn(c):
    return c.connect(c.node_port(1), dbname=REF_DB)


def numeric_values(result):
    """result with numeric values normalized (scale dropped): 1.50 and 1.5 compare equal."""
    from decimal import Decimal
    cols, rows = result
    return cols, [tuple(("Decimal", str(Decimal(v).normalize())) if t == "Decimal" else (t, v)
                        for t, v in row) for row in rows]


def tier_of(g, sql):
    """The plan tier the gateway chose (first line of its EXPLAIN), for the summary."""
    try:
        first = resultcmp.run(g, "EXPLAIN " + sql)[1][0][0][1]
    except psycopg2.Error:
        return "refused"
    except IndexError:
        return "?"
    if first.startswith("shardgate: "):
        return first[len("shardgate: "):].split(",")[0]
    return "one node"


def compare(g, ref, sql, ordered):
    """("same"|"refused"|"diff", detail) for one query on gateway g and reference ref."""
    try:
        want = ("ok", resultcmp.run(ref, sql))
    except psycopg2.Error as e:
        want = ("error", e.pgcode)
    try:
        got = ("ok", resultcmp.run(g, sql))
    except psycopg2.Error as e:
        if e.pgcode == "0A000":
            return ("refused", str(e).splitlines()[0])
        got = ("error", e.pgcode, str(e).splitlines()[0])
    if got[0] == "ok" and want[0] == "ok":
        if ordered == "numeric-values":
            got, want = (got[0], numeric_values(got[1])), (want[0], numeric_values(want[1]))
            ordered = False
        diff = resultcmp.same(got[1], want[1], ordered)
    elif got[0] == "error" and want[0] == "error" and got[1] == want[1]:
        diff = None
    else:
        diff = "gateway %r, reference %r" % (got if got[0] == "error" else "rows",
                                             want if want[0] == "error" else "rows")
    return ("same", None) if diff is None else ("diff", diff)


@test(timeout=200)
def differential(c):
    rnd = random.Random(SEED)
    data = make_data(rnd)
    g = c.gw()
    c.drop(*TABLES)
    n1 = c.node(1)
    c.execute(n1, "DROP DATABASE IF EXISTS %s" % REF_DB)
    c.execute(n1, "CREATE DATABASE %s" % REF_DB)
    n1.close()
    ref = ref_conn(c)
    try:
        for s in SCHEMA:
            c.execute(g, s)
            c.execute(ref, s)
        for s in DISTRIBUTE:
            c.execute(g, s)
        for t in TABLES:
            for s in gen.insert_sql(t, data[t], batch=200):
                c.execute(g, s)
                c.execute(ref, s)
        gq = Gen(rnd)
        queries = [gq.query() for _ in range(NQUERIES)]
        t0 = time.monotonic()
        results = [None] * len(queries)
        tiers = [None] * len(queries)

        def worker(k):
            gk, rk = c.gw(), ref_conn(c)
            try:
                for i in range(k, len(queries), THREADS):
                    results[i] = compare(gk, rk, *queries[i])
                    if i % 5 == 0:
                        tiers[i] = tier_of(gk, queries[i][0])
            finally:
                gk.close()
                rk.close()
        threads = [threading.Thread(target=worker, args=(k,)) for k in range(THREADS)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        run = len(queries)
        identical = sum(1 for r in results if r[0] == "same")
        refused = sum(1 for r in results if r[0] == "refused")
        differing = sum(1 for r in results if r[0] == "diff")
        refusals = {}
        shown = 0
        for (sql, _), r in zip(queries, results):
            if r[0] == "refused":
                refusals[r[1]] = refusals.get(r[1], 0) + 1
            elif r[0] == "diff" and shown < 10:
                shown += 1
                harness.log("  DIFF %s\n    %s" % (sql, r[1]))
        harness.log("differential: %d run, %d identical, %d refused (0A000), %d differing "
                    "(seed %d, %.1fs)" % (run, identical, refused, differing, SEED,
                                         time.monotonic() - t0))
        counts = {}
        for t in tiers:
            if t is not None:
                counts[t] = counts.get(t, 0) + 1
        harness.log("  plans of every 5th query: " +
                    ", ".join("%s %d" % kv for kv in sorted(counts.items())))
        for msg, n in sorted(refusals.items(), key=lambda kv: -kv[1]):
            harness.log("  refused %dx: %s" % (n, msg))
        harness.eq(differing, 0, "differing queries")
    finally:
        g.close()
        ref.close()
        c.drop(*TABLES)
        n1 = c.node(1)
        c.execute(n1, "DROP DATABASE IF EXISTS %s" % REF_DB)
        n1.close()


if __name__ == "__main__":
    harness.main()
