// The Python client (clients/python) in the Node test run: its constants and error codes agree with protocol/, and its
// own unittest suite (which starts real servers and trains real PyTorch models) passes. Needs /usr/bin/python3 (CI
// installs it with python3-numpy, python3-torch, python3-pip and python3-setuptools); without it these are skipped.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  API_PREFIX,
  ControlCommand,
  ERRORS,
  LAMBDAS,
  MAX_BODY_BYTES,
  MAX_CONTROL_POLL_WAIT_S,
  MAX_DISTRIBUTION_BUCKETS,
  MAX_DISTRIBUTIONS_PER_BATCH,
  DEFAULT_HISTOGRAM_BUCKETS,
  MAX_LATENT_CODES,
  MAX_LATENT_DIM,
  MAX_LATENT_LABEL,
  MAX_MEDIA_BYTES,
  MAX_MEDIA_META_CHARS,
  MAX_NOTES_CHARS,
  MAX_POINTS_PER_BATCH,
  MAX_VALUES_PER_POINT,
  MAX_WALL,
  METRIC_NAME_PATTERN,
  MediaKind,
  NETS,
  RUN_ID_PATTERN,
  RUN_STATUSES,
  gwError,
  type ErrorCode,
} from '../../protocol/index.js';
import { ROOT } from '../../harness/server.js';

const PYTHON = '/usr/bin/python3';
const CLIENT = join(ROOT, 'clients/python');
const skip = existsSync(PYTHON) ? false : `${PYTHON} is missing (apt-get install python3 python3-numpy python3-torch)`;
if (skip) console.log(`# clients-python: skipped: ${skip}`);

/** Runs Python code with the client importable and returns its stdout parsed as JSON. */
function python(code: string): any {
  const out = spawnSync(PYTHON, ['-c', code], { env: { ...process.env, PYTHONPATH: CLIENT }, encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  return JSON.parse(out.stdout);
}

test("the Python client's limits, patterns and names are the protocol's", { skip }, () => {
  const py = python(`
import json
from ganwatch import wire, controls, run
plain = {k: v for k in dir(wire) if k.isupper() and isinstance(v := getattr(wire, k), (int, float, str, tuple))}
print(json.dumps(plain | {
  "NETS": controls.NETS, "LAMBDAS": controls.LAMBDAS, "ACTIONS": sorted(controls.ARGS),
  "MAX_META_CHARS": run.MAX_META_CHARS}))`);
  assert.equal(py.MAX_POINTS_PER_BATCH, MAX_POINTS_PER_BATCH);
  assert.equal(py.MAX_BODY_BYTES, MAX_BODY_BYTES);
  assert.equal(py.MAX_MEDIA_BYTES, MAX_MEDIA_BYTES);
  assert.equal(py.MAX_LATENT_CODES, MAX_LATENT_CODES);
  assert.equal(py.MAX_LATENT_DIM, MAX_LATENT_DIM);
  assert.equal(py.MAX_VALUES_PER_POINT, MAX_VALUES_PER_POINT);
  assert.equal(py.MAX_DISTRIBUTION_BUCKETS, MAX_DISTRIBUTION_BUCKETS);
  assert.equal(py.MAX_DISTRIBUTIONS_PER_BATCH, MAX_DISTRIBUTIONS_PER_BATCH);
  assert.equal(py.DEFAULT_HISTOGRAM_BUCKETS, DEFAULT_HISTOGRAM_BUCKETS);
  assert.equal(py.MAX_WALL, MAX_WALL);
  assert.equal(py.MAX_LATENT_LABEL, MAX_LATENT_LABEL);
  assert.equal(py.MAX_NOTES_CHARS, MAX_NOTES_CHARS);
  assert.equal(py.MAX_META_CHARS, MAX_MEDIA_META_CHARS);
  assert.equal(py.METRIC_NAME_PATTERN, METRIC_NAME_PATTERN);
  assert.equal(py.RUN_ID_PATTERN, RUN_ID_PATTERN);
  assert.equal(py.MEDIA_KIND_PATTERN, (MediaKind as { pattern?: string }).pattern);
  assert.deepEqual(py.RUN_STATUSES, [...RUN_STATUSES]);
  assert.equal(py.API_PREFIX, API_PREFIX);
  assert.deepEqual(py.NETS, [...NETS]);
  assert.deepEqual(py.LAMBDAS, [...LAMBDAS]);
  const actions = (ControlCommand as unknown as { anyOf: Array<{ properties: { action: { const: string } } }> }).anyOf
    .map((variant) => variant.properties.action.const)
    .sort();
  assert.deepEqual(py.ACTIONS, actions);
  const pollWait = python(`
import json, inspect, ganwatch
print(json.dumps(inspect.signature(ganwatch.init).parameters["poll_wait"].default))`);
  assert.ok(pollWait <= MAX_CONTROL_POLL_WAIT_S);
});

test('every GW_ERR code the Python client raises is registered, with the same message', { skip }, () => {
  const sources = readdirSync(join(CLIENT, 'ganwatch'))
    .filter((f) => f.endsWith('.py'))
    .map((f) => readFileSync(join(CLIENT, 'ganwatch', f), 'utf8'))
    .join('\n');
  const used = new Set(sources.match(/GW_ERR_[A-Z_]+/g));
  assert.ok(used.size >= 5);
  for (const code of used) assert.ok(code in ERRORS, `${code} is not in protocol/errors.ts`);
  const messages = python(`
import json, ganwatch.errors as e
print(json.dumps({"GW_ERR_MONITOR_INPUT": e.InputError("D").message, "GW_ERR_OPTION": e.OptionError("D").message,
  "GW_ERR_SERVER": e.ServerError("U", "D").message, "GW_ERR_RUN_NOT_FOUND": e.RunNotFoundError("R").message,
  "GW_ERR_SPOOL": e.SpoolError("F", "D").message}))`) as Record<string, string>;
  const expected: Record<string, string[]> = {
    GW_ERR_MONITOR_INPUT: ['D'],
    GW_ERR_OPTION: ['D'],
    GW_ERR_SERVER: ['U', 'D'],
    GW_ERR_RUN_NOT_FOUND: ['R'],
    GW_ERR_SPOOL: ['F', 'D'],
  };
  for (const [code, args] of Object.entries(expected)) {
    const node = (gwError as (c: ErrorCode, ...a: string[]) => Error)(code as ErrorCode, ...args).message;
    assert.equal(messages[code], node, code);
  }
});

test("the Python client's own test suite passes against real servers", { skip }, async () => {
  const child = spawn(PYTHON, ['-m', 'unittest', 'discover', '-s', join(CLIENT, 'tests')], {
    cwd: ROOT,
    env: { ...process.env, NODE: process.execPath, PYTHONPATH: '', PYTHONDONTWRITEBYTECODE: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 0, `python -m unittest failed:\n${output.slice(-20_000)}`);
  const ran = /Ran (\d+) tests?/.exec(output);
  assert.ok(ran && Number(ran[1]) >= 90, `expected the whole suite to run:\n${output.slice(-2000)}`);
  console.log(`# clients-python: ${ran[0]}${/skipped=(\d+)/.exec(output)?.[0] ?? ''}`);
});
