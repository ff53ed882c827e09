#!/usr/bin/python3
"""
test_admin_ops.py: storage/admin.c and storage/catalog.c against three real
PostgreSQL 15 nodes, without the gateway.

Starts three throwaway PostgreSQL servers itself (initdb as the postgres
user into a temp dir, free TCP ports on 127.0.0.1, fsync=off), loads
sql/catalog.sql on each, registers them as nodes 1..3 on node 1 (the
metadata node), creates tables with rows on node 1 (empty shells on the
others), and calls the C functions through a small program compiled here
with cc (admin_cli, source below) linked with storage/ and common/ files.

Checks: every row lands in the shard PostgreSQL's own hash partitioning
chooses (a PARTITION BY HASH twin table on node 1 is the oracle), on the
node the catalog places that shard on; the shell is empty afterwards;
catalog rows and version; co-location; reference copies; error SQLSTATEs;
a failure midway leaves no catalog rows and the local rows in place;
catalog_load output; shardgate.forget_table / bump_version.

Exit status 0 only if every check passed. Env: SG_ROOT (repository root),
SG_ADMIN_CFLAGS (extra cc flags for admin_cli, e.g. -fsanitize=address,undefined),
SG_ITEST_KEEP=1 (keep the temp dir).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import traceback

import psycopg2

PG_BIN = "/usr/lib/postgresql/15/bin"
SG_ROOT = os.environ.get("SG_ROOT") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

CLI_SOURCE = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage/admin.h"
#include "storage/catalog.h"

static int
fail(const SgError *err)
{
	printf("ERROR %s %s\n", err->sqlstate, err->message);
	if (err->detail[0])
		printf("DETAIL %s\n", err->detail);
	return 1;
}

static const char *
opt(const char *s)
{
	return strcmp(s, "-") == 0 ? NULL : s;
}

int
main(int argc, char **argv)
{
	SgError err = {0};
	if (argc < 3)
		return 2;
	AdminTarget t = {.meta_conninfo = argv[1], .user = "postgres", .password = NULL,
	                 .dbname = NULL};
	if (strcmp(argv[2], "load") == 0) {
		CatalogSnapshot *s = catalog_load(argv[1], &err);
		if (s == NULL)
			return fail(&err);
		printf("version %lld\n", (long long)s->version);
		for (int i = 0; i < s->nnodes; i++)
			printf("node %d %s %d %d\n", s->nodes[i].id, s->nodes[i].host, s->nodes[i].port,
			       s->nodes[i].is_active);
		for (int i = 0; i < s->ngroups; i++) {
			printf("group %d %d %u", s->groups[i].id, s->groups[i].shard_count,
			       s->groups[i].dist_type);
			for (int j = 0; j < s->groups[i].shard_count; j++)
				printf(" %d", s->groups[i].placement[j]);
			printf("\n");
		}
		for (int i = 0; i < s->ntables; i++) {
			const CatTable *tb = &s->tables[i];
			printf("table %s %s %c %d %s %u %d", tb->schema, tb->name, (char)tb->kind,
			       tb->group_id, tb->dist_column ? tb->dist_column : "-", tb->dist_type,
			       tb->dist_colpos);
			for (int j = 0; j < tb->ncolumns; j++)
				printf(" %s", tb->columns[j]);
			printf("\n");
		}
		const CatNode *first = catalog_first_node(s);
		printf("first %d\n", first ? first->id : 0);
		catalog_ref(s);
		catalog_unref(s);
		catalog_unref(s);
		return 0;
	}
	if (strcmp(argv[2], "version") == 0) {
		long long v = catalog_read_version(argv[1], &err);
		if (v < 0)
			return fail(&err);
		printf("version %lld\n", v);
		return 0;
	}
	CatalogSnapshot *snap = catalog_load(argv[1], &err);
	if (snap == NULL)
		return fail(&err);
	bool ok;
	if (strcmp(argv[2], "dist") == 0 && argc == 9) {
		ok = admin_create_distributed_table(&t, snap, opt(argv[3]), argv[4], argv[5],
		                                    atoi(argv[6]), opt(argv[7]), opt(argv[8]), &err);
	} else if (strcmp(argv[2], "ref") == 0 && argc == 5) {
		ok = admin_create_reference_table(&t, snap, opt(argv[3]), argv[4], &err);
	} else {
		catalog_unref(snap);
		return 2;
	}
	catalog_unref(snap);
	if (!ok)
		return fail(&err);
	printf("OK\n");
	return 0;
}
'''

SOURCES = ["storage/admin.c", "storage/catalog.c", "storage/pghash.c", "storage/shardmap.c",
           "common/arena.c", "common/error.c", "common/log.c", "common/buf.c", "common/copytext.c"]


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

    def start(self):
        os.makedirs(self.root)
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(as_postgres([PG_BIN + "/initdb", "-D", self.data, "-A", "trust",
                                    "-U", "postgres", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, cwd=self.root)
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone=UTC"
                % (self.port, self.root))
        self.started = True
        subprocess.run(as_postgres([PG_BIN + "/pg_ctl", "-D", self.data, "-o", opts,
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

    def connect(self):
        c = psycopg2.connect(self.conninfo())
        c.autocommit = True
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


def cli(binary, meta, *args):
    p = subprocess.run([binary, meta] + list(args), capture_output=True, text=True, timeout=120)
    out = p.stdout.strip()
    if p.stderr.strip():
        print("  cli stderr:", p.stderr.strip().replace("\n", "\n    "), flush=True)
    return p.returncode, out


def sqlstate_of(out):
    first = out.splitlines()[0] if out else ""
    parts = first.split(" ", 2)
    return parts[1] if len(parts) > 1 and parts[0] == "ERROR" else None


ORDERS_DDL = ("CREATE TABLE public.orders (id bigint PRIMARY KEY, customer_id int, "
              "note text, dropped int, total numeric(10,2), "
              "doubled int GENERATED ALWAYS AS (customer_id * 2) STORED)")
EVENTS_DDL = "CREATE TABLE public.events (k text, v int)"
EVENTS2_DDL = "CREATE TABLE public.events2 (k text, w int)"
NATION_DDL = "CREATE TABLE public.nation (n_id int PRIMARY KEY, n_name text)"
WEIRD_DDL = 'CREATE TABLE "My Schema"."Weird Tab" ("Key" uuid, val int)'


def expected_shards(conn, table, key, modulus, key_type, id_col):
    """Oracle: id -> shard index, from a PARTITION BY HASH twin table on node 1."""
    rows(conn, "DROP TABLE IF EXISTS pg_temp.twin")
    rows(conn, "CREATE TEMP TABLE twin (id text, k %s) PARTITION BY HASH (k)" % key_type)
    for r in range(modulus):
        rows(conn, "CREATE TEMP TABLE twin_p%d PARTITION OF twin FOR VALUES WITH "
                   "(MODULUS %d, REMAINDER %d)" % (r, modulus, r))
    rows(conn, "INSERT INTO twin SELECT %s::text, %s FROM ONLY %s" % (id_col, key, table))
    out = {}
    for ident, rel in rows(conn, "SELECT id, tableoid::regclass::text FROM twin"):
        out[ident] = int(rel.rsplit("_p", 1)[1])
    rows(conn, "DROP TABLE twin")
    return out


def actual_shards(nodes, meta, group, table, id_col):
    """id -> (shard index, node id) for every row found in any shard table on any node."""
    out = {}
    dup = []
    for shard, node_id in rows(meta, "SELECT shard_index, node_id FROM shardgate.placements "
                                     "WHERE group_id = %s", (group,)):
        for n in nodes:
            c = n.connect()
            exists = scalar(c, "SELECT to_regclass(%s) IS NOT NULL",
                            ('sg_g%d_%d.%s' % (group, shard, table),))
            if exists:
                for (ident,) in rows(c, "SELECT %s::text FROM sg_g%d_%d.%s"
                                        % (id_col, group, shard, table)):
                    if ident in out:
                        dup.append(ident)
                    out[ident] = (shard, n.id, node_id)
            c.close()
    return out, dup


def run(ck, nodes, binary):
    meta_node = nodes[0]
    meta = meta_node.connect()
    metainfo = meta_node.conninfo()
    catalog_sql = open(os.path.join(SG_ROOT, "sql", "catalog.sql")).read()
    for n in nodes:
        c = n.connect()
        rows(c, catalog_sql)
        rows(c, catalog_sql)  # idempotent
        rows(c, ORDERS_DDL)
        rows(c, "ALTER TABLE public.orders DROP COLUMN dropped")
        rows(c, EVENTS_DDL)
        rows(c, EVENTS2_DDL)
        rows(c, NATION_DDL)
        rows(c, 'CREATE SCHEMA "My Schema"')
        rows(c, WEIRD_DDL)
        rows(c, "CREATE TABLE public.money (m numeric, x int)")
        rows(c, "CREATE TABLE public.failing (id int, v text)")
        c.close()
    for n in nodes:
        rows(meta, "INSERT INTO shardgate.nodes (node_id, host, port) VALUES (%s, '127.0.0.1', %s)",
             (n.id, n.port))
    # rows on node 1 only (the local tables)
    rows(meta, "INSERT INTO orders (id, customer_id, note, total) "
               "SELECT i, CASE WHEN i % 50 = 0 THEN NULL ELSE i % 997 END, "
               "'note ' || i || E'\\t tab \\\\ backslash \\n newline', i * 1.5 "
               "FROM generate_series(1, 3000) i")
    rows(meta, "INSERT INTO events SELECT k, i FROM (SELECT i, CASE i % 5 "
               "WHEN 0 THEN 'key ' || i WHEN 1 THEN E'tab\\there ' || i "
               "WHEN 2 THEN E'back\\\\slash ' || i WHEN 3 THEN E'new\\nline ' || i "
               "ELSE 'ünïcødé ' || i END AS k FROM generate_series(1, 500) i) s")
    rows(meta, "INSERT INTO events VALUES (NULL, -1), ('', -2)")
    rows(meta, "INSERT INTO events2 SELECT 'key ' || i, i FROM generate_series(1, 100) i")
    rows(meta, "INSERT INTO nation SELECT i, 'nation ' || i FROM generate_series(1, 25) i")
    rows(meta, 'INSERT INTO "My Schema"."Weird Tab" SELECT gen_random_uuid(), i '
               "FROM generate_series(1, 200) i")
    rows(meta, "INSERT INTO failing SELECT i, 'v' FROM generate_series(1, 100) i")
    v0 = scalar(meta, "SELECT version FROM shardgate.version")

    # --- catalog_load on an empty catalog
    rc, out = cli(binary, metainfo, "load")
    ck.eq(rc, 0, "load empty: rc (%s)" % out)
    ck.check("first 1" in out.splitlines(), "load empty: first node is 1")
    ck.eq(len([ln for ln in out.splitlines() if ln.startswith("node ")]), 3, "load: 3 nodes")

    # --- error cases (nothing changes)
    cases = [
        (("dist", "-", "nope", "id", "0", "-", "-"), "42P01", "missing table"),
        (("dist", "-", "orders", "nope", "0", "-", "-"), "42703", "missing column"),
        (("dist", "-", "money", "m", "0", "-", "-"), "0A000", "unhashable type"),
        (("dist", "-", "orders", "doubled", "0", "-", "-"), "0A000", "generated key"),
        (("dist", "-", "orders", "customer_id", "5000", "-", "-"), "22023", "shard_count 5000"),
        (("dist", "-", "orders", "customer_id", "-1", "-", "-"), "22023", "shard_count -1"),
        (("dist", "-", "orders", "customer_id", "0", "-", "nope"), "42P16", "colocate unknown"),
        (("ref", "-", "nope"), "42P01", "reference missing table"),
    ]
    for args, state, what in cases:
        rc, out = cli(binary, metainfo, *args)
        ck.eq((rc, sqlstate_of(out)), (1, state), "%s (%s)" % (what, out))
    rc, out = cli(binary, metainfo, "dist", "-", "nope", "id", "0", "-", "-")
    ck.check('relation "nope" does not exist' in out, "42P01 message: " + out)
    rc, out = cli(binary, metainfo, "dist", "-", "orders", "nope", "0", "-", "-")
    ck.check('column "nope" of relation "orders" does not exist' in out, "42703 message: " + out)
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.tables"), 0, "no catalog rows after errors")
    ck.eq(scalar(meta, "SELECT version FROM shardgate.version"), v0, "version unchanged")

    # --- distribute orders by customer_id (int4, NULLs, 8 shards)
    expect = expected_shards(meta, "orders", "customer_id", 8, "int", "id")
    rc, out = cli(binary, metainfo, "dist", "-", "orders", "customer_id", "8", "-", "-")
    ck.eq((rc, out), (0, "OK"), "distribute orders")
    group = scalar(meta, "SELECT group_id FROM shardgate.tables WHERE table_name = 'orders'")
    ck.eq(group, 1, "orders: first group id")
    ck.eq(rows(meta, "SELECT shard_count, dist_type FROM shardgate.colocation_groups "
                     "WHERE group_id = 1"), [(8, 23)], "group row")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.shards WHERE group_id = 1"), 8, "shards")
    ck.eq(sorted(r[0] for r in rows(meta, "SELECT schema_name FROM shardgate.shards "
                                          "WHERE group_id = 1")),
          sorted("sg_g1_%d" % i for i in range(8)), "shard schema names")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.placements WHERE group_id = 1"), 8,
          "placements")
    ck.eq(scalar(meta, "SELECT count(DISTINCT node_id) FROM shardgate.placements"), 3,
          "placements use all 3 nodes")
    ck.eq(scalar(meta, "SELECT count(*) FROM ONLY orders"), 0, "orders shell empty on node 1")
    ck.eq(scalar(meta, "SELECT version FROM shardgate.version"), v0 + 1, "version bumped")
    got, dup = actual_shards(nodes, meta, 1, "orders", "id")
    ck.eq(dup, [], "no duplicate rows")
    ck.eq(len(got), 3000, "all orders rows in shards")
    bad = [i for i, (shard, nid, placed) in got.items()
           if expect.get(i) != shard or nid != placed]
    ck.eq(bad[:5], [], "orders rows in PostgreSQL's shard on the placed node")
    # values survive the round trip (escapes, numeric, generated column recomputed)
    shard0 = expect["100"]
    node_of = scalar(meta, "SELECT node_id FROM shardgate.placements WHERE group_id = 1 AND "
                           "shard_index = %s", (shard0,))
    c = nodes[node_of - 1].connect()
    ck.eq(rows(c, "SELECT id, customer_id, note, total::text, doubled FROM sg_g1_%d.orders "
                  "WHERE id = 100" % shard0),
          [(100, None, "note 100\t tab \\ backslash \n newline", "150.00", None)], "row 100 intact")
    ck.eq(scalar(c, "SELECT count(*) FROM pg_indexes WHERE schemaname = 'sg_g1_%d'" % shard0), 1,
          "primary key index copied (LIKE INCLUDING ALL)")
    c.close()

    rc, out = cli(binary, metainfo, "dist", "-", "orders", "customer_id", "0", "-", "-")
    ck.eq((rc, sqlstate_of(out)), (1, "42P16"), "already distributed (%s)" % out)
    ck.check('table "orders" is already distributed' in out, "42P16 message")

    # --- text keys with escapes and NULL, default shard count (32)
    expect = expected_shards(meta, "events", "k", 32, "text", "v")
    rc, out = cli(binary, metainfo, "dist", "-", "events", "k", "0", "-", "-")
    ck.eq((rc, out), (0, "OK"), "distribute events")
    ck.eq(rows(meta, "SELECT group_id, shard_count FROM shardgate.tables JOIN "
                     "shardgate.colocation_groups USING (group_id) WHERE table_name = 'events'"),
          [(2, 32)], "events group 2 with 32 shards")
    got, dup = actual_shards(nodes, meta, 2, "events", "v")
    ck.eq(len(got), 502, "all events rows")
    bad = [i for i, (shard, nid, placed) in got.items()
           if expect.get(i) != shard or nid != placed]
    ck.eq(bad[:5], [], "events rows in PostgreSQL's shard on the placed node")

    # --- co-location
    rc, out = cli(binary, metainfo, "dist", "-", "events2", "k", "0", "-", "orders")
    ck.eq((rc, sqlstate_of(out)), (1, "42804"), "colocate type mismatch (%s)" % out)
    rc, out = cli(binary, metainfo, "dist", "-", "events2", "k", "16", "-", "events")
    ck.eq((rc, sqlstate_of(out)), (1, "22023"), "colocate shard count mismatch (%s)" % out)
    rc, out = cli(binary, metainfo, "dist", "public", "events2", "k", "0", "public", "events")
    ck.eq((rc, out), (0, "OK"), "distribute events2 colocated with events")
    ck.eq(scalar(meta, "SELECT group_id FROM shardgate.tables WHERE table_name = 'events2'"), 2,
          "events2 reuses group 2")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.colocation_groups"), 2, "no new group")
    expect2 = {}
    c = meta_node.connect()
    got, dup = actual_shards(nodes, meta, 2, "events2", "w")
    ck.eq(len(got), 100, "all events2 rows")
    # colocated: 'key N' in events2 is in the same shard as 'key N' in events (v = N when N%5==0)
    ev, _ = actual_shards(nodes, meta, 2, "events", "k")
    e2, _ = actual_shards(nodes, meta, 2, "events2", "k")
    common = [k for k in e2 if k in ev]
    ck.check(len(common) >= 20, "some common keys (%d)" % len(common))
    ck.eq([k for k in common if ev[k][:2] != e2[k][:2]], [], "co-located keys share shard+node")
    c.close()
    del expect2

    # --- quoted identifiers, uuid key, schema-qualified
    expect = expected_shards(meta, '"My Schema"."Weird Tab"', '"Key"', 4, "uuid", "val")
    rc, out = cli(binary, metainfo, "dist", "My Schema", "Weird Tab", "Key", "4", "-", "none")
    ck.eq((rc, out), (0, "OK"), "distribute \"My Schema\".\"Weird Tab\"")
    got, dup = actual_shards(nodes, meta, 3, '"Weird Tab"', "val")
    ck.eq(len(got), 200, "all weird rows")
    bad = [i for i, (shard, nid, placed) in got.items()
           if expect.get(i) != shard or nid != placed]
    ck.eq(bad[:5], [], "uuid rows in PostgreSQL's shard on the placed node")
    ck.eq(scalar(meta, 'SELECT count(*) FROM ONLY "My Schema"."Weird Tab"'), 0, "weird shell empty")

    # --- reference table
    rc, out = cli(binary, metainfo, "ref", "-", "nation")
    ck.eq((rc, out), (0, "OK"), "reference nation")
    for n in nodes:
        c = n.connect()
        ck.eq(scalar(c, "SELECT count(*) FROM nation"), 25, "nation rows on node %d" % n.id)
        ck.eq(scalar(c, "SELECT n_name FROM nation WHERE n_id = 7"), "nation 7",
              "nation value on node %d" % n.id)
        c.close()
    ck.eq(rows(meta, "SELECT kind, dist_column, group_id FROM shardgate.tables "
                     "WHERE table_name = 'nation'"), [("r", None, None)], "nation catalog row")
    rc, out = cli(binary, metainfo, "ref", "-", "nation")
    ck.eq((rc, sqlstate_of(out)), (1, "42P16"), "already reference (%s)" % out)
    # reference onto a non-empty shell is refused
    c = nodes[2].connect()
    rows(c, "INSERT INTO failing VALUES (1, 'stray')")
    rc, out = cli(binary, metainfo, "ref", "-", "failing")
    ck.eq((rc, sqlstate_of(out)), (1, "55000"), "reference onto non-empty shell (%s)" % out)
    rows(c, "TRUNCATE failing")

    # --- failure midway: shard table already exists on node 3 -> no catalog rows, rows stay
    vbefore = scalar(meta, "SELECT version FROM shardgate.version")
    next_group = scalar(meta, "SELECT max(group_id) + 1 FROM shardgate.colocation_groups")
    for i in range(32):  # 32 shards: node 3 surely holds some
        rows(c, "CREATE SCHEMA sg_g%d_%d" % (next_group, i))
        rows(c, "CREATE TABLE sg_g%d_%d.failing (x int)" % (next_group, i))
    rc, out = cli(binary, metainfo, "dist", "-", "failing", "id", "32", "-", "-")
    ck.eq((rc, sqlstate_of(out)), (1, "42P07"), "failing: relation exists on node 3 (%s)" % out)
    ck.check("node 3" in out, "failing: error names node 3")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.tables WHERE table_name = 'failing'"), 0,
          "failing: no tables row")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.colocation_groups WHERE group_id = %s",
                 (next_group,)), 0, "failing: no group row")
    ck.eq(scalar(meta, "SELECT version FROM shardgate.version"), vbefore, "failing: same version")
    ck.eq(scalar(meta, "SELECT count(*) FROM ONLY failing"), 100, "failing: local rows kept")
    for n in nodes[:2]:
        c2 = n.connect()
        ck.eq(scalar(c2, "SELECT count(*) FROM pg_tables WHERE schemaname LIKE %s",
                     ("sg_g%d\\_%%" % next_group,)), 0, "failing: no shard tables on node %d" % n.id)
        c2.close()
    for i in range(32):
        rows(c, "DROP SCHEMA sg_g%d_%d CASCADE" % (next_group, i))
    c.close()
    # and now it works
    rc, out = cli(binary, metainfo, "dist", "-", "failing", "id", "0", "-", "-")
    ck.eq((rc, out), (0, "OK"), "failing: distribute after the obstacle is gone")
    got, dup = actual_shards(nodes, meta, next_group, "failing", "id")
    ck.eq(len(got), 100, "failing: all rows moved")

    # --- a bigger table: several batch flushes per shard (1 MB batches)
    rows(meta, "CREATE TABLE big (id int, pad text)")
    for n in nodes[1:]:
        c2 = n.connect()
        rows(c2, "CREATE TABLE big (id int, pad text)")
        c2.close()
    rows(meta, "INSERT INTO big SELECT i, repeat(md5(i::text), 5) FROM generate_series(1, 100000) i")
    want = scalar(meta, "SELECT sum(hashtext(pad)::bigint + id) FROM big")
    rc, out = cli(binary, metainfo, "dist", "-", "big", "id", "4", "-", "-")
    ck.eq((rc, out), (0, "OK"), "distribute big")
    gbig = scalar(meta, "SELECT group_id FROM shardgate.tables WHERE table_name = 'big'")
    total, checksum = 0, 0
    for shard, node_id in rows(meta, "SELECT shard_index, node_id FROM shardgate.placements "
                                     "WHERE group_id = %s", (gbig,)):
        c2 = nodes[node_id - 1].connect()
        n_, s_ = rows(c2, "SELECT count(*), coalesce(sum(hashtext(pad)::bigint + id), 0) "
                          "FROM sg_g%d_%d.big" % (gbig, shard))[0]
        total += n_
        checksum += int(s_)
        c2.close()
    ck.eq((total, checksum), (100000, int(want)), "big: every row moved once, intact")

    # --- catalog_load sees everything
    rc, out = cli(binary, metainfo, "load")
    ck.eq(rc, 0, "load: rc (%s)" % out)
    lines = out.splitlines()
    ck.check("table public orders d 1 customer_id 23 1 id customer_id note total doubled" in lines,
             "load: orders line\n" + out)
    ck.check("table public nation r 0 - 0 -1 n_id n_name" in lines, "load: nation line")
    ck.check("table My Schema Weird Tab d 3 Key 2950 0 Key val" in lines, "load: weird line")
    g1 = [ln for ln in lines if ln.startswith("group 1 ")]
    ck.eq(len(g1), 1, "load: group 1")
    if g1:
        placement = [int(x) for x in g1[0].split()[4:]]
        ck.eq(placement, [r[0] for r in rows(meta, "SELECT node_id FROM shardgate.placements "
                                                   "WHERE group_id = 1 ORDER BY shard_index")],
              "load: group 1 placement")
    vnow = scalar(meta, "SELECT version FROM shardgate.version")
    ck.check("version %d" % vnow in lines, "load: version")
    rc, out = cli(binary, metainfo, "version")
    ck.eq(out, "version %d" % vnow, "catalog_read_version")
    rc, out = cli(binary, "host=127.0.0.1 port=1 user=postgres connect_timeout=2", "version")
    ck.eq((rc, sqlstate_of(out)), (1, "08006"), "read_version: connection failure")

    # --- SQL helpers
    ck.eq(scalar(meta, "SELECT shardgate.bump_version()"), vnow + 1, "bump_version")
    ck.eq(scalar(meta, "SELECT shardgate.forget_table('public', 'events2')"), True, "forget events2")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.shards WHERE group_id = 2"), 32,
          "group 2 kept while events uses it")
    ck.eq(scalar(meta, "SELECT shardgate.forget_table('public', 'events')"), True, "forget events")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.colocation_groups WHERE group_id = 2"), 0,
          "group 2 dropped")
    ck.eq(scalar(meta, "SELECT count(*) FROM shardgate.placements WHERE group_id = 2"), 0,
          "group 2 placements dropped")
    ck.eq(scalar(meta, "SELECT shardgate.forget_table('public', 'events')"), False, "forget again")
    ck.eq(scalar(meta, "SELECT shardgate.forget_table('public', 'nation')"), True, "forget ref")
    ck.eq(scalar(meta, "SELECT version FROM shardgate.version"), vnow + 4, "versions bumped")
    meta.close()


def main():
    tmp = tempfile.mkdtemp(prefix="sg_admin_")
    os.chmod(tmp, 0o755)
    ports = []
    for _ in range(3):
        ports.append(free_port(ports))
    nodes = [Node(tmp, i + 1, ports[i]) for i in range(3)]
    ck = Checker()
    try:
        binary = os.path.join(tmp, "admin_cli")
        src = os.path.join(tmp, "admin_cli.c")
        with open(src, "w") as f:
            f.write(CLI_SOURCE)
        extra = os.environ.get("SG_ADMIN_CFLAGS", "").split()  # e.g. -fsanitize=address
        subprocess.run(["cc", "-std=gnu11", "-g", "-Wall", "-Werror"] + extra + ["-I", SG_ROOT,
                        "-I", "/usr/include/postgresql", "-o", binary, src]
                       + [os.path.join(SG_ROOT, s) for s in SOURCES] + ["-lpq", "-lm"],
                       check=True)
        for n in nodes:
            n.start()
        run(ck, nodes, binary)
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
