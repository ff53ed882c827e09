"""asyncpg (Debian python3-asyncpg) against the gateway.

asyncpg speaks only the extended protocol with binary formats: every query is
Parse + Describe statement (ParameterDescription/RowDescription decide the
codecs) + Bind (binary) + Execute, statements are named and cached, and
introspection of unknown types queries pg_type. COPY uses binary format.

Tables: apg_items (distributed by id), apg_copy (distributed by id).
"""

import asyncio
import datetime
import decimal
import os
import sys
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import common  # noqa: E402
from common import eq  # noqa: E402

import asyncpg  # noqa: E402

S = common.Suite("asyncpg")
T = common.CASE_TIMEOUT


async def connect(**kw):
    return await asyncpg.connect(host=common.HOST, port=common.PORT, user=common.USER,
                                 database=common.DB, timeout=10, command_timeout=T, **kw)


async def sqlstate(coro, want):
    try:
        await coro
    except asyncpg.PostgresError as e:
        if e.sqlstate != want:
            raise AssertionError("expected SQLSTATE %s, got %s: %s" % (want, e.sqlstate, e))
        return e
    raise AssertionError("expected SQLSTATE %s, statement succeeded" % want)


ROW = (1, "ünï 'q'", 7, decimal.Decimal("99.95"),
       datetime.datetime(2024, 3, 4, 5, 6, 7, 890000, tzinfo=datetime.timezone.utc),
       uuid.UUID("0f0e0d0c-0b0a-0908-0706-050403020100"), [3, None, 5], b"\x00\x10", 1.25, False,
       datetime.date(2020, 2, 29))
COLS = "id, name, qty, price, at, u, tags, blob, f, ok, d"


LOOP = asyncio.new_event_loop()
asyncio.set_event_loop(LOOP)
try:
    conn = LOOP.run_until_complete(connect())
except Exception as e:  # noqa: BLE001
    print("FAIL basic: connect: %s" % common.one_line(e))
    print("asyncpg: 0 passed, 1 failed")
    sys.exit(1)

async def ids(table, where="true", *args, c=None):
    return sorted(r[0] for r in await (c or conn).fetch(
        "SELECT id FROM %s WHERE %s" % (table, where), *args))

cases = []

def case(group, name):
    def deco(fn):
        cases.append((group, name, fn))
        return fn
    return deco

@case("basic", "setup: CREATE TABLE + create_distributed_table via execute() (simple)")
async def _():
    for t in ("apg_items", "apg_copy"):
        await conn.execute("DROP TABLE IF EXISTS %s CASCADE" % t)
    await conn.execute(
        "CREATE TABLE apg_items (id bigint PRIMARY KEY, name text, qty int, price numeric, "
        "at timestamptz, u uuid, tags int[], blob bytea, f float8, ok bool, d date)")
    await conn.execute("SELECT create_distributed_table('apg_items', 'id')")
    await conn.execute("CREATE TABLE apg_copy (id int, name text, n bigint)")
    await conn.execute("SELECT create_distributed_table('apg_copy', 'id')")

@case("basic", "fetchval without parameters (Parse/Describe/Bind binary)")
async def _():
    eq(await conn.fetchval("SELECT 1"), 1, "SELECT 1")
    eq(await conn.fetchval("SELECT 'x'::text || 'y'"), "xy", "text")

@case("extended", "INSERT with binary parameters of every type, fetchrow by key")
async def _():
    await conn.execute("INSERT INTO apg_items (%s) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)"
                       % COLS, *ROW)
    r = await conn.fetchrow("SELECT %s FROM apg_items WHERE id = $1" % COLS, 1)
    eq(tuple(r), ROW, "row")

@case("extended", "executemany of 200 rows")
async def _():
    await conn.executemany("INSERT INTO apg_items (id, name, qty) VALUES ($1, $2, $3)",
                           [(i, "n%d" % i, i % 3) for i in range(2, 202)])
    eq(await ids("apg_items"), list(range(1, 202)), "ids")

@case("extended", "fan-out fetch with parameters on a non-key column")
async def _():
    eq(await ids("apg_items", "qty = $1 AND id < $2", 2, 15), [2, 5, 8, 11, 14], "ids")

