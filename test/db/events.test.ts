// Specification of the store's events channel (what servers sharing a store tell each other: live frames, control
// notices) and, on PostgreSQL, of presence: heartbeats, the runs each server holds, and the sweep of dead servers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { splitUtf8 } from '../../db/postgres/events.js';
import { openStore, type Store } from '../../db/store.js';
import { freshLocation, postgresOnly } from '../../harness/store.js';

/** Collects what a store's channel receives; `count(n)` resolves once n messages are in (hang guard: 60 s). */
function collect(store: Store): { got: string[]; count(n: number): Promise<string[]> } {
  const got: string[] = [];
  const waiters: Array<() => void> = [];
  store.events.subscribe((m) => {
    got.push(m);
    for (const w of waiters.splice(0)) w();
  });
  const count = async (n: number): Promise<string[]> => {
    const guard = Date.now() + 60_000;
    while (got.length < n) {
      if (Date.now() > guard) throw new Error(`received ${got.length} of ${n} messages`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 1000).unref();
      });
    }
    return got;
  };
  return { got, count };
}

test('a message published on one store reaches the other stores open on it, in order, and never its publisher', async () => {
  const location = await freshLocation();
  const [a, b, c] = [await openStore(location), await openStore(location), await openStore(location)];
  try {
    const [ra, rb, rc] = [collect(a), collect(b), collect(c)];
    for (let i = 0; i < 50; i++) a.events.publish(`from a ${i}`);
    b.events.publish('from b');
    const expectedFromA = Array.from({ length: 50 }, (_, i) => `from a ${i}`);
    assert.deepEqual(
      (await rc.count(51)).filter((m) => m.startsWith('from a')),
      expectedFromA,
    );
    assert.deepEqual(await rb.count(50), expectedFromA);
    assert.deepEqual(await ra.count(1), ['from b']);
    // The publisher's own 50 messages never came back to it: b's one message is all it received.
    b.events.publish('marker');
    await ra.count(2);
    assert.deepEqual(ra.got, ['from b', 'marker']);
  } finally {
    await Promise.all([a.close(), b.close(), c.close()]);
  }
});

test('a message far over a notification payload (8000 bytes), with multi-byte characters, arrives whole', async () => {
  const location = await freshLocation();
  const [a, b] = [await openStore(location), await openStore(location)];
  try {
    const rb = collect(b);
    const big = JSON.stringify({ text: 'ä€😀x'.repeat(12_000), n: Array.from({ length: 3000 }, (_, i) => i / 7) });
    a.events.publish(big);
    a.events.publish('after');
    assert.deepEqual(await rb.count(2), [big, 'after']);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});

test('text is split into pieces of bounded UTF-8 size, never inside a surrogate pair', () => {
  const text = 'a😀'.repeat(5000) + 'é'.repeat(3000);
  const pieces = splitUtf8(text, 7836);
  assert.equal(pieces.join(''), text);
  for (const p of pieces) {
    assert.ok(Buffer.byteLength(p) <= 7836);
    assert.equal(Buffer.from(p).toString(), p, 'each piece is valid UTF-8 on its own');
  }
});

test(
  'PostgreSQL: a run is held by the server that claimed it last; release by a former holder changes nothing',
  { skip: postgresOnly },
  async () => {
    const store = await openStore(await freshLocation());
    try {
      const run = (await store.runs.ref((await store.runs.create({ name: 'held' })).id))!;
      await store.presence.beat('A', 5);
      assert.equal(await store.presence.beat('B', 5), 2);
      await store.presence.claim(run.rid, 'A');
      assert.equal(await store.presence.holder(run.rid, 5), 'A');
      await store.presence.claim(run.rid, 'B'); // the trainer reconnected to B
      assert.equal(
        await store.presence.release(run.rid, 'A'),
        false,
        "A's socket closing late does not release B's run",
      );
      assert.equal(await store.presence.holder(run.rid, 5), 'B');
      assert.deepEqual(await store.presence.unheld(5), []);
      assert.equal(await store.presence.release(run.rid, 'B'), true);
      assert.deepEqual(
        (await store.presence.unheld(5)).map((r) => r.id),
        [run.id],
      );
    } finally {
      await store.close();
    }
  },
);

test(
  'PostgreSQL: the sweep forgets a server whose heartbeat is stale and returns its live runs, once',
  { skip: postgresOnly },
  async () => {
    const location = await freshLocation();
    const store = await openStore(location);
    try {
      const ref = async (name: string): Promise<{ rid: number; id: string }> =>
        (await store.runs.ref((await store.runs.create({ name })).id))!;
      const [onDead, onLive, finished] = [await ref('dead'), await ref('live'), await ref('finished')];
      await store.presence.beat('dead', 5);
      await store.presence.beat('live', 5);
      await store.presence.claim(onDead.rid, 'dead');
      await store.presence.claim(finished.rid, 'dead');
      await store.runs.setStatus(finished.rid, 'finished');
      await store.presence.claim(onLive.rid, 'live');
      assert.deepEqual(await store.presence.sweep(5), [], 'nobody is stale yet');
      const admin = new pg.Client({ connectionString: location });
      await admin.connect();
      await admin.query("UPDATE servers SET heartbeat_at = heartbeat_at - 60 WHERE id = 'dead'");
      await admin.end();
      assert.equal(await store.presence.holder(onDead.rid, 5), null, 'a stale holder holds nothing');
      assert.deepEqual(
        (await Promise.all([store.presence.sweep(5), store.presence.sweep(5)]))
          .map((runs) => runs.map((r) => r.id))
          .sort(),
        [[], [onDead.id]],
        'two servers sweeping at once: the run is returned to one of them',
      );
      assert.equal(await store.presence.holder(onLive.rid, 5), 'live');
      assert.equal(await store.presence.beat('live', 5), 1);
    } finally {
      await store.close();
    }
  },
);
