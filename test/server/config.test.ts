// Specification of the server's configuration: flags over environment over defaults, --help, clear errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseServerArgs } from '../../server/config.js';
import { ROOT, api, startServer, tempDir } from '../../harness/server.js';

const clearEnv = (): void => {
  for (const k of [
    'GANWATCH_HOST',
    'GANWATCH_PORT',
    'GANWATCH_DB',
    'GANWATCH_TOKEN',
    'GANWATCH_READ_TOKEN',
    'GANWATCH_DURABLE',
  ])
    delete process.env[k];
};

test('defaults are 127.0.0.1:8080 with the database in ./data/ganwatch.db and no token', () => {
  clearEnv();
  const c = parseServerArgs([]);
  assert.deepEqual([c.host, c.port, c.db, c.token, c.readToken], ['127.0.0.1', 8080, './data/ganwatch.db', null, null]);
});

test('environment variables override the defaults and flags override the environment', () => {
  clearEnv();
  process.env.GANWATCH_PORT = '9000';
  process.env.GANWATCH_DB = '/tmp/env.db';
  process.env.GANWATCH_TOKEN = 'envtoken';
  process.env.GANWATCH_HOST = '127.0.0.2';
  const fromEnv = parseServerArgs([]);
  assert.deepEqual(
    [fromEnv.host, fromEnv.port, fromEnv.db, fromEnv.token],
    ['127.0.0.2', 9000, '/tmp/env.db', 'envtoken'],
  );
  const fromFlags = parseServerArgs([
    '--port',
    '9100',
    '--db',
    '/tmp/flag.db',
    '--token',
    'flagtoken',
    '--host',
    '127.0.0.3',
  ]);
  assert.deepEqual(
    [fromFlags.host, fromFlags.port, fromFlags.db, fromFlags.token],
    ['127.0.0.3', 9100, '/tmp/flag.db', 'flagtoken'],
  );
  clearEnv();
});

test('--help lists every flag with its environment variable', () => {
  const out = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(out.status, 0);
  for (const flag of [
    '--host',
    '--port',
    '--db',
    '--token',
    '--read-token',
    'GANWATCH_HOST',
    'GANWATCH_PORT',
    'GANWATCH_DB',
    'GANWATCH_TOKEN',
  ]) {
    assert.ok(out.stdout.includes(flag), `--help mentions ${flag}`);
  }
});

test('--db takes a file or a postgres:// URL; another scheme, or a database that cannot be reached, is refused in one line without the password', () => {
  const serve = (db: string) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--port', '0', '--db', db], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, GANWATCH_DB: '', GANWATCH_PORT: '' },
    });
  const mysql = serve('mysql://me:s3cret@127.0.0.1/ganwatch');
  assert.equal(mysql.status, 2);
  assert.match(
    mysql.stderr,
    /^ganwatch: GW_ERR_CONFIG: .*--db takes a SQLite file path or a postgres:\/\/.*'mysql:\/\/me:\*\*\*@/,
  );
  // Port 1 on loopback: nothing listens there.
  const down = serve('postgres://me:s3cret@127.0.0.1:1/ganwatch');
  assert.equal(down.status, 2);
  assert.match(
    down.stderr,
    /^ganwatch: GW_ERR_DB_OPEN: Cannot open database 'postgres:\/\/me:\*\*\*@127\.0\.0\.1:1\/ganwatch'/,
  );
  for (const out of [mysql, down]) {
    assert.equal(out.stderr.trim().split('\n').length, 1);
    assert.doesNotMatch(out.stderr, /s3cret/);
  }
});

test('a bad port is refused with a message naming it and exit code 2, no stack trace', () => {
  const out = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--port', 'eighty'], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  assert.equal(out.status, 2);
  assert.match(out.stderr, /--port/);
  assert.doesNotMatch(out.stderr, /\n\s+at /);
});

test('the database file is created on first start, and a SIGTERM shuts down cleanly with the WAL checkpointed', async () => {
  const dbPath = join(tempDir(), 'nested', 'dir', 'g.db');
  const server = await startServer({ dbPath });
  const id = (await api(server, 'POST', '/api/v1/runs', { name: 'persist' })).body.id;
  await server.stop();
  assert.equal(server.process.exitCode, 0);
  const { statSync, existsSync } = await import('node:fs');
  assert.ok(statSync(dbPath).size > 0);
  assert.ok(
    !existsSync(dbPath + '-wal') || statSync(dbPath + '-wal').size === 0,
    'WAL is empty after a clean shutdown',
  );
  await server.restart();
  assert.equal((await api(server, 'GET', `/api/v1/runs/${id}`)).body.name, 'persist');
  await server.stop();
});

test('a port already in use gives a one-line error', async () => {
  const server = await startServer();
  const out = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'server/main.ts'), '--port', String(server.port), '--db', join(tempDir(), 'x.db')],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  await server.stop();
  assert.equal(out.status, 2);
  assert.match(out.stderr, /EADDRINUSE|in use/);
  assert.doesNotMatch(out.stderr, /\n\s+at /);
});
