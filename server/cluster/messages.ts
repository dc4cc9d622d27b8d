// What servers sharing a store tell each other over its events channel, as one line of text per message: the kind,
// the sending server, the run, then the body (a live frame's JSON is carried as it is, never re-encoded).
import type { LivePoint } from '../../protocol/index.js';

export type MessageKind =
  /** A live frame published on the sending server; body: the frame's JSON. */
  | 'frame'
  /**
   * A points frame too large to carry, committed on the sending server: body names the stored batch (StoredBatch);
   * a server that needs the points reads them from the store.
   */
  | 'stored'
  /** A control issued on a server without the run's trainer; body: the control id. */
  | 'control'
  /** The sending server now holds the run (its trainer connected there). */
  | 'claim'
  /** An alert's remedy was applied on a server that does not hold the run; body: the alert id. */
  | 'remedy'
  /** Alert settings changed for the run, or for every run when `run` is '*'. */
  | 'alerts'
  /** A server started: from now on, live frames must be relayed. */
  | 'hello';

/** A committed batch of points, by reference: its step range and the metrics it wrote. */
export interface StoredBatch {
  from: number;
  to: number;
  metrics: string[];
}

/** The reference to a batch of points (to read back: the store's window [from, to], these metrics only). */
export function storedBatch(points: readonly LivePoint[]): StoredBatch {
  let [from, to] = [Infinity, -Infinity];
  const metrics = new Set<string>();
  for (const p of points) {
    if (p.step < from) from = p.step;
    if (p.step > to) to = p.step;
    for (const name in p.values) metrics.add(name);
  }
  return { from, to, metrics: [...metrics] };
}

export interface ClusterMessage {
  kind: MessageKind;
  origin: string;
  run: string;
  body: string;
}

const KINDS = new Set<string>(['frame', 'stored', 'control', 'claim', 'remedy', 'alerts', 'hello']);

export function encodeMessage(m: ClusterMessage): string {
  return `${m.kind}\n${m.origin}\n${m.run}\n${m.body}`;
}

/** The message, or null for text that is not one (another version's, or garbage). */
export function decodeMessage(text: string): ClusterMessage | null {
  const a = text.indexOf('\n');
  const b = text.indexOf('\n', a + 1);
  const c = text.indexOf('\n', b + 1);
  if (a < 0 || b < 0 || c < 0) return null;
  const kind = text.slice(0, a);
  if (!KINDS.has(kind)) return null;
  return {
    kind: kind as MessageKind,
    origin: text.slice(a + 1, b),
    run: text.slice(b + 1, c),
    body: text.slice(c + 1),
  };
}
