// Specification of the deployment files, checked without a Docker engine: docker-compose.yml is valid for Compose
// (Debian's docker-compose validates it), the server's health check command works against a real server, every file
// a Dockerfile copies exists and is not excluded from the build context, and the example env file sets only variables
// the server knows.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, startServer, tempDir } from '../../harness/server.js';

const COMPOSE = readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8');
const hasCompose = spawnSync('docker-compose', ['version'], { encoding: 'utf8' }).status === 0;

/** A copy of the compose setup in a temp folder with the example env file as ganwatch.env (what a user makes). */
function composeDir(): string {
  const dir = tempDir('ganwatch-compose-');
  copyFileSync(join(ROOT, 'docker-compose.yml'), join(dir, 'docker-compose.yml'));
  copyFileSync(join(ROOT, 'deploy/ganwatch.env.example'), join(dir, 'ganwatch.env'));
  symlinkSync(join(ROOT, 'deploy'), join(dir, 'deploy'));
  mkdirSync(join(dir, 'data'));
  return dir;
}

test(
  'docker-compose.yml is valid: a server with a health check and a named volume, a GPU trainer pointed at it',
  { skip: hasCompose ? false : 'docker-compose is not installed (apt-get install docker-compose)' },
  () => {
    const dir = composeDir();
    const out = spawnSync('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: dir, encoding: 'utf8' });
    assert.equal(out.status, 0, out.stderr);
    const config = out.stdout;
    assert.deepEqual(
      spawnSync('docker-compose', ['config', '--services'], { cwd: dir, encoding: 'utf8' })
        .stdout.trim()
        .split('\n')
        .sort(),
      // docker-compose 1.29 lists the services of every profile; the default profile is the server and the trainer.
      ['pg-proxy', 'pg-server-1', 'pg-server-2', 'postgres', 'server', 'trainer'],
    );
    assert.match(config, /GANWATCH_TOKEN: change-me/, 'the token comes from the env file');
    assert.match(config, /ganwatch-data:\/data:rw/, 'the database is on a named volume');
    assert.match(config, /\/api\/v1\/health/);
    assert.match(config, /condition: service_healthy/);
    assert.match(config, /driver: nvidia/);
    assert.match(config, /- gpu/);
    assert.match(config, /- --server\n\s+- http:\/\/server:8080/);
    assert.match(config, /- --backend\n\s+- tensorflow-gpu/);
  },
);

test(
  'docker-compose.yml, profile postgres: PostgreSQL with a volume and a health check, two servers on it, nginx in front',
  { skip: hasCompose ? false : 'docker-compose is not installed (apt-get install docker-compose)' },
  () => {
    const dir = composeDir();
    const out = spawnSync('docker-compose', ['-f', 'docker-compose.yml', '--profile', 'postgres', 'config'], {
      cwd: dir,
      encoding: 'utf8',
    });
    assert.equal(out.status, 0, out.stderr);
    const config = out.stdout;
    assert.match(config, /ganwatch-pg:\/var\/lib\/postgresql\/data:rw/, 'PostgreSQL keeps its data on a named volume');
    assert.match(config, /pg_isready -U ganwatch -d ganwatch/);
    assert.equal(
      (config.match(/GANWATCH_DB: postgres:\/\/ganwatch:ganwatch@postgres:5432\/ganwatch/g) ?? []).length,
      2,
    );
    assert.match(config, /nginx-postgres\.conf:\/etc\/nginx\/conf\.d\/default\.conf:ro/);
    const nginx = readFileSync(join(ROOT, 'deploy/nginx-postgres.conf'), 'utf8');
    assert.match(nginx, /hash \$arg_run consistent/, 'ingest sockets are routed by run');
    assert.match(nginx, /proxy_set_header Upgrade \$http_upgrade/);
  },
);

test('the compose health check passes against a real server with a token, and fails when nothing answers', async () => {
  const script = /- -e\n\s+- >-\n([\s\S]*?)\n\s+interval:/
    .exec(COMPOSE)![1]!
    .split('\n')
    .map((l) => l.trim())
    .join(' ');
  const server = await startServer({ token: 'w', readToken: 'r', port: 0 });
  const port = new URL(server.url).port;
  const run = (env: Record<string, string>, url: string) =>
    spawnSync(process.execPath, ['-e', script.replace('http://127.0.0.1:8080', url)], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    }).status;
  try {
    assert.equal(run({ GANWATCH_TOKEN: 'w', GANWATCH_READ_TOKEN: 'r' }, `http://127.0.0.1:${port}`), 0);
    assert.equal(
      run({ GANWATCH_TOKEN: 'w', GANWATCH_READ_TOKEN: '' }, `http://127.0.0.1:${port}`),
      0,
      'the write token reads too',
    );
    assert.equal(
      run({ GANWATCH_TOKEN: '', GANWATCH_READ_TOKEN: '' }, `http://127.0.0.1:${port}`),
      1,
      'a wrong token is unhealthy',
    );
  } finally {
    await server.stop();
  }
  assert.equal(run({ GANWATCH_TOKEN: 'w' }, `http://127.0.0.1:${port}`), 1, 'no server is unhealthy');
});

test('every file the Dockerfiles copy from the repository exists and is in the build context', () => {
  const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#') && !l.startsWith('!'));
  for (const file of ['deploy/Dockerfile.server', 'deploy/Dockerfile.trainer']) {
    const text = readFileSync(join(ROOT, file), 'utf8');
    for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
      const parts = m[1]!.trim().split(/\s+/);
      for (const src of parts.slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, src)), `${file}: ${src} exists`);
        assert.ok(
          !ignored.includes(src) && !ignored.includes(src.split('/')[0]!),
          `${file}: ${src} is not in .dockerignore`,
        );
      }
    }
  }
  const trainer = readFileSync(join(ROOT, 'deploy/Dockerfile.trainer'), 'utf8');
  assert.match(trainer, /^FROM nvidia\/cuda:11\.2\.2-cudnn8-runtime-ubuntu20\.04$/m);
  assert.match(trainer, /@tensorflow\/tfjs-node-gpu@4\.22\.0/);
  assert.match(readFileSync(join(ROOT, 'deploy/Dockerfile.server'), 'utf8'), /^FROM node:20-/m);
});

test('the example env file sets the token and names only variables the server knows', () => {
  const help = spawnSync(process.execPath, [join(ROOT, 'bin/ganwatch.js'), 'serve', '--help'], {
    cwd: ROOT,
    encoding: 'utf8',
  }).stdout;
  const example = readFileSync(join(ROOT, 'deploy/ganwatch.env.example'), 'utf8');
  assert.match(example, /^GANWATCH_TOKEN=\S+$/m, 'the token is set, not commented out');
  for (const [, name] of example.matchAll(/^#?\s*(GANWATCH_[A-Z_]+)=/gm))
    assert.ok(help.includes(name!), `${name} is a server setting`);
});
