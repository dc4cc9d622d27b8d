// The projection-method template (server/projections/methods/_template.ts) as a specification of "how to add a
// method": it is not registered, and a copy of its source with its name changed, registered next to the real
// methods, is accepted by the registry's validation and computed by the worker's job function (in-process).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { runJob, type JobRequest } from '../../server/projections/jobs.js';
import {
  methodParams,
  PROJECTION_METHODS,
  type PreviousProjection,
  type ProjectionMethod,
  type ProjectionMethods,
} from '../../server/projections/methods/index.js';
import { clusters } from '../../harness/clusters.js';

const TEMPLATE = new URL('../../server/projections/methods/_template.ts', import.meta.url);
const TEMPLATE_NAME = /name: '([a-z0-9_]+)',/;
const COPY = 'random_copy';

let dir: string;
let copy: ProjectionMethod;
let methods: ProjectionMethods;

/** Steps 1–2 of the template: its source in a new module under a new name (relative imports pointed back). */
async function copyTemplate(name: string): Promise<ProjectionMethod> {
  const source = readFileSync(TEMPLATE, 'utf8');
  assert.match(source, TEMPLATE_NAME, 'the template names its method once');
  const renamed = source
    .replace(TEMPLATE_NAME, `name: '${name}',`)
    .replace(/from '(\.\.?\/[^']+)'/g, (_, spec: string) => `from '${new URL(spec, TEMPLATE).href}'`);
  const file = join(dir, `${name}.ts`);
  writeFileSync(file, renamed);
  const module: Record<string, unknown> = await import(pathToFileURL(file).href);
  const found = Object.values(module).filter(
    (e): e is ProjectionMethod => typeof (e as Partial<ProjectionMethod> | null)?.project === 'function',
  );
  assert.equal(found.length, 1, 'the copy exports one method');
  return found[0]!;
}

function job(codes: Float32Array, labels: Int32Array, previous: PreviousProjection | null = null): JobRequest {
  return { id: 1, kind: 'project', method: COPY, codes, dim: 8, labels, previous, seed: 3 };
}

function projected(reply: ReturnType<typeof runJob>) {
  assert.ok(reply.ok, reply.ok ? '' : reply.error);
  assert.equal(reply.kind, 'project');
  return reply.result;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ganwatch-method-copy-'));
  copy = await copyTemplate(COPY);
  methods = PROJECTION_METHODS.with(copy);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the template is no live method: the registry refuses its name, naming the methods it has', () => {
  const name = TEMPLATE_NAME.exec(readFileSync(TEMPLATE, 'utf8'))![1]!;
  assert.deepEqual(PROJECTION_METHODS.names, ['tsne', 'pca', 'umap']);
  assert.throws(() => PROJECTION_METHODS.get(name), { code: 'GW_ERR_PROJECTION_METHOD', message: /tsne, pca, umap$/ });
  const { codes, labels } = clusters(60, 8, 3, 4, 1);
  const reply = runJob(job(codes, labels));
  assert.ok(!reply.ok && /Unknown projection method 'random_copy'/.test(reply.error));
});

test('registered, a copy is accepted by validation: its name, its limit, its parameters', () => {
  assert.equal(methods.get(COPY), copy);
  assert.deepEqual(methods.names, ['tsne', 'pca', 'umap', COPY]);
  assert.equal(methods.limits[COPY], 20_000);
  assert.throws(() => methods.get('isomap'), { message: /known methods: tsne, pca, umap, random_copy/ });
  assert.deepEqual(methodParams(copy, { density: 0.5 }), { density: 0.5 });
  assert.throws(() => methodParams(copy, { density: 0 }), /density must be in \(0, 1\]/);
  assert.throws(() => methodParams(copy, { densty: 0.5 }), /has no parameter 'densty'; its parameters: density/);
  assert.throws(() => PROJECTION_METHODS.with(copy, copy), /registered twice/);
});

test('the worker computes a copy: a centred, linear, seeded 2-D layout of every code', () => {
  const { codes, labels } = clusters(300, 8, 4, 6, 2);
  const r = projected(runJob(job(codes, labels), methods));
  assert.equal(r.xy.length, 600);
  assert.equal(r.indices, null);
  assert.deepEqual(r.params.density, 1);
  assert.equal((r.params.continuity as { start: string }).start, 'fresh');
  for (let c = 0; c < 2; c++) {
    const mean = Array.from({ length: 300 }, (_, i) => r.xy[2 * i + c]!).reduce((a, b) => a + b) / 300;
    assert.ok(Math.abs(mean) < 1e-3, `axis ${c} centred: ${mean}`);
  }
  // Linear: codes twice as far apart give a layout twice as large; the same seed gives the same axes.
  const doubled = projected(
    runJob(
      job(
        codes.map((v) => 2 * v),
        labels,
      ),
      methods,
    ),
  );
  for (let i = 0; i < 600; i++) assert.ok(Math.abs(doubled.xy[i]! - 2 * r.xy[i]!) < 1e-3 * (1 + Math.abs(r.xy[i]!)));
  const spread = Math.hypot(...r.xy);
  assert.ok(spread > 1, `not degenerate: ${spread}`);
});

test('the next epoch of a copy is rotated onto the previous layout and says so', () => {
  const { codes, labels } = clusters(200, 8, 4, 6, 5);
  const first = projected(runJob(job(codes, labels), methods));
  const previous: PreviousProjection = {
    epoch: 1,
    sourceCount: 200,
    xy: first.xy,
    indices: null,
    labels,
    params: first.params,
  };
  const moved = codes.map((v, i) => v + 0.05 * Math.sin(i));
  const second = projected(runJob(job(moved, labels, previous), methods));
  assert.equal(second.aligned, 'procrustes');
  assert.equal(second.params.aligned_to, 1);
  assert.match((second.params.continuity as { reason: string }).reason, /computed afresh every epoch/);
});
