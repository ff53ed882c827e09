// node-postgres (npm pg + pg-copy-streams) against the gateway.
//
// pg sends a query without values as a simple Query, and one with values as
// Parse/Bind/Describe/Execute/Sync (unnamed statement, text parameters);
// `name:` makes it a named prepared statement parsed once per connection.
// Tables: node_items (distributed by id), node_copy (distributed by id).
//
// Connection from SG_CLIENT_HOST/PORT/DB/USER; prints `ok   group: case` /
// `FAIL group: case: why` lines and `node-pg: N passed, M failed`.
'use strict';

const { Client } = require('pg');
const copyStreams = require('pg-copy-streams');
const { pipeline } = require('stream/promises');
const { Readable, Writable } = require('stream');

const TIMEOUT = 1000 * parseInt(process.env.SG_CLIENT_TIMEOUT || '20', 10);
const cfg = {
  host: process.env.SG_CLIENT_HOST || '127.0.0.1',
  port: parseInt(process.env.SG_CLIENT_PORT || '6432', 10),
  database: process.env.SG_CLIENT_DB || 'postgres',
  user: process.env.SG_CLIENT_USER || 'postgres',
  application_name: 'clients-node',
  connectionTimeoutMillis: 10000,
  query_timeout: TIMEOUT,
};

let passed = 0;
const failures = [];

function oneLine(s) {
  s = String(s).replace(/\s+/g, ' ');
  return s.length > 400 ? s.slice(0, 400) + '...' : s;
}

let cleanup = null; // run after a failed case (ROLLBACK on the shared client)

async function run(group, name, fn) {
  let timer;
  try {
    await Promise.race([fn(), new Promise((_, rej) => {
      timer = setTimeout(() => rej(new Error('case did not finish in time')), TIMEOUT);
    })]);
    passed++;
    console.log(`ok   ${group}: ${name}`);
  } catch (e) {
    const msg = oneLine(`${e.name}: ${e.message}` + (e.code ? ` [SQLSTATE ${e.code}]` : ''));
    failures.push(`${group}: ${name}: ${msg}`);
    console.log(`FAIL ${group}: ${name}: ${msg}`);
    if (cleanup) await cleanup().catch(() => {});
  } finally {
    clearTimeout(timer);
  }
}

function eq(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) throw new Error(`${what}: expected ${w}, got ${g}`);
}

async function sqlstate(p, want) {
  try {
    await p;
  } catch (e) {
    if (e.code !== want) throw new Error(`expected SQLSTATE ${want}, got ${e.code}: ${e.message}`);
    return e;
  }
  throw new Error(`expected SQLSTATE ${want}, statement succeeded`);
}

function range(a, b) {
  const out = [];
  for (let i = a; i < b; i++) out.push(i);
  return out;
}

async function ids(c, table, where = 'true', values = undefined) {
  const r = await c.query(`SELECT id FROM ${table} WHERE ${where}`, values);
  return r.rows.map((x) => Number(x.id)).sort((a, b) => a - b);
}

