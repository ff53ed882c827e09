"""Foundation: the Simple Query protocol behaves like PostgreSQL's.

Multi-statement strings (psql -c "A; B"), an error mid-string that stops the
rest and rolls back the implicit transaction, empty queries, notices and
warnings, CommandComplete tags and the ReadyForQuery status byte (I/T/E).
The reference is PostgreSQL itself: the same script runs, over a raw socket,
against the gateway and directly against node 2 (whose shell copy of each
table is an ordinary empty table with the same definition), and the two
transcripts must match message for message.
"""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
from harness import eq, test, cstrings, parse_fields, ready_status, data_rows, tags  # noqa: E402


def transcript(msgs):
    """Comparable form of a server reply: one entry per message, with what
    a client relies on (no OIDs of tables, no server-specific positions)."""
    out = []
    for t, pl in msgs:
        if t in "EN":
            f = parse_fields(pl)
            out.append((t, f.get("S"), f.get("C"), f.get("M")))
        elif t == "C":
            out.append((t, pl.rstrip(b"\0").decode()))
        elif t == "Z":
            out.append((t, chr(pl[0])))
        elif t == "S":
            out.append((t, tuple(cstrings(pl)[:2])))
        elif t == "T":
            (n,) = struct.unpack("!H", pl[:2])
            i, cols = 2, []
            for _ in range(n):
                j = pl.index(b"\0", i)
                name = pl[i:j].decode()
                _tab, _att, typ, _len, _mod, fmt = struct.unpack("!IhIhih", pl[j + 1:j + 19])
                cols.append((name, typ, fmt))
                i = j + 19
            out.append((t, tuple(cols)))
        elif t == "D":
            out.append((t, tuple(data_rows([(t, pl)])[0])))
        else:
            out.append((t, pl))
    return out


def normalize(tr):
    """ParameterStatus may come at any point of a reply (it is asynchronous):
    compare the other messages in order and the reported values as a set."""
    return ([m for m in tr if m[0] != "S"], sorted({m[1] for m in tr if m[0] == "S"}))


def require_shell_on_node2(c, table):
    """Premise of the comparison: CREATE TABLE through the gateway made an
    ordinary (shell) table of that name on node 2."""
    n2 = c.node(2)
    try:
        have = c.rows(n2, "SELECT 1 FROM information_schema.tables "
                          "WHERE table_schema = 'public' AND table_name = %s", (table,))
    finally:
        n2.close()
    if not have:
        raise AssertionError("public.%s missing on node 2 after CREATE TABLE through the "
                             "gateway (DDL did not reach every node)" % table)


def compare_scripts(c, scripts, gw_table_note=""):
    """Run each script (one simple Query each, in order, in one session) on the
    gateway and on node 2; the transcripts must be equal."""
    with c.wire() as gw, c.wire(c.node_port(2)) as nd:
        gw.login(application_name="itest")
        nd.login(application_name="itest")
        diffs = []
        for sql in scripts:
            want = normalize(transcript(nd.query(sql)))
            got = normalize(transcript(gw.query(sql)))
            if got != want:
                diffs.append("reply to %r differs%s\n    node 2 : %r\n    gateway: %r" % (
                    sql, gw_table_note, want, got))
        if diffs:
            raise AssertionError("%d of %d replies differ:\n  " % (len(diffs), len(scripts)) +
                                 "\n  ".join(diffs))


@test
def psql_multi_statement_string(c):
    try:
        rc, out, err = c.psql("CREATE TABLE q8m (id int PRIMARY KEY, v text)")
        eq(rc, 0, "CREATE TABLE rc (stderr %s)" % err.strip())
        rc, out, err = c.psql("INSERT INTO q8m VALUES (1, 'a'); SELECT count(*) AS n FROM q8m;")
        eq(rc, 0, "rc of psql -c 'INSERT ...; SELECT ...' (stderr %s)" % err.strip())
        assert "INSERT 0 1" in out, "INSERT tag missing from psql output:\n%s" % out
        assert " n \n" in out and " 1\n" in out, "SELECT result missing from psql output:\n%s" % out

        rc, out, err = c.psql("INSERT INTO q8m VALUES (2, 'b'); SELECT 1/0; "
                              "INSERT INTO q8m VALUES (3, 'c');")
        assert rc != 0, "psql rc 0 for a string with an error"
        assert "division by zero" in err, "psql stderr: %s" % err
        rc, out, err = c.psql("SELECT id FROM q8m ORDER BY id", args=["-At"])
        eq((rc, out.split()), (0, ["1"]), "rows after the failed string (2 rolled back, 3 not run)")

        rc, out, err = c.psql(";")
        eq(rc, 0, "psql -c ';' rc (stderr %s)" % err.strip())
        rc, out, err = c.psql(None, args=["-At"], stdin="SELECT 41 + 1;\n\nSELECT 'two';\n;\n")
        eq((rc, out.split()), (0, ["42", "two"]), "psql script from stdin (stderr %s)" % err.strip())
    finally:
        c.drop("q8m")


