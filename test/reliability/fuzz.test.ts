// Specification of bad input at volume: a seeded fuzzer sends over 10,000 malformed HTTP requests and WebSocket frames
// (wrong types, missing fields, huge numbers, deep nesting, enormous strings, invalid UTF-8, binary frames, unknown
// message types, path-like and SQL-like names, oversized bodies, bad tokens) within a time bound. Every request gets a
// 4xx with a code and a message, every frame an error frame (or, for bytes a WebSocket may not carry, a protocol
// close), the server never answers 5xx nor dies, and every table of the database is byte-for-byte what it was.
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, test } from 'node:test';
import WebSocket from 'ws';
import { tableDigests } from '../../db/maintenance.js';
import { api, startServer, type RunningServer } from '../../harness/server.js';
import { mulberry32 } from '../support/streams.js';

const SEED = Number(process.env.GANWATCH_FUZZ_SEED ?? 20261127);
const HTTP_CASES = 7_500;
const INGEST_FRAMES = 2_400;
const LIVE_FRAMES = 600;
// A hang guard, not a speed requirement: the counts above bound the test; a loaded machine only makes it slower.
const TIME_LIMIT_MS = 600_000;
const CONCURRENCY = 12;
const TOKEN = 'fuzz-token';

// ------------------------------------------------------------------ seeded randomness

