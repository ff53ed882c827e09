"""psql (PostgreSQL 15 client) against the gateway.

Each case is a psql script run with `psql -X` (no psqlrc), mostly with
ON_ERROR_STOP off as an interactive user would have it; checks look at what
psql printed. Meta-commands query pg_catalog (\\d, \\dt, \\d+, \\di, \\df,
\\dn, \\l), \\copy runs COPY FROM STDIN / TO STDOUT, \\gset and \\x format
results.

Tables: psql_t (distributed by id), psql_l (local), psql_parent/psql_child
(foreign key, for the distribute-a-referenced-table case).
"""

import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

PSQL = "/usr/lib/postgresql/15/bin/psql"
S = common.Suite("psql")
TMP = tempfile.mkdtemp(prefix="sg-psql-")


def psql(script, stop=False, args=()):
    cmd = [PSQL, "-X", "-P", "pager=off", "-h", common.HOST, "-p", str(common.PORT), "-U",
           common.USER, "-d", common.DB, "-v", "ON_ERROR_STOP=%d" % (1 if stop else 0)] + list(args)
    env = dict(os.environ, PGCONNECT_TIMEOUT="10", PGAPPNAME="clients-psql")
    r = subprocess.run(cmd, input=script, capture_output=True, text=True,
                       timeout=common.CASE_TIMEOUT - 2, env=env, cwd=TMP)
    return r.returncode, r.stdout, r.stderr


def ok(script, args=()):
    """Run with ON_ERROR_STOP=1; fail on any error; return stdout."""
    rc, out, err = psql(script, stop=True, args=args)
    if rc != 0 or "ERROR" in err:
        raise AssertionError("psql rc %d: %s" % (rc, common.one_line(err or out)))
    return out


def has(text, *wants):
    for w in wants:
        if w not in text:
            raise AssertionError("%r not in output: %s" % (w, common.one_line(text, 600)))


def lacks(text, *nots):
    for w in nots:
        if w in text:
            raise AssertionError("%r unexpectedly in output: %s" % (w, common.one_line(text, 600)))


@S.case("basic", "setup script: CREATE TABLE, create_distributed_table, INSERT")
def _():
    ok("""
DROP TABLE IF EXISTS psql_t, psql_l, psql_child, psql_parent CASCADE;
DROP FUNCTION IF EXISTS psql_f(int);
CREATE TABLE psql_t (id bigint PRIMARY KEY, name text NOT NULL, n int DEFAULT 0,
                     note varchar(20));
CREATE INDEX psql_t_name_idx ON psql_t (name);
SELECT create_distributed_table('psql_t', 'id');
CREATE TABLE psql_l (id int PRIMARY KEY, v text);
INSERT INTO psql_t (id, name, n) VALUES (1, 'one', 1), (2, 'two', 2), (3, 'three', 3);
INSERT INTO psql_l VALUES (1, 'local');
CREATE FUNCTION psql_f(x int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT x + 1';
""")


@S.case("catalog", r"\dt lists the tables, \d psql_t shows columns and indexes")
def _():
    out = ok(r"""\dt psql_*
\d psql_t
""")
    has(out, "psql_t", "psql_l", "Table \"public.psql_t\"", "bigint", "not null",
        "character varying(20)", "\"psql_t_pkey\" PRIMARY KEY, btree (id)",
        "\"psql_t_name_idx\" btree (name)")


@S.case("catalog", r"\dt shows each table once (no shard tables)")
def _():
    out = ok("\\dt psql_t\n")
    has(out, "(1 row)")


@S.case("catalog", r"\d+ psql_t (storage, access method)")
def _():
    out = ok("\\d+ psql_t\n")
    has(out, "Storage", "extended", "plain", "Access method: heap")


@S.case("catalog", r"\di and \df")
def _():
    out = ok("\\di psql_t*\n\\df psql_f\n")
    has(out, "psql_t_pkey", "psql_t_name_idx", "psql_f", "x integer")


@S.case("catalog", r"\dn does not list the gateway's shard schemas")
def _():
    out = ok("\\dn\n")
    has(out, "public")
    lacks(out, "sg_g")


@S.case("catalog", "information_schema.schemata, information_schema.tables and pg_tables list "
                   "no shard schema or shard table")
def _():
    out = ok("""SELECT 'schemata', count(*) FROM information_schema.schemata WHERE schema_name ~ '^sg_g'
   UNION ALL SELECT 'public', count(*) FROM information_schema.schemata
             WHERE schema_name = 'public';
SELECT 'tables', count(*) FROM information_schema.tables WHERE table_name = 'psql_t';
SELECT 'pg_tables', count(*) FROM pg_tables WHERE tablename = 'psql_t';
SELECT 'aliased', tables.table_schema FROM information_schema.tables
 WHERE tables.table_name = 'psql_t';
""", args=("-A", "-t"))
    eq(out.split(), ["schemata|0", "public|1", "tables|1", "pg_tables|1", "aliased|public"],
       "catalog rows")


@S.case("catalog", r"\l and \conninfo")
def _():
    out = ok("\\l\n\\conninfo\n")
    has(out, common.DB, "You are connected to database")


@S.case("basic", r"\x expanded output of a row by key")
def _():
    out = ok("\\x on\nSELECT id, name FROM psql_t WHERE id = 2;\n")
    has(out, "-[ RECORD 1 ]", "name | two")


@S.case("basic", r"\gset and variable interpolation")
def _():
    out = ok("""SELECT name AS nm, n AS num FROM psql_t WHERE id = 3 \\gset
\\echo got :nm :num
SELECT id FROM psql_t WHERE name = :'nm';
""")
    has(out, "got three 3", "  3\n")


