#!/usr/bin/python3
"""
test_hash_vs_pg.py: storage/pghash.c + storage/shardmap.c against a real
PostgreSQL 15's hash partitioning.

Starts its own throwaway PostgreSQL (initdb into a fresh temp dir, a free
port found by binding port 0, Unix socket in the temp dir), creates for each
distribution-column type a table PARTITION BY HASH (k) with MODULUS 32
partitions named <table>_p<remainder>, inserts a few hundred values per
type (edge cases and random ones, in several accepted spellings), and
checks that the partition PostgreSQL chose (tableoid::regclass) is the
shard index our C code computes from the same text. The C side is
tests/integration/hashcheck.c, compiled here with storage/pghash.c,
storage/shardmap.c, common/error.c and common/arena.c.

Needs no gateway. Exit status 0 only if every value matched.
Env: SG_ROOT (repository root; defaults to two levels up from this file).
"""
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid

PG_BIN = "/usr/lib/postgresql/15/bin"
MODULUS = 32
SEED = 20240229

OID = {
    "bool": 16, "int8": 20, "int2": 21, "int4": 23, "text": 25, "bpchar": 1042,
    "varchar": 1043, "date": 1082, "timestamp": 1114, "timestamptz": 1184, "uuid": 2950,
}


def as_postgres(cmd):
    """Run cmd as the postgres OS user (initdb and postgres refuse root)."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if port == 5432:
        return free_port()
    return port


class Postgres:
    """A throwaway PostgreSQL 15 server in its own temp dir."""

    def __init__(self, root):
        self.root = root
        self.data = os.path.join(root, "data")
        self.port = free_port()
        self.started = False

    def start(self):
        if os.geteuid() == 0:
            shutil.chown(self.root, user="postgres")
        subprocess.run(as_postgres([f"{PG_BIN}/initdb", "-D", self.data, "-A", "trust",
                                    "-U", "postgres", "-E", "UTF8", "--no-sync"]),
                       check=True, stdout=subprocess.DEVNULL, cwd=self.root)
        opts = (f"-p {self.port} -k {self.root} -c listen_addresses='' -c fsync=off "
                f"-c TimeZone=UTC")
        self.started = True
        subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-o", opts,
                                    "-l", os.path.join(self.root, "log"), "-w", "start"]),
                       check=True, stdout=subprocess.DEVNULL, cwd=self.root)

    def stop(self):
        if self.started:
            subprocess.run(as_postgres([f"{PG_BIN}/pg_ctl", "-D", self.data, "-m", "fast",
                                        "-w", "stop"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.root)
            self.started = False

    def connect(self):
        import psycopg2
        conn = psycopg2.connect(host=self.root, port=self.port, user="postgres",
                                dbname="postgres")
        conn.autocommit = True
        return conn


def build_hashcheck(sg_root, outdir):
    exe = os.path.join(outdir, "hashcheck")
    srcs = [os.path.join(sg_root, p) for p in (
        "tests/integration/hashcheck.c", "storage/pghash.c", "storage/shardmap.c",
        "common/error.c", "common/arena.c")]
    subprocess.run(["cc", "-std=gnu11", "-O1", "-Wall", "-I", sg_root, "-o", exe] + srcs,
                   check=True)
    return exe


def run_hashcheck(exe, rows):
    """rows: list of (oid, text or None) -> list of (shard index or None, hash or error)."""
    lines = []
    for oid, text in rows:
        enc = "-" if text is None else text.encode("utf-8").hex()
        lines.append(f"{oid}\t{enc}\n")
    out = subprocess.run([exe, str(MODULUS)], input="".join(lines), capture_output=True,
                         text=True, check=True).stdout.splitlines()
    assert len(out) == len(rows), "hashcheck output count"
    result = []
    for line in out:
        parts = line.split("\t")
        if parts[0] == "ERR":
            result.append((None, f"{parts[1]} {parts[2]}"))
        else:
            result.append((int(parts[0]), int(parts[1])))
    return result


def rand_text(rng):
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -_.,'\"\\/äöüéßλжخ中文😀"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))


def values_for(typ, rng):
    """Text forms of values of type typ: edge cases, then random ones."""
    vals = []
    if typ in ("int2", "int4", "int8"):
        bits = {"int2": 16, "int4": 32, "int8": 64}[typ]
        lo, hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
        vals += [str(v) for v in (0, 1, -1, 42, lo, hi, lo + 1, hi - 1)]
        vals += [" 42", "42 ", "+42", "-0", "007", "\t-17\n"]
        for i in range(300):
            if i % 3 == 0:
                v = rng.randint(-1000, 1000)
            elif i % 3 == 1 and bits == 64:
                v = rng.randint(-(1 << 33), 1 << 33)  # around the int4 boundary
            else:
                v = rng.randint(lo, hi)
            vals.append(str(v))
    elif typ in ("text", "varchar"):
        vals += ["", "a", "abc", "abc ", " abc", "hello world", "x" * 12, "y" * 13, "z" * 100]
        vals += [rand_text(rng) for _ in range(300)]
    elif typ == "bpchar":
        vals += ["", "a", "abc", "abc   ", "  abc", "x" * 12]
        vals += [rand_text(rng) + " " * rng.randint(0, 3) for _ in range(150)]
    elif typ == "uuid":
        vals += ["00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff"]
        for i in range(300):
            u = uuid.UUID(int=rng.getrandbits(128))
            form = i % 5
            if form == 0:
                vals.append(str(u))
            elif form == 1:
                vals.append(u.hex)
            elif form == 2:
                vals.append("{" + str(u) + "}")
            elif form == 3:
                vals.append(str(u).upper())
            else:
                h = u.hex
                vals.append("-".join(h[i:i + 4] for i in range(0, 32, 4)))
    elif typ == "bool":
        vals += ["t", "f", "true", "false", "TRUE", " yes ", "no", "on", "off", "1", "0", "y",
                 "n", "tr", "fal", "OFF"]
    elif typ == "date":
        vals += ["2000-01-01", "1970-01-01", "2024-02-29", "0001-01-01", "9999-12-31",
                 "infinity", "-infinity", "epoch", " 2024-2-9 ", "02024-02-29"]
        for _ in range(150):
            y, m = rng.randint(1, 9999), rng.randint(1, 12)
            vals.append(f"{y:04d}-{m:02d}-{rng.randint(1, 28):02d}")
    elif typ in ("timestamp", "timestamptz"):
        # timestamptz without a zone depends on the session TimeZone: pghash refuses it
        # (0A000, see the unit tests), so every timestamptz literal here carries a zone
        z = "Z" if typ == "timestamptz" else ""
        vals += [f"2000-01-01 00:00:00{z}", "epoch", "infinity", "-infinity",
                 f"2024-02-29 24:00:00{z}", f"2024-02-29 23:59:60{z}",
                 f"2024-02-29 10:00:00.1234565{z}", f"2024-02-29T10:00{z}",
                 "1999-01-08 04:05:06 -8:00", "2024-02-29 10:00+15:59", "2024-02-29 10:00-0330",
                 "2024-02-29 10:00:00.5 UTC", "2024-02-29T10:00Z", "2024-02-29 12:34:56+05:30"]
        for _ in range(150):
            y, m, d = rng.randint(1, 9999), rng.randint(1, 12), rng.randint(1, 28)
            t = f"{y:04d}-{m:02d}-{d:02d} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}"
            t += f":{rng.randint(0, 59):02d}"
            if rng.random() < 0.5:
                t += "." + str(rng.randint(0, 999999)).zfill(rng.choice([1, 3, 6]))[:6]
            if typ == "timestamptz" or rng.random() < 0.3:
                t += rng.choice(["Z", "+00", " UTC", "+05:30", "-08", "-0330", "+14"])
            vals.append(t)
    # no duplicates needed; keep order stable
    seen, out = set(), []
    for v in vals:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return out


def check_type(conn, exe, typ, rng):
    """Returns (values checked, mismatch descriptions)."""
    tbl = f"h_{typ}"
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {tbl} (k {typ}, src text) PARTITION BY HASH (k)")
    for r in range(MODULUS):
        cur.execute(f"CREATE TABLE {tbl}_p{r} PARTITION OF {tbl} "
                    f"FOR VALUES WITH (MODULUS {MODULUS}, REMAINDER {r})")
    vals = values_for(typ, rng)
    for v in vals:
        cur.execute(f"INSERT INTO {tbl} (k, src) VALUES (%s::{typ}, %s)", (v, v))
    cur.execute(f"INSERT INTO {tbl} (k, src) VALUES (NULL, NULL)")
    cur.execute(f"SELECT src, tableoid::regclass::text FROM {tbl}")
    rows = cur.fetchall()
    ours = run_hashcheck(exe, [(OID[typ], src) for src, _ in rows])
    mismatches = []
    for (src, part), (shard, info) in zip(rows, ours):
        m = re.fullmatch(rf"{tbl}_p(\d+)", part)
        pg_shard = int(m.group(1))
        if shard != pg_shard:
            mismatches.append(f"{typ} {src!r}: PostgreSQL partition {pg_shard}, ours {shard} "
                              f"({info})")
    return len(rows), mismatches


def main():
    sg_root = os.environ.get("SG_ROOT") or os.path.abspath(
        os.path.join(os.path.dirname(__file__), "..", ".."))
    rng = random.Random(SEED)
    tmp = tempfile.mkdtemp(prefix="sg-hash-vs-pg-")
    pg = Postgres(tmp)
    total, mismatches = 0, []
    try:
        exe = build_hashcheck(sg_root, tmp)
        pg.start()
        conn = pg.connect()
        for typ in ("int4", "int8", "text", "uuid", "int2", "bool", "varchar", "bpchar",
                    "date", "timestamp", "timestamptz"):
            n, bad = check_type(conn, exe, typ, rng)
            print(f"  {typ}: {n} values, {len(bad)} mismatches", flush=True)
            total += n
            mismatches += bad
        conn.close()
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    for m in mismatches[:50]:
        print("MISMATCH", m)
    print(f"hash_vs_pg: {total} values checked, {len(mismatches)} mismatches")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