const random = mulberry32(SEED);
const int = (lo: number, hi: number): number => lo + Math.floor(random() * (hi - lo + 1));
const chance = (p: number): boolean => random() < p;
function pick<T>(items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

// ------------------------------------------------------------------ junk

const NASTY_STRINGS = [
  '',
  ' ',
  '../../../../etc/passwd',
  '..\\..\\windows\\system32',
  "x'; DROP TABLE points;--",
  '1 OR 1=1',
  '" OR ""="',
  '%00',
  '\u0000',
  '\u202e\u0644\u0645',
  '😀💥',
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  'NaN',
  'Infinity',
  '-0',
  '__proto__',
  'constructor',
];
const HUGE_NUMBERS = [1e308, -1e308, 2 ** 53 + 2, -(2 ** 63), 1.5, -1, 0.000001, 4294967296, 1e21];

function enormous(): string {
  return 'A'.repeat(pick([1_000, 70_000, 300_000, 1_200_000]));
}

/** A value of a random kind: strings (some nasty, some enormous), huge numbers, booleans, null, arrays, objects. */
function junk(depth = 0): unknown {
  switch (int(0, depth > 2 ? 5 : 7)) {
    case 0:
      return pick(NASTY_STRINGS);
    case 1:
      return chance(0.1) ? enormous() : pick(NASTY_STRINGS) + String(int(0, 999));
    case 2:
      return pick(HUGE_NUMBERS);
    case 3:
      return chance(0.5);
    case 4:
      return null;
    case 5:
      return int(-5, 5);
    case 6:
      return Array.from({ length: int(0, 4) }, () => junk(depth + 1));
    default:
      return Object.fromEntries(
        Array.from({ length: int(0, 4) }, () => [pick(NASTY_STRINGS) + int(0, 9), junk(depth + 1)]),
      );
  }
}

/** A value that is not a string (for fields that must be strings). */
const notString = (): unknown => pick<unknown>([42, -1, 1e308, true, null, [], ['a'], {}, { a: 1 }]);
const notInteger = (): unknown => pick<unknown>([-1, 1.5, '3', null, true, [], {}, 1e300, 2 ** 53 + 2, -1e-9, 'NaN']);
const notObject = (): unknown => pick<unknown>([[], [1], 'x', 42, null, true]);
const notArray = (): unknown => pick<unknown>([{}, 'x', 42, null, true, { 0: 'a' }]);
const badMetricName = (): string =>
  pick(['', 'a b', "x';--", 'loss\u0000', 'ü', 'a'.repeat(129), 'a:b', 'a,b', 'a"b', '😀', '%2e%2e']);
const badRunId = (): string =>
  // (Not '..' or '%2e%2e': URL parsers resolve those as dot segments before anything is sent.)
  pick([
    '..%2F..%2Fetc%2Fpasswd',
    "1'%20OR%20'1'='1",
    'A'.repeat(40),
    'UPPER',
    '%00',
    '%F0%9F%98%80',
    'a%20b',
    '-1',
    'x'.repeat(33),
    '...',
    '.%2F.',
  ]);

/** Nested arrays deeper than any body may be (the server refuses past 64 levels). */
function deepText(depth: number): string {
  return '['.repeat(depth) + '1' + ']'.repeat(depth);
}

// ------------------------------------------------------------------ HTTP cases

type Body = Record<string, unknown>;
interface HttpCase {
  kind: string;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

let RUN = '';
let FINISHED = '';

function breakRunBody(body: Body, patch: boolean): string {
  const breakers: Array<[string, () => void]> = [
    ['name wrong type', () => (body.name = notString())],
    ['name too long', () => (body.name = 'n'.repeat(int(201, 5000)))],
    ['name empty', () => (body.name = '')],
    ['unknown field', () => (body[pick(['colour', '__x', 'id', 'rid', "'; DROP TABLE runs;--"])] = junk())],
    ['tags not an array', () => (body.tags = notArray())],
    ['tag not a string', () => (body.tags = [notString()])],
    ['tag with control character', () => (body.tags = ['a\u0001b'])],
    ['duplicate tags', () => (body.tags = ['a', 'a'])],
    ['too many tags', () => (body.tags = Array.from({ length: 65 }, (_, i) => `t${i}`))],
    ['config not an object', () => (body.config = notObject())],
    ['config key too long', () => (body.config = { ['k'.repeat(201)]: 1 })],
    ['notes too long', () => (body.notes = 'x'.repeat(20_001))],
    ['notes wrong type', () => (body.notes = notString())],
    ['backend wrong type', () => (body.backend = notString())],
    ['host too long', () => (body.host = 'h'.repeat(201))],
  ];
  if (patch) {
    breakers.push(['status not a status', () => (body.status = pick(['exploded', 'RUNNING', '', 42, null]))]);
    breakers.push(['empty patch', () => Object.keys(body).forEach((k) => delete body[k])]);
  } else {
    breakers.push(['name missing', () => delete body.name]);
    breakers.push(['status on create', () => (body.status = 'finished')]);
    breakers.push(['alerts config junk', () => (body.alerts = { rules: { [pick(['BAD RULE', 'x-y'])]: {} } })]);
  }
  const [kind, apply] = pick(breakers);
  apply();
  return kind;
}

function validPoint(): Body {
  return { step: int(0, 1000), values: { [`m${int(0, 3)}`]: random() } };
}

function breakPoints(body: Body): string {
  const points = Array.from({ length: int(1, 5) }, validPoint);
  body.points = points;
  const target = pick(points);
  const breakers: Array<[string, () => void]> = [
    ['points not an array', () => (body.points = notArray())],
    ['points empty', () => (body.points = [])],
    [
      'too many points',
      () => (body.points = Array.from({ length: 10_001 }, (_, i) => ({ step: i, values: { a: 1 } }))),
    ],
    ['step not a non-negative integer', () => (target.step = notInteger())],
    ['step missing', () => delete target.step],
    ['values missing', () => delete target.values],
    ['values empty', () => (target.values = {})],
    ['values not an object', () => (target.values = notObject())],
    ['bad metric name', () => (target.values = { [badMetricName()]: 1 })],
    [
      'value not a number',
      () => (target.values = { a: pick<unknown>(['high', 'nan', 'inf', '', null, true, [1], { v: 1 }, '1e3']) }),
    ],
    [
      'too many metrics',
      () => (target.values = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`m${i}`, 1]))),
    ],
    ['wall out of range', () => (target.wall = pick<unknown>([-1, 1e12, 'now', null, true]))],
    ['unknown point field', () => (target[pick(['run', 'metric', 'mid', '__proto__x'])] = junk())],
    ['unknown body field', () => (body.run = RUN)],
    ['point not an object', () => ((body.points as unknown[])[0] = notObject())],
  ];
  const [kind, apply] = pick(breakers);
  apply();
  return kind;
}

function breakLatents(body: Body): string {
  Object.assign(body, {
    epoch: 1,
    dim: 2,
    codes: [
      [0.1, 0.2],
      [0.3, 0.4],
    ],
    labels: [0, 1],
  });
  const breakers: Array<[string, () => void]> = [
    ['epoch bad', () => (body.epoch = notInteger())],
    ['dim zero', () => (body.dim = 0)],
    ['dim too big', () => (body.dim = 1025)],
    ['codes not arrays', () => (body.codes = pick<unknown>([[1, 2], 'x', {}, [['a', 'b']], [[null, 1]]]))],
    ['codes empty', () => (body.codes = [])],
    ['labels not integers', () => (body.labels = [0.5, -1])],
    ['unknown field', () => (body.extra = junk())],
    ['dim missing', () => delete body.dim],
  ];
  const [kind, apply] = pick(breakers);
  apply();
  return kind;
}

