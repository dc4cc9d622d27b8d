// The alert-rule template (server/alerts/detectors/_template.ts) as a specification of "how to add a rule": it is not
// a live rule, and a copy of its source with its rule renamed, registered next to the real rules, is a working rule:
// listed, configurable, firing on encoder posterior collapse and resolving when the KL recovers, as its header says.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { DETECTOR_FACTORIES } from '../../server/alerts/registry.js';
import type { DetectorFactory, StepValues } from '../../server/alerts/types.js';
import { buildApp } from '../../server/app.js';
import type { Store } from '../../db/store.js';
import { describe, runDetector } from '../support/detector-harness.js';
import { openTestStore } from '../../harness/store.js';
import { Rng, steps } from '../support/streams.js';

const TEMPLATE = new URL('../../server/alerts/detectors/_template.ts', import.meta.url);
const COPY_RULE = 'kl_collapse_copy';
const TEMPLATE_RULE = /const RULE = '([a-z_]+)';/;

let dir: string;
let copy: DetectorFactory;

/**
 * Step 1 and 2 of the template's "how to add": its source copied to a new module with its rule renamed. The copy lives
 * in a temporary folder, so its relative imports are pointed at the modules the template imports.
 */
async function copyTemplate(rule: string): Promise<DetectorFactory> {
  const source = readFileSync(TEMPLATE, 'utf8');
  assert.match(source, TEMPLATE_RULE, 'the template names its rule in one constant');
  const renamed = source
    .replace(TEMPLATE_RULE, `const RULE = '${rule}';`)
    .replace(/from '(\.\.?\/[^']+)'/g, (_, spec: string) => `from '${new URL(spec, TEMPLATE).href}'`);
  const file = join(dir, `${rule}.ts`);
  writeFileSync(file, renamed);
  const module: Record<string, unknown> = await import(pathToFileURL(file).href);
  const factories = Object.values(module).filter(
    (e): e is DetectorFactory => typeof (e as Partial<DetectorFactory> | null)?.create === 'function',
  );
  assert.equal(factories.length, 1, 'the copy exports one detector factory');
  return factories[0]!;
}

/** KL per latent dimension (terms = 64) healthy at 0.5 nats, collapsed to 0.002 in [from, to), healthy again after. */
function collapseStream(n: number, from: number, to: number, seed = 1): Iterable<StepValues> {
  const rng = new Rng(seed);
  return steps(n, (t) => ({ 'loss/KL': 64 * (t >= from && t < to ? 0.002 : 0.5) * Math.exp(0.1 * rng.normal()) }));
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ganwatch-rule-copy-'));
  copy = await copyTemplate(COPY_RULE);
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('the template is no live rule: the registry does not hold it', async () => {
  const source = readFileSync(TEMPLATE, 'utf8');
  const rule = TEMPLATE_RULE.exec(source)![1]!;
  assert.ok(!DETECTOR_FACTORIES.some((f) => f.rule === rule));
  const registry = readFileSync(fileURLToPath(new URL('../../server/alerts/registry.ts', import.meta.url)), 'utf8');
  assert.doesNotMatch(registry, /import .* from '\.\/detectors\/_template\.js'/);
});

test('a copy of the template fires INFO when the KL per dimension collapses and resolves once it recovers', () => {
  assert.equal(copy.rule, COPY_RULE);
  assert.equal(copy.defaults.enabled, false, 'a new rule starts disabled');
  for (const seed of [1, 2, 3]) {
    const r = runDetector(copy, collapseStream(6000, 2000, 4000, seed), { settings: { enabled: true } });
    const fired = r.firstFiring();
    assert.ok(fired, describe(r));
    // Warm-up long past; the EWMA (span 200) falls from 0.5 below 0.01 in ~390 points, then `for` = 4 evaluations of 25.
    assert.ok(fired.step >= 2350 && fired.step <= 2600, `fired at ${fired.step}`);
    assert.equal(fired.evaluation.severity, 'info');
    assert.deepEqual(fired.evaluation.remedy?.action, { action: 'scale_lambda', args: { name: 'kl', factor: 0.5 } });
    const resolved = r.into('resolved');
    assert.equal(resolved.length, 1, describe(r));
    assert.ok(resolved[0]!.step > 4000 && resolved[0]!.step <= 4300, `resolved at ${resolved[0]!.step}`);
  }
});

test('a copy of the template stays silent on a healthy KL', () => {
  const r = runDetector(copy, collapseStream(6000, Infinity, Infinity), { settings: { enabled: true } });
  assert.equal(r.into('firing').length, 0, describe(r));
});

// ---------------------------------------------------------------- registered in a server

let store: Store;
let app: FastifyInstance;

async function call(method: 'GET' | 'POST', url: string, payload?: unknown): Promise<{ status: number; body: any }> {
  const res = await app.inject({ method, url: `/api/v1${url}`, payload: payload as object | undefined });
  return { status: res.statusCode, body: res.json() };
}

before(async () => {
  store = await openTestStore();
  ({ app } = await buildApp({
    store,
    token: null,
    readToken: null,
    rateLimit: 0,
    detectors: [...DETECTOR_FACTORIES, copy],
  }));
});
after(async () => {
  await app?.close();
  await store?.close();
});

test('registered next to the real rules, the copy is listed with its parameters and raises and resolves a stored alert', async () => {
  const listed = (await call('GET', '/alerts/rules')).body.rules.find((r: any) => r.rule === COPY_RULE);
  assert.ok(listed, 'the rule listing names the copy');
  assert.equal(listed.defaults.params.enterBelow, 0.01);

  const created = await call('POST', '/runs', {
    name: 'posterior-collapse',
    alerts: { rules: { [COPY_RULE]: { enabled: true, params: { exitAbove: 0.03 } } } },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const run = created.body.id as string;
  const points = [...collapseStream(6000, 2000, 4000)].map((p) => ({
    step: p.step,
    values: Object.fromEntries(p.values),
  }));
  for (let i = 0; i < points.length; i += 2000) {
    const res = await call('POST', `/runs/${run}/points`, { points: points.slice(i, i + 2000) });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  }

  const alerts = (await call('GET', `/runs/${run}/alerts`)).body.alerts as any[];
  const mine = alerts.filter((a) => a.rule === COPY_RULE);
  assert.equal(mine.length, 1, JSON.stringify(alerts));
  assert.equal(mine[0].severity, 'info');
  assert.equal(mine[0].state, 'resolved');
  assert.ok(mine[0].step_opened >= 2350 && mine[0].step_opened <= 2500, `opened at ${mine[0].step_opened}`);
  assert.ok(mine[0].step_closed > 4000 && mine[0].step_closed <= 4300, `closed at ${mine[0].step_closed}`);
});
