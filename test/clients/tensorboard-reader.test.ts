// The TensorBoard importer's reading side, without a server: TFRecord framing and its CRC32C checks on files written by
// real writers and on records the tests corrupt, event decoding of every value kind, and the tag → name mapping.
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crc32c } from '@node-rs/crc32';
import { decodeEvent, encodeEvent, halfToNumber } from '../../importers/tensorboard/events.js';
import { findRuns } from '../../importers/tensorboard/logdir.js';
import { mediaKindOf, metricNameOf } from '../../importers/tensorboard/names.js';
import { frameRecords, readChunks, type RecordSpan } from '../../importers/tensorboard/reader.js';
import { ROOT, tempDir } from '../../harness/server.js';
import {
  histogramSummary,
  imageSummary,
  imageTensor,
  pluginValue,
  png,
  records,
  simpleScalar,
  tensorScalar,
  textSummary,
} from '../../harness/tfevents.js';

const FIXTURES = join(ROOT, 'test/fixtures/tfevents');
const RECORD_COUNTS: Record<string, number> = {
  lingvo: 361,
  'tensorboard-reducer/duplicate_steps/run_1': 421,
  'tensorboard-reducer/lax/run_1': 331,
  'wandb/complex': 785,
  'wandb/keras': 105,
  'wandb/simple': 4,
};

const final = { atEnd: true, growing: false };

function tenScalars(): Buffer {
  return records(Array.from({ length: 10 }, (_, i) => simpleScalar(i, 1_700_000_000 + i, 'loss', i / 2)));
}

/** File offsets of each record in a buffer of records. */
function offsets(buf: Buffer): number[] {
  return frameRecords(buf, 0, final).records.map((r) => r.offset);
}

test('CRC32C is the Castagnoli CRC (check value of "123456789" is 0xE3069283)', () => {
  assert.equal(crc32c(Buffer.from('123456789')), 0xe3069283);
});

test('every record of the files written by TensorFlow, PyTorch and Keras passes both CRC checks', () => {
  const runs = findRuns(FIXTURES);
  assert.deepEqual(runs.map((r) => r.name).sort(), Object.keys(RECORD_COUNTS).sort());
  for (const run of runs) {
    const path = join(run.dir, run.files[0]!);
    const buf = readFileSync(path);
    const framed = frameRecords(buf, 0, final);
    assert.deepEqual(framed.problems, [], path);
    assert.equal(framed.records.length, RECORD_COUNTS[run.name], path);
    assert.equal(framed.next, buf.length);
  }
});

test('a record whose data CRC is wrong is reported at its offset and skipped; the records after it are read', () => {
  const buf = tenScalars();
  const at = offsets(buf);
  buf[at[4]! + 12 + 3]! ^= 0xff; // a byte of record 4's data
  const framed = frameRecords(buf, 1000, final);
  assert.deepEqual(
    framed.problems.map((p) => [p.kind, p.offset]),
    [['corrupt-data', 1000 + at[4]!]],
  );
  assert.equal(framed.records.length, 9);
  assert.equal(framed.next, 1000 + buf.length);
});

test('a record whose length CRC is wrong is reported once and reading resumes at the next valid record', () => {
  const buf = tenScalars();
  const at = offsets(buf);
  buf[at[6]! + 9]! ^= 0x01; // the length's CRC of record 6
  const framed = frameRecords(buf, 0, final);
  assert.deepEqual(
    framed.problems.map((p) => [p.kind, p.offset]),
    [['corrupt-length', at[6]]],
  );
  assert.match(framed.problems[0]!.detail, new RegExp(`resumed at the next valid record, byte ${at[7]}`));
  assert.deepEqual(
    framed.records.map((r) => r.offset),
    at.filter((_, i) => i !== 6),
  );
});

