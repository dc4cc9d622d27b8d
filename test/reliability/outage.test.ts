// Specification of a server outage: a real trainer keeps training while the server is down (8 s here; 60 s in
// `npm run bench -- outage`), the server comes back on a new port, the user tells the trainer through its
// --server-file, and nothing is lost; the run shows `disconnected` during the gap, `running` after, and a gap marker.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { outageScenario } from '../../bench/outage.js';
import { readServerFile, watchServerFile } from '../../clients/node/index.js';
import { tempDir } from '../../harness/server.js';

const OUTAGE_SECONDS = 8;

test('a trainer trains through an 8 s outage and a restart on a new port, and every step arrives exactly once', async () => {
  const r = await outageScenario(OUTAGE_SECONDS);
  const context = `\n${JSON.stringify({ ...r, trainerLog: undefined })}\n--- trainer\n${r.trainerLog.slice(-2000)}`;
  assert.equal(r.trainerExit, 0, context);
  assert.ok(r.stepsDuringOutage >= 3, `steps trained while the server was down: ${r.stepsDuringOutage}${context}`);
  assert.ok(r.noGap, `missing: ${r.missing.join(', ')}${context}`);
  assert.ok(r.finalStep > r.stepAtRestart, context);
  assert.equal(
    r.statusBeforeMove,
    'disconnected',
    'a restarted server shows the run disconnected until its trainer is back',
  );
  assert.equal(r.statusAfterMove, 'running');
  assert.equal(r.finalStatus, 'finished');
  assert.ok(r.gapMarker, `a gap marker was recorded${context}`);
  assert.ok(
    r.gapMarker.from <= r.killedAt && r.gapMarker.to >= r.restartedAt,
    `the marker spans the outage: ${JSON.stringify(r.gapMarker)}`,
  );
  assert.ok(r.gapMarker.seconds >= OUTAGE_SECONDS);
  assert.match(r.trainerLog, /server is now http:\/\/127\.0\.0\.1:\d+/);
});

test('a server file holds a bare URL or a GANWATCH_SERVER= line; comments, blanks and a missing file give nothing', () => {
  const dir = tempDir('ganwatch-server-file-');
  const file = join(dir, 'server');
  assert.equal(readServerFile(file), null);
  for (const [text, url] of [
    ['http://127.0.0.1:9090\n', 'http://127.0.0.1:9090'],
    ['# moved\n\nhttp://gpu-box:8080/\n', 'http://gpu-box:8080'],
    ['GANWATCH_TOKEN=x\nGANWATCH_SERVER=http://server:8080\n', 'http://server:8080'],
    ['export GANWATCH_SERVER="https://ganwatch.example.org"\n', 'https://ganwatch.example.org'],
    ['# nothing yet\n', null],
  ] as const) {
    writeFileSync(file, text);
    assert.equal(readServerFile(file), url, JSON.stringify(text));
  }
});

test('SIGHUP makes the trainer re-read its server file at once, and an unchanged URL is not reported again', () => {
  const dir = tempDir('ganwatch-server-file-');
  const file = join(dir, 'server');
  writeFileSync(file, 'http://127.0.0.1:8080\n');
  const seen: string[] = [];
  const watch = watchServerFile(file, 'http://127.0.0.1:8080', (url) => seen.push(url), 60_000);
  try {
    process.emit('SIGHUP', 'SIGHUP');
    assert.deepEqual(seen, []);
    writeFileSync(file, 'http://127.0.0.1:9191\n');
    process.emit('SIGHUP', 'SIGHUP');
    process.emit('SIGHUP', 'SIGHUP');
    assert.deepEqual(seen, ['http://127.0.0.1:9191']);
  } finally {
    watch.stop();
  }
});