@case("extended", "UPDATE ... RETURNING by key, status string")
async def _():
    r = await conn.fetch("UPDATE apg_items SET qty = qty + $2 WHERE id = $1 RETURNING qty", 4, 10)
    eq([x[0] for x in r], [11], "returning")
    eq(await conn.execute("DELETE FROM apg_items WHERE id = $1", 201), "DELETE 1", "status")

@case("extended", "parameter type inferred from context (ParameterDescription)")
async def _():
    st = await conn.prepare("SELECT name FROM apg_items WHERE id = $1 AND qty > $2")
    eq([t.name for t in st.get_parameters()], ["int8", "int4"], "parameter types")
    eq([(a.name, a.type.name) for a in st.get_attributes()], [("name", "text")], "attributes")

@case("prepared", "prepare(): reused statement, fetch/fetchval/fetchrow by key")
async def _():
    st = await conn.prepare("SELECT name FROM apg_items WHERE id = $1")
    for i in (2, 50, 100, 150, 200):
        eq(await st.fetchval(i), "n%d" % i, "id %d" % i)

@case("prepared", "statement cache: same query 20 times with different keys")
async def _():
    for i in range(10, 30):
        eq(await conn.fetchval("SELECT qty FROM apg_items WHERE id = $1", i), i % 3, "id %d" % i)

@case("prepared", "prepared cursor iteration in a transaction (Execute with row limit)")
async def _():
    async with conn.transaction():
        st = await conn.prepare("SELECT id FROM apg_items WHERE id <= $1")
        got = [r[0] async for r in st.cursor(100, prefetch=30)]
    eq(sorted(got), list(range(1, 101)), "ids")

@case("cursor", "cursor.fetch(n) pages (portal with row limit, PortalSuspended)")
async def _():
    async with conn.transaction():
        cur = await conn.cursor("SELECT id FROM apg_items WHERE id <= $1", 50)
        p1 = [r[0] for r in await cur.fetch(10)]
        p2 = [r[0] for r in await cur.fetch(10)]
        rest = [r[0] for r in await cur.fetch(100)]
        eq((len(p1), len(p2)), (10, 10), "page sizes")
        eq(sorted(p1 + p2 + rest), list(range(1, 51)), "all ids once")

@case("txn", "transaction(): commit, rollback on exception, nested savepoint")
async def _():
    async with conn.transaction():
        await conn.execute("INSERT INTO apg_items (id, name) VALUES ($1, 't')", 3000)
    try:
        async with conn.transaction():
            await conn.execute("INSERT INTO apg_items (id, name) VALUES ($1, 't')", 3001)
            raise KeyError
    except KeyError:
        pass
    async with conn.transaction():
        try:
            async with conn.transaction():
                await conn.execute("INSERT INTO apg_items (id, name) VALUES ($1, 't')", 3000)
        except asyncpg.UniqueViolationError:
            pass
        await conn.execute("INSERT INTO apg_items (id, name) VALUES ($1, 't')", 3002)
    eq(await ids("apg_items", "name = 't'"), [3000, 3002], "ids")

@case("txn", "transaction(isolation='serializable', readonly=True)")
async def _():
    async with conn.transaction(isolation="serializable", readonly=True):
        eq(await conn.fetchval("SHOW transaction_isolation"), "serializable", "isolation")
        await sqlstate(conn.execute("INSERT INTO apg_items (id) VALUES ($1)", 3003), "25006")

@case("copy", "copy_records_to_table (binary COPY FROM STDIN) into a distributed table")
async def _():
    await conn.copy_records_to_table("apg_copy", records=[(i, "c%d" % i, i * 3)
                                                          for i in range(1, 1001)],
                                     columns=["id", "name", "n"])
    eq(await ids("apg_copy"), list(range(1, 1001)), "ids")
    eq(await conn.fetchval("SELECT name FROM apg_copy WHERE id = $1", 500), "c500", "row 500")

@case("copy", "copy_to_table from a csv file object")
async def _():
    import io
    data = io.BytesIO(b"".join(b"%d,csv%d,%d\n" % (i, i, i) for i in range(2001, 2101)))
    await conn.copy_to_table("apg_copy", source=data, columns=["id", "name", "n"], format="csv")
    eq(await ids("apg_copy", "id > 2000"), list(range(2001, 2101)), "ids")

