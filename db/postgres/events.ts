// The events channel on PostgreSQL: LISTEN/NOTIFY on one dedicated connection per server (not from the pool: a
// listening session must stay the same). Messages are sent whole, in order: whatever is queued goes out in one
// statement, and a message longer than a notification may carry (8000 bytes) is split into numbered parts that the
// receivers put back together. Parts of one message are sent in one transaction, so they arrive all or none. Best
// effort: while the connection is down, messages are dropped and the connection is retried; once it listens again,
// onResumed tells the server, which makes up from the store for what it may have missed (server/cluster/relay.ts).
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { EventsChannel } from '../store.js';

export const CHANNEL = 'ganwatch_events';

/** The largest payload sent, in bytes (PostgreSQL's limit is 8000), header included. */
const MAX_PAYLOAD = 7900;
const HEADER_ROOM = 64;
const RETRY_MS = [200, 500, 1000, 2000, 5000];
/** Messages queued beyond this while a send is in flight are dropped (a stuck connection must not grow memory). */
const MAX_QUEUED = 10_000;

/** Splits `text` into pieces of at most `maxBytes` UTF-8 bytes, never between the two halves of a surrogate pair. */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const out: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + maxBytes);
    while (Buffer.byteLength(text.slice(start, end)) > maxBytes)
      end = start + Math.max(1, Math.floor((end - start) * 0.9));
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    out.push(text.slice(start, end));
    start = end;
  }
  return out;
}

export class PgEvents implements EventsChannel {
  /** Prefix of every message id of this channel: receivers tell its messages apart, and it ignores its own. */
  private readonly instance = randomBytes(6).toString('hex');
  private counter = 0;
  private readonly listeners = new Set<(message: string) => void>();
  private readonly resumedListeners = new Set<() => void>();
  private everListened = false;
  private readonly partial = new Map<string, string[]>();
  private client: pg.Client | null = null;
  private queue: string[] = [];
  private sending = false;
  private closed = false;
  private attempt = 0;
  /** Messages dropped because the connection was down (for tests and logs). */
  dropped = 0;
  /** Resolves once the first connection listens (or failed). */
  readonly ready: Promise<void>;

  constructor(private readonly url: string) {
    this.ready = this.connect();
  }

  publish(message: string): void {
    if (this.closed) return;
    if (!this.client || this.queue.length >= MAX_QUEUED) {
      this.dropped++;
      return;
    }
    const id = `${this.instance}.${(this.counter++).toString(36)}`;
    const parts = splitUtf8(message, MAX_PAYLOAD - HEADER_ROOM);
    parts.forEach((part, i) => this.queue.push(`${id}:${i}:${parts.length}:${part}`));
    if (!this.sending) void this.flush();
  }

  subscribe(listener: (message: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResumed(listener: () => void): () => void {
    this.resumedListeners.add(listener);
    return () => this.resumedListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.queue.length && this.client) {
      const batch = this.queue;
      this.queue = [];
      try {
        await this.client.query(
          'SELECT pg_notify($1, p) FROM unnest($2::text[]) WITH ORDINALITY AS t(p, i) ORDER BY i',
          [CHANNEL, batch],
        );
      } catch {
        this.dropped += batch.length;
      }
    }
    this.sending = false;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url, application_name: 'ganwatch-events' });
    client.on('error', () => undefined);
    client.on('notification', (n) => {
      if (n.channel === CHANNEL && n.payload !== undefined) this.receive(n.payload);
    });
    client.on('end', () => this.lost(client));
    try {
      await client.connect();
      // A NOTIFY commits a transaction of its own; waiting for its commit record to reach the disk would add an fsync
      // per flush, competing with the points' commits, for nothing: a notification is delivered at commit either way
      // and is not kept across a crash.
      await client.query('SET synchronous_commit TO off');
      await client.query(`LISTEN ${CHANNEL}`);
    } catch {
      await client.end().catch(() => undefined);
      this.retry();
      return;
    }
    if (this.closed) return void (await client.end().catch(() => undefined));
    this.attempt = 0;
    this.client = client;
    if (this.queue.length && !this.sending) void this.flush();
    if (this.everListened) for (const listener of this.resumedListeners) listener();
    this.everListened = true;
  }

  private lost(client: pg.Client): void {
    if (this.client !== client) return;
    this.client = null;
    this.dropped += this.queue.length;
    this.queue = [];
    this.partial.clear();
    this.retry();
  }

  private retry(): void {
    if (this.closed) return;
    const delay = RETRY_MS[Math.min(this.attempt++, RETRY_MS.length - 1)]!;
    setTimeout(() => void this.connect(), delay).unref();
  }

  private receive(payload: string): void {
    const m = /^([0-9a-f]+)\.([0-9a-z]+):(\d+):(\d+):/.exec(payload);
    if (!m || m[1] === this.instance) return;
    const body = payload.slice(m[0].length);
    const index = Number(m[3]);
    const total = Number(m[4]);
    if (total === 1) return this.deliver(body);
    const key = `${m[1]}.${m[2]}`;
    const parts = this.partial.get(key) ?? [];
    if (index !== parts.length) return void this.partial.delete(key); // a gap: the connection was lost meanwhile
    parts.push(body);
    if (parts.length < total) return void this.partial.set(key, parts);
    this.partial.delete(key);
    this.deliver(parts.join(''));
  }

  private deliver(message: string): void {
    for (const listener of this.listeners) {
      try {
        listener(message);
      } catch {
        // A listener's failure must not stop the others or the connection.
      }
    }
  }
}