function breakControl(body: Body): string {
  Object.assign(body, { action: 'set_lr', args: { net: 'D', value: 1e-4 } });
  const breakers: Array<[string, () => void]> = [
    ['unknown action', () => (body.action = pick(['explode', 'SET_LR', '', 42, "'; DELETE FROM controls;--"]))],
    ['net unknown', () => (body.args = { net: pick(['X', 'g', '', 1]), value: 1e-4 })],
    ['value not positive', () => (body.args = { net: 'G', value: pick<unknown>([0, -1, 1e7, 'x', null]) })],
    ['args missing', () => delete body.args],
    ['args extra', () => (body.args = { net: 'G', value: 1, extra: 1 })],
    ['pause with args', () => Object.assign(body, { action: 'pause', args: { now: true } })],
    ['unknown field', () => (body.run = RUN)],
  ];
  const [kind, apply] = pick(breakers);
  apply();
  return kind;
}

function breakAlertConfig(body: Body): string {
  const breakers: Array<[string, () => void]> = [
    ['rules not an object', () => (body.rules = notObject())],
    ['bad rule name', () => (body.rules = { [pick(['Mode Collapse', 'x-y', '', '../x'])]: {} })],
    ['override junk', () => (body.rules = { divergence: { enabled: 'yes' } })],
    ['for negative', () => (body.rules = { divergence: { for: -1 } })],
    ['params not numbers', () => (body.rules = { divergence: { params: { k: 'x' } } })],
    ['unknown field', () => (body[pick(['colour', 'rules2'])] = junk())],
    ['auto_apply not boolean', () => (body.auto_apply = pick<unknown>(['true', 1, null]))],
  ];
  const [kind, apply] = pick(breakers);
  apply();
  return kind;
}

/** Serializes a JSON body, sometimes with extra damage: raw __proto__, invalid UTF-8, deep nesting, truncation. */
function serialize(body: Body): { bytes: Buffer; damage: string } {
  const text = JSON.stringify(body);
  switch (int(0, 9)) {
    case 0:
      return { bytes: Buffer.from(text.replace('{', '{"__proto__":{"polluted":true},')), damage: 'proto' };
    case 1:
      return {
        bytes: Buffer.from(text.replace('{', '{"constructor":{"prototype":{"polluted":true}},')),
        damage: 'constructor',
      };
    case 2: {
      const at = text.indexOf('"') + 1;
      const bad = Buffer.from(pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]]));
      return {
        bytes: Buffer.concat([Buffer.from(text.slice(0, at)), bad, Buffer.from(text.slice(at))]),
        damage: 'invalid utf-8',
      };
    }
    case 3:
      return {
        bytes: Buffer.from(text.replace('{', `{"deep":${deepText(pick([65, 500, 20_000]))},`)),
        damage: 'deep nesting',
      };
    case 4:
      return { bytes: Buffer.from(text.slice(0, int(0, text.length - 1))), damage: 'truncated' };
    default:
      return { bytes: Buffer.from(text), damage: 'none' };
  }
}

