// Tells a dead ingest socket from a quiet one: a ping every 10 s, and a socket that has answered neither that ping
// nor sent anything else by the next one is cut, so the client reconnects instead of waiting minutes on TCP.
import type WebSocket from 'ws';

const HEARTBEAT_MS = 10_000;

export class Heartbeat {
  private alive = true;
  private stopped = false;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly ws: WebSocket,
    intervalMs = HEARTBEAT_MS,
  ) {
    ws.on('pong', () => this.beat());
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** A sign of life: a pong, or any frame from the server. */
  beat(): void {
    this.alive = true;
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  private tick(): void {
    if (!this.alive) {
      // Timers run before pending I/O after a long synchronous training step; let the I/O phase deliver a late pong
      // before calling the connection dead.
      setImmediate(() => {
        if (!this.alive && !this.stopped) this.ws.terminate();
      });
      return;
    }
    this.alive = false;
    try {
      this.ws.ping();
    } catch {
      // A socket that cannot ping is closing; its close event does the rest.
    }
  }
}