async function connect() {
  const c = new Client(cfg);
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function main() {
  let c;
  try {
    c = await connect();
  } catch (e) {
    console.log(`FAIL basic: connect: ${oneLine(e.message)}`);
    console.log('node-pg: 0 passed, 1 failed');
    process.exit(1);
  }
  cleanup = () => c.query('ROLLBACK');

  await run('basic', 'setup: CREATE TABLE + create_distributed_table (simple query)', async () => {
    await c.query('DROP TABLE IF EXISTS node_items, node_copy CASCADE');
    await c.query('CREATE TABLE node_items (id bigint PRIMARY KEY, name text, qty int, ' +
                  'data jsonb, at timestamptz, tags text[])');
    await c.query("SELECT create_distributed_table('node_items', 'id')");
    await c.query('CREATE TABLE node_copy (id int, name text, n int)');
    await c.query("SELECT create_distributed_table('node_copy', 'id')");
  });

  await run('basic', 'simple query: multi-row INSERT and fan-out SELECT', async () => {
    const vals = range(1, 101).map((i) => `(${i}, 'n${i}', ${i % 5})`).join(',');
    const r = await c.query(`INSERT INTO node_items (id, name, qty) VALUES ${vals}`);
    eq(r.rowCount, 100, 'rowCount');
    eq(await ids(c, 'node_items'), range(1, 101), 'ids');
  });

  await run('extended', 'parameterised INSERT and SELECT by key ($1, $2 ...)', async () => {
    const at = new Date('2024-02-03T04:05:06.789Z');
    await c.query('INSERT INTO node_items (id, name, qty, data, at, tags) VALUES ($1, $2, $3, $4, $5, $6)',
                  [1000, "it's", 3, { a: [1, 2] }, at, ['x', 'y z']]);
    const r = await c.query('SELECT name, qty, data, at, tags FROM node_items WHERE id = $1', [1000]);
    const got = r.rows.map((x) => ({ ...x, at: x.at instanceof Date ? x.at.toISOString() : x.at }));
    eq(got, [{ name: "it's", qty: 3, data: { a: [1, 2] }, at: at.toISOString(), tags: ['x', 'y z'] }],
       'row');
    eq(r.fields.map((f) => [f.name, f.dataTypeID]), [['name', 25], ['qty', 23], ['data', 3802],
                                                    ['at', 1184], ['tags', 1009]], 'fields');
  });

  await run('extended', 'parameters on a non-key column (fan-out with Bind)', async () => {
    eq(await ids(c, 'node_items', 'qty = $1 AND id <= $2', [2, 20]), [2, 7, 12, 17], 'ids');
  });

  await run('extended', 'UPDATE/DELETE with parameters: rowCount', async () => {
    eq((await c.query('UPDATE node_items SET qty = $2 WHERE id = $1', [5, 50])).rowCount, 1, 'update');
    eq((await c.query('DELETE FROM node_items WHERE id = $1', [100])).rowCount, 1, 'delete');
  });

  await run('extended', 'rowMode array and NULL parameters', async () => {
    await c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [1001, null]);
    const r = await c.query({ text: 'SELECT id, name FROM node_items WHERE id = $1', values: [1001],
                              rowMode: 'array' });
    eq(r.rows, [['1001', null]], 'rows');
  });

  await run('prepared', 'named prepared statement reused for 20 keys', async () => {
    for (let i = 1; i <= 20; i++) {
      const r = await c.query({ name: 'node_by_id', text: 'SELECT name FROM node_items WHERE id = $1',
                                values: [i] });
      eq(r.rows, [{ name: `n${i}` }], `id ${i}`);
    }
  });

  await run('prepared', 'named prepared INSERT routed by the bound key', async () => {
    for (let i = 2000; i < 2030; i++) {
      await c.query({ name: 'node_ins', text: 'INSERT INTO node_items (id, name) VALUES ($1, $2)',
                      values: [i, 'p'] });
    }
    eq(await ids(c, 'node_items', "name = 'p'"), range(2000, 2030), 'ids');
  });

  await run('prepared', 'concurrent pipelined queries on one client (several Syncs in flight)', async () => {
    const ps = range(1, 31).map((i) => c.query('SELECT name FROM node_items WHERE id = $1', [i]));
    const rs = await Promise.all(ps);
    eq(rs.map((r) => r.rows[0] && r.rows[0].name), range(1, 31).map((i) => `n${i}`), 'names');
  });

  await run('txn', 'BEGIN / COMMIT / ROLLBACK with parameterised statements', async () => {
    await c.query('BEGIN');
    await c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [3000, 't']);
    await c.query('ROLLBACK');
    await c.query('BEGIN');
    await c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [3001, 't']);
    await c.query('UPDATE node_items SET qty = $1 WHERE id = $2', [7, 3001]);
    await c.query('COMMIT');
    eq(await ids(c, 'node_items', "name = 't'"), [3001], 'ids');
  });

  await run('txn', 'error in a transaction: 25P02 until ROLLBACK', async () => {
    await c.query('BEGIN');
    await sqlstate(c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [1, 'dup']), '23505');
    await sqlstate(c.query('SELECT 1'), '25P02');
    await c.query('ROLLBACK');
    eq((await c.query('SELECT 1 AS x')).rows, [{ x: 1 }], 'usable');
  });

  await run('txn', 'SAVEPOINT and ROLLBACK TO SAVEPOINT', async () => {
    await c.query('BEGIN');
    await c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [3100, 'sp']);
    await c.query('SAVEPOINT s1');
    await sqlstate(c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [3100, 'sp']), '23505');
    await c.query('ROLLBACK TO SAVEPOINT s1');
    await c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [3101, 'sp']);
    await c.query('COMMIT');
    eq(await ids(c, 'node_items', "name = 'sp'"), [3100, 3101], 'ids');
  });

  await run('copy', 'pg-copy-streams COPY FROM STDIN (text) into a distributed table', async () => {
    const rows = range(1, 1001).map((i) => `${i}\tc${i}\t${i * 2}\n`);
    const stream = c.query(copyStreams.from('COPY node_copy (id, name, n) FROM STDIN'));
    await pipeline(Readable.from(rows), stream);
    eq(stream.rowCount, 1000, 'rowCount');
    eq(await ids(c, 'node_copy'), range(1, 1001), 'ids');
  });

  await run('copy', 'pg-copy-streams COPY FROM STDIN csv with HEADER', async () => {
    const data = 'id,name,n\n' + range(2001, 2101).map((i) => `${i},"csv, ${i}",${i}\n`).join('');
    const stream = c.query(copyStreams.from('COPY node_copy (id, name, n) FROM STDIN (FORMAT csv, HEADER)'));
    await pipeline(Readable.from([data]), stream);
    eq((await c.query('SELECT name FROM node_copy WHERE id = $1', [2050])).rows, [{ name: 'csv, 2050' }],
       'row');
  });

  await run('copy', 'pg-copy-streams COPY TO STDOUT (table and query)', async () => {
    const collect = async (sql) => {
      const chunks = [];
      await pipeline(c.query(copyStreams.to(sql)), new Writable({
        write(ch, _e, cb) { chunks.push(ch); cb(); },
      }));
      return Buffer.concat(chunks).toString();
    };
    eq((await collect('COPY node_copy (id) TO STDOUT')).split('\n').length - 1, 1100, 'table lines');
    eq(await collect('COPY (SELECT id, name FROM node_copy WHERE id = 3) TO STDOUT'), '3\tc3\n', 'query');
  });

  await run('copy', 'COPY FROM STDIN with a bad row: 22P02, nothing of it stays', async () => {
    const rows = range(5000, 5050).map((i) => `${i}\tok\t1\n`).concat(['5050\tbad\tx\n']);
    const stream = c.query(copyStreams.from('COPY node_copy (id, name, n) FROM STDIN'));
    await sqlstate(pipeline(Readable.from(rows), stream), '22P02');
    eq(await ids(c, 'node_copy', 'id >= 5000'), [], 'ids');
  });

  await run('session', 'SET / SHOW and ParameterStatus (client.on notice, parameterStatus)', async () => {
    const c2 = await connect();
    try {
      const seen = {};
      c2.connection.on('parameterStatus', (m) => { seen[m.parameterName] = m.parameterValue; });
      await c2.query("SET TimeZone = 'Asia/Kolkata'");
      eq(seen.TimeZone, 'Asia/Kolkata', 'ParameterStatus TimeZone');
      eq((await c2.query('SHOW TimeZone')).rows, [{ TimeZone: 'Asia/Kolkata' }], 'SHOW');
      eq((await c2.query("SELECT current_setting('application_name') AS a")).rows, [{ a: 'clients-node' }],
         'application_name from startup');
    } finally {
      await c2.end();
    }
  });

  await run('session', 'LISTEN / NOTIFY', async () => {
    const a = await connect();
    const b = await connect();
    try {
      const got = new Promise((res) => a.on('notification', (m) => res(m.payload)));
      await a.query('LISTEN node_chan');
      await b.query("NOTIFY node_chan, 'ping'");
      eq(await Promise.race([got, new Promise((r) => setTimeout(() => r('timeout'), 5000))]), 'ping',
         'payload');
    } finally {
      await a.end();
      await b.end();
    }
  });

  await run('errors', 'error fields: SQLSTATE, constraint, table, position', async () => {
    const e = await sqlstate(c.query('INSERT INTO node_items (id, name) VALUES ($1, $2)', [1, 'x']), '23505');
    eq([e.constraint, e.table, e.schema], ['node_items_pkey', 'node_items', 'public'], 'fields');
    const e2 = await sqlstate(c.query('SELECT nosuch FROM node_items'), '42703');
    eq(e2.position, '8', 'position');
    eq((await c.query('SELECT $1::int + 1 AS v', [1])).rows, [{ v: 2 }], 'usable');
  });

  try {
    await c.query('DROP TABLE IF EXISTS node_items, node_copy CASCADE');
    await c.end();
  } catch (e) {
    // cleanup only
  }
  if (failures.length) {
    console.log('node-pg failures:');
    for (const f of failures) console.log('  - ' + f);
  }
  console.log(`node-pg: ${passed} passed, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

main();
