// The ingest socket: one at a time, opened again with backoff whenever it closes, and moved to the next server
// address when the one in use stays gone longer than the failover delay. What to send on open and what to do with
// the server's frames is the client's business (the handlers); this module keeps a socket open somewhere.
import WebSocket from 'ws';
import { API_PREFIX, gwError, isGanwatchError } from '../../protocol/index.js';
import { backoffDelay, type Sleeper } from './backoff.js';
import { Heartbeat } from './heartbeat.js';
import { authHeaders, isUnreachable } from './http.js';
import type { Reporter } from './report.js';
import type { ServerList } from './servers.js';

const OPEN_TIMEOUT_MS = 10_000;
/** How long the server in use may stay unreachable before the client moves to the next address. */
export const DEFAULT_FAILOVER_MS = 3_000;

/**
 * How one attempt ended: the socket was open (and has closed); the server answered but refused it (a wrong token, a
 * rate limit: it is there, and the next server would say the same, so no failover); or the server cannot take the
 * run's data (connection refused, a timeout, a 5xx from a proxy whose backend is down, a 404 from a server without
 * the run: one on another store).
 */
type Attempt = 'was-open' | 'refused' | 'gone';

export interface ConnectionHandlers {
  /** The run to open the socket for (it may create the run on the server first); null: stop trying. */
  prepare(): Promise<string | null>;
  /** A socket is open: send what it should carry. */
  opened(): void;
  message(text: string): void;
}

export class Connection {
  private ws: WebSocket | null = null;
  private heartbeat: Heartbeat | null = null;
  private open = false;
  private everOpened = false;
  private stopped = false;
  private reopened = 0;
  private movedOn = 0;

  constructor(
    private readonly servers: ServerList,
    private readonly token: string | undefined,
    private readonly reporter: Reporter,
    private readonly sleeper: Sleeper,
    private readonly handlers: ConnectionHandlers,
    private readonly failoverMs: number,
  ) {}

  start(): void {
    void this.loop();
  }

  get connected(): boolean {
    return this.open;
  }

  /** Sockets opened after the first one. */
  get reconnects(): number {
    return this.reopened;
  }

  /** Moves to the next server address. */
  get failovers(): number {
    return this.movedOn;
  }

  /** Sends on the open socket; false when there is none. */
  send(text: string): boolean {
    const ws = this.ws;
    if (!this.open || !ws || ws.readyState !== WebSocket.OPEN) return false;
    ws.send(text);
    return true;
  }

  /** Drops the socket; the loop opens the next one to the address now in use. */
  reset(): void {
    this.ws?.terminate();
  }

  /** Closes the socket (a close handshake of at most a second) and stops reconnecting. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeat?.stop();
    const ws = this.ws;
    if (!ws) return;
    await new Promise<void>((resolve) => {
      if (ws.readyState === WebSocket.CLOSED) return resolve();
      ws.once('close', () => resolve());
      // Give the close handshake a moment, then cut the connection rather than wait ws's 30 s.
      const timer = setTimeout(() => ws.terminate(), 1_000);
      ws.once('close', () => clearTimeout(timer));
      ws.close(1000, 'client closed');
    });
  }

  private async loop(): Promise<void> {
    let attempt = 0;
    let downSince = Date.now();
    let generation = this.servers.generation;
    while (!this.stopped) {
      let outcome: Attempt;
      try {
        const run = await this.handlers.prepare();
        if (run === null || this.stopped) break;
        outcome = await this.openOnce(run);
      } catch (err) {
        const server = this.servers.current;
        this.reporter.connection(isGanwatchError(err) ? err : gwError('GW_ERR_SERVER', server, String(err)));
        outcome = isUnreachable(err) ? 'gone' : 'refused';
      }
      if (this.stopped) break;
      const now = Date.now();
      if (outcome === 'was-open' || generation !== this.servers.generation) {
        generation = this.servers.generation;
        attempt = 0;
        downSince = now;
      } else {
        attempt++;
        if (outcome === 'refused') downSince = now;
        else if (this.servers.size > 1 && now - downSince >= this.failoverMs) {
          this.failOver(now - downSince);
          attempt = 0;
          downSince = now;
        }
      }
      await this.sleeper.sleep(backoffDelay(attempt));
    }
  }

  private failOver(downMs: number): void {
    const from = this.servers.current;
    const to = this.servers.advance();
    this.movedOn++;
    this.reporter.connectionRestored();
    this.reporter.report(
      gwError(
        'GW_ERR_SERVER',
        from,
        `unreachable for ${(downMs / 1000).toFixed(1)} s; failing over to ${to} (unacknowledged data is resent there)`,
      ),
    );
  }

  /** Opens one socket and resolves when it closes, saying how the attempt went. */
  private openOnce(run: string): Promise<Attempt> {
    const server = this.servers.current;
    return new Promise<Attempt>((resolve) => {
      const url = `${server.replace(/^http/, 'ws')}${API_PREFIX}/ingest?run=${encodeURIComponent(run)}`;
      const ws = new WebSocket(url, {
        headers: authHeaders(this.token),
        handshakeTimeout: OPEN_TIMEOUT_MS,
        perMessageDeflate: false,
      });
      this.ws = ws;
      let opened = false;
      let refused = false;
      ws.on('open', () => {
        opened = true;
        this.onOpen(ws);
      });
      ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
        this.heartbeat?.beat();
        if (!isBinary) this.handlers.message(data.toString());
      });
      ws.on('error', (err: Error) => {
        const status = /Unexpected server response: (\d+)/.exec(err.message)?.[1];
        if (status !== undefined && Number(status) < 500 && status !== '404') refused = true;
        const hint = /\b401\b/.test(err.message)
          ? ' (the token is missing or wrong)'
          : /\b404\b/.test(err.message)
            ? ` (run '${run}' does not exist on this server)`
            : '';
        this.reporter.connection(gwError('GW_ERR_SERVER', server, `ingest socket: ${err.message}${hint}`));
      });
      ws.on('close', () => {
        if (this.ws === ws) {
          this.ws = null;
          this.open = false;
          this.heartbeat?.stop();
          this.heartbeat = null;
        }
        resolve(opened ? 'was-open' : refused ? 'refused' : 'gone');
      });
    });
  }

  private onOpen(ws: WebSocket): void {
    if (this.stopped) {
      ws.terminate();
      return;
    }
    this.open = true;
    if (this.everOpened) this.reopened++;
    this.everOpened = true;
    this.reporter.connectionRestored();
    this.heartbeat?.stop();
    this.heartbeat = new Heartbeat(ws);
    this.handlers.opened();
  }
}