@case("copy", "copy_from_query and copy_from_table (COPY TO STDOUT)")
async def _():
    import io
    out = io.BytesIO()
    await conn.copy_from_query("SELECT id, name FROM apg_copy WHERE id <= $1 ORDER BY id", 3,
                               output=out, format="csv")
    eq(out.getvalue(), b"1,c1\n2,c2\n3,c3\n", "query output")
    out = io.BytesIO()
    await conn.copy_from_table("apg_copy", columns=["id"], output=out, format="text")
    eq(len(out.getvalue().splitlines()), 1100, "table lines")

@case("copy", "copy_records_to_table with a bad record: error, nothing stays")
async def _():
    try:
        await conn.copy_records_to_table("apg_copy", records=[(5000, "a", 1), (5001, "b", "x")],
                                         columns=["id", "name", "n"])
        raise AssertionError("no error")
    except (asyncpg.DataError, TypeError, ValueError, asyncpg.PostgresError):
        pass
    eq(await ids("apg_copy", "id >= 5000"), [], "ids")
    eq(await conn.fetchval("SELECT 1"), 1, "usable")

@case("session", "SET / set_config / ParameterStatus (get_settings)")
async def _():
    c = await connect(server_settings={"application_name": "apg_app"})
    try:
        eq(await c.fetchval("SHOW application_name"), "apg_app", "startup setting")
        await c.execute("SET DateStyle = 'ISO, DMY'")
        eq(c.get_settings().DateStyle, "ISO, DMY", "ParameterStatus DateStyle")
        eq(await c.fetchval("SELECT current_setting($1)", "DateStyle"), "ISO, DMY", "current_setting")
    finally:
        await c.close()

@case("session", "LISTEN / NOTIFY through add_listener")
async def _():
    a, b = await connect(), await connect()
    try:
        got = asyncio.get_event_loop().create_future()
        await a.add_listener("apg_chan", lambda *args: got.done() or got.set_result(args[3]))
        await b.execute("NOTIFY apg_chan, 'hi'")
        eq(await asyncio.wait_for(got, 5), "hi", "payload")
    finally:
        await a.close()
        await b.close()

@case("catalog", "custom type introspection (enum, composite: pg_type queries)")
async def _():
    await conn.execute("DROP TABLE IF EXISTS apg_typed; DROP TYPE IF EXISTS apg_mood; "
                       "DROP TYPE IF EXISTS apg_pair")
    await conn.execute("CREATE TYPE apg_mood AS ENUM ('sad', 'ok', 'happy')")
    await conn.execute("CREATE TYPE apg_pair AS (a int, b text)")
    eq(await conn.fetchval("SELECT 'happy'::apg_mood"), "happy", "enum")
    eq(tuple(await conn.fetchval("SELECT ROW(1, 'x')::apg_pair")), (1, "x"), "composite")
    await conn.execute("DROP TYPE apg_mood; DROP TYPE apg_pair")

@case("catalog", "server_version and pg_backend_pid")
async def _():
    eq(conn.get_server_version().major, 15, "major")
    assert (await conn.fetchval("SELECT pg_backend_pid()")) > 0

@case("errors", "errors keep SQLSTATE, session usable afterwards")
async def _():
    await sqlstate(conn.execute("INSERT INTO apg_items (id) VALUES ($1)", 1), "23505")
    await sqlstate(conn.fetch("SELECT nosuch FROM apg_items WHERE id = $1", 1), "42703")
    await sqlstate(conn.fetchval("SELECT 1 / $1::int", 0), "22012")
    eq(await conn.fetchval("SELECT $1::int + 1", 1), 2, "usable")

for group, name, fn in cases:
    S.run(group, name, lambda: LOOP.run_until_complete(asyncio.wait_for(fn(), T)))
try:
    for t in ("apg_items", "apg_copy"):
        LOOP.run_until_complete(asyncio.wait_for(
            conn.execute("DROP TABLE IF EXISTS %s CASCADE" % t), T))
    LOOP.run_until_complete(asyncio.wait_for(conn.close(), 5))
except Exception:  # noqa: BLE001
    pass
S.finish()
