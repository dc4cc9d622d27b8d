// The monitor client's on-disk spool: replay, settlement by acks, compaction, locking.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { Spool, type SpoolRunInfo } from '../../clients/node/spool.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gw-spool-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

let folders = 0;
function freshDir(): string {
  return path.join(root, `s${folders++}`);
}

function runInfo(key: string, server: string | null = key): SpoolRunInfo {
  return { key, server, create: server === null ? { name: 'offline run' } : null, createdAt: 1_700_000_000 };
}

function pointsFrame(seq: number, steps: number[]): string {
  return JSON.stringify({
    type: 'points',
    seq,
    points: steps.map((step) => ({ step, wall: 1, values: { loss: step / 10 } })),
  });
}

function appendPoints(spool: Spool, steps: number[]): number {
  const seq = spool.takeSeq();
  spool.appendFrame(seq, 'points', steps.length, pointsFrame(seq, steps));
  return seq;
}

test('replay ignores a torn last line and later appends start on a fresh line', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r1'));
  appendPoints(spool, [0, 1]);
  appendPoints(spool, [2, 3]);
  spool.close();
  const log = path.join(dir, 'r1', 'log.jsonl');
  // A crash in the middle of writing the third frame leaves half a line.
  fs.appendFileSync(log, pointsFrame(2, [4, 5]).slice(0, 25));

  const reopened = Spool.open(dir, 'r1');
  assert.deepEqual(
    reopened.pendingFrames().map((f) => f.seq),
    [0, 1],
  );
  assert.equal(reopened.replay.tornBytes, 25);
  assert.equal(reopened.nextSeq, 2);
  const seq = appendPoints(reopened, [4, 5]);
  reopened.close();

  const again = Spool.open(dir, 'r1');
  assert.deepEqual(
    again.pendingFrames().map((f) => f.seq),
    [0, 1, seq],
  );
  assert.equal(again.replay.corruptLines, 0);
  assert.equal(again.readFrame(again.pendingFrames()[2]!), pointsFrame(seq, [4, 5]));
  again.close();
});

test('a garbled line in the middle of the log is skipped and the rest replays', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r2'));
  appendPoints(spool, [0]);
  spool.close();
  const log = path.join(dir, 'r2', 'log.jsonl');
  fs.appendFileSync(log, '\0\0\0garbage\n');
  const reopened = Spool.open(dir, 'r2');
  appendPoints(reopened, [1]);
  reopened.close();

  const again = Spool.open(dir, 'r2');
  assert.deepEqual(
    again.pendingFrames().map((f) => f.seq),
    [0, 1],
  );
  assert.equal(again.replay.corruptLines, 1);
  again.close();
});

test('after interleaved appends, acks and rejections exactly the unsettled frames remain, in seq order', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r3'));
  const seqs = Array.from({ length: 10 }, (_, i) => appendPoints(spool, [i]));
  spool.appendAck([seqs[3]!, seqs[1]!]);
  const status = spool.takeSeq();
  spool.appendFrame(status, 'status', 0, JSON.stringify({ type: 'status', seq: status, status: 'finished' }));
  spool.appendAck([seqs[0]!]);
  spool.appendReject(seqs[7]!, 'GW_ERR_FRAME_INVALID', 'bad point');
  spool.appendAck([seqs[9]!, 999]);
  const expected = [2, 4, 5, 6, 8, status];
  assert.deepEqual(
    spool.pendingFrames().map((f) => f.seq),
    expected,
  );
  spool.close();

  const reopened = Spool.open(dir, 'r3');
  assert.deepEqual(
    reopened.pendingFrames().map((f) => f.seq),
    expected,
  );
  assert.deepEqual(
    reopened.pendingFrames().map((f) => [f.kind, f.points]),
    expected.map((s) => (s === status ? ['status', 0] : ['points', 1])),
  );
  for (const frame of reopened.pendingFrames()) {
    assert.equal(JSON.parse(reopened.readFrame(frame)).seq, frame.seq);
  }
  reopened.close();
});