test('an incomplete last record is reported as truncated in a finished file, and the cursor stays at its start', () => {
  const buf = tenScalars();
  const at = offsets(buf);
  const cut = buf.subarray(0, at[9]! + 15);
  const framed = frameRecords(cut, 0, final);
  assert.equal(framed.records.length, 9);
  assert.deepEqual(
    framed.problems.map((p) => [p.kind, p.offset]),
    [['truncated', at[9]]],
  );
  assert.equal(framed.next, at[9]);
});

test('an incomplete last record of a growing file is waited for, not reported, and read once it is complete', () => {
  const buf = tenScalars();
  const at = offsets(buf);
  for (const cutAt of [at[9]! + 5, at[9]! + 12, at[9]! + 20, buf.length - 1]) {
    const framed = frameRecords(buf.subarray(0, cutAt), 0, { atEnd: true, growing: true });
    assert.deepEqual(framed.problems, [], `cut at ${cutAt}`);
    assert.equal(framed.records.length, 9);
    assert.equal(framed.next, at[9]);
    const rest = frameRecords(buf.subarray(framed.next), framed.next, { atEnd: true, growing: true });
    assert.deepEqual(
      rest.records.map((r) => r.offset),
      [at[9]],
    );
  }
});

test('reading a file in chunks smaller than its records gives the same records as one read', async () => {
  const path = join(FIXTURES, 'wandb/simple/events.out.tfevents.111.simple.localdomain');
  const whole = frameRecords(readFileSync(path), 0, final).records;
  const chunked: RecordSpan[] = [];
  let last = 0;
  for await (const chunk of readChunks(path, { offset: 0, resyncing: false }, false, 100)) {
    assert.deepEqual(chunk.problems, []);
    chunked.push(...chunk.records);
    last = chunk.cursor.offset;
  }
  assert.deepEqual(
    chunked.map((r) => [r.offset, r.data.length]),
    whole.map((r) => [r.offset, r.data.length]),
  );
  assert.equal(last, statSync(path).size);
});

test('a file shorter than its cursor (rewritten by its writer) is read again from byte 0', async () => {
  const path = join(tempDir(), 'events.out.tfevents.1');
  writeFileSync(path, tenScalars());
  const chunks = [];
  for await (const chunk of readChunks(path, { offset: 1_000_000, resyncing: false }, false)) chunks.push(chunk);
  assert.equal(chunks[0]!.restarted, true);
  assert.equal(chunks[0]!.records.length, 10);
});

function decodeOne(event: Record<string, unknown>, plugins = new Map<string, string>()) {
  return decodeEvent(encodeEvent(event), plugins);
}

test('TF2 rank-0 tensors of float, double, half, bfloat16, int32 and int64 decode to their values', () => {
  const cases = [
    { dtype: 'float', value: 0.375 },
    { dtype: 'double', value: 1e-300 },
    { dtype: 'half', value: -2.5 },
    { dtype: 'bfloat16', value: 3.0 },
    { dtype: 'int32', value: -7 },
    { dtype: 'int64', value: 2 ** 40 },
  ] as const;
  for (const raw of [false, true]) {
    for (const c of cases) {
      const decoded = decodeOne(tensorScalar(3, 1_700_000_000.25, 'x', { ...c, raw }, true));
      assert.deepEqual(decoded.items, [{ kind: 'scalar', tag: 'x', value: c.value }], `${c.dtype} raw=${raw}`);
      assert.equal(decoded.step, 3);
      assert.equal(decoded.wall, 1_700_000_000.25);
    }
  }
});

test('binary16 decoding covers subnormals, infinities and NaN', () => {
  assert.equal(halfToNumber(0x0001), 2 ** -24);
  assert.equal(halfToNumber(0x7c00), Infinity);
  assert.equal(halfToNumber(0xfc00), -Infinity);
  assert.ok(Number.isNaN(halfToNumber(0x7e00)));
  assert.equal(halfToNumber(0x3c00), 1);
});

