// Frames waiting for their ack. Every point and status frame stays here (its text in memory up to a cap, else read
// back from the spool) until the server acknowledges it after its commit, or rejects it for good. Frames go out in
// seq order with at most 16 MiB unacknowledged on the wire; on every new connection, to the same server or the next,
// all of them are sent again, and the server's upsert by (run, metric, step) makes the repeats harmless.
import type { SpoolGuard } from './spool-guard.js';
import type { SpooledFrame } from './spool.js';

const SEND_WINDOW_BYTES = 16 * 1024 * 1024;
const TRANSIENT_RETRY_MS = 1_000;
/** Server error codes that may succeed later: the frame stays queued instead of being dropped. */
const TRANSIENT_CODES = new Set(['GW_ERR_INTERNAL', 'GW_ERR_RATE_LIMITED']);

/** Where frames go: the ingest socket. */
export interface Wire {
  readonly connected: boolean;
  /** False when the socket is not open. */
  send(text: string): boolean;
}

interface PendingFrame {
  frame: SpooledFrame;
  /** The frame text while it is held in memory; null means read it back from the spool. */
  text: string | null;
  /** Connection generation it was last sent on (-1: not on the current one). */
  sentGen: number;
  /** False when the spool could not take it: then the text must stay in memory. */
  spooled: boolean;
}

export interface OutboxOptions {
  /** Frame text kept in memory; beyond it frames are read back from the spool when sent. */
  memoryCap: number;
  /** False offline: nothing is ever sent, so nothing needs to stay in memory. */
  sends: boolean;
}

export class Outbox {
  private readonly pending = new Map<number, PendingFrame>();
  private memoryBytes = 0;
  private queue: number[] = [];
  private next = 0;
  private inflightBytes = 0;
  private generation = 0;
  private ackedPoints = 0;
  private rejectedPoints = 0;

  constructor(
    private readonly spool: SpoolGuard,
    private readonly wire: Wire,
    private readonly options: OutboxOptions,
  ) {}

  /** Frames not yet acknowledged or rejected. */
  get size(): number {
    return this.pending.size;
  }

  /** Points the server acknowledged (stored). */
  get acked(): number {
    return this.ackedPoints;
  }

  /** Points the server rejected for good. */
  get rejected(): number {
    return this.rejectedPoints;
  }

  /** Takes over the frames a spool left unsettled (a restart): sent on the next connection. */
  restore(frames: readonly SpooledFrame[]): void {
    for (const frame of frames) this.pending.set(frame.seq, { frame, text: null, sentGen: -1, spooled: true });
  }

  /** Spools a new frame and sends it if the socket is open. */
  add(seq: number, kind: SpooledFrame['kind'], points: number, text: string): void {
    const written = this.spool.appendFrame(seq, kind, points, text);
    const spooled = written !== null;
    const frame = written ?? { seq, kind, points, offset: -1, length: Buffer.byteLength(text) };
    const keep = !spooled || (this.options.sends && this.memoryBytes + text.length <= this.options.memoryCap);
    if (keep) this.memoryBytes += text.length;
    this.pending.set(seq, { frame, text: keep ? text : null, sentGen: -1, spooled });
    this.queue.push(seq);
    this.pump();
  }

  /** A new connection: every pending frame goes out again, in seq order. */
  resendAll(): void {
    this.generation++;
    this.inflightBytes = 0;
    this.queue = [...this.pending.keys()].sort((a, b) => a - b);
    this.next = 0;
    this.pump();
  }

  /** Settles an acknowledged frame; false if it was not pending (a repeated ack). */
  ack(seq: number): boolean {
    const entry = this.settle(seq);
    if (!entry) return false;
    this.ackedPoints += entry.frame.points;
    if (entry.spooled) this.spool.ack(seq);
    this.pump();
    return true;
  }

  /**
   * The server refused frame `seq`: 'retry' when the error may pass (the frame is sent again in a second),
   * 'rejected' when it never will (the frame is settled), null when the frame was not pending.
   */
  refuse(seq: number, code: string, message: string): 'retry' | 'rejected' | null {
    const entry = this.pending.get(seq);
    if (!entry) return null;
    if (TRANSIENT_CODES.has(code)) {
      if (entry.sentGen === this.generation) this.inflightBytes -= entry.frame.length;
      entry.sentGen = -1;
      const timer = setTimeout(() => {
        this.queue.push(seq);
        this.pump();
      }, TRANSIENT_RETRY_MS);
      timer.unref();
      return 'retry';
    }
    this.settle(seq);
    this.rejectedPoints += entry.frame.points;
    if (entry.spooled) this.spool.reject(seq, code, message);
    this.pump();
    return 'rejected';
  }

  /** Sends queued frames in seq order, keeping at most SEND_WINDOW_BYTES unacknowledged on the wire. */
  pump(): void {
    if (!this.wire.connected) return;
    while (this.next < this.queue.length && this.inflightBytes < SEND_WINDOW_BYTES) {
      const seq = this.queue[this.next++] as number;
      const entry = this.pending.get(seq);
      if (!entry || entry.sentGen === this.generation) continue;
      const text = entry.text ?? this.spool.readFrame(entry.frame);
      if (text === null) continue;
      if (!this.wire.send(text)) {
        this.next--; // the socket just closed: the next connection resends everything anyway
        return;
      }
      entry.sentGen = this.generation;
      this.inflightBytes += entry.frame.length;
    }
    if (this.next > 1024 && this.next * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.next);
      this.next = 0;
    }
  }

  private settle(seq: number): PendingFrame | null {
    const entry = this.pending.get(seq);
    if (!entry) return null;
    this.pending.delete(seq);
    if (entry.sentGen === this.generation) this.inflightBytes -= entry.frame.length;
    if (entry.text !== null) this.memoryBytes -= entry.text.length;
    return entry;
  }
}