function jsonCase(kind: string, method: string, path: string, body: Body): HttpCase {
  const { bytes, damage } = serialize(body);
  const headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` };
  switch (int(0, 12)) {
    case 0:
      headers['content-type'] = pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/xml',
        'image/png',
      ]);
      break;
    case 1:
      break; // no content type at all
    default:
      headers['content-type'] = pick(['application/json', 'application/json; charset=utf-8']);
  }
  return { kind: `${kind}${damage === 'none' ? '' : ` + ${damage}`}`, method, path, headers, body: bytes };
}

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);

function httpCase(): HttpCase {
  const auth = { authorization: `Bearer ${TOKEN}` };
  switch (int(0, 19)) {
    case 0:
    case 1: {
      const body: Body = { name: 'fuzz', config: { lr: 1 }, tags: ['t'] };
      return jsonCase(`create run: ${breakRunBody(body, false)}`, 'POST', '/api/v1/runs', body);
    }
    case 2: {
      const body: Body = { name: 'renamed' };
      return jsonCase(`patch run: ${breakRunBody(body, true)}`, 'PATCH', `/api/v1/runs/${pick([RUN, FINISHED])}`, body);
    }
    case 3:
    case 4:
    case 5: {
      const body: Body = {};
      return jsonCase(`points: ${breakPoints(body)}`, 'POST', `/api/v1/runs/${RUN}/points`, body);
    }
    case 6: {
      const body: Body = {};
      return jsonCase(`latents: ${breakLatents(body)}`, 'POST', `/api/v1/runs/${RUN}/latents`, body);
    }
    case 7: {
      const body: Body = {};
      return jsonCase(`control: ${breakControl(body)}`, 'POST', `/api/v1/runs/${RUN}/controls`, body);
    }
    case 8: {
      const body: Body = {};
      const where = pick(['/api/v1/alerts/config', `/api/v1/runs/${RUN}/alerts/config`]);
      return jsonCase(`alert config: ${breakAlertConfig(body)}`, 'PUT', where, body);
    }
    case 9: {
      // Media: a bad query, a body that is not a PNG, or the wrong content type.
      const q = pick([
        'epoch=-1&step=0',
        'epoch=1.5&step=0',
        'epoch=x&step=0',
        'step=0',
        'epoch=0',
        'epoch=0&step=0&kind=bad%20kind',
        'epoch=0&step=0&kind=..%2F..%2Fx',
        `epoch=0&step=0&meta=${'m'.repeat(10_001)}`,
        'epoch=0&step=0&extra=1',
        'epoch=1e400&step=0',
      ]);
      const good = 'epoch=0&step=0&kind=samples';
      const [kind, query, body, type] = pick<[string, string, Buffer, string]>([
        ['media bad query', q, PNG, 'image/png'],
        [
          'media not a PNG',
          good,
          Buffer.from(pick(['GIF89a', 'not an image', '\u0000\u0001', '{"png":true}'])),
          'image/png',
        ],
        ['media empty', good, Buffer.alloc(0), 'image/png'],
        ['media wrong type', good, PNG, pick(['image/jpeg', 'application/json', 'text/plain'])],
      ]);
      return {
        kind,
        method: 'POST',
        path: `/api/v1/runs/${RUN}/media?${query}`,
        headers: { ...auth, 'content-type': type },
        body,
      };
    }
    case 10: {
      // A malformed or unknown run id on every run route.
      const tail = pick([
        '',
        '/points',
        '/metrics',
        '/series?metric=a',
        '/media',
        '/latents',
        '/controls',
        '/export',
        '/alerts',
        '/markers',
      ]);
      const method = tail === '' ? pick(['GET', 'PATCH', 'DELETE']) : pick(['GET', 'POST']);
      const id = chance(0.7) ? badRunId() : pick(['nosuchrun', 'zzzzzzzzzz', '0']);
      const body =
        method === 'GET' || method === 'DELETE'
          ? undefined
          : Buffer.from(JSON.stringify({ name: 'x', points: [validPoint()] }));
      return {
        kind: `run id ${id.slice(0, 20)}`,
        method,
        path: `/api/v1/runs/${id}${tail}`,
        headers: { ...auth, 'content-type': 'application/json' },
        body,
      };
    }
    case 11: {
      // Reads with malformed queries.
      const path = pick([
        `/api/v1/runs/${RUN}/series?metric=${encodeURIComponent(badMetricName())}`,
        `/api/v1/runs/${RUN}/series?metric=m0&buckets=${pick(['0', '-1', '10001', 'x', '1e9', '1.5'])}`,
        `/api/v1/runs/${RUN}/series?metric=m0&from=10&to=2`,
        `/api/v1/runs/${RUN}/series?metric=m0&from=-5`,
        `/api/v1/runs/${RUN}/series`,
        `/api/v1/runs/${RUN}/export?format=${pick(['xml', 'CSV', '', '../x'])}`,
        `/api/v1/runs?status=${pick(['exploded', 'RUNNING', ''])}`,
        `/api/v1/runs?${pick(['unknown=1', 'tag=a%01b', `name=${'n'.repeat(201)}`])}`,
        `/api/v1/runs/${RUN}/media?epoch=-1`,
        `/api/v1/runs/${RUN}/media/${pick(['0', '-1', 'x', '99999999'])}`,
        `/api/v1/runs/${RUN}/latents/${pick(['-1', 'x', '999999'])}`,
        `/api/v1/alerts?${pick(['state=on', 'limit=0', 'limit=100001', 'rule=BAD RULE', 'run=UP'])}`,
        `/api/v1/alerts/${pick(['0', 'x', '999999'])}`,
        `/api/v1/runs/${RUN}/markers?metric=${encodeURIComponent(badMetricName())}`,
      ]);
      return { kind: 'read with a bad query', method: 'GET', path, headers: auth };
    }
    case 12: {
      // Alert actions on alerts that do not exist or with bad bodies.
      const id = pick(['0', '-1', 'x', '999999', "1'--"]);
      const action = pick(['ack', 'apply', 'mute']);
      const body =
        action === 'mute' ? Buffer.from(JSON.stringify({ muted: pick<unknown>(['yes', 1, null]) })) : undefined;
      return {
        kind: `alert ${action}`,
        method: 'POST',
        path: `/api/v1/alerts/${id}/${action}`,
        headers: { ...auth, 'content-type': 'application/json' },
        body,
      };
    }
    case 13: {
      // Unknown routes and methods, path tricks.
      const path = pick([
        '/api/v2/runs',
        '/api/v1/run',
        '/api/v1/runs/../../etc/passwd',
        '/api/v1/%2e%2e/%2e%2e/etc/passwd',
        '/api/v1/runs%00',
        '/api/v1/admin',
        '/api/v1/runs/' + RUN + '/points/../../../x',
        '/../../etc/passwd',
        '/api/v1/health/x',
        '/%ff%fe',
      ]);
      return { kind: 'unknown route', method: pick(['GET', 'POST', 'PUT', 'DELETE', 'PATCH']), path, headers: auth };
    }
    case 14: {
      const method = pick(['PUT', 'POST', 'DELETE']);
      return {
        kind: 'wrong method',
        method,
        path: pick(['/api/v1/runs/' + RUN + '/metrics', '/api/v1/health', '/api/v1/alerts/rules']),
        headers: auth,
      };
    }
    case 15:
    case 16: {
      // A valid write with a missing, wrong or malformed token.
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      // (Not the token with surrounding spaces: HTTP strips them from header values, so that is the token.)
      const token = pick([
        null,
        'wrong',
        TOKEN + 'x',
        TOKEN.slice(0, -1),
        TOKEN.toUpperCase(),
        `x${TOKEN}`,
        'Bearer',
        "' OR 1=1 --",
        '',
      ]);
      if (token !== null) headers.authorization = pick([`Bearer ${token}`, `Basic ${token}`, token, `bearer ${token}`]);
      const [path, method, body] = pick<[string, string, unknown]>([
        ['/api/v1/runs', 'POST', { name: 'sneaky' }],
        [`/api/v1/runs/${RUN}/points`, 'POST', { points: [validPoint()] }],
        [`/api/v1/runs/${RUN}`, 'PATCH', { name: 'sneaky' }],
        [`/api/v1/runs/${RUN}`, 'DELETE', undefined],
        [`/api/v1/runs/${RUN}/controls`, 'POST', { action: 'stop', args: {} }],
      ]);
      return {
        kind: 'bad token',
        method,
        path,
        headers,
        body: body === undefined ? undefined : Buffer.from(JSON.stringify(body)),
      };
    }
    case 17: {
      // Bodies that are JSON but not objects, or nothing at all.
      const body = Buffer.from(pick(['', 'null', '[]', '42', '"str"', 'true', '{}', '[{}]', ' ', '\u0000']));
      return {
        kind: 'not an object',
        method: 'POST',
        path: pick(['/api/v1/runs', `/api/v1/runs/${RUN}/points`, `/api/v1/runs/${RUN}/controls`]),
        headers: { ...auth, 'content-type': 'application/json' },
        body,
      };
    }
    case 18: {
      // Enormous values in otherwise plain bodies (a few are over the 4 MiB body limit).
      const over = chance(0.04);
      const filler = 'x'.repeat(over ? 4 * 1024 * 1024 + int(1, 500_000) : int(20_001, 900_000));
      const body = pick<Body>([
        { name: filler },
        { points: [{ step: 0, values: { [filler.slice(0, 5000)]: 1 } }] },
        { name: 'x', notes: filler },
      ]);
      const path = 'points' in body ? `/api/v1/runs/${RUN}/points` : '/api/v1/runs';
      return {
        kind: over ? 'body over the limit' : 'enormous string',
        method: 'POST',
        path,
        headers: { ...auth, 'content-type': 'application/json' },
        body: Buffer.from(JSON.stringify(body)),
      };
    }
    default: {
      // Valid shape, poisoned keys only (JSON.parse would happily build them).
      const text = pick([
        '{"__proto__":{"admin":true},"name":"x"}',
        '{"name":"x","constructor":{"prototype":{"admin":true}}}',
        `{"points":[{"step":0,"values":{"a":1},"__proto__":{"x":1}}]}`,
      ]);
      const path = text.includes('points') ? `/api/v1/runs/${RUN}/points` : '/api/v1/runs';
      return {
        kind: 'prototype poisoning',
        method: 'POST',
        path,
        headers: { ...auth, 'content-type': 'application/json' },
        body: Buffer.from(text),
      };
    }
  }
}

// ------------------------------------------------------------------ WS frames

type Frame = { kind: string; data: string | Buffer; binary?: boolean; closes?: boolean };

function ingestFrame(seq: number): Frame {
  const frame: Body = { type: 'points', seq, points: [validPoint()] };
  switch (int(0, 16)) {
    case 0:
      return { kind: 'binary', data: Buffer.from(JSON.stringify(frame)), binary: true };
    case 1:
      return { kind: 'not JSON', data: pick(['{', 'points', '', '{"type":', 'undefined', '\u0000']) };
    case 2:
      return {
        kind: 'invalid UTF-8',
        data: Buffer.concat([Buffer.from('{"type":"points","x":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]),
        closes: true,
      };
    case 3:
      frame.type = pick<unknown>(['hello', 'POINTS', 'ack', 'control', 42, null, '']);
      return { kind: 'unknown type', data: JSON.stringify(frame) };
    case 4:
      delete frame.type;
      return { kind: 'no type', data: JSON.stringify(frame) };
    case 5:
      frame.seq = pick<unknown>([-1, 1.5, '7', null, 1e300, []]);
      return { kind: 'bad seq', data: JSON.stringify(frame) };
    case 6: {
      const body: Body = {};
      const kind = breakPoints(body);
      return { kind: `points: ${kind}`, data: JSON.stringify({ type: 'points', seq, ...body }) };
    }
    case 7:
      return {
        kind: 'status not a status',
        data: JSON.stringify({ type: 'status', seq, status: pick(['done', 'FINISHED', '', 'running ']) }),
      };
    case 8:
      return {
        kind: 'bad control_result',
        data: JSON.stringify(
          pick<Body>([
            { type: 'control_result', id: 0, ok: true },
            { type: 'control_result', id: 1, ok: 'yes' },
            { type: 'control_result', id: 1, ok: true, message: 'm'.repeat(2001) },
            { type: 'control_result', id: 1, ok: true, step: -1 },
            { type: 'control_result', ok: true },
          ]),
        ),
      };
    case 9:
      return { kind: 'not an object', data: pick(['null', '[]', '42', '"points"', 'true', '[{"type":"points"}]']) };
    case 10:
      return {
        kind: 'deep nesting',
        data: `{"type":"points","seq":${seq},"points":${deepText(pick([100, 5_000, 50_000]))}}`,
      };
    case 11:
      return { kind: 'extra field', data: JSON.stringify({ ...frame, run: "x'; DROP TABLE runs;--" }) };
    case 12:
      return {
        kind: 'proto',
        data: `{"__proto__":{"x":1},"type":"points","seq":${seq},"points":[{"step":1,"values":{"a":1}}],"extra":1}`,
      };
    case 13:
      return {
        kind: 'frame over the limit',
        data: JSON.stringify({ ...frame, pad: 'p'.repeat(4 * 1024 * 1024 + 10) }),
      };
    case 14:
      return {
        kind: 'enormous string',
        data: JSON.stringify({ type: 'points', seq, points: [{ step: 1, values: { [enormous()]: 1 } }] }),
      };
    default:
      return {
        kind: 'huge numbers',
        data: `{"type":"points","seq":${seq},"points":[{"step":${pick(['1e400', '-0.5', '9007199254740993', '1e20'])},"values":{"a":1}}]}`,
      };
  }
}

function liveFrame(): Frame {
  switch (int(0, 8)) {
    case 0:
      return { kind: 'binary', data: Buffer.from('{"type":"subscribe","runs":["*"]}'), binary: true };
    case 1:
      return { kind: 'not JSON', data: pick(['{', 'subscribe', '']) };
    case 2:
      return { kind: 'bad run id', data: JSON.stringify({ type: 'subscribe', runs: [badRunId()] }) };
    case 3:
      return { kind: 'runs not an array', data: JSON.stringify({ type: 'subscribe', runs: notArray() }) };
    case 4:
      return {
        kind: 'unknown type',
        data: JSON.stringify({ type: pick(['sub', 'points', 'SUBSCRIBE', 42]), runs: ['*'] }),
      };
    case 5:
      return {
        kind: 'too many runs',
        data: JSON.stringify({ type: 'subscribe', runs: Array.from({ length: 1001 }, () => RUN) }),
      };
    case 6:
      return {
        kind: 'frame over 64 KiB',
        data: JSON.stringify({ type: 'subscribe', runs: ['*'], pad: 'p'.repeat(70_000) }),
      };
    case 7:
      return { kind: 'extra field', data: JSON.stringify({ type: 'unsubscribe', runs: ['*'], also: 1 }) };
    default:
      return {
        kind: 'invalid UTF-8',
        data: Buffer.concat([
          Buffer.from('{"type":"subscribe","runs":["'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"]}'),
        ]),
        closes: true,
      };
  }
}

// ------------------------------------------------------------------ the test

let server: RunningServer;
let serverLog = '';

before(async () => {
  server = await startServer({ token: TOKEN, extraArgs: ['--rate-limit', '0', '--log-level', 'error'] });
  server.process.stdout!.on('data', (c: Buffer) => (serverLog += c.toString()));
  server.process.stderr!.on('data', (c: Buffer) => (serverLog += c.toString()));
  RUN = (await api(server, 'POST', '/api/v1/runs', { name: 'target', config: { lr: 2e-4 }, tags: ['fuzz'] }, TOKEN))
    .body.id;
  FINISHED = (await api(server, 'POST', '/api/v1/runs', { name: 'finished' }, TOKEN)).body.id;
  const points = Array.from({ length: 300 }, (_, s) => ({
    step: s,
    values: { m0: Math.sin(s), m1: s === 7 ? 'NaN' : s, m2: 1 / (s + 1) },
  }));
  await api(server, 'POST', `/api/v1/runs/${RUN}/points`, { points }, TOKEN);
  await api(
    server,
    'POST',
    `/api/v1/runs/${RUN}/latents`,
    { epoch: 1, dim: 2, codes: [[0.1, 0.2]], labels: [3] },
    TOKEN,
  );
  await api(server, 'POST', `/api/v1/runs/${RUN}/controls`, { action: 'pause', args: {} }, TOKEN);
  await api(server, 'POST', `/api/v1/runs/${FINISHED}/points`, { points: points.slice(0, 10) }, TOKEN);
  await api(server, 'PATCH', `/api/v1/runs/${FINISHED}`, { status: 'finished' }, TOKEN);
});
after(async () => server?.stop());

/**
 * Table digests once background work has finished: the latent projections and class separation computed after the
 * upload, as the server reports them (every eager method of every epoch, none pending), however slow the machine.
 */
async function settledDigests(): Promise<Awaited<ReturnType<typeof tableDigests>>> {
  const busy = (status: string | undefined): boolean => status === 'pending' || status === 'computing';
  for (;;) {
    const list = (await api(server, 'GET', `/api/v1/runs/${RUN}/projections`, undefined, TOKEN)).body as {
      epochs: Array<{ separation: { status: string } | null }>;
      projections: Array<{ status: string }>;
      eager: string[];
    };
    const done =
      list.projections.length === list.epochs.length * list.eager.length &&
      !list.projections.some((p) => busy(p.status)) &&
      !list.epochs.some((e) => e.separation === null || busy(e.separation.status));
    if (done) return tableDigests(server.dbPath);
    await new Promise((r) => setTimeout(r, 200));
  }
}

interface Outcome {
  kind: string;
  status: number | string;
  detail: string;
}

/**
 * A body over the limit goes through node:http: the server answers 413 without reading it all and closes the
 * connection, and fetch() reports the broken write rather than the answer that arrived.
 */
function sendOversized(c: HttpCase): Promise<Outcome> {
  return new Promise((resolve) => {
    const url = new URL(server.url + c.path);
    const req = request({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      method: c.method,
      headers: { ...c.headers, 'content-length': String(c.body!.length) },
    });
    let settled = false;
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        settled = true;
        const ok = res.statusCode === 413 && /"message"/.test(text);
        resolve({
          kind: c.kind,
          status: res.statusCode ?? 0,
          detail: ok ? '' : `${c.method} ${c.path} → ${res.statusCode} ${text.slice(0, 200)}`,
        });
      });
    });
    req.on('error', (err) => {
      if (!settled)
        setTimeout(
          () => !settled && resolve({ kind: c.kind, status: 'network error', detail: `${c.path}: ${err.message}` }),
          2000,
        );
    });
    req.end(c.body);
  });
}

async function sendHttp(c: HttpCase): Promise<Outcome> {
  if (c.body && c.body.length > 4 * 1024 * 1024) return sendOversized(c);
  try {
    const res = await fetch(server.url + c.path, {
      method: c.method,
      headers: c.headers,
      body: c.body === undefined ? undefined : new Uint8Array(c.body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let detail = '';
    if (res.status < 400 || res.status >= 500) detail = `${c.method} ${c.path.slice(0, 120)} → ${text.slice(0, 200)}`;
    else if (c.method !== 'HEAD') {
      try {
        const body = JSON.parse(text) as { code?: unknown; message?: unknown };
        if (typeof body.code !== 'string' || typeof body.message !== 'string' || body.message.length === 0)
          detail = `no code/message: ${text.slice(0, 200)}`;
      } catch {
        detail = `not JSON: ${text.slice(0, 200)}`;
      }
    }
    return { kind: c.kind, status: res.status, detail };
  } catch (err) {
    return {
      kind: c.kind,
      status: 'network error',
      detail: `${c.method} ${c.path.slice(0, 120)}: ${(err as Error).message} ${(err as { cause?: Error }).cause?.message ?? ''}`,
    };
  }
}

/** Sends frames on one socket (reopening it after a protocol close) and checks that each got one error frame. */
async function fuzzSocket(
  path: string,
  frames: () => Frame,
  count: number,
  deadline: number,
): Promise<{ sent: number; errors: number; closes: number; problems: string[] }> {
  const problems: string[] = [];
  let sent = 0;
  let errors = 0;
  let closes = 0;
  const url = `${server.url.replace('http', 'ws')}${path}${path.includes('?') ? '&' : '?'}token=${TOKEN}`;
  while (sent < count && Date.now() < deadline) {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const replies: Array<{ type?: string; code?: string; message?: string }> = [];
    let closed: number | null = null;
    ws.on('message', (d) => replies.push(JSON.parse(d.toString())));
    ws.on('close', (code) => (closed = code));
    ws.on('error', () => undefined);
    // Send in bursts; wait for the replies of each burst before the next.
    for (;;) {
      const burst: Frame[] = [];
      let closing = false;
      while (burst.length < 50 && sent + burst.length < count) {
        const f = frames();
        burst.push(f);
        if (f.closes) {
          closing = true;
          break;
        }
      }
      const expected = replies.length + burst.filter((f) => !f.closes).length;
      for (const f of burst) ws.send(f.data, { binary: f.binary === true });
      sent += burst.length;
      const until = Date.now() + 30_000;
      while (replies.length < expected && closed === null && Date.now() < until)
        await new Promise((r) => setTimeout(r, 2));
      if (closing) {
        while (closed === null && Date.now() < until) await new Promise((r) => setTimeout(r, 2));
        if (closed !== 1007) problems.push(`invalid UTF-8 closed the socket with ${closed}, not 1007`);
        closes++;
        break;
      }
      if (closed !== null) {
        problems.push(`socket closed (${closed}) after ${burst.map((f) => f.kind).join(', ')}`);
        break;
      }
      if (replies.length < expected) problems.push(`no reply to some of: ${burst.map((f) => f.kind).join(', ')}`);
      if (sent >= count || Date.now() > deadline) break;
    }
    for (const r of replies) {
      if (r.type === 'error' && typeof r.code === 'string' && typeof r.message === 'string' && r.message.length > 0)
        errors++;
      else problems.push(`unexpected reply ${JSON.stringify(r).slice(0, 200)}`);
    }
    if (closed === null) {
      ws.close();
      await new Promise<void>((r) => ws.once('close', () => r()));
    }
  }
  return { sent, errors, closes, problems };
}

test(`${HTTP_CASES + INGEST_FRAMES + LIVE_FRAMES} malformed requests and frames: all 4xx or error frames with a message, no crash, not a byte of the database changed (seed ${SEED})`, async () => {
  const before = await settledDigests();
  const pid = server.process.pid;
  const deadline = Date.now() + TIME_LIMIT_MS;
  const t0 = performance.now();

  const outcomes: Outcome[] = [];
  const cases = Array.from({ length: HTTP_CASES }, httpCase);
  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < cases.length && Date.now() < deadline) outcomes.push(await sendHttp(cases[next++]!));
    }),
  );
  const httpMs = performance.now() - t0;

  let seq = 0;
  const ingest = await fuzzSocket(`/api/v1/ingest?run=${FINISHED}`, () => ingestFrame(seq++), INGEST_FRAMES, deadline);
  const live = await fuzzSocket('/api/v1/live', liveFrame, LIVE_FRAMES, deadline);
  const totalMs = performance.now() - t0;

  const bad = outcomes.filter(
    (o) => typeof o.status !== 'number' || o.status < 400 || o.status >= 500 || o.detail !== '',
  );
  const byStatus = new Map<string, number>();
  for (const o of outcomes) byStatus.set(String(o.status), (byStatus.get(String(o.status)) ?? 0) + 1);
  const summary = `seed ${SEED}: ${outcomes.length} HTTP in ${(httpMs / 1000).toFixed(1)} s (${[...byStatus].map(([s, n]) => `${s}×${n}`).join(' ')}), ingest frames ${ingest.sent} (${ingest.closes} protocol closes), live frames ${live.sent}; ${(totalMs / 1000).toFixed(1)} s`;
  console.log(`# ${summary}`);

  assert.deepEqual(
    bad.slice(0, 10),
    [],
    `every request answered 4xx with a code and message (${bad.length} did not; ${summary})`,
  );
  assert.deepEqual(ingest.problems.slice(0, 10), [], summary);
  assert.deepEqual(live.problems.slice(0, 10), [], summary);
  assert.equal(ingest.errors + ingest.closes, ingest.sent, 'one error frame per ingest frame (or a protocol close)');
  assert.equal(live.errors + live.closes, live.sent, 'one error frame per live frame (or a protocol close)');
  assert.ok(
    outcomes.length + ingest.sent + live.sent >= 10_000,
    `at least 10,000 sent before the hang guard (${summary})`,
  );

  assert.equal(server.process.pid, pid);
  assert.equal(server.process.exitCode, null, 'the server is still running');
  assert.equal((await api(server, 'GET', '/api/v1/health')).status, 200);
  assert.doesNotMatch(serverLog, /request failed|"level":50|"level":60/, 'no 5xx or fatal error was logged');
  assert.deepEqual(await tableDigests(server.dbPath), before, 'every table is byte-for-byte unchanged');
});