test("a tag's plugin, declared only on its first value, applies to its later values", () => {
  const plugins = new Map<string, string>();
  decodeOne(pluginValue(0, 1, 'hp', 'hparams'), plugins);
  const later = decodeOne(
    {
      step: 1,
      wall_time: 2,
      summary: { value: [{ tag: 'hp', tensor: { dtype: 1, tensor_shape: {}, float_val: [1] } }] },
    },
    plugins,
  );
  assert.deepEqual(later.items, [{ kind: 'skipped', tag: 'hp', what: 'hparams plugin values' }]);
  const scalarLater = decodeOne(tensorScalar(1, 2, 's', { dtype: 'float', value: 1 }, false), plugins);
  assert.deepEqual(scalarLater.items, [{ kind: 'scalar', tag: 's', value: 1 }]);
});

test('images decode from TF1 Summary.Image and from TF2 image tensors; a non-PNG image is skipped', () => {
  const a = png(4, 4, 1);
  const b = png(4, 4, 2);
  const tf1 = decodeOne(imageSummary(5, 1, 'fake', a));
  assert.deepEqual(tf1.items, [{ kind: 'image', tag: 'fake', index: 0, png: a }]);
  const tf2 = decodeOne(imageTensor(5, 1, 'grid', [a, b], true));
  assert.deepEqual(tf2.items, [
    { kind: 'image', tag: 'grid', index: 0, png: a },
    { kind: 'image', tag: 'grid', index: 1, png: b },
  ]);
  const jpeg = decodeOne(imageSummary(5, 1, 'photo', Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 6])));
  assert.deepEqual(jpeg.items, [{ kind: 'skipped', tag: 'photo', what: 'non-PNG images' }]);
});

test('text decodes as UTF-8; histograms and graphs are named for the skipped summary', () => {
  assert.deepEqual(decodeOne(textSummary(2, 1, 'notes', 'λ = 10 ✓')).items, [
    { kind: 'text', tag: 'notes', text: 'λ = 10 ✓' },
  ]);
  assert.deepEqual(decodeOne(histogramSummary(2, 1, 'w')).items, [{ kind: 'skipped', tag: 'w', what: 'histograms' }]);
  assert.deepEqual(decodeOne({ step: 0, wall_time: 1, graph_def: Buffer.from([1]) }).items, [
    { kind: 'skipped', tag: null, what: 'graphs' },
  ]);
  assert.deepEqual(decodeOne({ step: 0, wall_time: 1, file_version: 'brain.Event:2' }).items, []);
});

test('a negative step is flagged as one ganwatch cannot store', () => {
  assert.equal(decodeOne(simpleScalar(-1, 1, 'x', 1)).step, null);
});

test('valid tags are metric names as they are; others are mapped deterministically', () => {
  assert.equal(metricNameOf('loss/D_real-acc.v2'), 'loss/D_real-acc.v2');
  assert.equal(metricNameOf('bleu/split:dev'), 'bleu/split_dev');
  assert.equal(metricNameOf('Loss D (real)'), 'Loss_D__real_');
  assert.equal(metricNameOf('λ'), '_');
  assert.equal(metricNameOf(''), '_');
  const long = `${'a'.repeat(200)}:`;
  const mapped = metricNameOf(long);
  assert.equal(mapped.length, 128);
  assert.match(mapped, /^a{119}-[0-9a-f]{8}$/);
  assert.notEqual(metricNameOf(`${'a'.repeat(200)}:b`), mapped);
  assert.equal(metricNameOf(long), mapped);
});

test('image tags become media kinds; the --samples-tag tag becomes the samples kind', () => {
  assert.equal(mediaKindOf('GAN/fake images', 0, null), 'GAN.fake_images');
  assert.equal(mediaKindOf('GAN/fake images', 2, null), 'GAN.fake_images.2');
  assert.equal(mediaKindOf('val/grid', 0, 'val/grid'), 'samples');
  assert.equal(mediaKindOf('x'.repeat(100), 1, null).length, 64);
});