test('uploads stay pending until settled and their payloads read back byte for byte', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r4'));
  const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
  const media = spool.appendUpload({ kind: 'media', epoch: 5, step: 100, mediaKind: 'samples' }, png);
  const latents = spool.appendUpload({ kind: 'latents', epoch: 5, count: 1 }, '{"epoch":5,"dim":1,"codes":[[0.5]]}');
  spool.appendUploadDone(media.id, true);
  spool.close();

  const reopened = Spool.open(dir, 'r4');
  const pending = reopened.pendingUploads();
  assert.deepEqual(
    pending.map((u) => u.id),
    [latents.id],
  );
  assert.equal(reopened.readUploadPayload(pending[0]!).toString(), '{"epoch":5,"dim":1,"codes":[[0.5]]}');
  assert.equal(fs.existsSync(path.join(dir, 'r4', media.file)), false);
  reopened.close();
});

test('compaction waits until nothing is pending, then leaves one header line that keeps counters and binding', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('local1', null));
  const a = appendPoints(spool, [0, 1, 2]);
  const b = appendPoints(spool, [3]);
  const up = spool.appendUpload({ kind: 'latents', epoch: 0, count: 1 }, '{}');
  spool.bind('abc123');
  spool.appendAck([a]);
  assert.equal(spool.compact(), false);
  spool.appendAck([b]);
  assert.equal(spool.compact(), false);
  spool.appendUploadDone(up.id, false, 'GW_ERR_LATENT_SHAPE', 'bad');
  const before = spool.bytes;
  assert.equal(spool.compact(), true);
  assert.ok(spool.bytes < before);
  // The folder keeps working after compaction.
  const c = appendPoints(spool, [4]);
  spool.close();

  const text = fs.readFileSync(path.join(dir, 'local1', 'log.jsonl'), 'utf8');
  assert.equal(text.trimEnd().split('\n').length, 2);
  const reopened = Spool.open(dir, 'local1');
  assert.equal(reopened.run.server, 'abc123');
  assert.deepEqual(
    reopened.pendingFrames().map((f) => f.seq),
    [c],
  );
  assert.equal(c, 2);
  assert.equal(reopened.nextSeq, 3);
  const next = reopened.appendUpload({ kind: 'latents', epoch: 1, count: 1 }, '{}');
  assert.equal(next.id, up.id + 1);
  assert.deepEqual(
    fs.readdirSync(path.join(dir, 'local1')).filter((f) => f.startsWith('u-')),
    [next.file],
  );
  reopened.close();
});

test('a run first made offline is found by the server id it was later bound to', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('local2', null));
  spool.bind('srv42');
  spool.close();
  assert.equal(Spool.find(dir, 'srv42'), 'local2');
  assert.equal(Spool.find(dir, 'local2'), 'local2');
  assert.equal(Spool.find(dir, 'nothere'), null);
  assert.deepEqual(Spool.list(dir), ['local2']);
});

test('a folder in use by a live process cannot be opened; a stale lock is taken over', async () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r5'));
  assert.throws(() => Spool.open(dir, 'r5'), /in use by this process/);
  spool.close();

  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
  try {
    fs.writeFileSync(path.join(dir, 'r5', 'lock'), String(child.pid));
    assert.throws(
      () => Spool.open(dir, 'r5'),
      (err: Error) => /GW_ERR_SPOOL|in use by process/.test(`${(err as { code?: string }).code} ${err.message}`),
    );
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  // The process that held the lock is gone: the lock is stale.
  const reopened = Spool.open(dir, 'r5');
  reopened.close();
  assert.equal(fs.existsSync(path.join(dir, 'r5', 'lock')), false);
});

test('frames larger than the replay read chunk come back intact', () => {
  const dir = freshDir();
  const spool = Spool.create(dir, runInfo('r6'));
  const steps = Array.from({ length: 60_000 }, (_, i) => i);
  appendPoints(spool, [0]);
  const big = appendPoints(spool, steps);
  appendPoints(spool, [1]);
  spool.close();
  const reopened = Spool.open(dir, 'r6');
  const frames = reopened.pendingFrames();
  assert.deepEqual(
    frames.map((f) => f.points),
    [1, steps.length, 1],
  );
  assert.ok(frames[1]!.length > 2 * 1024 * 1024);
  assert.equal(reopened.readFrame(frames[1]!), pointsFrame(big, steps));
  assert.equal(reopened.replay.corruptLines, 0);
  reopened.close();
});
