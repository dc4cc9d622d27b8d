// The live hub: who watches which run, and fan-out of points, status changes, controls and alerts to them. Frames this
// server produces also go to the relay (the other servers on the same store, server/cluster/relay.ts); frames relayed
// from another server are delivered here only, never relayed again.
import type { LiveServerFrame } from '../../protocol/index.js';

export interface LiveSocket {
  /** A text frame; `data` may be the frame's UTF-8 bytes, encoded once for every watcher. */
  send(data: Buffer, options: { binary: boolean }): void;
  readonly bufferedAmount: number;
  close(code?: number, reason?: string): void;
}

/** A browser that falls this far behind is dropped rather than allowed to grow the server's memory. */
const MAX_BUFFERED_BYTES = 32 * 1024 * 1024;

export class LiveHub {
  private readonly byRun = new Map<string, Set<LiveSocket>>();
  private readonly everything = new Set<LiveSocket>();
  private readonly subscriptions = new Map<LiveSocket, Set<string>>();
  /**
   * Called with every frame published here (not those delivered from elsewhere); `encode` gives its JSON, encoded
   * once whoever asks (the relay may carry a large frame without it: server/cluster/relay.ts).
   */
  relay: ((run: string, frame: LiveServerFrame, encode: () => string) => void) | null = null;

  subscribe(socket: LiveSocket, runs: readonly string[]): void {
    const mine = this.subscriptions.get(socket) ?? new Set<string>();
    this.subscriptions.set(socket, mine);
    for (const run of runs) {
      mine.add(run);
      if (run === '*') this.everything.add(socket);
      else {
        let set = this.byRun.get(run);
        if (!set) this.byRun.set(run, (set = new Set()));
        set.add(socket);
      }
    }
  }

  unsubscribe(socket: LiveSocket, runs?: readonly string[]): void {
    const mine = this.subscriptions.get(socket);
    if (!mine) return;
    for (const run of runs ?? [...mine]) {
      mine.delete(run);
      if (run === '*') this.everything.delete(socket);
      else this.byRun.get(run)?.delete(socket);
    }
    if (!runs || mine.size === 0) this.subscriptions.delete(socket);
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** Sends a frame about `run` to everyone watching it or everything, here and (through the relay) elsewhere. */
  publish(run: string, frame: LiveServerFrame): void {
    const watched = this.watched(run);
    if (!watched && !this.relay) return;
    let json: string | undefined;
    const encode = (): string => (json ??= JSON.stringify(frame));
    if (watched) this.deliver(run, encode());
    this.relay?.(run, frame, encode);
  }

  /** Sends an encoded frame about `run` to this server's watchers only (a frame another server published). */
  deliver(run: string, json: string): void {
    const watchers = this.byRun.get(run);
    if (!this.watched(run)) return;
    // Encoded once: sending a string would make the socket library encode it again for every watcher.
    const bytes = Buffer.from(json);
    const sent = new Set<LiveSocket>();
    for (const set of [watchers, this.everything]) {
      if (!set) continue;
      for (const socket of set) {
        if (sent.has(socket)) continue;
        sent.add(socket);
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          this.unsubscribe(socket);
          socket.close(1013, 'too far behind; reconnect');
          continue;
        }
        socket.send(bytes, { binary: false });
      }
    }
  }

  /** Sends a frame that concerns no run in particular to every browser connected here. */
  broadcast(frame: LiveServerFrame): void {
    const bytes = Buffer.from(JSON.stringify(frame));
    for (const socket of this.subscriptions.keys()) socket.send(bytes, { binary: false });
  }

  /** Whether a browser connected here watches `run` (or every run). */
  watched(run: string): boolean {
    return (this.byRun.get(run)?.size ?? 0) > 0 || this.everything.size > 0;
  }
}