@test
def implicit_transaction_semantics_match_postgres_local_table(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE q8 (id int PRIMARY KEY)")
    finally:
        g.close()
    try:
        require_shell_on_node2(c, "q8")
        compare_scripts(c, [
            "INSERT INTO q8 VALUES (1); SELECT 1/0; INSERT INTO q8 VALUES (2)",
            "SELECT id FROM q8 ORDER BY id",
            "BEGIN; INSERT INTO q8 VALUES (3); COMMIT; INSERT INTO q8 VALUES (4); SELECT 1/0",
            "SELECT id FROM q8 ORDER BY id",
            "INSERT INTO q8 VALUES (5), (6) RETURNING id",
            "INSERT INTO q8 VALUES (7); INSERT INTO q8 VALUES (7)",
            "SELECT id FROM q8 ORDER BY id",
            "SELECT 1; SELEC 2; SELECT 3",
            "UPDATE q8 SET id = id + 100 WHERE id > 4",
            "DELETE FROM q8 WHERE id > 100",
            "SELECT * FROM q8 WHERE false",
            "TRUNCATE q8",
            "SELECT count(*) FROM q8",
        ], " (table q8: local through the gateway, plain on node 2)")
    finally:
        n2 = c.node(2)
        try:
            c.execute(n2, "TRUNCATE ONLY public.q8")
        except Exception:  # noqa: BLE001
            pass
        finally:
            n2.close()
        c.drop("q8")


@test
def implicit_transaction_semantics_match_postgres_distributed_table(c):
    g = c.gw()
    try:
        c.execute(g, "CREATE TABLE qd8 (id int PRIMARY KEY, v text)")
        c.rows(g, "SELECT create_distributed_table('qd8', 'id')")
    finally:
        g.close()
    try:
        require_shell_on_node2(c, "qd8")
        compare_scripts(c, [
            "INSERT INTO qd8 VALUES (1, 'a'); SELECT 1/0; INSERT INTO qd8 VALUES (1, 'b')",
            "SELECT id, v FROM qd8 WHERE id = 1",
            "INSERT INTO qd8 VALUES (1, 'a'); INSERT INTO qd8 VALUES (1, 'b')",
            "SELECT id, v FROM qd8 WHERE id = 1",
            "BEGIN; INSERT INTO qd8 VALUES (1, 'a'); COMMIT; INSERT INTO qd8 VALUES (2, 'b'); "
            "SELECT 1/0",
            "SELECT id, v FROM qd8 WHERE id = 1",
            "SELECT id, v FROM qd8 WHERE id = 2",
            "UPDATE qd8 SET v = 'u' WHERE id = 1; SELECT v FROM qd8 WHERE id = 1",
            "DELETE FROM qd8 WHERE id = 1; SELECT v FROM qd8 WHERE id = 1",
            "INSERT INTO qd8 VALUES (10, 'x') RETURNING id, v",
            "UPDATE qd8 SET v = 'y' WHERE id = 10 RETURNING v",
            "DELETE FROM qd8 WHERE id = 10 RETURNING id",
            "BEGIN; INSERT INTO qd8 VALUES (20, 'p')",
            "SELECT v FROM qd8 WHERE id = 20",
            "SELECT 1/0",
            "SELECT v FROM qd8 WHERE id = 20",
            "ROLLBACK",
            "SELECT v FROM qd8 WHERE id = 20",
        ], " (table qd8: distributed through the gateway, plain on node 2)")
    finally:
        n2 = c.node(2)
        try:
            c.execute(n2, "TRUNCATE ONLY public.qd8")
        except Exception:  # noqa: BLE001
            pass
        finally:
            n2.close()


@test
def multi_statement_string_over_two_nodes_is_atomic_or_refused(c):
    """Two single-row INSERTs for keys on different nodes in one string (one
    implicit transaction): both commit, or the string is refused (0A000) and
    neither row exists. Never one of the two."""
    if c.table_meta("qd8") is None:
        raise AssertionError("table qd8 from the previous test is missing")
    g = c.gw()
    try:
        c.execute(g, "TRUNCATE qd8")
        harness.insert_rows(g, "qd8", [(i, "v") for i in range(1, 61)])
        where = {r[2][0]: r[0] for r in harness.shard_rows(c, "qd8", "id")}
        c.execute(g, "TRUNCATE qd8")
        ka = 1
        kb = next(k for k, n in where.items() if n != where[ka])
        with c.wire() as w:
            w.login()
            msgs = w.query("INSERT INTO qd8 VALUES (%d, 'a'); INSERT INTO qd8 VALUES (%d, 'b')"
                           % (ka, kb))
            errs = harness.errors(msgs)
            eq(ready_status(msgs), "I", "ReadyForQuery status after the string")
            left = sorted(r[2][0] for r in harness.shard_rows(c, "qd8", "id"))
            if errs:
                eq(errs[0].get("C"), "0A000", "SQLSTATE of the refused string (%s)" %
                   errs[0].get("M"))
                eq(left, [], "rows on the nodes after the refused two-node string")
            else:
                eq(tags(msgs), ["INSERT 0 1", "INSERT 0 1"], "tags")
                eq(left, sorted([ka, kb]), "rows on the nodes after the two-node string")
    finally:
        g.close()
        c.drop("qd8")


@test
def empty_queries_notices_and_status_bytes_match_postgres(c):
    compare_scripts(c, [
        "",
        ";",
        "  ;  ; ",
        "-- just a comment",
        "SELECT 1;;",
        "SELECT 1; SELECT 2",
        "SELECT 1 AS a, 'x'::text AS b, NULL::int AS c, 2.5::numeric AS d",
        "BEGIN",
        "SELECT 1",
        "BEGIN",
        "COMMIT",
        "COMMIT",
        "ROLLBACK",
        "BEGIN; SELECT 1",
        "SELECT 1/0",
        "SELECT 1",
        "COMMIT",
        "DROP TABLE IF EXISTS no_such_q8",
        "SELECT 1/0; SELECT 1",
        "SET application_name = 'itest2'; SHOW application_name",
        "SET DateStyle = 'German'; SELECT '2020-01-02'::date",
        "RESET DateStyle",
        "SELECT 'done'",
    ])


@test
def ready_for_query_status_bytes(c):
    """The I/T/E byte through BEGIN, an error, ROLLBACK (asserted directly, so
    a failure here names the step)."""
    with c.wire() as w:
        msgs = w.login()
        eq(ready_status(msgs), "I", "status after login")
        steps = [
            ("BEGIN", "T", ["BEGIN"], None),
            ("SELECT 1", "T", ["SELECT 1"], None),
            ("SELECT 1/0", "E", [], "22012"),
            ("SELECT 1", "E", [], "25P02"),
            ("ROLLBACK", "I", ["ROLLBACK"], None),
            ("SELECT 1", "I", ["SELECT 1"], None),
            ("BEGIN; SELECT 1/0", "E", ["BEGIN"], "22012"),
            ("COMMIT", "I", ["ROLLBACK"], None),
            ("SELECT 1; BEGIN", "T", ["SELECT 1", "BEGIN"], None),
            ("END", "I", ["COMMIT"], None),
            ("", "I", [], None),
        ]
        for sql, status, want_tags, code in steps:
            msgs = w.query(sql)
            eq(ready_status(msgs), status, "ReadyForQuery status after %r" % sql)
            eq(tags(msgs), want_tags, "CommandComplete tags of %r" % sql)
            errs = harness.errors(msgs)
            eq([e.get("C") for e in errs], [code] if code else [], "errors of %r" % sql)
        msgs = w.query("")
        eq(harness.types(msgs), "IZ", "message types for an empty query")
        w.send(harness.message(b"X"))
        eq(w.read_until_eof(timeout=5), [], "messages after Terminate")


if __name__ == "__main__":
    harness.main(nodes=3)
