// The alert state machine: pending → firing after `for`, pending → ok, hysteresis on exit, cooldown, escalation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertStateMachine, type Transition } from '../../server/alerts/state.js';
import type { Evaluation, Severity } from '../../server/alerts/types.js';

function ev(enter: boolean, exit: boolean, severity: Severity = 'warn'): Evaluation {
  return { key: '', enter, exit, severity, message: enter ? 'bad' : 'fine', evidence: {}, remedy: null };
}

/** Feeds evaluations at steps 0, 25, 50, ... and returns the transitions as "from→to@step". */
function run(m: AlertStateMachine, evs: Evaluation[], start = 0): string[] {
  const out: string[] = [];
  evs.forEach((e, i) => {
    const t: Transition | null = m.feed(e, start + i * 25);
    if (t) out.push(`${t.from}→${t.to}@${t.step}`);
  });
  return out;
}

const E = ev(true, false);
const X = ev(false, true);
const N = ev(false, false);

test('pending becomes firing when enter held `for` consecutive evaluations', () => {
  const m = new AlertStateMachine({ for: 3, clear: 1 });
  assert.deepEqual(run(m, [N, E, E, E, E]), ['ok→pending@25', 'pending→firing@75']);
  assert.equal(m.state, 'firing');
  assert.equal(m.openedAt, 25);
});

test('for 0 (and 1) fires at the first enter, without a pending state', () => {
  for (const f of [0, 1]) {
    const m = new AlertStateMachine({ for: f, clear: 1 });
    assert.deepEqual(run(m, [N, E]), ['ok→firing@25']);
  }
});

test('pending falls back to ok when enter stops holding before `for`', () => {
  const m = new AlertStateMachine({ for: 3, clear: 1 });
  assert.deepEqual(run(m, [E, E, N, E, E, E]), [
    'ok→pending@0',
    'pending→ok@50',
    'ok→pending@75',
    'pending→firing@125',
  ]);
});

test('firing resolves only after exit held `clear` consecutive evaluations', () => {
  const m = new AlertStateMachine({ for: 1, clear: 3 });
  assert.deepEqual(run(m, [E, X, X, N, X, X, X]), ['ok→firing@0', 'firing→resolved@150']);
  assert.equal(m.state, 'resolved');
});

test('enter false but exit false keeps firing (hysteresis)', () => {
  const m = new AlertStateMachine({ for: 1, clear: 1 });
  assert.deepEqual(run(m, [E, N, N, N, N]), ['ok→firing@0']);
  assert.equal(m.state, 'firing');
});

test('a resolved alert opens a new one through pending later', () => {
  const m = new AlertStateMachine({ for: 2, clear: 1 });
  assert.deepEqual(run(m, [E, E, X, N, E, E]), [
    'ok→pending@0',
    'pending→firing@25',
    'firing→resolved@50',
    'resolved→pending@100',
    'pending→firing@125',
  ]);
  assert.equal(m.openedAt, 100);
});

test('cooldown suppresses new alerts until its end', () => {
  const m = new AlertStateMachine({ for: 1, clear: 1 });
  m.startCooldown(100);
  assert.deepEqual(run(m, [E, E, E, E, E]), ['ok→firing@100']);
});

test('cooldown lets a firing alert resolve and drops a pending one', () => {
  const firing = new AlertStateMachine({ for: 1, clear: 1 });
  run(firing, [E]);
  firing.startCooldown(1000);
  assert.deepEqual(run(firing, [X], 25), ['firing→resolved@25']);

  const pending = new AlertStateMachine({ for: 3, clear: 1 });
  assert.deepEqual(run(pending, [E]), ['ok→pending@0']);
  pending.startCooldown(1000);
  assert.deepEqual(run(pending, [E, E], 25), ['pending→ok@25']);
  assert.equal(pending.state, 'ok');
});

test('severity escalates while firing (firing → firing) and never goes down', () => {
  const m = new AlertStateMachine({ for: 1, clear: 1 });
  const t: string[] = [];
  for (const [i, e] of [
    ev(true, false, 'warn'),
    ev(true, false, 'warn'),
    ev(true, false, 'critical'),
    ev(true, false, 'warn'),
    ev(true, false, 'critical'),
  ].entries()) {
    const tr = m.feed(e, i);
    if (tr) t.push(`${tr.from}→${tr.to}:${tr.evaluation.severity}`);
  }
  assert.deepEqual(t, ['ok→firing:warn', 'firing→firing:critical']);
  assert.equal(m.severity, 'critical');
});

test('a restored firing alert can resolve and escalate', () => {
  const m = AlertStateMachine.firing({ for: 5, clear: 2 }, 400, 'info');
  assert.equal(m.state, 'firing');
  const tr = m.feed(ev(true, false, 'warn'), 500);
  assert.equal(tr?.to, 'firing');
  assert.equal(tr?.openedAt, 400);
  assert.deepEqual(run(m, [X, X], 525), ['firing→resolved@550']);
});