@S.case("copy", r"\copy FROM a csv file into the distributed table")
def _():
    path = os.path.join(TMP, "in.csv")
    with open(path, "w") as f:
        f.write("id,name,n\n")
        for i in range(100, 400):
            f.write("%d,name %d,%d\n" % (i, i, i % 10))
    out = ok("\\copy psql_t (id, name, n) FROM '%s' WITH (FORMAT csv, HEADER)\n"
             "SELECT name FROM psql_t WHERE id = 250;\n" % path)
    has(out, "COPY 300", "name 250")


@S.case("copy", r"\copy TO a file and \copy (query) TO a file")
def _():
    p1, p2 = os.path.join(TMP, "out.txt"), os.path.join(TMP, "q.csv")
    ok("\\copy psql_t (id, n) TO '%s'\n"
       "\\copy (SELECT id, name FROM psql_t WHERE id = 2) TO '%s' WITH (FORMAT csv)\n" % (p1, p2))
    lines = open(p1).read().splitlines()
    eq(len(lines), 303, "lines in %s" % p1)
    eq(open(p2).read(), "2,two\n", "query output")


@S.case("copy", r"\copy with a bad row: error, no row of it stays, script goes on")
def _():
    path = os.path.join(TMP, "bad.csv")
    with open(path, "w") as f:
        for i in range(1000, 1100):
            f.write("%d,ok,1\n" % i)
        f.write("1100,bad,xx\n")
    rc, out, err = psql("\\copy psql_t (id, name, n) FROM '%s' WITH (FORMAT csv)\n"
                        "SELECT 'after' AS marker, id FROM psql_t WHERE id = 1000;\n" % path)
    has(err, "invalid input syntax for type integer")
    has(out, "marker", "(0 rows)")


@S.case("txn", "BEGIN/ROLLBACK and BEGIN/COMMIT in a script")
def _():
    out = ok("""BEGIN;
INSERT INTO psql_t (id, name) VALUES (500, 'rolled back');
ROLLBACK;
BEGIN;
INSERT INTO psql_t (id, name) VALUES (501, 'committed');
UPDATE psql_t SET n = 42 WHERE id = 501;
COMMIT;
SELECT id, n FROM psql_t WHERE id IN (500, 501);
""")
    has(out, "ROLLBACK", "COMMIT", " 501 | 42", "(1 row)")


@S.case("errors", "ON_ERROR_STOP off: error in a transaction, aborted, ROLLBACK, script goes on")
def _():
    rc, out, err = psql("""SELECT 1/0;
SELECT 'next' AS after_error;
BEGIN;
INSERT INTO psql_t (id, name) VALUES (1, 'duplicate');
SELECT 1;
ROLLBACK;
SELECT 'done' AS end_marker;
""")
    eq(rc, 0, "rc")
    has(err, "division by zero", "duplicate key value violates unique constraint",
        "current transaction is aborted")
    has(out, "after_error", "ROLLBACK", "end_marker")


@S.case("errors", "ON_ERROR_STOP on: psql exits 3 at the first error")
def _():
    rc, out, err = psql("SELECT 1 AS a;\nSELECT * FROM psql_nope;\nSELECT 2 AS b;\n", stop=True)
    eq(rc, 3, "rc")
    has(err, "relation \"psql_nope\" does not exist")
    lacks(out, " b \n")


@S.case("errors", r"\set ON_ERROR_ROLLBACK on: statement errors inside a transaction are local")
def _():
    rc, out, err = psql("""\\set ON_ERROR_ROLLBACK on
BEGIN;
INSERT INTO psql_t (id, name) VALUES (600, 'kept');
\\set ON_ERROR_STOP 0
INSERT INTO psql_t (id, name) VALUES (600, 'dup');
\\set ON_ERROR_STOP 1
INSERT INTO psql_t (id, name) VALUES (601, 'kept');
COMMIT;
SELECT id FROM psql_t WHERE id IN (600, 601) AND name = 'kept';
""")
    has(err, "duplicate key value")
    has(out, "COMMIT", "(2 rows)")


@S.case("session", "SET / SHOW / RESET and \\encoding")
def _():
    out = ok("""SET search_path = pg_catalog, public;
SHOW search_path;
SELECT name FROM psql_t WHERE id = 1;
RESET search_path;
SHOW search_path;
\\encoding
""")
    has(out, "pg_catalog, public", "one", "\"$user\", public", "UTF8")


@S.case("ddl", "distribute a table that another table references (foreign key)")
def _():
    out = ok("""CREATE TABLE psql_parent (id int PRIMARY KEY);
CREATE TABLE psql_child (id int, parent_id int REFERENCES psql_parent (id));
SELECT create_distributed_table('psql_parent', 'id');
SELECT create_distributed_table('psql_child', 'parent_id', colocate_with => 'psql_parent');
INSERT INTO psql_parent VALUES (1);
INSERT INTO psql_child VALUES (10, 1);
""")
    has(out, "INSERT 0 1")


@S.case("basic", r"\i includes a file")
def _():
    path = os.path.join(TMP, "inc.sql")
    with open(path, "w") as f:
        f.write("SELECT 'included' AS src, name FROM psql_t WHERE id = 1;\n")
    out = ok("\\i %s\n" % path)
    has(out, "included", "one")


try:
    psql("DROP TABLE IF EXISTS psql_t, psql_l, psql_child, psql_parent CASCADE;\n"
         "DROP FUNCTION IF EXISTS psql_f(int);\n")
except Exception:  # noqa: BLE001
    pass
shutil.rmtree(TMP, ignore_errors=True)  # the \copy files
S.finish()
